//! `list import-schleuder` against a real Schleuder 4.0.3 list, made once per
//! test run by tests/schleuder/make-list.sh (Debian's packages, the
//! list made through Schleuder's own API daemon; see tests/schleuder/NOTES.md):
//! admin@ (admin), alice@, bob@ (delivery disabled) and carol@, each with
//! an Ed25519 key, and settings changed from Debian's defaults.
//!
//! The script needs root (apt-get). Not root, the tests fail, unless
//! LISTCRYPT_SKIP_SCHLEUDER=1 says to skip them.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const SLIST: &str = "secret@lists.example.org";

/// The Schleuder world the script made.
struct Fixture {
    dir: PathBuf,
    db: PathBuf,
    lists_dir: PathBuf,
    list_fpr: String,
    /// The list's GnuPG home in Schleuder.
    list_home: PathBuf,
    /// Each person's key fingerprint, by name (`carol`).
    fprs: BTreeMap<String, String>,
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            if rustix::process::geteuid().as_raw() != 0 {
                if std::env::var("LISTCRYPT_SKIP_SCHLEUDER").as_deref() == Ok("1") {
                    eprintln!("skipping the Schleuder import tests: not root, and LISTCRYPT_SKIP_SCHLEUDER=1");
                    return None;
                }
                panic!(
                    "tests/schleuder.rs builds a real Schleuder list with tests/schleuder/make-list.sh, which needs \
                     root (apt-get); run the tests as root (CI does), or set LISTCRYPT_SKIP_SCHLEUDER=1 to skip them"
                );
            }
            Some(make_fixture())
        })
        .as_ref()
}

/// Runs make-list.sh into a folder under the target directory, once per
/// test run: test processes of one run (nextest starts one per test) share
/// it, under a lock, and read it only; the next run starts it anew.
fn make_fixture() -> Fixture {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    // nextest names its run; under `cargo test` the one process is the run.
    let run = std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| format!("pid-{}", std::process::id()));
    let run: String = run.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let dir = base.join(format!("schleuder-fixture-{run}"));
    let lock = fs::File::create(base.join("schleuder-fixture.lock")).unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    if !dir.join("fixture.env").exists() {
        remove_old_fixtures(base);
        build_fixture(&dir);
    }
    drop(lock);
    read_fixture(&dir)
}

/// Fixtures of earlier runs (a run that is still going made its own today).
fn remove_old_fixtures(base: &Path) {
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    for old in fs::read_dir(base).into_iter().flatten().flatten() {
        let stale = old.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < day_ago);
        if stale && old.file_name().to_string_lossy().starts_with("schleuder-fixture-") {
            let _ = fs::remove_dir_all(old.path());
        }
    }
}

fn build_fixture(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
    let out =
        Command::new(repo_root().join("tests/schleuder/make-list.sh")).arg(dir).stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "make-list.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read_fixture(dir: &Path) -> Fixture {
    let env = read_env(&dir.join("fixture.env"));
    // Paths through the short link are only needed by gpg-agent sockets in
    // those homes; the tests copy the homes they use, so the link goes.
    let real = PathBuf::from(&env["FIXTURE_DIR"]);
    if !env["FIXTURE_LINK"].is_empty() {
        let _ = fs::remove_file(&env["FIXTURE_LINK"]);
    }
    let rebase = |key: &str| real.join(Path::new(&env[key]).strip_prefix(&env["FIXTURE_BASE"]).unwrap());
    Fixture {
        db: rebase("SCHLEUDER_DB"),
        lists_dir: rebase("SCHLEUDER_LISTS_DIR"),
        list_home: rebase("SCHLEUDER_LIST_HOME"),
        list_fpr: env["SCHLEUDER_LIST_FPR"].clone(),
        fprs: ["admin", "alice", "bob", "carol"]
            .iter()
            .map(|p| (p.to_string(), env[&format!("{}_FPR", p.to_uppercase())].clone()))
            .collect(),
        dir: real,
    }
}

fn read_env(path: &Path) -> BTreeMap<String, String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

/// `list import-schleuder` of the fixture's list (or `db` instead of its database).
fn import_from(w: &World, fx: &Fixture, db: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["list", "import-schleuder", SLIST, "--schleuder-db", db.to_str().unwrap()];
    args.extend(["--schleuder-lists-dir", fx.lists_dir.to_str().unwrap()]);
    args.extend(extra);
    w.run(&args)
}

fn import(w: &World, fx: &Fixture, extra: &[&str]) -> Output {
    import_from(w, fx, &fx.db, extra)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Imports for real, mail to the stand-in sendmail; returns the printed plan.
fn imported(w: &World, fx: &Fixture, extra: &[&str]) -> String {
    let transport = format!("sendmail:{}", w.sendmail.display());
    let mut args = vec!["--transport", transport.as_str()];
    args.extend(extra);
    let out = import(w, fx, &args);
    assert!(out.status.success(), "import failed ({}): {}{}", code(&out), stdout(&out), stderr(&out));
    w.use_outbox(SLIST);
    stdout(&out)
}

/// A fixture person, their GnuPG home copied into this world (so the test's
/// agents live in homes the world stops), holding the list's public key.
fn person(w: &World, fx: &Fixture, name: &str) -> Person {
    let p = w.empty_person(&format!("{name}@example.org"));
    copy_tree(&fx.dir.join("people").join(name), &p.home);
    p.import(w.ok(&["list", "export-key", SLIST]).as_bytes());
    p
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (path, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&path, &target);
        } else if kind.is_file() {
            fs::copy(&path, &target).unwrap();
        }
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// Alice's post as Thunderbird writes it: protected headers, signed with her
/// key and encrypted to the list key in one OpenPGP message.
fn post(author: &Person, list_fpr: &str, subject: &str, body: &str) -> Vec<u8> {
    let entity = format!(
        "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nFrom: Alice <{}>\r\nTo: {SLIST}\r\nSubject: {subject}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        author.address
    );
    let armored = author.sign_encrypt(entity.as_bytes(), list_fpr);
    client::encrypted(&client::headers(&author.address, SLIST, subject), &armored)
}

/// The MTA's alias: `inject && verify && distribute`, the mail on stdin.
fn deliver(w: &World, mail: &[u8]) -> Output {
    w.through_alias(SLIST, false, mail)
}

/// A copy of the fixture's database that `sql` changed, in the world's folder.
fn changed_db(w: &World, fx: &Fixture, sql: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let db = w.dir.path().join(format!("changed{n}.sqlite"));
    fs::copy(&fx.db, &db).unwrap();
    let out = Command::new("sqlite3").arg(&db).arg(sql).output().unwrap();
    assert!(out.status.success(), "sqlite3: {}", String::from_utf8_lossy(&out.stderr));
    db
}

/// Every file under `dir` with its bytes: the Schleuder side must not change.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(contents(&path));
        } else {
            found.insert(path.clone(), fs::read(&path).unwrap_or_default());
        }
    }
    found
}

fn assert_nothing_made(w: &World) {
    assert!(!w.home.join("lists").exists(), "the refused import left a list behind");
}

#[test]
fn an_imported_members_post_reaches_every_member_with_delivery_on_under_the_same_key() {
    let Some(fx) = fixture() else { return };
    let w = World::new();
    let plan = imported(&w, fx, &[]);
    assert!(plan.contains(&format!("imported {SLIST}: 4 members, key {} unchanged", fx.list_fpr)), "{plan}");
    assert!(
        plan.contains("`listcrypt mta postfix`") && plan.contains("`listcrypt list unlock` is not needed"),
        "{plan}"
    );

    let show = json(&w.ok(&["list", "show", SLIST, "--json"]));
    assert_eq!(show["fingerprint"], fx.list_fpr.as_str(), "the same key pair");
    let setting =
        |name: &str| show["settings"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()["value"].clone();
    for (name, value) in [
        ("require_encryption", "true"),
        ("require_signature", "true"),
        ("nonmember_action", "reject"),
        ("receive_own_posts", "false"),
        ("max_message_size", "2M"),
        ("subject_prefix", "[secret]"),
    ] {
        assert_eq!(setting(name), value, "{name}");
    }
    let members = json(&w.ok(&["members", "ls", SLIST, "--json"]));
    let member = |address: &str| members.as_array().unwrap().iter().find(|m| m["address"] == address).unwrap().clone();
    assert_eq!(members.as_array().unwrap().len(), 4);
    assert_eq!(member("admin@example.org")["role"], "admin");
    assert_eq!(member("bob@example.org")["delivery"], false, "delivery disabled in Schleuder: paused");
    for m in members.as_array().unwrap() {
        assert_eq!(m["keys"][0]["state"], "verified", "{m}");
    }
    assert!(fs::read_to_string(w.home.join("lists").join(SLIST).join("log")).unwrap().contains("pinned in Schleuder"));

    let alice = person(&w, fx, "alice");
    let (bob, carol, admin) = (person(&w, fx, "bob"), person(&w, fx, "carol"), person(&w, fx, "admin"));
    let out = deliver(&w, &post(&alice, &fx.list_fpr, "Moved", "hello from alice, after the move"));
    assert!(out.status.success(), "{}", stderr(&out));
    for reader in [&carol, &admin] {
        let copies = w.posts_to(&reader.address);
        assert_eq!(copies.len(), 1, "{} gets one copy", reader.address);
        let copy = reader.open_post(&copies[0]).expect("decryptable with the reader's own Schleuder-era key");
        assert_eq!(copy.signer.as_deref(), Some(fx.list_fpr.as_str()), "signed by the unchanged list key");
        assert!(copy.text.contains("hello from alice, after the move"));
        assert!(copy.entity.contains("Subject: [secret] Moved"), "{}", copy.entity);
    }
    assert!(w.posts_to(&bob.address).is_empty(), "bob's delivery stays off");
    assert!(w.posts_to(&alice.address).is_empty(), "deliver_selfsent false: no copy for the author");
}

#[test]
fn the_printed_mapping_names_every_schleuder_setting() {
    let Some(fx) = fixture() else { return };
    let w = World::new();
    let out = import(&w, fx, &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = stdout(&out);
    eprintln!("{plan}");
    let columns =
        Command::new("sqlite3").arg(&fx.db).arg("SELECT name FROM pragma_table_info('lists')").output().unwrap();
    let skip = ["id", "created_at", "updated_at", "email", "fingerprint"];
    for column in String::from_utf8_lossy(&columns.stdout).lines().filter(|c| !skip.contains(c)) {
        let lines = plan.lines().filter(|l| l.starts_with(&format!("  {column} = "))).count();
        assert_eq!(lines, 1, "one line for {column}:\n{plan}");
    }
    for expected in [
        "receive_authenticated_only = true -> require_signature = true (Schleuder accepted a signature by any subscriber's key, whatever the From:; listcrypt requires the key of the member in From:)",
        "max_message_size_kb = 2048 -> max_message_size = 2M",
        "deliver_selfsent = false -> receive_own_posts = false",
        "subject_prefix = \"[secret]\" -> subject_prefix = [secret]",
        "language = \"de\": not carried over: listcrypt writes its notices in English only",
        "internal_footer = \"-- secret list footer\": not carried over",
        "keep_msgid = false: not carried over",
        "bob@example.org\tmember\t",
    ] {
        assert!(plan.contains(expected), "{expected:?} missing from:\n{plan}");
    }
    let json_plan = json(&stdout(&import(&w, fx, &["--dry-run", "--json"])));
    assert_eq!(json_plan["fingerprint"], fx.list_fpr.as_str());
    assert_eq!(json_plan["members"].as_array().unwrap().len(), 4);
    assert_eq!(json_plan["imported"], false);
}

#[test]
fn a_dry_run_prints_the_plan_and_changes_nothing_here_or_in_schleuder() {
    let Some(fx) = fixture() else { return };
    let w = World::new();
    let schleuder_before = (contents(&fx.list_home), fs::read(&fx.db).unwrap());
    let out = import(&w, fx, &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = stdout(&out);
    assert!(plan.contains("nothing was changed: without --dry-run the list is imported as shown"), "{plan}");
    assert!(plan.contains(&fx.list_fpr) && plan.contains("carol@example.org\tmember\t"), "{plan}");
    assert!(!w.home.exists(), "a dry run makes no home, list or map");
    assert!(w.mails().is_empty());
    assert!(
        schleuder_before == (contents(&fx.list_home), fs::read(&fx.db).unwrap()),
        "Schleuder's files are only read"
    );
    let notify = import(&w, fx, &["--dry-run", "--notify"]);
    assert_eq!(code(&notify), 64, "a dry run notifies nobody: {}", stderr(&notify));
}

#[test]
fn a_list_schleuder_does_not_have_is_refused() {
    let Some(fx) = fixture() else { return };
    let w = World::new();
    let out = w.run(&[
        "list",
        "import-schleuder",
        "nope@lists.example.org",
        "--schleuder-db",
        fx.db.to_str().unwrap(),
        "--schleuder-lists-dir",
        fx.lists_dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 67, "{}", stderr(&out));
    assert!(stderr(&out).contains("Schleuder has no list nope@lists.example.org"), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("its lists: {SLIST}")), "{}", stderr(&out));
    assert!(!w.home.exists());
}

#[test]
fn a_second_import_is_refused_and_leaves_the_first_alone() {
    let Some(fx) = fixture() else { return };
    let w = World::new();
    imported(&w, fx, &[]);
    let before = (w.ok(&["list", "show", SLIST, "--json"]), w.ok(&["members", "ls", SLIST, "--json"]));
    let log = fs::read_to_string(w.home.join("lists").join(SLIST).join("log")).unwrap();
    let again = import(&w, fx, &[]);
    assert_eq!(code(&again), 65, "{}", stderr(&again));
    assert!(stderr(&again).contains(&format!("a listcrypt list {SLIST} already exists")), "{}", stderr(&again));
    assert_eq!(before, (w.ok(&["list", "show", SLIST, "--json"]), w.ok(&["members", "ls", SLIST, "--json"])));
    assert_eq!(log, fs::read_to_string(w.home.join("lists").join(SLIST).join("log")).unwrap());
}

#[test]
fn unusable_keys_are_all_named_and_refuse_the_import_unless_skipped() {
    let Some(fx) = fixture() else { return };
    let w = World::new();
    let db = changed_db(
        &w,
        fx,
        "INSERT INTO subscriptions (list_id, email, fingerprint, admin, delivery_enabled) VALUES \
           (1, 'dave@example.org', '0123456789ABCDEF0123456789ABCDEF01234567', 0, 1), \
           (1, 'erin@example.org', '', 0, 1); \
         UPDATE subscriptions SET email = 'frank@example.org' WHERE email = 'carol@example.org';",
    );
    let out = import_from(&w, fx, &db, &[]);
    assert_eq!(code(&out), 65, "{}{}", stdout(&out), stderr(&out));
    let (plan, error) = (stdout(&out), stderr(&out));
    let carol_rule =
        format!("refused by listcrypt's key rules: key {} has no user ID with frank@example.org", fx.fprs["carol"]);
    assert!(error.contains("listcrypt cannot take 3 of its subscriptions"), "{error}");
    assert!(error.contains("--skip-unusable-keys"), "{error}");
    for (who, why) in [
        ("dave@example.org", "key 0123456789ABCDEF0123456789ABCDEF01234567 is not in the Schleuder list's keyring"),
        ("erin@example.org", "has no key in Schleuder"),
        ("frank@example.org", carol_rule.as_str()),
    ] {
        assert!(error.contains(who), "{who} named in: {error}");
        assert!(plan.contains(&format!("  {who}: {why}")), "{who}: {why} in:\n{plan}");
    }
    assert_nothing_made(&w);

    let transport = format!("sendmail:{}", w.sendmail.display());
    let skipped = import_from(&w, fx, &db, &["--skip-unusable-keys", "--transport", &transport]);
    assert!(skipped.status.success(), "{}", stderr(&skipped));
    w.use_outbox(SLIST);
    let plan = stdout(&skipped);
    assert!(plan.contains("skipped (--skip-unusable-keys): not imported:"), "{plan}");
    assert!(plan.contains("imported secret@lists.example.org: 3 members"), "{plan}");
    let members = json(&w.ok(&["members", "ls", SLIST, "--json"]));
    let mut addresses: Vec<&str> = members.as_array().unwrap().iter().map(|m| m["address"].as_str().unwrap()).collect();
    addresses.sort();
    assert_eq!(addresses, ["admin@example.org", "alice@example.org", "bob@example.org"]);
    let log = fs::read_to_string(w.home.join("lists").join(SLIST).join("log")).unwrap();
    assert!(log.contains("subscription frank@example.org skipped"), "{log}");
}

#[test]
fn a_list_none_of_whose_admins_can_come_along_is_refused_even_when_skipping() {
    let Some(fx) = fixture() else { return };
    let w = World::new();
    let db = changed_db(&w, fx, "UPDATE subscriptions SET fingerprint = '' WHERE admin = 1;");
    for extra in [&[][..], &["--skip-unusable-keys"][..]] {
        let out = import_from(&w, fx, &db, extra);
        assert_eq!(code(&out), 65, "{}", stderr(&out));
        assert!(
            stderr(&out)
                .contains("no admin of the Schleuder list secret@lists.example.org has a key listcrypt can take"),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("admin@example.org: has no key in Schleuder"), "{}", stderr(&out));
        assert_nothing_made(&w);
    }
}

#[test]
fn a_database_that_is_not_a_schleuder_schema_listcrypt_knows_is_refused() {
    let Some(fx) = fixture() else { return };
    let w = World::new();
    let empty = w.dir.path().join("empty.sqlite");
    fs::write(&empty, b"").unwrap();
    let text = w.dir.path().join("text.sqlite");
    fs::write(&text, "lists:\n  - secret@lists.example.org\n".repeat(20)).unwrap();
    let cases: Vec<(PathBuf, i32, &str)> = vec![
        (empty, 65, "is not a Schleuder database listcrypt knows: it has no table schema_migrations"),
        (changed_db(&w, fx, "DROP TABLE subscriptions;"), 65, "it has no table subscriptions"),
        (
            changed_db(&w, fx, "INSERT INTO schema_migrations VALUES ('20990101000000');"),
            65,
            "its newest migration is 20990101000000, and listcrypt reads Schleuder 4.0's (20211107151309)",
        ),
        (
            changed_db(&w, fx, "ALTER TABLE subscriptions DROP COLUMN delivery_enabled;"),
            65,
            "its table subscriptions has no column delivery_enabled",
        ),
        (text, 65, "is not an SQLite database"),
        (w.dir.path().join("missing.sqlite"), 66, "cannot read Schleuder's database"),
    ];
    for (db, want, message) in cases {
        let out = import_from(&w, fx, &db, &[]);
        assert_eq!(code(&out), want, "{}: {}", db.display(), stderr(&out));
        assert!(stderr(&out).contains(message), "{message:?} in {}", stderr(&out));
        assert_nothing_made(&w);
    }
}

#[test]
fn a_list_only_its_admins_may_post_to_is_refused() {
    let Some(fx) = fixture() else { return };
    let w = World::new();
    let db = changed_db(&w, fx, "UPDATE lists SET receive_admin_only = 1;");
    let out = import_from(&w, fx, &db, &[]);
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(stderr(&out).contains("takes posts from its admins only (receive_admin_only)"), "{}", stderr(&out));
    assert!(stderr(&out).contains("schleuder-cli lists set secret@lists.example.org receive_admin_only false"));
    assert_nothing_made(&w);
}

#[test]
fn notify_tells_each_member_once_encrypted_and_signed_by_the_list() {
    let Some(fx) = fixture() else { return };
    let w = World::new();
    let plan = imported(&w, fx, &["--notify"]);
    assert!(plan.contains("notified 4 members that the list moved"), "{plan}");
    assert_eq!(w.mails().len(), 4);
    for name in ["admin", "alice", "bob", "carol"] {
        let member = person(&w, fx, name);
        let mails = w.mails_to(&member.address);
        assert_eq!(mails.len(), 1, "one notice for {name}");
        assert!(!mails[0].text().contains("has moved"), "never in clear");
        let opened = member.decrypt(&mails[0].armored());
        assert!(opened.ok, "{}", opened.status);
        assert_eq!(opened.good_signer().as_deref(), Some(fx.list_fpr.as_str()), "signed by the list");
        assert!(opened.plaintext.contains(&format!("The mailing list {SLIST} has moved from Schleuder to listcrypt")));
        assert!(opened.plaintext.contains(&fx.list_fpr), "the unchanged fingerprint");
        assert_eq!(opened.plaintext.contains("Delivery to you is paused"), name == "bob");
    }
}

#[test]
fn root_never_builds_a_list_in_a_home_another_user_owns() {
    let Some(fx) = fixture() else { return };
    let w = World::new();
    fs::create_dir_all(&w.home).unwrap();
    std::os::unix::fs::chown(&w.home, Some(65534), Some(65534)).unwrap();
    let out = w.run(&[
        "list",
        "import-schleuder",
        SLIST,
        "--schleuder-db",
        fx.db.to_str().unwrap(),
        "--schleuder-lists-dir",
        fx.lists_dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert!(stderr(&out).contains("run the import as that user"), "{}", stderr(&out));
    assert!(!w.home.join("lists").join(SLIST).exists(), "nothing was made");
}
