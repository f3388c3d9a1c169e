//! What a message would ask of gpg, read from its OpenPGP framing before
//! gpg sees it: gpg spends a private-key operation on every hidden-recipient
//! session key packet and a public-key one on every signature, so a mail
//! built of thousands of them would keep it busy for minutes.

use super::{binary, next_packet, PacketError};

/// The session key packets (tags 1 and 3) that open an encrypted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionKeys {
    pub total: usize,
    /// Public-key packets naming no key (the wildcard key ID): gpg tries
    /// every secret key it has on each, one private-key operation apiece.
    pub wildcard: usize,
}

/// How many packets of `tag` a stream of packets holds (a detached
/// signature: one signature packet per signer).
pub fn count_packets(message: &[u8], tag: u8) -> Result<usize, PacketError> {
    let mut count = 0;
    let mut rest = message;
    while !rest.is_empty() {
        let packet = next_packet(rest)?;
        count += usize::from(packet.tag == tag);
        rest = &rest[packet.bytes.len()..];
    }
    Ok(count)
}

/// Counts the session key packets of an encrypted message, up to its
/// encrypted data packet (which is not read: it may use any length
/// encoding). Marker packets are skipped, as gpg skips them; any other
/// packet there, or no data packet at all, is an error.
pub fn session_keys(message: &[u8]) -> Result<SessionKeys, PacketError> {
    let mut found = SessionKeys::default();
    let mut rest = message;
    loop {
        let first = *rest.first().ok_or(PacketError::Truncated)?;
        if first & 0x80 == 0 {
            return Err(PacketError::NotAPacket);
        }
        let tag = if first & 0x40 == 0 { (first >> 2) & 0x0f } else { first & 0x3f };
        match tag {
            9 | 18 | 20 => return Ok(found),
            1 | 3 | 10 => {}
            other => return Err(PacketError::Unexpected(other)),
        }
        let packet = next_packet(rest)?;
        let body = &packet.bytes[packet.header_len..];
        match tag {
            1 => {
                found.total += 1;
                if body.first() == Some(&3) && body.get(1..9).is_some_and(|id| id.iter().all(|b| *b == 0)) {
                    found.wildcard += 1;
                }
            }
            3 => found.total += 1,
            _ => {}
        }
        rest = &rest[packet.bytes.len()..];
    }
}

/// Most session key packets a post may carry: the list's, the sender's own,
/// a few for other recipients of the same mail.
pub const MAX_SESSION_KEYS: usize = 32;
/// Most hidden-recipient (wildcard key ID) session key packets: gpg spends a
/// private-key operation on each, 200 ms and more with a protected key.
pub const MAX_WILDCARD_SESSION_KEYS: usize = 2;
/// Most signature packets in a detached or cleartext signature (a post needs
/// one; gpg checks each against a key).
pub const MAX_SIGNATURE_PACKETS: usize = 4;

/// What the framing of a supposedly encrypted message says, before gpg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Session key packets within bounds, then encrypted data: for gpg.
    Bounded,
    /// More session key packets than any post carries, or framing that
    /// cannot be read for certain (gpg is more lenient, and would do the
    /// work this count is there to bound): never for gpg.
    TooCostly,
    /// Readable, but not an encrypted message (signed or literal data, say):
    /// it is undecryptable, and gpg need not look at it.
    NotEncrypted,
}

/// Reads the framing of `message` (armored or binary).
pub fn message_framing(message: &[u8]) -> Framing {
    let Some(binary) = binary(message) else { return Framing::TooCostly };
    match session_keys(&binary) {
        Ok(k) if k.total <= MAX_SESSION_KEYS && k.wildcard <= MAX_WILDCARD_SESSION_KEYS => Framing::Bounded,
        Ok(_) => Framing::TooCostly,
        Err(PacketError::Unexpected(_)) if binary.first().is_some_and(|b| b & 0x80 != 0) => Framing::NotEncrypted,
        Err(_) => Framing::TooCostly,
    }
}

/// An encrypted message that must not reach gpg ([`Framing::TooCostly`] or
/// [`Framing::NotEncrypted`]).
pub fn too_costly_message(message: &[u8]) -> bool {
    message_framing(message) != Framing::Bounded
}

/// A signature block that must not reach gpg: more signature packets than a
/// post needs, or framing that cannot be read for certain.
pub fn too_costly_signature(signature: &[u8]) -> bool {
    let count = binary(signature).ok_or(PacketError::NotAPacket).and_then(|b| count_packets(&b, 2));
    !count.is_ok_and(|n| n <= MAX_SIGNATURE_PACKETS)
}

#[cfg(test)]
mod tests {
    use super::super::armor;
    use super::super::test_packets::*;
    use super::*;

    #[test]
    fn session_key_packets_are_counted_up_to_the_data() {
        let mut message = vec![];
        for id in [0, 7, 0] {
            message.extend(new_format(1, &pkesk(id)));
        }
        message.extend(new_format(3, &[4, 9, 2, 3]));
        // A marker packet is skipped, as gpg skips it: it hides nothing.
        let mut marked = new_format(10, b"PGP");
        marked.extend(&message);
        // An old-format data packet of indeterminate length is not read.
        for m in [&mut message, &mut marked] {
            m.extend([0x80 | (9 << 2) | 3, 1, 2, 3]);
        }
        assert_eq!(session_keys(&message), Ok(SessionKeys { total: 4, wildcard: 2 }));
        assert_eq!(session_keys(&marked), Ok(SessionKeys { total: 4, wildcard: 2 }));
        let armored = armor(&message);
        assert_eq!(binary(&armored).unwrap().as_ref(), &message[..]);
        let with_headers = String::from_utf8(armored.clone()).unwrap().replace("-----\n\n", "-----\nComment: x: y\n\n");
        assert_eq!(binary(with_headers.as_bytes()).unwrap().as_ref(), &message[..]);
        assert!(binary(b"no armor here").is_none());
        // What gpg would read past, this reader refuses: a stray byte, a cut block.
        let mut stray = armored.clone();
        stray.insert(40, 0xe9);
        assert!(binary(&stray).is_none() && too_costly_message(&stray));
        assert!(too_costly_message(&armored[..armored.len() - 30]));
        // Anything but session keys before the data, or no data at all.
        assert!(too_costly_message(&armor(&[new_format(1, &pkesk(7)), new_format(2, &[4])].concat())));
        assert!(too_costly_message(&armor(&new_format(1, &pkesk(7)))));
        assert!(!too_costly_message(&armor(&[new_format(1, &pkesk(7)), new_format(18, &[1])].concat())));
        let wildcards: Vec<u8> = (0..3).flat_map(|_| new_format(1, &pkesk(0))).chain(new_format(18, &[1])).collect();
        assert!(too_costly_message(&armor(&wildcards)));
    }
}
