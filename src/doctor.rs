//! `doctor`: checks a listcrypt installation the way an admin would after
//! set-up and after every change, and says how to fix what is wrong.
//!
//! Each check is independent and reports `ok`, `warn` (works now, needs
//! attention soon) or `fail` (mail is or will be lost or stuck). Nothing is
//! changed, nothing is sent.

use crate::entry::Stage;
use crate::error::ErrorKind;
use crate::home::Home;
use crate::list::List;
use crate::model::{now, Address};
use crate::settings::Transport;
use serde::Serialize;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Warn this long before the list key (or its encryption subkey) expires.
pub const KEY_EXPIRY_WARNING: u64 = 30 * 86_400;
/// Entries that should move on by themselves, waiting longer than this, are stuck.
const STUCK_AFTER: u64 = 3600;
/// A flush within this long counts as a flush timer or cron line at work.
const RECENT_FLUSH: u64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One finding.
#[derive(Debug, Serialize)]
pub struct Check {
    /// What was checked (`home`, `list key`, `transport`, ...).
    pub check: &'static str,
    /// The list it is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<Address>,
    pub status: Status,
    pub detail: String,
    /// What to do, when something is to be done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn new(check: &'static str, list: Option<&Address>, status: Status, detail: impl Into<String>) -> Check {
        Check { check, list: list.cloned(), status, detail: detail.into(), fix: None }
    }

    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// Every check, for every list in `home`.
pub fn examine(home: &Home) -> Vec<Check> {
    let mut checks = vec![check_home(home)];
    // Run as another user (root, say), opening a store or starting an agent
    // would leave files the list user cannot use: stop at the first finding.
    if home.foreign_owner().is_some() {
        return checks;
    }
    let lists = match home.list_addresses() {
        Ok(lists) => lists,
        Err(e) => {
            checks.push(Check::new("lists", None, Status::Fail, e.message().to_string()));
            return checks;
        }
    };
    if lists.is_empty() {
        checks.push(
            Check::new("lists", None, Status::Warn, "no list in this home")
                .fix("create one: listcrypt list create LIST --admin ADDR --key-file KEY"),
        );
    }
    for address in &lists {
        checks.extend(check_list(home, address));
    }
    checks.extend(check_postfix(home, &lists));
    checks.push(check_flush_schedule(home));
    checks
}

/// The home belongs to this user and nobody else can write to it (the MTA
/// may read it: the maps are there; each list's own folder is private).
fn check_home(home: &Home) -> Check {
    folder("home", None, home.root(), 0o022)
}

/// `path` is a folder of this user whose mode has none of the `forbidden` bits.
fn folder(check: &'static str, list: Option<&Address>, path: &Path, forbidden: u32) -> Check {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            return Check::new(check, list, Status::Fail, format!("{}: {e}", path.display()))
                .fix("create it (the package does), or give the right --home")
        }
    };
    let me = rustix::process::geteuid().as_raw();
    let mode = meta.permissions().mode() & 0o777;
    if meta.uid() != me {
        return Check::new(
            check,
            list,
            Status::Fail,
            format!("{} belongs to uid {}, not to this user ({me})", path.display(), meta.uid()),
        )
        .fix(format!("run listcrypt as the owner, or chown -R {me} {}", path.display()));
    }
    if mode & forbidden != 0 {
        return Check::new(
            check,
            list,
            Status::Fail,
            format!("{} has mode {mode:o}: others can reach what it holds", path.display()),
        )
        .fix(format!("chmod {:o} {}", mode & !forbidden, path.display()));
    }
    Check::new(check, list, Status::Ok, format!("{} (mode {mode:o})", path.display()))
}

fn check_list(home: &Home, address: &Address) -> Vec<Check> {
    let list = match List::open(home, address) {
        Ok(list) => list,
        Err(e) => return vec![Check::new("list", Some(address), Status::Fail, e.message().to_string())],
    };
    let mut checks = vec![
        folder("list folder", Some(address), &list.home.dir, 0o077),
        folder("gnupg home", Some(address), &list.home.gnupg_dir(), 0o077),
    ];
    let store = match list.store() {
        Ok(store) => store,
        Err(e) => {
            checks.push(
                Check::new("store", Some(address), Status::Fail, e.message().to_string())
                    .fix("if another listcrypt run holds it, try again; else restore the store from a backup"),
            );
            return checks;
        }
    };
    let facts = (|| Ok::<_, crate::Error>((store.list_record()?, store.settings()?, store.entries()?)))();
    drop(store);
    let (record, settings, entries) = match facts {
        Ok(facts) => facts,
        Err(e) => {
            checks.push(Check::new("store", Some(address), Status::Fail, e.message().to_string()));
            return checks;
        }
    };
    checks.push(check_queue(address, &entries));
    checks.extend(check_list_key(&list, address, &record.fingerprint));
    checks.push(check_transport(address, &settings.transport));
    checks
}

/// No entry waits in a stage it should leave by itself.
fn check_queue(address: &Address, entries: &[crate::entry::Entry]) -> Check {
    let at = now();
    let stuck: Vec<String> = entries
        .iter()
        .filter(|e| e.stage != Stage::Held && at.saturating_sub(e.received) > STUCK_AFTER)
        .map(|e| format!("{} ({}, {} min)", e.id, e.stage, at.saturating_sub(e.received) / 60))
        .collect();
    let held = entries.iter().filter(|e| e.stage == Stage::Held).count();
    if stuck.is_empty() {
        return Check::new(
            "queue",
            Some(address),
            Status::Ok,
            format!("{} entries, {held} held for an admin", entries.len()),
        );
    }
    Check::new("queue", Some(address), Status::Fail, format!("waiting over an hour: {}", stuck.join(", "))).fix(
        format!("see `listcrypt queue ls {address}` for why (a locked key, the transport), then `listcrypt flush`"),
    )
}

/// The list key: the agent answers, it signs (unlocked or needs no
/// passphrase), it can encrypt, and it does not expire within 30 days.
fn check_list_key(list: &List, address: &Address, fpr: &crate::Fingerprint) -> Vec<Check> {
    let info = match list.keyring.key_info(fpr) {
        Ok(info) => info,
        Err(e) => return vec![Check::new("list key", Some(address), Status::Fail, e.message().to_string())],
    };
    let mut checks = vec![match list.keyring.sign_detached(fpr, b"listcrypt doctor") {
        Ok(_) => Check::new("list key unlocked", Some(address), Status::Ok, format!("{fpr} signs")),
        Err(e) if e.kind() == ErrorKind::Permission => {
            Check::new("list key unlocked", Some(address), Status::Fail, "locked: posts wait in the queue")
                .fix(format!("listcrypt list unlock {address} < passphrase-file (or the listcrypt-unlock@ unit)"))
        }
        Err(e) => Check::new("list key unlocked", Some(address), Status::Fail, format!("gpg-agent: {}", e.message()))
            .fix("check that this user can start gpg-agent (gpgconf --homedir GNUPG-HOME --launch gpg-agent)"),
    }];
    let at = now();
    let until = [info.expires, info.encrypt_until].into_iter().flatten().min();
    checks.push(match (info.revoked, info.expired, info.can_sign && info.can_encrypt, until) {
        (true, _, _, _) => Check::new("list key life", Some(address), Status::Fail, "revoked"),
        (_, true, _, _) => Check::new("list key life", Some(address), Status::Fail, "expired")
            .fix(format!("listcrypt list extend-key {address}")),
        (_, _, false, _) => {
            Check::new("list key life", Some(address), Status::Fail, "no usable signing and encryption (sub)keys")
        }
        (_, _, _, Some(until)) if until <= at + KEY_EXPIRY_WARNING => Check::new(
            "list key life",
            Some(address),
            Status::Warn,
            format!("expires in {} days", until.saturating_sub(at) / 86_400),
        )
        .fix(format!("listcrypt list extend-key {address}")),
        (_, _, _, until) => Check::new(
            "list key life",
            Some(address),
            Status::Ok,
            match until {
                Some(until) => format!("usable for {} more days", (until - at) / 86_400),
                None => "does not expire".into(),
            },
        ),
    });
    checks
}

/// The transport: SMTP answers EHLO, or the sendmail program is there.
fn check_transport(address: &Address, transport: &Transport) -> Check {
    let check = |status, detail: String| Check::new("transport", Some(address), status, detail);
    match transport {
        Transport::Discard => check(Status::Warn, "discard: the list sends nothing".into())
            .fix(format!("listcrypt list set {address} transport sendmail")),
        Transport::Sendmail(path) => {
            let runnable = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
            if runnable {
                check(Status::Ok, format!("sendmail:{path}"))
            } else {
                check(Status::Fail, format!("sendmail:{path} is not an executable file"))
                    .fix("install the MTA's sendmail, or set transport smtp://127.0.0.1:25")
            }
        }
        // The session every send opens: EHLO, STARTTLS off loopback, login when set.
        Transport::Smtp { host, port } => match crate::transport::probe(host, *port, Duration::from_secs(10)) {
            Ok(()) => check(Status::Ok, format!("smtp://{host}:{port} accepts a session as sends open it")),
            Err(why) => check(Status::Fail, format!("smtp://{host}:{port}: {why}"))
                .fix("start the MTA, or point the transport at one that listens"),
        },
    }
}

/// Postfix, when it is here: bounce tags reach `-bounces`, and one recipe delivers to listcrypt.
fn check_postfix(home: &Home, lists: &[Address]) -> Vec<Check> {
    let Some(postconf) = ["/usr/sbin/postconf", "/usr/bin/postconf"].into_iter().find(|p| Path::new(p).exists()) else {
        return vec![];
    };
    let config = std::env::var("MAIL_CONFIG").unwrap_or_else(|_| "/etc/postfix".into());
    if !Path::new(&config).join("main.cf").exists() {
        return vec![Check::new("postfix", None, Status::Warn, format!("installed, but {config}/main.cf is missing"))
            .fix("configure Postfix (dpkg-reconfigure postfix), then add the lines of `listcrypt mta postfix`")];
    }
    let value = |name: &str| {
        Command::new(postconf)
            .args(["-h", name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let mut checks = vec![];
    checks.push(match value("recipient_delimiter") {
        Ok(d) if d.contains('+') => Check::new("postfix", None, Status::Ok, format!("recipient_delimiter = {d}")),
        Ok(d) => Check::new(
            "postfix",
            None,
            Status::Fail,
            format!("recipient_delimiter = {d:?}: LIST-bounces+TAG is an unknown user, bounce handling stops"),
        )
        .fix("postconf -e 'recipient_delimiter = +' && postfix reload"),
        Err(e) => Check::new("postfix", None, Status::Fail, format!("postconf: {e}")),
    });
    if lists.is_empty() {
        return checks;
    }
    let root = std::fs::canonicalize(home.root()).unwrap_or_else(|_| home.root().to_path_buf());
    let aliases = root.join("aliases");
    let recipients = root.join("recipients");
    let names = |setting: &str| value(setting).unwrap_or_default();
    let by_alias = names("alias_maps").contains(&aliases.display().to_string());
    let master = Command::new(postconf)
        .arg("-M")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let by_transport = master.lines().any(|l| l.contains(" receive ") && l.contains(&root.display().to_string()));
    let mapped = [names("virtual_mailbox_maps"), names("relay_recipient_maps")]
        .iter()
        .any(|m| m.contains(&recipients.display().to_string()));
    let me = rustix::process::geteuid().as_raw();
    if by_alias {
        let db = aliases.with_extension("db");
        checks.push(match std::fs::metadata(&db) {
            Ok(meta) if meta.uid() == me => Check::new(
                "postfix aliases",
                None,
                Status::Ok,
                format!("alias_maps has {}; commands run as uid {me}", aliases.display()),
            ),
            Ok(meta) => Check::new(
                "postfix aliases",
                None,
                Status::Fail,
                format!("{} belongs to uid {}: local(8) runs the commands as that user", db.display(), meta.uid()),
            )
            .fix(format!("chown {me} {} {}", aliases.display(), db.display())),
            Err(_) => Check::new("postfix aliases", None, Status::Fail, format!("{} is missing", db.display()))
                .fix("listcrypt mta maps"),
        });
    }
    if by_transport {
        checks.push(if mapped {
            Check::new("postfix transport", None, Status::Ok, format!("a pipe transport runs `receive`; {} lists the addresses", recipients.display()))
        } else {
            Check::new("postfix transport", None, Status::Warn, format!("a pipe transport runs `receive`, but no recipient map names {}", recipients.display()))
                .fix("virtual_mailbox_maps = hash:HOME/recipients (see `listcrypt mta postfix`): unknown lists are then refused at SMTP time")
        });
    }
    if !by_alias && !by_transport {
        checks.push(
            Check::new(
                "postfix",
                None,
                Status::Fail,
                "Postfix delivers nothing to listcrypt: no alias map or transport of this home",
            )
            .fix("add the lines `listcrypt mta postfix` prints"),
        );
    }
    checks
}

/// Something runs `flush`: a recent run, a systemd timer, or a cron line.
fn check_flush_schedule(home: &Home) -> Check {
    let stamp = home.root().join("last-flush");
    let recent = std::fs::metadata(&stamp)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() < RECENT_FLUSH);
    let timer = Command::new("systemctl")
        .args(["is-enabled", "--quiet", "listcrypt-flush.timer"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let cron = ["/etc/crontab", "/etc/cron.d"].iter().any(|p| mentions_flush(Path::new(p)));
    match (recent, timer, cron) {
        (_, true, _) => Check::new("flush schedule", None, Status::Ok, "listcrypt-flush.timer is enabled"),
        (_, _, true) => Check::new("flush schedule", None, Status::Ok, "a cron line runs listcrypt flush"),
        (true, _, _) => Check::new("flush schedule", None, Status::Ok, "flush ran within the hour"),
        _ => Check::new(
            "flush schedule",
            None,
            Status::Fail,
            "nothing runs `listcrypt flush`: deferred and locked posts would wait for ever",
        )
        .fix("systemctl enable --now listcrypt-flush.timer, or a cron line (README)"),
    }
}

fn mentions_flush(path: &Path) -> bool {
    let files: Vec<std::path::PathBuf> = match std::fs::read_dir(path) {
        Ok(dir) => dir.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => vec![path.to_path_buf()],
    };
    files.iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|text| {
            text.lines().any(|l| !l.trim_start().starts_with('#') && l.contains("listcrypt") && l.contains("flush"))
        })
    })
}

/// Marks that `flush` ran (the flush schedule check reads it).
pub fn note_flush(home: &Home) {
    let _ = std::fs::write(home.root().join("last-flush"), b"");
}
