//! `list import-schleuder`: moves a Schleuder 4.0 list here in one step,
//! with the same address and the same key pair (members already trust its
//! fingerprint), every subscription with its pinned key, and the settings
//! whose meaning listcrypt shares; every other setting is named with what
//! listcrypt does instead.
//!
//! 1. Schleuder's database is read, read-only ([`db`]); its list home is
//!    copied and read in a scratch home ([`snapshot`]).
//! 2. The list is made through `list create` (the list's secret key
//!    imported), its members' keys through the one key-intake path
//!    ([`members`]); a dry run does both in a scratch home and discards it.
//! 3. Any refusal leaves nothing behind: the half-made list is deleted.

mod db;
mod mapping;
mod members;
mod moved;
mod snapshot;

pub use mapping::SettingLine;
pub use members::{ImportedMember, Unusable};
pub use moved::NotNotified;

use crate::admin::list::{self as lists, ListKey};
use crate::error::{Error, Result};
use crate::home::{Home, ScratchDir};
use crate::list::List;
use crate::member::Role;
use crate::model::{Address, Fingerprint};
use crate::settings::Settings;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// Where Schleuder keeps its lists.
pub struct Source {
    /// Schleuder's SQLite database (`/var/lib/schleuder/db.sqlite`).
    pub db: PathBuf,
    /// Schleuder's `lists_dir` (`/var/lib/schleuder/lists`).
    pub lists_dir: PathBuf,
}

#[derive(Default)]
pub struct Options {
    pub dry_run: bool,
    /// Import the members listcrypt can take and name the others, instead of refusing.
    pub skip_unusable_keys: bool,
    /// Tell each member, encrypted and signed by the list, that it moved.
    pub notify: bool,
    /// The new list's transport (`list set` syntax); the default otherwise.
    pub transport: Option<String>,
}

/// What the import did or, for a dry run or a refusal, would do.
#[derive(Debug, Serialize)]
pub struct Report {
    pub list: Address,
    pub schleuder_db: PathBuf,
    /// The list key: the same key pair as in Schleuder.
    pub fingerprint: Fingerprint,
    pub dry_run: bool,
    /// The list exists here now.
    pub imported: bool,
    pub members: Vec<ImportedMember>,
    /// Subscriptions listcrypt cannot take: the import is refused while there
    /// are any, unless `skip_unusable_keys` leaves them out.
    pub unusable: Vec<Unusable>,
    pub skip_unusable_keys: bool,
    pub settings: Vec<SettingLine>,
    /// The new list's transport (not Schleuder's: its smtp_settings live in schleuder.yml).
    pub transport: String,
    /// Members the `--notify` notice did not reach.
    pub not_notified: Vec<NotNotified>,
    pub notified: usize,
    /// What the operator does next to move the mail over.
    pub switch_over: Vec<String>,
}

impl Report {
    /// The refusal, when subscriptions were unusable and not to be skipped.
    pub fn refusal(&self) -> Option<Error> {
        if self.unusable.is_empty() || self.skip_unusable_keys {
            return None;
        }
        let names: Vec<&str> = self.unusable.iter().map(|u| u.subscription.as_str()).collect();
        Some(
            Error::data(format!(
                "the import of {} is refused, nothing was changed: listcrypt cannot take {} of its subscriptions ({})",
                self.list,
                self.unusable.len(),
                names.join(", ")
            ))
            .hint("fix their keys in Schleuder, or import the others with --skip-unusable-keys"),
        )
    }
}

/// Imports the Schleuder list `address` into `home` (or, with `dry_run`,
/// into a scratch home that is then removed).
pub fn import(home: &Home, address: &Address, source: &Source, options: &Options) -> Result<Report> {
    refuse_foreign_home(home)?;
    refuse_existing(home, address)?;
    let plan = read_schleuder(address, source, options)?;
    let scratch = options.dry_run.then(ScratchDir::new).transpose()?;
    let target = scratch.as_ref().map_or_else(|| home.clone(), |s| Home::new(s.path()));
    let new_folders = missing_folders(&target);
    let (list, mut report) = make(&target, address, source, options, plan, &new_folders)?;
    let refused = report.refusal().is_some();
    let admin_left = report.members.iter().any(|m| m.role == Role::Admin);
    if options.dry_run || refused || !admin_left {
        discard(&target, address, &new_folders);
        return match refused || admin_left {
            true => Ok(report),
            false => Err(no_admin(address, &report.unusable)),
        };
    }
    log_import(&list, &report);
    if options.notify {
        let settings = list.store()?.settings()?;
        report.not_notified = moved::notify_all(&list, &report.fingerprint, &settings, &report.members);
        report.notified = report.members.len() - report.not_notified.len();
    }
    list.keyring.stop_agent();
    report.imported = true;
    report.switch_over = switch_over(address);
    Ok(report)
}

/// What Schleuder has, read without changing anything anywhere.
struct Plan {
    fingerprint: Fingerprint,
    list_key: zeroize::Zeroizing<Vec<u8>>,
    mapped: mapping::Mapped,
    candidates: Vec<members::Candidate>,
    unusable: Vec<Unusable>,
    first_admin: Address,
}

fn read_schleuder(address: &Address, source: &Source, options: &Options) -> Result<Plan> {
    let found = db::read(&source.db, address)?;
    let mut mapped = mapping::map(&found.settings, address.as_str())?;
    if let Some(transport) = &options.transport {
        mapped.settings.set("transport", transport)?;
    }
    let fingerprint = Fingerprint::parse(&found.fingerprint)
        .map_err(|_| Error::data(format!("Schleuder's list {address} has no valid key fingerprint")))?;
    let copy = snapshot::Snapshot::of(&source.lists_dir, &found.email)?;
    let list_key = list_secret_key(copy.keyring(), &fingerprint)?;
    let (candidates, unusable) = members::gather(copy.keyring(), &found.subscriptions)?;
    let Some(first_admin) = candidates.iter().find(|c| c.role == Role::Admin).map(|c| c.address.clone()) else {
        return Err(no_admin(address, &unusable));
    };
    Ok(Plan { fingerprint, list_key, mapped, candidates, unusable, first_admin })
}

/// Makes the list in `target` with its key, settings and members; a
/// failure deletes it again.
fn make(
    target: &Home,
    address: &Address,
    source: &Source,
    options: &Options,
    mut plan: Plan,
    new_folders: &[PathBuf],
) -> Result<(List, Report)> {
    let key = ListKey::Import(std::mem::take(&mut *plan.list_key));
    // A failed create leaves no list of its own, and may have met someone
    // else's: only the folders made for it go.
    lists::create(target, address, &plan.first_admin, key).inspect_err(|_| remove_folders(new_folders))?;
    let list = List::open(target, address).map_err(|e| undo(target, address, new_folders, e))?;
    let (members, refused) = populate(&list, plan.candidates, &plan.first_admin, &plan.mapped.settings)
        .map_err(|e| undo(target, address, new_folders, e))?;
    plan.unusable.extend(refused);
    let report = Report {
        list: address.clone(),
        schleuder_db: source.db.clone(),
        fingerprint: plan.fingerprint,
        dry_run: options.dry_run,
        imported: false,
        members,
        unusable: plan.unusable,
        skip_unusable_keys: options.skip_unusable_keys,
        settings: plan.mapped.lines,
        transport: plan.mapped.settings.transport.to_string(),
        not_notified: vec![],
        notified: 0,
        switch_over: vec![],
    };
    Ok((list, report))
}

fn refuse_existing(home: &Home, address: &Address) -> Result<()> {
    if home.list(address).dir.exists() {
        return Err(Error::data(format!("a listcrypt list {address} already exists in {}", home.root().display()))
            .hint(format!("nothing was changed; to import it again, `listcrypt list delete {address} --yes` first")));
    }
    Ok(())
}

/// The list's secret key from the copy of Schleuder's keyring.
fn list_secret_key(keyring: &crate::gpg::Keyring, fingerprint: &Fingerprint) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let missing = || {
        Error::data(format!("the Schleuder list's keyring has no secret key {fingerprint}"))
            .hint("check --schleuder-lists-dir: the list's home there must hold its private-keys-v1.d")
    };
    if !keyring.key_info(fingerprint).map_err(|_| missing())?.has_secret {
        return Err(missing());
    }
    keyring.export_secret(fingerprint).map_err(|e| {
        Error::data(format!("the list's secret key could not be exported: {}", e.message()))
            .hint("a Schleuder list key has no passphrase; if this one has, remove it with `gpg --change-passphrase` in a copy")
    })
}

/// Members and settings into the new list; the placeholder admin that
/// `list create` made leaves again if their key was refused.
fn populate(
    list: &List,
    candidates: Vec<members::Candidate>,
    first_admin: &Address,
    settings: &Settings,
) -> Result<(Vec<ImportedMember>, Vec<Unusable>)> {
    let (imported, refused) = members::admit_all(list, candidates)?;
    let store = list.store()?;
    store.put_settings(settings)?;
    if !imported.iter().any(|m| &m.address == first_admin) {
        store.remove_member(first_admin)?;
    }
    for member in &imported {
        store.put_member(&members::member_record(member))?;
    }
    store.flush()?;
    Ok((imported, refused))
}

/// The home and its `lists` folder, where they do not exist yet.
fn missing_folders(home: &Home) -> Vec<PathBuf> {
    [home.root().to_path_buf(), home.root().join("lists")].into_iter().filter(|d| !d.exists()).collect()
}

/// Deletes the list made here, and the folders made for it: a dry run or a
/// refused import leaves nothing behind.
fn discard(home: &Home, address: &Address, new_folders: &[PathBuf]) {
    let _ = lists::delete(home, address);
    remove_folders(new_folders);
}

fn remove_folders(new_folders: &[PathBuf]) {
    for folder in new_folders.iter().rev() {
        let _ = std::fs::remove_dir(folder);
    }
}

/// [`discard`]s a half-made list; the error that stopped it is what counts.
fn undo(home: &Home, address: &Address, new_folders: &[PathBuf], e: Error) -> Error {
    discard(home, address, new_folders);
    e
}

/// Refuses a list none of whose admins can come along; names why not.
fn no_admin(address: &Address, unusable: &[Unusable]) -> Error {
    let why: String = unusable.iter().map(|u| format!("; {}: {}", u.subscription, u.reason)).collect();
    Error::data(format!(
        "no admin of the Schleuder list {address} has a key listcrypt can take, and a list needs one{why}"
    ))
    .hint(format!(
        "make a subscriber with a usable key an admin: `schleuder-cli subscriptions set {address} ADDRESS admin true`"
    ))
}

fn log_import(list: &List, report: &Report) {
    let home = &list.home;
    crate::log::event(
        home,
        &format!("imported from Schleuder ({}), key {} unchanged", report.schleuder_db.display(), report.fingerprint),
    );
    for m in &report.members {
        crate::log::event(
            home,
            &format!("key {} of {} verified: pinned in Schleuder by its admins", m.fingerprint, m.address),
        );
    }
    for u in &report.unusable {
        crate::log::event(home, &format!("subscription {} skipped: {}", u.subscription, u.reason));
    }
}

/// Root must not build a list inside a home another user owns: that user
/// could swap the folders being built (gpg would then read their gpg.conf
/// as root) or links being handed over. The import runs as the home's owner.
fn refuse_foreign_home(home: &Home) -> Result<()> {
    let Some(owner) = home.foreign_owner() else { return Ok(()) };
    let me = rustix::process::geteuid().as_raw();
    Err(Error::new(
        crate::error::ErrorKind::Permission,
        format!("{} belongs to uid {owner}: run the import as that user, not as uid {me}", home.root().display()),
    )
    .hint("give it read access to Schleuder's files first, e.g. `setfacl -R -m u:listcrypt:rX /var/lib/schleuder`, then `sudo -u listcrypt listcrypt list import-schleuder ...`"))
}

/// The steps that move the list's mail from Schleuder to listcrypt.
fn switch_over(address: &Address) -> Vec<String> {
    vec![
        format!("Until you switch the mail over, Schleuder still receives {address}'s mail."),
        "1. `listcrypt mta postfix` prints the Postfix lines for this home; its aliases and recipients maps already name the list.".into(),
        format!("2. In Postfix, take {address} and its -request, -owner and -bounces addresses away from Schleuder (its transport or aliases), add listcrypt's lines, then `postfix reload`."),
        "3. Run `listcrypt flush` every five minutes and `listcrypt keys check` daily (cron or the systemd timers in contrib/systemd).".into(),
        format!("4. Once mail flows, retire the old list: `schleuder-cli lists delete {address}`."),
        "The list key has no passphrase, as in Schleuder: `listcrypt list unlock` is not needed.".into(),
    ]
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Schleuder list {} ({})", self.list, self.schleuder_db.display())?;
        writeln!(f, "key: {} (the same key pair: members keep the fingerprint they trust)", self.fingerprint)?;
        writeln!(
            f,
            "\nmembers ({}; keys pinned in Schleuder come in verified, without a challenge):",
            self.members.len()
        )?;
        for m in &self.members {
            let role = if m.role == Role::Admin { "admin" } else { "member" };
            let paused = if m.delivery { "" } else { ", paused (delivery was disabled in Schleuder)" };
            writeln!(f, "  {}\t{role}\t{}\tverified{paused}", m.address, m.fingerprint)?;
        }
        if !self.unusable.is_empty() {
            let what = match self.skip_unusable_keys {
                true => "skipped (--skip-unusable-keys): not imported",
                false => "unusable: the import is refused",
            };
            writeln!(f, "\n{what}:")?;
            for u in &self.unusable {
                writeln!(f, "  {}: {}", u.subscription, u.reason)?;
            }
        }
        writeln!(f, "\nsettings (Schleuder -> listcrypt):")?;
        for line in &self.settings {
            writeln!(f, "  {line}")?;
        }
        writeln!(
            f,
            "  every other listcrypt setting keeps its default (`listcrypt list show`); transport = {}",
            self.transport
        )?;
        writeln!(f)?;
        self.fmt_outcome(f)
    }
}

impl Report {
    fn fmt_outcome(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.imported {
            let would = match self.refusal() {
                Some(_) => "the import is refused",
                None => "without --dry-run the list is imported as shown",
            };
            return writeln!(f, "nothing was changed: {would}");
        }
        writeln!(f, "imported {}: {} members, key {} unchanged", self.list, self.members.len(), self.fingerprint)?;
        if self.notified > 0 || !self.not_notified.is_empty() {
            writeln!(f, "notified {} members that the list moved", self.notified)?;
        }
        for missed in &self.not_notified {
            writeln!(f, "  not notified: {}: {}", missed.member, missed.reason)?;
        }
        writeln!(f)?;
        self.switch_over.iter().try_for_each(|step| writeln!(f, "{step}"))
    }
}
