//! `owner`: mail to `LIST-owner` reaches the list's admins, never in clear.
//!
//! Mail encrypted to the list key is opened first (admins cannot read what
//! was encrypted to the list); the message, opened or as it came, travels
//! attached to a note signed by the list and encrypted to each admin's key.
//! The note comes from `LIST-owner`, so a reply reaches the owners, never
//! the members. Admins without a usable key get nothing. Nothing is queued:
//! the MTA keeps the mail until this exits 0, and gets 75 (try again) while
//! the list key is locked, no admin can receive, the transport is down, the
//! host is at fault, or the hour's allowance is used up.

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

/// Mail from one sender (as its From: says) to the owners, at most, per hour.
const FROM_ONE_SENDER_AN_HOUR: u64 = 10;
/// Mail to one list's owners, at most, per hour, from everyone together.
const IN_ALL_AN_HOUR: u64 = 50;
const HOUR: u64 = 3600;

/// What happened to one mail to the owners.
#[derive(Debug)]
pub struct Forwarded {
    /// The admins it reached.
    pub to: Vec<Address>,
    /// Why it was dropped, when it was.
    pub dropped: Option<String>,
}

/// Forwards one message from `input` to the admins of `address`. Only the
/// mail's own faults are permanent (`Data`, `NoUser`); every fault of the
/// host is temporary, so the MTA keeps the mail.
pub fn owner(home: &Home, address: &Address, input: impl Read) -> Result<Forwarded> {
    forward(home, address, input).map_err(|e| match e.kind() {
        ErrorKind::Data | ErrorKind::NoUser => e,
        _ => e.into_temporary(),
    })
}

fn forward(home: &Home, address: &Address, input: impl Read) -> Result<Forwarded> {
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
    // Mail that passed through any list of this home: forwarding it again could loop between lists.
    let lists = home.list_addresses()?;
    let looped = facts.x_loop.iter().any(|l| lists.iter().any(|list| l.eq_ignore_ascii_case(list.as_str())));
    // An auto-reply (a vacation message answering an owner note) would start a loop too.
    if looped || facts.automatic {
        let why = if looped { "it came from a list (X-Loop)" } else { "it is an automatic reply" };
        crate::log::event(&list.home, &format!("owner mail from {sender} dropped: {why}"));
        return Ok(Forwarded { to: vec![], dropped: Some(why.into()) });
    }
    // The allowance counts only mail that reached the owners; past it the
    // MTA holds the mail for later, so a flood delays mail rather than drops it.
    let (sender_quota, list_quota) = (format!("owner:{sender}"), "owner:*".to_string());
    let (record, members) = {
        // Taken before sending (two deliveries at once cannot both pass), given back if nothing went.
        let store = list.store()?;
        if !store.quota_allows(&sender_quota, FROM_ONE_SENDER_AN_HOUR, HOUR)? {
            return Err(Error::temporary(format!("the owners of {address} took all the mail they take this hour")));
        }
        if !store.quota_allows(&list_quota, IN_ALL_AN_HOUR, HOUR)? {
            store.quota_release(&sender_quota)?;
            return Err(Error::temporary(format!("the owners of {address} took all the mail they take this hour")));
        }
        store.flush()?;
        (store.list_record()?, store.members()?)
    };
    let given_back = || -> Result<()> {
        let store = list.store()?;
        store.quota_release(&sender_quota)?;
        store.quota_release(&list_quota)?;
        store.flush()
    };

    let limit = settings.max_message_size as usize;
    let open = |ciphertext: &[u8]| {
        open(&list, ciphertext, limit).inspect_err(|_| {
            let _ = given_back();
        })
    };
    let (message, how) = match crypto {
        Crypto::PgpMimeEncrypted(ciphertext) => match open(&ciphertext)? {
            Some(entity) => (with_outer_headers(&raw, &entity), "It came encrypted to the list key."),
            None => (raw.clone(), "It came encrypted, but not to the list key: attached as it came."),
        },
        Crypto::InlineEncrypted(ciphertext) => match open(&ciphertext)? {
            Some(text) => {
                let mut entity = b"Content-Type: text/plain; charset=utf-8\r\n\r\n".to_vec();
                entity.extend_from_slice(&text);
                (with_outer_headers(&raw, &entity), "It came encrypted to the list key (inline).")
            }
            None => (raw.clone(), "It came encrypted, but not to the list key: attached as it came."),
        },
        _ => (raw.clone(), "It came unencrypted."),
    };
    let subject = facts.subject.as_deref().map(printable).unwrap_or_default();
    let text = format!(
        "Mail to {} from {sender} (as its From: says; not verified)\r\nSubject: {subject}\r\n\r\n\
         {how}\r\nThe message is attached; to answer the writer, reply to it, not to this note.",
        address.owner()
    );
    let mut sent = vec![];
    let mut failed: Option<Error> = None;
    for admin in members.iter().filter(|m| m.is_admin()) {
        let Some(key) = admin.delivery_key() else { continue };
        let note = notice::owner_mail(address, &admin.address, &text, &message);
        // Signed, always: an unsigned note would teach admins to trust forgeries.
        let result =
            list.seal_signed(&note, key, &record.fingerprint).and_then(|m| transport::send(&settings.transport, &m));
        match result {
            Ok(()) => sent.push(admin.address.clone()),
            Err(e) => {
                crate::log::event(&list.home, &format!("owner mail to {} not sent: {}", admin.address, e.message()));
                // A temporary failure outweighs a permanent one: the MTA tries again.
                if failed.as_ref().is_none_or(|f| f.kind() != ErrorKind::Temporary) {
                    failed = Some(e);
                }
            }
        }
    }
    if sent.is_empty() {
        given_back()?;
        // Every failure is temporary for the MTA: a bounce would go to a sender who may be forged.
        return Err(match failed {
            Some(e) if e.kind() == ErrorKind::Permission => {
                Error::temporary(format!("the key of {address} is locked")).hint("run `listcrypt list unlock`")
            }
            Some(_) => Error::temporary("the owners' mail could not be sent"),
            None => Error::temporary(format!("no admin of {address} has a usable key")),
        }
        .hint("the list log says more"));
    }
    crate::log::event(&list.home, &format!("owner mail from {sender} forwarded to {} admin(s)", sent.len()));
    Ok(Forwarded { to: sent, dropped: None })
}

/// The mail's own encryption opened with the list key (at most `limit`
/// bytes); None if it was not made for the list key. A locked key is a
/// reason to try again later.
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
