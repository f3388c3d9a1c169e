//! The test harness: a throwaway listcrypt home, throwaway GnuPG homes for
//! people, the real `listcrypt` binary with a cleared environment, and a
//! stand-in sendmail that writes each message into a folder.
#![allow(dead_code)]

pub mod attack;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const LIST: &str = "crypto@example.org";

/// The committed test-only key pair of `address` (tests/data/keys, made by scripts/test-keys).
fn committed_key(address: &str) -> PathBuf {
    repo_root().join("tests/data/keys").join(format!("{address}.asc"))
}

/// Seconds since the epoch: the clock tests move with `LISTCRYPT_NOW`.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A throwaway world: a home, a mail folder and the people in it.
pub struct World {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub outbox: PathBuf,
    pub sendmail: PathBuf,
    agents: std::cell::RefCell<Vec<PathBuf>>,
    /// Addresses whose committed test key a person of this world already has.
    committed_keys_used: std::cell::RefCell<std::collections::HashSet<String>>,
}

impl World {
    pub fn new() -> World {
        // A short path: gpg-agent sockets live in GnuPG homes here.
        let dir = tempfile::Builder::new().prefix("lc").tempdir_in("/tmp").unwrap();
        let home = dir.path().join("h");
        let outbox = dir.path().join("out");
        fs::create_dir_all(&outbox).unwrap();
        let sendmail = dir.path().join("sendmail");
        fs::write(
            &sendmail,
            format!(
                "#!/bin/sh\n# stand-in sendmail: one file per message, numbered in the order they come, its argv beside it\n\
                 exec 9>>{out}/.seq.lock && flock 9 || exit 75\n\
                 n=$(( $(cat {out}/.seq 2>/dev/null || echo 0) + 1 ))\necho $n > {out}/.seq\nexec 9>&-\n\
                 f={out}/mail-$(printf %08d $n)\nprintf '%s\\n' \"$@\" > \"$f.args\"\ncat > \"$f\"\n",
                out = outbox.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&sendmail, fs::Permissions::from_mode(0o755)).unwrap();
        World { dir, home, outbox, sendmail, agents: Default::default(), committed_keys_used: Default::default() }
    }

    /// The listcrypt binary with a clean environment and this world's home.
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_in(&self.home, args)
    }

    /// The binary with another home folder.
    pub fn cmd_in(&self, home: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_listcrypt"));
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", self.dir.path())
            .env("LANG", "C")
            .arg("--home")
            .arg(home)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs and insists on success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "listcrypt {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child =
            self.cmd(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // The command may exit before reading everything (an unknown list).
        let _ = child.stdin.take().unwrap().write_all(input);
        child.wait_with_output().unwrap()
    }

    /// A list made with `--generate`, sending through the stand-in sendmail.
    pub fn generated_list(&self, admin: &str) {
        self.ok(&["list", "create", LIST, "--admin", admin, "--generate"]);
        self.use_outbox(LIST);
    }

    pub fn use_outbox(&self, list: &str) {
        self.ok(&["list", "set", list, "transport", &format!("sendmail:{}", self.sendmail.display())]);
        self.agents.borrow_mut().push(self.list_gnupg(list));
    }

    pub fn list_gnupg(&self, list: &str) -> PathBuf {
        self.home.join("lists").join(list).join("gnupg")
    }

    /// A person with their own GnuPG home and an unprotected key pair: the
    /// committed test key of that address (tests/data/keys/, made by
    /// scripts/test-keys) the first time this world asks for it, a new key
    /// after that (a second key for the same address) or for other addresses.
    pub fn person(&self, address: &str) -> Person {
        let person = self.empty_person(address);
        let committed = committed_key(address);
        if committed.exists() && self.committed_keys_used.borrow_mut().insert(address.to_string()) {
            person.gpg_ok(&["--import", committed.to_str().unwrap()]);
        } else {
            person.gen_key(address, &[]);
        }
        person
    }

    pub fn empty_person(&self, address: &str) -> Person {
        static N: AtomicUsize = AtomicUsize::new(0);
        let home = self.dir.path().join(format!("p{}", N.fetch_add(1, Ordering::Relaxed)));
        fs::create_dir_all(&home).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
        self.agents.borrow_mut().push(home.clone());
        Person { address: address.to_string(), home }
    }

    /// Messages the stand-in sendmail received, in the order they came.
    pub fn mails(&self) -> Vec<Mail> {
        let mut found: Vec<PathBuf> = fs::read_dir(&self.outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_none() && p.file_name().unwrap().to_string_lossy().starts_with("mail-"))
            .collect();
        // Numbered with leading zeros: the names sort in arrival order.
        found.sort();
        found
            .into_iter()
            .map(|p| {
                let args = fs::read_to_string(p.with_extension("args")).unwrap_or_default();
                Mail { args: args.lines().map(String::from).collect(), bytes: fs::read(&p).unwrap() }
            })
            .collect()
    }

    /// Copies of posts (not notices) that reached `address`.
    pub fn posts_to(&self, address: &str) -> Vec<Mail> {
        self.mails_to(address).into_iter().filter(|m| m.header("List-Id").is_some()).collect()
    }

    pub fn mails_to(&self, address: &str) -> Vec<Mail> {
        self.mails().into_iter().filter(|m| m.recipients().iter().any(|r| r == address)).collect()
    }

    pub fn clear_outbox(&self) {
        for e in fs::read_dir(&self.outbox).unwrap() {
            fs::remove_file(e.unwrap().path()).unwrap();
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for home in self.agents.borrow().iter() {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(home)
                .args(["--kill", "gpg-agent"])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// One captured message.
pub struct Mail {
    /// sendmail's argv: `-i -f SENDER -- RCPT…`
    pub args: Vec<String>,
    pub bytes: Vec<u8>,
}

impl Mail {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn envelope_sender(&self) -> String {
        let at = self.args.iter().position(|a| a == "-f").expect("sendmail called without -f");
        self.args[at + 1].clone()
    }

    pub fn recipients(&self) -> Vec<String> {
        let at = self.args.iter().position(|a| a == "--").map(|i| i + 1).unwrap_or(self.args.len());
        self.args[at..].to_vec()
    }

    /// The first header of that name, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or("");
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    /// The armored OpenPGP message of a PGP/MIME encrypted mail.
    pub fn armored(&self) -> String {
        let text = self.text();
        let start = text.find("-----BEGIN PGP MESSAGE-----").expect("no PGP message in the mail");
        let end = text.find("-----END PGP MESSAGE-----").unwrap() + "-----END PGP MESSAGE-----".len();
        text[start..end].replace("\r\n", "\n") + "\n"
    }
}

/// Someone with a GnuPG home of their own.
pub struct Person {
    pub address: String,
    pub home: PathBuf,
}

/// What `gpg --decrypt` said.
pub struct Decrypted {
    pub ok: bool,
    pub plaintext: String,
    /// `--status-fd` lines.
    pub status: String,
}

impl Decrypted {
    /// The fingerprint of a good signature, if any.
    pub fn good_signer(&self) -> Option<String> {
        self.status
            .lines()
            .find_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG ").map(|r| r.split(' ').next_back().unwrap().to_string()))
    }
}

impl Person {
    pub fn gpg(&self, args: &[&str]) -> Output {
        Command::new("gpg")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    pub fn gpg_ok(&self, args: &[&str]) -> String {
        let out = self.gpg(args);
        assert!(out.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Makes an Ed25519 key with a Curve25519 encryption subkey. `extra` goes
    /// before the command (e.g. `--faked-system-time`, `--passphrase X`).
    pub fn gen_key(&self, user_id: &str, extra: &[&str]) -> String {
        self.gen_key_expiring(user_id, extra, "never")
    }

    pub fn gen_key_expiring(&self, user_id: &str, extra: &[&str], expire: &str) -> String {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["--quick-gen-key", user_id, "ed25519", "sign,cert", expire]);
        let out = self.gpg(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let fpr = self.newest_fingerprint();
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["--quick-add-key", &fpr, "cv25519", "encr", expire]);
        let out = self.gpg(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        fpr
    }

    pub fn fingerprints(&self) -> Vec<String> {
        let listing = self.gpg_ok(&["--with-colons", "--list-keys"]);
        let mut fprs = vec![];
        let mut want = false;
        for line in listing.lines() {
            if line.starts_with("pub:") {
                want = true;
            } else if want && line.starts_with("fpr:") {
                fprs.push(line.split(':').nth(9).unwrap().to_string());
                want = false;
            }
        }
        fprs
    }

    pub fn newest_fingerprint(&self) -> String {
        self.fingerprints().pop().expect("no key")
    }

    pub fn fingerprint(&self) -> String {
        self.fingerprints().into_iter().next().expect("no key")
    }

    /// Writes the armored public key (or secret key) into a file and returns its path.
    pub fn export(&self, secret: bool) -> PathBuf {
        let fpr = self.fingerprint();
        let what = if secret { "--export-secret-keys" } else { "--export" };
        let bytes = self.gpg_ok(&["--armor", what, &fpr]);
        let path = self.home.join(if secret { "export-secret.asc" } else { "export-public.asc" });
        fs::write(&path, bytes).unwrap();
        path
    }

    pub fn decrypt(&self, armored: &str) -> Decrypted {
        use std::io::Write;
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--batch", "--no-tty", "--status-fd", "2", "--decrypt"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(armored.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let status = String::from_utf8_lossy(&out.stderr).into_owned();
        Decrypted {
            // gpg exits 2 for an unknown signer even when decryption worked.
            ok: status.contains("[GNUPG:] DECRYPTION_OKAY"),
            plaintext: String::from_utf8_lossy(&out.stdout).into_owned(),
            status,
        }
    }

    pub fn import(&self, armored: &[u8]) {
        let path = self.home.join("import.asc");
        fs::write(&path, armored).unwrap();
        self.gpg_ok(&["--import", path.to_str().unwrap()]);
    }
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The token line of a decrypted challenge.
pub fn token_in(plaintext: &str) -> String {
    plaintext
        .lines()
        .find_map(|l| l.trim().strip_prefix("Token: "))
        .expect("no token in the challenge")
        .trim()
        .to_string()
}

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Mail as members' clients write it, made with gpg and delivered with LF
/// line ends, as an MTA hands it to a pipe.
pub mod client {
    use super::Person;

    pub fn text_entity(body: &str) -> String {
        format!("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n")
    }

    /// RFC 5322 headers of a post to the list.
    pub fn headers(from: &str, to: &str, subject: &str) -> String {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!(
            "From: Sender <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <post{n}.{}@client.example.net>\r\nMIME-Version: 1.0\r\n",
            std::process::id()
        )
    }

    /// multipart/encrypted around `armored`.
    pub fn encrypted(headers: &str, armored: &str) -> Vec<u8> {
        let mail = format!(
            "{headers}Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc-boundary\"\r\n\r\nThis is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n--enc-boundary\r\nContent-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n--enc-boundary\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\nContent-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n{armored}\r\n--enc-boundary--\r\n"
        );
        lf(&mail)
    }

    /// A multipart/signed entity (its own Content-Type header and body).
    pub fn signed_entity(signer: &Person, entity: &str) -> String {
        let signature = signer.detach_sign(entity.as_bytes());
        format!(
            "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"sig-boundary\"\r\n\r\nThis is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n--sig-boundary\r\n{entity}\r\n--sig-boundary\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\nContent-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n{signature}\r\n--sig-boundary--\r\n"
        )
    }

    /// Alice's usual post, as Thunderbird writes it: text with protected
    /// headers (From, To, Subject inside the signature), signed and
    /// encrypted in one OpenPGP message.
    pub fn post(sender: &Person, list_key: &str, subject: &str, body: &str) -> Vec<u8> {
        let entity = format!(
            "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nFrom: Sender <{}>\r\nTo: {}\r\nSubject: {subject}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
            sender.address,
            super::LIST
        );
        let armored = sender.sign_encrypt(entity.as_bytes(), list_key);
        encrypted(&headers(&sender.address, super::LIST, subject), &armored)
    }

    /// Signed (multipart/signed), then encrypted as a separate layer (Mutt, RFC 3156 §6.1).
    pub fn signed_then_encrypted(sender: &Person, list_key: &str, subject: &str, body: &str) -> Vec<u8> {
        let signed = signed_entity(sender, &text_entity(body));
        let armored = sender.encrypt(signed.as_bytes(), list_key);
        encrypted(&headers(&sender.address, super::LIST, subject), &armored)
    }

    /// Inline PGP: the text/plain body is one signed-and-encrypted armored block.
    pub fn inline(sender: &Person, list_key: &str, subject: &str, body: &str) -> Vec<u8> {
        let armored = sender.sign_encrypt(body.as_bytes(), list_key);
        let mail = format!(
            "{}Content-Type: text/plain; charset=us-ascii\r\n\r\n{armored}\r\n",
            headers(&sender.address, super::LIST, subject)
        );
        lf(&mail)
    }

    /// What an MTA hands a pipe: LF line ends and its own envelope lines first.
    pub fn lf(mail: &str) -> Vec<u8> {
        format!("From sender@client.example.net Thu Nov 26 10:00:01 2026\r\nReturn-Path: <sender@client.example.net>\r\n{mail}")
            .replace("\r\n", "\n")
            .into_bytes()
    }
}

impl Person {
    fn gpg_stdin(&self, args: &[&str], input: &[u8]) -> String {
        let mut all = vec!["--armor"];
        all.extend_from_slice(args);
        String::from_utf8(self.gpg_pipe(&all, input)).unwrap()
    }

    /// gpg with `input` on stdin; its output as is.
    pub fn gpg_pipe(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let out = self.gpg_try(args, input);
        assert!(out.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// gpg with `input` on stdin, whether or not it succeeds.
    pub fn gpg_try(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--batch", "--no-tty", "--trust-model", "always"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Written from a thread: gpg may fill its output pipe before it has read all input.
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        let _ = writer.join();
        out
    }

    /// `gpg --list-packets` of `message`, whether or not gpg can decrypt it.
    pub fn list_packets(&self, message: &[u8]) -> String {
        use std::io::Write;
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--batch", "--list-packets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(message);
        String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
    }

    /// A binary OpenPGP message, ASCII-armored as a PGP MESSAGE.
    pub fn armor_message(&self, binary: &[u8]) -> String {
        String::from_utf8(self.gpg_pipe(&["--enarmor"], binary)).unwrap().replace("PGP ARMORED FILE", "PGP MESSAGE")
    }

    pub fn sign_encrypt(&self, data: &[u8], recipient: &str) -> String {
        let me = self.fingerprint();
        self.gpg_stdin(&["--local-user", &me, "--recipient", recipient, "--sign", "--encrypt"], data)
    }

    pub fn encrypt(&self, data: &[u8], recipient: &str) -> String {
        self.gpg_stdin(&["--recipient", recipient, "--encrypt"], data)
    }

    pub fn detach_sign(&self, data: &[u8]) -> String {
        let me = self.fingerprint();
        self.gpg_stdin(&["--local-user", &me, "--detach-sign", "--digest-algo", "SHA256"], data)
    }
}

/// A list with three verified members, Alice (admin), Bob and Carol, each of
/// whom holds the list key; the outbox starts empty.
pub struct Scene {
    pub w: World,
    pub alice: Person,
    pub bob: Person,
    pub carol: Person,
    pub list_key: String,
    /// Decisions in the list log already checked by `attack::assert_last_decision`.
    pub decisions_checked: std::cell::Cell<usize>,
}

impl Scene {
    pub fn new() -> Scene {
        let w = World::new();
        w.generated_list("alice@example.org");
        let list_key = w.ok(&["list", "export-key", LIST]);
        let alice = w.verified_member("alice@example.org", &list_key, true);
        let bob = w.verified_member("bob@example.org", &list_key, false);
        let carol = w.verified_member("carol@example.org", &list_key, false);
        w.clear_outbox();
        let fpr = serde_json::from_str::<serde_json::Value>(&w.ok(&["list", "show", LIST, "--json"])).unwrap()
            ["fingerprint"]
            .as_str()
            .unwrap()
            .to_string();
        Scene { w, alice, bob, carol, list_key: fpr, decisions_checked: Default::default() }
    }

    /// The MTA's alias: `inject && verify && distribute`, the mail on stdin.
    pub fn deliver(&self, mail: &[u8]) -> Output {
        self.w.through_alias(LIST, false, mail)
    }

    /// Copies of posts (not notices) that reached `person`.
    pub fn posts_to(&self, person: &Person) -> Vec<Mail> {
        self.w.posts_to(&person.address)
    }
}

impl World {
    /// The mail through a list's alias chain (`inject [--request] && verify &&
    /// distribute`) run by /bin/sh with the environment local(8) gives it.
    pub fn through_alias(&self, list: &str, request: bool, mail: &[u8]) -> Output {
        let bin = env!("CARGO_BIN_EXE_listcrypt");
        let home = self.home.display();
        let request = if request { "--request " } else { "" };
        let script = format!(
            "{bin} --home {home} inject {request}{list} && {bin} --home {home} verify {list} && {bin} --home {home} distribute {list}"
        );
        let mut child = Command::new("/bin/sh")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", "/nonexistent")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(mail);
        child.wait_with_output().unwrap()
    }

    /// A list key made by its owner (expiring after `expire`, or "never";
    /// protected by `passphrase`, if any), its secret part exported into a file.
    pub fn owners_list_key(&self, list: &str, expire: &str, passphrase: Option<&str>) -> (Person, PathBuf) {
        let owner = self.empty_person(list);
        let protect: Vec<&str> = passphrase.map(|p| vec!["--passphrase", p]).unwrap_or_default();
        owner.gen_key_expiring(list, &protect, expire);
        let fpr = owner.fingerprint();
        let mut args = protect;
        args.extend(["--armor", "--export-secret-keys", &fpr]);
        let file = owner.home.join("secret.asc");
        fs::write(&file, owner.gpg_ok(&args)).unwrap();
        (owner, file)
    }

    /// Adds a member, answers the challenge with their key, and gives them the list key.
    pub fn verified_member(&self, address: &str, list_key: &str, existing: bool) -> Person {
        let person = self.person(address);
        let file = person.export(false);
        if existing {
            self.ok(&["keys", "add", LIST, address, "--key-file", file.to_str().unwrap()]);
        } else {
            self.ok(&["members", "add", LIST, address, "--key-file", file.to_str().unwrap()]);
        }
        let challenge = self.mails_to(address).pop().unwrap();
        let token = token_in(&person.decrypt(&challenge.armored()).plaintext);
        self.ok(&["keys", "verify", LIST, address, &token]);
        person.import(list_key.as_bytes());
        person
    }
}

/// A decrypted copy of a post, checked as a member's client would.
pub struct Copy {
    /// The fingerprint of the good signature over the content, if any.
    pub signer: Option<String>,
    /// The signed entity (protected headers and content).
    pub entity: String,
    pub text: String,
    pub plaintext: String,
}

impl Person {
    /// Decrypts a post copy and checks the list's signature on it.
    pub fn open_post(&self, mail: &Mail) -> Option<Copy> {
        let opened = self.decrypt(&mail.armored());
        if !opened.ok {
            return None;
        }
        let plaintext = opened.plaintext.clone();
        let message = mail_parser::MessageParser::default().parse(plaintext.as_bytes()).expect("a MIME entity");
        let root = message.root_part();
        let kids = root.sub_parts().expect("multipart/signed");
        let signed = &message.parts[kids[0] as usize];
        let raw = message.raw_message();
        let entity = raw[signed.offset_header as usize..signed.offset_end as usize].to_vec();
        let signature = message.parts[kids[1] as usize].contents().to_vec();
        let sig_file = self.home.join("check.sig");
        let data_file = self.home.join("check.dat");
        fs::write(&sig_file, &signature).unwrap();
        fs::write(&data_file, &entity).unwrap();
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--batch", "--status-fd", "1", "--verify"])
            .arg(&sig_file)
            .arg(&data_file)
            .output()
            .unwrap();
        let status = String::from_utf8_lossy(&out.stdout);
        let signer = status
            .lines()
            .find_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG ").map(|r| r.split(' ').next_back().unwrap().to_string()));
        let inner = mail_parser::MessageParser::default().parse(&entity).unwrap();
        let text = inner.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
        Some(Copy { signer, entity: String::from_utf8_lossy(&entity).into_owned(), text, plaintext })
    }
}

impl World {
    /// A member whose key goes straight into the list's keyring and store as
    /// verified, as an admin would after checking it in person: for tests that
    /// need many members and are not about the challenge.
    pub fn quick_member(&self, address: &str, list_key: &str) -> Person {
        let person = self.person(address);
        self.quick_member_of(person, list_key)
    }

    /// As `quick_member`, for someone whose key is already made.
    pub fn quick_member_of(&self, person: Person, list_key: &str) -> Person {
        let address = person.address.clone();
        let address = address.as_str();
        self.import_into_list(&person.export(false));
        let home = listcrypt::Home::new(&self.home);
        let list = listcrypt::list::List::open(&home, &listcrypt::Address::parse(LIST).unwrap()).unwrap();
        let store = list.store().unwrap();
        let fpr = listcrypt::Fingerprint::parse(&person.fingerprint()).unwrap();
        let mut member = listcrypt::member::Member::new(
            listcrypt::Address::parse(address).unwrap(),
            listcrypt::member::Role::Member,
        );
        member.keys.push(listcrypt::member::MemberKey {
            fingerprint: fpr.clone(),
            state: listcrypt::member::KeyState::Verified { since: 0 },
            added: 0,
        });
        member.default_key = Some(fpr);
        store.put_member(&member).unwrap();
        store.flush().unwrap();
        person.import(list_key.as_bytes());
        person
    }
}

impl Person {
    /// The IDs of the encryption-capable subkeys of this person's own key, as gpg lists them.
    pub fn encryption_subkey_ids(&self) -> Vec<String> {
        self.gpg_ok(&["--with-colons", "--list-keys", &self.fingerprint()])
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .filter(|f| f[0] == "sub" && f[11].contains('e'))
            .map(|f| f[4].to_string())
            .collect()
    }

    /// The key IDs named by the public-key encrypted session key packets of a message.
    pub fn session_key_ids(&self, armored: &str) -> Vec<String> {
        self.list_packets(armored.as_bytes())
            .lines()
            .filter(|l| l.starts_with(":pubkey enc packet:"))
            .filter_map(|l| l.split("keyid ").nth(1).map(|k| k.trim().to_string()))
            .collect()
    }
}

impl World {
    /// Fails if `marker` is in any file under the listcrypt home.
    pub fn assert_nowhere_on_disk(&self, marker: &str) {
        let mut stack = vec![self.home.clone()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let meta = fs::symlink_metadata(&path).unwrap();
                if meta.is_dir() {
                    stack.push(path);
                } else if meta.is_file() {
                    let bytes = fs::read(&path).unwrap_or_default();
                    assert!(
                        !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                        "{marker:?} in {}",
                        path.display()
                    );
                }
            }
        }
    }

    /// Imports `person`'s revocation certificate into the list's keyring, as
    /// if the list had learned that the key was revoked.
    pub fn revoke_in_list(&self, person: &Person) {
        // gpg keeps one beside every key it makes; a committed test key has its own.
        let rev = person.home.join("openpgp-revocs.d").join(format!("{}.rev", person.fingerprint()));
        let certificate = fs::read_to_string(&rev)
            .or_else(|_| fs::read_to_string(committed_key(&person.address).with_extension("rev")))
            .unwrap()
            .replace(":-----BEGIN", "-----BEGIN");
        let file = self.dir.path().join(format!("{}.rev", person.fingerprint()));
        fs::write(&file, certificate).unwrap();
        self.import_into_list(&file);
    }

    /// `gpg --import FILE` into the list's keyring, behind listcrypt's back.
    pub fn import_into_list(&self, file: &Path) {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(self.list_gnupg(LIST))
            .args(["--batch", "--import"])
            .arg(file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Scene {
    /// The list log: one line per event, never any content.
    pub fn log(&self) -> String {
        fs::read_to_string(self.w.home.join("lists").join(LIST).join("log")).unwrap_or_default()
    }

    /// `listcrypt verify` of one entry under /usr/bin/time: its output and peak RSS in KB.
    pub fn verify_measured(&self, id: &str) -> (Output, u64) {
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(env!("CARGO_BIN_EXE_listcrypt"))
            .arg("--home")
            .arg(&self.w.home)
            .args(["verify", LIST, id])
            .output()
            .unwrap();
        let peak_kb = String::from_utf8_lossy(&out.stderr).lines().last().and_then(|l| l.trim().parse().ok());
        (out, peak_kb.expect("/usr/bin/time printed the peak RSS"))
    }

    /// What the admin (Alice, who has a verified key) was told about entries, decrypted.
    pub fn admin_reports(&self) -> Vec<String> {
        self.w
            .mails_to("alice@example.org")
            .iter()
            .map(|m| {
                if m.text().contains("BEGIN PGP MESSAGE") {
                    self.alice.decrypt(&m.armored()).plaintext
                } else {
                    m.text()
                }
            })
            .filter(|text| text.contains("Entry ") || text.contains("from non-members"))
            .collect()
    }
}

/// The MTA's -request alias: `inject --request && verify && distribute`.
pub fn to_request(s: &Scene, mail: &[u8]) -> Output {
    s.w.through_alias(LIST, true, mail)
}

/// Commands in `body`, signed by `sender` and encrypted to the list, to -request.
pub fn command_mail(s: &Scene, sender: &Person, body: &str) -> Vec<u8> {
    let armored = sender.sign_encrypt(client::text_entity(body).as_bytes(), &s.list_key);
    client::encrypted(&client::headers(&sender.address, "crypto-request@example.org", "commands"), &armored)
}

/// The answers `person` got from the list, decrypted.
pub fn answers(s: &Scene, person: &Person) -> Vec<String> {
    s.w.mails_to(&person.address)
        .iter()
        .filter(|m| m.envelope_sender() != "<>")
        .map(|m| person.decrypt(&m.armored()))
        .filter(|d| d.ok)
        .map(|d| d.plaintext)
        .collect()
}
