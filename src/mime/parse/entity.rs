//! Bounds on an entity's structure, and its content: header sections past
//! any post's, bare line breaks, attached keys, the first text.

use mail_parser::{MessageParser, MimeHeaders};

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
    fn attached_public_keys_are_cut_out_and_the_rest_stays() {
        let entity = b"Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nhello\r\n--m\r\nContent-Type: application/pgp-keys\r\n\r\n-----BEGIN PGP PUBLIC KEY BLOCK-----\r\nx\r\n-----END PGP PUBLIC KEY BLOCK-----\r\n--m--\r\n";
        let out = String::from_utf8(without_key_parts(entity)).unwrap();
        assert_eq!(out, "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nhello\r\n--m--\r\n");
        let plain = b"Content-Type: text/plain\r\n\r\nno keys\r\n";
        assert_eq!(without_key_parts(plain), plain.to_vec());
    }

    #[test]
    fn bare_line_breaks_in_any_header_section_are_found() {
        let clean = b"Subject: hi\r\nContent-Type: text/plain\r\n\r\nbody\rwith a bare CR in the body\r\n";
        assert!(!bare_line_breaks_in_headers(clean));
        assert!(bare_line_breaks_in_headers(b"Subject: hi\rFrom: boss@example.org\r\n\r\nbody\r\n"));
        let in_a_part = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nX-A: 1\rSubject: x\r\n\r\nhi\r\n--b--\r\n";
        assert!(bare_line_breaks_in_headers(in_a_part));
    }
}
