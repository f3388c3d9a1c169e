//! Line-level helpers both directions of MIME need: CRLF line ends and the
//! header section of a message (a leaf: build and parse both use it).

/// Inline PGP's text as a text/plain MIME entity, in a buffer sized once and
/// wiped on drop (it holds decrypted text).
pub fn text_entity(text: &[u8]) -> crate::model::Secret {
    const HEAD: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    let mut entity = crate::model::Secret::new(Vec::with_capacity(HEAD.len() + text.len()));
    entity.extend_from_slice(HEAD);
    entity.extend_from_slice(text);
    entity
}

/// `bytes` with every line ending as CRLF, as SMTP and RFC 3156 expect.
pub fn crlf(bytes: &[u8]) -> Vec<u8> {
    // Exactly the room needed: growing would leave copies of decrypted text behind.
    let bare = bytes.iter().enumerate().filter(|(i, b)| **b == b'\n' && (*i == 0 || bytes[i - 1] != b'\r')).count();
    let mut out = Vec::with_capacity(bytes.len() + bare);
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

/// True when a header field (`Name: value...`, as [`split_header_section`]
/// gives it) is named `name`, or starts with it when `name` ends in `-`.
pub fn field_is(field: &[u8], name: &[u8]) -> bool {
    let named = field.len() > name.len() && field[..name.len()].eq_ignore_ascii_case(name);
    named && (name.ends_with(b"-") || field[name.len()] == b':')
}

/// A MIME header field of an entity (`Content-*`), which moves with its body.
pub fn is_content_field(field: &[u8]) -> bool {
    field_is(field, b"content-")
}

/// Splits a CRLF message into its header fields (each with its folded
/// continuation lines and line ends) and its body.
pub fn split_header_section(raw: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut fields: Vec<&[u8]> = vec![];
    let mut at = 0;
    let mut field_start = None;
    while at < raw.len() {
        let end = raw[at..].windows(2).position(|w| w == b"\r\n").map(|i| at + i + 2).unwrap_or(raw.len());
        let line = &raw[at..end];
        if line == b"\r\n" {
            if let Some(s) = field_start.take() {
                fields.push(&raw[s..at]);
            }
            return (fields, &raw[end..]);
        }
        if !(line[0] == b' ' || line[0] == b'\t') {
            if let Some(s) = field_start.take() {
                fields.push(&raw[s..at]);
            }
            field_start = Some(at);
        }
        at = end;
    }
    if let Some(s) = field_start {
        fields.push(&raw[s..]);
    }
    (fields, &raw[raw.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_matched_by_whole_name_or_prefix() {
        assert!(field_is(b"Content-Type: text/plain\r\n", b"content-type"));
        assert!(!field_is(b"Content-Type-Extra: x\r\n", b"content-type"));
        assert!(field_is(b"MIME-Version: 1.0\r\n", b"mime-version"));
        assert!(is_content_field(b"content-transfer-encoding: 8bit\r\n"));
        assert!(!is_content_field(b"Subject: content-free\r\n"));
        assert!(!is_content_field(b"Content-"));
    }
}
