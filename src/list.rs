//! A handle on one existing list: its folder, its keyring and its store.

use crate::error::{ErrorKind, Result};
use crate::gpg::Keyring;
use crate::home::{Home, ListHome};
use crate::model::{Address, Fingerprint};
use crate::notice::Notice;
use crate::store::Store;
use crate::transport::Outgoing;

pub struct List {
    pub home: ListHome,
    pub keyring: Keyring,
    /// The list's public key for Autocrypt headers, exported once per run.
    autocrypt_key: std::sync::OnceLock<Option<Vec<u8>>>,
}

impl List {
    /// Opens an existing list: no such list is `NoUser`, a broken one `Config`.
    pub fn open(home: &Home, address: &Address) -> Result<List> {
        let list_home = home.open_list(address)?;
        let keyring = Keyring::new(list_home.engine_home()?);
        Ok(List { home: list_home, keyring, autocrypt_key: Default::default() })
    }

    pub fn address(&self) -> &Address {
        &self.home.address
    }

    /// The list key, minimal and binary, for Autocrypt headers: one gpg run
    /// per process however many notices and posts go out.
    pub fn autocrypt_key(&self, list_key: &Fingerprint) -> Option<Vec<u8>> {
        self.autocrypt_key.get_or_init(|| self.keyring.export_minimal(list_key).ok()).clone()
    }

    /// Opens the store, waiting for other processes; drop it before slow work.
    pub fn store(&self) -> Result<Store> {
        Store::open(&self.home.store_dir())
    }

    /// Gives back the space of removed and rewritten records, if they take
    /// enough of it (see [`Store::compact_if_bloated`]), and closes the store.
    /// Best effort: a store that cannot be compacted now still works.
    pub fn compact_store(&self, store: Store) {
        match store.compact_if_bloated() {
            Ok(Some((before, after))) => {
                crate::log::event(&self.home, &format!("store compacted from {before} to {after} bytes"))
            }
            Ok(None) => {}
            Err(e) => crate::log::event(&self.home, &format!("store not compacted: {}", e.message())),
        }
    }
}

impl List {
    /// Seals a notice: encrypted to `key` and signed by the list key when it
    /// is unlocked (a locked key only costs the signature), or in clear.
    pub fn seal(&self, notice: &Notice, key: Option<&Fingerprint>, list_key: &Fingerprint) -> Result<Outgoing> {
        self.seal_with(notice, key, list_key, true)
    }

    /// As [`List::seal`], the encryption done by `signed` (signed and
    /// encrypted to the member's key: a helper process, say) or, when the
    /// list key is locked, by `unsigned`.
    pub fn seal_through(
        &self,
        notice: &Notice,
        list_key: &Fingerprint,
        signed: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
        unsigned: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
    ) -> Result<Outgoing> {
        self.seal_by(notice, list_key, signed, Some(unsigned))
    }

    /// As [`List::seal`], but never without the list's signature: a locked
    /// list key is an error (`Permission`).
    pub fn seal_signed(&self, notice: &Notice, key: &Fingerprint, list_key: &Fingerprint) -> Result<Outgoing> {
        self.seal_with(notice, Some(key), list_key, false)
    }

    /// Every notice from the list carries the list's key in an Autocrypt header.
    fn with_autocrypt(&self, notice: &Notice, list_key: &Fingerprint) -> Notice {
        let mut notice = notice.clone();
        if !notice.from_owner {
            notice.autocrypt = self.autocrypt_key(list_key);
        }
        notice
    }

    fn seal_with(
        &self,
        notice: &Notice,
        key: Option<&Fingerprint>,
        list_key: &Fingerprint,
        unsigned_if_locked: bool,
    ) -> Result<Outgoing> {
        let Some(key) = key else { return Ok(self.with_autocrypt(notice, list_key).in_clear(self.address())) };
        let recipients = std::slice::from_ref(key);
        let signed = |entity: &[u8]| self.keyring.encrypt(recipients, entity, Some(list_key));
        let unsigned = |entity: &[u8]| self.keyring.encrypt(recipients, entity, None);
        self.seal_by(notice, list_key, signed, unsigned_if_locked.then_some(unsigned))
    }

    /// The notice encrypted by `signed` (signed and encrypted to its one
    /// recipient); when the list key is locked, by `unsigned` if given.
    fn seal_by(
        &self,
        notice: &Notice,
        list_key: &Fingerprint,
        signed: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
        unsigned: Option<impl FnOnce(&[u8]) -> Result<Vec<u8>>>,
    ) -> Result<Outgoing> {
        let notice = self.with_autocrypt(notice, list_key);
        let entity = notice.entity();
        let armored = match (signed(&entity), unsigned) {
            (Err(e), Some(unsigned)) if e.kind() == ErrorKind::Permission => unsigned(&entity),
            (other, _) => other,
        }?;
        Ok(notice.encrypted(self.address(), &armored))
    }
}
