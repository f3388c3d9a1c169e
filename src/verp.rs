//! Bounce tags. Every copy of a post leaves from `LIST-bounces+TAG@DOMAIN`,
//! where TAG is an HMAC of the recipient's address under a key only the
//! list knows. A delivery report counts against a member only when it comes
//! back to that member's own tag, so nobody can stop a member's delivery by
//! sending the list forged reports that name them.

use crate::model::Address;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// 16 characters (80 bits) naming `recipient` under `key`.
pub fn tag(key: &[u8], recipient: &Address) -> String {
    let mac = hmac_sha256(key, recipient.as_str().as_bytes());
    // Lower case: local parts may be folded to it on the way back.
    data_encoding::BASE32_NOPAD.encode(&mac[..10]).to_ascii_lowercase()
}

/// The envelope sender of `recipient`'s copies.
pub fn sender(list: &Address, key: &[u8], recipient: &Address) -> Address {
    list.bounces().with_extension(&tag(key, recipient))
}

/// The tag in an address such as `crypto-bounces+TAG@example.org`, if it is
/// this list's bounce address.
pub fn tag_in(list: &Address, text: &str) -> Option<String> {
    let address = Address::parse(text.trim().trim_start_matches('<').trim_end_matches('>')).ok()?;
    let bounces = list.bounces();
    let (local, extension) = address.local_part().split_once('+')?;
    (local == bounces.local_part() && address.domain() == bounces.domain()).then(|| extension.to_string())
}

/// RFC 2104 HMAC with SHA-256.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(crate::model::hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn tags_name_one_recipient_under_one_key_and_come_back_out() {
        let list = Address::parse("crypto@example.org").unwrap();
        let bob = Address::parse("bob@example.org").unwrap();
        let carol = Address::parse("carol@example.org").unwrap();
        let t = tag(b"key one", &bob);
        // As every earlier version made it (base32 of the HMAC's first 80 bits), so tags in flight still count.
        assert_eq!(t, "lwnqa7rbqpwhfalx");
        assert_ne!(t, tag(b"key two", &bob));
        assert_ne!(t, tag(b"key one", &carol));
        let sender = sender(&list, b"key one", &bob);
        assert_eq!(sender.as_str(), format!("crypto-bounces+{t}@example.org"));
        assert_eq!(tag_in(&list, &format!("<{sender}>")), Some(t));
        assert_eq!(tag_in(&list, "crypto-bounces@example.org"), None);
        assert_eq!(tag_in(&list, "other-bounces+abc@example.org"), None);
    }
}
