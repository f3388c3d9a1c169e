//! Keyring parts: many new keys at once without GnuPG's quadratic import.
//!
//! GnuPG 2.2's keybox copies itself whole for every key it takes in, so
//! filling one keybox with N keys costs N²: 10,000 members' keys take over
//! ten minutes in one `gpg --import`. A large batch of new keys (`members
//! import`) goes instead into keyboxes of its own of at most [`PART_SIZE`]
//! keys, each filled in a scratch home (on every core) and then moved into
//! the list's GnuPG home, whose gpg.conf lists it (`keyring members-NN.kbx`).
//!
//! gpg looks keys up in every keybox listed, so nothing else changes: keys
//! brought in one at a time still go to `pubring.kbx` (the primary keybox),
//! and a key is updated or deleted in whichever keybox holds it.

use super::lock::{keyring_lock, Access};
use super::{Keyring, Scratch};
use crate::error::{Error, Result};
use crate::home::replace_file;
use crate::model::Fingerprint;
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Keys per part: a keybox this size takes its keys in about a second.
const PART_SIZE: usize = 500;

/// Keys per part: [`PART_SIZE`], or in debug builds `LISTCRYPT_PART_SIZE`
/// where tests set it, so that a few keys make several parts.
pub fn part_size() -> usize {
    if cfg!(debug_assertions) {
        if let Some(n) = std::env::var("LISTCRYPT_PART_SIZE").ok().and_then(|n| n.parse().ok()).filter(|n| *n > 0) {
            return n;
        }
    }
    PART_SIZE
}

/// GnuPG opens at most 40 keyboxes (keydb.c, MAX_KEYDB_RESOURCES); the rest
/// of the room is left to an administrator's own `keyring` lines.
const MAX_PARTS: usize = 32;

/// The prefix of a part keybox's name, in the GnuPG home.
const PART_PREFIX: &str = "members-";

impl Keyring {
    /// The part keyboxes gpg.conf lists, by file name.
    pub(super) fn parts(&self) -> Result<Vec<String>> {
        let conf = self.home.join("gpg.conf");
        let text = std::fs::read_to_string(&conf).map_err(|e| Error::io(conf.display(), e))?;
        Ok(listed_parts(&text))
    }

    /// Takes in new keys: each stream of `parts` holds the keys (at most
    /// [`part_size`]) whose fingerprints come with it. The first streams
    /// become keyboxes of their own while there is room; the caller imports
    /// the rest (`parts[made.built.len()..]`) into the primary keybox. A key
    /// the keyring holds by then (another run brought it in meanwhile) stays
    /// where it is and is left out of its part: each key is in one keybox.
    pub fn import_parts(&self, parts: &[(Vec<u8>, Vec<Fingerprint>)]) -> Result<Parts> {
        let room = match self.owned_by_me() {
            true => MAX_PARTS.saturating_sub(self.parts()?.len()),
            // Files made now would be another user's to lose; gpg.conf too.
            false => 0,
        };
        let mut built = build_parts(&parts[..room.min(parts.len())])?;
        let mut held = vec![];
        let names = self.adopt(&mut built, &mut held)?;
        built.truncate(names.len());
        Ok(Parts { names, built, held })
    }

    /// Takes parts out again (an import that could not be stored): their
    /// keyboxes leave gpg.conf and the home.
    pub fn drop_parts(&self, names: &[String]) -> Result<()> {
        self.forget_keys();
        let _lock = keyring_lock(&self.home, Access::Change)?;
        let conf = self.home.join("gpg.conf");
        let text = std::fs::read_to_string(&conf).map_err(|e| Error::io(conf.display(), e))?;
        let kept: String = text
            .lines()
            .filter(|line| !line.trim().strip_prefix("keyring ").is_some_and(|n| names.iter().any(|m| m == n.trim())))
            .map(|line| format!("{line}\n"))
            .collect();
        replace_file(&conf, kept.as_bytes(), 0o600)?;
        sync_dir(&self.home)?;
        for name in names {
            let _ = std::fs::remove_file(self.home.join(name));
        }
        Ok(())
    }

    fn owned_by_me(&self) -> bool {
        std::fs::metadata(&self.home).is_ok_and(|m| m.uid() == rustix::process::geteuid().as_raw())
    }

    /// Moves built keyboxes into the home and lists them in gpg.conf, alone
    /// on the keyring: a gpg run sees a part whole or not at all. Counts the
    /// room again (another import may have taken some), leaves out of each
    /// part the keys the keyring holds by now (and out of its list of keys),
    /// and returns the names of the parts moved in, a prefix of `built`
    /// (a part left empty is listed nonetheless, to keep them in step).
    fn adopt(
        &self,
        built: &mut [(Scratch, Vec<Fingerprint>)],
        held_by_then: &mut Vec<Fingerprint>,
    ) -> Result<Vec<String>> {
        let mut adopted = vec![];
        if built.is_empty() {
            return Ok(adopted);
        }
        self.forget_keys();
        let _lock = keyring_lock(&self.home, Access::Change)?;
        let conf = self.home.join("gpg.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|e| Error::io(conf.display(), e))?;
        let listed = listed_parts(&text);
        let room = MAX_PARTS.saturating_sub(listed.len());
        // Names not listed: a file left by a run that stopped before it listed it is taken over.
        let mut names = (0..).map(|i| format!("{PART_PREFIX}{i:02}.kbx")).filter(|n| !listed.contains(n));
        let held = self.held_unlocked(built.iter().take(room).flat_map(|(_, fprs)| fprs))?;
        for (scratch, fprs) in built.iter_mut().take(room) {
            for fpr in fprs.iter().filter(|fpr| held.contains(*fpr)) {
                scratch.keyring.delete_public(fpr)?;
                held_by_then.push(fpr.clone());
            }
            fprs.retain(|fpr| !held.contains(fpr));
            let name = names.next().unwrap_or_default();
            let from = scratch.keyring.home.join("pubring.kbx");
            let keybox = std::fs::read(&from).map_err(|e| Error::io(from.display(), e))?;
            replace_file(&self.home.join(&name), &keybox, 0o600)?;
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("keyring {name}\n"));
            adopted.push(name);
        }
        // The keyboxes are on disk (their names too) before gpg.conf lists them:
        // gpg would make a listed keybox it cannot find, empty.
        sync_dir(&self.home)?;
        replace_file(&conf, text.as_bytes(), 0o600)?;
        sync_dir(&self.home)?;
        Ok(adopted)
    }

    /// Which of `fprs` the keyring holds (as a primary key or a subkey),
    /// for a caller that holds the keyring lock: one listing of every key.
    fn held_unlocked<'f>(&self, fprs: impl Iterator<Item = &'f Fingerprint>) -> Result<HashSet<Fingerprint>> {
        let wanted: HashSet<&Fingerprint> = fprs.collect();
        let mut ctx = self.new_context()?;
        let _deadline = super::watchdog::arm();
        let listed = ctx
            .find_keys(std::iter::empty::<&str>())
            .map_err(|e| Error::temporary(format!("GnuPG could not list keys: {e}")))?;
        let mut held = HashSet::new();
        for key in listed.flatten() {
            for subkey in key.subkeys() {
                if let Some(fpr) = subkey.fingerprint().ok().and_then(|f| Fingerprint::parse(f).ok()) {
                    if wanted.contains(&fpr) {
                        held.insert(fpr);
                    }
                }
            }
        }
        Ok(held)
    }
}

/// The parts [`Keyring::import_parts`] made.
pub struct Parts {
    /// The keyboxes' names in the list's home (for [`Keyring::drop_parts`]).
    pub names: Vec<String>,
    /// The scratch keyrings the parts were built in, in the same order, with
    /// their keys: a [`super::SigningView`] can be made of each.
    pub built: Vec<(Scratch, Vec<Fingerprint>)>,
    /// Keys left out of their part: the keyring held them by then (not ours to take out).
    pub held: Vec<Fingerprint>,
}

/// Fills a scratch keybox with each stream, on every core.
fn build_parts(streams: &[(Vec<u8>, Vec<Fingerprint>)]) -> Result<Vec<(Scratch, Vec<Fingerprint>)>> {
    crate::parallel::on_every_core(streams, |(stream, fprs)| {
        let scratch = Scratch::new()?;
        scratch.keyring.import_many(stream)?;
        Ok((scratch, fprs.clone()))
    })
    .into_iter()
    .collect()
}

/// A keyring that reads one keybox of a list's home alone, under the list's
/// keyring lock: gpg reads every keybox of its home for each key it looks
/// up, so a distribution looks a part's keys up and encrypts to them here.
pub struct KeyboxReader {
    pub keyring: Keyring,
    _dir: crate::home::ScratchDir,
}

impl Keyring {
    /// A reader for each keybox of this keyring, the primary one first;
    /// none when it has no parts (its one keybox is read as fast here).
    /// Each reader's gpg.conf is the list's, its `keyring` lines replaced
    /// by the one keybox, and no agent (a reader only lists and encrypts).
    pub fn keybox_readers(&self) -> Result<Vec<KeyboxReader>> {
        let parts = self.parts()?;
        if parts.is_empty() {
            return Ok(vec![]);
        }
        let own = self.conf_without_keyrings()?;
        let home = std::path::absolute(&self.home).map_err(|e| Error::io(self.home.display(), e))?;
        std::iter::once("pubring.kbx".to_string())
            .chain(parts)
            .map(|name| {
                let path = home.join(&name);
                // gpg would make a keybox it cannot find, empty (a home still on pubring.gpg, say).
                let Some(path) = path.to_str().filter(|p| !p.contains('\n') && std::path::Path::new(p).is_file())
                else {
                    return Err(Error::temporary(format!("{} cannot be read alone", path.display())));
                };
                let dir = crate::home::ScratchDir::new()?;
                let reader_conf = dir.path().join("gpg.conf");
                let text = format!("{own}no-default-keyring\nkeyring gnupg-kbx:{path}\nno-autostart\n");
                std::fs::write(&reader_conf, text).map_err(|e| Error::io(reader_conf.display(), e))?;
                let keyring =
                    Keyring { home: dir.path().into(), lock_home: Some(self.home.clone()), known: Default::default() };
                Ok(KeyboxReader { keyring, _dir: dir })
            })
            .collect()
    }
}

impl Keyring {
    /// This home's gpg.conf without its `keyring` lines: the options a
    /// scratch home that reads other keyboxes (a reader, a signing view)
    /// keeps from the list.
    pub(super) fn conf_without_keyrings(&self) -> Result<String> {
        let conf = self.home.join("gpg.conf");
        let text = std::fs::read_to_string(&conf).map_err(|e| Error::io(conf.display(), e))?;
        Ok(text
            .lines()
            .filter(|line| !line.trim().starts_with("keyring ") && !line.trim().starts_with("primary-keyring "))
            .map(|line| format!("{line}\n"))
            .collect())
    }
}

/// The part keyboxes listed in a gpg.conf.
fn listed_parts(conf: &str) -> Vec<String> {
    conf.lines()
        .filter_map(|line| line.trim().strip_prefix("keyring "))
        .map(str::trim)
        .filter(|name| name.starts_with(PART_PREFIX) && !name.contains('/'))
        .map(String::from)
        .collect()
}

/// Makes the names in `dir` lasting.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir.display(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listcrypts_own_parts_are_read_from_gpg_conf() {
        let conf = "trust-model always\nkeyring members-00.kbx\n  keyring members-01.kbx \nkeyring /etc/other.kbx\nkeyring mine.kbx\n# keyring members-02.kbx\n";
        assert_eq!(listed_parts(conf), ["members-00.kbx", "members-01.kbx"]);
    }
}
