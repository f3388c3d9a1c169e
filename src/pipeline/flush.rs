//! `flush` (cron or a systemd timer): for every list, expire entries older
//! than `queue_expiry` (admins are told), then verify and distribute whatever
//! is ready. One list's failure does not stop the others.

use crate::entry::Stage;
use crate::error::Result;
use crate::home::Home;
use crate::list::List;
use crate::model::{now, utc, Address};
use crate::pipeline::distribute::{distribute, DistributeReport};
use crate::pipeline::tell_admins;
use crate::pipeline::verify::{verify, VerifyReport};

/// What `flush` did for one list.
#[derive(Debug)]
pub struct ListFlush {
    pub list: Address,
    pub expired: Vec<String>,
    pub verified: VerifyReport,
    pub distributed: DistributeReport,
}

/// Flushes one list or all; returns each list's result (an error does not stop the others).
pub fn flush(home: &Home, only: Option<&Address>) -> Result<Vec<Result<ListFlush>>> {
    let lists = match only {
        Some(list) => vec![list.clone()],
        None => home.list_addresses()?,
    };
    Ok(lists.iter().map(|address| flush_list(home, address)).collect())
}

fn flush_list(home: &Home, address: &Address) -> Result<ListFlush> {
    let expired = expire(home, address)?;
    let verified = verify(home, address, &[])?;
    let distributed = distribute(home, address, &[])?;
    crate::pipeline::notify::send_digest(&List::open(home, address)?)?;
    Ok(ListFlush { list: address.clone(), expired, verified, distributed })
}

/// Drops entries older than `queue_expiry` and tells the admins.
fn expire(home: &Home, address: &Address) -> Result<Vec<String>> {
    let list = List::open(home, address)?;
    let (gone, admins, settings, record) = {
        let store = list.store()?;
        let settings = store.settings()?;
        let at = now();
        let old: Vec<_> = store
            .entries()?
            .into_iter()
            .filter(|e| e.received.saturating_add(settings.queue_expiry) < at && !e.is_leased(at))
            .collect();
        for entry in &old {
            store.remove_entry(&entry.id)?;
            crate::journal::remove(&list.home, &entry.id);
        }
        for orphan in store.orphan_payloads()? {
            store.remove_entry(&orphan)?;
        }
        store.prune(settings.max_signature_age)?;
        // Best effort, once a day: it reads every member.
        match store.check_member_index(86_400) {
            Ok(true) => crate::log::event(&list.home, "the member index did not match the member records: built again"),
            Ok(false) => {}
            Err(e) => crate::log::event(&list.home, &format!("the member index was not checked: {}", e.message())),
        }
        store.flush()?;
        let kept = (old, store.admins()?, settings, store.list_record()?);
        list.compact_store(store);
        kept
    };
    for entry in &gone {
        let why = entry.last_error.as_deref().or(entry.held_reason.as_deref()).unwrap_or("no error recorded");
        crate::log::event(&list.home, &format!("entry {} expired in stage {}: {why}", entry.id, entry.stage));
        let undelivered = if entry.stage == Stage::Outgoing { " Some members may not have received it." } else { "" };
        let text = format!(
            "Entry {} (received {}, {} attempts) expired in stage {}: {why}.{undelivered}",
            entry.id,
            utc(entry.received),
            entry.attempts,
            entry.stage
        );
        tell_admins(&list, &admins, &settings, &record.fingerprint, "entry expired", &text);
    }
    Ok(gone.into_iter().map(|e| e.id).collect())
}

impl ListFlush {
    /// One line for the terminal and the cron mail.
    pub fn summary(&self) -> String {
        format!(
            "{}: {} approved, {} held, {} rejected, {} discarded, {} sent, {} deferred, {} expired{}",
            self.list,
            self.verified.approved.len(),
            self.verified.held.len(),
            self.verified.rejected.len(),
            self.verified.discarded.len(),
            self.distributed.sent,
            self.distributed.deferred.len(),
            self.expired.len(),
            if self.verified.locked || self.distributed.locked { " (list key locked)" } else { "" }
        )
    }
}
