//! Members of a list and the keys registered for them.

use crate::error::{Error, Result};
use crate::model::{normalize_token, now, sha256_hex, Address, Fingerprint};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Admin,
}

/// A key is pending until its holder proves possession with the challenge token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum KeyState {
    /// Only the token's hash is stored; the token itself went out encrypted.
    Pending {
        token_sha256: String,
        expires: u64,
    },
    Verified {
        since: u64,
    },
    /// Verified without a challenge: an operator on the host checked the
    /// fingerprint (`--no-challenge`). Never reachable by mail.
    Vouched {
        since: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberKey {
    pub fingerprint: Fingerprint,
    #[serde(flatten)]
    pub state: KeyState,
    pub added: u64,
}

impl MemberKey {
    pub fn pending(fingerprint: Fingerprint, token: &str, valid_for: u64) -> Self {
        MemberKey {
            fingerprint,
            state: KeyState::Pending {
                token_sha256: sha256_hex(normalize_token(token).as_bytes()),
                expires: now().saturating_add(valid_for),
            },
            added: now(),
        }
    }

    /// An operator's word for a key: verified at once, and said so.
    pub fn vouched(fingerprint: Fingerprint) -> Self {
        MemberKey { fingerprint, state: KeyState::Vouched { since: now() }, added: now() }
    }

    pub fn is_verified(&self) -> bool {
        matches!(self.state, KeyState::Verified { .. } | KeyState::Vouched { .. })
    }

    /// `pending`, `verified` or `vouched`, as `keys ls` says it.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            KeyState::Pending { .. } => "pending",
            KeyState::Verified { .. } => "verified",
            KeyState::Vouched { .. } => "vouched",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub address: Address,
    pub role: Role,
    pub keys: Vec<MemberKey>,
    /// Tried first for delivery; always one of `keys` when set.
    pub default_key: Option<Fingerprint>,
    /// Off when paused or disabled by bounces.
    pub delivery: bool,
    pub bounces: u32,
    pub joined: u64,
}

impl Member {
    pub fn new(address: Address, role: Role) -> Self {
        Member { address, role, keys: vec![], default_key: None, delivery: true, bounces: 0, joined: now() }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn key(&self, fpr: &Fingerprint) -> Option<&MemberKey> {
        self.keys.iter().find(|k| &k.fingerprint == fpr)
    }

    /// The key to deliver to: the default key if verified, else the first verified key.
    pub fn delivery_key(&self) -> Option<&Fingerprint> {
        let verified = |f: &&Fingerprint| self.key(f).is_some_and(MemberKey::is_verified);
        self.default_key
            .as_ref()
            .filter(verified)
            .or_else(|| self.keys.iter().find(|k| k.is_verified()).map(|k| &k.fingerprint))
    }

    /// Verifies the pending key whose challenge token this is (only `key`, when
    /// given: by mail, the token counts only for the key that signed it).
    /// A verified key replaces a default that is still pending.
    pub fn verify_token(&mut self, token: &str, key: Option<&Fingerprint>) -> Result<Fingerprint> {
        let hash = sha256_hex(normalize_token(token).as_bytes());
        let found = self.keys.iter_mut().find(|k| {
            matches!(&k.state, KeyState::Pending { token_sha256, .. } if *token_sha256 == hash)
                && key.is_none_or(|want| &k.fingerprint == want)
        });
        let Some(found) = found else {
            return Err(Error::data(format!("that token does not match a pending key of {}", self.address)));
        };
        if let KeyState::Pending { expires, .. } = found.state {
            if expires < now() {
                return Err(Error::data(format!("the token for key {} has expired", found.fingerprint)));
            }
        }
        found.state = KeyState::Verified { since: now() };
        let fpr = found.fingerprint.clone();
        if !self.default_key.as_ref().and_then(|d| self.key(d)).is_some_and(MemberKey::is_verified) {
            self.default_key = Some(fpr.clone());
        }
        Ok(fpr)
    }

    /// Removes a key; the default moves to another verified key if needed.
    pub fn remove_key(&mut self, fpr: &Fingerprint) -> bool {
        let before = self.keys.len();
        self.keys.retain(|k| &k.fingerprint != fpr);
        if self.default_key.as_ref() == Some(fpr) {
            self.default_key = self.keys.iter().find(|k| k.is_verified()).map(|k| k.fingerprint.clone());
        }
        self.keys.len() != before
    }
}
