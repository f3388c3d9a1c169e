//! Trust boundaries: what a stolen admin key, a member replaying private
//! mail, forged strangers and mails built to keep gpg busy can make the list
//! do. Each case runs the real binary with real gpg; see docs/SECURITY.md.

mod common;
use common::attack::*;
use common::*;
use std::time::Instant;

fn setting(s: &Scene, name: &str) -> String {
    let shown: serde_json::Value = serde_json::from_str(&s.w.ok(&["list", "show", LIST, "--json"])).unwrap();
    let found = shown["settings"].as_array().unwrap().iter().find(|x| x["name"] == name).cloned().unwrap();
    found["value"].as_str().unwrap().to_string()
}

fn store_stats(s: &Scene) -> serde_json::Value {
    let shown: serde_json::Value = serde_json::from_str(&s.w.ok(&["list", "show", LIST, "--json"])).unwrap();
    shown["store"].clone()
}

/// `flush` as cron runs it, with listcrypt's clock set to `at`.
fn flush_at(s: &Scene, at: u64) {
    let out = s.w.cmd(&["flush"]).env("LISTCRYPT_NOW", at.to_string()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_stolen_admin_key_changes_only_list_admin_settings_by_mail() {
    let s = Scene::new();
    let transport = setting(&s, "transport");
    let body = "set transport sendmail:/bin/sh\r\nset require_signature false\r\nset max_message_size 1G\r\n\
                set unverified_action HOLD\r\nset anonymous true";
    assert!(to_request(&s, &command_mail(&s, &s.alice, body)).status.success());
    let answer = answers(&s, &s.alice).into_iter().find(|a| a.contains("set:")).expect("an answer");
    for name in ["transport", "require_signature", "max_message_size"] {
        assert!(answer.contains(&format!("set: {name} is set on the server")), "{answer}");
    }
    assert_eq!(setting(&s, "transport"), transport, "the host's transport is untouched");
    assert_eq!(setting(&s, "require_signature"), "true");
    assert_eq!(setting(&s, "max_message_size"), "10M");
    // List-admin settings still change by mail, whatever the case of the value.
    assert!(answer.contains("set: unverified_action = hold") && answer.contains("set: anonymous = true"), "{answer}");
    assert_eq!(setting(&s, "unverified_action"), "hold");
    assert_eq!(setting(&s, "anonymous"), "true");
    // The admins hear of what changed, and only that.
    let reports: Vec<String> =
        s.w.mails_to("alice@example.org").iter().map(|m| s.alice.decrypt(&m.armored()).plaintext).collect();
    assert!(reports.iter().any(|r| r.contains("anonymous set to true by alice@example.org")), "{reports:?}");
    assert!(!reports.iter().any(|r| r.contains("transport set to")), "{reports:?}");
    // On the host, the CLI changes every setting.
    assert_eq!(s.w.ok(&["list", "set", LIST, "max_message_size", "20M"]), "max_message_size = 20M\n");
}

/// Alice's mail to Bob alone, signed with protected headers (To: `to`), as
/// Bob received it; Bob re-encrypts it to the list and sends it to -request.
fn alices_signed_mail_resent_by_bob(s: &Scene, to: &str, body: &str) -> Vec<u8> {
    let entity = format!("From: Alice <alice@example.org>\r\nTo: {to}\r\nSubject: hi\r\n{}", client::text_entity(body));
    let signed = client::signed_entity(&s.alice, &entity);
    let armored = s.bob.encrypt(signed.as_bytes(), &s.list_key);
    client::encrypted(&client::headers("alice@example.org", "crypto-request@example.org", "hi"), &armored)
}

fn delivery_of(s: &Scene, who: &str) -> bool {
    let members: serde_json::Value = serde_json::from_str(&s.w.ok(&["members", "ls", LIST, "--json"])).unwrap();
    members.as_array().unwrap().iter().find(|m| m["address"] == who).unwrap()["delivery"].as_bool().unwrap()
}

#[test]
fn a_members_private_signed_mail_replayed_at_request_runs_no_commands() {
    let s = Scene::new();
    s.w.clear_outbox();
    let replayed = alices_signed_mail_resent_by_bob(&s, "bob@example.org", "pause");
    assert!(to_request(&s, &replayed).status.success());
    assert!(delivery_of(&s, "alice@example.org"), "alice's delivery is untouched");
    assert!(!answers(&s, &s.alice).iter().any(|a| a.contains("pause:")), "no answer: nothing ran");
    assert!(s.log().contains("(commands) rejected: the signed part is addressed to others"), "{}", s.log());
    // A post held back in transit and sent to -request instead runs nothing either.
    let post = alices_signed_mail_resent_by_bob(&s, LIST, "pause");
    assert!(to_request(&s, &post).status.success());
    assert!(delivery_of(&s, "alice@example.org"));
    let refused = s.log().matches("(commands) rejected: the signed part is addressed to others").count();
    assert_eq!(refused, 2, "{}", s.log());
    // The honest control: the same mail, addressed to -request, pauses her.
    let honest = alices_signed_mail_resent_by_bob(&s, "crypto-request@example.org", "pause");
    assert!(to_request(&s, &honest).status.success());
    assert!(!delivery_of(&s, "alice@example.org"), "an honest command mail works through the same path");
}

#[test]
fn command_mail_signed_in_the_future_or_with_sha1_runs_no_commands() {
    let s = Scene::new();
    let sign = |extra: &[&str]| {
        let mut args = vec!["--armor", "--local-user", "alice@example.org", "-r", &s.list_key, "--sign", "--encrypt"];
        args.extend_from_slice(extra);
        let armored = String::from_utf8(s.alice.gpg_pipe(&args, client::text_entity("pause").as_bytes())).unwrap();
        client::encrypted(&client::headers("alice@example.org", "crypto-request@example.org", "c"), &armored)
    };
    let tomorrow = format!("{}!", now() + 2 * 86_400);
    assert!(to_request(&s, &sign(&["--faked-system-time", &tomorrow])).status.success());
    assert!(to_request(&s, &sign(&["--digest-algo", "SHA1"])).status.success());
    assert!(delivery_of(&s, "alice@example.org"));
    let log = s.log();
    assert!(log.contains("rejected: the signature is dated in the future"), "{log}");
    assert!(log.contains("rejected: signed with a weak hash"), "{log}");
    assert!(to_request(&s, &sign(&["--digest-algo", "SHA256"])).status.success());
    assert!(!delivery_of(&s, "alice@example.org"), "the control with SHA-256 runs");
}

#[test]
fn strangers_get_nothing_and_the_admins_one_count_an_hour() {
    let s = Scene::new();
    let forged: Vec<String> = (0..5).map(|n| format!("victim{n}@innocent.example.net")).collect();
    for from in &forged {
        let mail = client::lf(&format!("{}{}", client::headers(from, LIST, "offer"), client::text_entity("buy")));
        assert!(s.deliver(&mail).status.success());
    }
    // A stranger who signs and encrypts is still a stranger.
    let dave = s.w.person("dave@example.org");
    dave.import(s.w.ok(&["list", "export-key", LIST]).as_bytes());
    assert!(s.deliver(&client::post(&dave, &s.list_key, "hello", CANARY)).status.success());
    for from in forged.iter().chain(["dave@example.org".to_string()].iter()) {
        assert!(s.w.mails_to(from).is_empty(), "{from} was mailed (backscatter)");
    }
    nothing_distributed(&s);
    let reports = s.admin_reports();
    assert_eq!(reports.len(), 1, "one digest, not one report per sender: {reports:?}");
    assert!(reports[0].contains("1 mail(s) from non-members were refused"), "{reports:?}");
    // An hour later, flush sends the rest as one count.
    s.w.clear_outbox();
    flush_at(&s, now() + 3601);
    let reports = s.admin_reports();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("5 mail(s) from non-members") && reports[0].contains("not a member"), "{reports:?}");
    flush_at(&s, now() + 3602);
    assert_eq!(s.admin_reports().len(), 1, "nothing new, no digest");
    // A member whose post fails still gets the fixed notice.
    let unsigned =
        client::lf(&format!("{}{}", client::headers("bob@example.org", LIST, "x"), client::text_entity("x")));
    assert!(s.deliver(&unsigned).status.success());
    assert_eq!(s.w.mails_to("bob@example.org").iter().filter(|m| m.envelope_sender() == "<>").count(), 1);
    assert!(s.log().contains("from bob@example.org rejected: not encrypted to the list key"), "{}", s.log());
}

/// A binary OpenPGP message from `person`: signed, encrypted to the list key
/// with the key ID hidden (wildcard).
fn hidden_recipient_message(s: &Scene, person: &Person, body: &str) -> Vec<u8> {
    let fpr = person.fingerprint();
    let args = ["--throw-keyids", "--local-user", &fpr, "-r", &s.list_key, "--sign", "--encrypt"];
    person.gpg_pipe(&args, client::text_entity(body).as_bytes())
}

/// Times gpg itself on `armored` in the list's own GnuPG home: what the
/// list would have spent before the packets were counted.
fn gpg_decrypt_time(s: &Scene, armored: &str) -> f64 {
    let list_gpg = Person { address: LIST.into(), home: s.w.list_gnupg(LIST) };
    let started = Instant::now();
    list_gpg.gpg_try(&["--decrypt"], armored.as_bytes());
    started.elapsed().as_secs_f64()
}

#[test]
fn thousands_of_session_key_packets_never_reach_gpg() {
    let s = Scene::new();
    let message = hidden_recipient_message(&s, &s.alice, CANARY);
    let real = listcrypt::openpgp::next_packet(&message).unwrap().bytes.to_vec();
    // Wildcard packets whose wrapped key is broken: gpg tries the list key on each.
    let mut bogus = real.clone();
    *bogus.last_mut().unwrap() ^= 0x55;
    let mut flood = bogus.repeat(2000);
    flood.extend_from_slice(&message);
    let armored = s.alice.armor_message(&flood);
    let gpg_seconds = gpg_decrypt_time(&s, &armored);
    let started = Instant::now();
    let mail = client::encrypted(&client::headers("alice@example.org", LIST, "flood"), &armored);
    refused_for(&s, &mail, "more session key packets or signatures than a post may have");
    let listcrypt_seconds = started.elapsed().as_secs_f64();
    eprintln!("2,000 wildcard session key packets: gpg alone {gpg_seconds:.2} s; listcrypt refuses in {listcrypt_seconds:.2} s");
    assert!(listcrypt_seconds < 3.0, "{listcrypt_seconds} s");
    // Hidden behind a marker packet (gpg skips it), or behind armor gpg reads
    // past and a strict reader does not: refused all the same.
    let mut marked = b"\xCA\x03PGP".to_vec();
    marked.extend_from_slice(&flood);
    let mail =
        client::encrypted(&client::headers("alice@example.org", LIST, "marked"), &s.alice.armor_message(&marked));
    refused_for(&s, &mail, "more session key packets or signatures than a post may have");
    let mut stray = armored.clone().into_bytes();
    let body = stray.windows(2).position(|w| w == b"\n\n").unwrap() + 5;
    stray.insert(body, 0xE9);
    let mail =
        client::encrypted(&client::headers("alice@example.org", LIST, "stray"), &String::from_utf8_lossy(&stray));
    refused_for(&s, &mail, "OpenPGP framing that cannot be read for certain");
    // The control: the same message with its one packet goes through.
    let honest =
        client::encrypted(&client::headers("alice@example.org", LIST, "one"), &s.alice.armor_message(&message));
    assert!(s.deliver(&honest).status.success());
    assert_eq!(s.posts_to(&s.bob).len(), 1);
}

/// A multipart/signed entity whose signature block holds `copies` of
/// Alice's signature packet (made with `digest`), encrypted to the list.
fn signed_with(s: &Scene, body: &str, digest: &str, copies: usize) -> Vec<u8> {
    let entity = client::text_entity(body);
    let fpr = s.alice.fingerprint();
    let packet = s.alice.gpg_pipe(&["--detach-sign", "--digest-algo", digest, "--local-user", &fpr], entity.as_bytes());
    let signature = s.alice.armor_message(&packet.repeat(copies)).replace("PGP MESSAGE", "PGP SIGNATURE");
    let signed = format!(
        "Content-Type: multipart/signed; micalg=pgp-{}; protocol=\"application/pgp-signature\"; boundary=\"b\"\r\n\r\n\
         --b\r\n{entity}\r\n--b\r\nContent-Type: application/pgp-signature\r\n\r\n{signature}\r\n--b--\r\n",
        digest.to_ascii_lowercase()
    );
    let armored = s.alice.encrypt(signed.as_bytes(), &s.list_key);
    client::encrypted(&client::headers("alice@example.org", LIST, "signed"), &armored)
}

#[test]
fn a_signature_block_of_a_thousand_signatures_never_reaches_gpg() {
    let s = Scene::new();
    let started = Instant::now();
    refused_for(&s, &signed_with(&s, CANARY, "SHA256", 1000), "more session key packets or signatures");
    assert!(started.elapsed().as_secs_f64() < 3.0);
    assert!(s.deliver(&signed_with(&s, "one signature", "SHA256", 1)).status.success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "the control with one signature is distributed");
}

#[test]
fn sha1_signatures_and_weak_keys_are_refused() {
    let s = Scene::new();
    refused_for(&s, &signed_with(&s, CANARY, "SHA1", 1), "signed with a weak hash");
    assert!(s.deliver(&signed_with(&s, "sha-256", "SHA256", 1)).status.success());
    assert_eq!(s.posts_to(&s.bob).len(), 1, "the control with SHA-256 is distributed");

    let eve = s.w.empty_person("eve@example.org");
    let made = eve.gpg(&["--quick-gen-key", "eve@example.org", "rsa1024", "default", "never"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let out = s.w.run(&["members", "add", LIST, "eve@example.org", "--key-file", eve.export(false).to_str().unwrap()]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(stderr(&out).contains("RSA 1024 bits, too weak"), "{}", stderr(&out));
    assert!(!s.w.ok(&["members", "ls", LIST]).contains("eve@example.org"));
}

#[test]
fn local_faults_never_bounce_mail() {
    let s = Scene::new();
    // A list address that would nest a folder.
    let out = s.w.run(&["list", "create", "a/b@example.org", "--admin", "alice@example.org", "--generate"]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot be a list address"));
    assert!(!s.w.home.join("lists").join("a").exists());
    // Faults of the mail bounce; faults of the host make the MTA wait.
    assert_eq!(code(&s.w.run_with_stdin(&["inject", "nosuch@example.org"], b"Subject: x\n\nx\n")), 67);
    let out = s.w.run_with_stdin(&["inject", LIST], b"\n\n");
    assert_eq!(code(&out), 65);
    assert!(stderr(&out).contains("the message is empty"), "{}", stderr(&out));
    let gnupg = s.w.list_gnupg(LIST);
    let aside = gnupg.with_extension("aside");
    std::fs::rename(&gnupg, &aside).unwrap();
    let out = s.w.run_with_stdin(&["inject", LIST], &client::post(&s.alice, &s.list_key, "x", "x"));
    std::fs::rename(&aside, &gnupg).unwrap();
    assert_eq!(code(&out), 75, "a broken list home is the host's fault: {}", stderr(&out));
    let not_a_folder = s.w.dir.path().join("home-file");
    std::fs::write(&not_a_folder, "").unwrap();
    let out = s.w.cmd_in(&not_a_folder, &["inject", LIST]).stdin(std::process::Stdio::null()).output().unwrap();
    assert_eq!(code(&out), 75, "an unreadable home is not 'no such list': {}", stderr(&out));
}

/// A sendmail in front of the world's stand-in: refuses `refused` for good
/// (exit 67, as for an unknown user), and hangs while `hang` exists, with a
/// helper in a session of its own still holding its output open.
fn moody_sendmail(s: &Scene, refused: &str) -> std::path::PathBuf {
    let path = s.w.dir.path().join("moody-sendmail");
    let hang = s.w.dir.path().join("hang");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n[ -e {hang} ] && {{ setsid sleep 20 & sleep 600; }}\nfor a in \"$@\"; do [ \"$a\" = {refused} ] && {{ echo '550 5.1.1 unknown user' >&2; exit 67; }}; done\nexec {real} \"$@\"\n",
            hang = hang.display(),
            real = s.w.sendmail.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.w.ok(&["list", "set", LIST, "transport", &format!("sendmail:{}", path.display())]);
    hang
}

#[test]
fn a_relay_refusing_an_address_is_not_a_key_problem() {
    let s = Scene::new();
    moody_sendmail(&s, "bob@example.org");
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "hi", "to all")).status.success());
    assert_eq!(s.posts_to(&s.carol).len(), 1);
    assert!(s.w.mails_to("bob@example.org").is_empty(), "no missed-post notice to the refused address");
    let reports = s.admin_reports();
    assert!(
        reports.iter().any(|r| r.contains("relay refused the address for good") && r.contains("key is fine")),
        "{reports:?}"
    );
}

#[test]
fn a_hung_transport_is_cut_and_the_copy_retried() {
    let s = Scene::new();
    let hang = moody_sendmail(&s, "nobody@example.org");
    std::fs::write(&hang, "").unwrap();
    let out = s.w.run_with_stdin(&["inject", LIST], &client::post(&s.alice, &s.list_key, "hi", "after the hang"));
    assert!(out.status.success());
    s.w.ok(&["verify", LIST]);
    let started = Instant::now();
    let out = s.w.cmd(&["distribute", LIST]).env("LISTCRYPT_TRANSPORT_TIMEOUT", "1").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started.elapsed().as_secs_f64() < 10.0, "cut after the timeout");
    assert!(s.log().contains("did not finish within 1 s"), "{}", s.log());
    assert!(s.posts_to(&s.bob).is_empty() && s.posts_to(&s.carol).is_empty());
    std::fs::remove_file(&hang).unwrap();
    flush_at(&s, now() + 3600);
    assert_eq!(s.posts_to(&s.bob).len(), 1, "retried, once");
    assert_eq!(s.posts_to(&s.carol).len(), 1);
}

#[test]
fn flush_forgets_replay_digests_once_they_cannot_matter() {
    let s = Scene::new();
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "hi", "one post")).status.success());
    assert_eq!(store_stats(&s)["seen_signatures"], 1);
    flush_at(&s, now() + 3 * 86_400);
    assert_eq!(store_stats(&s)["seen_signatures"], 1, "still within max_signature_age");
    flush_at(&s, now() + 8 * 86_400);
    assert_eq!(store_stats(&s)["seen_signatures"], 0, "older than max_signature_age and the allowance");
    assert_eq!(store_stats(&s)["notice_records"], 0);
}

#[test]
fn forged_mail_held_in_a_members_name_reaches_the_admins_once_an_hour() {
    let s = Scene::new();
    s.w.ok(&["list", "set", LIST, "unverified_action", "hold"]);
    for n in 0..3 {
        let forged = client::lf(&format!(
            "{}{}",
            client::headers("bob@example.org", LIST, "x"),
            client::text_entity(&format!("forged {n}"))
        ));
        assert!(s.deliver(&forged).status.success());
    }
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 3, "each is held");
    assert_eq!(s.log().matches("held: not encrypted to the list key").count(), 3, "{}", s.log());
    let reports = s.admin_reports();
    assert_eq!(reports.len(), 1, "one report, not one per forged mail: {reports:?}");
    assert!(reports[0].contains("held"));
}

#[test]
fn a_flood_of_refused_large_mail_gives_its_disk_space_back() {
    let s = Scene::new();
    let store = s.w.home.join("lists").join(LIST).join("store");
    let start = listcrypt::store::folder_size(&store);
    // Junk that does not compress (gpg compresses what it encrypts). Mails
    // of 64 KiB keep the test quick: every open of a flooded store costs more
    // (sled replays its log), which is why the flood must not stay.
    const JUNK: usize = 64 << 10;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut junk = || -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut text = String::with_capacity(JUNK);
        for i in 0..JUNK {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push(if i % 64 == 63 { '\n' } else { char::from(ALPHABET[(state % 64) as usize]) });
        }
        text
    };
    for n in 0..200 {
        let mail = client::lf(&format!(
            "{}{}",
            client::headers(&format!("spam{n}@junk.example"), LIST, "junk"),
            client::text_entity(&junk())
        ));
        assert!(s.w.run_with_stdin(&["inject", LIST], &mail).status.success());
    }
    s.w.ok(&["verify", LIST]);
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    assert!(queue.as_array().unwrap().is_empty(), "all refused");
    assert_eq!(s.log().matches("rejected: the sender is not a member").count(), 200, "every one for being a stranger");
    let flooded = listcrypt::store::folder_size(&store);
    s.w.ok(&["flush", LIST]);
    let after = listcrypt::store::folder_size(&store);
    eprintln!("store: {start} bytes at the start, {flooded} after 200 refused mails of 64 KiB, {after} after flush");
    assert!(flooded > start + (12 << 20), "the flood filled the store: {flooded}");
    assert!(after < start + (4 << 20), "within 4 MiB of where it started: {after} vs {start}");
    assert!(s.log().contains("store compacted"), "{}", s.log());
    // The list still works, with everything it knew.
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "after", "after the flood")).status.success());
    assert_eq!(s.posts_to(&s.bob).len(), 1);
}
