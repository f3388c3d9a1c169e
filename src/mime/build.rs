//! Building the mail listcrypt sends: plain notices and PGP/MIME
//! `multipart/encrypted` messages (RFC 3156). Header values are always
//! written by mail-builder's encoders, never pasted as raw text.

use crate::model::{random_token, Address};
use mail_builder::headers::address::Address as MailAddress;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};
use mail_builder::MessageBuilder;

/// The outer headers of a message listcrypt writes.
#[derive(Debug, Clone)]
pub struct Head {
    pub from: Address,
    pub from_name: Option<String>,
    pub to: Vec<Address>,
    pub subject: String,
    /// Extra headers, values already plain ASCII without line breaks.
    pub extra: Vec<(&'static str, String)>,
}

/// A file attached to a notice.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub content_type: &'static str,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// A fresh `Message-ID` value (without angle brackets) in `domain`.
pub fn message_id(domain: &str) -> String {
    format!("{}@{domain}", random_token(24))
}

fn body_part(text: &str, attachments: &[Attachment]) -> MimePart<'static> {
    let mut text_part = MimePart::new("text/plain", BodyPart::Text(text.to_string().into()));
    // Plain ASCII stays readable (tokens are copied by hand); the rest is encoded.
    if text.is_ascii() && text.lines().all(|l| l.len() <= 998) {
        text_part = text_part.transfer_encoding("7bit");
    }
    if attachments.is_empty() {
        return text_part;
    }
    let mut parts = vec![text_part];
    for a in attachments {
        parts.push(
            MimePart::new(ContentType::new(a.content_type), BodyPart::Binary(a.bytes.clone().into()))
                .attachment(a.filename.clone()),
        );
    }
    MimePart::new("multipart/mixed", BodyPart::Multipart(parts))
}

/// A MIME entity (Content-Type headers and body, no message headers) holding
/// `text` and the attachments: what goes inside an encryption.
pub fn entity(text: &str, attachments: &[Attachment]) -> Vec<u8> {
    let mut out = Vec::new();
    body_part(text, attachments).write_part(&mut out);
    out
}

fn builder(head: &Head) -> MessageBuilder<'static> {
    let from = MailAddress::new_address(head.from_name.clone(), head.from.as_str().to_string());
    let to: Vec<MailAddress<'static>> =
        head.to.iter().map(|a| MailAddress::new_address(None::<String>, a.as_str().to_string())).collect();
    let mut b = MessageBuilder::new()
        .from(from)
        .to(MailAddress::new_list(to))
        .subject(Text::new(head.subject.clone()))
        .message_id(message_id(head.from.domain()));
    for (name, value) in &head.extra {
        b = b.header(*name, Raw::new(value.clone()));
    }
    b
}

fn serialize(b: MessageBuilder<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    b.serialize(&mut out);
    out
}

/// A cleartext message.
pub fn plain_message(head: &Head, text: &str, attachments: &[Attachment]) -> Vec<u8> {
    serialize(builder(head).body(body_part(text, attachments)))
}

/// A PGP/MIME encrypted message around `armored` ciphertext.
pub fn encrypted_message(head: &Head, armored: &[u8]) -> Vec<u8> {
    let control = MimePart::new("application/pgp-encrypted", BodyPart::Binary(b"Version: 1\r\n".to_vec().into()))
        .header("Content-Description", Text::new("PGP/MIME version identification"))
        .transfer_encoding("7bit");
    let payload = MimePart::new(
        ContentType::new("application/octet-stream").attribute("name", "encrypted.asc"),
        BodyPart::Binary(crlf(armored).into()),
    )
    .header("Content-Description", Text::new("OpenPGP encrypted message"))
    .inline()
    .transfer_encoding("7bit");
    let body = MimePart::new(
        ContentType::new("multipart/encrypted").attribute("protocol", "application/pgp-encrypted"),
        BodyPart::Multipart(vec![control, payload]),
    );
    serialize(builder(head).body(body))
}

/// `bytes` with every line ending as CRLF, as SMTP and RFC 3156 expect.
pub fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 40);
    let mut prev = 0u8;
    for &b in bytes {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_normalises_bare_line_feeds_only() {
        assert_eq!(crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
    }

    #[test]
    fn encrypted_messages_are_pgp_mime() {
        let head = Head {
            from: Address::parse("list@example.org").unwrap(),
            from_name: None,
            to: vec![Address::parse("bob@example.org").unwrap()],
            subject: "hello\r\nBcc: evil@example.org".into(),
            extra: vec![],
        };
        let mail =
            String::from_utf8(encrypted_message(&head, b"-----BEGIN PGP MESSAGE-----\nx\n-----END PGP MESSAGE-----\n"))
                .unwrap();
        assert!(mail.contains("multipart/encrypted"));
        assert!(mail.contains("protocol=\"application/pgp-encrypted\""));
        assert!(mail.contains("Version: 1"));
        assert!(!mail.contains("\r\nBcc:"), "a line break in a subject never makes a header");
    }
}
