//! The mail pipeline: `inject` stores, `verify` decides, `distribute` sends,
//! `flush` retries and expires; `queue` lets admins see and steer held mail;
//! `bounce` counts delivery failures.

pub mod acceptance;
pub mod bounce;
pub mod distribute;
mod examine;
pub mod flush;
pub mod inject;
pub mod notify;
pub mod owner;
pub mod queue;
mod request;
mod snapshot;
pub mod verify;

use crate::entry::{Entry, Stage};
use crate::error::Result;
use crate::list::List;
use crate::member::Member;
use crate::model::Fingerprint;
use crate::notice;
use crate::settings::Settings;
use crate::store::Store;
use crate::transport;

/// The ids a stage works on: those given, else every entry in `stage` that is
/// ready (not leased, back-off passed), oldest first.
pub(crate) fn select(store: &Store, stage: Stage, given: &[String]) -> Result<Vec<String>> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    let at = crate::model::now();
    let mut ready: Vec<Entry> = store.entries()?.into_iter().filter(|e| e.stage == stage && e.is_ready(at)).collect();
    ready.sort_by_key(|e| e.received);
    Ok(ready.into_iter().map(|e| e.id).collect())
}

/// Sends a report to every admin among `admins`: encrypted to their verified key when they
/// have one, else in clear (reports never hold message content). Best effort:
/// a report that cannot be sent is logged, never a reason to stop.
pub fn tell_admins(
    list: &List,
    admins: &[Member],
    settings: &Settings,
    list_key: &Fingerprint,
    subject: &str,
    text: &str,
) {
    for admin in admins.iter().filter(|m| m.is_admin()) {
        let report = notice::admin_report(list.address(), &admin.address, subject, text);
        let sent = list
            .seal(&report, admin.delivery_key(), list_key)
            .and_then(|mail| transport::send(&settings.transport, &mail));
        if let Err(e) = sent {
            crate::log::event(&list.home, &format!("admin report to {} not sent: {}", admin.address, e.message()));
        }
    }
}

/// Gives an entry back to the queue untouched (e.g. the list key was locked).
pub(crate) fn release(list: &List, id: &str) -> Result<()> {
    let store = list.store()?;
    if let Some(mut entry) = store.entry(id)? {
        entry.undo_attempt();
        store.put_entry(&entry)?;
        store.flush()?;
    }
    Ok(())
}

/// Quarantines an entry on which too many runs stopped ([`Entry::is_stalling`]).
pub(crate) fn quarantine_stalling(list: &List, id: &str) -> Result<()> {
    let why = format!(
        "{} runs in a row stopped on it (gpg past its time limit, or the run was killed)",
        crate::entry::MAX_STOPPED_RUNS
    );
    quarantine(list, id, &why)
}

/// Extends this run's lease on a long job; false if another run has taken
/// the entry over (this one was too slow), and this run must stop.
pub(crate) fn renew_lease(list: &List, id: &str) -> Result<bool> {
    let store = list.store()?;
    let Some(mut entry) = store.entry(id)? else { return Ok(false) };
    if !entry.is_leased_by_me() {
        return Ok(false);
    }
    entry.take_lease(crate::model::now());
    store.put_entry(&entry)?;
    store.flush()?;
    Ok(true)
}

/// Leaves an entry for a later run, with back-off.
pub(crate) fn defer(list: &List, id: &str, why: &str) -> Result<()> {
    let store = list.store()?;
    if let Some(mut entry) = store.entry(id)? {
        entry.defer(why);
        store.put_entry(&entry)?;
        store.flush()?;
    }
    crate::log::event(&list.home, &format!("entry {id} deferred: {why}"));
    Ok(())
}

/// An entry that cannot be processed (its payload missing or damaged): held
/// for the admins with the reason, never retried forever.
pub(crate) fn quarantine(list: &List, id: &str, why: &str) -> Result<()> {
    let (admins, settings, record) = {
        let store = list.store()?;
        if let Some(mut entry) = store.entry(id)? {
            entry.quarantined_from = Some(entry.stage).filter(|s| *s != Stage::Held);
            entry.stage = Stage::Held;
            entry.end_attempt();
            entry.held_reason = Some(format!("quarantined: {why}"));
            store.put_entry(&entry)?;
            store.flush()?;
        }
        (store.admins()?, store.settings()?, store.list_record()?)
    };
    crate::log::event(&list.home, &format!("entry {id} quarantined: {why}"));
    let text = format!(
        "Entry {id} was quarantined: {why}.\r\nDrop it with `listcrypt queue discard {} {id}`.",
        list.address()
    );
    tell_admins(list, &admins, &settings, &record.fingerprint, "entry quarantined", &text);
    Ok(())
}
