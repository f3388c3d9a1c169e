//! The keyring lock: reads together, a change alone.

use super::watchdog;
use crate::error::{Error, Result};
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Access {
    Read,
    Change,
}

/// GnuPG 2.2 puts a changed pubring.kbx in place by two renames (the old
/// file to `pubring.kbx~`, then the new one in), so a gpg that opens the
/// keyring between them finds none: a member's signature checks as "no
/// public key" and encrypting to a member fails with "unusable public key".
/// listcrypt's gpg runs therefore share each keyring under a lock: reads
/// together, a change alone. Measured before the lock: 1 encryption in 300
/// failed while another process imported keys.
///
/// A change waits at a turnstile it closes behind it, so that readers who
/// come later wait for the change instead of keeping it out for as long as
/// their reads overlap. A wait longer than gpg's time limit (a run stopped
/// while it held the lock) is a temporary error: the MTA or cron retries.
///
/// Only the owner of the GnuPG home creates the lock files (root running a
/// command there must not leave files the list user cannot open); a home
/// whose lock files another user cannot make or open goes without.
pub(super) fn keyring_lock(home: &Path, access: Access) -> Result<Option<std::fs::File>> {
    use rustix::fs::FlockOperation::{NonBlockingLockExclusive, NonBlockingLockShared};
    let (Some(turnstile), Some(lock)) =
        (lock_file(home, "listcrypt-keyring.turn")?, lock_file(home, "listcrypt-keyring.lock")?)
    else {
        return Ok(None);
    };
    let give_up = std::time::Instant::now() + watchdog::limit();
    let operation = match access {
        Access::Read => NonBlockingLockShared,
        Access::Change => NonBlockingLockExclusive,
    };
    let mut pause = Duration::from_millis(2);
    for file in [&turnstile, &lock] {
        loop {
            match rustix::fs::flock(file, operation) {
                Ok(()) => break,
                Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) if std::time::Instant::now() < give_up => {
                    // From 2 ms up to 50 ms: short waits stay short, long ones cost little.
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) => {
                    return Err(Error::temporary(format!("the keyring in {} stayed busy", home.display()))
                        .hint("another listcrypt run holds it; it is retried later"))
                }
                Err(e) => return Err(Error::temporary(format!("cannot lock the keyring in {}: {e}", home.display()))),
            }
        }
    }
    // A reader passes the turnstile at once; closing it lets the next one through.
    drop(turnstile);
    Ok(Some(lock))
}

/// Opens one lock file of the keyring, making it if this user owns the home.
fn lock_file(home: &Path, name: &str) -> Result<Option<std::fs::File>> {
    use rustix::fs::{Mode, OFlags};
    use std::os::unix::fs::MetadataExt;
    let path = home.join(name);
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let opened = match rustix::fs::open(&path, flags, Mode::empty()) {
        Err(rustix::io::Errno::NOENT) => {
            let owner = std::fs::metadata(home).map(|m| m.uid()).ok();
            if owner != Some(rustix::process::geteuid().as_raw()) {
                return Ok(None);
            }
            rustix::fs::open(&path, flags | OFlags::CREATE, Mode::from_raw_mode(0o600))
        }
        other => other,
    };
    match opened {
        Ok(fd) => Ok(Some(std::fs::File::from(fd))),
        Err(rustix::io::Errno::ACCESS | rustix::io::Errno::ROFS) => Ok(None),
        Err(e) => Err(Error::temporary(format!("cannot open {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use crate::gpg::{Keyring, Scratch};
    use crate::model::Fingerprint;

    /// gpg swaps pubring.kbx in by two renames; without the keyring lock a
    /// gpg started between them finds no keyring at all.
    #[test]
    fn readers_never_see_the_keyring_missing_while_keys_come_and_go() {
        let home = Scratch::new().unwrap();
        let reader = Keyring::new(home.keyring.home());
        let list = reader.generate("list@example.org").unwrap();
        let others: Vec<(Fingerprint, Vec<u8>)> = (0..3)
            .map(|i| {
                let scratch = Scratch::new().unwrap();
                let fpr = scratch.keyring.generate(&format!("m{i}@example.org")).unwrap();
                let public = scratch.keyring.export_minimal(&fpr).unwrap();
                (fpr, public)
            })
            .collect();
        let done = std::sync::atomic::AtomicBool::new(false);
        let failures = std::thread::scope(|s| {
            s.spawn(|| {
                let writer = Keyring::new(home.keyring.home());
                for _ in 0..50 {
                    for (fpr, public) in &others {
                        writer.import(public).unwrap();
                        writer.delete_public(fpr).unwrap();
                    }
                }
                done.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            let mut failures = vec![];
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Err(e) = reader.encrypt(std::slice::from_ref(&list), b"hello", None) {
                    failures.push(e.message().to_string());
                }
            }
            failures
        });
        assert!(failures.is_empty(), "{} encryptions failed: {:?}", failures.len(), failures.first());
    }
}
