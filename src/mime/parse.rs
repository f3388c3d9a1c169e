//! Reading incoming mail: the header facts the acceptance rules need, and the
//! cryptographic structure of the body (PGP/MIME per RFC 3156, inline PGP).
//! Only the root entity may be cryptographic; crypto anywhere else is reported
//! as `Wrapped` and never trusted.

use crate::error::{Error, Result};
use crate::mime::text::crlf;
pub use crate::mime::text::split_header_section;
use crate::model::Address;
use mail_parser::{HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};

/// What the outer headers say.
#[derive(Debug, Clone, Default)]
pub struct MailFacts {
    /// Every address in `From:`, canonical.
    pub from: Vec<Address>,
    pub from_name: Option<String>,
    /// `From:` held something that is not a plain address (or a group).
    pub from_invalid: bool,
    /// The envelope sender was `<>` (a bounce or other notice).
    pub null_sender: bool,
    /// `Auto-Submitted` other than `no`, or an autoresponder's header (RFC 3834).
    pub auto_submitted: bool,
    /// Made by a program, not a person: `Auto-Submitted` other than `no`,
    /// `X-Autoreply` or `X-Autorespond` (`X-Auto-Response-Suppress` only asks
    /// others not to answer; Outlook puts it on people's mail).
    pub automatic: bool,
    /// `Precedence: bulk | junk | list`.
    pub bulk: bool,
    /// A delivery report, or mail from MAILER-DAEMON.
    pub report: bool,
    pub x_loop: Vec<String>,
    pub list_id: Option<String>,
    /// It came from a mailing list (List-Id or List-Post): never answered.
    pub mailing_list: bool,
    pub subject: Option<String>,
    pub date: Option<i64>,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// The header section is over [`MAX_HEADER_BYTES`] or [`MAX_HEADER_FIELDS`]:
    /// it was not parsed, and nothing else here was filled in.
    pub oversized_headers: bool,
}

/// The cryptographic shape of an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Crypto {
    /// `multipart/encrypted`: the armored (or binary) OpenPGP message.
    PgpMimeEncrypted(Vec<u8>),
    /// `multipart/signed`: the signed entity exactly as signed (CRLF) and the signature.
    PgpMimeSigned { entity: Vec<u8>, signature: Vec<u8> },
    /// A text/plain body that is exactly one armored encrypted block.
    InlineEncrypted(Vec<u8>),
    /// A text/plain body that is exactly one cleartext-signed block.
    InlineSigned(Vec<u8>),
    /// Cryptographic parts below the root, or armor with other text around it.
    Wrapped,
    /// No cryptography: the entity as is.
    Plain(Vec<u8>),
}

/// Removes the mbox `From sender date` line Postfix puts first; returns the
/// rest and whether that line named MAILER-DAEMON (a null envelope sender).
pub fn strip_mbox_line(raw: &[u8]) -> (&[u8], bool) {
    if raw.starts_with(b"From ") {
        let end = raw.iter().position(|b| *b == b'\n').map(|i| i + 1).unwrap_or(raw.len());
        let line = String::from_utf8_lossy(&raw[..end]);
        let sender = line.split_whitespace().nth(1).unwrap_or("");
        return (&raw[end..], sender.eq_ignore_ascii_case("MAILER-DAEMON") || sender == "<>");
    }
    (raw, false)
}

/// Refuses input that is not an RFC 5322 message with a `From:` header.
pub fn check_is_mail(raw: &[u8]) -> Result<()> {
    let (raw, _) = strip_mbox_line(raw);
    let first = raw.split(|b| *b == b'\n').next().unwrap_or(b"");
    let colon = first.iter().position(|b| *b == b':');
    let header_like = colon.is_some_and(|c| c > 0 && first[..c].iter().all(|b| b.is_ascii_graphic()));
    if headers_too_big(raw) {
        return Err(Error::data(format!(
            "the header section is larger than any mail's (over {} KiB or {MAX_HEADER_FIELDS} fields)",
            MAX_HEADER_BYTES / 1024
        )));
    }
    let parsed = MessageParser::default().parse_headers(raw);
    if !header_like || parsed.as_ref().and_then(|m| m.header_raw("From")).is_none() {
        return Err(Error::data("the input is not a mail message (no header section with From:)")
            .hint("pipe one RFC 5322 message to listcrypt inject"));
    }
    Ok(())
}

/// Parses a whole message (CRLF line ends): header facts and body structure.
pub fn read_mail(raw: &[u8]) -> Result<(MailFacts, Crypto)> {
    let (body, mbox_null) = strip_mbox_line(raw);
    if headers_too_big(body) {
        return Ok((MailFacts { oversized_headers: true, ..MailFacts::default() }, Crypto::Wrapped));
    }
    let message = MessageParser::default().parse(body).ok_or_else(|| Error::data("the message cannot be parsed"))?;
    let mut facts = header_facts(&message);
    facts.null_sender |= mbox_null;
    let root_entity = root_entity(message.raw_message());
    Ok((facts, classify(&message, &root_entity)))
}

/// Parses a MIME entity (a decrypted payload or a signed part).
pub fn read_entity(entity: &[u8]) -> Crypto {
    match MessageParser::default().parse(entity) {
        Some(message) => classify(&message, entity),
        None => Crypto::Plain(entity.to_vec()),
    }
}

/// More MIME structure than any real post has: over this many parts or this
/// deep, a message is refused rather than handed to members' clients.
const MAX_PARTS: usize = 1000;
const MAX_DEPTH: usize = 32;

/// Header sections past these are refused before they are parsed (Postfix
/// itself keeps 100 KB of headers; real mail has a few dozen fields).
pub const MAX_HEADER_BYTES: usize = 256 * 1024;
pub const MAX_HEADER_FIELDS: usize = 1000;

/// True when the header section of `entity` is larger than any post's.
pub fn headers_too_big(entity: &[u8]) -> bool {
    let mut bytes = 0;
    let mut fields = 0;
    for line in entity.split(|b| *b == b'\n') {
        if line.is_empty() || line == b"\r" {
            return false;
        }
        bytes += line.len() + 1;
        if !matches!(line[0], b' ' | b'\t') {
            fields += 1;
        }
        if bytes > MAX_HEADER_BYTES || fields > MAX_HEADER_FIELDS {
            return true;
        }
    }
    false
}

/// True when `entity` has larger headers, more parts or deeper nesting than
/// a post needs.
pub fn too_complex(entity: &[u8]) -> bool {
    if headers_too_big(entity) {
        return true;
    }
    let Some(message) = MessageParser::default().parse(entity) else { return false };
    if message.parts.len() > MAX_PARTS {
        return true;
    }
    let mut stack = vec![(0usize, 1usize)];
    while let Some((part, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return true;
        }
        if let Some(children) = message.parts.get(part).and_then(|p| p.sub_parts()) {
            stack.extend(children.iter().map(|c| (*c as usize, depth + 1)));
        }
    }
    false
}

/// True when a header section in `entity` (its own or any part's) holds a
/// bare CR or LF: readers disagree on whether it starts a new field, so a
/// field copied into the list-signed post could show as two (a second From,
/// a Subject of the sender's choosing). Such mail is refused, never repaired.
pub fn bare_line_breaks_in_headers(entity: &[u8]) -> bool {
    let bare = |section: &[u8]| {
        section.iter().enumerate().any(|(i, b)| match b {
            b'\r' => section.get(i + 1) != Some(&b'\n'),
            b'\n' => i == 0 || section[i - 1] != b'\r',
            _ => false,
        })
    };
    let Some(message) = MessageParser::default().parse(entity) else { return bare(entity) };
    let raw = message.raw_message();
    message.parts.iter().any(|p| raw.get(p.offset_header as usize..p.offset_body as usize).is_some_and(bare))
}

/// `entity` without the parts below its root that carry public keys
/// (application/pgp-keys): a member's own key attached to a post would tell
/// every reader which key they use, and clients import such keys.
pub fn without_key_parts(entity: &[u8]) -> Vec<u8> {
    let Some(message) = MessageParser::default().parse(entity) else { return entity.to_vec() };
    let raw = message.raw_message();
    let mut cuts: Vec<(usize, usize)> = message
        .parts
        .iter()
        .skip(1)
        .filter(|p| {
            p.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("application")
                    && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("pgp-keys"))
            })
        })
        .filter_map(|p| {
            let (start, end) = (p.offset_header as usize, p.offset_end as usize);
            // Also the delimiter line before the part: "\r\n--boundary\r\n".
            let delimiter = raw.get(..start.checked_sub(2)?)?.windows(2).rposition(|w| w == b"\r\n")?;
            (end <= raw.len()).then_some((delimiter, end))
        })
        .collect();
    if cuts.is_empty() {
        return entity.to_vec();
    }
    cuts.sort();
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    for (start, end) in cuts {
        if start < at {
            continue; // inside a part already cut
        }
        out.extend_from_slice(&raw[at..start]);
        at = end;
    }
    out.extend_from_slice(&raw[at..]);
    out
}

/// The header fields a signed entity carries itself (RFC 9788 protected headers).
#[derive(Debug, Clone, Default)]
pub struct Protected {
    pub subject: Option<String>,
    pub from: Vec<Address>,
    /// The display name of the signed From.
    pub from_name: Option<String>,
    /// The author's signed Date (seconds since the epoch) and Message-ID.
    pub date: Option<i64>,
    pub message_id: Option<String>,
    /// To and Cc; `None` when the entity names no recipients at all.
    pub recipients: Option<Vec<Address>>,
}

pub fn protected_headers(entity: &[u8]) -> Protected {
    let Some(message) = MessageParser::default().parse_headers(entity) else { return Protected::default() };
    let addresses = |list: Option<&mail_parser::Address<'_>>| -> Vec<Address> {
        list.map(|a| a.iter().filter_map(|a| a.address().and_then(|x| Address::parse(x).ok())).collect())
            .unwrap_or_default()
    };
    let named = message.to().is_some() || message.cc().is_some();
    let mut recipients = addresses(message.to());
    recipients.extend(addresses(message.cc()));
    Protected {
        subject: message.subject().map(str::to_string),
        from: addresses(message.from()),
        from_name: message.from().and_then(|a| a.first()).and_then(|a| a.name()).map(str::to_string),
        date: message.date().map(|d| d.to_timestamp()),
        message_id: message.message_id().map(str::to_string),
        recipients: named.then_some(recipients),
    }
}

fn header_facts(message: &Message<'_>) -> MailFacts {
    let mut facts = MailFacts::default();
    match message.from() {
        Some(from) if from.as_group().is_none() => {
            for addr in from.iter() {
                match addr.address().map(Address::parse) {
                    Some(Ok(a)) => facts.from.push(a),
                    _ => facts.from_invalid = true,
                }
            }
            facts.from_name = from.first().and_then(|a| a.name()).map(str::to_string);
        }
        Some(_) => facts.from_invalid = true,
        None => {}
    }
    // RFC 5322 allows one From field; with two, readers disagree on which counts.
    if message.header_values("From").count() > 1 {
        facts.from_invalid = true;
    }
    let raw = |name: &str| message.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    facts.null_sender = raw("Return-Path").is_some_and(|v| v == "<>");
    facts.automatic = raw("Auto-Submitted").is_some_and(|v| !v.starts_with("no"))
        || ["X-Autoreply", "X-Autorespond"].iter().any(|h| raw(h).is_some());
    facts.auto_submitted = facts.automatic || raw("X-Auto-Response-Suppress").is_some();
    facts.bulk = raw("Precedence").is_some_and(|v| ["bulk", "junk", "list", "auto_reply"].contains(&v.as_str()));
    let mailer_daemon = facts.from.iter().any(|a| {
        let local = a.local_part();
        local == "mailer-daemon" || local == "postmaster"
    });
    let report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    facts.report = report || mailer_daemon;
    facts.x_loop =
        message.header_values("X-Loop").filter_map(|v| v.as_text().map(|t| t.trim().to_ascii_lowercase())).collect();
    facts.list_id = message.header_raw("List-Id").map(|v| v.trim().to_ascii_lowercase());
    facts.mailing_list = facts.list_id.is_some() || message.header_raw("List-Post").is_some();
    facts.subject = message.subject().map(str::to_string);
    facts.date = message.date().map(|d| d.to_timestamp());
    facts.message_id = message.message_id().map(str::to_string);
    facts.in_reply_to = text_list(message.in_reply_to());
    facts.references = text_list(message.references());
    facts
}

fn text_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
        _ => vec![],
    }
}

fn classify(message: &Message<'_>, entity: &[u8]) -> Crypto {
    let root = message.root_part();
    let is = |part: &MessagePart<'_>, t: &str, s: &str| {
        part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case(t) && ct.subtype().is_some_and(|x| x.eq_ignore_ascii_case(s))
        })
    };
    let protocol = |part: &MessagePart<'_>| {
        part.content_type().and_then(|ct| ct.attribute("protocol")).map(|p| p.trim().to_ascii_lowercase())
    };
    let children = |part: &MessagePart<'_>| -> Vec<usize> {
        part.sub_parts().map(|ids| ids.iter().map(|id| *id as usize).collect()).unwrap_or_default()
    };

    if is(root, "multipart", "encrypted") {
        let kids = children(root);
        let shaped = protocol(root).as_deref() == Some("application/pgp-encrypted")
            && kids.len() == 2
            && is(&message.parts[kids[0]], "application", "pgp-encrypted");
        return match shaped {
            true => Crypto::PgpMimeEncrypted(message.parts[kids[1]].contents().to_vec()),
            false => Crypto::Wrapped,
        };
    }
    if is(root, "multipart", "signed") {
        let kids = children(root);
        let shaped = protocol(root).as_deref() == Some("application/pgp-signature")
            && kids.len() == 2
            && is(&message.parts[kids[1]], "application", "pgp-signature");
        if !shaped {
            return Crypto::Wrapped;
        }
        let signed = &message.parts[kids[0]];
        let raw = message.raw_message();
        let entity = raw[signed.offset_header as usize..signed.offset_end as usize].to_vec();
        return Crypto::PgpMimeSigned { entity, signature: message.parts[kids[1]].contents().to_vec() };
    }
    if message.parts.len() == 1 && root.is_text() && !root.is_text_html() {
        if let Some(text) = root.text_contents() {
            if let Some(crypto) = inline(text) {
                return crypto;
            }
        }
    }
    if message.parts.iter().skip(1).any(looks_cryptographic) {
        return Crypto::Wrapped;
    }
    Crypto::Plain(entity.to_vec())
}

/// An inline-PGP body: the text, trimmed, must be exactly one armored block.
fn inline(text: &str) -> Option<Crypto> {
    let trimmed = text.trim();
    let exactly = |begin: &str, end: &str| {
        trimmed.starts_with(begin) && trimmed.ends_with(end) && trimmed.matches(begin).count() == 1
    };
    if exactly("-----BEGIN PGP MESSAGE-----", "-----END PGP MESSAGE-----") {
        return Some(Crypto::InlineEncrypted(crlf(trimmed.as_bytes())));
    }
    if exactly("-----BEGIN PGP SIGNED MESSAGE-----", "-----END PGP SIGNATURE-----") {
        return Some(Crypto::InlineSigned(crlf(trimmed.as_bytes())));
    }
    if trimmed.contains("-----BEGIN PGP ") {
        return Some(Crypto::Wrapped);
    }
    None
}

fn looks_cryptographic(part: &MessagePart<'_>) -> bool {
    let ct = part.content_type();
    let kind =
        ct.map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")).to_ascii_lowercase()).unwrap_or_default();
    let armored = match &part.body {
        PartType::Text(t) => {
            t.contains("-----BEGIN PGP MESSAGE-----") || t.contains("-----BEGIN PGP SIGNED MESSAGE-----")
        }
        _ => false,
    };
    armored
        || ["multipart/encrypted", "multipart/signed", "application/pgp-encrypted", "application/pgp-signature"]
            .contains(&kind.as_str())
}

/// The root entity of a message: its `Content-*` header fields and its body,
/// byte for byte.
fn root_entity(raw: &[u8]) -> Vec<u8> {
    let (fields, body) = split_header_section(raw);
    let mut out = Vec::with_capacity(raw.len());
    for field in fields.iter().filter(|f| f.len() > 8 && f[..8].eq_ignore_ascii_case(b"content-")) {
        out.extend_from_slice(field);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The recipients a delivery status notification (RFC 3464) reports as
/// failed: each per-recipient block with `Action: failed`.
pub fn failed_recipients(raw: &[u8]) -> Vec<Address> {
    let text = String::from_utf8_lossy(raw);
    let mut failed = vec![];
    let mut recipient: Option<Address> = None;
    for line in text.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            if line.trim().is_empty() {
                recipient = None;
            }
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("Final-Recipient") {
            let addr = value.split_once(';').map(|(_, a)| a).unwrap_or(value).trim();
            recipient = Address::parse(addr.trim_start_matches('<').trim_end_matches('>')).ok();
        } else if name.eq_ignore_ascii_case("Action") && value.eq_ignore_ascii_case("failed") {
            if let Some(r) = recipient.take() {
                if !failed.contains(&r) {
                    failed.push(r);
                }
            }
        }
    }
    failed
}

/// Where the report says it was delivered, from its header fields.
pub fn delivered_to(raw: &[u8]) -> Vec<String> {
    let Some(message) = MessageParser::default().parse_headers(raw) else { return vec![] };
    let mut out = vec![];
    for name in ["Delivered-To", "X-Original-To", "Envelope-To", "To"] {
        for value in message.header_values(name) {
            match value {
                mail_parser::HeaderValue::Text(t) => out.push(t.to_string()),
                mail_parser::HeaderValue::Address(a) => {
                    out.extend(a.iter().filter_map(|a| a.address().map(str::to_string)))
                }
                _ => {}
            }
        }
    }
    out
}

/// A public key attached to the signed content (application/pgp-keys, or
/// an armored block pasted into the text).
pub fn attached_key(entity: &[u8]) -> Option<Vec<u8>> {
    let message = MessageParser::default().parse(entity)?;
    const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
    const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";
    for part in &message.parts {
        let is_keys = mail_parser::MimeHeaders::content_type(part).is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("application")
                && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("pgp-keys"))
        });
        if is_keys {
            return Some(part.contents().to_vec());
        }
        if let Some(text) = part.text_contents() {
            if let (Some(start), Some(end)) = (text.find(BEGIN), text.find(END)) {
                if end > start {
                    return Some(text.as_bytes()[start..end + END.len()].to_vec());
                }
            }
        }
    }
    None
}

/// The first text part of a MIME entity, decoded.
pub fn first_text(entity: &[u8]) -> Option<String> {
    MessageParser::default().parse(entity).and_then(|m| m.body_text(0).map(|t| t.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_entity_keeps_only_content_headers_and_the_exact_body() {
        let raw = b"From: a@example.org\r\nSubject: hi\r\nContent-Type: text/plain;\r\n charset=utf-8\r\n\r\nbody\r\n";
        assert_eq!(root_entity(raw), b"Content-Type: text/plain;\r\n charset=utf-8\r\n\r\nbody\r\n");
    }

    #[test]
    fn attached_public_keys_are_cut_out_and_the_rest_stays() {
        let entity = b"Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nhello\r\n--m\r\nContent-Type: application/pgp-keys\r\n\r\n-----BEGIN PGP PUBLIC KEY BLOCK-----\r\nx\r\n-----END PGP PUBLIC KEY BLOCK-----\r\n--m--\r\n";
        let out = String::from_utf8(without_key_parts(entity)).unwrap();
        assert_eq!(out, "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nhello\r\n--m--\r\n");
        let plain = b"Content-Type: text/plain\r\n\r\nno keys\r\n";
        assert_eq!(without_key_parts(plain), plain.to_vec());
    }

    #[test]
    fn inline_blocks_must_be_the_whole_body() {
        let block = "-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----";
        assert!(matches!(inline(&format!("\n{block}\n")), Some(Crypto::InlineEncrypted(_))));
        assert_eq!(inline(&format!("unsigned text\n{block}")), Some(Crypto::Wrapped));
        assert_eq!(inline("just text"), None);
    }

    #[test]
    fn bare_line_breaks_in_any_header_section_are_found() {
        let clean = b"Subject: hi\r\nContent-Type: text/plain\r\n\r\nbody\rwith a bare CR in the body\r\n";
        assert!(!bare_line_breaks_in_headers(clean));
        assert!(bare_line_breaks_in_headers(b"Subject: hi\rFrom: boss@example.org\r\n\r\nbody\r\n"));
        let in_a_part = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nX-A: 1\rSubject: x\r\n\r\nhi\r\n--b--\r\n";
        assert!(bare_line_breaks_in_headers(in_a_part));
    }

    #[test]
    fn dsns_name_their_failed_recipients() {
        let dsn = b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; Bob@Example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\nFinal-Recipient: rfc822; carol@example.org\r\nAction: delayed\r\n";
        assert_eq!(failed_recipients(dsn), vec![Address::parse("bob@example.org").unwrap()]);
    }

    #[test]
    fn mail_needs_a_header_section() {
        assert!(check_is_mail(b"From alice@example.org Thu Nov 26 2026\nFrom: a@example.org\n\nhi\n").is_ok());
        assert!(check_is_mail(b"hello world\n").is_err());
        assert!(check_is_mail(b"Subject: no from\n\nhi\n").is_err());
    }

    #[test]
    fn crypto_below_the_root_is_wrapped() {
        let raw = crlf(b"From: a@example.org\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nunsigned\n--x\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=y\n\n--y\nContent-Type: text/plain\n\nsigned\n--y\nContent-Type: application/pgp-signature\n\nsig\n--y--\n--x--\n");
        assert_eq!(read_mail(&raw).unwrap().1, Crypto::Wrapped);
    }
}
