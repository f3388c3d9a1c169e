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

use super::{Keyring, Scratch};
use crate::error::{Error, Result};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Keys per part: a keybox this size takes its keys in about a second.
const PART_SIZE: usize = 500;

/// Keys per part: [`PART_SIZE`], or `LISTCRYPT_PART_SIZE` where tests set
/// it, so that a few keys make several parts.
pub fn part_size() -> usize {
    std::env::var("LISTCRYPT_PART_SIZE").ok().and_then(|n| n.parse().ok()).filter(|n| *n > 0).unwrap_or(PART_SIZE)
}

/// GnuPG opens at most 40 keyboxes (keydb.c, MAX_KEYDB_RESOURCES); the rest
/// of the room is left to an administrator's own `keyring` lines.
const MAX_PARTS: usize = 32;

/// The prefix of a part keybox's name, in the GnuPG home.
const PART_PREFIX: &str = "members-";

impl Keyring {
    /// The part keyboxes gpg.conf lists, by file name.
    pub fn parts(&self) -> Result<Vec<String>> {
        let conf = self.home.join("gpg.conf");
        let text = std::fs::read_to_string(&conf).map_err(|e| Error::io(conf.display(), e))?;
        Ok(listed_parts(&text))
    }

    /// Takes in new keys (none of them in this keyring), each stream of
    /// `parts` holding at most [`part_size`] keys: each one as a keybox of
    /// its own while there is room, the rest into the primary keybox.
    /// Returns the scratch keyrings the parts were built in, in order (each
    /// holds its part's keys: a [`super::SigningView`] can be made of it).
    pub fn import_parts(&self, parts: &[Vec<u8>]) -> Result<Vec<Scratch>> {
        let room = match self.owned_by_me() {
            true => MAX_PARTS.saturating_sub(self.parts()?.len()),
            // Files made now would be another user's to lose; gpg.conf too.
            false => 0,
        };
        let (as_parts, rest) = parts.split_at(room.min(parts.len()));
        let built = build_parts(as_parts)?;
        if !built.is_empty() {
            self.adopt(&built)?;
        }
        for stream in rest {
            self.import_many(stream)?;
        }
        Ok(built)
    }

    fn owned_by_me(&self) -> bool {
        std::fs::metadata(&self.home).is_ok_and(|m| m.uid() == rustix::process::geteuid().as_raw())
    }

    /// Moves built keyboxes into the home and lists them in gpg.conf, alone
    /// on the keyring: a gpg run sees all of them or none.
    fn adopt(&self, built: &[Scratch]) -> Result<()> {
        self.forget_keys();
        let _lock = super::lock::keyring_lock(&self.home, super::lock::Access::Change)?;
        let conf = self.home.join("gpg.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|e| Error::io(conf.display(), e))?;
        let listed = listed_parts(&text);
        // Names neither listed nor on disk: a file left by a run that stopped
        // before it listed it is taken over.
        let mut names = (0..).map(|i| format!("{PART_PREFIX}{i:02}.kbx")).filter(|n| !listed.contains(n));
        for scratch in built {
            let name = names.next().unwrap_or_default();
            let from = scratch.keyring.home.join("pubring.kbx");
            write_file(&self.home.join(&name), &std::fs::read(&from).map_err(|e| Error::io(from.display(), e))?)?;
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("keyring {name}\n"));
        }
        write_file(&conf, text.as_bytes())
    }
}

/// Fills a scratch keybox with each stream, on every core.
fn build_parts(streams: &[Vec<u8>]) -> Result<Vec<Scratch>> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut built: Vec<(usize, Result<Scratch>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores.min(streams.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = vec![];
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(stream) = streams.get(i) else { break };
                        let part = Scratch::new().and_then(|scratch| {
                            scratch.keyring.import_many(stream)?;
                            Ok(scratch)
                        });
                        done.push((i, part));
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    built.sort_by_key(|(i, _)| *i);
    built.into_iter().map(|(_, part)| part).collect()
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

/// Writes a file whole or not at all: a temporary file, synced, renamed over it.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_extension("listcrypt-new");
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|_| std::fs::rename(&temporary, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Error::io(path.display(), e)
    })
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
