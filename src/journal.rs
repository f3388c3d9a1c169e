//! The delivery journal: which recipients already have an entry's copy.
//!
//! One append-only file per entry (`<list home>/journal/<id>`), one address
//! per line, written right after each copy is accepted by the transport and
//! before the next is tried. A plain `write` reaches the kernel at once, so a
//! killed run loses nothing (only a crash of the whole machine could lose the
//! last lines before they reach the disk); a rerun skips everyone listed.
//! Addresses only: no content.

use crate::error::{Error, Result};
use crate::home::ListHome;
use crate::model::Address;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

fn path(list: &ListHome, id: &str) -> PathBuf {
    list.dir.join("journal").join(id)
}

/// Recipients already served for entry `id`.
pub fn delivered(list: &ListHome, id: &str) -> Result<Vec<Address>> {
    match std::fs::read_to_string(path(list, id)) {
        Ok(text) => Ok(text.lines().filter_map(|l| Address::parse(l).ok()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(Error::io(format!("journal of entry {id}"), e)),
    }
}

/// An open journal for one entry.
pub struct Journal {
    file: std::fs::File,
}

impl Journal {
    pub fn open(list: &ListHome, id: &str) -> Result<Journal> {
        let dir = list.dir.join("journal");
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(|e| Error::io(dir.display(), e))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path(list, id))
            .map_err(|e| Error::io(format!("journal of entry {id}"), e))?;
        Ok(Journal { file })
    }

    /// Records one recipient as served (a single write of the whole line).
    pub fn record(&mut self, recipient: &Address) -> Result<()> {
        self.file.write_all(format!("{recipient}\n").as_bytes()).map_err(|e| Error::io("the delivery journal", e))
    }
}

/// Forgets an entry's journal once the entry is gone.
pub fn remove(list: &ListHome, id: &str) {
    let _ = std::fs::remove_file(path(list, id));
}
