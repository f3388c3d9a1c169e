//! GnuPG through gpgme (the only user of gpgme). Each list has its own GnuPG
//! home; a [`Keyring`] is bound to one. Secret-key passphrases stay in
//! gpg-agent: contexts run with pinentry mode "cancel", so a locked key is an
//! error that says to run `listcrypt list unlock`, never a prompt.
//!
//! One file per idea: [`KeyInfo`] (what listcrypt knows of a key), `keys`
//! (look-ups, import, export, deletion), `crypt` (encryption, signatures,
//! decryption), `agent` (passphrases), `lock` (the keyring lock),
//! [`watchdog`] (gpg's time limit), and for many keys at once `parts`
//! (keyboxes of 500 keys), `view` (a small keyring that signs through the
//! list's agent), `sealer` (one gpgme context for many messages) and
//! [`seal_helper`] (a small process that runs the sealer, cheap to fork).
//! Look-ups say what they return:
//! `key_info*` gives [`KeyInfo`], facts for rules and output; `gpgme_key`
//! gives gpgme's own key, for operations; `holding` means the key whose
//! primary key or subkey has that fingerprint.

mod agent;
mod crypt;
mod key_info;
mod keys;
mod lock;
mod parts;
pub mod seal_helper;
mod sealer;
mod view;
pub mod watchdog;

pub use crypt::{DecryptFailure, Opened, SigStatus, SignatureCheck};
pub use key_info::KeyInfo;
pub use keys::{RecipientKey, RecipientKeys, NOT_IN_KEYRING};
pub use parts::{part_size, KeyboxReader, Parts};
pub use view::{AgentLender, SigningView};

use crate::error::{Error, ErrorKind, Result};
use crate::model::Fingerprint;
use gpgme::{Context, Key, PinentryMode, Protocol};
use lock::{keyring_lock, Access};
use std::path::{Path, PathBuf};

/// One list's GnuPG home.
pub struct Keyring {
    home: PathBuf,
    /// The home whose keyring lock guards this one's keyboxes, when another
    /// (a [`KeyboxReader`] reads a keybox of a list's home).
    lock_home: Option<PathBuf>,
    /// Public keys already looked up by this process (one gpg run each);
    /// emptied whenever the keyring changes.
    known: std::sync::Mutex<std::collections::HashMap<Fingerprint, Key>>,
}

impl Keyring {
    /// `home` is the path to give gpg (see `ListHome::engine_home`).
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Keyring { home: home.into(), lock_home: None, known: Default::default() }
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Starts gpgme for this home ahead of time (it runs `gpg --version`
    /// twice), so a caller can do it while waiting for something else.
    pub fn prepare(&self) {
        start_gpgme(&self.home);
    }

    /// A context for one operation that only reads the keyring, watched by
    /// [`watchdog`] while it lives.
    fn context(&self) -> Result<Watched> {
        self.watched(Access::Read)
    }

    /// A context for one operation that changes the keyring.
    fn context_to_change(&self) -> Result<Watched> {
        self.watched(Access::Change)
    }

    fn watched(&self, access: Access) -> Result<Watched> {
        let hold = self.hold(access)?;
        Ok(Watched { ctx: self.new_context()?, _hold: hold })
    }

    /// The keyring lock, then gpg's time limit: the lock has a wait limit of
    /// its own, and gpg's time starts after it.
    fn hold(&self, access: Access) -> Result<Hold> {
        let lock = keyring_lock(self.lock_home.as_deref().unwrap_or(&self.home), access)?;
        Ok(Hold { _lock: lock, _deadline: watchdog::arm() })
    }

    /// A gpgme context on this home, unwatched and unlocked.
    fn new_context(&self) -> Result<Context> {
        let default_home = start_gpgme(&self.home);
        let mut ctx = Context::from_protocol(Protocol::OpenPgp).map_err(unavailable)?;
        // Another home costs this context one more `gpg --version`.
        if default_home != self.home {
            ctx.set_engine_home_dir(self.home.as_os_str().as_encoded_bytes().to_vec()).map_err(unavailable)?;
        }
        ctx.set_pinentry_mode(PinentryMode::Cancel).map_err(unavailable)?;
        ctx.set_offline(true);
        Ok(ctx)
    }
}

/// A throwaway keyring where a key is read, merged with the list's copy and
/// reduced to its minimal form before it enters the list's keyring;
/// removed, with any agent gpg started in it, when dropped.
pub struct Scratch {
    pub keyring: Keyring,
    /// The home's agent socket leads to another home's agent (a
    /// [`SigningView`]): that agent is never stopped from here.
    lends_agent: bool,
    /// Removed when dropped, after the keyring's agent is stopped.
    _dir: crate::home::ScratchDir,
}

impl Scratch {
    pub fn new() -> Result<Scratch> {
        let dir = crate::home::ScratchDir::new()?;
        Ok(Scratch { keyring: Keyring::new(dir.path()), lends_agent: false, _dir: dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.lends_agent {
            return;
        }
        // gpg may start an agent even for public keys; its socket need not be in the home.
        self.keyring.stop_agent();
    }
}

/// A gpgme context whose operations the watchdog times, with its hold on
/// the keyring lock.
struct Watched {
    // Dropped in this order: gpgme's context, then the hold.
    ctx: Context,
    _hold: Hold,
}

/// A hold on the keyring lock, and gpg's time limit.
struct Hold {
    // Dropped in this order: the lock, then the deadline (which parks a
    // stopped run's thread without holding the lock).
    _lock: Option<std::fs::File>,
    _deadline: watchdog::Deadline,
}

impl std::ops::Deref for Watched {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl std::ops::DerefMut for Watched {
    fn deref_mut(&mut self) -> &mut Context {
        &mut self.ctx
    }
}

/// Starts gpgme once per process and returns its default GnuPG home: the
/// first one asked for (a process serves one list nearly always).
///
/// gpgme probes every engine it knows (gpgconf three times, gpgsm, …) the
/// first time: five processes, about 20 ms, on every listcrypt command. Only
/// OpenPGP is used, from its standard path. And each context given its own
/// home runs `gpg --version` again, so the list's home is made the default.
fn start_gpgme(home: &Path) -> &'static Path {
    static DEFAULT_HOME: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DEFAULT_HOME.get_or_init(|| {
        let _ = gpgme::set_flag("disable-gpgconf", "1");
        let gpgme = gpgme::init();
        for unused in [Protocol::Cms, Protocol::GpgConf, Protocol::Assuan, Protocol::G13, Protocol::UiServer] {
            let _ = gpgme.set_engine_path(unused, "/nonexistent/listcrypt-does-not-use-this-engine");
        }
        match gpgme.set_engine_home_dir(Protocol::OpenPgp, home.as_os_str().as_encoded_bytes().to_vec()) {
            Ok(()) => home.to_path_buf(),
            // No default home: every context sets its own.
            Err(_) => PathBuf::new(),
        }
    })
}

/// gpg cannot be started or reached: the MTA should retry.
fn unavailable(e: gpgme::Error) -> Error {
    Error::temporary(format!("GnuPG is unavailable: {e}")).hint("install gnupg and gpg-agent (see README)")
}

/// A key GnuPG 2.2 cannot read, said plainly: gpg itself would report no key at all.
fn unreadable_key_version(version: u8) -> Error {
    let what = match version {
        6 => "an OpenPGP v6 key (RFC 9580)".to_string(),
        5 => "an OpenPGP v5 key (a draft of RFC 9580)".to_string(),
        3 => "an old v3 key (PGP 2)".to_string(),
        v => format!("a version {v} OpenPGP key"),
    };
    Error::data(format!(
        "the key is {what}: this list runs GnuPG, which reads only v4 keys, so it could neither encrypt \
         to this key nor check its signatures. Send a v4 key instead: most programs make one by default \
         (OpenPGP.js without `v6Keys`, `sq key generate --profile rfc4880`, any GnuPG)"
    ))
}

/// Maps a gpgme failure while `what`: a missing passphrase is a locked key.
fn gpg_error(what: &str, e: gpgme::Error) -> Error {
    let code = e.code();
    if code == gpgme::Error::CANCELED.code()
        || code == gpgme::Error::BAD_PASSPHRASE.code()
        || code == gpgme::Error::NO_PASSPHRASE.code()
        || code == gpgme::Error::NO_PIN.code()
    {
        Error::new(ErrorKind::Permission, format!("{what} needs the list key, which is locked"))
            .hint("run `listcrypt list unlock LIST` to give gpg-agent its passphrase")
    } else {
        Error::temporary(format!("gpg failed {what}: {e}"))
    }
}
