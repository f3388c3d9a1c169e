//! Schleuder's subscriptions as listcrypt members: every key comes from the
//! Schleuder list's keyring and enters through [`intake::admit`], the one
//! key-intake path (rules, minimal form, no grafts). Keys that Schleuder's
//! admins pinned to a subscription come in verified, without a challenge.

use super::db::Subscription;
use crate::admin::intake;
use crate::error::{ErrorKind, Result};
use crate::gpg::Keyring;
use crate::list::List;
use crate::member::{KeyState, Member, MemberKey, Role};
use crate::model::{now, printable, Address, Fingerprint};
use serde::Serialize;
use zeroize::Zeroizing;

/// A subscription whose key was found, before listcrypt's key rules.
pub struct Candidate {
    pub address: Address,
    pub fingerprint: Fingerprint,
    pub role: Role,
    pub delivery: bool,
    /// The key as the Schleuder keyring exports it.
    key: Zeroizing<Vec<u8>>,
}

/// A member as the import makes them.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedMember {
    pub address: Address,
    pub role: Role,
    pub fingerprint: Fingerprint,
    /// Off for a subscription whose delivery was disabled in Schleuder.
    pub delivery: bool,
}

/// A subscription listcrypt cannot take, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Unusable {
    /// The address as Schleuder has it.
    pub subscription: String,
    pub fingerprint: Option<String>,
    pub reason: String,
}

/// Finds each subscription's key in the (copied) Schleuder keyring. What
/// cannot even be looked at (no address listcrypt takes, no key, a key
/// shared with another subscription) is unusable; gpg failing is an error.
pub fn gather(keyring: &Keyring, subscriptions: &[Subscription]) -> Result<(Vec<Candidate>, Vec<Unusable>)> {
    let mut found: Vec<Candidate> = vec![];
    let mut unusable = vec![];
    for sub in subscriptions {
        let refuse = |fpr: Option<&str>, reason: String| Unusable {
            subscription: printable(&sub.email),
            fingerprint: fpr.map(str::to_string),
            reason,
        };
        let address = match Address::parse(&sub.email) {
            Ok(a) => a,
            Err(e) => {
                unusable.push(refuse(None, format!("is not an address listcrypt takes: {}", e.message())));
                continue;
            }
        };
        if found.iter().any(|c| c.address == address) {
            unusable.push(refuse(None, format!("is {address} again, subscribed twice")));
            continue;
        }
        let pinned = sub.fingerprint.trim();
        if pinned.is_empty() {
            unusable.push(refuse(None, "has no key in Schleuder".into()));
            continue;
        }
        let Ok(fpr) = Fingerprint::parse(pinned) else {
            unusable.push(refuse(
                Some(pinned),
                format!("has '{}' as its key, which is not a fingerprint", printable(pinned)),
            ));
            continue;
        };
        let Some(info) = keyring.key_info_holding(fpr.as_str())? else {
            unusable.push(refuse(Some(fpr.as_str()), format!("key {fpr} is not in the Schleuder list's keyring")));
            continue;
        };
        if let Some(other) = found.iter().find(|c| c.fingerprint == info.fingerprint) {
            let reason = format!(
                "key {} is also {}'s, and a listcrypt key belongs to one member",
                info.fingerprint, other.address
            );
            unusable.push(refuse(Some(fpr.as_str()), reason));
            continue;
        }
        found.push(Candidate {
            key: Zeroizing::new(keyring.export(&info.fingerprint)?),
            address,
            fingerprint: info.fingerprint,
            role: if sub.admin { Role::Admin } else { Role::Member },
            delivery: sub.delivery_enabled,
        });
    }
    Ok((found, unusable))
}

/// Admits each candidate's key into the list's keyring (the key rules
/// refuse with a data error, which makes the subscription unusable; any
/// other error stops the import) and returns the members to store.
pub fn admit_all(list: &List, candidates: Vec<Candidate>) -> Result<(Vec<ImportedMember>, Vec<Unusable>)> {
    let mut members = vec![];
    let mut unusable = vec![];
    for candidate in candidates {
        match intake::admit(list, &candidate.address, &candidate.key) {
            Ok(admitted) => {
                list.keyring.import(&admitted.minimal)?;
                members.push(ImportedMember {
                    address: candidate.address,
                    role: candidate.role,
                    fingerprint: admitted.info.fingerprint,
                    delivery: candidate.delivery,
                });
            }
            Err(e) if e.kind() == ErrorKind::Data => unusable.push(Unusable {
                subscription: candidate.address.to_string(),
                fingerprint: Some(candidate.fingerprint.to_string()),
                reason: format!("refused by listcrypt's key rules: {}", e.message()),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok((members, unusable))
}

/// The stored member: the pinned key verified (Schleuder's admins vouched
/// for it), the default; delivery as Schleuder had it.
pub fn member_record(imported: &ImportedMember) -> Member {
    let mut member = Member::new(imported.address.clone(), imported.role);
    member.keys.push(MemberKey {
        fingerprint: imported.fingerprint.clone(),
        state: KeyState::Verified { since: now() },
        added: now(),
    });
    member.default_key = Some(imported.fingerprint.clone());
    member.delivery = imported.delivery;
    member
}
