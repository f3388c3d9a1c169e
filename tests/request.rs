//! Mail to the -request address: a member confirms a new key by replying to
//! the challenge, and verified members ask for help, the list key, their status.

mod common;
use common::*;

fn key_state(s: &Scene, member: &str) -> String {
    let keys: serde_json::Value = serde_json::from_str(&s.w.ok(&["keys", "ls", LIST, member, "--json"])).unwrap();
    keys[0]["state"].as_str().unwrap().to_string()
}

#[test]
fn a_new_member_confirms_their_key_by_replying_to_the_challenge() {
    let s = Scene::new();
    let dave = s.w.person("dave@example.org");
    s.w.ok(&["members", "add", LIST, "dave@example.org", "--key-file", dave.export(false).to_str().unwrap()]);
    dave.import(s.w.ok(&["list", "export-key", LIST]).as_bytes());
    let challenge = s.w.mails_to("dave@example.org").pop().unwrap();
    assert!(challenge.header("Reply-To").unwrap().contains("crypto-request@example.org"));
    let token = token_in(&dave.decrypt(&challenge.armored()).plaintext);
    s.w.clear_outbox();

    // Before confirming, other commands are refused politely.
    assert!(to_request(&s, &command_mail(&s, &dave, "status")).status.success());
    assert!(answers(&s, &dave)[0].contains("not verified yet"));
    assert_eq!(key_state(&s, "dave@example.org"), "pending");

    // A wrong token does nothing.
    s.w.clear_outbox();
    assert!(to_request(&s, &command_mail(&s, &dave, "verify 2222222222222222222a")).status.success());
    assert!(answers(&s, &dave)[0].contains("does not match"));
    assert_eq!(key_state(&s, "dave@example.org"), "pending");

    // The reply quoting the challenge, signed with the new key.
    s.w.clear_outbox();
    let reply = format!("Thanks, here it is.\r\n\r\nOn Thursday the list wrote:\r\n> Only the holder of that key can read this token:\r\n>\r\n> Token: {token}\r\n");
    let out = to_request(&s, &command_mail(&s, &dave, &reply));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(key_state(&s, "dave@example.org"), "verified");
    assert!(answers(&s, &dave)[0].contains("is verified"));

    // Now a verified member: status and the list key.
    s.w.clear_outbox();
    let commands = command_mail(&s, &dave, "status\r\nget-list-key\r\n");
    assert!(to_request(&s, &commands).status.success());
    let answer = &answers(&s, &dave)[0];
    assert!(answer.contains("status: dave@example.org (member), delivery on"), "{answer}");
    assert!(answer.contains("application/pgp-keys"), "the list key is attached");
    // The same command mail again is a replay: the fixed notice, no answer.
    s.w.clear_outbox();
    assert!(to_request(&s, &commands).status.success());
    assert!(answers(&s, &dave).is_empty());
    assert_eq!(s.w.mails_to("dave@example.org")[0].envelope_sender(), "<>");
    assert!(s.log().contains("(commands) rejected: a replay of a post the list has already accepted"), "{}", s.log());
}

#[test]
fn unsigned_requests_from_members_get_the_fixed_notice_and_strangers_nothing() {
    let s = Scene::new();
    let stranger = s.w.person("eve@example.org");
    stranger.import(s.w.ok(&["list", "export-key", LIST]).as_bytes());
    assert!(to_request(&s, &command_mail(&s, &stranger, "status")).status.success());
    let unsigned = {
        let armored = s.bob.encrypt(client::text_entity("status").as_bytes(), &s.list_key);
        client::encrypted(&client::headers("bob@example.org", "crypto-request@example.org", "c"), &armored)
    };
    assert!(to_request(&s, &unsigned).status.success());
    assert!(s.w.mails_to("eve@example.org").is_empty(), "a stranger gets nothing (no backscatter)");
    let to_bob = s.w.mails_to("bob@example.org");
    assert_eq!(to_bob.len(), 1, "the member gets one notice");
    assert_eq!(to_bob[0].envelope_sender(), "<>");
    let reports = s.admin_reports();
    assert!(reports.iter().any(|r| r.contains("1 mail(s) from non-members were refused")), "{reports:?}");
    assert!(reports.iter().any(|r| r.contains("from bob@example.org was rejected: not signed")), "{reports:?}");
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 0);
}

#[test]
fn members_pause_change_keys_and_leave_by_mail() {
    let s = Scene::new();
    let list_key = s.w.ok(&["list", "export-key", LIST]);
    let members =
        || -> serde_json::Value { serde_json::from_str(&s.w.ok(&["members", "ls", LIST, "--json"])).unwrap() };
    let entry = |m: &serde_json::Value, who: &str| m.as_array().unwrap().iter().find(|e| e["address"] == who).cloned();

    // pause and resume
    assert!(to_request(&s, &command_mail(&s, &s.bob, "pause")).status.success());
    assert_eq!(entry(&members(), "bob@example.org").unwrap()["delivery"], false);
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "while away", "missed")).status.success());
    assert!(s.posts_to(&s.bob).is_empty(), "no post while paused");
    assert!(to_request(&s, &command_mail(&s, &s.bob, "resume")).status.success());
    assert_eq!(entry(&members(), "bob@example.org").unwrap()["delivery"], true);

    // A new key, pasted into a mail signed with the old one, then confirmed by mail.
    let new_key = s.w.person("bob@example.org");
    new_key.import(list_key.as_bytes());
    let pasted = String::from_utf8(std::fs::read(new_key.export(false)).unwrap()).unwrap();
    s.w.clear_outbox();
    assert!(to_request(&s, &command_mail(&s, &s.bob, &format!("add-key\r\n\r\n{pasted}"))).status.success());
    let challenge =
        s.w.mails_to("bob@example.org")
            .into_iter()
            .find(|m| new_key.decrypt(&m.armored()).plaintext.contains("Token:"))
            .expect("a challenge to the new key");
    let token = token_in(&new_key.decrypt(&challenge.armored()).plaintext);
    assert!(to_request(&s, &command_mail(&s, &new_key, &format!("> Token: {token}"))).status.success());
    let keys: serde_json::Value =
        serde_json::from_str(&s.w.ok(&["keys", "ls", LIST, "bob@example.org", "--json"])).unwrap();
    assert!(keys.as_array().unwrap().iter().all(|k| k["state"] == "verified"), "{keys}");

    // The new key becomes the default, the old one goes.
    let commands = format!("set-default-key {}\r\nremove-key {}", new_key.fingerprint(), s.bob.fingerprint());
    assert!(to_request(&s, &command_mail(&s, &s.bob, &commands)).status.success());
    let keys: serde_json::Value =
        serde_json::from_str(&s.w.ok(&["keys", "ls", LIST, "bob@example.org", "--json"])).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["fingerprint"], new_key.fingerprint());
    assert_eq!(keys[0]["default"], true);
    s.w.clear_outbox();
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "new key", "for the new key")).status.success());
    let copy = &s.posts_to(&s.bob)[0];
    assert!(new_key.open_post(copy).unwrap().text.contains("for the new key"));
    assert!(s.bob.open_post(copy).is_none(), "the removed key no longer reads posts");

    // Three key changes a day by mail, no more.
    s.w.clear_outbox();
    let again = format!("set-default-key {}", new_key.fingerprint());
    assert!(to_request(&s, &command_mail(&s, &new_key, &again)).status.success());
    assert!(answers(&s, &new_key).iter().any(|a| a.contains("limited to 3 a day")), "{:?}", answers(&s, &new_key));

    // carol leaves; the admins hear of every change, in one report an hour.
    s.w.clear_outbox();
    assert!(to_request(&s, &command_mail(&s, &s.carol, "unsubscribe")).status.success());
    assert!(entry(&members(), "carol@example.org").is_none());
    let in_an_hour = now() + 3601;
    let out = s.w.cmd(&["flush"]).env("LISTCRYPT_NOW", in_an_hour.to_string()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let reports: Vec<String> =
        s.w.mails_to("alice@example.org").iter().map(|m| s.alice.decrypt(&m.armored()).plaintext).collect();
    assert_eq!(reports.len(), 1, "one report: {reports:?}");
    assert!(reports[0].contains("carol@example.org changed by mail: unsubscribe"), "{reports:?}");
    assert!(reports[0].contains("bob@example.org changed by mail: set-default-key, remove-key"), "{reports:?}");
}

#[test]
fn admins_manage_the_list_by_mail_and_members_cannot() {
    let s = Scene::new();
    let dave = s.w.person("dave@example.org");
    let pasted = String::from_utf8(std::fs::read(dave.export(false)).unwrap()).unwrap();
    s.w.clear_outbox();
    let body = format!("subscribe dave@example.org\r\nmembers\r\nset anonymous true\r\n\r\n{pasted}");
    assert!(to_request(&s, &command_mail(&s, &s.alice, &body)).status.success());
    let answer = answers(&s, &s.alice).into_iter().find(|a| a.contains("subscribe:")).expect("an answer");
    assert!(answer.contains("subscribe: dave@example.org added"), "{answer}");
    assert!(answer.contains("members:") && answer.contains("bob@example.org (member, receives posts)"), "{answer}");
    assert!(answer.contains("set: anonymous = true"));
    assert!(s.w.ok(&["list", "show", LIST]).contains("anonymous = true"));
    let to_dave = s.w.mails_to("dave@example.org");
    assert_eq!(to_dave.len(), 2, "welcome and challenge");
    assert!(dave.decrypt(&to_dave[1].armored()).plaintext.contains("Token:"));

    // A member who is not an admin cannot.
    s.w.clear_outbox();
    assert!(to_request(&s, &command_mail(&s, &s.bob, "members\r\nunsubscribe carol@example.org")).status.success());
    let answer = &answers(&s, &s.bob)[0];
    assert!(answer.contains("for list admins") && !answer.contains("members:"), "{answer}");
    assert!(s.w.ok(&["members", "ls", LIST]).contains("carol@example.org"));

    // The admin removes dave again.
    assert!(to_request(&s, &command_mail(&s, &s.alice, "unsubscribe dave@example.org")).status.success());
    assert!(!s.w.ok(&["members", "ls", LIST]).contains("dave@example.org"));
}

#[test]
fn keys_check_warns_before_expiry_and_an_extended_key_is_accepted_by_mail() {
    let s = Scene::new();
    let list_key = s.w.ok(&["list", "export-key", LIST]);
    let soon = s.w.empty_person("soon@example.org");
    soon.gen_key_expiring("soon@example.org", &[], "3d");
    let soon = s.w.quick_member_of(soon, &list_key);
    let later = s.w.empty_person("later@example.org");
    later.gen_key_expiring("later@example.org", &[], "60d");
    let later = s.w.quick_member_of(later, &list_key);
    // carol's key is revoked: she can no longer receive.
    s.w.revoke_in_list(&s.carol);
    s.w.clear_outbox();

    let report = s.w.ok(&["keys", "check", LIST]);
    assert!(report.contains("soon@example.org key") && report.contains("expires on"), "{report}");
    assert!(!report.contains("later@example.org"), "{report}");
    assert!(report.contains("carol@example.org has no usable verified key"), "{report}");
    let warning = s.w.mails_to("soon@example.org");
    assert_eq!(warning.len(), 1);
    assert!(soon.decrypt(&warning[0].armored()).plaintext.contains("stops working on"));
    assert!(s.w.mails_to("later@example.org").is_empty(), "no warning 60 days ahead");
    let reports: Vec<String> =
        s.w.mails_to("alice@example.org").iter().map(|m| s.alice.decrypt(&m.armored()).plaintext).collect();
    assert!(reports.iter().any(|r| r.contains("carol@example.org has no usable verified key")), "{reports:?}");
    s.w.clear_outbox();
    s.w.ok(&["keys", "check", LIST]);
    assert!(s.w.mails_to("soon@example.org").is_empty(), "one warning a day");

    // soon extends the key and sends it with add-key: the list takes the new expiry.
    soon.gpg_ok(&["--quick-set-expire", &soon.fingerprint(), "1y"]);
    soon.gpg_ok(&["--quick-set-expire", &soon.fingerprint(), "1y", "*"]);
    let pasted = String::from_utf8(std::fs::read(soon.export(false)).unwrap()).unwrap();
    assert!(to_request(&s, &command_mail(&s, &soon, &format!("add-key\r\n\r\n{pasted}"))).status.success());
    assert!(answers(&s, &soon).iter().any(|a| a.contains("updated")), "{:?}", answers(&s, &soon));
    let report = s.w.ok(&["keys", "check", LIST]);
    assert!(!report.contains("soon@example.org"), "{report}");
    drop(later);
}

#[test]
fn a_full_member_lifecycle_by_mail_alone() {
    let s = Scene::new();
    let keys_of = |who: &str| -> serde_json::Value {
        serde_json::from_str(&s.w.ok(&["keys", "ls", LIST, who, "--json"])).unwrap()
    };
    let dave = s.w.person("dave@example.org");
    let dave_key = String::from_utf8(std::fs::read(dave.export(false)).unwrap()).unwrap();

    // 1. An admin subscribes dave by mail; the welcome and the challenge arrive.
    s.w.clear_outbox();
    assert!(to_request(&s, &command_mail(&s, &s.alice, &format!("subscribe dave@example.org\r\n\r\n{dave_key}")))
        .status
        .success());
    let to_dave = s.w.mails_to("dave@example.org");
    assert_eq!(to_dave.len(), 2);
    assert!(to_dave[0].text().contains("application/pgp-keys"), "the welcome carries the list key");
    assert!(to_dave[0]
        .header("Autocrypt")
        .unwrap()
        .starts_with("addr=crypto@example.org; prefer-encrypt=mutual; keydata="));
    dave.import(s.w.ok(&["list", "export-key", LIST]).as_bytes());
    let token = token_in(&dave.decrypt(&to_dave[1].armored()).plaintext);

    // 2. dave answers the challenge by mail.
    assert!(to_request(&s, &command_mail(&s, &dave, &format!("> Token: {token}"))).status.success());
    assert_eq!(keys_of("dave@example.org")[0]["state"], "verified");

    // 3. dave posts, with his own public key attached: it is not passed on.
    s.w.clear_outbox();
    let entity = format!(
        "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello from dave\r\n--x\r\nContent-Type: application/pgp-keys; name=\"dave.asc\"\r\nContent-Disposition: attachment; filename=\"dave.asc\"\r\n\r\n{dave_key}\r\n--x--\r\n"
    );
    let armored = dave.sign_encrypt(entity.as_bytes(), &s.list_key);
    assert!(s.deliver(&client::encrypted(&client::headers("dave@example.org", LIST, "hi"), &armored)).status.success());
    let copy = &s.posts_to(&s.bob)[0];
    assert!(
        copy.header("Autocrypt").unwrap().starts_with("addr=crypto@example.org;"),
        "posts carry the list's Autocrypt header"
    );
    let opened = s.bob.open_post(copy).unwrap();
    assert!(opened.plaintext.contains("hello from dave"));
    assert!(
        !opened.plaintext.contains("PGP PUBLIC KEY BLOCK") && !opened.plaintext.contains("pgp-keys"),
        "the attached key was stripped"
    );

    // 4. A second key, signed for with the first, then confirmed; the first goes.
    let dave2 = s.w.person("dave@example.org");
    dave2.import(s.w.ok(&["list", "export-key", LIST]).as_bytes());
    let dave2_key = String::from_utf8(std::fs::read(dave2.export(false)).unwrap()).unwrap();
    s.w.clear_outbox();
    assert!(to_request(&s, &command_mail(&s, &dave, &format!("add-key\r\n\r\n{dave2_key}"))).status.success());
    let challenge =
        s.w.mails_to("dave@example.org")
            .into_iter()
            .find(|m| dave2.decrypt(&m.armored()).plaintext.contains("Token:"))
            .unwrap();
    let token = token_in(&dave2.decrypt(&challenge.armored()).plaintext);
    assert!(to_request(
        &s,
        &command_mail(&s, &dave2, &format!("verify {token}\r\nset-default-key {}", dave2.fingerprint()))
    )
    .status
    .success());
    assert!(to_request(&s, &command_mail(&s, &dave2, &format!("remove-key {}", dave.fingerprint()))).status.success());
    let keys = keys_of("dave@example.org");
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["fingerprint"], dave2.fingerprint());

    // 5. pause and resume.
    assert!(to_request(&s, &command_mail(&s, &dave2, "pause")).status.success());
    s.w.clear_outbox();
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "one", "while paused")).status.success());
    assert!(s.posts_to(&dave2).is_empty());
    assert!(to_request(&s, &command_mail(&s, &dave2, "resume")).status.success());
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "two", "after resume")).status.success());
    let copies = s.posts_to(&dave2);
    assert_eq!(copies.len(), 1);
    assert!(dave2.open_post(&copies[0]).unwrap().text.contains("after resume"));

    // 6. dave leaves.
    assert!(to_request(&s, &command_mail(&s, &dave2, "unsubscribe")).status.success());
    assert!(!s.w.ok(&["members", "ls", LIST]).contains("dave@example.org"));
}

#[test]
fn unconfirmed_keys_expire_and_unencrypted_commands_get_the_fixed_notice() {
    let s = Scene::new();
    s.w.ok(&["list", "set", LIST, "challenge_expiry", "1s"]);
    let dave = s.w.person("dave@example.org");
    s.w.ok(&["members", "add", LIST, "dave@example.org", "--key-file", dave.export(false).to_str().unwrap()]);
    // Two seconds later, by the clock `keys check` reads.
    let later = (now() + 2).to_string();
    let checked = s.w.cmd(&["keys", "check", LIST]).env("LISTCRYPT_NOW", &later).output().unwrap();
    let report = String::from_utf8_lossy(&checked.stdout).to_string();
    assert!(report.contains("was never confirmed"), "{report}");
    let keys: serde_json::Value =
        serde_json::from_str(&s.w.ok(&["keys", "ls", LIST, "dave@example.org", "--json"])).unwrap();
    assert!(keys.as_array().unwrap().is_empty(), "the unconfirmed key is gone");

    // A signed but unencrypted command mail: the fixed notice, no answer.
    s.w.clear_outbox();
    let signed = client::signed_entity(&s.bob, &client::text_entity("list-keys"));
    let mail =
        client::lf(&format!("{}{signed}", client::headers("bob@example.org", "crypto-request@example.org", "c")));
    assert!(to_request(&s, &mail).status.success());
    let mails = s.w.mails_to("bob@example.org");
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].envelope_sender(), "<>");
    assert!(s.log().contains("(commands) rejected: not encrypted to the list key"), "{}", s.log());
    // The same command, encrypted: an answer.
    s.w.clear_outbox();
    assert!(to_request(&s, &command_mail(&s, &s.bob, "list-keys")).status.success());
    assert!(answers(&s, &s.bob)[0].contains(&format!("{} verified", s.bob.fingerprint())));
}

#[test]
fn the_expiry_warning_fires_on_the_right_day() {
    let s = Scene::new();
    let list_key = s.w.ok(&["list", "export-key", LIST]);
    let member = s.w.empty_person("twenty@example.org");
    member.gen_key_expiring("twenty@example.org", &[], "20d");
    let member = s.w.quick_member_of(member, &list_key);
    let now = now();
    let check_on = |days: u64| {
        let out =
            s.w.cmd(&["keys", "check", LIST]).env("LISTCRYPT_NOW", (now + days * 86_400).to_string()).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    // The key stops working in 20 days; the list warns 14 days before.
    s.w.clear_outbox();
    assert!(!check_on(5).contains("twenty@example.org"), "15 days left: no warning yet");
    assert!(s.w.mails_to("twenty@example.org").is_empty());
    assert!(check_on(7).contains("twenty@example.org"), "13 days left: warned");
    let warning = s.w.mails_to("twenty@example.org");
    assert_eq!(warning.len(), 1);
    assert!(member.decrypt(&warning[0].armored()).plaintext.contains("stops working on"));
}
