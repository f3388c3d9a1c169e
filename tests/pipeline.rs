//! A post from a member's client through inject, verify and distribute, with
//! real gpg on both sides, and one test per way a post is refused.

mod common;
use common::*;

const SECRET: &str = "the marker phrase of a secret post";

#[test]
fn alices_post_reaches_bob_and_carol_each_encrypted_to_them_and_signed_by_the_list() {
    let s = Scene::new();
    let out = s.deliver(&client::post(&s.alice, &s.list_key, "Plans for Friday", SECRET));
    assert!(out.status.success(), "{}", stderr(&out));

    for (reader, other) in [(&s.bob, &s.carol), (&s.carol, &s.bob)] {
        let copies = s.posts_to(reader);
        assert_eq!(copies.len(), 1, "{} gets exactly one copy", reader.address);
        let copy = &copies[0];
        assert_eq!(copy.recipients(), vec![reader.address.clone()], "one recipient per copy");
        let sender = copy.envelope_sender();
        assert!(sender.starts_with("crypto-bounces+") && sender.ends_with("@example.org"), "a bounce tag: {sender}");
        assert!(!copy.text().contains(SECRET), "no cleartext on the wire");
        assert_eq!(copy.header("Subject").as_deref(), Some("..."), "the subject is protected");
        assert_eq!(copy.header("List-Id").as_deref(), Some("<crypto.example.org>"));
        assert_eq!(copy.header("X-Loop").as_deref(), Some(LIST));
        assert_eq!(copy.header("Precedence").as_deref(), Some("list"));
        assert!(copy.header("List-Post").unwrap().contains("mailto:crypto@example.org"));
        assert!(
            copy.header("List-Unsubscribe").is_some()
                && copy.header("List-Help").is_some()
                && copy.header("List-Owner").is_some()
        );
        assert!(copy.header("From").unwrap().contains("alice@example.org"));
        assert!(copy.header("Reply-To").unwrap().contains(LIST));
        assert!(other.open_post(copy).is_none(), "{} cannot read {}'s copy", other.address, reader.address);
        let opened = reader.open_post(copy).expect("the reader decrypts their copy");
        assert_eq!(opened.signer.as_deref(), Some(s.list_key.as_str()), "signed by the list key");
        assert!(opened.text.contains(SECRET));
        assert!(opened.entity.contains("Subject: Plans for Friday"), "the real subject is inside");
        assert!(opened.entity.contains("hp=\"cipher\""));
    }
    assert!(s.posts_to(&s.alice).is_empty(), "the author gets no copy by default");
    let log = s.log();
    assert!(log.contains("approved") && log.contains("distributed"));
    assert!(!log.contains(SECRET) && !log.contains("Plans for Friday"), "the log holds no content");
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 0, "the entry is gone once everyone has it");
}

/// `verify` reads the sender, the signing key's holder and the admins by
/// key, never every member: a post's work does not grow with the list. A
/// record nobody can read proves it: only distribution, which needs every
/// member, meets it.
#[test]
fn verify_reads_only_the_members_a_post_involves() {
    let s = Scene::new();
    let store = s.w.home.join("lists").join(LIST).join("store");
    {
        let db = sled::open(&store).unwrap();
        db.open_tree("members").unwrap().insert("zed@example.org", &b"not a member record"[..]).unwrap();
        db.flush().unwrap();
    }
    let out = s.w.run_with_stdin(&["inject", LIST], &client::post(&s.alice, &s.list_key, "Plans", SECRET));
    assert!(out.status.success(), "{}", stderr(&out));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(s.w.ok(&["verify", LIST]).trim(), id, "approved without reading zed's record");
    // A post From Carol signed with Bob's key: his record is found by his key's fingerprint.
    let armored = s.bob.sign_encrypt(client::text_entity(SECRET).as_bytes(), &s.list_key);
    let mail = client::encrypted(&client::headers("carol@example.org", LIST, "spoof"), &armored);
    s.w.run_with_stdin(&["inject", LIST], &mail);
    s.w.ok(&["verify", LIST]);
    assert!(s.log().contains("rejected: signed by a key of another member"), "{}", s.log());
    assert!(s.admin_reports()[0].contains("another member"), "the admins hear of it");
    let out = s.w.run(&["distribute", LIST, &id]);
    assert!(stderr(&out).contains("a record in the store cannot be read"), "{}", stderr(&out));
}

#[test]
fn the_author_gets_a_copy_when_the_list_says_so() {
    let s = Scene::new();
    s.w.ok(&["list", "set", LIST, "receive_own_posts", "true"]);
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "hi", SECRET)).status.success());
    assert_eq!(s.posts_to(&s.alice).len(), 1);
    assert!(s.alice.open_post(&s.posts_to(&s.alice)[0]).unwrap().text.contains(SECRET));
}

#[test]
fn signed_then_encrypted_and_inline_posts_are_accepted() {
    let s = Scene::new();
    assert!(s.deliver(&client::signed_then_encrypted(&s.alice, &s.list_key, "layers", "first post")).status.success());
    assert!(s.deliver(&client::inline(&s.alice, &s.list_key, "inline", "second post")).status.success());
    let texts: Vec<String> = s.posts_to(&s.bob).iter().map(|m| s.bob.open_post(m).unwrap().text).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].contains("first post") && texts[1].contains("second post"), "{texts:?}");
}

/// The post went nowhere for `reason` (the list log's last decision): no
/// member got a copy; the sender got (or not) the one fixed notice, which
/// holds nothing of the post.
fn assert_refused(s: &Scene, out: &std::process::Output, sender: &str, notice_expected: bool, reason: &str) {
    assert_refused_by(s, out, sender, None, notice_expected, reason)
}

/// As `assert_refused`, for a sender whose notice may come encrypted to them.
fn assert_refused_by(
    s: &Scene,
    out: &std::process::Output,
    sender: &str,
    reader: Option<&Person>,
    notice_expected: bool,
    reason: &str,
) {
    assert!(out.status.success(), "the MTA sees success once the mail is queued: {}", stderr(out));
    common::attack::assert_last_decision(s, reason);
    for member in [&s.alice, &s.bob, &s.carol] {
        assert!(s.posts_to(member).is_empty(), "{} received a refused post", member.address);
    }
    // Rejection notices come from the null sender; admin reports (the sender may be an admin) do not.
    let notices: Vec<Mail> = s.w.mails_to(sender).into_iter().filter(|m| m.envelope_sender() == "<>").collect();
    if notice_expected {
        assert_eq!(notices.len(), 1, "one notice to {sender}");
        let notice = &notices[0];
        assert_eq!(
            notice.args.iter().position(|a| a == "-f").map(|i| notice.args[i + 1].as_str()),
            Some("<>"),
            "null sender"
        );
        assert_eq!(notice.header("Auto-Submitted").as_deref(), Some("auto-replied"), "it answers a mail (RFC 3834)");
        let body = match reader {
            Some(person) if notice.header("Content-Type").unwrap().starts_with("multipart/encrypted") => {
                let opened = person.decrypt(&notice.armored());
                assert!(opened.ok, "the sender can read the notice");
                opened.plaintext
            }
            _ => notice.text(),
        };
        assert!(body.contains("application/pgp-keys"), "the list key is attached");
        assert!(body.contains("was not distributed"));
    } else {
        assert!(notices.is_empty(), "no notice to {sender}");
    }
    for mail in s.w.mails() {
        assert!(!mail.text().contains(SECRET), "a notice repeats the post");
    }
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 0, "a refused post does not stay queued");
}

#[test]
fn an_unencrypted_post_is_refused_when_encryption_is_required() {
    let s = Scene::new();
    let entity = client::signed_entity(&s.bob, &client::text_entity(SECRET));
    let mail = client::lf(&format!("{}{entity}", client::headers("bob@example.org", LIST, "clear")));
    assert_refused_by(&s, &s.deliver(&mail), "bob@example.org", Some(&s.bob), true, "not encrypted to the list key");
    let reports = s.admin_reports();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].contains("not encrypted"), "the admin learns why");
}

#[test]
fn an_unsigned_post_is_refused_when_signatures_are_required() {
    let s = Scene::new();
    let armored = s.bob.encrypt(client::text_entity(SECRET).as_bytes(), &s.list_key);
    let mail = client::encrypted(&client::headers("bob@example.org", LIST, "unsigned"), &armored);
    assert_refused_by(&s, &s.deliver(&mail), "bob@example.org", Some(&s.bob), true, "not signed");
    assert!(s.admin_reports()[0].contains("not signed"));
}

#[test]
fn a_post_signed_by_a_non_member_is_refused() {
    let s = Scene::new();
    let dave = s.w.person("dave@example.org");
    dave.import(s.w.ok(&["list", "export-key", LIST]).as_bytes());
    assert_refused(
        &s,
        &s.deliver(&client::post(&dave, &s.list_key, "hello", SECRET)),
        "dave@example.org",
        false,
        "rejected: the sender is not a member",
    );
}

#[test]
fn a_post_signed_by_a_pending_key_is_refused() {
    let s = Scene::new();
    let eve = s.w.person("eve@example.org");
    s.w.ok(&["members", "add", LIST, "eve@example.org", "--key-file", eve.export(false).to_str().unwrap()]);
    s.w.clear_outbox();
    eve.import(s.w.ok(&["list", "export-key", LIST]).as_bytes());
    assert_refused(
        &s,
        &s.deliver(&client::post(&eve, &s.list_key, "hi", SECRET)),
        "eve@example.org",
        true,
        "signed by a key that is not verified yet",
    );
    assert!(s.admin_reports()[0].contains("not verified"));
}

#[test]
fn a_post_signed_by_bob_claiming_to_be_from_carol_is_refused() {
    let s = Scene::new();
    let armored = s.bob.sign_encrypt(client::text_entity(SECRET).as_bytes(), &s.list_key);
    let mail = client::encrypted(&client::headers("carol@example.org", LIST, "spoof"), &armored);
    assert_refused_by(
        &s,
        &s.deliver(&mail),
        "carol@example.org",
        Some(&s.carol),
        true,
        "signed by a key of another member",
    );
    assert!(s.admin_reports()[0].contains("another member"));
}

#[test]
fn posts_signed_with_expired_or_revoked_keys_are_refused() {
    let s = Scene::new();
    // Bob's key has since expired: the list learned a newer self-signature with a past expiry.
    let past = ["--faked-system-time", "20200102T000000!"];
    let bob_expired = s.w.empty_person("bob@example.org");
    bob_expired.gen_key_expiring("bob@example.org", &["--faked-system-time", "20200101T000000!"], "2020-01-05");
    // Carol's key has been revoked.
    s.w.revoke_in_list(&s.carol);
    s.w.clear_outbox();
    assert_refused_by(
        &s,
        &s.deliver(&client::post(&s.carol, &s.list_key, "revoked", SECRET)),
        "carol@example.org",
        Some(&s.carol),
        true,
        "the signing key is revoked",
    );
    assert!(s.admin_reports()[0].contains("revoked"), "{:?}", s.admin_reports());

    // Bob replaces his key with one that expired in 2020; the list must refuse his post.
    s.w.clear_outbox();
    s.w.ok(&["keys", "remove", LIST, "bob@example.org", &s.bob.fingerprint()]);
    let file = bob_expired.home.join("pub.asc");
    std::fs::write(&file, bob_expired.gpg_ok(&["--armor", "--export"])).unwrap();
    s.w.import_into_list(&file);
    register_verified(&s, "bob@example.org", &bob_expired.fingerprint());
    bob_expired.import(s.w.ok(&["list", "export-key", LIST]).as_bytes());
    // Signed while the key was valid (in 2020), encrypted today: signed, then encrypted.
    let entity = client::text_entity(SECRET);
    let plain = bob_expired.home.join("post.txt");
    std::fs::write(&plain, &entity).unwrap();
    let me = bob_expired.fingerprint();
    let mut args: Vec<&str> = past.to_vec();
    args.extend(["--armor", "--output", "-", "--local-user", &me, "--detach-sign", plain.to_str().unwrap()]);
    let signature = bob_expired.gpg_ok(&args);
    let signed = format!(
        "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"s\"\r\n\r\n--s\r\n{entity}\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\n{signature}\r\n--s--\r\n"
    );
    let armored = bob_expired.encrypt(signed.as_bytes(), &s.list_key);
    let mail = client::encrypted(&client::headers("bob@example.org", LIST, "expired"), &armored);
    assert_refused_by(
        &s,
        &s.deliver(&mail),
        "bob@example.org",
        Some(&bob_expired),
        true,
        "the signing key was expired when it signed, or is now",
    );
    assert!(s.admin_reports()[0].contains("expired"));
}

/// Registers a key already in the list's keyring as a verified key of `member`,
/// as an admin would after checking it in person (only the store changes).
fn register_verified(s: &Scene, member: &str, fpr: &str) {
    let home = listcrypt::Home::new(&s.w.home);
    let list = listcrypt::list::List::open(&home, &listcrypt::Address::parse(LIST).unwrap()).unwrap();
    let store = list.store().unwrap();
    let mut entry = store.member(&listcrypt::Address::parse(member).unwrap()).unwrap().unwrap();
    entry.keys.push(listcrypt::member::MemberKey {
        fingerprint: listcrypt::Fingerprint::parse(fpr).unwrap(),
        state: listcrypt::member::KeyState::Verified { since: 0 },
        added: 0,
    });
    store.put_member(&entry).unwrap();
    store.flush().unwrap();
}

#[test]
fn a_signed_part_wrapped_in_an_unsigned_multipart_with_extra_text_is_refused() {
    let s = Scene::new();
    let signed = client::signed_entity(&s.bob, &client::text_entity("the signed part"));
    let wrapper = format!(
        "Content-Type: multipart/mixed; boundary=\"wrap\"\r\n\r\n--wrap\r\nContent-Type: text/plain\r\n\r\n{SECRET}\r\n--wrap\r\n{signed}\r\n--wrap--\r\n"
    );
    let armored = s.bob.encrypt(wrapper.as_bytes(), &s.list_key);
    let mail = client::encrypted(&client::headers("bob@example.org", LIST, "wrapped"), &armored);
    assert_refused_by(
        &s,
        &s.deliver(&mail),
        "bob@example.org",
        Some(&s.bob),
        true,
        "signed or encrypted parts inside an unsigned wrapper",
    );
    assert!(s.admin_reports()[0].contains("unsigned wrapper"));
}

#[test]
fn a_replayed_post_is_refused() {
    let s = Scene::new();
    let post = client::post(&s.bob, &s.list_key, "once", "only once");
    assert!(s.deliver(&post).status.success());
    assert_eq!(s.posts_to(&s.carol).len(), 1);
    s.w.clear_outbox();
    let replay = String::from_utf8(post).unwrap().replace("Message-ID: <", "Message-ID: <again");
    assert_refused_by(
        &s,
        &s.deliver(replay.as_bytes()),
        "bob@example.org",
        Some(&s.bob),
        true,
        "a replay of a post the list has already accepted",
    );
    assert!(s.admin_reports()[0].contains("replay"));
}

#[test]
fn a_post_carrying_this_lists_x_loop_is_dropped_without_notice() {
    let s = Scene::new();
    let post = String::from_utf8(client::post(&s.bob, &s.list_key, "loop", SECRET)).unwrap();
    let looped = post.replacen("To: ", &format!("X-Loop: {LIST}\nTo: "), 1);
    assert_refused(
        &s,
        &s.deliver(looped.as_bytes()),
        "bob@example.org",
        false,
        "discarded: a mail loop (this list's X-Loop or List-Id)",
    );
    assert!(s.w.mails().is_empty(), "no notice to anyone");
}

#[test]
fn a_bounce_with_a_null_sender_gets_no_notice() {
    let s = Scene::new();
    let bounce = client::lf(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@example.net>\r\nTo: {LIST}\r\nSubject: Undelivered Mail\r\nContent-Type: text/plain\r\n\r\n{SECRET}\r\n"
    ));
    let bounce =
        String::from_utf8(bounce).unwrap().replace("Return-Path: <sender@client.example.net>", "Return-Path: <>");
    assert_refused(
        &s,
        &s.deliver(bounce.as_bytes()),
        "MAILER-DAEMON@example.net",
        false,
        "discarded: a bounce or delivery report",
    );
    assert!(s.w.mails().is_empty(), "no notice to anyone");
}

#[test]
fn an_anonymous_list_hides_the_author_everywhere() {
    let s = Scene::new();
    s.w.ok(&["list", "set", LIST, "anonymous", "true"]);
    let post = client::post(&s.alice, &s.list_key, "anon", SECRET);
    let original_id = String::from_utf8_lossy(&post)
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: <").map(|r| r.trim_end_matches('>').to_string()))
        .unwrap();
    assert!(s.deliver(&post).status.success());
    for reader in [&s.bob, &s.carol] {
        let copy = &s.posts_to(reader)[0];
        let opened = reader.open_post(copy).unwrap();
        assert!(opened.text.contains(SECRET));
        for seen in [copy.text(), opened.plaintext.clone()] {
            assert!(!seen.contains("alice@example.org"), "the author's address leaked:\n{seen}");
            assert!(!seen.contains(&original_id), "the author's Message-ID leaked");
            assert!(!seen.contains("client.example.net"), "the author's host leaked");
            assert!(!seen.contains(&s.alice.fingerprint()[24..]), "the author's key leaked");
        }
        assert!(copy.header("From").unwrap().contains(LIST));
    }
    let log = s.log();
    assert!(!log.contains("alice@example.org"), "the log does not name the author of an anonymous post");
    // The author gets the copy too: the one member missing would be her.
    assert_eq!(s.posts_to(&s.alice).len(), 1, "the author is not singled out");

    // Part headers her client wrote name her: they are rebuilt, the content stays.
    s.w.clear_outbox();
    let entity = "Content-Type: multipart/mixed; boundary=\"alice-laptop-1733000000\"\r\n\r\n\
        --alice-laptop-1733000000\r\nContent-Type: text/plain; charset=utf-8\r\nContent-ID: <p1@laptop.alice.example>\r\n\
        X-Mailer: AliceMail 1.0\r\nContent-Language: de-AT\r\n\r\nwords from someone\r\n\
        --alice-laptop-1733000000\r\nContent-Type: application/octet-stream; name=\"notes.txt\"\r\n\
        Content-Disposition: attachment; filename=\"notes.txt\"; creation-date=\"Mon, 30 Nov 2026 22:14:03 +0100\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--alice-laptop-1733000000--\r\n";
    let armored = s.alice.sign_encrypt(entity.as_bytes(), &s.list_key);
    assert!(s
        .deliver(&client::encrypted(&client::headers("alice@example.org", LIST, "parts"), &armored))
        .status
        .success());
    let opened = s.bob.open_post(&s.posts_to(&s.bob)[0]).unwrap();
    for gone in ["alice", "laptop", "AliceMail", "de-AT", "22:14:03"] {
        assert!(!opened.plaintext.contains(gone), "{gone} leaked:\n{}", opened.plaintext);
    }
    assert!(opened.plaintext.contains("words from someone") && opened.plaintext.contains("aGVsbG8="));
    assert!(opened.plaintext.contains("filename=\"notes.txt\""));
}

#[test]
fn posts_wait_while_the_list_key_is_locked_and_go_out_after_unlock() {
    const PASSPHRASE: &str = "a long list passphrase";
    let w = World::new();
    let owner = w.empty_person(LIST);
    owner.gen_key(LIST, &["--passphrase", PASSPHRASE]);
    let exported = owner.gpg(&["--passphrase", PASSPHRASE, "--armor", "--export-secret-keys", &owner.fingerprint()]);
    let secret = owner.home.join("secret.asc");
    std::fs::write(&secret, &exported.stdout).unwrap();
    w.ok(&["list", "create", LIST, "--admin", "alice@example.org", "--key-file", secret.to_str().unwrap()]);
    w.use_outbox(LIST);
    let list_key = w.ok(&["list", "export-key", LIST]);
    let alice = w.verified_member("alice@example.org", &list_key, true);
    let bob = w.verified_member("bob@example.org", &list_key, false);
    let s = Scene { w, alice, bob, carol: owner, list_key: String::new(), decisions_checked: Default::default() };
    let fpr = s.carol.fingerprint();
    s.w.clear_outbox();

    let out = s.deliver(&client::post(&s.alice, &fpr, "locked", SECRET));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("locked"), "verify says why: {}", stderr(&out));
    assert!(s.posts_to(&s.bob).is_empty());
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    assert_eq!(queue[0]["stage"], "incoming", "the post stays queued");

    let out = s.w.run_with_stdin(&["list", "unlock", LIST], format!("{PASSPHRASE}\n").as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    s.w.ok(&["flush"]);
    let copies = s.posts_to(&s.bob);
    assert_eq!(copies.len(), 1);
    let opened = s.bob.open_post(&copies[0]).unwrap();
    assert!(opened.text.contains(SECRET));
    assert_eq!(opened.signer.as_deref(), Some(fpr.as_str()));
}

#[test]
fn the_queue_never_holds_cleartext() {
    let s = Scene::new();
    let post = client::post(&s.alice, &s.list_key, "marker", SECRET);
    let id = String::from_utf8(s.w.run_with_stdin(&["inject", LIST], &post).stdout).unwrap().trim().to_string();
    assert_no_marker(&s.w);
    assert_eq!(s.w.ok(&["verify", LIST, &id]).trim(), id);
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    assert_eq!(queue[0]["stage"], "outgoing");
    assert_no_marker(&s.w);
    assert_eq!(s.w.ok(&["distribute", LIST, &id]).trim(), id);
    assert_no_marker(&s.w);
}

fn assert_no_marker(w: &World) {
    w.assert_nowhere_on_disk(SECRET);
}

#[test]
fn inject_refuses_what_is_not_a_mail_and_unknown_lists() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let out = w.run_with_stdin(&["inject", LIST], b"");
    assert_eq!(code(&out), 65, "empty");
    assert!(stderr(&out).contains("the message is empty"), "{}", stderr(&out));
    let out = w.run_with_stdin(&["inject", LIST], b"just some words\n");
    assert_eq!(code(&out), 65, "not a mail");
    assert!(stderr(&out).contains("not a mail message"), "{}", stderr(&out));
    w.ok(&["list", "set", LIST, "max_message_size", "1K"]);
    let big = format!("From: a@example.org\nSubject: big\n\n{}\n", "x".repeat(2000));
    let out = w.run_with_stdin(&["inject", LIST], big.as_bytes());
    assert_eq!(code(&out), 65, "oversized: {}", stderr(&out));
    assert!(stderr(&out).contains("larger than the list's max_message_size"), "{}", stderr(&out));
    assert_eq!(code(&w.run_with_stdin(&["inject", "other@example.org"], b"From: a@example.org\n\nhi\n")), 67);
    let queue: serde_json::Value = serde_json::from_str(&w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 0, "nothing refused was queued");
}

#[test]
fn held_posts_wait_for_an_admin_who_releases_or_discards_them() {
    let s = Scene::new();
    s.w.ok(&["list", "set", LIST, "unverified_action", "hold"]);
    let unsigned = |subject: &str| {
        let armored = s.bob.encrypt(client::text_entity(SECRET).as_bytes(), &s.list_key);
        client::encrypted(&client::headers("bob@example.org", LIST, subject), &armored)
    };
    assert!(s.deliver(&unsigned("first")).status.success());
    assert!(s.deliver(&unsigned("second")).status.success());
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    let held: Vec<String> = queue.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(held.len(), 2);
    assert!(queue.as_array().unwrap().iter().all(|e| e["stage"] == "held" && e["held_reason"] == "not signed"));
    assert!(s.admin_reports().iter().any(|r| r.contains("queue release")), "the admin is told");
    assert!(s.posts_to(&s.carol).is_empty());
    assert_eq!(code(&s.w.run(&["queue", "show", LIST, &held[0]])), 64, "cleartext only to a terminal");

    s.w.ok(&["queue", "release", LIST, &held[0]]);
    s.w.ok(&["queue", "discard", LIST, &held[1]]);
    s.w.ok(&["flush", LIST]);
    let copies = s.posts_to(&s.carol);
    assert_eq!(copies.len(), 1, "the released post went out, the discarded one did not");
    let opened = s.carol.open_post(&copies[0]).unwrap();
    assert!(opened.text.contains(SECRET));
    // Never presented as Bob's signed post: it comes from the list, marked.
    assert!(!copies[0].header("From").unwrap().contains("bob@example.org"), "{:?}", copies[0].header("From"));
    let head = opened.entity.split("\r\n\r\n").next().unwrap().to_string();
    assert!(head.contains("[not authenticated]") && head.contains("Not authenticated"), "{head}");
    assert!(!head.contains("bob@example.org"), "{head}");
    assert!(s.admin_reports().iter().any(|r| r.contains("It is not authenticated")));
    assert_eq!(code(&s.w.run(&["queue", "discard", LIST, &held[1]])), 67);
}

#[test]
fn a_dead_transport_leaves_the_post_queued_and_a_rerun_sends_no_duplicates() {
    let s = Scene::new();
    let failing = s.w.dir.path().join("failing-sendmail");
    // Accepts the first copy, then fails: the MTA went away mid-distribution.
    std::fs::write(
        &failing,
        format!(
            "#!/bin/sh\nif [ -e {flag} ]; then exit 75; fi\ntouch {flag}\nexec {real} \"$@\"\n",
            flag = s.w.dir.path().join("sent-one").display(),
            real = s.w.sendmail.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.w.ok(&["list", "set", LIST, "transport", &format!("sendmail:{}", failing.display())]);
    let out = s.deliver(&client::post(&s.alice, &s.list_key, "outage", SECRET));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("deferred"), "{}", stderr(&out));
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    let entry = &queue[0];
    assert_eq!(entry["stage"], "outgoing");
    assert_eq!(entry["attempts"], 1);
    assert!(entry["last_error"].as_str().unwrap().contains("75"));
    let first = s.posts_to(&s.bob).len() + s.posts_to(&s.carol).len();
    assert_eq!(first, 1);

    s.w.ok(&["list", "set", LIST, "transport", &format!("sendmail:{}", s.w.sendmail.display())]);
    s.w.ok(&["distribute", LIST, entry["id"].as_str().unwrap()]);
    assert_eq!(s.posts_to(&s.bob).len(), 1, "bob has exactly one copy");
    assert_eq!(s.posts_to(&s.carol).len(), 1, "carol has exactly one copy");
}

#[test]
fn bounces_count_and_stop_delivery_past_the_threshold() {
    let s = Scene::new();
    s.w.ok(&["list", "set", LIST, "bounce_threshold", "2"]);
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "before", SECRET)).status.success());
    // Each copy leaves from its recipient's own tagged bounce address.
    let bobs = s.posts_to(&s.bob)[0].envelope_sender();
    let carols = s.posts_to(&s.carol)[0].envelope_sender();
    assert!(bobs.starts_with("crypto-bounces+") && bobs.ends_with("@example.org"), "{bobs}");
    assert_ne!(bobs, carols);
    let dsn = |to: &str| {
        format!("From: MAILER-DAEMON@example.org\nTo: {to}\nSubject: failure\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\n\n--r\nContent-Type: text/plain\n\nfailed\n--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\n\n--r--\n")
    };
    let bob_delivers = || {
        let members: serde_json::Value = serde_json::from_str(&s.w.ok(&["members", "ls", LIST, "--json"])).unwrap();
        members.as_array().unwrap().iter().find(|m| m["address"] == "bob@example.org").unwrap()["delivery"] == true
    };
    // The MTA says where a report was delivered (Postfix's ORIGINAL_RECIPIENT), or the report's headers do.
    let report = |to_header: &str, envelope: Option<&str>| {
        let mut cmd = s.w.cmd(&["bounce", LIST]);
        if let Some(envelope) = envelope {
            cmd.env("ORIGINAL_RECIPIENT", envelope);
        }
        let mut child = cmd.stdin(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(dsn(to_header).as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    };
    // Forged reports naming Bob, to the plain bounce address or to Carol's tag, count for nothing;
    // nor does Bob's tag in the headers when the MTA delivered the report to another address.
    for to in ["crypto-bounces@example.org", carols.as_str(), "crypto-bounces+aaaaaaaaaaaaaaaa@example.org"] {
        report(to, None);
        report(to, None);
    }
    report(&bobs, Some("crypto-bounces@example.org"));
    report(&bobs, Some("crypto-bounces@example.org"));
    assert!(bob_delivers(), "forged reports stopped nothing");
    let ignored = s.log().matches("a report naming bob@example.org without its bounce tag was ignored").count();
    assert_eq!(ignored, 8, "each forged report is logged as ignored: {}", s.log());
    // Reports that came back to Bob's own tag count: by the MTA's word, or by the headers without it.
    report("crypto-bounces@example.org", Some(&bobs));
    report(&bobs, None);
    assert!(!bob_delivers());
    s.w.clear_outbox();
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "after", SECRET)).status.success());
    assert!(s.posts_to(&s.bob).is_empty(), "no copy to a disabled member");
    assert_eq!(s.posts_to(&s.carol).len(), 1);
}

#[test]
fn stale_entries_expire_and_the_admins_are_told() {
    let s = Scene::new();
    s.w.ok(&["list", "set", LIST, "queue_expiry", "1s"]);
    let id = String::from_utf8(
        s.w.run_with_stdin(&["inject", LIST], &client::post(&s.bob, &s.list_key, "old", SECRET)).stdout,
    )
    .unwrap();
    // Two seconds later, by the clock flush reads.
    let later = (now() + 2).to_string();
    let flushed = s.w.cmd(&["flush"]).env("LISTCRYPT_NOW", &later).output().unwrap();
    assert!(flushed.status.success(), "{}", String::from_utf8_lossy(&flushed.stderr));
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 0);
    assert!(s.posts_to(&s.carol).is_empty());
    assert!(
        s.admin_reports().iter().any(|r| r.contains(id.trim()) && r.contains("expired")),
        "{:?}",
        s.admin_reports()
    );
}

#[test]
fn a_passphrase_only_message_is_refused_and_does_not_stall_the_queue() {
    let s = Scene::new();
    let symmetric = {
        use std::io::Write;
        let mut child = std::process::Command::new("gpg")
            .arg("--homedir")
            .arg(&s.bob.home)
            .args(["--batch", "--armor", "--pinentry-mode", "loopback", "--passphrase", "pw", "--symmetric"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(client::text_entity(SECRET).as_bytes()).unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
    };
    let mail = client::encrypted(&client::headers("bob@example.org", LIST, "symmetric"), &symmetric);
    let out = s.deliver(&mail);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("locked"), "not mistaken for a locked list key: {}", stderr(&out));
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "next", "the next post")).status.success());
    assert_eq!(s.posts_to(&s.carol).len(), 1, "the next post went out");
    assert!(s.admin_reports().iter().any(|r| r.contains("not decryptable")), "{:?}", s.admin_reports());
}

#[test]
fn a_compression_bomb_is_refused_without_filling_memory() {
    let s = Scene::new();
    s.w.ok(&["list", "set", LIST, "max_message_size", "1M"]);
    // 64 MB of zeros compress to a few kilobytes.
    let mut entity = client::text_entity("").into_bytes();
    entity.extend(std::iter::repeat_n(b'0', 64 << 20));
    let armored = s.bob.sign_encrypt(&entity, &s.list_key);
    assert!(armored.len() < 1 << 20, "the bomb is small: {} bytes", armored.len());
    let mail = client::encrypted(&client::headers("bob@example.org", LIST, "bomb"), &armored);
    let id = String::from_utf8(s.w.run_with_stdin(&["inject", LIST], &mail).stdout).unwrap();
    let started = std::time::Instant::now();
    let (out, peak_kb) = s.verify_measured(id.trim());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(peak_kb < 64 * 1024, "verify's memory stayed bounded: {peak_kb} KB");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(s.posts_to(&s.carol).is_empty());
    assert!(s.admin_reports().iter().any(|r| r.contains("not decryptable")), "{:?}", s.admin_reports());
}

/// A signed entity with protected headers, as Thunderbird writes it.
fn protected_entity(from: &str, to: &str, subject: &str, body: &str) -> String {
    format!(
        "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nFrom: <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
}

#[test]
fn protected_headers_addressed_to_the_list_are_used() {
    let s = Scene::new();
    let entity = protected_entity("alice@example.org", LIST, "The real subject", SECRET);
    let armored = s.alice.sign_encrypt(entity.as_bytes(), &s.list_key);
    let mail = client::encrypted(&client::headers("alice@example.org", LIST, "..."), &armored);
    assert!(s.deliver(&mail).status.success());
    let copy = s.bob.open_post(&s.posts_to(&s.bob)[0]).unwrap();
    assert!(copy.text.contains(SECRET));
    assert!(copy.entity.contains("Subject: The real subject"), "the protected subject wins over the outer one");
}

#[test]
fn a_private_signed_mail_forwarded_to_the_list_is_refused() {
    let s = Scene::new();
    // Alice wrote this to Bob alone, signed (multipart/signed) then encrypted
    // to him; Bob decrypts it and encrypts Alice's signed part to the list.
    let entity = protected_entity("alice@example.org", "bob@example.org", "just between us", SECRET);
    let signed_by_alice = client::signed_entity(&s.alice, &entity);
    let armored = s.bob.encrypt(signed_by_alice.as_bytes(), &s.list_key);
    let mail = client::encrypted(&client::headers("alice@example.org", LIST, "fwd"), &armored);
    assert_refused_by(
        &s,
        &s.deliver(&mail),
        "alice@example.org",
        Some(&s.alice),
        true,
        "the signed part is addressed to others",
    );
    assert!(s.admin_reports()[0].contains("addressed to others"), "{:?}", s.admin_reports());
}

#[test]
fn the_subject_prefix_an_admin_sets_by_mail_goes_on_each_post_once() {
    let s = Scene::new();
    assert!(to_request(&s, &command_mail(&s, &s.alice, "set subject_prefix [crypto]")).status.success());
    for (subject, shown) in [("Plans", "[crypto] Plans"), ("Re: [crypto] Plans", "Re: [crypto] Plans")] {
        s.w.clear_outbox();
        assert!(s.deliver(&client::post(&s.carol, &s.list_key, subject, SECRET)).status.success());
        let copy = s.bob.open_post(&s.posts_to(&s.bob)[0]).expect("bob opens the post");
        assert!(copy.entity.contains(&format!("Subject: {shown}\r\n")), "{}", copy.entity);
        assert_eq!(s.posts_to(&s.bob)[0].header("Subject").as_deref(), Some("..."), "the outer one stays hidden");
    }
}
