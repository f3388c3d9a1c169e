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

/// Adds a member with a pending key and sends the welcome and the challenge
/// (or, with `vouch`, a verified key and the welcome only). An address whose domain looks like another's (Latin mixed
/// with Greek or Cyrillic letters) needs `allow_look_alike`: registered
/// verbatim by an admin who meant it, never by accident or by mail.
pub fn add(
    home: &Home,
    address: &Address,
    member: &Address,
    key_file: &[u8],
    admin: bool,
    allow_look_alike: bool,
    vouch: bool,
) -> Result<AddedKey> {
    if !allow_look_alike {
        refuse_look_alike(member)?;
    }
    let role = if admin { Role::Admin } else { Role::Member };
    keys::register(&List::open(home, address)?, member, key_file, Some(role), vouch)
}

pub fn refuse_look_alike(member: &Address) -> Result<()> {
    if member.looks_alike() {
        return Err(Error::data(format!(
            "{member} mixes writing systems in a label of its domain (Latin with Cyrillic, say), so it may look like another address"
        ))
        .hint(
            "if it really is the member's address, an admin adds it with `listcrypt members add --allow-look-alike`",
        ));
    }
    Ok(())
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
