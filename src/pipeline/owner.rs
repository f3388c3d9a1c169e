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
use crate::mime::text::{field_is, is_content_field, text_entity};
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
    let raw = read_message(input, settings.max_message_size)?;
    let (facts, crypto) = parse::read_mail(&raw)?;
    let sender = facts.from.first().map(|a| a.to_string()).unwrap_or_else(|| "an unknown sender".into());
    if let Some(why) = why_dropped(home, &facts)? {
        crate::log::event(&list.home, &format!("owner mail from {sender} dropped: {why}"));
        return Ok(Forwarded { to: vec![], dropped: Some(why.into()) });
    }
    let allowance = Allowance { list: &list, sender: format!("owner:{sender}") };
    let (record, admins) = allowance.take()?;
    let (message, how) =
        opened(&list, &raw, crypto, settings.max_message_size as usize).inspect_err(|_| allowance.give_back())?;
    let subject = facts.subject.as_deref().map(printable).unwrap_or_default();
    let text = format!(
        "Mail to {} from {sender} (as its From: says; not verified)\r\nSubject: {subject}\r\n\r\n\
         {how}\r\nThe message is attached; to answer the writer, reply to it, not to this note.",
        address.owner()
    );
    let (sent, failed) = send_to_admins(&list, &admins, &record.fingerprint, &settings.transport, &text, &message);
    if sent.is_empty() {
        allowance.give_back();
        return Err(nothing_sent(address, failed));
    }
    crate::log::event(&list.home, &format!("owner mail from {sender} forwarded to {} admin(s)", sent.len()));
    Ok(Forwarded { to: sent, dropped: None })
}

/// The message from `input`, CRLF, without the mbox line: at most `max` bytes, and a mail.
fn read_message(input: impl Read, max: u64) -> Result<Vec<u8>> {
    let mut raw = Vec::new();
    input.take(max + 1).read_to_end(&mut raw).map_err(|e| Error::io("reading the message from standard input", e))?;
    if raw.len() as u64 > max {
        return Err(Error::data(format!("the message is larger than the list's max_message_size ({max} bytes)")));
    }
    check_is_mail(&raw)?;
    Ok(crlf(parse::strip_mbox_line(&raw).0))
}

/// Why the mail must not be forwarded, if it must not: it passed through a
/// list of this home, or a program made it (a vacation reply to a note);
/// forwarding either could start a loop.
fn why_dropped(home: &Home, facts: &parse::MailFacts) -> Result<Option<&'static str>> {
    let lists = home.list_addresses()?;
    if facts.x_loop.iter().any(|l| lists.iter().any(|list| l.eq_ignore_ascii_case(list.as_str()))) {
        return Ok(Some("it came from a list (X-Loop)"));
    }
    Ok(facts.automatic.then_some("it is an automatic reply"))
}

/// The hour's allowance of mail to the owners: one sender's, and the list's.
/// It counts only mail that reached the owners; past it the MTA holds the
/// mail for later, so a flood delays mail rather than drops it.
struct Allowance<'a> {
    list: &'a List,
    sender: String,
}

impl Allowance<'_> {
    const LIST: &'static str = "owner:*";

    /// Takes one of each before sending (two deliveries at once cannot both
    /// pass); with the store open, the list's record and admins.
    fn take(&self) -> Result<(crate::store::ListRecord, Vec<crate::member::Member>)> {
        let store = self.list.store()?;
        let over =
            || Error::temporary(format!("the owners of {} took all the mail they take this hour", self.list.address()));
        if !store.quota_allows(&self.sender, FROM_ONE_SENDER_AN_HOUR, HOUR)? {
            return Err(over());
        }
        if !store.quota_allows(Self::LIST, IN_ALL_AN_HOUR, HOUR)? {
            store.quota_release(&self.sender)?;
            return Err(over());
        }
        store.flush()?;
        Ok((store.list_record()?, store.admins()?))
    }

    /// Gives both back: nothing reached the owners (best effort).
    fn give_back(&self) {
        let _ = self.list.store().and_then(|store| {
            store.quota_release(&self.sender)?;
            store.quota_release(Self::LIST)?;
            store.flush()
        });
    }
}

/// The message to attach, and how it came: opened when it was encrypted to
/// the list key (admins cannot read that), else as it came.
fn opened(list: &List, raw: &[u8], crypto: Crypto, limit: usize) -> Result<(Vec<u8>, &'static str)> {
    const NOT_OURS: &str = "It came encrypted, but not to the list key: attached as it came.";
    Ok(match crypto {
        Crypto::PgpMimeEncrypted(ciphertext) => match open(list, &ciphertext, limit)? {
            Some(entity) => (with_outer_headers(raw, &entity), "It came encrypted to the list key."),
            None => (raw.to_vec(), NOT_OURS),
        },
        Crypto::InlineEncrypted(ciphertext) => match open(list, &ciphertext, limit)? {
            Some(text) => (with_outer_headers(raw, &text_entity(&text)), "It came encrypted to the list key (inline)."),
            None => (raw.to_vec(), NOT_OURS),
        },
        _ => (raw.to_vec(), "It came unencrypted."),
    })
}

/// The note, signed by the list, to each admin with a usable key: who got
/// it, and the failure that counts most (a temporary one) if any did not.
fn send_to_admins(
    list: &List,
    admins: &[crate::member::Member],
    list_key: &crate::Fingerprint,
    transport_setting: &crate::settings::Transport,
    text: &str,
    message: &[u8],
) -> (Vec<Address>, Option<Error>) {
    let mut sent = vec![];
    let mut failed: Option<Error> = None;
    for admin in admins.iter().filter(|m| m.is_admin()) {
        let Some(key) = admin.delivery_key() else { continue };
        let note = notice::owner_mail(list.address(), &admin.address, text, message);
        // Signed, always: an unsigned note would teach admins to trust forgeries.
        match list.seal_signed(&note, key, list_key).and_then(|m| transport::send(transport_setting, &m)) {
            Ok(()) => sent.push(admin.address.clone()),
            Err(e) => {
                crate::log::event(&list.home, &format!("owner mail to {} not sent: {}", admin.address, e.message()));
                if failed.as_ref().is_none_or(|f| f.kind() != ErrorKind::Temporary) {
                    failed = Some(e);
                }
            }
        }
    }
    (sent, failed)
}

/// Why nothing went out, for the MTA: always temporary, since a bounce would
/// go to a sender who may be forged.
fn nothing_sent(address: &Address, failed: Option<Error>) -> Error {
    match failed {
        Some(e) if e.kind() == ErrorKind::Permission => {
            Error::temporary(format!("the key of {address} is locked")).hint("run `listcrypt list unlock`")
        }
        Some(_) => Error::temporary("the owners' mail could not be sent").hint("the list log says why"),
        None => Error::temporary(format!("no admin of {address} has a usable key"))
            .hint("an admin adds and verifies a key (`listcrypt keys add`)"),
    }
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
        if !(is_content_field(field) || field_is(field, b"mime-version")) {
            out.extend_from_slice(field);
        }
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(entity);
    out
}
