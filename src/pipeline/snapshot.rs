//! The state one entry's step works on, read once when the entry is leased:
//! the list's record, settings and members, the entry and its (encrypted)
//! payload. gpg runs afterwards, with the store closed; what a step then
//! writes back it reads again under the store's lock.

use super::{quarantine, quarantine_stalling};
use crate::entry::{Entry, Stage};
use crate::error::Result;
use crate::list::List;
use crate::member::Member;
use crate::policy::Reason;
use crate::settings::Settings;
use crate::store::ListRecord;

pub(super) struct Snapshot {
    pub(super) record: ListRecord,
    pub(super) settings: Settings,
    pub(super) members: Vec<Member>,
    pub(super) entry: Entry,
    /// The entry's message, encrypted to the list key.
    pub(super) payload: Vec<u8>,
}

impl Snapshot {
    /// This is the entry's first attempt at this stage.
    pub(super) fn first_attempt(&self) -> bool {
        self.entry.attempts == 1
    }
}

/// What leasing an entry found.
pub(super) enum Leased {
    Ready(Box<Snapshot>),
    /// Another run holds it, its back-off has not passed, or it is elsewhere.
    Skipped,
    /// It went to quarantine instead (runs kept stopping on it, or its
    /// stored message is missing).
    Quarantined(Reason),
}

/// Leases entry `id` in `stage` (an `explicit` request ignores the back-off)
/// and reads what its step needs.
pub(super) fn lease(list: &List, id: &str, stage: Stage, explicit: bool) -> Result<Leased> {
    let store = list.store()?;
    let Some(entry) = store.lease(id, stage, explicit)? else { return Ok(Leased::Skipped) };
    store.flush()?;
    if entry.is_stalling() {
        drop(store);
        quarantine_stalling(list, id)?;
        return Ok(Leased::Quarantined(Reason::GpgOverload));
    }
    let Some(payload) = store.payload(id)? else {
        drop(store);
        quarantine(list, id, "its stored message is missing")?;
        return Ok(Leased::Quarantined(Reason::Undecryptable));
    };
    Ok(Leased::Ready(Box::new(Snapshot {
        record: store.list_record()?,
        settings: store.settings()?,
        members: store.members()?,
        entry,
        payload,
    })))
}
