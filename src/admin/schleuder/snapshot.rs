//! A private copy of a Schleuder list's GnuPG home, read there and removed.
//!
//! gpg writes into any home it uses (an agent and its sockets, lock files,
//! the trust database), and the import runs as root or as the schleuder
//! user while Schleuder may be running: files of ours in its home could
//! lock Schleuder out or leave root-owned files behind. So the keyrings and
//! the secret key files are copied into a scratch home (mode 0700, under
//! `/tmp/listcrypt-UID/`), read there, and removed with its agent when the
//! snapshot is dropped. Schleuder's own home is only ever read.

use crate::error::{Error, ErrorKind, Result};
use crate::gpg::{Keyring, Scratch};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Keyring files of GnuPG 2.1+ and of older homes not yet migrated.
const KEYRINGS: &[&str] = &["pubring.kbx", "pubring.gpg", "secring.gpg"];
const SECRET_KEYS: &str = "private-keys-v1.d";

pub struct Snapshot {
    scratch: Scratch,
}

impl Snapshot {
    /// Copies the GnuPG home of the list `email` under `lists_dir`
    /// (Schleuder names it `lists_dir/DOMAIN/LOCAL`).
    pub fn of(lists_dir: &Path, email: &str) -> Result<Snapshot> {
        let home = list_home(lists_dir, email)?;
        let scratch = Scratch::new()?;
        copy_home(&home, scratch.keyring.home())?;
        Ok(Snapshot { scratch })
    }

    pub fn keyring(&self) -> &Keyring {
        &self.scratch.keyring
    }
}

/// `lists_dir/DOMAIN/LOCAL`, as Schleuder's `List.listdir` makes it.
pub fn list_home(lists_dir: &Path, email: &str) -> Result<PathBuf> {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let escapes = |part: &str| part.is_empty() || part.contains('/') || part == "." || part == "..";
    if escapes(local) || escapes(domain) {
        return Err(Error::data(format!(
            "Schleuder's list address '{}' cannot name a folder",
            crate::model::printable(email)
        )));
    }
    let home = lists_dir.join(domain).join(local);
    let has_keys = KEYRINGS.iter().any(|k| home.join(k).is_file());
    if !has_keys {
        return Err(Error::new(ErrorKind::NoInput, format!("no Schleuder keyring in {}", home.display())).hint(
            "give Schleuder's lists_dir (schleuder.yml) with --schleuder-lists-dir; run as root or as the schleuder user",
        ));
    }
    Ok(home)
}

fn copy_home(from: &Path, to: &Path) -> Result<()> {
    for name in KEYRINGS {
        let source = from.join(name);
        if source.is_file() {
            copy_private(&source, &to.join(name))?;
        }
    }
    let secret = from.join(SECRET_KEYS);
    if secret.is_dir() {
        let target = to.join(SECRET_KEYS);
        fs::DirBuilder::new().mode(0o700).create(&target).map_err(|e| Error::io(target.display(), e))?;
        for entry in fs::read_dir(&secret).map_err(|e| cannot_read(&secret, e))? {
            let path = entry.map_err(|e| cannot_read(&secret, e))?.path();
            if path.extension().is_some_and(|x| x == "key") && path.is_file() {
                copy_private(&path, &target.join(path.file_name().unwrap_or_default()))?;
            }
        }
    }
    Ok(())
}

/// Copies one file, readable by its owner only.
fn copy_private(from: &Path, to: &Path) -> Result<()> {
    let bytes = fs::read(from).map_err(|e| cannot_read(from, e))?;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
        .map_err(|e| Error::io(to.display(), e))
}

fn cannot_read(path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::NoInput, format!("cannot read {}: {e}", path.display()))
        .hint("run as root or as the schleuder user, who can read Schleuder's list homes")
}
