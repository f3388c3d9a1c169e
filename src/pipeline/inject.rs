//! `inject`: the only stage an MTA waits for. It stores the mail encrypted to
//! the list's public key (no secret key, so it works with the agent locked)
//! and flushes before exiting 0: from then on the mail is safe.

use crate::entry::Entry;
use crate::error::{Error, ErrorKind, Result};
use crate::home::Home;
use crate::list::List;
use crate::mime::parse::check_is_mail;
use crate::model::Address;
use std::io::Read;

/// Reads one message from `input`, checks it and queues it; returns the entry id.
///
/// Only a fault of the mail itself is permanent (`Data`: empty, too large,
/// not a mail; `NoUser`: no such list): the MTA bounces it. Every fault of
/// the host (a broken or unreadable list home, a settings record from a
/// newer version, gpg, the disk) is temporary, so the MTA keeps the mail
/// while the operator mends the host.
pub fn inject(home: &Home, address: &Address, input: impl Read, request: bool) -> Result<String> {
    queue_mail(home, address, input, request).map_err(|e| match e.kind() {
        ErrorKind::Data | ErrorKind::NoUser => e,
        _ => e.into_temporary(),
    })
}

fn queue_mail(home: &Home, address: &Address, input: impl Read, request: bool) -> Result<String> {
    let list = List::open(home, address)?;
    // gpgme's start-up (two gpg runs) goes on while the store is read.
    let (record, settings) = std::thread::scope(|scope| {
        scope.spawn(|| list.keyring.prepare());
        let store = list.store()?;
        Ok::<_, Error>((store.list_record()?, store.settings()?))
    })?;
    let mut raw = Vec::new();
    input
        .take(settings.max_message_size + 1)
        .read_to_end(&mut raw)
        .map_err(|e| Error::io("reading the message from standard input", e))?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::data("the message is empty").hint("pipe one mail message to listcrypt inject"));
    }
    if raw.len() as u64 > settings.max_message_size {
        return Err(Error::data(format!(
            "the message is larger than the list's max_message_size ({} bytes)",
            settings.max_message_size
        )));
    }
    check_is_mail(&raw)?;
    // From here on nothing is the mail's fault: gpg refusing the list key is the host's.
    let sealed =
        list.keyring.encrypt(std::slice::from_ref(&record.fingerprint), &raw, None).map_err(Error::into_temporary)?;
    let entry = Entry::new(request);
    let store = list.store()?;
    store.put_payload(&entry.id, &sealed)?;
    store.put_entry(&entry)?;
    store.flush()?;
    drop(store);
    crate::log::event(
        &list.home,
        &format!("entry {} received ({} bytes){}", entry.id, raw.len(), if request { " for -request" } else { "" }),
    );
    Ok(entry.id)
}
