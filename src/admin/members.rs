//! `members add | remove | ls`.

use crate::admin::keys::{self, AddedKey, KeyView};
use crate::error::{Error, Result};
use crate::home::Home;
use crate::list::List;
use crate::member::Role;
use crate::model::Address;
use serde::Serialize;

/// One line of `members ls`.
#[derive(Debug, Serialize)]
pub struct MemberView {
    pub address: Address,
    pub role: Role,
    pub delivery: bool,
    /// True when the member has a verified key to receive posts with.
    pub can_receive: bool,
    pub keys: Vec<KeyView>,
}

/// Adds a member with a pending key; sends the welcome and the challenge.
pub fn add(home: &Home, address: &Address, member: &Address, key_file: &[u8], admin: bool) -> Result<AddedKey> {
    let role = if admin { Role::Admin } else { Role::Member };
    keys::register(&List::open(home, address)?, member, key_file, Some(role))
}

/// Removes a member and their keys. The last admin cannot be removed.
pub fn remove(home: &Home, address: &Address, member: &Address) -> Result<()> {
    let list = List::open(home, address)?;
    let removed = {
        let store = list.store()?;
        let members = store.members()?;
        let entry = members
            .iter()
            .find(|m| &m.address == member)
            .ok_or_else(|| Error::no_user(format!("{member} is not a member of {address}")))?;
        if entry.is_admin() && members.iter().filter(|m| m.is_admin()).count() == 1 {
            return Err(Error::data(format!("{member} is the last admin of {address}"))
                .hint("add another admin first with `listcrypt members add --admin`"));
        }
        store.remove_member(member)?;
        store.flush()?;
        entry.clone()
    };
    for key in &removed.keys {
        let _ = list.keyring.delete(&key.fingerprint);
    }
    Ok(())
}

pub fn ls(home: &Home, address: &Address) -> Result<Vec<MemberView>> {
    let list = List::open(home, address)?;
    let members = list.store()?.members()?;
    Ok(members
        .iter()
        .map(|m| MemberView {
            address: m.address.clone(),
            role: m.role,
            delivery: m.delivery,
            can_receive: m.delivery && m.delivery_key().is_some(),
            keys: keys::key_views(m),
        })
        .collect())
}
