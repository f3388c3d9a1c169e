//! Challenge tokens and entry ids, and the digests and hex that store
//! secrets without keeping them.

/// The characters of challenge tokens and entry ids: letters and digits
/// without look-alikes (no 0/O, 1/l/I), so a token can be typed from a phone.
const TOKEN_ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyz";

/// `len` random characters of [`TOKEN_ALPHABET`] (5 bits each).
pub fn random_token(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source failed");
    bytes.iter().map(|b| TOKEN_ALPHABET[(*b as usize) % TOKEN_ALPHABET.len()] as char).collect()
}

/// Normalises what a person typed as a token: case and spaces do not matter.
pub fn normalize_token(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_lowercase()
}

/// Hex SHA-256, used to store tokens and seen signatures without the secret.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(data))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// The bytes of a hex string (either case); None if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    data_encoding::HEXLOWER_PERMISSIVE.decode(text.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_use_the_unambiguous_alphabet() {
        let t = random_token(24);
        assert_eq!(t.len(), 24);
        assert!(t.bytes().all(|b| TOKEN_ALPHABET.contains(&b)));
        assert_eq!(normalize_token(" ABC-def "), "abcdef");
    }
}
