//! Validated domain values: mail addresses, key fingerprints, challenge tokens,
//! the clock. Everything past the CLI and MIME edges speaks these types, so a
//! value that exists is already well-formed.

mod address;
mod clock;
mod fingerprint;
mod token;

pub use address::Address;
pub use clock::{now, utc};
pub use fingerprint::Fingerprint;
pub use token::{hex, normalize_token, random_token, sha256_hex, unhex};

/// Decrypted content: wiped from memory when dropped. Best effort: the
/// buffers listcrypt owns are wiped, copies made inside mail-parser and
/// mail-builder while they work are not.
pub type Secret = zeroize::Zeroizing<Vec<u8>>;

/// `text` with control characters replaced, safe to echo in an error line.
pub fn printable(text: &str) -> String {
    text.chars().take(200).map(|c| if c.is_control() { '?' } else { c }).collect()
}
