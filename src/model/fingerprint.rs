//! OpenPGP fingerprints, normalised.

use super::printable;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_normalised() {
        let f = Fingerprint::parse("0xabcd ef01 2345 6789 abcd ef01 2345 6789 abcd ef01").unwrap();
        assert_eq!(f.as_str(), "ABCDEF0123456789ABCDEF0123456789ABCDEF01");
        assert!(Fingerprint::parse("ABCD").is_err());
    }
}
