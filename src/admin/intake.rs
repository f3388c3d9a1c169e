//! The one way a member's key enters a list (`members add`, `keys add`,
//! `add-key` and `subscribe` by mail, refreshes of a known key).
//!
//! 1. The file is read within a resource bound, and must hold one public key.
//! 2. In a scratch keyring it is merged with the list's copy of the same key,
//!    if any, so that the rules see what the list would hold afterwards.
//! 3. The rules come first, each with its own message: revoked, expired,
//!    weak (RSA, DSA, ElGamal under 2048 bits), no usable encryption subkey.
//! 4. The merged key is reduced to its minimal form (gpg's `export-minimal`):
//!    the primary key, the newest self-signature per user ID and subkey,
//!    revocations (so a later refresh cannot bring a revoked part back), no
//!    third-party certifications, no expired subkeys.
//! 5. The caps (user IDs, subkeys) apply to that minimal merged key, and so
//!    do the address rule and the keyring's integrity: no primary key or
//!    subkey of it may already belong to another key in the list's keyring
//!    (a subkey "grafted" from another member's key, or the list's own).
//!
//! What the list imports and stores is the minimal form, never the file.

use crate::admin::list::single_key;
use crate::error::{Error, Result};
use crate::gpg::{KeyInfo, Scratch};
use crate::list::List;
use crate::model::{utc, Address};

/// The most of a key file listcrypt reads: a resource bound, not a rule
/// about keys (real keys with years of certifications run to some hundreds
/// of KiB; their minimal form to a few KiB).
pub const MAX_KEY_FILE: usize = 8 << 20;
/// Caps on the minimal, merged key: real keys have a few of each.
const MAX_USER_IDS: usize = 32;
const MAX_SUBKEYS: usize = 16;

/// A key the list accepts, in the form it will be stored.
#[derive(Debug)]
pub struct Admitted {
    /// Facts about the minimal merged key.
    pub info: KeyInfo,
    /// The minimal merged key, binary: what the list's keyring imports.
    pub minimal: Vec<u8>,
    /// The list's keyring already holds this key.
    pub known: bool,
}

/// Reads, merges, checks and minimises `key_file` as a key of `member`.
pub fn admit(list: &List, member: &Address, key_file: &[u8]) -> Result<Admitted> {
    if key_file.len() > MAX_KEY_FILE {
        return Err(Error::data(format!(
            "the key file is larger than {} MiB; listcrypt reads no more",
            MAX_KEY_FILE >> 20
        ))
        .hint("export the key minimal: `gpg --export --export-options export-minimal --armor ADDRESS`"));
    }
    let incoming = single_key(list.keyring.inspect(key_file)?)?;
    let fpr = &incoming.fingerprint;
    let list_key = list.store()?.list_record()?.fingerprint;
    // (A key that merely carries the list key as a subkey is a graft, refused below.)
    if fpr == &list_key {
        return refuse(&incoming, "is the list's own key".into(), "a member registers their own key");
    }
    if incoming.has_secret {
        return refuse(
            &incoming,
            "is a secret key".into(),
            "never send a secret key; export the public key with `gpg --export --armor ADDRESS`",
        );
    }
    // One look-up in the list's keyring for every part of the key (each
    // look-up reads the whole keyring): its own earlier copy, and any other
    // key that holds one of its parts.
    let holders = list.keyring.key_infos_holding_any(&incoming.subkeys)?;
    let known = holders.iter().any(|k| &k.fingerprint == fpr);
    let scratch = Scratch::new()?;
    scratch.keyring.import(key_file)?;
    if known {
        scratch.keyring.import(&list.keyring.export_minimal(fpr)?)?;
    }
    let merged = scratch.keyring.key_info(fpr)?;
    check_rules(&merged)?;
    let minimal = scratch.keyring.export_minimal(fpr)?;
    let info = single_key(list.keyring.inspect(&minimal)?)?;
    check_caps(&info)?;
    check_address(&info, member)?;
    // The minimal key's parts are the file's, or its own earlier copy's.
    check_not_grafted(&info, &holders)?;
    Ok(Admitted { info, minimal, known })
}

fn refuse<T>(info: &KeyInfo, why: String, hint: &str) -> Result<T> {
    Err(Error::data(format!("key {} {why}", info.fingerprint)).hint(hint.to_string()))
}

/// Revocation, expiry, strength and the encryption subkey, in that order.
pub(crate) fn check_rules(info: &KeyInfo) -> Result<()> {
    if info.revoked {
        return refuse(info, "is revoked".into(), "the member needs a new key");
    }
    if info.expired {
        let when = info.expires.map(|t| format!(" on {}", &utc(t)[..10])).unwrap_or_default();
        return refuse(
            info,
            format!("expired{when}"),
            "extend its expiry with `gpg --quick-set-expire`, then export it again",
        );
    }
    if let Some(weak) = &info.weak {
        return refuse(
            info,
            format!("uses {weak}, too weak to protect the list's mail"),
            "the member needs a key of RSA 2048 bits or more, or Ed25519/Curve25519",
        );
    }
    if !info.can_encrypt {
        return refuse(
            info,
            "has no usable encryption subkey (none, or all expired or revoked)".into(),
            "add one with `gpg --quick-add-key FINGERPRINT cv25519 encr`",
        );
    }
    Ok(())
}

pub(crate) fn check_caps(info: &KeyInfo) -> Result<()> {
    if info.user_ids.len() > MAX_USER_IDS || info.subkeys.len() > MAX_SUBKEYS + 1 {
        return refuse(
            info,
            format!(
                "has {} user IDs and {} subkeys even in its minimal form, more than a list accepts ({MAX_USER_IDS} and {MAX_SUBKEYS})",
                info.user_ids.len(),
                info.subkeys.len() - 1
            ),
            "revoke the user IDs and subkeys no longer used, then export the key again",
        );
    }
    Ok(())
}

pub(crate) fn check_address(info: &KeyInfo, member: &Address) -> Result<()> {
    if !info.has_address(member) {
        return refuse(
            info,
            format!("has no user ID with {member}"),
            &format!(
                "export the key that carries that address, or add it with `gpg --quick-add-uid FINGERPRINT {member}`"
            ),
        );
    }
    Ok(())
}

/// No part of the key may already be part of another key in the keyring: a
/// look-up by that fingerprint would then find two keys.
pub(crate) fn check_not_grafted(info: &KeyInfo, holders: &[KeyInfo]) -> Result<()> {
    for part in &info.subkeys {
        let other = holders.iter().find(|k| k.fingerprint != info.fingerprint && k.subkeys.contains(part));
        if let Some(other) = other {
            return refuse(
                info,
                format!("carries {part}, which is part of another key in the list's keyring ({})", other.fingerprint),
                "a key may only hold its own subkeys; the member should use their own key",
            );
        }
    }
    Ok(())
}
