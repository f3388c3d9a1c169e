//! Encryption, signatures and decryption with a keyring's keys.

use super::key_info::epoch_secs;
use super::keys::RecipientKey;
use super::{gpg_error, unavailable, Keyring};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Fingerprint, Secret};
use crate::openpgp::KeyId;
use gpgme::{EncryptFlags, HashAlgorithm, Key};
use std::io::Write;

/// What gpg said about one signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigStatus {
    Good,
    Bad,
    /// The signing key is not in the list's keyring.
    UnknownKey,
    KeyExpired,
    KeyRevoked,
    SignatureExpired,
    Error,
}

impl SigStatus {
    /// The signature was made by the key it names, which may since have
    /// expired or been revoked.
    pub fn is_genuine(&self) -> bool {
        matches!(self, SigStatus::Good | SigStatus::KeyExpired | SigStatus::KeyRevoked)
    }
}

#[derive(Debug, Clone)]
pub struct SignatureCheck {
    pub status: SigStatus,
    /// As gpg reports it: the signing (sub)key's fingerprint, or only a key ID for bad signatures.
    pub fingerprint: String,
    /// Signature creation time, seconds since the epoch.
    pub created: u64,
    /// Made with a broken or obsolete hash (MD5, SHA-1, RIPEMD-160...): a
    /// SHA-1 collision lets one signature cover two different texts.
    pub weak_hash: bool,
}

impl SignatureCheck {
    fn from_gpgme(sig: &gpgme::results::Signature<'_>) -> Self {
        use gpgme::SignatureSummary as S;
        let summary = sig.summary();
        let status = match sig.status() {
            _ if summary.contains(S::KEY_REVOKED) => SigStatus::KeyRevoked,
            _ if summary.contains(S::KEY_EXPIRED) => SigStatus::KeyExpired,
            _ if summary.contains(S::SIG_EXPIRED) => SigStatus::SignatureExpired,
            Ok(()) => SigStatus::Good,
            Err(e) if e.code() == gpgme::Error::BAD_SIGNATURE.code() => SigStatus::Bad,
            Err(e) if e.code() == gpgme::Error::NO_PUBKEY.code() => SigStatus::UnknownKey,
            Err(e) if e.code() == gpgme::Error::KEY_EXPIRED.code() => SigStatus::KeyExpired,
            Err(e) if e.code() == gpgme::Error::CERT_REVOKED.code() => SigStatus::KeyRevoked,
            Err(e) if e.code() == gpgme::Error::SIG_EXPIRED.code() => SigStatus::SignatureExpired,
            Err(_) => SigStatus::Error,
        };
        SignatureCheck {
            status,
            fingerprint: sig.fingerprint().unwrap_or_default().to_ascii_uppercase(),
            created: sig.creation_time().map(epoch_secs).unwrap_or(0),
            weak_hash: !matches!(
                sig.hash_algorithm(),
                HashAlgorithm::Sha224 | HashAlgorithm::Sha256 | HashAlgorithm::Sha384 | HashAlgorithm::Sha512
            ),
        }
    }
}

/// A decrypted OpenPGP message.
pub struct Opened {
    pub plaintext: Secret,
    /// Signatures inside the encryption (sign-and-encrypt in one message).
    pub signatures: Vec<SignatureCheck>,
}

/// Why a message could not be decrypted.
#[derive(Debug)]
pub enum DecryptFailure {
    /// The list key is locked: try again after `list unlock`.
    Locked(Error),
    /// Not encrypted to the list key, damaged, or without integrity protection.
    Refused(String),
    /// gpg itself failed.
    Unavailable(Error),
}

impl Keyring {
    /// Encrypts to every recipient (by fingerprint, never by address), signing
    /// with `signer` if given. ASCII-armored.
    pub fn encrypt(
        &self,
        recipients: &[Fingerprint],
        plaintext: &[u8],
        signer: Option<&Fingerprint>,
    ) -> Result<Vec<u8>> {
        // Keys are found before the context takes its hold on the keyring lock.
        let keys = recipients.iter().map(|f| self.gpgme_key(f)).collect::<Result<Vec<_>>>()?;
        let signing_key = signer.map(|fpr| self.gpgme_key(fpr)).transpose()?;
        let mut ctx = self.context()?;
        ctx.set_armor(true);
        let mut out = Vec::new();
        let flags = EncryptFlags::ALWAYS_TRUST | EncryptFlags::NO_ENCRYPT_TO;
        match signing_key {
            Some(key) => {
                // gpg finds the secret part itself, through the agent.
                ctx.add_signer(&key).map_err(|e| gpg_error("signing", e))?;
                ctx.sign_and_encrypt_with_flags(&keys, plaintext, &mut out, flags)
                    .map_err(|e| gpg_error("signing and encrypting", e))?;
            }
            None => {
                ctx.encrypt_with_flags(&keys, plaintext, &mut out, flags).map_err(|e| gpg_error("encrypting", e))?;
            }
        }
        Ok(out)
    }

    /// Encrypts once to all of `keys` (no signature), armored or binary.
    pub fn encrypt_to(&self, keys: &[&RecipientKey], plaintext: &[u8], armor: bool, key_id: KeyId) -> Result<Vec<u8>> {
        let mut ctx = self.context()?;
        ctx.set_armor(armor);
        let keys: Vec<&Key> = keys.iter().map(|k| &k.key).collect();
        let mut out = Vec::new();
        let mut flags = EncryptFlags::ALWAYS_TRUST | EncryptFlags::NO_ENCRYPT_TO;
        if key_id == KeyId::Hidden {
            flags |= EncryptFlags::THROW_KEYIDS;
        }
        ctx.encrypt_with_flags(keys, plaintext, &mut out, flags).map_err(|e| gpg_error("encrypting", e))?;
        Ok(out)
    }

    /// A detached, armored signature over `data` by `signer`, with the
    /// RFC 3156 `micalg` name of its hash (`pgp-sha256`).
    pub fn sign_detached(&self, signer: &Fingerprint, data: &[u8]) -> Result<(Vec<u8>, String)> {
        // gpg finds the secret part itself, through the agent.
        let key = self.gpgme_key(signer)?;
        let mut ctx = self.context()?;
        ctx.set_armor(true);
        ctx.add_signer(&key).map_err(|e| gpg_error("signing", e))?;
        let mut out = Vec::new();
        let result = ctx.sign_detached(data, &mut out).map_err(|e| gpg_error("signing", e))?;
        let hash = result
            .new_signatures()
            .next()
            .and_then(|s| s.hash_algorithm().name().ok().map(|n| n.to_ascii_lowercase()))
            .unwrap_or_else(|| "sha256".into());
        Ok((out, format!("pgp-{hash}")))
    }

    /// Decrypts with the list's secret key and checks any signature inside.
    /// Output past `limit` bytes stops gpg and refuses the message, so a
    /// compressed "bomb" never fills memory.
    pub fn decrypt(&self, ciphertext: &[u8], limit: usize) -> std::result::Result<Opened, DecryptFailure> {
        let mut ctx = self.context().map_err(DecryptFailure::Unavailable)?;
        let mut capped = Capped { bytes: Secret::default(), limit, exceeded: false };
        let outcome = match gpgme::Data::from_writer(&mut capped) {
            Ok(mut sink) => ctx.decrypt_and_verify(ciphertext, &mut sink).map(|(d, v)| {
                let signatures: Vec<SignatureCheck> = v.signatures().map(|s| SignatureCheck::from_gpgme(&s)).collect();
                (d.is_legacy_cipher_no_mdc(), signatures)
            }),
            Err(e) => return Err(DecryptFailure::Unavailable(unavailable(e.error()))),
        };
        if capped.exceeded {
            return Err(DecryptFailure::Refused(format!("decrypts to more than {limit} bytes")));
        }
        match outcome {
            Ok((true, _)) => Err(DecryptFailure::Refused("no integrity protection (MDC)".into())),
            Ok((false, signatures)) => Ok(Opened { plaintext: capped.bytes, signatures }),
            Err(e) => {
                let code = e.code();
                let err = gpg_error("decrypting", e);
                Err(match err.kind() {
                    ErrorKind::Permission => DecryptFailure::Locked(err),
                    _ if code == gpgme::Error::NO_SECKEY.code() => {
                        DecryptFailure::Refused("not encrypted to the list key".into())
                    }
                    _ if [gpgme::Error::DECRYPT_FAILED, gpgme::Error::NO_DATA, gpgme::Error::BAD_DATA]
                        .iter()
                        .any(|c| c.code() == code) =>
                    {
                        DecryptFailure::Refused(format!("cannot be decrypted: {}", err.message()))
                    }
                    _ => DecryptFailure::Unavailable(err),
                })
            }
        }
    }

    /// Checks a detached signature over `data`.
    pub fn verify_detached(&self, signature: &[u8], data: &[u8]) -> Result<Vec<SignatureCheck>> {
        let mut ctx = self.context()?;
        match ctx.verify_detached(signature, data) {
            Ok(result) => Ok(result.signatures().map(|s| SignatureCheck::from_gpgme(&s)).collect()),
            Err(e) if is_not_openpgp(&e) => Ok(vec![]),
            Err(e) => Err(gpg_error("checking a signature", e)),
        }
    }

    /// Checks a cleartext-signed (inline) message; returns the signed text.
    pub fn verify_cleartext(&self, armored: &[u8]) -> Result<(Secret, Vec<SignatureCheck>)> {
        let mut ctx = self.context()?;
        // The signed text is never longer than its armored form.
        let mut text = Capped { bytes: Secret::default(), limit: armored.len(), exceeded: false };
        let outcome = match gpgme::Data::from_writer(&mut text) {
            Ok(mut sink) => ctx
                .verify_opaque(armored, &mut sink)
                .map(|r| r.signatures().map(|s| SignatureCheck::from_gpgme(&s)).collect()),
            Err(e) => return Err(unavailable(e.error())),
        };
        match outcome {
            Ok(signatures) if !text.exceeded => Ok((text.bytes, signatures)),
            Ok(_) => Ok((Secret::default(), vec![])),
            Err(e) if is_not_openpgp(&e) => Ok((Secret::default(), vec![])),
            Err(e) => Err(gpg_error("checking a signature", e)),
        }
    }
}

/// Collects decrypted output up to a limit; past it, every write fails.
struct Capped {
    bytes: Secret,
    limit: usize,
    exceeded: bool,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let needed = self.bytes.len() + buf.len();
        if needed > self.limit {
            self.exceeded = true;
            return Err(std::io::Error::other("decrypted data over the limit"));
        }
        if needed > self.bytes.capacity() {
            // Grown by hand: a Vec's own growth would leave the old copy of
            // the plaintext in freed memory; this one is wiped when replaced.
            let mut bigger = Vec::with_capacity(needed.max(self.bytes.capacity() * 2).min(self.limit));
            bigger.extend_from_slice(&self.bytes);
            self.bytes = Secret::new(bigger);
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn is_not_openpgp(e: &gpgme::Error) -> bool {
    e.code() == gpgme::Error::NO_DATA.code() || e.code() == gpgme::Error::BAD_DATA.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_output_grows_by_hand_and_stops_at_the_limit() {
        let mut capped = Capped { bytes: Secret::default(), limit: 10_000, exceeded: false };
        for _ in 0..99 {
            capped.write_all(&[7u8; 100]).unwrap();
        }
        assert_eq!(capped.bytes.len(), 9_900);
        assert!(capped.bytes.capacity() <= 10_000, "never allocates past the limit");
        assert!(capped.write_all(&[7u8; 101]).is_err());
        assert!(capped.exceeded);
        assert_eq!(capped.bytes.len(), 9_900, "nothing past the limit is kept");
    }
}
