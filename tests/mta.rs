//! Wiring into the MTA: the maps listcrypt keeps, `receive` for a pipe
//! transport serving a whole lists domain, and mail to `LIST-owner`.

mod common;
use common::*;
use std::fs;

const TEXT: &str = "a post through the lists domain transport";

fn maps(w: &World) -> (String, String) {
    (
        fs::read_to_string(w.home.join("aliases")).unwrap_or_default(),
        fs::read_to_string(w.home.join("recipients")).unwrap_or_default(),
    )
}

#[test]
fn list_create_and_delete_keep_the_alias_and_recipient_maps() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let home = fs::canonicalize(&w.home).unwrap().display().to_string();
    let bin = env!("CARGO_BIN_EXE_listcrypt");
    let run = |args: &str| format!("{bin} --home {home} {args}");
    let (aliases, recipients) = maps(&w);
    let chain = |inject: &str| {
        format!(
            "\"|{} && {} && {}\"",
            run(&format!("inject {inject}")),
            run("verify crypto@example.org"),
            run("distribute crypto@example.org")
        )
    };
    for line in [
        format!("crypto: {}", chain("crypto@example.org")),
        format!("crypto-request: {}", chain("--request crypto@example.org")),
        format!("crypto-bounces: \"|{}\"", run("bounce crypto@example.org")),
        format!("crypto-owner: \"|{}\"", run("owner crypto@example.org")),
    ] {
        assert!(aliases.lines().any(|l| l == line), "missing {line}\nin\n{aliases}");
    }
    for address in ["crypto", "crypto-request", "crypto-bounces", "crypto-owner"] {
        assert!(recipients.contains(&format!("\n{address}@example.org OK\n")), "{recipients}");
    }

    // Aliases are local parts: a second list with the same one is left out, and said so.
    let out = w.run(&["list", "create", "crypto@other.org", "--admin", "alice@example.org", "--generate"]);
    assert!(out.status.success() && stderr(&out).contains("left out"), "{}", stderr(&out));
    let (aliases, recipients) = maps(&w);
    assert!(aliases.contains("# crypto@other.org: left out, another list has the alias crypto already"), "{aliases}");
    assert!(recipients.contains("crypto-owner@other.org OK"), "every address is in the recipient map");

    // An address whose characters a shell would run never reaches a command line.
    let out =
        w.run(&["list", "create", "x`touch${IFS}pwned`@example.org", "--admin", "alice@example.org", "--generate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (aliases, recipients) = maps(&w);
    assert!(aliases.lines().all(|l| l.starts_with('#') || !l.contains("touch")), "{aliases}");
    assert!(
        recipients.contains("x`touch${ifs}pwned`@example.org OK"),
        "recipe 2 passes it as one argument: {recipients}"
    );

    w.ok(&["list", "delete", LIST, "--yes"]);
    let (aliases, recipients) = maps(&w);
    assert!(!aliases.contains("crypto@example.org") && !recipients.contains("crypto-owner@example.org"), "{aliases}");
    assert!(aliases.contains("inject crypto@other.org && "), "the other list takes the local part: {aliases}");
}

#[test]
fn receive_routes_every_address_of_a_list_with_the_chains_exit_codes() {
    let s = Scene::new();
    let receive = |recipient: &str, mail: &[u8]| s.w.run_with_stdin(&["receive", recipient], mail);

    // LIST: inject, verify and distribute, as the alias chain does.
    let out = receive(LIST, &client::post(&s.alice, &s.list_key, "via receive", TEXT));
    assert!(out.status.success(), "{}", stderr(&out));
    let copy = s.bob.open_post(&s.posts_to(&s.bob)[0]).expect("bob opens his copy");
    assert!(copy.text.contains(TEXT));
    assert_eq!(copy.signer.as_deref(), Some(s.list_key.as_str()));

    // LIST-request, with an extension: commands.
    s.w.clear_outbox();
    let out = receive("crypto-request+x@example.org", &command_mail(&s, &s.bob, "status"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(answers(&s, &s.bob).iter().any(|a| a.contains("bob@example.org")), "status answered");

    // LIST-bounces+TAG: the tag is in the recipient, and counts against its member only.
    s.w.ok(&["list", "set", LIST, "bounce_threshold", "1"]);
    s.w.clear_outbox();
    assert!(receive(LIST, &client::post(&s.alice, &s.list_key, "again", TEXT)).status.success());
    let bobs_tag = s.posts_to(&s.bob)[0].envelope_sender();
    let dsn = "From: MAILER-DAEMON@example.org\nTo: someone@example.org\nSubject: failure\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\n\n--r\nContent-Type: text/plain\n\nfailed\n--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\n\n--r--\n";
    assert!(receive("crypto-bounces@example.org", dsn.as_bytes()).status.success());
    let delivers = || {
        let members: serde_json::Value = serde_json::from_str(&s.w.ok(&["members", "ls", LIST, "--json"])).unwrap();
        members.as_array().unwrap().iter().find(|m| m["address"] == "bob@example.org").unwrap()["delivery"] == true
    };
    assert!(delivers(), "a report to the untagged address counts for nothing");
    assert!(s.log().contains("a report naming bob@example.org without its bounce tag was ignored"), "{}", s.log());
    assert!(receive(&bobs_tag, dsn.as_bytes()).status.success());
    assert!(!delivers(), "a report to bob's own tag counts");

    // Unknown addresses: 67, the MTA bounces them; bad mail to a list: inject's 65.
    for unknown in ["nosuch@example.org", "crypto-admin@example.org", "crypto@elsewhere.org", "not an address"] {
        let out = receive(unknown, b"From: a@example.org\n\nhello\n");
        assert_eq!(code(&out), 67, "{unknown}: {}", stderr(&out));
    }
    let out = receive(LIST, b"no header here\n");
    assert_eq!(code(&out), 65);
    assert!(stderr(&out).contains("not a mail message"), "{}", stderr(&out));
    assert!(s.w.ok(&["queue", "ls", LIST]).trim().is_empty(), "nothing left queued");

    // A list with `+` in its name is matched whole, before any extension is taken off.
    s.w.ok(&["list", "create", "crypto+team@example.org", "--admin", "alice@example.org", "--generate"]);
    assert!(receive("crypto+team@example.org", &client::post(&s.alice, &s.list_key, "team", TEXT)).status.success());
    let team_log = fs::read_to_string(s.w.home.join("lists/crypto+team@example.org/log")).unwrap();
    assert!(team_log.contains("received"), "{team_log}");
    // Names that would shadow another list's address, or read as an option, are refused.
    for bad in ["crypto-owner@example.org", "-h@example.org", "team@example.org"] {
        let admin = "alice@example.org";
        if bad == "team@example.org" {
            s.w.ok(&["list", "create", "team-request@example.org", "--admin", admin, "--generate"]);
            continue;
        }
        let out = s.w.run(&["list", "create", "--admin", admin, "--generate", "--", bad]);
        assert_eq!(code(&out), 65, "{bad}: {}", stderr(&out));
    }
    assert_eq!(code(&s.w.run(&["list", "create", "team@example.org", "--admin", "a@example.org", "--generate"])), 65);

    // The host's faults are temporary for every address: the MTA keeps the mail.
    let gnupg = s.w.home.join("lists").join(LIST).join("gnupg");
    fs::rename(&gnupg, gnupg.with_extension("away")).unwrap();
    for address in [LIST, "crypto-request@example.org", "crypto-owner@example.org", "crypto-bounces@example.org"] {
        let out = receive(address, &stranger_mail("HOST-FAULT"));
        assert_eq!(code(&out), 75, "{address}: {}", stderr(&out));
    }
    fs::rename(gnupg.with_extension("away"), &gnupg).unwrap();
}

/// A message from a stranger to the owners, in clear.
fn stranger_mail(marker: &str) -> Vec<u8> {
    format!("From: Stranger <stranger@elsewhere.org>\nTo: crypto-owner@example.org\nSubject: hello owners\nMessage-ID: <{marker}@elsewhere.org>\n\n{marker}: can I join?\n").into_bytes()
}

#[test]
fn mail_to_the_owners_reaches_each_admin_encrypted_and_list_signed() {
    let s = Scene::new();
    let marker = "OWNERS-ONLY-7f3a";
    let out = s.w.run_with_stdin(&["owner", LIST], &stranger_mail(marker));
    assert!(out.status.success(), "{}", stderr(&out));
    let mails = s.w.mails();
    assert_eq!(mails.len(), 1, "one mail, to the one admin");
    assert_eq!(mails[0].recipients(), vec!["alice@example.org"]);
    assert!(!mails[0].text().contains(marker), "never forwarded in clear");
    let opened = s.alice.decrypt(&mails[0].armored());
    assert!(opened.ok && opened.plaintext.contains(&format!("{marker}: can I join?")), "{}", opened.plaintext);
    assert!(opened.plaintext.contains("It came unencrypted."));
    assert!(opened.plaintext.contains("Content-Type: message/rfc822"), "the message attached whole");
    assert_eq!(opened.good_signer().as_deref(), Some(s.list_key.as_str()), "signed by the list");
    let outer = mails[0].text().split("\r\n\r\n").next().unwrap().to_string();
    assert!(!outer.contains("stranger@elsewhere.org"), "outer headers name nobody: {outer}");

    // Encrypted to the list key (admins could not read it): opened, then sealed for each admin.
    s.w.clear_outbox();
    let secret = "ENCRYPTED-FOR-OWNERS-91b2";
    let armored = s.bob.sign_encrypt(client::text_entity(secret).as_bytes(), &s.list_key);
    let mail = client::encrypted(&client::headers(&s.bob.address, "crypto-owner@example.org", "private"), &armored);
    let out = s.w.run_with_stdin(&["receive", "crypto-owner@example.org"], &mail);
    assert!(out.status.success(), "{}", stderr(&out));
    let mails = s.w.mails();
    assert_eq!(mails.len(), 1);
    let opened = s.alice.decrypt(&mails[0].armored());
    assert!(opened.plaintext.contains(secret) && opened.plaintext.contains("It came encrypted to the list key."));
    assert!(opened.plaintext.contains("From: Sender <bob@example.org>"), "the writer's headers kept");

    // A reply to the note goes to the owners, never to the list: it comes from -owner, with no list key.
    assert_eq!(mails[0].header("From").as_deref(), Some("<crypto-owner@example.org>"));
    assert!(mails[0].header("Autocrypt").is_none(), "no list key invites a reply to the list");

    // Inline PGP: the opened text becomes a text/plain body of the attached message.
    s.w.clear_outbox();
    let armored = s.bob.sign_encrypt(b"INLINE-FOR-OWNERS\r\n", &s.list_key);
    let mail = format!("From: Bob <bob@example.org>\nTo: crypto-owner@example.org\nSubject: inline\n\n{armored}\n");
    assert!(s.w.run_with_stdin(&["owner", LIST], mail.as_bytes()).status.success());
    let opened = s.alice.decrypt(&s.w.mails()[0].armored());
    assert!(
        opened.plaintext.contains(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nINLINE-FOR-OWNERS"
        ),
        "{}",
        opened.plaintext
    );

    // Mail that passed through any list of this home is dropped: lists' owners must not loop.
    s.w.ok(&["list", "create", "other@example.org", "--admin", "alice@example.org", "--generate"]);
    s.w.clear_outbox();
    let looped = format!("X-Loop: other@example.org\n{}", String::from_utf8(stranger_mail("LOOPED")).unwrap());
    let out = s.w.run_with_stdin(&["owner", LIST], looped.as_bytes());
    assert!(out.status.success() && s.w.mails().is_empty(), "{}", stderr(&out));
    assert!(s.log().contains("dropped: it came from a list (X-Loop)"), "{}", s.log());
    // A program's automatic reply is dropped too; a person's mail that only asks
    // not to be answered automatically (Outlook's header) still reaches the owners.
    let automatic = format!("Auto-Submitted: auto-replied\n{}", String::from_utf8(stranger_mail("AWAY")).unwrap());
    assert!(s.w.run_with_stdin(&["owner", LIST], automatic.as_bytes()).status.success());
    assert!(s.w.mails().is_empty(), "an automatic reply went to the owners");
    assert!(s.log().contains("dropped: it is an automatic reply"), "{}", s.log());
    // (From another sender: the stranger's hourly allowance is counted below.)
    let person = String::from_utf8(stranger_mail("PERSON-WROTE")).unwrap().replace("stranger@", "person@");
    let outlook = format!("X-Auto-Response-Suppress: All\n{person}");
    assert!(s.w.run_with_stdin(&["owner", LIST], outlook.as_bytes()).status.success());
    let forwarded = s.alice.decrypt(&s.w.mails()[0].armored());
    assert!(forwarded.plaintext.contains("PERSON-WROTE"), "{}", forwarded.plaintext);

    // One sender gets 10 mails an hour to the owners (the first one above counted); the MTA keeps the rest.
    s.w.clear_outbox();
    for i in 1..=10 {
        let out = s.w.run_with_stdin(&["owner", LIST], &stranger_mail(&format!("flood{i}")));
        if i < 10 {
            assert!(out.status.success(), "{}", stderr(&out));
        } else {
            assert_eq!(code(&out), 75, "kept by the MTA for later, not lost: {}", stderr(&out));
        }
    }
    assert_eq!(s.w.mails().len(), 9);
}

#[test]
fn owner_mail_waits_in_the_mta_while_no_admin_can_receive() {
    let w = World::new();
    w.generated_list("alice@example.org");
    w.use_outbox(LIST);
    let out = w.run_with_stdin(&["owner", LIST], &stranger_mail("WAITS"));
    assert_eq!(code(&out), 75, "try again later: {}", stderr(&out));
    assert!(stderr(&out).contains("no admin of crypto@example.org has a usable key"), "{}", stderr(&out));
    assert!(w.mails().is_empty(), "nothing sent in clear");
}

#[test]
fn owner_mail_waits_while_the_list_key_is_locked_and_never_goes_unsigned() {
    let w = World::new();
    let (_owner, file) = w.owners_list_key(LIST, "never", Some("owner words"));
    w.ok(&["list", "create", LIST, "--admin", "alice@example.org", "--key-file", file.to_str().unwrap()]);
    w.use_outbox(LIST);
    let list_key = w.ok(&["list", "export-key", LIST]);
    w.verified_member("alice@example.org", &list_key, true);
    w.clear_outbox();
    let out = w.run_with_stdin(&["owner", LIST], &stranger_mail("LOCKED"));
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(stderr(&out).contains("is locked"), "{}", stderr(&out));
    assert!(w.mails().is_empty(), "no unsigned note");
}
