//! Members, their keys and the challenge that verifies a key.

mod common;
use common::*;

fn key_state(w: &World, member: &str) -> Vec<(String, String)> {
    let keys: serde_json::Value = serde_json::from_str(&w.ok(&["keys", "ls", LIST, member, "--json"])).unwrap();
    keys.as_array()
        .unwrap()
        .iter()
        .map(|k| (k["fingerprint"].as_str().unwrap().into(), k["state"].as_str().unwrap().into()))
        .collect()
}

#[test]
fn the_challenge_reaches_only_the_key_holder_and_its_token_verifies_the_key() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let bob = w.person("bob@example.org");
    let carol = w.person("carol@example.org");
    w.ok(&["members", "add", LIST, "bob@example.org", "--key-file", bob.export(false).to_str().unwrap()]);
    assert_eq!(key_state(&w, "bob@example.org"), vec![(bob.fingerprint(), "pending".into())]);

    let mails = w.mails_to("bob@example.org");
    assert_eq!(mails.len(), 2, "a welcome and a challenge");
    let welcome = &mails[0];
    assert!(welcome.text().contains("application/pgp-keys"), "the welcome carries the list key");
    assert!(!welcome.text().contains("Token:"), "the welcome never carries the token");
    let challenge = &mails[1];
    assert_eq!(challenge.envelope_sender(), "crypto-bounces@example.org");
    assert_eq!(challenge.header("Auto-Submitted").as_deref(), Some("auto-generated"));
    assert!(challenge.header("Content-Type").unwrap().starts_with("multipart/encrypted"));
    assert!(!challenge.text().contains("Token:"), "the token never travels in clear");

    assert!(!carol.decrypt(&challenge.armored()).ok, "only bob's key opens bob's challenge");
    let opened = bob.decrypt(&challenge.armored());
    assert!(opened.ok, "{}", opened.status);
    let list_fpr = serde_json::from_str::<serde_json::Value>(&w.ok(&["list", "show", LIST, "--json"])).unwrap()
        ["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    bob.import(w.ok(&["list", "export-key", LIST]).as_bytes());
    assert_eq!(bob.decrypt(&challenge.armored()).good_signer(), Some(list_fpr), "the list signed the challenge");
    let token = token_in(&opened.plaintext);
    assert_eq!(token.len(), 20);
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));

    let wrong = w.run(&["keys", "verify", LIST, "bob@example.org", "abcdefghijkmnpqrstuv"]);
    assert_eq!(code(&wrong), 65, "{}", stderr(&wrong));
    assert_eq!(key_state(&w, "bob@example.org")[0].1, "pending");
    w.ok(&["keys", "verify", LIST, "bob@example.org", &token.to_uppercase()]);
    assert_eq!(key_state(&w, "bob@example.org"), vec![(bob.fingerprint(), "verified".into())]);
    let members: serde_json::Value = serde_json::from_str(&w.ok(&["members", "ls", LIST, "--json"])).unwrap();
    let bob_entry = members.as_array().unwrap().iter().find(|m| m["address"] == "bob@example.org").unwrap();
    assert_eq!(bob_entry["can_receive"], true);
    assert_eq!(bob_entry["keys"][0]["default"], true);
    // A used token does not verify again.
    assert_eq!(code(&w.run(&["keys", "verify", LIST, "bob@example.org", &token])), 65);
}

#[test]
fn refused_member_keys_exit_65_and_leave_nothing_imported() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let stranger = w.person("mallory@example.org");
    let secret = w.person("bob@example.org");
    let sign_only = w.empty_person("bob@example.org");
    sign_only.gpg_ok(&["--quick-gen-key", "bob@example.org", "ed25519", "sign,cert", "never"]);
    let expired = w.empty_person("bob@example.org");
    expired.gen_key_expiring("bob@example.org", &["--faked-system-time", "20200101T000000!"], "2020-01-10");
    let revoked = w.person("bob@example.org");
    let rev_file = revoked.home.join("openpgp-revocs.d").join(format!("{}.rev", revoked.fingerprint()));
    let certificate = std::fs::read_to_string(rev_file).unwrap().replace(":-----BEGIN", "-----BEGIN");
    revoked.import(certificate.as_bytes());
    let two_keys = w.person("bob@example.org");
    two_keys.gen_key("bob@example.org", &[]);
    let both = two_keys.home.join("both.asc");
    std::fs::write(&both, two_keys.gpg_ok(&["--armor", "--export"])).unwrap();
    let not_a_key = w.dir.path().join("notakey.asc");
    std::fs::write(&not_a_key, "hello\n").unwrap();

    let cases = [
        ("no user ID with the address", stranger.export(false), "no user ID with bob@example.org"),
        ("a secret key", secret.export(true), "is a secret key"),
        ("no encryption subkey", sign_only.export(false), "no usable encryption subkey"),
        ("expired", expired.export(false), "expired on 2020-01-10"),
        ("revoked", revoked.export(false), "is revoked"),
        ("two keys in one file", both, "holds 2 keys"),
        ("not a key", not_a_key, "key"),
    ];
    for (why, file, says) in cases {
        let out = w.run(&["members", "add", LIST, "bob@example.org", "--key-file", file.to_str().unwrap()]);
        assert_eq!(code(&out), 65, "{why}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.lines().next().unwrap().starts_with("listcrypt: error:") && err.contains(says), "{why}: {err}");
        assert!(err.contains("hint:"), "{why}: no hint in {err}");
    }
    let keyring = std::process::Command::new("gpg")
        .arg("--homedir")
        .arg(w.list_gnupg(LIST))
        .args(["--with-colons", "--list-keys"])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&keyring.stdout);
    assert_eq!(listing.lines().filter(|l| l.starts_with("pub:")).count(), 1, "only the list key: {listing}");
    assert!(!w.ok(&["members", "ls", LIST]).contains("bob@"));
    assert!(w.mails().is_empty(), "nothing was sent for a refused key");
}

#[test]
fn a_member_can_have_several_keys_and_lose_one() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let bob = w.person("bob@example.org");
    let bob_laptop = w.person("bob@example.org");
    w.ok(&["members", "add", LIST, "bob@example.org", "--key-file", bob.export(false).to_str().unwrap()]);
    w.ok(&["keys", "add", LIST, "bob@example.org", "--key-file", bob_laptop.export(false).to_str().unwrap()]);
    let challenges = w.mails_to("bob@example.org");
    assert_eq!(challenges.len(), 3, "welcome, then one challenge per key");
    let token = token_in(&bob_laptop.decrypt(&challenges[2].armored()).plaintext);
    w.ok(&["keys", "verify", LIST, "bob@example.org", &token]);
    let keys: serde_json::Value = serde_json::from_str(&w.ok(&["keys", "ls", LIST, "--json"])).unwrap();
    let laptop = keys.as_array().unwrap().iter().find(|k| k["fingerprint"] == bob_laptop.fingerprint()).unwrap();
    assert_eq!(laptop["state"], "verified");
    assert_eq!(laptop["default"], true, "a verified key replaces a pending default");
    // A key already registered to bob cannot be given to carol, even one that names her too.
    bob.gpg_ok(&["--quick-add-uid", &bob.fingerprint(), "carol@example.org"]);
    let out = w.run(&["members", "add", LIST, "carol@example.org", "--key-file", bob.export(false).to_str().unwrap()]);
    assert_eq!(code(&out), 65);
    assert!(stderr(&out).contains("already belongs to bob@example.org"), "{}", stderr(&out));
    w.ok(&["keys", "remove", LIST, "bob@example.org", &bob_laptop.fingerprint()]);
    assert_eq!(key_state(&w, "bob@example.org"), vec![(bob.fingerprint(), "pending".into())]);
    assert_eq!(code(&w.run(&["keys", "remove", LIST, "bob@example.org", &bob_laptop.fingerprint()])), 67);
    w.ok(&["members", "remove", LIST, "bob@example.org"]);
    assert_eq!(code(&w.run(&["keys", "ls", LIST, "bob@example.org"])), 67);
    let out = w.run(&["members", "remove", LIST, "alice@example.org"]);
    assert_eq!(code(&out), 65, "the last admin stays");
}

#[test]
fn a_protected_list_key_signs_only_after_unlock_and_the_passphrase_is_never_stored() {
    let w = World::new();
    const PASSPHRASE: &str = "correct horse battery staple";
    let owner = w.empty_person(LIST);
    owner.gen_key(LIST, &["--passphrase", PASSPHRASE]);
    let secret = owner.home.join("secret.asc");
    let exported = owner.gpg(&["--passphrase", PASSPHRASE, "--armor", "--export-secret-keys", &owner.fingerprint()]);
    assert!(exported.status.success());
    std::fs::write(&secret, &exported.stdout).unwrap();
    w.ok(&["list", "create", LIST, "--admin", "alice@example.org", "--key-file", secret.to_str().unwrap()]);
    w.use_outbox(LIST);
    let bob = w.person("bob@example.org");
    bob.import(w.ok(&["list", "export-key", LIST]).as_bytes());

    // Locked: the member is added, the challenge goes out without the list's signature.
    w.ok(&["members", "add", LIST, "bob@example.org", "--key-file", bob.export(false).to_str().unwrap()]);
    let locked = bob.decrypt(&w.mails_to("bob@example.org").pop().unwrap().armored());
    assert!(locked.ok && locked.good_signer().is_none());

    let wrong = w.run_with_stdin(&["list", "unlock", LIST], b"not the passphrase\n");
    assert_eq!(code(&wrong), 65, "{}", stderr(&wrong));
    let out = w.run_with_stdin(&["list", "unlock", LIST], format!("{PASSPHRASE}\n").as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));

    let carol = w.person("carol@example.org");
    carol.import(w.ok(&["list", "export-key", LIST]).as_bytes());
    w.ok(&["members", "add", LIST, "carol@example.org", "--key-file", carol.export(false).to_str().unwrap()]);
    let unlocked = carol.decrypt(&w.mails_to("carol@example.org").pop().unwrap().armored());
    assert_eq!(unlocked.good_signer(), Some(owner.fingerprint()), "signed with no tty after unlock");

    for entry in walk(&w.home) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(!contains(&bytes, PASSPHRASE.as_bytes()), "passphrase found in {}", entry.display());
        let hex: String = PASSPHRASE.bytes().map(|b| format!("{b:02X}")).collect();
        assert!(!contains(&bytes, hex.as_bytes()), "hex passphrase found in {}", entry.display());
    }
}

#[test]
fn many_concurrent_commands_share_the_store() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let people: Vec<Person> = (0..5).map(|i| w.person(&format!("member{i}@example.org"))).collect();
    let files: Vec<_> = people.iter().map(|p| p.export(false)).collect();
    let mut children = vec![];
    for (i, file) in files.iter().enumerate() {
        let addr = format!("member{i}@example.org");
        children.push(
            w.cmd(&["members", "add", LIST, &addr, "--key-file", file.to_str().unwrap()])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for _ in 0..20 {
        children.push(
            w.cmd(&["members", "ls", LIST])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let members: serde_json::Value = serde_json::from_str(&w.ok(&["members", "ls", LIST, "--json"])).unwrap();
    assert_eq!(members.as_array().unwrap().len(), 6);
    assert_eq!(w.mails().len(), 10, "a welcome and a challenge for each");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            files.extend(walk(&path));
        } else if meta.is_file() {
            files.push(path);
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn flooded_keys_are_refused() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let flooded = w.person("bob@example.org");
    let fpr = flooded.fingerprint();
    for i in 0..33 {
        flooded.gpg_ok(&["--quick-add-uid", &fpr, &format!("Bob {i} <bob{i}@example.org>")]);
    }
    let out =
        w.run(&["members", "add", LIST, "bob@example.org", "--key-file", flooded.export(false).to_str().unwrap()]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(stderr(&out).contains("user IDs"), "{}", stderr(&out));
    let huge = w.dir.path().join("huge.asc");
    std::fs::write(&huge, vec![b'a'; 9 << 20]).unwrap();
    let out = w.run(&["members", "add", LIST, "bob@example.org", "--key-file", huge.to_str().unwrap()]);
    assert_eq!(code(&out), 65);
    assert!(stderr(&out).contains("larger than 8 MiB"), "a resource bound, said so: {}", stderr(&out));
    assert!(w.mails().is_empty());
}
