//! Attacks on the MIME structure around a genuine signature: a member's
//! signed part hidden behind HTML, referenced by `cid:`, demoted to an
//! attachment or forwarded; a signature over ciphertext; inline blocks with
//! text around them or forged armor headers; protected headers that are
//! phony, misplaced or contradict the outer ones; Sender tricks.

mod common;
use common::attack::*;
use common::*;

/// `entity` encrypted (not signed) by `sender` to the list, under `From: from`.
fn encrypted_only(s: &Scene, sender: &Person, from: &str, entity: &str) -> Vec<u8> {
    client::encrypted(&client::headers(from, LIST, "attack"), &sender.encrypt(entity.as_bytes(), &s.list_key))
}

/// Alice's genuinely signed part, as Bob could have kept it from another list.
fn alices_signed_part(s: &Scene, extra_headers: &str) -> String {
    let signed = client::signed_entity(&s.alice, &client::text_entity("Alice wrote this."));
    format!("{extra_headers}{signed}")
}

#[test]
fn a_signed_part_behind_html_or_a_cid_reference_is_refused() {
    let s = Scene::new();
    let html = format!(
        "Content-Type: text/html; charset=utf-8\r\n\r\n<p>{CANARY}: pay the invoice</p><iframe src=\"cid:signed@x\"></iframe>\r\n"
    );
    for (wrapper, signed_headers) in
        [("related", "Content-ID: <signed@x>\r\n"), ("alternative", ""), ("mixed", "Content-ID: <signed@x>\r\n")]
    {
        let entity = format!(
            "Content-Type: multipart/{wrapper}; boundary=\"w\"\r\n\r\n--w\r\n{html}\r\n--w\r\n{}\r\n--w--\r\n",
            alices_signed_part(&s, signed_headers)
        );
        refused_for(&s, &encrypted_only(&s, &s.bob, "alice@example.org", &entity), "unsigned wrapper");
    }
}

#[test]
fn a_signed_part_demoted_to_an_attachment_is_refused() {
    let s = Scene::new();
    let entity = format!(
        "Content-Type: multipart/mixed; boundary=\"w\"\r\n\r\n--w\r\n{}\r\n--w\r\n{}\r\n--w--\r\n",
        client::text_entity(&format!("{CANARY}: see the attachment, signed by Alice")),
        alices_signed_part(&s, "Content-Disposition: attachment; filename=\"alice.eml\"\r\n")
    );
    refused_for(&s, &encrypted_only(&s, &s.bob, "alice@example.org", &entity), "unsigned wrapper");
}

#[test]
fn a_forwarded_signed_message_is_content_not_authorship() {
    let s = Scene::new();
    let forwarded = format!(
        "Content-Type: message/rfc822\r\n\r\nFrom: <alice@example.org>\r\nTo: {LIST}\r\nSubject: old\r\nMIME-Version: 1.0\r\n{}",
        alices_signed_part(&s, "")
    );
    // Unsigned, from Alice's address: the attached message is opaque data, so
    // her signature inside it is not a signature on this mail.
    let entity = format!(
        "Content-Type: multipart/mixed; boundary=\"w\"\r\n\r\n--w\r\n{}\r\n--w\r\n{forwarded}\r\n--w--\r\n",
        client::text_entity(CANARY)
    );
    refused_for(&s, &encrypted_only(&s, &s.bob, "alice@example.org", &entity), "not signed");
    // Carol forwarding it in a post she signs herself: her post, Alice's mail as an opaque attachment.
    let entity = format!(
        "Content-Type: multipart/mixed; boundary=\"w\"\r\n\r\n--w\r\n{}\r\n--w\r\n{forwarded}\r\n--w--\r\n",
        client::text_entity("Carol forwards this.")
    );
    assert!(s.deliver(&encrypted_from(&s, &s.carol, "carol@example.org", &entity)).status.success());
    let copy = &s.posts_to(&s.bob)[0];
    assert!(copy.header("From").unwrap().contains("carol@example.org"));
    let opened = s.bob.open_post(copy).unwrap();
    assert!(opened.text.contains("Carol forwards this."), "{}", opened.entity);
    assert!(opened.entity.contains("Alice wrote this."), "the forwarded mail is attached as it was");
}

#[test]
fn a_signature_over_the_ciphertext_is_not_a_signed_post() {
    let s = Scene::new();
    let encrypted = format!(
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--e--\r\n",
        s.alice.encrypt(client::text_entity(CANARY).as_bytes(), &s.list_key)
    );
    let signed = client::signed_entity(&s.alice, &encrypted);
    let mail = client::lf(&format!("{}{signed}", client::headers("alice@example.org", LIST, "outer")));
    refused_for(&s, &mail, "not encrypted");
}

#[test]
fn inline_blocks_with_text_around_them_or_forged_armor_headers_are_refused() {
    let s = Scene::new();
    let file = s.w.dir.path().join("text");
    std::fs::write(&file, "Alice's signed words.\n").unwrap();
    let clearsigned = s.alice.gpg_ok(&[
        "--local-user",
        &s.alice.fingerprint(),
        "--output",
        "-",
        "--clearsign",
        file.to_str().unwrap(),
    ]);
    let forged = clearsigned.replacen("Hash: SHA256\n", "Hash: SHA256\nX-Forged: Subject: pay now\n", 1);
    assert_ne!(forged, clearsigned);
    let cases = [
        (format!("{clearsigned}\n{CANARY}: and this is not signed\n"), "unsigned wrapper"),
        (format!("{clearsigned}{clearsigned}"), "unsigned wrapper"),
        (forged, "bad signature"),
    ];
    for (text, reason) in cases {
        // Inline PGP: the text/plain body is one encrypted block around the clearsigned text.
        let armored = s.bob.encrypt(text.as_bytes(), &s.list_key);
        let mail = client::lf(&format!(
            "{}Content-Type: text/plain; charset=us-ascii\r\n\r\n{armored}\r\n",
            client::headers("alice@example.org", LIST, "inline")
        ));
        refused_for(&s, &mail, reason);
    }
    // Text outside the encrypted block: the body is not one armored block.
    let armored = s.alice.sign_encrypt(b"signed and encrypted", &s.list_key);
    let mail = client::lf(&format!(
        "{}Content-Type: text/plain; charset=us-ascii\r\n\r\n{CANARY}: unencrypted words first\r\n\r\n{armored}\r\n",
        client::headers("alice@example.org", LIST, "partly")
    ));
    refused_for(&s, &mail, "unsigned wrapper");
    // The clearsigned block alone is accepted: the rule is about what surrounds it.
    let armored = s.bob.encrypt(clearsigned.as_bytes(), &s.list_key);
    let mail = client::lf(&format!(
        "{}Content-Type: text/plain; charset=us-ascii\r\n\r\n{armored}\r\n",
        client::headers("alice@example.org", LIST, "inline")
    ));
    assert!(s.deliver(&mail).status.success());
    assert!(s.bob.open_post(&s.posts_to(&s.bob)[0]).unwrap().text.contains("Alice's signed words."));
}

#[test]
fn protected_headers_count_only_inside_the_signature() {
    let s = Scene::new();
    // An inner From that contradicts the outer one.
    let entity = format!(
        "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nFrom: <bob@example.org>\r\nTo: {LIST}\r\nSubject: inner\r\n\r\n{CANARY}\r\n"
    );
    refused_for(&s, &encrypted_from(&s, &s.alice, "alice@example.org", &entity), "protected From: differs");

    // Phony: a Subject on the multipart/signed wrapper, outside what Alice signed.
    let signed = client::signed_entity(&s.alice, &client::text_entity("plain words"));
    let phony = format!("Subject: Phony subject\r\nFrom: <bob@example.org>\r\n{signed}");
    assert!(s.deliver(&encrypted_only(&s, &s.alice, "alice@example.org", &phony)).status.success());
    // Misplaced: protected headers on a part below the root of what Alice signed.
    let misplaced = format!(
        "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\n{}\r\n--m\r\nContent-Type: text/plain; protected-headers=\"v1\"\r\nSubject: Misplaced subject\r\nFrom: <bob@example.org>\r\n\r\nsecond part\r\n--m--\r\n",
        client::text_entity("first part")
    );
    assert!(s.deliver(&encrypted_from(&s, &s.alice, "alice@example.org", &misplaced)).status.success());
    let copies = s.posts_to(&s.carol);
    assert_eq!(copies.len(), 2, "both posts went out");
    for copy in &copies {
        let opened = s.carol.open_post(copy).unwrap();
        let head = opened.entity.split("\r\n\r\n").next().unwrap().to_string();
        assert!(head.contains("Subject: [unsigned subject] attack"), "the outer subject is marked unsigned: {head}");
        assert!(!head.contains("Phony") && !head.contains("Misplaced"), "{head}");
        assert!(head.contains("alice@example.org") && !head.contains("bob@example.org"), "{head}");
    }
}

#[test]
fn a_sender_header_changes_nothing() {
    let s = Scene::new();
    // Alice signs, Sender names Bob: Alice's post, and Bob's name goes nowhere.
    let armored = s.alice.sign_encrypt(client::text_entity("sender test").as_bytes(), &s.list_key);
    let headers = format!("Sender: <bob@example.org>\r\n{}", client::headers("alice@example.org", LIST, "sender"));
    assert!(s.deliver(&client::encrypted(&headers, &armored)).status.success());
    let copy = &s.posts_to(&s.carol)[0];
    assert!(copy.header("From").unwrap().contains("alice@example.org"));
    let opened = s.carol.open_post(copy).unwrap();
    assert!(opened.text.contains("sender test"));
    for text in [copy.text(), opened.entity] {
        assert!(!text.contains("bob@example.org"), "Bob's name went out: {text}");
    }
    s.w.clear_outbox();
    // Bob signs a mail From Alice with Sender: Bob: the signer must be the From.
    let armored = s.bob.sign_encrypt(client::text_entity(CANARY).as_bytes(), &s.list_key);
    let headers = format!("Sender: <bob@example.org>\r\n{}", client::headers("alice@example.org", LIST, "sender"));
    refused_for(&s, &client::encrypted(&headers, &armored), "another member");
}

/// Surreptitious forwarding: someone re-sends text Alice signed elsewhere
/// (no protected headers), From: Alice, with a Subject of their choosing.
#[test]
fn a_subject_alice_never_signed_is_never_presented_as_hers() {
    let s = Scene::new();
    let signed = client::signed_entity(&s.alice, &client::text_entity("Alice's words, signed for someone else."));
    let armored = s.bob.encrypt(signed.as_bytes(), &s.list_key);
    let mail = client::encrypted(&client::headers("alice@example.org", LIST, "I resign"), &armored);
    assert!(s.deliver(&mail).status.success());
    let opened = s.carol.open_post(&s.posts_to(&s.carol)[0]).unwrap();
    let head = opened.entity.split("\r\n\r\n").next().unwrap().to_string();
    assert!(head.contains("Subject: [unsigned subject] I resign"), "{head}");
    assert!(s.log().contains("named no list"), "the admins' log says so: {}", s.log());
    // A list that requires protected headers refuses it.
    s.w.ok(&["list", "set", LIST, "require_protected_headers", "true"]);
    let signed = client::signed_entity(&s.alice, &client::text_entity(CANARY));
    let armored = s.bob.encrypt(signed.as_bytes(), &s.list_key);
    let mail = client::encrypted(&client::headers("alice@example.org", LIST, "I resign"), &armored);
    s.w.clear_outbox();
    refused_for(&s, &mail, "does not name the list in protected To/Cc");
    // Alice's own post, with protected headers naming the list, goes out with its subject.
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "Agenda", "signed where it belongs")).status.success());
    let opened = s.carol.open_post(&s.posts_to(&s.carol)[0]).unwrap();
    assert!(opened.entity.contains("Subject: Agenda\r\n"), "{}", opened.entity);
}

#[test]
fn a_bare_cr_in_a_header_field_is_refused() {
    let s = Scene::new();
    let entity = format!(
        "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain\r\nContent-Description: x\rSubject: Bob is fired\r\n\r\n{CANARY}\r\n--m--\r\n"
    );
    refused_for(&s, &encrypted_from(&s, &s.alice, "alice@example.org", &entity), "bare CR or LF");
    let clean =
        "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nfine\r\n--m--\r\n";
    assert!(s.deliver(&encrypted_from(&s, &s.alice, "alice@example.org", clean)).status.success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "the same post without the bare CR goes out");
}
