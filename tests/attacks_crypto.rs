//! Attacks on the OpenPGP layer, each built with real gpg: ciphertext without
//! integrity protection, extra literal packets, nested compression, data that
//! only looks encrypted, signatures from the future or from keys that merely
//! carry a member's user ID, and replays in fresh wrapping.

mod common;
use common::attack::*;
use common::*;

/// `entity` signed by `sender` (binary, uncompressed, no encryption).
fn signed_packets(sender: &Person, entity: &str) -> Vec<u8> {
    sender.gpg_pipe(&["--local-user", &sender.fingerprint(), "--compress-algo", "none", "--sign"], entity.as_bytes())
}

/// `packets` encrypted to the list as they are: gpg adds no literal packet.
fn encrypt_packets(s: &Scene, sender: &Person, packets: &[u8], extra: &[&str]) -> String {
    let mut args = vec!["--no-literal", "--recipient", &s.list_key, "--encrypt"];
    args.splice(0..0, extra.iter().copied());
    sender.armor_message(&sender.gpg_pipe(&args, packets))
}

fn mail(from: &str, armored: &str) -> Vec<u8> {
    client::encrypted(&client::headers(from, LIST, "attack"), armored)
}

#[test]
fn ciphertext_without_integrity_protection_is_refused() {
    let s = Scene::new();
    let signed = signed_packets(&s.alice, &client::text_entity(CANARY));
    // RFC 2440 mode: a symmetrically encrypted data packet (tag 9), no MDC.
    let armored =
        encrypt_packets(&s, &s.alice, &signed, &["--rfc2440", "--cipher-algo", "AES256", "--compress-algo", "none"]);
    let listed = s.alice.list_packets(armored.as_bytes());
    assert!(listed.contains("tag=9"), "the attack really lacks an MDC: {listed}");
    refused_for(&s, &mail("alice@example.org", &armored), "not decryptable");
    // The control: the same packets encrypted the ordinary way (with an MDC) go out.
    let armored = encrypt_packets(&s, &s.alice, &signed, &[]);
    assert!(s.deliver(&mail("alice@example.org", &armored)).status.success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "{}", s.log());
}

#[test]
fn a_second_literal_packet_next_to_a_signed_one_is_refused() {
    let s = Scene::new();
    let signed = signed_packets(&s.alice, &client::text_entity(CANARY));
    let injected = s.bob.gpg_pipe(
        &["--compress-algo", "none", "--store"],
        client::text_entity(&format!("{CANARY}: transfer the money")).as_bytes(),
    );
    // Bob appends his own plaintext after Alice's signed message, then puts it in front.
    for packets in [[signed.clone(), injected.clone()].concat(), [injected.clone(), signed.clone()].concat()] {
        let armored = encrypt_packets(&s, &s.bob, &packets, &["--compress-algo", "none"]);
        refused_for(&s, &mail("alice@example.org", &armored), "not decryptable");
    }
    // The control: Alice's signed message alone, put together the same way, goes out.
    let armored = encrypt_packets(&s, &s.bob, &signed, &["--compress-algo", "none"]);
    assert!(s.deliver(&mail("alice@example.org", &armored)).status.success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "{}", s.log());
}

#[test]
fn nested_compression_bombs_are_refused_without_filling_memory() {
    let s = Scene::new();
    s.w.ok(&["list", "set", LIST, "max_message_size", "1M"]);
    // A gibibyte of zeros, compressed, and that compressed again.
    let mut entity = client::text_entity("").into_bytes();
    entity.extend(std::iter::repeat_n(b'0', 1 << 30));
    let once = s.bob.gpg_pipe(&["--compress-algo", "zlib", "--compress-level", "9", "--store"], &entity);
    drop(entity);
    let armored = encrypt_packets(&s, &s.bob, &once, &["--compress-algo", "zlib", "--compress-level", "9"]);
    assert!(armored.len() < 1 << 20, "the bomb is small: {} bytes", armored.len());
    assert!(s.bob.list_packets(&once).contains("compressed packet"), "the inner layer is compressed");
    let id = String::from_utf8(s.w.run_with_stdin(&["inject", LIST], &mail("bob@example.org", &armored)).stdout)
        .unwrap()
        .trim()
        .to_string();
    let started = std::time::Instant::now();
    let (out, peak_kb) = s.verify_measured(&id);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(peak_kb < 64 * 1024, "verify's memory stayed bounded: {peak_kb} KB");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert!(s.admin_reports().iter().any(|r| r.contains("not decryptable")), "{:?}", s.admin_reports());
    s.w.ok(&["distribute", LIST]);
    nothing_distributed(&s);
}

#[test]
fn signed_data_that_only_looks_encrypted_is_refused() {
    let s = Scene::new();
    // multipart/encrypted around a message that is signed but not encrypted.
    let armored = s.alice.gpg_pipe(
        &["--armor", "--local-user", &s.alice.fingerprint(), "--sign"],
        client::text_entity(CANARY).as_bytes(),
    );
    refused_for(&s, &mail("alice@example.org", &String::from_utf8(armored).unwrap()), "not decryptable");
}

#[test]
fn a_signature_dated_in_the_future_is_refused() {
    let s = Scene::new();
    let tomorrow = now() + 2 * 86_400;
    let armored = String::from_utf8(s.alice.gpg_pipe(
        &[
            "--armor",
            "--faked-system-time",
            &format!("{tomorrow}!"),
            "--local-user",
            &s.alice.fingerprint(),
            "--recipient",
            &s.list_key,
            "--sign",
            "--encrypt",
        ],
        client::text_entity(CANARY).as_bytes(),
    ))
    .unwrap();
    refused_for(&s, &mail("alice@example.org", &armored), "dated in the future");
}

#[test]
fn a_key_that_merely_carries_a_members_user_id_is_a_stranger() {
    let s = Scene::new();
    let list_key = s.w.ok(&["list", "export-key", LIST]);
    // Mallory's key says "Alice <alice@example.org>", and an IDN look-alike.
    for user_id in ["Alice <alice@example.org>", "Alice <alice@xn--exmple-4nf.org>"] {
        let mallory = s.w.empty_person("mallory@example.net");
        mallory.gen_key(user_id, &[]);
        mallory.import(list_key.as_bytes());
        refused_for(&s, &encrypted_from(&s, &mallory, "alice@example.org", &client::text_entity(CANARY)), "not know");
    }
    // And the list will not take such a key for Bob either: it lacks Bob's address.
    let mallory = s.w.empty_person("mallory2@example.net");
    mallory.gen_key("Bob <bob@xn--exmple-4nf.org>", &[]);
    let out = s.w.run(&["keys", "add", LIST, "bob@example.org", "--key-file", mallory.export(false).to_str().unwrap()]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(s.w.mails().is_empty(), "no challenge goes out");
}

#[test]
fn a_signed_post_in_fresh_wrapping_is_still_a_replay() {
    let s = Scene::new();
    // The same signed entity, encrypted twice (new session keys) under new outer headers.
    let signed = client::signed_entity(&s.alice, &client::text_entity("once only"));
    let first = client::encrypted(
        &client::headers("alice@example.org", LIST, "first"),
        &s.alice.encrypt(signed.as_bytes(), &s.list_key),
    );
    assert!(s.deliver(&first).status.success());
    assert_eq!(s.posts_to(&s.bob).len(), 1);
    s.w.clear_outbox();
    let again = client::encrypted(
        &client::headers("alice@example.org", LIST, "again"),
        &s.bob.encrypt(signed.as_bytes(), &s.list_key),
    );
    assert_ne!(first, again);
    let out = s.deliver(&again);
    assert!(out.status.success());
    nothing_distributed(&s);
    assert!(s.admin_reports().iter().any(|r| r.contains("replay")), "{:?}", s.admin_reports());
}

/// `key` (binary packets) with the embedded back-signature (subpacket 32,
/// unhashed, so the binding stays valid) cut out of every subkey binding.
fn without_back_signatures(key: &[u8]) -> Vec<u8> {
    let mut out = vec![];
    let mut rest = key;
    while !rest.is_empty() {
        let ctb = rest[0];
        assert!(ctb & 0x80 != 0, "not a packet");
        let (tag, header, len) = if ctb & 0x40 != 0 {
            match rest[1] {
                l @ 0..=191 => (ctb & 0x3f, 2, l as usize),
                l @ 192..=223 => (ctb & 0x3f, 3, ((l as usize - 192) << 8) + rest[2] as usize + 192),
                255 => (ctb & 0x3f, 6, u32::from_be_bytes(rest[2..6].try_into().unwrap()) as usize),
                _ => panic!("partial lengths do not occur in keys"),
            }
        } else {
            match ctb & 3 {
                0 => ((ctb >> 2) & 0xf, 2, rest[1] as usize),
                1 => ((ctb >> 2) & 0xf, 3, u16::from_be_bytes([rest[1], rest[2]]) as usize),
                2 => ((ctb >> 2) & 0xf, 5, u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize),
                _ => panic!("indeterminate lengths do not occur in keys"),
            }
        };
        let body = &rest[header..header + len];
        rest = &rest[header + len..];
        if tag != 2 || body[0] != 4 || body[1] != 0x18 {
            out.extend_from_slice(&packet_header(tag, body.len()));
            out.extend_from_slice(body);
            continue;
        }
        // v4 signature: version, class, algorithms, hashed area, unhashed area, the rest.
        let hashed = u16::from_be_bytes([body[4], body[5]]) as usize;
        let at = 6 + hashed;
        let unhashed_len = u16::from_be_bytes([body[at], body[at + 1]]) as usize;
        let mut area = &body[at + 2..at + 2 + unhashed_len];
        let mut kept = vec![];
        while !area.is_empty() {
            let (n, skip) = match area[0] {
                l @ 0..=191 => (l as usize, 1),
                l @ 192..=254 => (((l as usize - 192) << 8) + area[1] as usize + 192, 2),
                _ => (u32::from_be_bytes(area[1..5].try_into().unwrap()) as usize, 5),
            };
            if area[skip] & 0x7f != 32 {
                kept.extend_from_slice(&area[..skip + n]);
            }
            area = &area[skip + n..];
        }
        let mut sig = body[..at].to_vec();
        sig.extend_from_slice(&(kept.len() as u16).to_be_bytes());
        sig.extend_from_slice(&kept);
        sig.extend_from_slice(&body[at + 2 + unhashed_len..]);
        out.extend_from_slice(&packet_header(2, sig.len()));
        out.extend_from_slice(&sig);
    }
    out
}

/// A new-format packet header.
fn packet_header(tag: u8, len: usize) -> Vec<u8> {
    let mut header = vec![0xc0 | tag];
    match len {
        0..=191 => header.push(len as u8),
        192..=8383 => header.extend([(((len - 192) >> 8) + 192) as u8, (len - 192) as u8]),
        _ => {
            header.push(255);
            header.extend((len as u32).to_be_bytes());
        }
    }
    header
}

#[test]
fn a_signing_subkey_without_a_back_signature_signs_nothing() {
    let s = Scene::new();
    let list_key = s.w.ok(&["list", "export-key", LIST]);
    let dave = s.w.person("dave@example.org");
    let primary = dave.fingerprint();
    dave.gpg_ok(&["--quick-add-key", &primary, "ed25519", "sign", "never"]);
    let listing = dave.gpg_ok(&["--with-colons", "--list-keys", &primary]);
    let signing_subkey = listing
        .lines()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0].starts_with("sub:") && w[0].split(':').nth(11) == Some("s"))
        .map(|w| w[1].split(':').nth(9).unwrap().to_string())
        .next()
        .expect("a signing subkey");
    // The list gets Dave's key without the subkey's back-signature.
    let stripped = without_back_signatures(&dave.gpg_pipe(&["--export", &primary], b""));
    let listed = dave.list_packets(&stripped);
    assert!(listed.contains("sigclass 0x18") && !listed.contains("subpkt 32"), "{listed}");
    let file = s.w.dir.path().join("dave-stripped.gpg");
    std::fs::write(&file, &stripped).unwrap();
    s.w.ok(&["members", "add", LIST, "dave@example.org", "--key-file", file.to_str().unwrap()]);
    let challenge = s.w.mails_to("dave@example.org").pop().unwrap();
    let token = token_in(&dave.decrypt(&challenge.armored()).plaintext);
    s.w.ok(&["keys", "verify", LIST, "dave@example.org", &token]);
    dave.import(list_key.as_bytes());
    s.w.clear_outbox();

    let with_subkey = |text: &str| {
        let signer = format!("{signing_subkey}!");
        let armored = String::from_utf8(dave.gpg_pipe(
            &["--armor", "--local-user", &signer, "--recipient", &s.list_key, "--sign", "--encrypt"],
            client::text_entity(text).as_bytes(),
        ))
        .unwrap();
        client::encrypted(&client::headers("dave@example.org", LIST, "subkey"), &armored)
    };
    let out = s.deliver(&with_subkey(CANARY));
    assert!(out.status.success(), "{}", stderr(&out));
    nothing_distributed(&s);
    no_canary_anywhere(&s, &[&out]);
    assert_last_decision(&s, "rejected: a bad signature, or several signatures");
    // Dave's primary key, which is properly bound, still signs his posts.
    s.w.clear_outbox();
    let armored = String::from_utf8(dave.gpg_pipe(
        &["--armor", "--local-user", &format!("{primary}!"), "--recipient", &s.list_key, "--sign", "--encrypt"],
        client::text_entity("signed by the primary key").as_bytes(),
    ))
    .unwrap();
    assert!(s
        .deliver(&client::encrypted(&client::headers("dave@example.org", LIST, "primary"), &armored))
        .status
        .success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "{}", s.log());

    // The control: Erin's signing subkey keeps its back-signature, and her subkey-signed post goes out.
    s.w.clear_outbox();
    let erin = s.w.empty_person("erin@example.org");
    let erin_primary = erin.gen_key("erin@example.org", &[]);
    erin.gpg_ok(&["--quick-add-key", &erin_primary, "ed25519", "sign", "never"]);
    let erin = s.w.quick_member_of(erin, &list_key);
    let erin_subkey = erin
        .gpg_ok(&["--with-colons", "--list-keys", &erin_primary])
        .lines()
        .filter(|l| l.starts_with("fpr:"))
        .nth(2)
        .unwrap()
        .split(':')
        .nth(9)
        .unwrap()
        .to_string();
    let armored = String::from_utf8(erin.gpg_pipe(
        &["--armor", "--local-user", &format!("{erin_subkey}!"), "--recipient", &s.list_key, "--sign", "--encrypt"],
        client::text_entity("signed by a cross-certified subkey").as_bytes(),
    ))
    .unwrap();
    assert!(s
        .deliver(&client::encrypted(&client::headers("erin@example.org", LIST, "subkey"), &armored))
        .status
        .success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "{}", s.log());
}
