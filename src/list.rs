//! A handle on one existing list: its folder, its keyring and its store.

use crate::error::Result;
use crate::gpg::Keyring;
use crate::home::{Home, ListHome};
use crate::model::Address;
use crate::store::Store;

pub struct List {
    pub home: ListHome,
    pub keyring: Keyring,
}

impl List {
    /// Opens an existing list: no such list is `NoUser`, a broken one `Config`.
    pub fn open(home: &Home, address: &Address) -> Result<List> {
        let list_home = home.open_list(address)?;
        let keyring = Keyring::new(list_home.engine_home()?);
        Ok(List { home: list_home, keyring })
    }

    pub fn address(&self) -> &Address {
        &self.home.address
    }

    /// Opens the store, waiting for other processes; drop it before slow work.
    pub fn store(&self) -> Result<Store> {
        Store::open(&self.home.store_dir())
    }
}
