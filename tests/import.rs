//! `members import`: many members at once under the rules of `members add`,
//! from a folder of key files or one keyring, with a report of what was refused.

mod common;
use common::*;
use serde_json::Value;
use std::fs;

/// The public key of `person`, armored or binary.
fn exported_key(person: &Person, armored: bool) -> Vec<u8> {
    let fpr = person.fingerprint();
    if armored {
        person.gpg_pipe(&["--armor", "--export", &fpr], b"")
    } else {
        person.gpg_pipe(&["--export", &fpr], b"")
    }
}

fn list_keyring_has(w: &World, fpr: &str) -> bool {
    let out = std::process::Command::new("gpg")
        .args(["--homedir", w.list_gnupg(LIST).to_str().unwrap(), "--batch", "--list-keys", fpr])
        .output()
        .unwrap();
    out.status.success()
}

/// How many keys one keybox file holds, read alone (not through the list's gpg.conf).
fn keys_in_keybox(w: &World, keybox: &std::path::Path) -> usize {
    let probe = w.dir.path().join("probe");
    fs::create_dir_all(&probe).unwrap();
    let out = std::process::Command::new("gpg")
        .args(["--homedir", probe.to_str().unwrap(), "--batch", "--no-default-keyring"])
        .args(["--keyring", keybox.to_str().unwrap(), "--with-colons", "--list-keys"])
        .output()
        .unwrap();
    assert!(out.status.success(), "gpg reads {}: {}", keybox.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("pub:")).count()
}

/// A list whose key, made by its owner, is protected by `passphrase`; the owner.
fn list_with_protected_key(w: &World, passphrase: &str) -> Person {
    let owner = w.empty_person(LIST);
    owner.gen_key(LIST, &["--passphrase", passphrase]);
    let secret = owner.home.join("secret.asc");
    let exported = owner.gpg(&["--passphrase", passphrase, "--armor", "--export-secret-keys", &owner.fingerprint()]);
    assert!(exported.status.success());
    fs::write(&secret, &exported.stdout).unwrap();
    w.ok(&["list", "create", LIST, "--admin", "alice@example.org", "--key-file", secret.to_str().unwrap()]);
    owner
}

/// `members import` of the keys of `people`, in one keyring, into keyring parts of `part_size` keys.
fn import_in_parts(w: &World, people: &[Person], part_size: usize) -> std::process::Output {
    let file = w.dir.path().join("members.asc");
    fs::write(&file, people.iter().flat_map(|p| exported_key(p, true)).collect::<Vec<u8>>()).unwrap();
    w.cmd(&["members", "import", LIST, file.to_str().unwrap()])
        .env("LISTCRYPT_PART_SIZE", part_size.to_string())
        .output()
        .unwrap()
}

#[test]
fn a_folder_of_keys_comes_in_under_the_rules_of_members_add() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let dana = w.person("dana@example.org");
    let erin = w.person("erin@example.org");
    let frank = w.empty_person("frank@example.org");
    frank.gen_key("Frank <frank@example.org>", &[]);
    frank.gpg_ok(&["--quick-add-uid", &frank.fingerprint(), "frank@work.example.com"]);
    let old = w.empty_person("old@example.org");
    old.gen_key_expiring("old@example.org", &["--faked-system-time", "20200101T000000"], "1y");
    let secret = w.person("secret@example.org");
    let twin = w.person("dana@example.org");
    let bob = w.person("bob@example.org");
    w.ok(&["members", "add", LIST, "bob@example.org", "--key-file", bob.export(false).to_str().unwrap()]);
    w.clear_outbox();

    let dir = w.dir.path().join("keys");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("1-dana.asc"), exported_key(&dana, true)).unwrap();
    fs::write(dir.join("2-erin.gpg"), exported_key(&erin, false)).unwrap();
    fs::write(dir.join("3-frank.asc"), exported_key(&frank, true)).unwrap();
    fs::write(dir.join("4-old.asc"), exported_key(&old, true)).unwrap();
    fs::write(dir.join("5-secret.asc"), secret.gpg_pipe(&["--armor", "--export-secret-keys"], b"")).unwrap();
    fs::write(dir.join("6-twin.asc"), exported_key(&twin, true)).unwrap();
    fs::write(dir.join("7-bob.asc"), exported_key(&bob, true)).unwrap();
    fs::write(dir.join("8-notes.txt"), b"not a key at all").unwrap();
    let addresses = w.dir.path().join("addresses.txt");
    fs::write(&addresses, format!("# which address a key is for\nfrank@example.org {}\n", frank.fingerprint()))
        .unwrap();

    let out = w.run(&[
        "members",
        "import",
        LIST,
        dir.to_str().unwrap(),
        "--addresses",
        addresses.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let added: Vec<&str> = report["added"].as_array().unwrap().iter().map(|a| a["address"].as_str().unwrap()).collect();
    let mut sorted = added.clone();
    sorted.sort();
    assert_eq!(sorted.len(), 3, "{report:#}");
    assert!(sorted.contains(&"erin@example.org") && sorted.contains(&"frank@example.org"), "{report:#}");
    assert!(sorted.contains(&"dana@example.org"), "one of dana's two keys: {report:#}");

    let refused = report["refused"].as_array().unwrap();
    let reason_for = |fpr: &str| {
        refused.iter().find(|r| r["key"] == fpr).map(|r| r["reason"].as_str().unwrap().to_string()).unwrap_or_default()
    };
    assert!(reason_for(&old.fingerprint()).starts_with("expired on 202"), "{refused:#?}");
    assert!(reason_for(&secret.fingerprint()).contains("secret key"), "{refused:#?}");
    assert!(reason_for(&bob.fingerprint()).contains("already a member"), "{refused:#?}");
    let second_dana = if added.contains(&"dana@example.org") && reason_for(&dana.fingerprint()).is_empty() {
        twin.fingerprint()
    } else {
        dana.fingerprint()
    };
    assert!(reason_for(&second_dana).contains("second key for dana@example.org"), "{refused:#?}");
    assert!(refused.iter().any(|r| r["key"].as_str().unwrap().ends_with("8-notes.txt")), "{refused:#?}");
    for gone in [old.fingerprint(), secret.fingerprint(), second_dana] {
        assert!(!list_keyring_has(&w, &gone), "a refused key leaves no trace");
    }

    // Each new member got a welcome and a challenge their own key opens; the token verifies.
    for person in [&erin, &frank] {
        let mails = w.mails_to(&format!("{}@example.org", person.address.split('@').next().unwrap()));
        assert_eq!(mails.len(), 2, "welcome and challenge for {}", person.address);
        let challenge = mails.iter().find(|m| m.text().contains("BEGIN PGP MESSAGE")).expect("an encrypted challenge");
        let token = token_in(&person.decrypt(&challenge.armored()).plaintext);
        w.ok(&["keys", "verify", LIST, &person.address, &token]);
    }
    let members: Value = serde_json::from_str(&w.ok(&["members", "ls", LIST, "--json"])).unwrap();
    assert_eq!(members.as_array().unwrap().len(), 5, "alice, bob and three imported");
}

#[test]
fn one_armored_keyring_of_many_members_comes_in_at_once() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let people: Vec<Person> = (0..12).map(|i| w.person(&format!("reader{i:02}@example.org"))).collect();
    let keyring: Vec<u8> = people.iter().flat_map(|p| exported_key(p, true)).collect();
    let file = w.dir.path().join("members.asc");
    fs::write(&file, keyring).unwrap();
    let out = w.run(&["members", "import", LIST, file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("12 members added, 0 keys refused, 0 not reached"), "{}", stderr(&out));
    for person in &people {
        let challenge =
            w.mails_to(&person.address).into_iter().find(|m| m.text().contains("BEGIN PGP MESSAGE")).unwrap();
        assert!(person.decrypt(&challenge.armored()).ok, "{} opens the challenge", person.address);
    }
    // Importing the same file again changes nothing: everyone is a member already.
    let again = w.run(&["members", "import", LIST, file.to_str().unwrap(), "--json"]);
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["added"].as_array().unwrap().len(), 0);
    assert_eq!(report["refused"].as_array().unwrap().len(), 12);
}

/// A key for `address`, made a day before `victim`'s key, that binds the
/// victim's primary key (`victim_fpr`) as its own subkey (the test lends it
/// the victim's secret key); and a clean copy of it, exported before the graft.
fn grafted_key(w: &World, address: &str, victim: &Person, victim_fpr: &str) -> (Person, Vec<u8>) {
    let listing = victim.gpg_ok(&["--with-colons", "--with-keygrip", "--list-keys", victim_fpr]);
    let field = |tag: &str, n: usize| {
        listing.lines().find(|l| l.starts_with(tag)).unwrap().split(':').nth(n).unwrap().to_string()
    };
    // Older than the victim's key (a committed test key may be old), so that the graft can be bound at its creation time.
    let thief = w.empty_person(address);
    let older = field("pub:", 5).parse::<u64>().unwrap() - 86_400;
    thief.gen_key(address, &["--faked-system-time", &format!("{older}!")]);
    thief.gpg_pipe(&["--import"], &victim.gpg_pipe(&["--export-secret-keys", victim_fpr], b""));
    let clean = thief.gpg_pipe(&["--armor", "--export", address], b"");
    let script = format!("addkey\n13\n{}\nQ\n0\nsave\n", field("grp:", 9));
    let time = format!("{}!", field("pub:", 5));
    let args = [
        "--expert",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--command-fd",
        "0",
        "--faked-system-time",
        &time,
        "--edit-key",
        address,
    ];
    assert!(thief.gpg_try(&args, script.as_bytes()).status.success());
    (thief, clean)
}

#[test]
fn the_list_key_and_grafted_keys_never_come_in_and_the_list_key_never_goes() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let list = Person { address: LIST.into(), home: w.list_gnupg(LIST) };
    let list_fpr = list.fingerprint();
    let dana = w.person("dana@example.org");
    // Mallory's key binds dana's primary key as a subkey (the test lends him dana's secret key).
    let (mallory, clean) = grafted_key(&w, "mallory@example.org", &dana, &dana.fingerprint());
    let dir = w.dir.path().join("keys");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("list.asc"), list.gpg_pipe(&["--armor", "--export", &list_fpr], b"")).unwrap();
    fs::write(dir.join("dana.asc"), exported_key(&dana, true)).unwrap();
    fs::write(dir.join("mallory.asc"), mallory.gpg_pipe(&["--armor", "--export", "mallory@example.org"], b"")).unwrap();
    fs::write(dir.join("mallory-clean.asc"), &clean).unwrap();
    let out = w.run(&["members", "import", LIST, dir.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["added"].as_array().unwrap().len(), 0, "{report:#}");
    let refused = report["refused"].as_array().unwrap();
    let reason =
        |fpr: &str| refused.iter().find(|r| r["key"] == fpr).map(|r| r["reason"].to_string()).unwrap_or_default();
    assert!(reason(&list_fpr).contains("the list's own key"), "{refused:#?}");
    let mallorys: Vec<&Value> = refused.iter().filter(|r| r["key"] == mallory.fingerprint().as_str()).collect();
    assert_eq!(mallorys.len(), 2, "both copies of Mallory's key are refused: {refused:#?}");
    assert!(mallorys.iter().all(|r| r["reason"].as_str().unwrap().contains("read more than once")), "{refused:#?}");
    assert!(
        reason(&dana.fingerprint()).contains("part of another key"),
        "the graft's victim waits for a clean file: {refused:#?}"
    );
    assert!(!list_keyring_has(&w, &mallory.fingerprint()), "the graft is not in the list's keyring");
    assert!(list.gpg_ok(&["--with-colons", "--list-secret-keys"]).contains(&list_fpr), "the list's secret key stays");
    assert!(w.run(&["list", "export-key", LIST]).status.success(), "the list key is found, alone");
    let out =
        w.run(&["members", "add", LIST, "list@example.org", "--key-file", dir.join("list.asc").to_str().unwrap()]);
    assert_eq!(code(&out), 65, "members add refuses the list's key too: {}", stderr(&out));

    // A key that carries the list key's primary key as a subkey, alone in its import:
    // only the look-up in the list's keyring can see the graft.
    let (trudy, _) = grafted_key(&w, "trudy@example.org", &list, &list_fpr);
    let alone = w.dir.path().join("trudy");
    fs::create_dir_all(&alone).unwrap();
    fs::write(alone.join("trudy.asc"), trudy.gpg_pipe(&["--armor", "--export", "trudy@example.org"], b"")).unwrap();
    let out = w.run(&["members", "import", LIST, alone.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["added"].as_array().unwrap().len(), 0, "{report:#}");
    let why = report["refused"][0]["reason"].as_str().unwrap_or_default().to_string();
    assert!(why.contains(&format!("carries {list_fpr}")) && why.contains("part of another key"), "{report:#}");
    assert!(!list_keyring_has(&w, &trudy.fingerprint()), "the graft is not in the list's keyring");
    assert!(w.run(&["list", "export-key", LIST]).status.success(), "the list key is found, alone");
}

#[test]
fn a_large_import_goes_into_keyring_parts_whose_keys_work_like_any_other() {
    // A protected list key, unlocked: the parts' challenges are signed
    // through the list's own agent, which keeps its passphrase afterwards.
    let w = World::new();
    const PASSPHRASE: &str = "parts passphrase";
    let owner = list_with_protected_key(&w, PASSPHRASE);
    w.use_outbox(LIST);
    let out = w.run_with_stdin(&["list", "unlock", LIST], format!("{PASSPHRASE}\n").as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));

    let list_key = w.ok(&["list", "export-key", LIST]);
    let people: Vec<Person> = (0..12).map(|i| w.person(&format!("reader{i:02}@example.org"))).collect();
    for person in &people {
        person.import(list_key.as_bytes());
    }
    // Four keys a part here (500 in use): 12 keys make three parts.
    let out = import_in_parts(&w, &people, 4);
    assert!(stderr(&out).contains("12 members added, 0 keys refused, 0 not reached"), "{}", stderr(&out));
    let conf = fs::read_to_string(w.list_gnupg(LIST).join("gpg.conf")).unwrap();
    for part in ["members-00.kbx", "members-01.kbx", "members-02.kbx"] {
        assert!(conf.contains(&format!("\nkeyring {part}\n")), "{part} listed: {conf}");
        assert!(w.list_gnupg(LIST).join(part).exists(), "{part} in the list's home");
    }
    assert!(!conf.contains("members-03.kbx"), "{conf}");
    let in_part = keys_in_keybox(&w, &w.list_gnupg(LIST).join("members-01.kbx"));
    assert_eq!(in_part, 4, "the second part holds the next four keys, not the list's keyring");
    let log = fs::read_to_string(w.home.join("lists").join(LIST).join("log")).unwrap();
    assert!(log.contains("12 members imported, 0 keys refused; 3 keyring parts, 12 sealed in views of them"), "{log}");

    // Every challenge opens with its member's key, signed by the list key; each token verifies.
    for person in &people {
        let challenge =
            w.mails_to(&person.address).into_iter().find(|m| m.text().contains("BEGIN PGP MESSAGE")).unwrap();
        let opened = person.decrypt(&challenge.armored());
        assert_eq!(opened.good_signer(), Some(owner.fingerprint()), "{} gets a signed challenge", person.address);
        w.ok(&["keys", "verify", LIST, &person.address, &token_in(&opened.plaintext)]);
    }
    // A post reaches every member, each keybox (the primary and three parts) looked up and encrypted to alone.
    let post = client::post(&people[0], &owner.fingerprint(), "through the parts", "hello, parts");
    let injected = w.run_with_stdin(&["inject", LIST], &post);
    assert!(injected.status.success(), "{}", stderr(&injected));
    let id = String::from_utf8_lossy(&injected.stdout).trim().to_string();
    assert_eq!(w.ok(&["verify", LIST, &id]).trim(), id, "approved");
    let out = w.run(&["-v", "distribute", LIST, &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("keyboxes read alone: 4"), "{}", stderr(&out));
    for person in &people[1..] {
        let copies = w.posts_to(&person.address);
        assert_eq!(copies.len(), 1, "{} gets one copy", person.address);
        let opened = person.decrypt(&copies[0].armored());
        assert!(opened.ok && opened.plaintext.contains("hello, parts"), "{} opens it", person.address);
    }
    // A key in a part leaves with its member, as any other.
    let leaving = people[6].fingerprint();
    assert!(list_keyring_has(&w, &leaving));
    w.ok(&["members", "remove", LIST, &people[6].address]);
    assert!(!list_keyring_has(&w, &leaving), "the key left members-01.kbx");
    // The list's agent kept its passphrase: the next challenge is signed too.
    let carol = w.person("carol@example.org");
    carol.import(list_key.as_bytes());
    w.ok(&["members", "add", LIST, "carol@example.org", "--key-file", carol.export(false).to_str().unwrap()]);
    let opened = carol.decrypt(&w.mails_to("carol@example.org").pop().unwrap().armored());
    assert_eq!(opened.good_signer(), Some(owner.fingerprint()), "the list's agent outlived the import's views");
    assert!(!list_keyring_has(&w, &people[6].fingerprint()));
}

#[test]
fn a_locked_list_key_leaves_the_import_s_challenges_unsigned_but_sealed_to_each_member() {
    // The helpers that seal in the parts meet the locked key as this
    // process would: each challenge still goes, encrypted by a helper,
    // without the list's signature (as for `members add`), and its token works.
    let w = World::new();
    list_with_protected_key(&w, "locked passphrase");
    w.use_outbox(LIST);
    // Each holds the list key, so a signature would show.
    let list_key = w.ok(&["list", "export-key", LIST]);
    let people: Vec<Person> = (0..8).map(|i| w.person(&format!("reader{i:02}@example.org"))).collect();
    for person in &people {
        person.import(list_key.as_bytes());
    }
    let out = import_in_parts(&w, &people, 4);
    assert!(stderr(&out).contains("8 members added, 0 keys refused, 0 not reached"), "{}", stderr(&out));
    let log = fs::read_to_string(w.home.join("lists").join(LIST).join("log")).unwrap();
    assert!(log.contains("8 members imported, 0 keys refused; 2 keyring parts, 8 sealed in views of them"), "{log}");
    for person in &people {
        let challenge =
            w.mails_to(&person.address).into_iter().find(|m| m.text().contains("BEGIN PGP MESSAGE")).unwrap();
        let opened = person.decrypt(&challenge.armored());
        assert!(opened.ok, "{} opens the challenge", person.address);
        assert_eq!(opened.good_signer(), None, "unsigned: the list key is locked");
        w.ok(&["keys", "verify", LIST, &person.address, &token_in(&opened.plaintext)]);
    }
}

#[test]
fn without_helpers_the_import_seals_every_challenge_in_its_own_process() {
    // The library on its own starts no helper (only the binary can run
    // `seal-helper`): the parts' challenges are sealed in the list's home,
    // signed by the list key, the same mail.
    let w = World::new();
    const PASSPHRASE: &str = "in-process passphrase";
    let owner = list_with_protected_key(&w, PASSPHRASE);
    w.use_outbox(LIST);
    let out = w.run_with_stdin(&["list", "unlock", LIST], format!("{PASSPHRASE}\n").as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let list_key = w.ok(&["list", "export-key", LIST]);
    let people: Vec<Person> = (0..8).map(|i| w.person(&format!("reader{i:02}@example.org"))).collect();
    for person in &people {
        person.import(list_key.as_bytes());
    }
    let keyring: Vec<u8> = people.iter().flat_map(|p| exported_key(p, true)).collect();
    let sources = vec![listcrypt::admin::import::Source { name: "members.asc".into(), bytes: keyring }];
    // This test's process alone: each test runs in a process of its own.
    std::env::set_var("LISTCRYPT_PART_SIZE", "4");
    let list = listcrypt::Address::parse(LIST).unwrap();
    let home = listcrypt::Home::new(&w.home);
    let report =
        listcrypt::admin::import::import(&home, &list, sources, &Default::default(), false, &|_, _| {}).unwrap();
    assert_eq!((report.added.len(), report.refused.len(), report.unsent.len()), (8, 0, 0));
    let log = fs::read_to_string(w.home.join("lists").join(LIST).join("log")).unwrap();
    assert!(log.contains("8 members imported, 0 keys refused; 2 keyring parts, 0 sealed in views of them"), "{log}");
    for person in &people {
        let challenge =
            w.mails_to(&person.address).into_iter().find(|m| m.text().contains("BEGIN PGP MESSAGE")).unwrap();
        let opened = person.decrypt(&challenge.armored());
        assert_eq!(opened.good_signer(), Some(owner.fingerprint()), "{} gets a signed challenge", person.address);
        w.ok(&["keys", "verify", LIST, &person.address, &token_in(&opened.plaintext)]);
    }
}

#[test]
fn keys_past_gnupgs_keyring_limit_and_left_over_keys_go_into_the_primary_keybox() {
    let w = World::new();
    w.generated_list("alice@example.org");
    // 30 parts listed already (gpg makes a listed keybox it cannot find, empty): room for two more.
    let conf = w.list_gnupg(LIST).join("gpg.conf");
    let mut text = fs::read_to_string(&conf).unwrap();
    text.extend((0..30).map(|i| format!("keyring members-{i:02}.kbx\n")));
    fs::write(&conf, text).unwrap();
    let people: Vec<Person> = (0..7).map(|i| w.person(&format!("late{i:02}@example.org"))).collect();
    // Parts of two: three whole parts (one finds no room) and one key left over.
    let out = import_in_parts(&w, &people, 2);
    assert!(stderr(&out).contains("7 members added, 0 keys refused, 0 not reached"), "{}", stderr(&out));
    let parts = fs::read_to_string(&conf).unwrap().lines().filter(|l| l.starts_with("keyring members-")).count();
    assert_eq!(parts, 32, "GnuPG opens at most 40 keyrings; listcrypt lists at most 32 parts");
    let in_primary = keys_in_keybox(&w, &w.list_gnupg(LIST).join("pubring.kbx"));
    assert_eq!(in_primary, 1 + 2 + 1, "the list key, the part that found no room and the key left over");
    let list_key = w.ok(&["list", "export-key", LIST]);
    for person in &people {
        person.import(list_key.as_bytes());
        let challenge =
            w.mails_to(&person.address).into_iter().find(|m| m.text().contains("BEGIN PGP MESSAGE")).unwrap();
        let opened = person.decrypt(&challenge.armored());
        let signer = opened.good_signer().expect("a challenge signed by the list key");
        assert_ne!(signer, person.fingerprint(), "{}", person.address);
        w.ok(&["keys", "verify", LIST, &person.address, &token_in(&opened.plaintext)]);
    }
}
