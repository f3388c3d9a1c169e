//! The state one entry's step works on, read once when the entry is leased:
//! the list's record and settings, the entry and its (encrypted) payload,
//! and for distribution every member. gpg runs afterwards, with the store
//! closed; what a step then writes back it reads again under the store's
//! lock. `verify` reads only the members a mail involves, once it has opened
//! the mail (`Involved` in examine.rs): its work per post does not grow
//! with the list.

use super::{quarantine, quarantine_stalling};
use crate::entry::{Entry, Stage};
use crate::error::Result;
use crate::list::List;
use crate::member::Member;
use crate::model::{Address, Fingerprint};
use crate::policy::Reason;
use crate::settings::Settings;
use crate::store::{ListRecord, Store};

pub(super) struct Snapshot {
    pub(super) record: ListRecord,
    pub(super) settings: Settings,
    /// Who a post goes to, when the entry is outgoing (empty before).
    pub(super) roster: Roster,
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

/// Everyone a post may go to, read in one pass over the members without
/// keeping their records: about a hundred bytes a member, not their whole
/// record, so that distribution's memory barely grows with the list.
#[derive(Default)]
pub(super) struct Roster {
    /// The members whose delivery is on, each with the key to deliver to
    /// (none: no verified key).
    pub(super) receiving: Vec<(Address, Option<Fingerprint>)>,
    pub(super) admins: Vec<Member>,
}

impl Roster {
    fn read(store: &Store) -> Result<Roster> {
        let mut roster = Roster::default();
        store.each_member(|member| {
            if member.delivery {
                roster.receiving.push((member.address.clone(), member.delivery_key().cloned()));
            }
            if member.is_admin() {
                roster.admins.push(member);
            }
        })?;
        Ok(roster)
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
        roster: match stage {
            Stage::Outgoing => Roster::read(&store)?,
            _ => Roster::default(),
        },
        entry,
        payload,
    })))
}
