//! Mail addresses, in the one canonical form listcrypt compares.

use super::printable;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

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
        // Japanese is one writing system (Han with kana); Latin with Han in one label is not.
        assert!(!Address::parse("taro@\u{6771}\u{4eac}\u{30bf}\u{30ef}\u{30fc}.example").unwrap().looks_alike());
        assert!(Address::parse("taro@shop\u{6771}\u{4eac}.example").unwrap().looks_alike());
        assert!(Address::parse("alice@exa\u{0}mple.org").is_err());
    }
}
