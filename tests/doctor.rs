//! `listcrypt doctor`: a healthy home passes; each item that can be broken
//! in a throwaway home is found, with its fix, and fails the run.

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A home with one list, its maps compiled for a Postfix configuration of
/// its own (MAIL_CONFIG), and a flush just run: everything doctor checks holds.
struct Healthy {
    w: World,
    postfix: PathBuf,
}

impl Healthy {
    fn new() -> Healthy {
        let w = World::new();
        let postfix = w.dir.path().join("postfix");
        fs::create_dir_all(&postfix).unwrap();
        let h = Healthy { w, postfix };
        h.w.generated_list("alice@example.org");
        h.main_cf("recipient_delimiter = +", true);
        h.listcrypt(&["mta", "maps"]);
        h.listcrypt(&["flush"]);
        h
    }

    /// Postfix's main.cf: this delimiter line, and the alias map of this home or none.
    fn main_cf(&self, delimiter: &str, alias_map: bool) {
        let home = fs::canonicalize(&self.w.home).unwrap();
        let aliases = if alias_map { format!("alias_maps = hash:{}/aliases\n", home.display()) } else { String::new() };
        fs::write(self.postfix.join("main.cf"), format!("compatibility_level = 3.6\n{delimiter}\n{aliases}")).unwrap();
    }

    fn listcrypt(&self, args: &[&str]) -> std::process::Output {
        self.w.cmd(args).env("MAIL_CONFIG", &self.postfix).output().unwrap()
    }

    /// doctor's exit code and its findings.
    fn doctor(&self) -> (i32, Vec<Value>) {
        let out = self.listcrypt(&["doctor", "--json"]);
        let findings: Value = serde_json::from_slice(&out.stdout).expect("doctor --json prints JSON");
        (code(&out), findings.as_array().unwrap().clone())
    }

    /// The one failed finding, asserting that there is exactly one and the run fails.
    fn failed(&self) -> Value {
        let (code, findings) = self.doctor();
        let failed: Vec<&Value> = findings.iter().filter(|f| f["status"] == "fail").collect();
        assert_eq!(failed.len(), 1, "one failure: {findings:#?}");
        assert_eq!(code, 1, "doctor fails the run");
        assert!(failed[0]["fix"].as_str().is_some_and(|f| !f.is_empty()), "each failure says its fix");
        failed[0].clone()
    }
}

fn postfix_installed() -> bool {
    Path::new("/usr/sbin/postconf").exists()
}

#[test]
fn a_healthy_home_passes() {
    let h = Healthy::new();
    let (code, findings) = h.doctor();
    assert_eq!(code, 0, "{findings:#?}");
    assert!(findings.iter().all(|f| f["status"] == "ok"), "{findings:#?}");
    let checks: Vec<&str> = findings.iter().map(|f| f["check"].as_str().unwrap()).collect();
    for expected in ["home", "list folder", "gnupg home", "queue", "list key unlocked", "list key life", "transport"] {
        assert!(checks.contains(&expected), "{expected} is checked: {checks:?}");
    }
    if postfix_installed() {
        assert!(checks.contains(&"postfix") && checks.contains(&"postfix aliases"), "{checks:?}");
    }
    let text = h.listcrypt(&["doctor"]);
    assert!(String::from_utf8_lossy(&text.stdout).lines().all(|l| l.starts_with("ok  ")), "text form");
}

#[test]
fn folders_others_can_reach_are_found() {
    let h = Healthy::new();
    let list_dir = h.w.home.join("lists").join(LIST);
    fs::set_permissions(&list_dir, fs::Permissions::from_mode(0o750)).unwrap();
    let failed = h.failed();
    assert_eq!(failed["check"], "list folder");
    assert_eq!(failed["fix"], format!("chmod 700 {}", list_dir.display()));
    fs::set_permissions(&list_dir, fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(&h.w.home, fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(h.failed()["check"], "home", "a home others can write to");
}

#[test]
fn a_transport_that_does_not_answer_is_found() {
    let h = Healthy::new();
    h.w.ok(&["list", "set", LIST, "transport", "smtp://127.0.0.1:9"]);
    let failed = h.failed();
    assert_eq!(failed["check"], "transport");
    assert!(failed["detail"].as_str().unwrap().contains("smtp://127.0.0.1:9"), "{failed}");
    h.w.ok(&["list", "set", LIST, "transport", "sendmail:/nonexistent/sendmail"]);
    assert_eq!(h.failed()["check"], "transport");
}

#[test]
fn postfix_without_bounce_tags_or_without_listcrypt_is_found() {
    if !postfix_installed() {
        panic!("Postfix is not installed: scripts/test installs it (no configuration) before the tests");
    }
    let h = Healthy::new();
    h.main_cf("recipient_delimiter =", true);
    let failed = h.failed();
    assert_eq!(failed["check"], "postfix");
    assert!(failed["detail"].as_str().unwrap().contains("bounce handling stops"), "{failed}");
    h.main_cf("recipient_delimiter = +", false);
    let failed = h.failed();
    assert!(failed["detail"].as_str().unwrap().contains("delivers nothing to listcrypt"), "{failed}");
}

#[test]
fn a_missing_flush_schedule_and_a_stuck_queue_are_found() {
    let h = Healthy::new();
    fs::remove_file(h.w.home.join("last-flush")).unwrap();
    assert_eq!(h.failed()["check"], "flush schedule");
    h.listcrypt(&["flush"]);

    // A post that has waited two hours in `incoming` (the list key was locked, say).
    let out = h.w.run_with_stdin(&["inject", LIST], b"From: bob@example.org\nSubject: x\n\nhello\n");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let home = listcrypt::Home::new(&h.w.home);
    let list = listcrypt::list::List::open(&home, &listcrypt::Address::parse(LIST).unwrap()).unwrap();
    let store = list.store().unwrap();
    let mut entry = store.entry(&id).unwrap().unwrap();
    entry.received -= 7200;
    store.put_entry(&entry).unwrap();
    store.flush().unwrap();
    drop(store);
    let failed = h.failed();
    assert_eq!(failed["check"], "queue");
    assert!(failed["detail"].as_str().unwrap().contains(&id), "{failed}");
}

#[test]
fn a_locked_list_key_and_one_about_to_expire_are_found() {
    let h = Healthy::new();
    // A list key with a passphrase, never unlocked.
    let (_, file) = h.w.owners_list_key("locked@example.org", "never", Some("secret words"));
    let created = h.listcrypt(&[
        "list",
        "create",
        "locked@example.org",
        "--admin",
        "a@example.org",
        "--key-file",
        file.to_str().unwrap(),
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    h.w.use_outbox("locked@example.org");
    let failed = h.failed();
    assert_eq!(
        (failed["check"].as_str(), failed["list"].as_str()),
        (Some("list key unlocked"), Some("locked@example.org"))
    );
    assert!(failed["fix"].as_str().unwrap().contains("listcrypt list unlock locked@example.org"));
    h.listcrypt(&["list", "delete", "locked@example.org", "--yes"]);

    // A list key that expires in ten days: a warning, the run still passes.
    let (_, file) = h.w.owners_list_key("soon@example.org", "10d", None);
    let created = h.listcrypt(&[
        "list",
        "create",
        "soon@example.org",
        "--admin",
        "a@example.org",
        "--key-file",
        file.to_str().unwrap(),
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    h.w.use_outbox("soon@example.org");
    let (code, findings) = h.doctor();
    assert_eq!(code, 0, "a warning does not fail the run: {findings:#?}");
    let warning = findings.iter().find(|f| f["status"] == "warn").expect("a warning");
    assert_eq!(warning["check"], "list key life");
    assert!(
        warning["detail"].as_str().unwrap().starts_with("expires in 9 days")
            || warning["detail"].as_str().unwrap().starts_with("expires in 10 days"),
        "{warning}"
    );
}
