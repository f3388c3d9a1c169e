//! Validated domain values: mail addresses, key fingerprints, challenge tokens.
//! Everything past the CLI and MIME edges speaks these types, so a value that
//! exists is already well-formed.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Decrypted content: wiped from memory when dropped. Best effort: the
/// buffers listcrypt owns are wiped, copies made inside mail-parser and
/// mail-builder while they work are not.
pub type Secret = zeroize::Zeroizing<Vec<u8>>;

/// A canonical mail address (`local@domain`).
///
/// Canonical form, one rule everywhere: internationalised domains become
/// their A-labels (`xn--`, IDNA 2008 with UTS #46 mapping), and the whole
/// address is lower-cased, local part included (every mail system listcrypt
/// meets treats it case-insensitively). Local parts are ASCII dot-atoms:
/// quoted local parts, UTF-8 local parts and address literals are refused, as
/// no list member needs them and they complicate matching.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Address(String);

impl Address {
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = |why: &str| {
            Error::data(format!("'{}' is not a mail address: {why}", printable(text)))
                .hint("give a plain address such as alice@example.org")
        };
        if text.len() > 254 {
            return Err(bad("longer than 254 characters"));
        }
        let (local, domain) = text.rsplit_once('@').ok_or_else(|| bad("no '@'"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(bad("the part before '@' is empty or too long"));
        }
        let local_ok = local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(bad("unsupported characters before '@'"));
        }
        let ascii_domain;
        let domain = if domain.is_ascii() {
            domain
        } else {
            ascii_domain = idna::domain_to_ascii(domain).map_err(|_| bad("not a valid internationalised domain"))?;
            ascii_domain.as_str()
        };
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !domain_ok {
            return Err(bad("the domain must be ASCII labels separated by dots (use xn-- for IDN)"));
        }
        if local.len() + 1 + domain.len() > 254 {
            return Err(bad("longer than 254 characters"));
        }
        Ok(Address(format!("{local}@{domain}").to_ascii_lowercase()))
    }

    /// A label of the domain mixes scripts (UTS #39's single-script test, as
    /// `unicode-security` implements it: Japanese kana with Han is one
    /// script, Latin with Cyrillic is not), the classic look-alike of another
    /// address (`exаmple.org` with a Cyrillic "а"). Whole-script look-alikes
    /// need a confusables table and are not caught.
    pub fn looks_alike(&self) -> bool {
        use unicode_security::MixedScript;
        let (unicode, _) = idna::domain_to_unicode(self.domain());
        unicode.split('.').any(|label| !label.is_single_script())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or(&self.0)
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }

    /// `local+suffix@domain`'s sibling `local-suffix@domain`, e.g. the list's
    /// `-request` and `-bounces` addresses.
    pub fn with_suffix(&self, suffix: &str) -> Address {
        Address(format!("{}-{suffix}@{}", self.local_part(), self.domain()))
    }

    /// `<local-bounces@domain>`: the envelope sender of everything the list sends.
    pub fn bounces(&self) -> Address {
        self.with_suffix("bounces")
    }

    /// `local+extension@domain` (an ASCII dot-atom extension).
    pub fn with_extension(&self, extension: &str) -> Address {
        Address(format!("{}+{extension}@{}", self.local_part(), self.domain()))
    }

    pub fn request(&self) -> Address {
        self.with_suffix("request")
    }

    pub fn owner(&self) -> Address {
        self.with_suffix("owner")
    }
}

impl FromStr for Address {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Address::parse(s)
    }
}

impl TryFrom<String> for Address {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Address::parse(&s)
    }
}

impl From<Address> for String {
    fn from(a: Address) -> String {
        a.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An OpenPGP fingerprint: 40 (v4) or 64 (v5) upper-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn parse(text: &str) -> Result<Self> {
        let hex: String = text
            .trim()
            .trim_start_matches("0x")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if (hex.len() == 40 || hex.len() == 64) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Fingerprint(hex))
        } else {
            Err(Error::data(format!("'{}' is not a key fingerprint", printable(text)))
                .hint("give the full 40-hex-digit fingerprint, as `listcrypt keys ls` prints it"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Fingerprint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Fingerprint::parse(s)
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Fingerprint::parse(&s)
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> String {
        f.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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

/// Seconds since the Unix epoch. `LISTCRYPT_NOW` (seconds) sets listcrypt's
/// own clock, for tests and dry runs of time-based rules; gpg keeps the real one.
pub fn now() -> u64 {
    if let Some(fixed) = std::env::var("LISTCRYPT_NOW").ok().and_then(|v| v.parse().ok()) {
        return fixed;
    }
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `2026-11-26T19:44:28Z` for seconds since the epoch (UTC).
pub fn utc(secs: u64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let rem = secs % 86_400;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `text` with control characters replaced, safe to echo in an error line.
pub fn printable(text: &str) -> String {
    text.chars().take(200).map(|c| if c.is_control() { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_canonical_and_checked() {
        let a = Address::parse(" Alice@Example.ORG ").unwrap();
        assert_eq!(a.as_str(), "alice@example.org");
        assert_eq!(a.bounces().as_str(), "alice-bounces@example.org");
        for bad in
            ["alice", "@example.org", "a@b", "a b@example.org", "a@ex_ample.org", "a\n@x.org", "ä@x.org", "a..b@x.org"]
        {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn internationalised_domains_become_a_labels_and_look_alikes_are_seen() {
        let u = Address::parse("Juergen@Bücher.example").unwrap();
        assert_eq!(u.as_str(), "juergen@xn--bcher-kva.example");
        assert_eq!(Address::parse("juergen@xn--bcher-kva.example").unwrap(), u, "one form, however it is written");
        assert!(!u.looks_alike(), "Latin with diacritics is one script");
        // "exаmple.org" with a Cyrillic "а" (U+0430), in either form.
        let cyrillic_a = Address::parse("alice@ex\u{430}mple.org").unwrap();
        assert!(cyrillic_a.as_str().starts_with("alice@xn--"), "{cyrillic_a}");
        assert_ne!(cyrillic_a.as_str(), "alice@example.org");
        assert!(cyrillic_a.looks_alike());
        assert!(Address::parse(cyrillic_a.as_str()).unwrap().looks_alike());
        assert!(!Address::parse("ivan@\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.example").unwrap().looks_alike());
        assert!(!Address::parse("alice@example.org").unwrap().looks_alike());
        assert!(Address::parse("alice@exa\u{0}mple.org").is_err());
    }

    #[test]
    fn fingerprints_are_normalised() {
        let f = Fingerprint::parse("0xabcd ef01 2345 6789 abcd ef01 2345 6789 abcd ef01").unwrap();
        assert_eq!(f.as_str(), "ABCDEF0123456789ABCDEF0123456789ABCDEF01");
        assert!(Fingerprint::parse("ABCD").is_err());
    }

    #[test]
    fn utc_times_are_formatted() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_795_722_268), "2026-11-26T19:44:28Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn tokens_use_the_unambiguous_alphabet() {
        let t = random_token(24);
        assert_eq!(t.len(), 24);
        assert!(t.bytes().all(|b| TOKEN_ALPHABET.contains(&b)));
        assert_eq!(normalize_token(" ABC-def "), "abcdef");
    }
}
