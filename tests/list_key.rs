//! The list key's life: `keys check` warns the admins 30 days before it
//! expires; `list extend-key` extends it in place and sends every member the
//! refreshed key, encrypted and list-signed.

mod common;
use common::*;

/// A list whose own key (made by its owner) expires in `expire`, protected by `passphrase`.
fn list_with_key(w: &World, expire: &str, passphrase: Option<&str>) -> Person {
    let (owner, file) = w.owners_list_key(LIST, expire, passphrase);
    w.ok(&["list", "create", LIST, "--admin", "alice@example.org", "--key-file", file.to_str().unwrap()]);
    w.use_outbox(LIST);
    owner
}

/// Days from now until the list key's primary key and encryption subkey expire, as a member's gpg reads them.
fn days_left(reader: &Person, key: &[u8]) -> Vec<u64> {
    reader.import(key);
    let now = now();
    reader
        .gpg_ok(&["--with-colons", "--list-keys", LIST])
        .lines()
        .filter(|l| l.starts_with("pub:") || l.starts_with("sub:"))
        .map(|l| l.split(':').nth(6).unwrap().parse::<u64>().expect("an expiry").saturating_sub(now) / 86_400)
        .collect()
}

#[test]
fn a_list_key_about_to_expire_is_reported_then_extended_and_sent_to_members() {
    let w = World::new();
    let owner = list_with_key(&w, "10d", None);
    let list_key = w.ok(&["list", "export-key", LIST]);
    let alice = w.verified_member("alice@example.org", &list_key, true);
    let bob = w.verified_member("bob@example.org", &list_key, false);
    w.clear_outbox();

    let report = w.ok(&["keys", "check", LIST]);
    assert!(report.contains(&format!("{LIST}\t{LIST} key {}", owner.fingerprint())), "{report}");
    assert!(report.contains(&format!("run `listcrypt list extend-key {LIST}`")), "{report}");
    let told = alice.decrypt(&w.mails_to("alice@example.org").pop().expect("the admin is told").armored());
    assert!(told.plaintext.contains("The list key expires on"), "{}", told.plaintext);

    w.clear_outbox();
    let out = w.run(&["list", "extend-key", LIST, "--days", "365"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("sent to 2 member(s)"), "{}", stderr(&out));
    let refreshed = bob.decrypt(&w.mails_to("bob@example.org").pop().expect("bob gets the refreshed key").armored());
    assert_eq!(refreshed.good_signer(), Some(owner.fingerprint()), "signed by the list key");
    assert!(refreshed.plaintext.contains(&format!("Its fingerprint has not changed: {}", owner.fingerprint())));
    let entity = mail_parser::MessageParser::default().parse(refreshed.plaintext.as_bytes()).unwrap();
    let attached = entity
        .parts
        .iter()
        .find(|p| mail_parser::MimeHeaders::content_type(*p).and_then(|c| c.subtype()) == Some("pgp-keys"))
        .expect("the key attached");
    let fresh = w.empty_person("reader@example.org");
    let left = days_left(&fresh, attached.contents());
    assert!(left.len() >= 2 && left.iter().all(|d| (363..=365).contains(d)), "primary and subkey extended: {left:?}");
    assert!(w.ok(&["list", "show", LIST, "--json"]).contains(&owner.fingerprint()), "same fingerprint");
    assert!(!w.ok(&["keys", "check", LIST]).contains("extend-key"), "no warning any more");
}

#[test]
fn a_locked_list_key_is_not_extended() {
    let w = World::new();
    list_with_key(&w, "10d", Some("long passphrase here"));
    let out = w.run(&["list", "extend-key", LIST]);
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert!(stderr(&out).contains("locked") && stderr(&out).contains("list unlock"), "{}", stderr(&out));
    let out = w.run_with_stdin(&["list", "unlock", LIST], b"long passphrase here\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = w.run(&["list", "extend-key", LIST, "--days", "30"]);
    assert!(out.status.success(), "after unlock: {}", stderr(&out));
}

#[test]
fn the_list_key_goes_into_a_web_key_directory_where_clients_look() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let web = w.dir.path().join("www");
    let printed = w.ok(&["list", "wkd", LIST, web.to_str().unwrap()]);
    // The hash gpg itself computes for the list's user ID.
    let reader = w.empty_person("reader@example.org");
    reader.import(w.ok(&["list", "export-key", LIST]).as_bytes());
    let listing = reader.gpg_ok(&["--with-wkd-hash", "--list-keys", LIST]);
    let hash = listing.lines().find_map(|l| l.trim().strip_suffix("@example.org")).expect("gpg's WKD hash").to_string();
    let direct = web.join(".well-known/openpgpkey/hu").join(&hash);
    let advanced = web.join(".well-known/openpgpkey/example.org/hu").join(&hash);
    for file in [&direct, &advanced] {
        assert!(printed.contains(file.to_str().unwrap()), "{printed}");
        let fresh = w.empty_person("fresh@example.org");
        let imported = fresh.gpg(&["--import", file.to_str().unwrap()]);
        assert!(imported.status.success(), "a key gpg imports: {}", String::from_utf8_lossy(&imported.stderr));
        let show: serde_json::Value = serde_json::from_str(&w.ok(&["list", "show", LIST, "--json"])).unwrap();
        assert_eq!(fresh.fingerprint(), show["fingerprint"].as_str().unwrap());
    }
    for policy in [web.join(".well-known/openpgpkey/policy"), web.join(".well-known/openpgpkey/example.org/policy")] {
        assert!(policy.is_file(), "{} (both layouts need one)", policy.display());
    }
}
