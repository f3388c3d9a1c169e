//! `owner`: mail to `LIST-owner` reaches the list's admins, never in clear.
//!
//! Mail encrypted to the list key is opened first (admins cannot read what
//! was encrypted to the list); the message, opened or as it came, travels
//! attached to a note signed by the list and encrypted to each admin's key.
//! Admins without a usable key get nothing. Nothing is queued: the MTA keeps
//! the mail until this exits 0, and gets 75 (try again) while the list key
//! is locked, no admin can receive, or the transport is down.

use crate::error::{Error, ErrorKind, Result};
use crate::gpg::DecryptFailure;
use crate::home::Home;
use crate::list::List;
use crate::mime::build::crlf;
use crate::mime::parse::{self, check_is_mail, Crypto};
use crate::model::{printable, Address};
use crate::notice;
use crate::openpgp;
use crate::transport;
use std::io::Read;

/// Mail from one sender to the owners, at most, per hour; the rest is dropped (and logged).
const MOST_AN_HOUR: u64 = 10;
const HOUR: u64 = 3600;

/// What happened to one mail to the owners.
#[derive(Debug)]
pub struct Forwarded {
    /// The admins it reached.
    pub to: Vec<Address>,
    /// Why it was dropped, when it was.
    pub dropped: Option<String>,
}

/// Forwards one message from `input` to the admins of `address`.
pub fn owner(home: &Home, address: &Address, input: impl Read) -> Result<Forwarded> {
    let list = List::open(home, address)?;
    let settings = list.store()?.settings()?;
    let mut raw = Vec::new();
    input
        .take(settings.max_message_size + 1)
        .read_to_end(&mut raw)
        .map_err(|e| Error::io("reading the message from standard input", e))?;
    if raw.len() as u64 > settings.max_message_size {
        return Err(Error::data(format!(
            "the message is larger than the list's max_message_size ({} bytes)",
            settings.max_message_size
        )));
    }
    check_is_mail(&raw)?;
    let raw = crlf(parse::strip_mbox_line(&raw).0);
    let (facts, crypto) = parse::read_mail(&raw)?;
    let sender = facts.from.first().map(|a| a.to_string()).unwrap_or_else(|| "an unknown sender".into());
    let dropped = |why: String| {
        crate::log::event(&list.home, &format!("owner mail from {sender} dropped: {why}"));
        Ok(Forwarded { to: vec![], dropped: Some(why) })
    };
    if facts.x_loop.iter().any(|l| l.eq_ignore_ascii_case(address.as_str())) {
        return dropped("it came from this list (X-Loop)".into());
    }
    let store = list.store()?;
    if !store.quota_allows(&format!("owner:{sender}"), MOST_AN_HOUR, HOUR)? {
        return dropped(format!("more than {MOST_AN_HOUR} an hour from this sender"));
    }
    let record = store.list_record()?;
    let members = store.members()?;
    drop(store);

    let (message, how) = match crypto {
        Crypto::PgpMimeEncrypted(ciphertext) | Crypto::InlineEncrypted(ciphertext) => {
            match open(&list, &ciphertext, settings.max_decrypted_size())? {
                Some(plaintext) => (with_outer_headers(&raw, &plaintext), "It came encrypted to the list key."),
                None => (raw.clone(), "It came encrypted, but not to the list key: attached as it came."),
            }
        }
        _ => (raw.clone(), "It came unencrypted."),
    };
    let subject = facts.subject.as_deref().map(printable).unwrap_or_default();
    let text = format!(
        "Mail to {} from {sender}\r\nSubject: {subject}\r\n\r\n{how}\r\nThe message is attached.",
        address.owner()
    );
    let mut sent = vec![];
    let mut failed = None;
    for admin in members.iter().filter(|m| m.is_admin()) {
        let Some(key) = admin.delivery_key() else { continue };
        let note = notice::owner_mail(address, &admin.address, &text, &message);
        match list.seal(&note, Some(key), &record.fingerprint).and_then(|m| transport::send(&settings.transport, &m)) {
            Ok(()) => sent.push(admin.address.clone()),
            Err(e) => {
                crate::log::event(&list.home, &format!("owner mail to {} not sent: {}", admin.address, e.message()));
                failed = Some(e);
            }
        }
    }
    if sent.is_empty() {
        let why = match failed {
            Some(e) => format!("the owners' mail could not be sent ({})", e.message()),
            None => format!("no admin of {address} has a usable key"),
        };
        return Err(Error::temporary(why).hint("the MTA keeps the mail and tries again"));
    }
    crate::log::event(&list.home, &format!("owner mail from {sender} forwarded to {} admin(s)", sent.len()));
    Ok(Forwarded { to: sent, dropped: None })
}

/// The mail's own encryption opened with the list key; None if it was not
/// made for the list key. A locked key is a reason to try again later.
fn open(list: &List, ciphertext: &[u8], limit: usize) -> Result<Option<Vec<u8>>> {
    if openpgp::message_framing(ciphertext) != openpgp::Framing::Bounded {
        return Ok(None);
    }
    match list.keyring.decrypt(ciphertext, limit) {
        Ok(opened) => Ok(Some(crlf(&opened.plaintext))),
        Err(DecryptFailure::Locked(e)) => Err(Error::new(ErrorKind::Temporary, e.message().to_string())
            .hint("unlock the list key (`listcrypt list unlock`); the MTA tries again")),
        Err(DecryptFailure::Unavailable(e)) => Err(e.into_temporary()),
        Err(DecryptFailure::Refused(_)) => Ok(None),
    }
}

/// The message as its author meant it: the outer header fields (but the
/// MIME ones) followed by the decrypted entity.
fn with_outer_headers(raw: &[u8], entity: &[u8]) -> Vec<u8> {
    let (fields, _) = parse::split_header_section(raw);
    let mut out = vec![];
    for field in fields {
        let name = field.split(|b| *b == b':').next().unwrap_or(b"");
        let mime = name.len() >= 8
            && (name[..8].eq_ignore_ascii_case(b"content-") || name.eq_ignore_ascii_case(b"mime-version"));
        if !mime {
            out.extend_from_slice(field);
        }
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(entity);
    out
}
