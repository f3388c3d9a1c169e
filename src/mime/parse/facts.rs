//! What the outer header section says: sender, loop and automation marks,
//! threading; and the header fields a signed entity protects.

use super::entity::{headers_too_big, MAX_HEADER_BYTES, MAX_HEADER_FIELDS};
use crate::error::{Error, Result};
use crate::model::Address;
use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders};

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

pub(super) fn header_facts(message: &Message<'_>) -> MailFacts {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_needs_a_header_section() {
        assert!(check_is_mail(b"From alice@example.org Thu Nov 26 2026\nFrom: a@example.org\n\nhi\n").is_ok());
        assert!(check_is_mail(b"hello world\n").is_err());
        assert!(check_is_mail(b"Subject: no from\n\nhi\n").is_err());
    }
}
