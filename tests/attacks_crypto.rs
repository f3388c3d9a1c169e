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
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_listcrypt"))
        .arg("--home")
        .arg(&s.w.home)
        .args(["verify", LIST, &id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let peak_kb: u64 = stderr(&out).lines().last().unwrap().trim().parse().unwrap();
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
    let tomorrow = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 2 * 86_400;
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
