//! `queue ls | show | release | discard`: what waits, and the admin's say on held mail.

use crate::entry::{valid_id, Entry, Stage};
use crate::error::{Error, Result};
use crate::home::Home;
use crate::list::List;
use crate::model::{now, utc, Address, Secret};
use crate::post::Post;
use serde::Serialize;

/// One line of `queue ls`.
#[derive(Debug, Serialize)]
pub struct EntryView {
    pub id: String,
    pub stage: Stage,
    pub received: String,
    pub age_seconds: u64,
    pub attempts: u32,
    pub next_attempt: Option<String>,
    pub last_error: Option<String>,
    pub held_reason: Option<String>,
}

impl From<&Entry> for EntryView {
    fn from(e: &Entry) -> Self {
        EntryView {
            id: e.id.clone(),
            stage: e.stage,
            received: utc(e.received),
            age_seconds: now().saturating_sub(e.received),
            attempts: e.attempts,
            next_attempt: (e.next_attempt > now()).then(|| utc(e.next_attempt)),
            last_error: e.last_error.clone(),
            held_reason: e.held_reason.clone(),
        }
    }
}

pub fn ls(home: &Home, address: &Address) -> Result<Vec<EntryView>> {
    let list = List::open(home, address)?;
    let mut entries = list.store()?.entries()?;
    entries.sort_by_key(|e| e.received);
    Ok(entries.iter().map(EntryView::from).collect())
}

fn existing(list: &List, id: &str) -> Result<(Entry, Vec<u8>)> {
    if !valid_id(id) {
        return Err(Error::data(format!("'{}' is not an entry id", crate::model::printable(id))));
    }
    let store = list.store()?;
    let entry = store.entry(id)?.ok_or_else(|| {
        Error::no_user(format!("no entry {id} in the queue of {}", list.address()))
            .hint(format!("see `listcrypt queue ls {}`", list.address()))
    })?;
    let payload = store.payload(id)?.ok_or_else(|| Error::config(format!("entry {id} has no payload")))?;
    Ok((entry, payload))
}

/// The entry decrypted: the mail as received, or an approved post's content.
pub fn show(home: &Home, address: &Address, id: &str) -> Result<Secret> {
    let list = List::open(home, address)?;
    let (entry, payload) = existing(&list, id)?;
    let limit = list.store()?.settings()?.max_decrypted_size();
    let opened = list.keyring.decrypt(&payload, limit).map_err(|e| match e {
        crate::gpg::DecryptFailure::Locked(err) | crate::gpg::DecryptFailure::Unavailable(err) => err,
        crate::gpg::DecryptFailure::Refused(why) => Error::config(format!("entry {id} cannot be opened: {why}")),
    })?;
    if entry.stage != Stage::Outgoing {
        return Ok(opened.plaintext);
    }
    let post = Post::decode(&opened.plaintext)?;
    let head = format!("X-Listcrypt-Author: {}\r\nX-Listcrypt-Subject: {}\r\n", post.author, post.subject);
    let mut out = Secret::new(Vec::with_capacity(head.len() + post.content.len()));
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&post.content);
    Ok(out)
}

/// Sends a held entry through `verify` again, approved whatever the rules
/// say; a quarantined entry goes back to the stage it was taken from, under
/// the rules as before (it was never judged, or was approved already).
pub fn release(home: &Home, address: &Address, id: &str) -> Result<()> {
    let list = List::open(home, address)?;
    let (mut entry, _) = existing(&list, id)?;
    if entry.stage != Stage::Held {
        return Err(Error::data(format!("entry {id} is {}, not held", entry.stage)));
    }
    match entry.quarantined_from.take() {
        Some(stage) => {
            entry.stage = stage;
            entry.stopped_runs = 0;
        }
        None => {
            entry.stage = Stage::Incoming;
            entry.released = true;
        }
    }
    entry.next_attempt = 0;
    entry.end_lease();
    let store = list.store()?;
    store.put_entry(&entry)?;
    store.flush()?;
    crate::log::event(&list.home, &format!("entry {id} released by an admin"));
    Ok(())
}

pub fn discard(home: &Home, address: &Address, id: &str) -> Result<()> {
    let list = List::open(home, address)?;
    existing(&list, id)?;
    let store = list.store()?;
    store.remove_entry(id)?;
    store.flush()?;
    crate::journal::remove(&list.home, id);
    crate::log::event(&list.home, &format!("entry {id} discarded by an admin"));
    Ok(())
}
