//! gpg-agent: passphrases handed over once, agents stopped.

use super::Keyring;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Fingerprint;
use std::io::Write;
use std::process::{Command, Stdio};

impl Keyring {
    /// Hands a passphrase to gpg-agent for the given keygrips (preset, no
    /// expiry), then proves it works by signing with `fpr`. A wrong
    /// passphrase is cleared again and refused.
    pub fn unlock(&self, fpr: &Fingerprint, keygrips: &[String], passphrase: &str) -> Result<()> {
        if keygrips.is_empty() {
            return Err(Error::software(format!("gpg listed no keygrip for key {fpr}")));
        }
        // The passphrase and its hex form live in buffers sized once and wiped on drop.
        let mut hex = zeroize::Zeroizing::new(String::with_capacity(passphrase.len() * 2));
        for b in passphrase.bytes() {
            for nibble in [b >> 4, b & 15] {
                hex.push(char::from(b"0123456789ABCDEF"[usize::from(nibble)]));
            }
        }
        let mut script = zeroize::Zeroizing::new(String::with_capacity(keygrips.len() * (hex.len() + 80)));
        for grip in keygrips {
            for part in ["PRESET_PASSPHRASE ", grip, " -1 ", &hex, "\n"] {
                script.push_str(part);
            }
        }
        self.agent(&script)?;
        if let Err(e) = self.sign_detached(fpr, b"listcrypt unlock check") {
            let clear: String = keygrips.iter().map(|g| format!("CLEAR_PASSPHRASE --mode=normal {g}\n")).collect();
            let _ = self.agent(&clear);
            return Err(match e.kind() {
                ErrorKind::Permission => Error::data("the passphrase is wrong").hint("try again; nothing was stored"),
                _ => e,
            });
        }
        Ok(())
    }

    /// Stops this home's gpg-agent (it would outlive a deleted list).
    pub fn stop_agent(&self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--kill", "gpg-agent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Runs assuan commands through gpg-connect-agent (starting the agent if
    /// needed); the commands go through a pipe, never argv.
    pub(super) fn agent(&self, script: &str) -> Result<()> {
        let mut child = Command::new("gpg-connect-agent")
            .arg("--homedir")
            .arg(&self.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                Error::temporary(format!("cannot run gpg-connect-agent: {e}")).hint("install gnupg and gpg-agent")
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .and_then(|()| stdin.write_all(b"/bye\n"))
                .map_err(|e| Error::temporary(format!("gpg-connect-agent: {e}")))?;
        }
        let out = child.wait_with_output().map_err(|e| Error::temporary(format!("gpg-connect-agent: {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(err) = text.lines().find(|l| l.starts_with("ERR")) {
            return Err(Error::temporary(format!("gpg-agent refused: {err}"))
                .hint("check that gpg-agent.conf in the list's GnuPG home allows preset passphrases"));
        }
        Ok(())
    }
}
