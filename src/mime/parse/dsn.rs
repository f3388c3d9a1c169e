//! Delivery status notifications (RFC 3464).

use crate::model::Address;
use mail_parser::{MessageParser, MimeHeaders};

/// The recipients a delivery status notification (RFC 3464) reports as
/// failed: each per-recipient block of its `message/delivery-status` (or
/// RFC 6533 `message/global-delivery-status`) part
/// with `Action: failed`. Nothing else in the report is read for them: not
/// its human-readable text, nor the returned message, which a sender writes.
pub fn failed_recipients(raw: &[u8]) -> Vec<Address> {
    let Some(message) = MessageParser::default().parse(raw) else { return vec![] };
    let status = message.parts.iter().find(|part| {
        part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct.subtype().is_some_and(|s| {
                    // RFC 6533's form, for mail that went with SMTPUTF8.
                    s.eq_ignore_ascii_case("delivery-status") || s.eq_ignore_ascii_case("global-delivery-status")
                })
        })
    });
    status.map(|part| failed_in_status_fields(&String::from_utf8_lossy(part.contents()))).unwrap_or_default()
}

/// `Final-Recipient` of each per-recipient block whose `Action` is `failed`.
fn failed_in_status_fields(text: &str) -> Vec<Address> {
    let mut failed = vec![];
    let mut recipient: Option<Address> = None;
    for line in text.lines() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsns_name_their_failed_recipients() {
        let dsn = b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; Bob@Example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\nFinal-Recipient: rfc822; carol@example.org\r\nAction: delayed\r\n";
        assert_eq!(failed_recipients(dsn), vec![Address::parse("bob@example.org").unwrap()]);
        // Status fields outside the delivery-status part (the text, the returned message) count for nothing.
        let report = b"Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\nFinal-Recipient: rfc822; carol@example.org\r\nAction: failed\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; bob@example.org\r\nAction: failed\r\n--r\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.org\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; dave@example.org\r\nAction: failed\r\n--r--\r\n";
        assert_eq!(failed_recipients(report), vec![Address::parse("bob@example.org").unwrap()]);
    }
}
