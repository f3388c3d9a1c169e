//! `list create | ls | show | set | delete | export-key | unlock`.

use crate::error::{Error, Result};
use crate::gpg::{KeyInfo, Keyring};
use crate::home::Home;
use crate::list::List;
use crate::member::{Member, Role};
use crate::model::{now, Address, Fingerprint};
use crate::settings::{Scope, Settings, SETTINGS};
use crate::store::{ListRecord, Store, StoreStats};
use serde::Serialize;

/// Where the list's key pair comes from.
pub enum ListKey {
    /// The owner's secret key, armored or binary.
    Import(Vec<u8>),
    /// A new unprotected key pair made here.
    Generate,
}

/// One line of `list ls`.
#[derive(Debug, Serialize)]
pub struct ListSummary {
    pub address: Address,
    pub fingerprint: Fingerprint,
    pub members: usize,
}

/// `list show`.
#[derive(Debug, Serialize)]
pub struct ListDetails {
    pub address: Address,
    pub fingerprint: Fingerprint,
    pub created: u64,
    pub members: usize,
    pub admins: Vec<Address>,
    pub settings: Vec<SettingValue>,
    pub store: StoreStats,
}

/// One setting as `list show` prints it.
#[derive(Debug, Serialize)]
pub struct SettingValue {
    pub name: &'static str,
    pub value: String,
    pub default: String,
    /// Who may change it: `operator` (the CLI only) or `list-admin` (also by mail).
    pub scope: Scope,
    pub help: &'static str,
}

/// Creates a list with its key and first admin; on any failure nothing is left behind.
pub fn create(home: &Home, address: &Address, admin: &Address, key: ListKey) -> Result<ListSummary> {
    crate::home::check_list_address(address)?;
    // Mail to LIST-owner of one list must not be a post to another.
    for other in home.list_addresses()? {
        let taken = [other.request(), other.owner(), other.bounces()].contains(address)
            || [address.request(), address.owner(), address.bounces()].contains(&other);
        if taken {
            return Err(Error::data(format!("{address} and the list {other} would share an address"))
                .hint("a list's address may not be another list's -request, -owner or -bounces address"));
        }
    }
    let list_home = home.list(address);
    list_home.create()?;
    let keyring = match list_home.engine_home() {
        Ok(engine) => Keyring::new(engine),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&list_home.dir);
            return Err(e);
        }
    };
    let made = set_up(&keyring, &list_home.store_dir(), address, admin, key);
    if made.is_err() {
        keyring.stop_agent();
        let _ = std::fs::remove_dir_all(&list_home.dir);
    }
    made
}

fn set_up(
    keyring: &Keyring,
    store_dir: &std::path::Path,
    address: &Address,
    admin: &Address,
    key: ListKey,
) -> Result<ListSummary> {
    let fingerprint = match key {
        ListKey::Generate => keyring.generate(&format!("{} list <{address}>", address.local_part()))?,
        ListKey::Import(bytes) => {
            let info = single_key(keyring.inspect(&bytes)?)?;
            check_list_key(&info, address)?;
            keyring.import(&bytes)?;
            if !keyring.key_info(&info.fingerprint)?.has_secret {
                return Err(Error::data("the key file's secret key could not be imported")
                    .hint("export it with `gpg --export-secret-keys --armor FINGERPRINT`"));
            }
            info.fingerprint
        }
    };
    let store = Store::open(store_dir)?;
    store.put_list_record(&ListRecord {
        address: address.clone(),
        fingerprint: fingerprint.clone(),
        created: now(),
        bounce_key: crate::store::new_bounce_key(),
    })?;
    store.put_settings(&Settings::default())?;
    store.put_member(&Member::new(admin.clone(), Role::Admin))?;
    store.flush()?;
    Ok(ListSummary { address: address.clone(), fingerprint, members: 1 })
}

/// Refuses a file with no key or several keys.
pub(crate) fn single_key(mut keys: Vec<KeyInfo>) -> Result<KeyInfo> {
    if keys.len() != 1 {
        return Err(Error::data(format!("the key file holds {} keys; one is needed", keys.len()))
            .hint("export only the one key: `gpg --export --armor FINGERPRINT`"));
    }
    Ok(keys.remove(0))
}

/// The list key must be a usable secret key that can sign and encrypt and
/// carries the list address.
fn check_list_key(info: &KeyInfo, address: &Address) -> Result<()> {
    let fpr = &info.fingerprint;
    let refuse = |why: String, hint: &str| Err(Error::data(format!("key {fpr} {why}")).hint(hint.to_string()));
    if !info.has_secret {
        return refuse(
            "has no secret part".into(),
            "export the secret key: `gpg --export-secret-keys --armor FINGERPRINT`",
        );
    }
    if info.revoked {
        return refuse("is revoked".into(), "use a key that is not revoked, or --generate");
    }
    if info.expired {
        return refuse("has expired".into(), "extend its expiry with `gpg --quick-set-expire`, then export it again");
    }
    if !info.can_sign || !info.can_encrypt {
        return refuse(
            "cannot both sign and encrypt".into(),
            "the list key needs a signing key and an encryption subkey",
        );
    }
    if !info.has_address(address) {
        return refuse(
            format!("has no user ID with {address}"),
            &format!("add one with `gpg --quick-add-uid FINGERPRINT {address}`"),
        );
    }
    Ok(())
}

pub fn ls(home: &Home) -> Result<Vec<ListSummary>> {
    home.list_addresses()?
        .iter()
        .map(|address| {
            let list = List::open(home, address)?;
            let store = list.store()?;
            Ok(ListSummary {
                address: address.clone(),
                fingerprint: store.list_record()?.fingerprint,
                members: store.members()?.len(),
            })
        })
        .collect()
}

pub fn show(home: &Home, address: &Address) -> Result<ListDetails> {
    let list = List::open(home, address)?;
    let store = list.store()?;
    let record = store.list_record()?;
    let members = store.members()?;
    Ok(ListDetails {
        address: record.address,
        fingerprint: record.fingerprint,
        created: record.created,
        members: members.len(),
        admins: members.iter().filter(|m| m.is_admin()).map(|m| m.address.clone()).collect(),
        settings: {
            let settings = store.settings()?;
            SETTINGS
                .iter()
                .map(|s| SettingValue {
                    name: s.name,
                    value: s.value(&settings),
                    default: s.default_value(),
                    scope: s.scope,
                    help: s.help,
                })
                .collect()
        },
        store: store.stats()?,
    })
}

/// Sets one setting; returns its new text form.
pub fn set(home: &Home, address: &Address, name: &str, value: &str) -> Result<String> {
    let list = List::open(home, address)?;
    let store = list.store()?;
    let mut settings = store.settings()?;
    let shown = settings.set(name, value)?;
    store.put_settings(&settings)?;
    store.flush()?;
    Ok(shown)
}

/// Deletes the list home, its keys and its queue, after waiting for other processes.
pub fn delete(home: &Home, address: &Address) -> Result<()> {
    let list = List::open(home, address)?;
    let store = list.store()?;
    list.keyring.stop_agent();
    let removed = std::fs::remove_dir_all(&list.home.dir).map_err(|e| Error::io(list.home.dir.display(), e));
    drop(store);
    if list.keyring.home() != list.home.gnupg_dir() {
        let _ = std::fs::remove_file(list.keyring.home());
    }
    removed
}

/// The list's armored public key.
pub fn export_key(home: &Home, address: &Address) -> Result<Vec<u8>> {
    let list = List::open(home, address)?;
    let fingerprint = list.store()?.list_record()?.fingerprint;
    list.keyring.export(&fingerprint)
}

/// What `extend_key` did.
#[derive(Debug, Serialize)]
pub struct Extended {
    pub fingerprint: Fingerprint,
    /// The new expiry, seconds since the epoch.
    pub expires: Option<u64>,
    /// Members sent the refreshed key.
    pub told: Vec<Address>,
}

/// Moves the list key's expiry (primary key and subkeys) to `days` from now
/// and sends each member with a usable key the refreshed public key,
/// encrypted and list-signed (the fingerprint does not change).
pub fn extend_key(home: &Home, address: &Address, days: u32) -> Result<Extended> {
    let list = List::open(home, address)?;
    let (record, members, settings) = {
        let store = list.store()?;
        (store.list_record()?, store.members()?, store.settings()?)
    };
    let fpr = &record.fingerprint;
    list.keyring.extend(fpr, std::time::Duration::from_secs(u64::from(days) * 86_400))?;
    let info = list.keyring.key_info(fpr)?;
    crate::log::event(&list.home, &format!("list key {fpr} extended by {days} days"));
    let key = list.keyring.export(fpr)?;
    let mut told = vec![];
    for member in members.iter().filter(|m| m.delivery) {
        let Some(member_key) = member.delivery_key() else { continue };
        let note = crate::notice::list_key_refreshed(address, &member.address, fpr, info.expires, &key);
        match list.seal(&note, Some(member_key), fpr).and_then(|m| crate::transport::send(&settings.transport, &m)) {
            Ok(()) => told.push(member.address.clone()),
            Err(e) => crate::log::event(
                &list.home,
                &format!("refreshed list key to {} not sent: {}", member.address, e.message()),
            ),
        }
    }
    Ok(Extended { fingerprint: fpr.clone(), expires: info.expires, told })
}

/// Writes the list key into a Web Key Directory under `dir` (both layouts).
pub fn wkd(home: &Home, address: &Address, dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
    let list = List::open(home, address)?;
    let fingerprint = list.store()?.list_record()?.fingerprint;
    crate::wkd::write(dir, address, &list.keyring.export_minimal(&fingerprint)?)
}

/// Gives gpg-agent the list key's passphrase; checks it by signing.
pub fn unlock(home: &Home, address: &Address, passphrase: &str) -> Result<Fingerprint> {
    let list = List::open(home, address)?;
    let fingerprint = list.store()?.list_record()?.fingerprint;
    let info = list.keyring.key_info(&fingerprint)?;
    list.keyring.unlock(&fingerprint, &info.keygrips, passphrase)?;
    Ok(fingerprint)
}
