//! Building the mail listcrypt sends: notices, PGP/MIME `multipart/signed`
//! and `multipart/encrypted` (RFC 3156), and protected headers (RFC 9788).
//! Header values always go through mail-builder's encoders after control
//! characters are removed; nothing from a received mail is pasted raw.

pub use crate::mime::text::crlf;
use crate::mime::text::{field_is, is_content_field, split_header_section};
use crate::model::{random_token, Address};
use mail_builder::headers::address::Address as MailAddress;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::headers::{Header, HeaderType};
use mail_builder::mime::{BodyPart, MimePart};
use mail_builder::MessageBuilder;

/// The headers of a message listcrypt writes.
#[derive(Debug, Clone)]
pub struct Head {
    pub from: Address,
    pub from_name: Option<String>,
    pub to: Vec<Address>,
    pub subject: String,
    /// None: a fresh one in the sender's domain.
    pub message_id: Option<String>,
    /// None: now.
    pub date: Option<i64>,
    pub reply_to: Option<Address>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Extra headers whose values listcrypt made itself (plain ASCII).
    pub extra: Vec<(&'static str, String)>,
    /// An Autocrypt header: the list's address and its key, binary.
    pub autocrypt: Option<(Address, Vec<u8>)>,
}

impl Head {
    pub fn new(from: &Address, to: &Address, subject: &str) -> Head {
        Head {
            from: from.clone(),
            from_name: None,
            to: vec![to.clone()],
            subject: subject.to_string(),
            message_id: None,
            date: None,
            reply_to: None,
            in_reply_to: vec![],
            references: vec![],
            extra: vec![],
            autocrypt: None,
        }
    }
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

/// A message ID from a received mail, if it is a plain `left@right` of
/// visible ASCII; anything else is dropped rather than passed on.
pub fn clean_message_id(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let ok = id.len() <= 250
        && id.split('@').count() == 2
        && id.bytes().all(|b| b.is_ascii_graphic() && !b"<>\"\\()[],;:".contains(&b));
    ok.then(|| id.to_string())
}

/// Text for a header: control characters (CR, LF, NUL, …) become spaces.
pub fn clean_text(text: &str) -> String {
    let cleaned: String =
        text.chars().filter(|c| !is_format_char(*c)).map(|c| if c.is_control() { ' ' } else { c }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(998).collect()
}

/// Invisible characters that reorder or hide text (Unicode format
/// characters: bidi overrides and isolates, zero-width joiners and spaces,
/// soft hyphens): "alice\u{202E}gro.elpmaxe" would show as another name.
fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{3164}'
        | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// A display name, or none when it is empty or reads like an address
/// (`"bob@bank.example" <mallory@…>` must not show as bob): an `@` or one of
/// its look-alikes (U+FF20, U+FE6B), or a word shaped like a domain name.
pub fn clean_display_name(name: &str) -> Option<String> {
    let name = clean_text(name);
    let domain_like = |word: &str| {
        // Dots that IDNA (and readers) take for a full stop count as one.
        let word: String = word
            .chars()
            .map(|c| if matches!(c, '\u{3002}' | '\u{FF0E}' | '\u{FF61}' | '\u{2024}') { '.' } else { c })
            .collect();
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        word.rsplit_once('.').is_some_and(|(host, tld)| {
            !host.is_empty() && tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)
        })
    };
    let address_like = name.contains(['@', '\u{FF20}', '\u{FE6B}']) || name.split_whitespace().any(domain_like);
    (!name.is_empty() && !address_like).then_some(name)
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
        let mut part = MimePart::new(ContentType::new(a.content_type), BodyPart::Binary(a.bytes.clone().into()))
            .attachment(a.filename.clone());
        if a.content_type == "message/rfc822" {
            // RFC 2046 §5.2.1: a message is never base64-encoded, only 7bit, 8bit or binary.
            let long_lines = a.bytes.split(|b| *b == b'\n').any(|l| l.len() > 998);
            part = part.transfer_encoding(match (a.bytes.is_ascii(), long_lines || a.bytes.contains(&0)) {
                (_, true) => "binary",
                (true, false) => "7bit",
                (false, false) => "8bit",
            });
        }
        parts.push(part);
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

fn mailbox(address: &Address, name: &Option<String>) -> MailAddress<'static> {
    MailAddress::new_address(name.as_deref().and_then(clean_display_name), address.as_str().to_string())
}

/// The header fields of `head`, in order, as mail-builder values.
fn fields(head: &Head) -> Vec<(&'static str, HeaderType<'static>)> {
    let to: Vec<MailAddress<'static>> = head.to.iter().map(|a| mailbox(a, &None)).collect();
    let mut fields: Vec<(&'static str, HeaderType<'static>)> = vec![
        ("From", mailbox(&head.from, &head.from_name).into()),
        ("To", MailAddress::new_list(to).into()),
        ("Subject", Text::new(clean_text(&head.subject)).into()),
        ("Date", head.date.map(Date::new).unwrap_or_else(Date::now).into()),
    ];
    let id = head.message_id.clone().unwrap_or_else(|| message_id(head.from.domain()));
    fields.push(("Message-ID", MessageId::new(id).into()));
    if let Some(reply_to) = &head.reply_to {
        fields.push(("Reply-To", mailbox(reply_to, &None).into()));
    }
    let ids = |list: &[String]| list.iter().filter_map(|i| clean_message_id(i)).collect::<Vec<_>>();
    let in_reply_to = ids(&head.in_reply_to);
    if !in_reply_to.is_empty() {
        fields.push(("In-Reply-To", MessageId::new_list(in_reply_to.into_iter()).into()));
    }
    let references = ids(&head.references);
    if !references.is_empty() {
        fields.push(("References", MessageId::new_list(references.into_iter()).into()));
    }
    for (name, value) in &head.extra {
        fields.push((name, Raw::new(clean_text(value)).into()));
    }
    if let Some((addr, key)) = &head.autocrypt {
        fields.push(("Autocrypt", Raw::new(autocrypt_value(addr, key)).into()));
    }
    fields
}

fn serialize(head: &Head, body: MimePart<'_>) -> Vec<u8> {
    let mut b = MessageBuilder::new();
    for (name, value) in fields(head) {
        b = b.header(name, value);
    }
    let mut out = Vec::new();
    b.body(body).serialize(&mut out);
    out
}

/// A cleartext message.
pub fn plain_message(head: &Head, text: &str, attachments: &[Attachment]) -> Vec<u8> {
    serialize(head, body_part(text, attachments))
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
    serialize(head, body)
}

/// `content` (a MIME entity) with protected header fields (RFC 9788): the
/// fields of `head` first, then only the entity's own `Content-*` fields, its
/// Content-Type marked `hp="cipher"`, then its body unchanged.
pub fn protected_entity(head: &Head, content: &[u8]) -> Vec<u8> {
    let content = crlf(content);
    let (entity_fields, body) = split_header_section(&content);
    let mut out = Vec::with_capacity(content.len() + 1024);
    for (name, value) in fields(head) {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        value.write_header(&mut out, name.len() + 2);
    }
    let mut has_type = false;
    for field in entity_fields.iter().filter(|f| is_content_field(f)) {
        if field_is(field, b"content-type") && !has_type {
            has_type = true;
            out.extend_from_slice(field.strip_suffix(b"\r\n").unwrap_or(field));
            out.extend_from_slice(b"; hp=\"cipher\"\r\n");
        } else if !field_is(field, b"content-type") {
            out.extend_from_slice(field);
        }
    }
    if !has_type {
        out.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii; hp=\"cipher\"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// `multipart/signed` (RFC 3156 §5) around `entity`, embedded byte for byte.
pub fn signed_entity(entity: &[u8], signature: &[u8], micalg: &str) -> Vec<u8> {
    let signature = MimePart::new(
        ContentType::new("application/pgp-signature").attribute("name", "signature.asc"),
        BodyPart::Binary(crlf(signature).into()),
    )
    .header("Content-Description", Text::new("OpenPGP digital signature"))
    .attachment("signature.asc")
    .transfer_encoding("7bit");
    let signed = MimePart::new(
        ContentType::new("multipart/signed")
            .attribute("micalg", micalg.to_string())
            .attribute("protocol", "application/pgp-signature"),
        BodyPart::Multipart(vec![MimePart::raw(BodyPart::Binary(entity.to_vec().into())), signature]),
    );
    let mut out = Vec::new();
    signed.write_part(&mut out);
    out
}

/// `addr=…; prefer-encrypt=mutual; keydata=…` (Autocrypt Level 1), the key
/// data broken by spaces so the header folds; readers drop the whitespace.
fn autocrypt_value(addr: &Address, key: &[u8]) -> String {
    let encoded = crate::openpgp::base64(key);
    let chunks: Vec<&str> = encoded.chunks(72).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
    format!("addr={addr}; prefer-encrypt=mutual; keydata={}", chunks.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> Head {
        let mut head = Head::new(
            &Address::parse("list@example.org").unwrap(),
            &Address::parse("bob@example.org").unwrap(),
            "hello\r\nBcc: evil@example.org",
        );
        head.from_name = Some("bob@bank.example".into());
        head.in_reply_to = vec!["<ok@example.org>".into(), "bad id\r\nX: y".into()];
        head
    }

    #[test]
    fn crlf_normalises_bare_line_feeds_only() {
        assert_eq!(crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
    }

    #[test]
    fn encrypted_messages_are_pgp_mime_and_headers_cannot_be_injected() {
        let mail = String::from_utf8(encrypted_message(
            &head(),
            b"-----BEGIN PGP MESSAGE-----\nx\n-----END PGP MESSAGE-----\n",
        ))
        .unwrap();
        assert!(mail.contains("multipart/encrypted"));
        assert!(mail.contains("protocol=\"application/pgp-encrypted\""));
        assert!(mail.contains("Version: 1"));
        assert!(!mail.contains("\r\nBcc:"), "a line break in a subject never makes a header");
        assert!(!mail.contains("bank.example"), "an address-like display name is dropped");
        for tricky in ["bob\u{FF20}bank.example", "Bob bank.example", "bob \u{FE6B} bank"] {
            assert_eq!(clean_display_name(tricky), None, "{tricky}");
        }
        assert_eq!(clean_display_name("Dr. J. R. R. Tolkien").as_deref(), Some("Dr. J. R. R. Tolkien"));
        assert_eq!(clean_display_name("Bob bank\u{3002}example"), None, "an ideographic full stop is a dot");
        assert_eq!(clean_display_name("Ali\u{202E}ecila\u{200B}").as_deref(), Some("Aliecila"));
        assert!(mail.contains("<ok@example.org>") && !mail.contains("bad id"));
    }

    #[test]
    fn protected_entities_keep_the_content_and_mark_it() {
        let content = b"Content-Type: text/plain;\r\n charset=utf-8\r\nX-Mailer: leaky\r\n\r\nbody\r\n";
        let out = String::from_utf8(protected_entity(&head(), content)).unwrap();
        assert!(out.starts_with("From: "));
        assert!(out.contains("Content-Type: text/plain;\r\n charset=utf-8; hp=\"cipher\"\r\n"));
        assert!(!out.contains("X-Mailer"));
        assert!(out.ends_with("\r\n\r\nbody\r\n"));
    }

    #[test]
    fn signed_entities_embed_the_signed_bytes_exactly() {
        let entity = b"Content-Type: text/plain\r\n\r\nsigned text";
        let out = signed_entity(entity, b"SIG", "pgp-sha256");
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("micalg=\"pgp-sha256\"") || text.contains("micalg=pgp-sha256"));
        assert!(out.windows(entity.len() + 2).any(|w| w == [&entity[..], b"\r\n"].concat()));
    }
}
