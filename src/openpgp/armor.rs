//! ASCII armor (RFC 4880 §6): written for every copy a list sends, and read
//! (strictly) to count what a message holds before gpg sees it.

/// ASCII armor (RFC 4880 §6) of an OpenPGP message.
pub fn armor(data: &[u8]) -> Vec<u8> {
    let encoded = base64(data);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / 64 + 80);
    out.extend_from_slice(b"-----BEGIN PGP MESSAGE-----\n\n");
    for line in encoded.chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    let crc = crc24(data).to_be_bytes();
    out.push(b'=');
    out.extend_from_slice(&base64(&crc[1..]));
    out.extend_from_slice(b"\n-----END PGP MESSAGE-----\n");
    out
}

pub fn base64(data: &[u8]) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data).into_bytes()
}

/// The binary form of an OpenPGP message: `data` itself when it is binary,
/// the decoded body when it is ASCII armor (RFC 4880 §6.2): armor headers
/// up to the blank line are skipped, the checksum line ends the body. Read
/// strictly: a body line with anything but the base64 alphabet (which gpg
/// would skip over) makes it `None`, and so does anything that is not armor.
pub fn binary(data: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
    use base64::Engine;
    if data.first().is_some_and(|b| b & 0x80 != 0) {
        return Some(std::borrow::Cow::Borrowed(data));
    }
    let text = std::str::from_utf8(data).ok()?;
    let mut lines = text.lines().map(str::trim).skip_while(|l| !l.starts_with("-----BEGIN PGP "));
    lines.next()?;
    let mut body = String::new();
    let mut in_headers = true;
    for line in lines {
        if line.starts_with("-----END PGP ") {
            return base64::engine::general_purpose::STANDARD.decode(body).ok().map(std::borrow::Cow::Owned);
        }
        if in_headers && (line.contains(": ") || line.is_empty()) {
            in_headers = !line.is_empty();
            continue;
        }
        in_headers = false;
        if line.starts_with('=') && line.len() == 5 {
            continue; // the CRC-24 checksum
        }
        if !line.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')) {
            return None;
        }
        body.push_str(line);
    }
    None
}

/// The armor's checksum (RFC 4880 §6.1).
fn crc24(data: &[u8]) -> u32 {
    const CRC24: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_24_OPENPGP);
    CRC24.checksum(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armor_matches_the_standard() {
        assert_eq!(base64(b"foobar"), b"Zm9vYmFy");
        assert_eq!(base64(b"fooba"), b"Zm9vYmE=");
        assert_eq!(base64(b"f"), b"Zg==");
        assert_eq!(crc24(b""), 0xB704CE);
        assert_eq!(crc24(b"123456789"), 0x21CF02, "CRC-24/OPENPGP's check value");
        let armored = String::from_utf8(armor(&[0xC0 | 18, 1, 0])).unwrap();
        assert!(armored.starts_with("-----BEGIN PGP MESSAGE-----\n\n"));
        assert!(armored.ends_with("\n-----END PGP MESSAGE-----\n"));
    }
}
