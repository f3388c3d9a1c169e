//! Many messages signed by one key and each encrypted to one recipient,
//! through one gpgme context (in a seal helper, `seal_helper`): a context
//! on a home other than gpgme's default runs `gpg --version` when it is
//! made, which costs as much as the sealing itself.

use super::{gpg_error, Access, Keyring};
use crate::error::Result;
use crate::model::Fingerprint;
use gpgme::{Context, EncryptFlags, Key};

/// Signs with one key and encrypts to one recipient at a time, armored.
/// A gpgme context is not shared between threads: one sealer per thread.
pub(super) struct Sealer<'k> {
    keyring: &'k Keyring,
    // Set once: the signer and armor stay the same for every message.
    ctx: Context,
}

impl Keyring {
    /// A sealer that signs with `signer`.
    pub(super) fn sealer(&self, signer: &Fingerprint) -> Result<Sealer<'_>> {
        let signer: Key = self.gpgme_key(signer)?;
        let mut ctx = self.new_context()?;
        ctx.set_armor(true);
        // gpg finds the secret part itself, through the agent.
        ctx.add_signer(&signer).map_err(|e| gpg_error("signing", e))?;
        Ok(Sealer { keyring: self, ctx })
    }
}

impl Sealer<'_> {
    /// `plaintext` signed and encrypted to `recipient` (by fingerprint),
    /// each run under the keyring lock and gpg's time limit.
    pub fn seal(&mut self, recipient: &Fingerprint, plaintext: &[u8]) -> Result<Vec<u8>> {
        let key = self.keyring.gpgme_key(recipient)?;
        let _hold = self.keyring.hold(Access::Read)?;
        let mut out = Vec::new();
        let flags = EncryptFlags::ALWAYS_TRUST | EncryptFlags::NO_ENCRYPT_TO;
        self.ctx
            .sign_and_encrypt_with_flags(Some(&key), plaintext, &mut out, flags)
            .map_err(|e| gpg_error("signing and encrypting", e))?;
        Ok(out)
    }
}
