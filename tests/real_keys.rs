//! People's real keys: years old, hundreds of third-party certifications,
//! dozens of expired subkeys. They go in, and the list keeps only their
//! minimal form; refusals say the real reason; an operator can vouch; a
//! refresh never brings a revoked subkey back; no key can graft another's.

mod common;
use common::*;

/// gpg in `person`'s home with an empty passphrase and a fixed clock.
fn gpg_at(person: &Person, at: u64, args: &[&str]) {
    let mut all = vec!["--pinentry-mode", "loopback", "--passphrase", ""];
    let time = format!("{at}!");
    all.extend(["--faked-system-time", &time]);
    all.extend_from_slice(args);
    let out = person.gpg(&all);
    assert!(out.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A key shaped like a person's years-old key: made three years ago, with
/// `expired` encryption subkeys that each lived a month, one current
/// encryption subkey, a revoked user ID, and `certifications` third-party
/// certifications, each carrying a notation as some certifiers add (so the
/// file runs to hundreds of KiB, as real ones do).
fn real_key(w: &World, address: &str, certifications: usize, expired: usize) -> Person {
    let person = w.empty_person(address);
    let born = now() - 3 * 365 * 86_400;
    gpg_at(&person, born, &["--quick-gen-key", address, "ed25519", "sign,cert", "never"]);
    let fpr = person.fingerprint();
    for i in 0..expired as u64 {
        gpg_at(&person, born + (i + 1) * 20 * 86_400, &["--quick-add-key", &fpr, "cv25519", "encr", "30d"]);
    }
    gpg_at(&person, now(), &["--quick-add-key", &fpr, "cv25519", "encr", "never"]);
    let old = format!("Old address <old-{address}>");
    gpg_at(&person, born + 86_400, &["--quick-add-uid", &fpr, &old]);
    gpg_at(&person, now(), &["--quick-revoke-uid", &fpr, &old]);
    let params: String = (0..certifications)
        .map(|i| format!("Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: cert\nName-Email: c{i}@certifiers.example\nExpire-Date: 0\n%no-protection\n%commit\n"))
        .collect();
    person.gpg_pipe(&["--gen-key"], params.as_bytes());
    let note = format!("certified@certifiers.example={}", "x".repeat(1500));
    let mut sign = vec!["--cert-notation", &note];
    let signers: Vec<String> = (0..certifications).map(|i| format!("c{i}@certifiers.example")).collect();
    for signer in &signers {
        sign.extend(["--local-user", signer]);
    }
    sign.extend(["--quick-sign-key", &fpr]);
    gpg_at(&person, now(), &sign);
    person
}

/// The key's file as its holder would export it (all of it).
fn export(person: &Person) -> std::path::PathBuf {
    let file = person.home.join("full.asc");
    std::fs::write(&file, person.gpg_ok(&["--armor", "--export", &person.fingerprint()])).unwrap();
    file
}

/// What the list's keyring holds of `fpr`: its bytes and `gpg --list-packets`.
fn stored(w: &World, fpr: &str) -> (Vec<u8>, String) {
    let list = Person { address: LIST.into(), home: w.list_gnupg(LIST) };
    let bytes = list.gpg_pipe(&["--export", fpr], b"");
    let packets = list.list_packets(&bytes);
    (bytes, packets)
}

/// The stored key holds no third-party certification and no expired subkey.
fn assert_minimal(w: &World, person: &Person, subkeys: usize) {
    let fpr = person.fingerprint();
    let (bytes, packets) = stored(w, &fpr);
    let own_id = &fpr[24..];
    let signatures: Vec<&str> = packets.lines().filter(|l| l.starts_with(":signature packet")).collect();
    assert!(signatures.iter().all(|l| l.contains(own_id)), "only self-signatures:\n{packets}");
    assert_eq!(packets.matches(":public sub key packet").count(), subkeys, "no expired subkey:\n{packets}");
    assert!(bytes.len() < 8 * 1024, "stored in {} bytes", bytes.len());
}

#[test]
fn a_years_old_key_goes_in_minimal_at_every_entry_point() {
    let s = Scene::new();
    let dave = real_key(&s.w, "dave@example.org", 200, 40);
    let file = export(&dave);
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 256 * 1024, "a real-sized file: {size} bytes");
    // members add
    let out = s.w.run(&["members", "add", LIST, "dave@example.org", "--key-file", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_minimal(&s.w, &dave, 1);
    // It works: the challenge opens with it and confirms it.
    let challenge = s.w.mails_to("dave@example.org").pop().unwrap();
    let token = token_in(&dave.decrypt(&challenge.armored()).plaintext);
    s.w.ok(&["keys", "verify", LIST, "dave@example.org", &token]);

    // keys add, for a member's second key
    let bob2 = real_key(&s.w, "bob@example.org", 50, 10);
    s.w.ok(&["keys", "add", LIST, "bob@example.org", "--key-file", export(&bob2).to_str().unwrap()]);
    assert_minimal(&s.w, &bob2, 1);

    // add-key by mail, signed with a verified key, the new key pasted below
    let carol2 = real_key(&s.w, "carol@example.org", 50, 10);
    let pasted = std::fs::read_to_string(export(&carol2)).unwrap();
    assert!(to_request(&s, &command_mail(&s, &s.carol, &format!("add-key\r\n\r\n{pasted}"))).status.success());
    assert!(answers(&s, &s.carol).iter().any(|a| a.contains("add-key: key") && a.contains("added")));
    assert_minimal(&s.w, &carol2, 1);
}

#[test]
fn refusals_name_the_real_reason_and_caps_apply_to_the_minimal_key() {
    let w = World::new();
    w.generated_list("alice@example.org");
    // Expired, and with many subkeys: told it expired, not that it is too big.
    let expired = w.empty_person("bob@example.org");
    let born = now() - 2 * 365 * 86_400;
    gpg_at(&expired, born, &["--quick-gen-key", "bob@example.org", "ed25519", "sign,cert", "100d"]);
    let fpr = expired.fingerprint();
    for i in 0..20 {
        gpg_at(&expired, born + i * 86_400, &["--quick-add-key", &fpr, "cv25519", "encr", "90d"]);
    }
    let out = w.run(&["members", "add", LIST, "bob@example.org", "--key-file", export(&expired).to_str().unwrap()]);
    assert_eq!(code(&out), 65);
    assert!(stderr(&out).contains("expired on"), "{}", stderr(&out));
    // Twenty expired subkeys and one valid one: the minimal key has one.
    let many = real_key(&w, "carol@example.org", 3, 20);
    let out = w.run(&["members", "add", LIST, "carol@example.org", "--key-file", export(&many).to_str().unwrap()]);
    assert!(out.status.success(), "caps count the minimal key: {}", stderr(&out));
    // Forty user IDs stay forty in the minimal form: refused, and told why.
    let crowded = w.person("dave@example.org");
    let fpr = crowded.fingerprint();
    for i in 0..40 {
        crowded.gpg_ok(&["--quick-add-uid", &fpr, &format!("Dave {i} <dave{i}@example.org>")]);
    }
    let out = w.run(&["members", "add", LIST, "dave@example.org", "--key-file", export(&crowded).to_str().unwrap()]);
    assert_eq!(code(&out), 65);
    assert!(stderr(&out).contains("even in its minimal form"), "{}", stderr(&out));
}

#[test]
fn an_operator_vouches_for_a_key_on_the_host() {
    let s = Scene::new();
    let dave = s.w.person("dave@example.org");
    let out = s.w.run(&[
        "members",
        "add",
        LIST,
        "dave@example.org",
        "--key-file",
        dave.export(false).to_str().unwrap(),
        "--no-challenge",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mails = s.w.mails_to("dave@example.org");
    assert_eq!(mails.len(), 1, "the welcome, and no challenge");
    assert!(!mails[0].text().contains("Token:"));
    let keys: serde_json::Value =
        serde_json::from_str(&s.w.ok(&["keys", "ls", LIST, "dave@example.org", "--json"])).unwrap();
    assert_eq!(keys[0]["state"], "vouched");
    assert!(s.log().contains("vouched for by the operator"), "{}", s.log());
    // A vouched key counts like a verified one.
    s.w.clear_outbox();
    dave.import(s.w.ok(&["list", "export-key", LIST]).as_bytes());
    assert!(s.deliver(&client::post(&dave, &s.list_key, "hi", "vouched post")).status.success());
    let copy = &s.posts_to(&s.bob)[0];
    assert!(s.bob.open_post(copy).unwrap().text.contains("vouched post"));
}

#[test]
fn a_refresh_never_brings_a_revoked_subkey_back() {
    let s = Scene::new();
    let fpr = s.bob.fingerprint();
    gpg_at(&s.bob, now(), &["--quick-add-key", &fpr, "cv25519", "encr", "never"]);
    let before = export(&s.bob);
    let before_copy = s.bob.home.join("before.asc");
    std::fs::copy(&before, &before_copy).unwrap();
    s.w.ok(&["keys", "add", LIST, "bob@example.org", "--key-file", before.to_str().unwrap()]);
    // Bob revokes his second encryption subkey and refreshes his key.
    let mut edit = s.bob.gpg_try(
        &["--pinentry-mode", "loopback", "--passphrase", "", "--command-fd", "0", "--edit-key", &fpr],
        b"key 2\nrevkey\ny\n0\n\ny\nsave\n",
    );
    assert!(edit.status.success(), "{}", String::from_utf8_lossy(&edit.stderr));
    s.w.ok(&["keys", "add", LIST, "bob@example.org", "--key-file", export(&s.bob).to_str().unwrap()]);
    let revoked_in_list = || {
        let list = Person { address: LIST.into(), home: s.w.list_gnupg(LIST) };
        let listing = list.gpg_ok(&["--with-colons", "--list-keys", &fpr]);
        listing.lines().filter(|l| l.starts_with("sub:r:")).count()
    };
    assert_eq!(revoked_in_list(), 1, "the revocation is stored");
    // Someone sends the old copy again: the subkey stays revoked.
    edit = s.w.run(&["keys", "add", LIST, "bob@example.org", "--key-file", before_copy.to_str().unwrap()]);
    assert!(edit.status.success(), "{}", stderr(&edit));
    assert_eq!(revoked_in_list(), 1, "an old copy does not resurrect it");
}

#[test]
fn a_key_grafting_another_key_as_its_subkey_is_refused() {
    let s = Scene::new();
    // The grafted key material: here the test lends Mallory the victims'
    // secret keys so that gpg makes the binding; an attacker needs only his own.
    for (victim, secret) in [
        (&s.bob, s.bob.gpg_pipe(&["--export-secret-keys", &s.bob.fingerprint()], b"")),
        (
            &Person { address: LIST.into(), home: s.w.list_gnupg(LIST) },
            Person { address: LIST.into(), home: s.w.list_gnupg(LIST) }.gpg_pipe(&["--export-secret-keys"], b""),
        ),
    ] {
        let listing = victim.gpg_ok(&["--with-colons", "--with-keygrip", "--list-keys", &victim.fingerprint()]);
        let field = |tag: &str, n: usize| {
            listing.lines().find(|l| l.starts_with(tag)).unwrap().split(':').nth(n).unwrap().to_string()
        };
        let (grip, created) = (field("grp:", 9), field("pub:", 5));
        // A day older than the victim's key (a committed test key may be old), so that the graft can be bound at its creation time.
        let mallory = s.w.empty_person("mallory@example.org");
        let older = created.parse::<u64>().unwrap() - 86_400;
        mallory.gen_key("mallory@example.org", &["--faked-system-time", &format!("{older}!")]);
        mallory.gpg_pipe(&["--import"], &secret);
        let script = format!("addkey\n13\n{grip}\nQ\n0\nsave\n");
        let mut args = vec!["--expert", "--pinentry-mode", "loopback", "--passphrase", "", "--command-fd", "0"];
        let time = format!("{created}!");
        args.extend(["--faked-system-time", &time, "--edit-key", "mallory@example.org"]);
        let out = mallory.gpg_try(&args, script.as_bytes());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let grafted = mallory.gpg_ok(&["--with-colons", "--list-keys", "mallory@example.org"]);
        assert!(grafted.contains(&victim.fingerprint()), "the graft holds the victim's fingerprint");
        let file = mallory.home.join("grafted.asc");
        std::fs::write(&file, mallory.gpg_ok(&["--armor", "--export", "mallory@example.org"])).unwrap();
        let out = s.w.run(&["members", "add", LIST, "mallory@example.org", "--key-file", file.to_str().unwrap()]);
        assert_eq!(code(&out), 65, "{}", stderr(&out));
        assert!(stderr(&out).contains("part of another key"), "{}", stderr(&out));
    }
    // Nothing changed: bob's posts still go out, the list key still works.
    assert!(s.deliver(&client::post(&s.bob, &s.list_key, "still me", "bob's post")).status.success());
    assert_eq!(s.posts_to(&s.carol).len(), 1);
}
