//! Content for an anonymous list, with every part's header rebuilt from an
//! allow-list: part headers written by the author's client name them
//! (Content-ID with their host, X-Mailer, Content-Language, file dates,
//! boundaries made from a host name and a time). Kept: the media type with
//! its charset, name, format and (for multiparts) type; the transfer
//! encoding; the disposition with its file name. Boundaries are new.
//! Bodies are copied as they are, still in their transfer encoding.

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders};

/// `entity` with every header section rebuilt; `entity` itself when it
/// cannot be parsed (it was accepted, so it parses).
pub fn anonymized(entity: &[u8]) -> Vec<u8> {
    let Some(message) = MessageParser::default().parse(entity) else { return entity.to_vec() };
    let mut out = Vec::with_capacity(entity.len());
    write_part(&message, 0, &mut out);
    out
}

fn write_part(message: &Message<'_>, index: usize, out: &mut Vec<u8>) {
    let Some(part) = message.parts.get(index) else { return };
    let raw = message.raw_message();
    let children = part.sub_parts();
    let boundary = children.map(|_| format!("=-{}", crate::model::random_token(24)));
    write_header(part, boundary.as_deref(), out);
    out.extend_from_slice(b"\r\n");
    match (children, &boundary) {
        (Some(children), Some(boundary)) => {
            for child in children {
                out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
                write_part(message, *child as usize, out);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        }
        _ => {
            let body = raw.get(part.offset_body as usize..part.offset_end as usize).unwrap_or_default();
            out.extend_from_slice(body);
        }
    }
}

fn write_header(part: &MessagePart<'_>, boundary: Option<&str>, out: &mut Vec<u8>) {
    let mut content_type = match part.content_type() {
        Some(ct) => format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")),
        None if boundary.is_some() => "multipart/mixed".into(),
        None => "text/plain".into(),
    };
    let kept = ["charset", "name", "format", "delsp", "type"];
    if let Some(attributes) = part.content_type().and_then(|ct| ct.attributes()) {
        for attribute in attributes.iter().filter(|a| kept.iter().any(|k| a.name.eq_ignore_ascii_case(k))) {
            content_type.push_str(&parameter(&attribute.name.to_ascii_lowercase(), &attribute.value));
        }
    }
    if let Some(boundary) = boundary {
        content_type.push_str(&parameter("boundary", boundary));
    }
    out.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
    if let Some(encoding) = part.content_transfer_encoding() {
        let encoding = encoding.trim().to_ascii_lowercase();
        if ["7bit", "8bit", "binary", "base64", "quoted-printable"].contains(&encoding.as_str()) {
            out.extend_from_slice(format!("Content-Transfer-Encoding: {encoding}\r\n").as_bytes());
        }
    }
    if let Some(disposition) = part.content_disposition() {
        let kind = if disposition.ctype().eq_ignore_ascii_case("attachment") { "attachment" } else { "inline" };
        let mut line = format!("Content-Disposition: {kind}");
        if let Some(name) = disposition.attribute("filename") {
            line.push_str(&parameter("filename", name));
        }
        out.extend_from_slice(format!("{line}\r\n").as_bytes());
    }
}

/// `; name="value"`, or RFC 2231's `; name*=utf-8''…` for a value that
/// plain quoting cannot carry.
fn parameter(name: &str, value: &str) -> String {
    let plain = value.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
    if plain {
        return format!(";\r\n\t{name}=\"{value}\"");
    }
    let encoded: String = value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!(";\r\n\t{name}*=utf-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_headers_keep_only_what_readers_need() {
        let entity = b"Content-Type: multipart/mixed; boundary=\"alice-laptop-1733000000\"\r\n\
            Content-Language: de-AT\r\n\
            \r\n\
            preamble from Alice's client\r\n\
            --alice-laptop-1733000000\r\n\
            Content-Type: text/plain; charset=utf-8; format=flowed; protected-headers=\"v1\"\r\n\
            Content-ID: <part1.alice@laptop.alice.example>\r\n\
            X-Mailer: AliceMail 1.0\r\n\
            Content-Transfer-Encoding: 8bit\r\n\
            \r\n\
            Hello\r\n\
            --alice-laptop-1733000000\r\n\
            Content-Type: application/pdf; name=\"Bericht \xc3\xa4.pdf\"\r\n\
            Content-Disposition: attachment; filename=\"report.pdf\"; creation-date=\"Mon, 1 Dec 2026 10:00:00 +0100\"\r\n\
            Content-Description: Alice's report\r\n\
            Content-Transfer-Encoding: base64\r\n\
            \r\n\
            JVBERi0xLjQK\r\n\
            --alice-laptop-1733000000--\r\n";
        let out = String::from_utf8(anonymized(entity)).unwrap();
        for gone in ["alice", "laptop", "AliceMail", "de-AT", "creation-date", "protected-headers", "preamble"] {
            assert!(!out.contains(gone), "{gone} is still there:\n{out}");
        }
        for kept in ["charset=\"utf-8\"", "format=\"flowed\"", "filename=\"report.pdf\"", "JVBERi0xLjQK", "Hello"] {
            assert!(out.contains(kept), "{kept} is gone:\n{out}");
        }
        assert!(out.contains("name*=utf-8''Bericht%20%C3%A4.pdf"), "{out}");
        let reread = MessageParser::default().parse(out.as_bytes()).unwrap();
        assert_eq!(reread.parts.len(), 3);
        assert_eq!(reread.body_text(0).as_deref(), Some("Hello"));
    }
}
