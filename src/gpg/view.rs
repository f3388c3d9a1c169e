//! A signing view: a scratch keyring holding a few member keys and the
//! list's public key, that signs through the list's own gpg-agent.
//!
//! gpg reads every keybox of its home for each key it looks up, so in a list
//! of 10,000 members every gpg run costs about twice what it costs in a
//! small one. `members import` seals each part's challenges (signed by the
//! list, encrypted to one member) in a view of that part instead.
//!
//! The view's agent socket, at the path `gpgconf --list-dirs agent-socket`
//! names for it, is a link to the list's agent socket: what GnuPG's agent
//! forwarding over SSH does with a forwarded socket. `no-autostart` keeps
//! gpg from starting an agent of its own when the list's has gone. Nothing
//! secret is copied: the list's agent keeps its keys and passphrases, and a
//! locked list key fails in a view as it fails in the list's home.

use super::{Keyring, Scratch};
use crate::error::{Error, Result};
use crate::model::Fingerprint;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A scratch keyring that signs with a list's agent; the link goes when dropped.
pub struct SigningView {
    link: PathBuf,
    // After the link is gone: its drop stops "its" agent, which must not be the list's.
    scratch: Scratch,
}

impl SigningView {
    pub fn keyring(&self) -> &Keyring {
        &self.scratch.keyring
    }
}

impl Drop for SigningView {
    fn drop(&mut self) {
        if self.link.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
            let _ = std::fs::remove_file(&self.link);
        }
        // A socket folder gpgconf keeps elsewhere (/run/user/UID/gnupg/d.*) goes too.
        if !self.link.starts_with(&self.scratch.keyring.home) {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(&self.scratch.keyring.home)
                .arg("--remove-socketdir")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// What every view of one list needs, found once: the list's public key,
/// its options and its agent's socket.
pub struct AgentLender {
    list_key: Vec<u8>,
    conf: String,
    socket: PathBuf,
}

impl Keyring {
    /// Gets ready to lend this keyring's agent, signing with `list_key`.
    pub fn agent_lender(&self, list_key: &Fingerprint) -> Result<AgentLender> {
        // The list's agent runs (started if need be) before a socket links to it.
        self.agent("")?;
        Ok(AgentLender {
            list_key: self.export(list_key)?,
            // The list's own options, and never an agent of its own.
            conf: format!("{}no-autostart\n", self.conf_without_keyrings()?),
            socket: agent_socket(&self.home)?,
        })
    }
}

impl AgentLender {
    /// Makes `scratch` (which holds member keys) a view that signs with the
    /// list key through the list's agent.
    pub fn signing_view(&self, mut scratch: Scratch) -> Result<SigningView> {
        scratch.keyring.import_many(&self.list_key)?;
        let conf = scratch.keyring.home.join("gpg.conf");
        std::fs::write(&conf, &self.conf).map_err(|e| Error::io(conf.display(), e))?;
        // An agent gpg started in the scratch home gives its socket up first;
        // from here on the scratch home never stops an agent.
        scratch.keyring.stop_agent();
        scratch.lends_agent = true;
        let link = agent_socket(&scratch.keyring.home)?;
        if let Some(dir) = link.parent().filter(|dir| !dir.exists()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::io(dir.display(), e))?;
        }
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&self.socket, &link).map_err(|e| Error::io(link.display(), e))?;
        Ok(SigningView { link, scratch })
    }
}

/// Where gpg looks for the agent of `home`.
fn agent_socket(home: &Path) -> Result<PathBuf> {
    let out = Command::new("gpgconf")
        .arg("--homedir")
        .arg(home)
        .args(["--list-dirs", "agent-socket"])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| Error::temporary(format!("cannot run gpgconf: {e}")).hint("install gnupg"))?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !path.starts_with('/') {
        return Err(Error::temporary(format!("gpgconf names no agent socket for {}", home.display())));
    }
    // gpgconf escapes a few bytes in paths (%3a for ':'); such a path is not guessed at.
    if path.contains('%') {
        return Err(Error::temporary(format!("gpgconf names an escaped agent socket path: {path}")));
    }
    Ok(PathBuf::from(path))
}
