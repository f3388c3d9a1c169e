//! The cryptographic shape of an entity (PGP/MIME per RFC 3156, inline
//! PGP). Only the root entity may be cryptographic; crypto anywhere else is
//! `Wrapped` and never trusted.

use crate::mime::text::{crlf, is_content_field, split_header_section};
use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

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

/// Parses a MIME entity (a decrypted payload or a signed part).
pub fn read_entity(entity: &[u8]) -> Crypto {
    match MessageParser::default().parse(entity) {
        Some(message) => classify(&message, entity),
        None => Crypto::Plain(entity.to_vec()),
    }
}

pub(super) fn classify(message: &Message<'_>, entity: &[u8]) -> Crypto {
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
pub(super) fn root_entity(raw: &[u8]) -> Vec<u8> {
    let (fields, body) = split_header_section(raw);
    let mut out = Vec::with_capacity(raw.len());
    for field in fields.iter().filter(|f| is_content_field(f)) {
        out.extend_from_slice(field);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
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
    fn inline_blocks_must_be_the_whole_body() {
        let block = "-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----";
        assert!(matches!(inline(&format!("\n{block}\n")), Some(Crypto::InlineEncrypted(_))));
        assert_eq!(inline(&format!("unsigned text\n{block}")), Some(Crypto::Wrapped));
        assert_eq!(inline("just text"), None);
    }
}
