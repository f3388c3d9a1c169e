//! The real-keys benchmark (`scripts/bench-keys`): member keys shaped like
//! people's (`scripts/real-keys`: RSA-4096 for most, 50-300 third-party
//! certifications each, 10-50 expired subkeys on some, a second user ID on
//! some), measured side by side in one run:
//!
//! 1. `members add` (the real binary, one process per member, as an admin
//!    runs it) around the 100th and the 1,000th member;
//! 2. bytes on disk per member (the whole list folder), against the size of
//!    the key files as given;
//! 3. `listcrypt distribute` (split mode, discarding transport) to every
//!    member, against one `gpg --encrypt` to the same keys in their minimal
//!    form, and to the keys as given.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const LIST: &str = "bench@example.org";

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("BENCH_MEMBERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-real-keys");
    assert!(
        root.join(format!("done-{n}")).exists() || root.join("done-1000").exists(),
        "make the keys first: scripts/real-keys {n}"
    );
    let keys = link(&root.join("gnupg"), "keys");
    let work = scratch("work");
    let files = export_keys(&keys, &work, n);
    let given: u64 = files.iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();

    let home = work.join("h");
    lc(&home, &["list", "create", LIST, "--admin", "admin@example.org", "--generate"]);
    lc(&home, &["list", "set", LIST, "transport", "discard"]);
    lc(&home, &["list", "set", LIST, "receive_own_posts", "true"]);
    let list_dir = home.join("lists").join(LIST);
    let empty = listcrypt::store::folder_size(&list_dir);
    let mut took = vec![];
    for (i, file) in files.iter().enumerate() {
        let address = format!("member{i:04}@real.example");
        let start = Instant::now();
        lc(&home, &["members", "add", LIST, &address, "--key-file", file.to_str().unwrap(), "--no-challenge"]);
        took.push(start.elapsed().as_secs_f64());
    }
    let around = |k: usize| {
        let window = &took[k.saturating_sub(10).min(took.len() - 1)..k.min(took.len())];
        window.iter().sum::<f64>() / window.len().max(1) as f64
    };
    let on_disk = listcrypt::store::folder_size(&list_dir).saturating_sub(empty);
    println!(
        "{n} members, keys shaped like people's ({} KB as given, {:.1} KB a key)",
        given / 1000,
        given as f64 / n as f64 / 1000.0
    );
    println!(
        "members add: {:.1} ms around the 100th, {:.1} ms around the {n}th: ratio {:.2}x",
        around(100) * 1e3,
        around(n) * 1e3,
        around(n) / around(100)
    );
    println!(
        "on disk: {:.1} KB per member (the list folder), against {:.1} KB per key as given",
        on_disk as f64 / n as f64 / 1000.0,
        given as f64 / n as f64 / 1000.0
    );

    let list_gnupg = list_dir.join("gnupg");
    let fingerprints = member_fingerprints(&keys, n);
    let post = "The quick brown fox jumps over the lazy dog, and the list keeps its secrets.\r\n".repeat(130);
    let minimal = floor(&list_gnupg, &["--export-options", "export-minimal"], &fingerprints, post.as_bytes());
    // Importing the keys as given (tens of MB of certifications) takes minutes: BENCH_AS_GIVEN=0 skips it.
    let full = match std::env::var("BENCH_AS_GIVEN").as_deref() {
        Ok("0") => f64::NAN,
        _ => floor(&keys, &[], &fingerprints, post.as_bytes()),
    };
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    let sender = sender_home(&keys, &home, &work);
    let distribute = (0..runs)
        .map(|_| {
            approve_a_post(&home, &sender, &post);
            let start = Instant::now();
            lc(&home, &["distribute", LIST]);
            start.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min);
    println!(
        "distribute to {n}: {:.3} s; one gpg --encrypt to the same keys minimal {:.3} s, as given {:.3} s; ratio {:.2}x minimal, {:.2}x as given (best of {runs})",
        distribute,
        minimal,
        full,
        distribute / minimal,
        distribute / full
    );
    for dir in [&keys, &sender] {
        let _ = Command::new("gpgconf").arg("--homedir").arg(dir).args(["--kill", "gpg-agent"]).status();
    }
    let _ = Command::new("gpgconf").arg("--homedir").arg(&list_gnupg).args(["--kill", "gpg-agent"]).status();
    let _ = std::fs::remove_file(&keys);
    let _ = std::fs::remove_dir_all(&work);
}

/// A short path to `target` (gpg-agent sockets live in GnuPG homes).
fn link(target: &Path, what: &str) -> PathBuf {
    let link = PathBuf::from(format!("/tmp/lcrk-{what}-{}", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(target, &link).unwrap();
    link
}

fn scratch(what: &str) -> PathBuf {
    let dir = PathBuf::from(format!("/tmp/lcrk-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

fn gpg(home: &Path, args: &[&str], input: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args(["--batch", "--yes", "--no-tty", "--quiet", "--trust-model", "always"])
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = input {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn lc(home: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_listcrypt")).arg("--home").arg(home).args(args).output().unwrap();
    assert!(out.status.success(), "listcrypt {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Each member's key file, as its holder would export it (all of it).
fn export_keys(keys: &Path, work: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let file = work.join(format!("member{i:04}.asc"));
            std::fs::write(&file, gpg(keys, &["--armor", "--export", &format!("member{i:04}@real.example")], None))
                .unwrap();
            file
        })
        .collect()
}

fn member_fingerprints(keys: &Path, n: usize) -> Vec<String> {
    let listing = String::from_utf8(gpg(keys, &["--with-colons", "--list-keys"], None)).unwrap();
    let mut by_address = std::collections::HashMap::new();
    let mut fpr = None;
    for line in listing.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        match fields[0] {
            "pub" => fpr = None,
            "fpr" if fpr.is_none() => fpr = Some(fields[9].to_string()),
            "uid" => {
                if let (Some(f), Some(at)) = (&fpr, fields[9].find("<member")) {
                    by_address.insert(fields[9][at + 1..].trim_end_matches('>').to_string(), f.clone());
                }
            }
            _ => {}
        }
    }
    (0..n).map(|i| by_address[&format!("member{i:04}@real.example")].clone()).collect()
}

/// Seconds for one `gpg --encrypt` of `data` to every key, in a GnuPG home
/// holding only those keys as exported from `from` (with `options`); best of three.
fn floor(from: &Path, options: &[&str], fingerprints: &[String], data: &[u8]) -> f64 {
    let home = scratch("floor");
    let mut args: Vec<&str> = options.to_vec();
    args.push("--export");
    args.extend(fingerprints.iter().map(String::as_str));
    let exported = gpg(from, &args, None);
    gpg(&home, &["--import"], Some(&exported));
    let mut args = vec!["--encrypt", "--output", "-"];
    for f in fingerprints {
        args.extend(["--recipient", f]);
    }
    let best = (0..3)
        .map(|_| {
            let start = Instant::now();
            gpg(&home, &args, Some(data));
            start.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min);
    let _ = Command::new("gpgconf").arg("--homedir").arg(&home).args(["--kill", "gpg-agent"]).status();
    let _ = std::fs::remove_dir_all(&home);
    best
}

/// A GnuPG home with member 0's secret key and the list's public key.
fn sender_home(keys: &Path, home: &Path, work: &Path) -> PathBuf {
    let sender = work.join("s");
    std::fs::create_dir_all(&sender).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sender, std::fs::Permissions::from_mode(0o700)).unwrap();
    let secret = gpg(keys, &["--export-secret-keys", "member0000@real.example"], None);
    gpg(&sender, &["--import"], Some(&secret));
    gpg(&sender, &["--import"], Some(&lc(home, &["list", "export-key", LIST])));
    sender
}

/// A post from member 0, signed and encrypted to the list, injected and verified.
fn approve_a_post(home: &Path, sender: &Path, body: &str) {
    // A fresh text each time: the same signed bytes in the same second would be a replay.
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let entity = format!(
        "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nFrom: <member0000@real.example>\r\nTo: {LIST}\r\nSubject: bench {nonce}\r\n\r\n{body}"
    );
    let armored = gpg(
        sender,
        &["--armor", "-u", "member0000@real.example", "-r", LIST, "--sign", "--encrypt"],
        Some(entity.as_bytes()),
    );
    let mail = format!(
        "From: <member0000@real.example>\r\nTo: {LIST}\r\nSubject: ...\r\nMessage-ID: <{}@real.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--b--\r\n",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos(),
        String::from_utf8(armored).unwrap()
    );
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_listcrypt"))
        .arg("--home")
        .arg(home)
        .args(["inject", LIST])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(mail.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let verified = String::from_utf8(lc(home, &["verify", LIST])).unwrap();
    assert!(!verified.trim().is_empty(), "the post was approved");
}
