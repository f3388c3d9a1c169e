//! What listcrypt needs to know about one OpenPGP key, read from gpgme's.

use crate::error::{Error, Result};
use crate::model::{Address, Fingerprint};
use gpgme::Key;
use std::time::{SystemTime, UNIX_EPOCH};

/// What listcrypt needs to know about one OpenPGP key.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub fingerprint: Fingerprint,
    pub has_secret: bool,
    pub revoked: bool,
    pub expired: bool,
    /// Some valid (not revoked, not expired) key or subkey can sign.
    pub can_sign: bool,
    /// Some valid key or subkey can encrypt.
    pub can_encrypt: bool,
    /// Lower-cased addresses of the user IDs that are not revoked.
    pub emails: Vec<String>,
    pub user_ids: Vec<String>,
    /// The primary key's creation, seconds since the epoch.
    pub created: u64,
    /// The primary key's expiry, seconds since the epoch.
    pub expires: Option<u64>,
    /// Until when mail can be encrypted to it: the primary key's expiry or the
    /// last usable encryption subkey's, whichever comes first (None: no end).
    pub encrypt_until: Option<u64>,
    /// Fingerprints of the primary key and every subkey.
    pub subkeys: Vec<Fingerprint>,
    pub keygrips: Vec<String>,
    /// The primary key, or a usable subkey, is RSA, DSA or ElGamal under
    /// 2048 bits: what it is (`RSA 1024 bits`).
    pub weak: Option<String>,
}

impl KeyInfo {
    pub(super) fn from_key(key: &Key) -> Result<Self> {
        let fpr = key.fingerprint().map_err(|_| Error::data("a key has no fingerprint"))?;
        let usable = |s: &gpgme::Subkey<'_>| !s.is_revoked() && !s.is_expired() && !s.is_invalid() && !s.is_disabled();
        let emails = key
            .user_ids()
            .filter(|u| !u.is_revoked() && !u.is_invalid())
            .filter_map(|u| u.email().ok().map(str::trim))
            .filter(|e| !e.is_empty())
            // The same canonical form as every other address (A-labels, lower case).
            .map(|e| Address::parse(e).map(|a| a.as_str().to_string()).unwrap_or_else(|_| e.to_ascii_lowercase()))
            .collect();
        Ok(KeyInfo {
            fingerprint: Fingerprint::parse(fpr)?,
            has_secret: key.has_secret() || key.subkeys().any(|s| s.is_secret()),
            revoked: key.is_revoked(),
            expired: key.is_expired(),
            can_sign: key.subkeys().any(|s| usable(&s) && s.can_sign()),
            can_encrypt: key.subkeys().any(|s| usable(&s) && s.can_encrypt()),
            emails,
            user_ids: key.user_ids().filter_map(|u| u.id().ok().map(str::to_string)).collect(),
            created: key.primary_key().and_then(|p| p.creation_time()).map(epoch_secs).unwrap_or(0),
            expires: key.primary_key().and_then(|p| p.expiration_time()).map(epoch_secs),
            encrypt_until: {
                let primary = key.primary_key().and_then(|p| p.expiration_time()).map(epoch_secs);
                let subkeys: Vec<Option<u64>> = key
                    .subkeys()
                    .filter(|s| usable(s) && s.can_encrypt())
                    .map(|s| s.expiration_time().map(epoch_secs))
                    .collect();
                let last_subkey =
                    if subkeys.iter().any(Option::is_none) { None } else { subkeys.into_iter().flatten().max() };
                match (primary, last_subkey) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            },
            subkeys: key
                .subkeys()
                .filter_map(|s| s.fingerprint().ok().and_then(|f| Fingerprint::parse(f).ok()))
                .collect(),
            keygrips: key.subkeys().filter_map(|s| s.keygrip().ok().map(str::to_string)).collect(),
            weak: key
                .subkeys()
                .enumerate()
                .filter(|(i, s)| *i == 0 || usable(s))
                .find(|(_, s)| is_weak(s))
                .map(|(_, s)| format!("{} {} bits", s.algorithm(), s.length())),
        })
    }

    pub fn has_address(&self, address: &Address) -> bool {
        self.emails.iter().any(|e| e == address.as_str())
    }
}

/// RSA, DSA and ElGamal under 2048 bits can be factored or solved with
/// means well within reach (NIST SP 800-131A, RFC 9580 §12.4).
pub(super) fn is_weak(key: &gpgme::Subkey<'_>) -> bool {
    use gpgme::KeyAlgorithm as A;
    let finite_field =
        matches!(key.algorithm(), A::Rsa | A::RsaEncrypt | A::RsaSign | A::Dsa | A::Elgamal | A::ElgamalEncrypt);
    finite_field && key.length() < 2048
}

pub(super) fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
