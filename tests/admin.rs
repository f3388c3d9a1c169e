//! Lists, members and keys, with the real binary and real GnuPG.

mod common;
use common::*;
use std::fs;

#[test]
fn a_list_made_from_a_supplied_secret_key_exports_that_key() {
    let w = World::new();
    let owner = w.person(LIST);
    let secret = owner.export(true);
    w.ok(&["list", "create", LIST, "--admin", "alice@example.org", "--key-file", secret.to_str().unwrap()]);
    let exported = w.ok(&["list", "export-key", LIST]);
    assert!(exported.contains("BEGIN PGP PUBLIC KEY BLOCK"));
    assert!(!exported.contains("PRIVATE KEY"), "export-key must never print the secret key");
    let fresh = w.empty_person("someone@example.org");
    fresh.import(exported.as_bytes());
    assert_eq!(fresh.fingerprints(), vec![owner.fingerprint()]);
    let shown: serde_json::Value = serde_json::from_str(&w.ok(&["list", "show", LIST, "--json"])).unwrap();
    assert_eq!(shown["fingerprint"], owner.fingerprint());
    w.use_outbox(LIST);
}

#[test]
fn a_generated_list_key_signs_and_encrypts_and_carries_the_list_address() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let exported = w.ok(&["list", "export-key", LIST]);
    let fresh = w.empty_person("someone@example.org");
    fresh.import(exported.as_bytes());
    let listing = fresh.gpg_ok(&["--with-colons", "--list-keys"]);
    assert!(listing.contains(&format!("<{LIST}>")));
    assert!(listing.lines().any(|l| l.starts_with("pub:") && l.split(':').nth(11).unwrap().contains('s')));
    assert!(listing.lines().any(|l| l.starts_with("sub:") && l.split(':').nth(11).unwrap().contains('e')));
    let shown: serde_json::Value = serde_json::from_str(&w.ok(&["list", "show", LIST, "--json"])).unwrap();
    assert_eq!(shown["fingerprint"], fresh.fingerprint());
    assert_eq!(shown["admins"][0], "alice@example.org");
    let listed: serde_json::Value = serde_json::from_str(&w.ok(&["list", "ls", "--json"])).unwrap();
    assert_eq!(listed[0]["address"], LIST);
}

#[test]
fn list_keys_that_cannot_serve_a_list_are_refused_and_leave_nothing() {
    let w = World::new();
    let public_only = w.person(LIST);
    let wrong_address = w.person("other@example.org");
    let sign_only = w.empty_person(LIST);
    sign_only.gpg_ok(&["--quick-gen-key", LIST, "ed25519", "sign,cert", "never"]);
    let cases = [
        ("public key only", public_only.export(false)),
        ("no user ID with the list address", wrong_address.export(true)),
        ("no encryption subkey", sign_only.export(true)),
    ];
    for (why, file) in cases {
        let out =
            w.run(&["list", "create", LIST, "--admin", "alice@example.org", "--key-file", file.to_str().unwrap()]);
        assert_eq!(code(&out), 65, "{why}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().filter(|l| l.starts_with("listcrypt: error:")).count(), 1);
        assert!(!w.home.join("lists").join(LIST).exists(), "{why}: a refused list leaves no folder");
    }
}

#[test]
fn settings_are_shown_typed_and_validated() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let shown = w.ok(&["list", "show", LIST]);
    for name in [
        "require_encryption = true",
        "require_signature = true",
        "anonymous = false",
        "nonmember_action = reject",
        "unverified_action = reject",
        "protect_subject = true",
        "max_message_size = 10M",
        "max_signature_age = 7d",
    ] {
        assert!(shown.contains(name), "{name} missing from:\n{shown}");
    }
    assert_eq!(w.ok(&["list", "set", LIST, "anonymous", "yes"]), "anonymous = true\n");
    assert_eq!(w.ok(&["list", "set", LIST, "max_message_size", "512K"]), "max_message_size = 512K\n");
    for (key, value) in
        [("colour", "blue"), ("anonymous", "perhaps"), ("max_message_size", "lots"), ("transport", "carrier-pigeon")]
    {
        let out = w.run(&["list", "set", LIST, key, value]);
        assert_eq!(code(&out), 65, "{key}={value}");
        assert!(stderr(&out).contains("hint:"), "a refusal says what to do");
    }
    let shown: serde_json::Value = serde_json::from_str(&w.ok(&["list", "show", LIST, "--json"])).unwrap();
    let settings = shown["settings"].as_array().unwrap();
    assert!(settings.iter().any(|s| s["name"] == "anonymous" && s["value"] == "true" && s["scope"] == "list-admin"));
    assert!(settings.iter().any(|s| s["name"] == "transport" && s["scope"] == "operator"));
}

#[test]
fn a_missing_list_is_no_user_and_a_broken_home_is_a_config_error() {
    let w = World::new();
    let out = w.run(&["members", "ls", "nosuch@example.org"]);
    assert_eq!(code(&out), 67, "{}", stderr(&out));
    w.generated_list("alice@example.org");
    fs::remove_dir_all(w.home.join("lists").join(LIST).join("store")).unwrap();
    let out = w.run(&["members", "ls", LIST]);
    assert_eq!(code(&out), 78, "{}", stderr(&out));
    assert!(stderr(&out).contains("broken"));
}

#[test]
fn deleting_a_list_needs_confirmation_and_removes_everything() {
    let w = World::new();
    w.generated_list("alice@example.org");
    assert_eq!(code(&w.run(&["list", "delete", LIST])), 64);
    w.ok(&["list", "delete", LIST, "--yes"]);
    assert!(!w.home.join("lists").join(LIST).exists());
    assert_eq!(code(&w.run(&["list", "show", LIST])), 67);
}

#[test]
fn a_home_too_long_for_agent_sockets_still_works() {
    let w = World::new();
    let long_home = w.dir.path().join("a-very-long-folder-name-for-testing-socket-paths-of-gpg-agent-0123456789");
    assert!(long_home.join("lists").join(LIST).join("gnupg").as_os_str().len() > 108);
    let run = |args: &[&str]| w.cmd_in(&long_home, args).output().unwrap();
    let out = run(&["list", "create", LIST, "--admin", "alice@example.org", "--generate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["list", "set", LIST, "transport", &format!("sendmail:{}", w.sendmail.display())]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bob = w.person("bob@example.org");
    let out = run(&["members", "add", LIST, "bob@example.org", "--key-file", bob.export(false).to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The challenge was signed, so gpg-agent ran for the long home.
    let challenge = w.mails_to("bob@example.org").pop().unwrap();
    let list_key = run(&["list", "export-key", LIST]).stdout;
    bob.import(&list_key);
    assert!(bob.decrypt(&challenge.armored()).good_signer().is_some());
    let out = run(&["list", "delete", LIST, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!long_home.join("lists").join(LIST).exists());
}

#[test]
fn man_pages_and_completions_are_up_to_date() {
    let w = World::new();
    let fresh = w.dir.path().join("docs");
    w.ok(&["generate-docs", fresh.to_str().unwrap()]);
    for folder in ["man", "completions"] {
        let committed = repo_root().join(folder);
        let mut names: Vec<_> = fs::read_dir(fresh.join(folder)).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        let mut have: Vec<_> =
            fs::read_dir(&committed).map(|d| d.map(|e| e.unwrap().file_name()).collect()).unwrap_or_default();
        have.sort();
        assert_eq!(names, have, "{folder}/ is stale: run `cargo run -- generate-docs .`");
        for name in names {
            assert_eq!(
                fs::read(fresh.join(folder).join(&name)).unwrap(),
                fs::read(committed.join(&name)).unwrap(),
                "{folder}/{} is stale: run `cargo run -- generate-docs .`",
                name.to_string_lossy()
            );
        }
    }
}

#[test]
fn a_busy_store_makes_commands_wait_and_exit_75_at_the_deadline() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let home = listcrypt::Home::new(&w.home);
    let list = listcrypt::list::List::open(&home, &listcrypt::Address::parse(LIST).unwrap()).unwrap();
    let held = list.store().unwrap();

    let started = std::time::Instant::now();
    let out = w.cmd(&["members", "ls", LIST]).env("LISTCRYPT_LOCK_TIMEOUT", "1").output().unwrap();
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "it waited for the deadline");
    assert!(stderr(&out).contains("busy"));
    let mail = b"From: a@example.org\nSubject: x\n\nhello\n";
    let mut inject = w.cmd(&["inject", LIST]);
    inject
        .env("LISTCRYPT_LOCK_TIMEOUT", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = inject.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(mail).unwrap();
    assert_eq!(code(&child.wait_with_output().unwrap()), 75, "the MTA will retry");

    // A command that waits gets in as soon as the holder lets go.
    let waiting = w.cmd(&["members", "ls", LIST]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(held);
    let out = waiting.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("alice@example.org"));
}

#[test]
fn the_process_never_dumps_core() {
    let w = World::new();
    w.generated_list("alice@example.org");
    // `list unlock` waits on stdin: look at it while it runs.
    let mut child = w
        .cmd(&["list", "unlock", LIST])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let limits = fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap();
    assert_eq!(core.split_whitespace().collect::<Vec<_>>()[4..6], ["0", "0"], "{core}");
    drop(child.stdin.take());
    assert_eq!(code(&child.wait_with_output().unwrap()), 65, "no passphrase given");
}
