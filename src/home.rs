//! Where lists live on disk: `<home>/lists/<address>/` holds the list's own
//! GnuPG home (`gnupg/`, mode 0700) and its sled store (`store/`).
//!
//! gpg-agent puts its sockets inside the GnuPG home when there is no
//! `/run/user/$UID`, and a Unix socket path must fit in 108 bytes. A list whose
//! GnuPG home path is too long is reached through a short symbolic link in a
//! private folder `/tmp/listcrypt-<owner uid>/`, which listcrypt creates with
//! mode 0700 and refuses to use if anyone else owns it or can write to it.

use crate::error::{Error, ErrorKind, Result};
use crate::model::{sha256_hex, Address};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The longest GnuPG home path given to gpg as is; longer ones go through a link.
/// gpg-agent's longest socket name is `S.gpg-agent.browser` (19 bytes + '/').
const MAX_ENGINE_HOME: usize = 80;

/// Options written into every list's GnuPG home: keys are pinned by
/// fingerprint in the store, so trust comes from there, and nothing is ever
/// fetched from the network or looked up by address.
const GPG_CONF: &str = "\
# Written by listcrypt; do not edit. Keys are authorised by fingerprint in
# listcrypt's store, never by the web of trust, and never fetched.
trust-model always
no-auto-key-retrieve
auto-key-locate local
keyserver-options no-auto-key-retrieve
no-greeting
no-emit-version
no-comments
";

/// The passphrase reaches the agent only through `list unlock` (preset).
const GPG_AGENT_CONF: &str = "\
# Written by listcrypt; do not edit.
allow-preset-passphrase
allow-loopback-pinentry
";

/// The folder that holds every list.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The uid that owns the home when it is not this process's (root run
    /// in the list user's home, say): files made now would be theirs to
    /// lose. None when the home is this user's, or not there yet.
    pub fn foreign_owner(&self) -> Option<u32> {
        let owner = fs::metadata(&self.root).ok()?.uid();
        (owner != rustix::process::geteuid().as_raw()).then_some(owner)
    }

    fn lists_dir(&self) -> PathBuf {
        self.root.join("lists")
    }

    /// The list's paths, whether or not it exists.
    /// The folder of a list (see [`check_list_address`] before creating one).
    pub fn list(&self, address: &Address) -> ListHome {
        ListHome { address: address.clone(), dir: self.lists_dir().join(address.as_str()) }
    }

    /// An existing list, checked for the parts every command needs.
    pub fn open_list(&self, address: &Address) -> Result<ListHome> {
        if check_list_address(address).is_err() {
            return Err(Error::no_user(format!("no list {address}")));
        }
        let list = self.list(address);
        match fs::metadata(&list.dir) {
            Ok(meta) if meta.is_dir() => {}
            // "No such list" only when the home could be read and says so:
            // an unreadable or unmounted home is the host's fault, not the mail's.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                for dir in [self.root.clone(), self.lists_dir()] {
                    match fs::read_dir(&dir) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(Error::io(dir.display(), e)
                                .hint("check that the listcrypt home is mounted and readable by this user"))
                        }
                        _ => {}
                    }
                }
                return Err(Error::no_user(format!("no list {address} in {}", self.root.display()))
                    .hint("see `listcrypt list ls`, or give the right --home"));
            }
            Ok(_) => return Err(Error::config(format!("{} is not a folder", list.dir.display()))),
            Err(e) => return Err(Error::io(list.dir.display(), e)),
        }
        for part in [list.gnupg_dir(), list.store_dir()] {
            if !part.is_dir() {
                return Err(Error::config(format!(
                    "the list home {} is broken: {} is missing",
                    list.dir.display(),
                    part.display()
                ))
                .hint("restore the list home from a backup, or delete and re-create the list"));
            }
        }
        Ok(list)
    }

    /// Addresses of every list, sorted.
    pub fn list_addresses(&self) -> Result<Vec<Address>> {
        let dir = self.lists_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(Error::io(dir.display(), e)),
        };
        let mut lists: Vec<Address> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().and_then(|n| Address::parse(n).ok()))
            .collect();
        lists.sort();
        Ok(lists)
    }
}

/// One list's folder.
#[derive(Debug, Clone)]
pub struct ListHome {
    pub address: Address,
    pub dir: PathBuf,
}

impl ListHome {
    pub fn gnupg_dir(&self) -> PathBuf {
        self.dir.join("gnupg")
    }

    pub fn store_dir(&self) -> PathBuf {
        self.dir.join("store")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// Makes the folder, the private GnuPG home and its fixed configuration.
    /// Fails if the list already exists.
    pub fn create(&self) -> Result<()> {
        let cant = |e: std::io::Error, p: &Path| {
            let mut err = Error::io(p.display(), e);
            if err.kind() == ErrorKind::Io {
                err = Error::new(ErrorKind::CantCreate, err.message().to_string());
            }
            err
        };
        let parent = self.dir.parent().unwrap_or(Path::new("/"));
        fs::DirBuilder::new().recursive(true).mode(0o755).create(parent).map_err(|e| cant(e, parent))?;
        match fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::data(format!("the list {} already exists", self.address))
                    .hint("choose another address, or `listcrypt list delete` the old list first"))
            }
            Err(e) => return Err(cant(e, &self.dir)),
        }
        let gnupg = self.gnupg_dir();
        fs::DirBuilder::new().mode(0o700).create(&gnupg).map_err(|e| cant(e, &gnupg))?;
        for (name, text) in [("gpg.conf", GPG_CONF), ("gpg-agent.conf", GPG_AGENT_CONF)] {
            let path = gnupg.join(name);
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
                .map_err(|e| cant(e, &path))?;
        }
        Ok(())
    }

    /// The GnuPG home path to give gpg: the real one when short enough for
    /// gpg-agent's sockets, else a private short link to it.
    pub fn engine_home(&self) -> Result<PathBuf> {
        let real = absolute(&self.gnupg_dir())?;
        if real.as_os_str().len() <= MAX_ENGINE_HOME {
            return Ok(real);
        }
        let owner = fs::metadata(&real).map_err(|e| Error::io(real.display(), e))?.uid();
        let links = PathBuf::from(format!("/tmp/listcrypt-{owner}"));
        ensure_private_dir(&links, owner)?;
        let hash = sha256_hex(real.as_os_str().as_encoded_bytes());
        let link = links.join(&hash[..16]);
        match fs::read_link(&link) {
            Ok(target) if target == real => return Ok(link),
            Ok(_) => fs::remove_file(&link).map_err(|e| Error::io(link.display(), e))?,
            Err(_) => {}
        }
        match std::os::unix::fs::symlink(&real, &link) {
            Ok(()) => Ok(link),
            // Another process made it at the same moment.
            Err(e)
                if e.kind() == std::io::ErrorKind::AlreadyExists && fs::read_link(&link).is_ok_and(|t| t == real) =>
            {
                Ok(link)
            }
            Err(e) => Err(Error::io(link.display(), e)),
        }
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io(path.display(), e))
}

/// Creates `dir` mode 0700, or checks that the existing one is a real folder
/// owned by `owner` that no one else can write to.
fn ensure_private_dir(dir: &Path, owner: u32) -> Result<()> {
    if let Err(e) = fs::DirBuilder::new().mode(0o700).create(dir) {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(Error::io(dir.display(), e));
        }
    }
    let meta = fs::symlink_metadata(dir).map_err(|e| Error::io(dir.display(), e))?;
    if !meta.is_dir() || meta.uid() != owner || meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::config(format!("{} is not a private folder of the list home's owner", dir.display()))
            .hint("remove it, or use a shorter --home so that no socket link is needed"));
    }
    Ok(())
}

/// A private folder for a throwaway GnuPG home (public keys only, never
/// mail), under `/tmp/listcrypt-UID/` so that its path stays short enough
/// for gpg's sockets; removed when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new() -> Result<ScratchDir> {
        let owner = rustix::process::geteuid().as_raw();
        let base = PathBuf::from(format!("/tmp/listcrypt-{owner}"));
        ensure_private_dir(&base, owner)?;
        // Folders of runs that were killed before they could remove theirs.
        let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
        for old in fs::read_dir(&base).into_iter().flatten().flatten() {
            let stale = old.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < day_ago);
            if stale && old.file_name().to_string_lossy().starts_with("scratch-") {
                let _ = fs::remove_dir_all(old.path());
            }
        }
        let dir = base.join(format!("scratch-{}", crate::model::random_token(12)));
        fs::DirBuilder::new().mode(0o700).create(&dir).map_err(|e| Error::io(dir.display(), e))?;
        Ok(ScratchDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A list address becomes a folder name (`lists/ADDRESS`): a local part with
/// `/` would nest or escape it, and a leading `.` would hide it.
pub fn check_list_address(address: &Address) -> Result<()> {
    let local = address.local_part();
    if local.contains('/') || local.starts_with('.') || local.starts_with('-') {
        return Err(Error::data(format!("{address} cannot be a list address"))
            .hint("a list's local part may not contain '/' or start with '.' or '-'"));
    }
    Ok(())
}

/// Replaces `path` whole or not at all with `bytes`: a fresh temporary file
/// (never through a link someone left in its place), synced, renamed over it.
pub fn replace_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = path.with_extension(format!("new.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&tmp)
        .and_then(|mut file| std::io::Write::write_all(&mut file, bytes).and_then(|_| file.sync_all()));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(tmp.display(), e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path.display(), e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_gnupg_homes_get_a_short_private_link() {
        let tmp = tempfile::tempdir().unwrap();
        let long = tmp.path().join("a".repeat(90));
        let home = Home::new(&long);
        let list = home.list(&Address::parse("crypto@example.org").unwrap());
        list.create().unwrap();
        let engine = list.engine_home().unwrap();
        assert!(engine.as_os_str().len() <= MAX_ENGINE_HOME);
        assert_eq!(fs::canonicalize(&engine).unwrap(), fs::canonicalize(list.gnupg_dir()).unwrap());
        assert_eq!(list.engine_home().unwrap(), engine, "the link is stable");
        fs::remove_file(engine).unwrap();
    }
}
