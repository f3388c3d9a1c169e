//! OpenPGP packet framing (RFC 4880 §4.2), just enough to split one message
//! encrypted to many recipients into one message per recipient.
//!
//! An encrypted message is a run of public-key encrypted session key packets
//! (tag 1), one per recipient, then one encrypted data packet (tag 18, or 20
//! for AEAD). A recipient's copy is their own tag-1 packet, then the shared
//! data packet. The packet keeps the recipient's key ID, which every client
//! needs to find its key (RNP before 0.17 and PGPy cannot open a copy
//! without it), unless the list hides recipients: then it becomes the
//! wildcard 0. Anything else in the stream is refused, never guessed.
//!
//! [`armor`] reads and writes ASCII armor; [`bounds`] reads, before gpg
//! does, how much work a message would ask of it.

mod armor;
pub mod bounds;

pub use armor::{armor, base64, binary};
pub use bounds::{message_framing, too_costly_message, too_costly_signature, Framing};

use std::fmt;

/// Why a stream could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketError {
    Truncated,
    /// The old-format "indeterminate length", or a partial length on a packet that may not have one.
    BadLength,
    NotAPacket,
    /// A packet other than tag 1 then one tag 18/20, in that order.
    Unexpected(u8),
    /// A session key packet of a version other than 3.
    UnsupportedVersion(u8),
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Truncated => f.write_str("the OpenPGP data is truncated"),
            PacketError::BadLength => f.write_str("an OpenPGP packet has an unsupported length encoding"),
            PacketError::NotAPacket => f.write_str("the data is not an OpenPGP packet stream"),
            PacketError::Unexpected(tag) => write!(f, "unexpected OpenPGP packet (tag {tag})"),
            PacketError::UnsupportedVersion(v) => write!(f, "unsupported session key packet version {v}"),
        }
    }
}

/// One packet: its tag and its whole bytes (header included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub tag: u8,
    /// Where the body starts in `bytes` (for a partial-length body: the first chunk).
    pub header_len: usize,
    pub bytes: &'a [u8],
}

/// Tags whose bodies may use partial lengths (data packets).
fn may_be_partial(tag: u8) -> bool {
    matches!(tag, 8 | 9 | 11 | 18 | 20)
}

/// Reads the packet at the start of `data`.
pub fn next_packet(data: &[u8]) -> Result<Packet<'_>, PacketError> {
    let first = *data.first().ok_or(PacketError::Truncated)?;
    if first & 0x80 == 0 {
        return Err(PacketError::NotAPacket);
    }
    let byte = |i: usize| data.get(i).copied().map(usize::from).ok_or(PacketError::Truncated);
    let end = |header_len: usize, body_len: usize| {
        let total = header_len.checked_add(body_len).ok_or(PacketError::BadLength)?;
        if total > data.len() {
            return Err(PacketError::Truncated);
        }
        Ok(total)
    };
    if first & 0x40 == 0 {
        // Old format: tag in bits 5-2, length type in bits 1-0.
        let tag = (first >> 2) & 0x0f;
        let (header_len, body_len) = match first & 0x03 {
            0 => (2, byte(1)?),
            1 => (3, byte(1)? << 8 | byte(2)?),
            2 => (5, byte(1)? << 24 | byte(2)? << 16 | byte(3)? << 8 | byte(4)?),
            _ => return Err(PacketError::BadLength),
        };
        let total = end(header_len, body_len)?;
        return Ok(Packet { tag, header_len, bytes: &data[..total] });
    }
    // New format: tag in bits 5-0, then one or more length octets.
    let tag = first & 0x3f;
    let mut at = 1;
    let mut header_len = None;
    loop {
        let l1 = byte(at)?;
        let (len_octets, body_len, partial) = match l1 {
            0..=191 => (1, l1, false),
            192..=223 => (2, ((l1 - 192) << 8) + byte(at + 1)? + 192, false),
            255 => (5, byte(at + 1)? << 24 | byte(at + 2)? << 16 | byte(at + 3)? << 8 | byte(at + 4)?, false),
            _ => (1, 1usize << (l1 & 0x1f), true),
        };
        if partial && !may_be_partial(tag) {
            return Err(PacketError::BadLength);
        }
        header_len.get_or_insert(at + len_octets);
        at = end(at + len_octets, body_len)?;
        if !partial {
            return Ok(Packet { tag, header_len: header_len.unwrap_or(at), bytes: &data[..at] });
        }
    }
}

/// The version of the key a key file (armored or binary) starts with: 4 for
/// the keys GnuPG 2.2 reads, 6 for RFC 9580's, 5 for its draft's, 3 for PGP 2's.
pub fn key_version(file: &[u8]) -> Option<u8> {
    let data = binary(file)?;
    let packet = next_packet(&data).ok()?;
    // Tag 6: public key; tag 5: secret key. Both start with their version.
    matches!(packet.tag, 5 | 6).then(|| packet.bytes.get(packet.header_len).copied()).flatten()
}

/// The transferable keys of a key file, each in binary: every armored block
/// (or the binary stream) cut at each public or secret key packet. None
/// when the framing cannot be read strictly (then gpg reads the file whole).
pub fn transferable_keys(file: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut streams = vec![];
    if file.first().is_some_and(|b| b & 0x80 != 0) {
        streams.push(file.to_vec());
    } else {
        // Blocks one after another, each begun at the start of a line: a
        // BEGIN line anywhere else (an armor header, say) is text, not a block.
        let text = std::str::from_utf8(file).ok()?;
        let mut at = 0;
        while let Some(found) = text[at..].find("-----BEGIN PGP ") {
            let start = at + found;
            let line_start = start == 0 || text.as_bytes()[start - 1] == b'\n';
            if !line_start {
                at = start + 1;
                continue;
            }
            streams.push(binary(&file[start..])?.into_owned());
            let end = text[start..].find("\n-----END PGP ").map(|e| start + e + 1)?;
            at = text[end..].find('\n').map_or(text.len(), |n| end + n + 1);
        }
    }
    let mut keys: Vec<Vec<u8>> = vec![];
    for stream in &streams {
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let packet = next_packet(rest).ok()?;
            match (packet.tag, keys.last_mut()) {
                (5 | 6, _) => keys.push(packet.bytes.to_vec()),
                (_, Some(key)) => key.extend_from_slice(packet.bytes),
                (_, None) => return None,
            }
            rest = &rest[packet.bytes.len()..];
        }
    }
    Some(keys)
}

/// A message encrypted to many recipients, taken apart.
#[derive(Debug)]
pub struct Encrypted<'a> {
    /// Each recipient's session key packet, by the key ID it names.
    pub sessions: Vec<([u8; 8], Packet<'a>)>,
    /// The encrypted data packet every recipient shares.
    pub data: &'a [u8],
}

/// Splits a binary OpenPGP message into session key packets and the data packet.
pub fn split(message: &[u8]) -> Result<Encrypted<'_>, PacketError> {
    let mut sessions = vec![];
    let mut rest = message;
    loop {
        let packet = next_packet(rest)?;
        rest = &rest[packet.bytes.len()..];
        match packet.tag {
            1 => {
                let body = &packet.bytes[packet.header_len..];
                match body.first() {
                    Some(3) if body.len() >= 10 => {}
                    Some(3) => return Err(PacketError::Truncated),
                    Some(v) => return Err(PacketError::UnsupportedVersion(*v)),
                    None => return Err(PacketError::Truncated),
                }
                let mut key_id = [0u8; 8];
                key_id.copy_from_slice(&body[1..9]);
                sessions.push((key_id, packet));
            }
            18 | 20 if !sessions.is_empty() => {
                if !rest.is_empty() {
                    return Err(next_packet(rest)
                        .map(|p| PacketError::Unexpected(p.tag))
                        .unwrap_or(PacketError::NotAPacket));
                }
                return Ok(Encrypted { sessions, data: packet.bytes });
            }
            tag => return Err(PacketError::Unexpected(tag)),
        }
    }
}

/// Whether a copy's session key packet names its recipient's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyId {
    /// The recipient's encryption subkey ID, as gpg wrote it.
    Real,
    /// The wildcard 0 ("hidden recipient").
    Hidden,
}

/// One recipient's message: their session key packet, then the shared data packet.
pub fn single_recipient(session: &Packet<'_>, data: &[u8], key_id: KeyId) -> Vec<u8> {
    let mut out = Vec::with_capacity(session.bytes.len() + data.len());
    out.extend_from_slice(session.bytes);
    if key_id == KeyId::Hidden {
        out[session.header_len + 1..session.header_len + 9].fill(0);
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
pub(crate) mod test_packets {

    pub(crate) fn new_format(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0xC0 | tag];
        match body.len() {
            n @ 0..=191 => out.push(n as u8),
            n @ 192..=8383 => {
                let m = n - 192;
                out.extend([(m >> 8) as u8 + 192, m as u8]);
            }
            n => {
                out.push(255);
                out.extend((n as u32).to_be_bytes());
            }
        }
        out.extend_from_slice(body);
        out
    }

    pub(crate) fn pkesk(key_id: u8) -> Vec<u8> {
        let mut body = vec![3];
        body.extend([key_id; 8]);
        body.extend([18, 1, 2, 3]);
        body
    }
}

#[cfg(test)]
mod tests {
    use super::test_packets::*;
    use super::*;

    #[test]
    fn every_length_encoding_is_read() {
        for n in [0, 1, 191, 192, 8383, 8384, 70_000] {
            let body = vec![7u8; n];
            let packet = new_format(18, &body);
            let read = next_packet(&packet).unwrap();
            assert_eq!((read.tag, read.bytes.len()), (18, packet.len()), "new format, {n} bytes");
            assert_eq!(&read.bytes[read.header_len..], &body[..]);
        }
        for (ltype, header) in [(0u8, vec![5u8]), (1, vec![0, 5]), (2, vec![0, 0, 0, 5])] {
            let mut packet = vec![0x80 | (1 << 2) | ltype];
            packet.extend(header);
            packet.extend([3, 1, 2, 3, 4]);
            let read = next_packet(&packet).unwrap();
            assert_eq!((read.tag, read.bytes.len()), (1, packet.len()), "old format type {ltype}");
        }
    }

    #[test]
    fn partial_lengths_are_followed_to_the_last_chunk() {
        let mut packet = vec![0xC0 | 18, 0xE0 | 9]; // 512-byte partial chunk
        packet.extend(vec![1u8; 512]);
        packet.push(0xE0 | 1); // 2-byte partial chunk
        packet.extend([2, 2]);
        packet.push(3); // final 3-byte chunk
        packet.extend([3, 3, 3]);
        packet.extend(new_format(1, &pkesk(1))); // what follows is not part of it
        let read = next_packet(&packet).unwrap();
        assert_eq!(read.bytes.len(), 2 + 512 + 1 + 2 + 1 + 3);
        assert_eq!(read.header_len, 2);
        let mut bad = vec![0xC0 | 1, 0xE0];
        bad.extend([0u8; 4]);
        assert_eq!(next_packet(&bad), Err(PacketError::BadLength), "no partial lengths on tag 1");
    }

    #[test]
    fn a_key_file_tells_its_key_version() {
        let v6 = new_format(6, &[6, 0x63, 0x87, 0x7f, 0xe3, 27, 0, 0, 0, 32]);
        assert_eq!(key_version(&v6), Some(6));
        let armored = String::from_utf8(armor(&v6)).unwrap().replace("PGP MESSAGE", "PGP PUBLIC KEY BLOCK");
        assert_eq!(key_version(armored.as_bytes()), Some(6), "armored");
        assert_eq!(key_version(&new_format(5, &[4, 1, 2])), Some(4), "a secret key");
        assert_eq!(key_version(&new_format(13, b"a user ID")), None, "not a key");
        assert_eq!(key_version(b"hello"), None);
    }

    #[test]
    fn key_files_are_cut_into_their_keys() {
        let key =
            |n: u8| [new_format(6, &[4, n, 0, 0, 0, 22]), new_format(13, b"uid"), new_format(2, &[4, n])].concat();
        let stream = [key(1), key(2), key(3)].concat();
        assert_eq!(transferable_keys(&stream).unwrap(), vec![key(1), key(2), key(3)]);
        let armored = |b: &[u8]| String::from_utf8(armor(b)).unwrap().replace("MESSAGE", "PUBLIC KEY BLOCK");
        let two_blocks = format!("{}\n{}", armored(&key(1)), armored(&[key(2), key(3)].concat()));
        assert_eq!(transferable_keys(two_blocks.as_bytes()).unwrap().len(), 3, "every armored block");
        assert_eq!(transferable_keys(&new_format(13, b"uid")), None, "no key packet first");
        let header = armored(&key(1)).replacen("\n\n", "\nComment: -----BEGIN PGP x\n\n", 1);
        assert_eq!(
            transferable_keys(header.as_bytes()).unwrap(),
            vec![key(1)],
            "a BEGIN inside a block is not a block"
        );
    }

    #[test]
    fn truncated_and_foreign_data_are_refused() {
        let packet = new_format(18, &[1, 2, 3, 4]);
        assert_eq!(next_packet(&packet[..packet.len() - 1]), Err(PacketError::Truncated));
        assert_eq!(next_packet(&[0xC0 | 18]), Err(PacketError::Truncated));
        assert_eq!(next_packet(&[0xC0 | 18, 255, 0, 0]), Err(PacketError::Truncated));
        assert_eq!(next_packet(b"-----BEGIN"), Err(PacketError::NotAPacket));
        assert_eq!(next_packet(&[0x80 | 3 | (18 << 2) & 0x3c]), Err(PacketError::BadLength), "indeterminate length");
        assert_eq!(next_packet(&[]), Err(PacketError::Truncated));
    }

    #[test]
    fn messages_split_into_one_copy_per_recipient() {
        let mut message = new_format(1, &pkesk(0xAA));
        message.extend(new_format(1, &pkesk(0xBB)));
        let data = new_format(18, &[9u8; 300]);
        message.extend(&data);
        let split = split(&message).unwrap();
        assert_eq!(split.sessions.iter().map(|(id, _)| id[0]).collect::<Vec<_>>(), vec![0xAA, 0xBB]);
        assert_eq!(split.data, &data[..]);
        for (key_id, expected) in [(KeyId::Real, [0xBB; 8]), (KeyId::Hidden, [0; 8])] {
            let copy = single_recipient(&split.sessions[1].1, split.data, key_id);
            let first = next_packet(&copy).unwrap();
            assert_eq!(&first.bytes[first.header_len + 1..first.header_len + 9], &expected, "{key_id:?} key ID");
            assert_eq!(&copy[first.bytes.len()..], &data[..]);
            assert!(!copy.contains(&0xAA), "no other recipient's packet");
        }
    }

    #[test]
    fn unexpected_packet_sequences_are_refused() {
        let data = new_format(18, &[9u8; 10]);
        assert_eq!(split(&data).unwrap_err(), PacketError::Unexpected(18), "no session key");
        let mut trailing = new_format(1, &pkesk(1));
        trailing.extend(&data);
        trailing.extend(new_format(11, b"literal"));
        assert_eq!(split(&trailing).unwrap_err(), PacketError::Unexpected(11));
        let mut signed = new_format(4, &[3; 13]);
        signed.extend(&data);
        assert_eq!(split(&signed).unwrap_err(), PacketError::Unexpected(4));
        let mut v6 = vec![6];
        v6.extend([0; 12]);
        let mut newer = new_format(1, &v6);
        newer.extend(&data);
        assert_eq!(split(&newer).unwrap_err(), PacketError::UnsupportedVersion(6));
        let mut cut = new_format(1, &pkesk(1));
        cut.extend(&data[..data.len() - 2]);
        assert_eq!(split(&cut).unwrap_err(), PacketError::Truncated);
    }
}
