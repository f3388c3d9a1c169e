//! GnuPG through gpgme (the only user of gpgme). Each list has its own GnuPG
//! home; a [`Keyring`] is bound to one. Secret-key passphrases stay in
//! gpg-agent: contexts run with pinentry mode "cancel", so a locked key is an
//! error that says to run `listcrypt list unlock`, never a prompt.

use crate::error::{Error, ErrorKind, Result};
use crate::model::{Address, Fingerprint, Secret};
use crate::openpgp::KeyId;
use gpgme::{Context, CreateKeyFlags, EncryptFlags, ExportMode, HashAlgorithm, Key, PinentryMode, Protocol};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What listcrypt needs to know about one OpenPGP key.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub fingerprint: Fingerprint,
    pub has_secret: bool,
    pub revoked: bool,
    pub expired: bool,
    /// Some valid (not revoked, not expired) key or subkey can sign.
    pub can_sign: bool,
    /// Some valid key or subkey can encrypt.
    pub can_encrypt: bool,
    /// Lower-cased addresses of the user IDs that are not revoked.
    pub emails: Vec<String>,
    pub user_ids: Vec<String>,
    /// The primary key's creation, seconds since the epoch.
    pub created: u64,
    /// The primary key's expiry, seconds since the epoch.
    pub expires: Option<u64>,
    /// Until when mail can be encrypted to it: the primary key's expiry or the
    /// last usable encryption subkey's, whichever comes first (None: no end).
    pub encrypt_until: Option<u64>,
    /// Fingerprints of the primary key and every subkey.
    pub subkeys: Vec<Fingerprint>,
    pub keygrips: Vec<String>,
    /// The primary key, or a usable subkey, is RSA, DSA or ElGamal under
    /// 2048 bits: what it is (`RSA 1024 bits`).
    pub weak: Option<String>,
}

impl KeyInfo {
    fn from_key(key: &Key) -> Result<Self> {
        let fpr = key.fingerprint().map_err(|_| Error::data("a key has no fingerprint"))?;
        let usable = |s: &gpgme::Subkey<'_>| !s.is_revoked() && !s.is_expired() && !s.is_invalid() && !s.is_disabled();
        let emails = key
            .user_ids()
            .filter(|u| !u.is_revoked() && !u.is_invalid())
            .filter_map(|u| u.email().ok().map(str::trim))
            .filter(|e| !e.is_empty())
            // The same canonical form as every other address (A-labels, lower case).
            .map(|e| Address::parse(e).map(|a| a.as_str().to_string()).unwrap_or_else(|_| e.to_ascii_lowercase()))
            .collect();
        Ok(KeyInfo {
            fingerprint: Fingerprint::parse(fpr)?,
            has_secret: key.has_secret() || key.subkeys().any(|s| s.is_secret()),
            revoked: key.is_revoked(),
            expired: key.is_expired(),
            can_sign: key.subkeys().any(|s| usable(&s) && s.can_sign()),
            can_encrypt: key.subkeys().any(|s| usable(&s) && s.can_encrypt()),
            emails,
            user_ids: key.user_ids().filter_map(|u| u.id().ok().map(str::to_string)).collect(),
            created: key.primary_key().and_then(|p| p.creation_time()).map(epoch_secs).unwrap_or(0),
            expires: key.primary_key().and_then(|p| p.expiration_time()).map(epoch_secs),
            encrypt_until: {
                let primary = key.primary_key().and_then(|p| p.expiration_time()).map(epoch_secs);
                let subkeys: Vec<Option<u64>> = key
                    .subkeys()
                    .filter(|s| usable(s) && s.can_encrypt())
                    .map(|s| s.expiration_time().map(epoch_secs))
                    .collect();
                let last_subkey =
                    if subkeys.iter().any(Option::is_none) { None } else { subkeys.into_iter().flatten().max() };
                match (primary, last_subkey) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            },
            subkeys: key
                .subkeys()
                .filter_map(|s| s.fingerprint().ok().and_then(|f| Fingerprint::parse(f).ok()))
                .collect(),
            keygrips: key.subkeys().filter_map(|s| s.keygrip().ok().map(str::to_string)).collect(),
            weak: key
                .subkeys()
                .enumerate()
                .filter(|(i, s)| *i == 0 || usable(s))
                .find(|(_, s)| is_weak(s))
                .map(|(_, s)| format!("{} {} bits", s.algorithm(), s.length())),
        })
    }

    pub fn has_address(&self, address: &Address) -> bool {
        self.emails.iter().any(|e| e == address.as_str())
    }
}

/// RSA, DSA and ElGamal under 2048 bits can be factored or solved with
/// means well within reach (NIST SP 800-131A, RFC 9580 §12.4).
fn is_weak(key: &gpgme::Subkey<'_>) -> bool {
    use gpgme::KeyAlgorithm as A;
    let finite_field =
        matches!(key.algorithm(), A::Rsa | A::RsaEncrypt | A::RsaSign | A::Dsa | A::Elgamal | A::ElgamalEncrypt);
    finite_field && key.length() < 2048
}

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

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

/// A recipient's public key, looked up once per run.
pub struct RecipientKey {
    pub fingerprint: Fingerprint,
    key: Key,
    /// Key IDs of its usable encryption (sub)keys: what its session key packet names.
    pub key_ids: Vec<[u8; 8]>,
}

/// Keys looked up for a distribution.
pub struct RecipientKeys {
    pub usable: Vec<RecipientKey>,
    /// Fingerprints that cannot be encrypted to, and why.
    pub unusable: Vec<(Fingerprint, String)>,
}

/// One list's GnuPG home.
pub struct Keyring {
    home: PathBuf,
    /// Public keys already looked up by this process (one gpg run each);
    /// emptied whenever the keyring changes.
    known: std::sync::Mutex<std::collections::HashMap<Fingerprint, Key>>,
}

impl Keyring {
    /// `home` is the path to give gpg (see `ListHome::engine_home`).
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Keyring { home: home.into(), known: Default::default() }
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
        // The lock has a wait limit of its own; gpg's time starts after it.
        let lock = keyring_lock(&self.home, access)?;
        let deadline = watchdog::arm();
        let default_home = start_gpgme(&self.home);
        let mut ctx = Context::from_protocol(Protocol::OpenPgp).map_err(unavailable)?;
        // Another home costs this context one more `gpg --version`.
        if default_home != self.home {
            ctx.set_engine_home_dir(self.home.as_os_str().as_encoded_bytes().to_vec()).map_err(unavailable)?;
        }
        ctx.set_pinentry_mode(PinentryMode::Cancel).map_err(unavailable)?;
        ctx.set_offline(true);
        Ok(Watched { ctx, _lock: lock, _deadline: deadline })
    }

    /// The keys in `bytes` (armored or binary), without importing them.
    pub fn inspect(&self, bytes: &[u8]) -> Result<Vec<KeyInfo>> {
        if let Some(version) = crate::openpgp::key_version(bytes).filter(|v| *v != 4) {
            return Err(unreadable_key_version(version));
        }
        let mut ctx = self.context()?;
        let keys = ctx.read_keys(bytes).map_err(|e| {
            Error::data(format!("the key file cannot be read: {e}"))
                .hint("export the key with `gpg --export --armor ADDRESS`")
        })?;
        let mut infos = vec![];
        for key in keys {
            let key = key.map_err(|e| Error::data(format!("the key file cannot be read: {e}")))?;
            infos.push(KeyInfo::from_key(&key)?);
        }
        if infos.is_empty() {
            return Err(
                Error::data("the file holds no OpenPGP key").hint("export the key with `gpg --export --armor ADDRESS`")
            );
        }
        Ok(infos)
    }

    /// Imports every key in `bytes` (public or secret).
    pub fn import(&self, bytes: &[u8]) -> Result<()> {
        self.forget_keys();
        let mut ctx = self.context_to_change()?;
        let result = ctx.import(bytes).map_err(|e| Error::data(format!("gpg refused the key: {e}")))?;
        if result.considered() == 0 || result.not_imported() > 0 {
            return Err(Error::data(format!(
                "gpg imported {} of {} keys",
                result.considered() - result.not_imported(),
                result.considered()
            )));
        }
        Ok(())
    }

    /// Facts about a key in this keyring, with secret-key availability.
    pub fn key(&self, fpr: &Fingerprint) -> Result<KeyInfo> {
        let mut ctx = self.context()?;
        ctx.add_key_list_mode(gpgme::KeyListMode::WITH_KEYGRIP).map_err(unavailable)?;
        let key = lookup(&mut ctx, fpr.as_str(), false).map_err(|_| not_in_keyring(fpr, &self.home))?;
        let mut info = KeyInfo::from_key(&key)?;
        info.has_secret = lookup(&mut ctx, fpr.as_str(), true).is_ok();
        Ok(info)
    }

    /// Moves the expiry of a key of ours, its primary key and every subkey,
    /// to `lifetime` from now. Needs the secret key unlocked in the agent.
    pub fn extend(&self, fpr: &Fingerprint, lifetime: Duration) -> Result<()> {
        let key = lookup(&mut *self.context()?, fpr.as_str(), true).map_err(|_| not_in_keyring(fpr, &self.home))?;
        let mut ctx = self.context_to_change()?;
        let failed = |e| gpg_error("setting the key's expiry", e);
        ctx.set_expire(&key, lifetime, std::iter::empty::<&str>()).map_err(failed)?;
        ctx.set_expire_all(&key, lifetime).map_err(failed)?;
        self.forget_keys();
        Ok(())
    }

    /// Looks up many public keys in one gpg run and keeps them for the
    /// operations that follow (each look-up of its own is a gpg run).
    pub fn preload(&self, fprs: &[Fingerprint]) -> Result<()> {
        if fprs.is_empty() {
            return Ok(());
        }
        // A thousand at a time: the patterns go on gpg's command line.
        for chunk in fprs.chunks(1000) {
            let mut ctx = self.context()?;
            let listed = ctx
                .find_keys(chunk.iter().map(Fingerprint::as_str))
                .map_err(|e| Error::temporary(format!("GnuPG could not list keys: {e}")))?;
            let mut known = self.known.lock().map_err(|_| Error::software("the key cache is poisoned"))?;
            for key in listed.flatten() {
                if let Some(fpr) = key.fingerprint().ok().and_then(|f| Fingerprint::parse(f).ok()) {
                    known.insert(fpr, key);
                }
            }
        }
        Ok(())
    }

    fn find(&self, fpr: &Fingerprint) -> Result<Key> {
        if let Some(key) = self.known.lock().ok().and_then(|known| known.get(fpr).cloned()) {
            return Ok(key);
        }
        let key = lookup(&mut *self.context()?, fpr.as_str(), false).map_err(|_| not_in_keyring(fpr, &self.home))?;
        if let Ok(mut known) = self.known.lock() {
            known.insert(fpr.clone(), key.clone());
        }
        Ok(key)
    }

    fn forget_keys(&self) {
        if let Ok(mut known) = self.known.lock() {
            known.clear();
        }
    }

    /// Deletes a public key; a key with a secret part stays (gpg refuses).
    pub fn delete_public(&self, fpr: &Fingerprint) -> Result<()> {
        self.forget_keys();
        let key = self.find(fpr)?;
        self.context_to_change()?
            .delete_key_with_flags(&key, gpgme::DeleteKeyFlags::empty())
            .map_err(|e| Error::software(format!("gpg could not delete key {fpr}: {e}")))
    }

    /// Deletes a key (and its secret part, if any) from the keyring.
    pub fn delete(&self, fpr: &Fingerprint) -> Result<()> {
        let key = self.find(fpr)?;
        self.forget_keys();
        self.context_to_change()?
            .delete_key_with_flags(&key, gpgme::DeleteKeyFlags::ALLOW_SECRET | gpgme::DeleteKeyFlags::FORCE)
            .map_err(|e| Error::software(format!("gpg could not delete key {fpr}: {e}")))
    }

    /// The armored public key.
    pub fn export(&self, fpr: &Fingerprint) -> Result<Vec<u8>> {
        let key = self.find(fpr)?;
        let mut ctx = self.context()?;
        ctx.set_armor(true);
        let mut out = Vec::new();
        ctx.export_keys([&key], ExportMode::empty(), &mut out)
            .map_err(|e| Error::software(format!("gpg could not export key {fpr}: {e}")))?;
        Ok(out)
    }

    /// The public key, binary and minimal, as gpg's `export-minimal` makes
    /// it: the newest self-signature per user ID and subkey, revocations, no
    /// third-party certifications, no expired subkeys. Autocrypt headers
    /// carry keys in this form, and member keys are stored in it.
    pub fn export_minimal(&self, fpr: &Fingerprint) -> Result<Vec<u8>> {
        let key = self.find(fpr)?;
        let mut out = Vec::new();
        self.context()?
            .export_keys([&key], ExportMode::MINIMAL, &mut out)
            .map_err(|e| Error::software(format!("gpg could not export key {fpr}: {e}")))?;
        Ok(out)
    }

    /// The secret key, armored, for moving a list's key pair here from
    /// another system (`admin::schleuder`). gpg-agent is never asked for a
    /// passphrase: a protected key is an error.
    pub fn export_secret(&self, fpr: &Fingerprint) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let key = self.find(fpr)?;
        let mut ctx = self.context()?;
        ctx.set_armor(true);
        let mut out = zeroize::Zeroizing::new(Vec::new());
        ctx.export_keys([&key], ExportMode::SECRET, &mut *out)
            .map_err(|e| Error::data(format!("gpg could not export the secret key {fpr}: {e}")))?;
        if out.is_empty() {
            return Err(Error::data(format!("the keyring holds no secret key {fpr}")));
        }
        Ok(out)
    }

    /// Every key in the keyring, in one listing.
    pub fn all_keys(&self) -> Result<Vec<KeyInfo>> {
        self.list_keys(std::iter::empty())
    }

    /// The keys whose secret part is in the keyring.
    pub fn secret_fingerprints(&self) -> Result<Vec<Fingerprint>> {
        let mut ctx = self.context()?;
        let listed = ctx
            .find_secret_keys(std::iter::empty::<&str>())
            .map_err(|e| Error::temporary(format!("GnuPG could not list keys: {e}")))?;
        Ok(listed.filter_map(|k| k.ok()?.fingerprint().ok().and_then(|f| Fingerprint::parse(f).ok())).collect())
    }

    /// Many public keys, binary and minimal (see [`Keyring::export_minimal`]), in one export.
    pub fn export_minimal_many(&self, fprs: &[Fingerprint]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        if !fprs.is_empty() {
            self.context()?
                .export(fprs.iter().map(Fingerprint::as_str), ExportMode::MINIMAL, &mut out)
                .map_err(|e| Error::software(format!("gpg could not export {} keys: {e}", fprs.len())))?;
        }
        Ok(out)
    }

    /// Imports what gpg can read of `bytes`, many keys at once; how many it took.
    pub fn import_many(&self, bytes: &[u8]) -> Result<u32> {
        self.forget_keys();
        let result =
            self.context_to_change()?.import(bytes).map_err(|e| Error::data(format!("gpg refused the keys: {e}")))?;
        Ok(result.imported() + result.unchanged())
    }

    /// Makes an unprotected Ed25519 signing key with a Curve25519 encryption
    /// subkey for `user_id` (tests and small set-ups; real lists import theirs).
    pub fn generate(&self, user_id: &str) -> Result<Fingerprint> {
        self.forget_keys();
        let mut ctx = self.context_to_change()?;
        let flags = CreateKeyFlags::NOPASSWD | CreateKeyFlags::NOEXPIRE;
        let made = ctx
            .create_key_with_flags(
                user_id,
                "ed25519",
                Duration::ZERO,
                flags | CreateKeyFlags::SIGN | CreateKeyFlags::CERT,
            )
            .map_err(|e| gpg_error("generating the list key", e))?;
        let fpr = Fingerprint::parse(made.fingerprint().unwrap_or_default())?;
        let key = lookup(&mut ctx, fpr.as_str(), true).map_err(|e| gpg_error("generating the list key", e))?;
        ctx.create_subkey_with_flags(&key, "cv25519", Duration::ZERO, flags | CreateKeyFlags::ENCR)
            .map_err(|e| gpg_error("generating the list key", e))?;
        Ok(fpr)
    }

    /// Encrypts to every recipient (by fingerprint, never by address), signing
    /// with `signer` if given. ASCII-armored.
    pub fn encrypt(
        &self,
        recipients: &[Fingerprint],
        plaintext: &[u8],
        signer: Option<&Fingerprint>,
    ) -> Result<Vec<u8>> {
        // Keys are found before the context takes its hold on the keyring lock.
        let keys = recipients.iter().map(|f| self.find(f)).collect::<Result<Vec<_>>>()?;
        let signing_key = signer.map(|fpr| self.find(fpr)).transpose()?;
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

    /// Looks up many public keys in one gpg run (one run per key costs
    /// milliseconds each). Returns the usable ones and, for the others, why not.
    pub fn recipient_keys(&self, fprs: &[Fingerprint]) -> Result<RecipientKeys> {
        let mut found = std::collections::HashMap::new();
        if !fprs.is_empty() {
            let mut ctx = self.context()?;
            let keys = ctx.find_keys(fprs.iter().map(|f| f.as_str())).map_err(|e| gpg_error("listing keys", e))?;
            for key in keys.flatten() {
                if let Some(fpr) = key.fingerprint().ok().and_then(|f| Fingerprint::parse(f).ok()) {
                    found.insert(fpr, key);
                }
            }
        }
        let mut usable = vec![];
        let mut unusable = vec![];
        for fpr in fprs {
            let Some(key) = found.remove(fpr) else {
                unusable.push((fpr.clone(), "the key is not in the list's keyring".to_string()));
                continue;
            };
            let key_ids: Vec<[u8; 8]> = key
                .subkeys()
                .filter(|s| {
                    s.can_encrypt() && !s.is_revoked() && !s.is_expired() && !s.is_invalid() && !s.is_disabled()
                })
                .filter_map(|s| s.id().ok().and_then(key_id_bytes))
                .collect();
            let weak = key
                .subkeys()
                .enumerate()
                .any(|(i, s)| (i == 0 || (s.can_encrypt() && !s.is_expired() && !s.is_revoked())) && is_weak(&s));
            if key.is_revoked() || key.is_expired() || key.is_disabled() || key_ids.is_empty() {
                unusable.push((fpr.clone(), "the key is revoked, expired or has no usable encryption subkey".into()));
            } else if weak {
                unusable.push((fpr.clone(), "the key is too weak (RSA, DSA or ElGamal under 2048 bits)".into()));
            } else {
                usable.push(RecipientKey { fingerprint: fpr.clone(), key, key_ids });
            }
        }
        Ok(RecipientKeys { usable, unusable })
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
        let key = self.find(signer)?;
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

    /// The key holding this (sub)key fingerprint: `None` if the keyring has
    /// no such key; an error if the keyring could not be asked (temporary).
    /// Should several keys hold it, the one whose primary key it is.
    pub fn key_of(&self, fingerprint: &str) -> Result<Option<KeyInfo>> {
        let mut keys = self.keys_with(fingerprint)?;
        let own = keys.iter().position(|k| k.fingerprint.as_str().eq_ignore_ascii_case(fingerprint));
        Ok(match (own, keys.len()) {
            (Some(at), _) => Some(keys.swap_remove(at)),
            (None, 1) => keys.pop(),
            _ => None,
        })
    }

    /// Every key that holds this fingerprint as its primary key or a
    /// subkey (more than one only if a key was grafted from another).
    pub fn keys_with(&self, fingerprint: &str) -> Result<Vec<KeyInfo>> {
        self.list_keys([fingerprint])
    }

    /// Every key that holds any of these fingerprints, in one look-up (each
    /// look-up reads the whole keyring).
    pub fn keys_with_any(&self, fingerprints: &[Fingerprint]) -> Result<Vec<KeyInfo>> {
        self.list_keys(fingerprints.iter().map(Fingerprint::as_str))
    }

    fn list_keys<'a>(&self, patterns: impl IntoIterator<Item = &'a str>) -> Result<Vec<KeyInfo>> {
        let mut ctx = self.context()?;
        let listed =
            ctx.find_keys(patterns).map_err(|e| Error::temporary(format!("GnuPG could not list keys: {e}")))?;
        let mut found = vec![];
        for key in listed {
            match key {
                Ok(key) => found.push(KeyInfo::from_key(&key)?),
                Err(e) if e.code() == gpgme::Error::EOF.code() => break,
                Err(e) => return Err(Error::temporary(format!("GnuPG could not list keys: {e}"))),
            }
        }
        Ok(found)
    }

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
    fn agent(&self, script: &str) -> Result<()> {
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

/// A throwaway keyring where a key is read, merged with the list's copy and
/// reduced to its minimal form before it enters the list's keyring;
/// removed, with any agent gpg started in it, when dropped.
pub struct Scratch {
    pub keyring: Keyring,
    /// Removed when dropped, after the keyring's agent is stopped.
    _dir: crate::home::ScratchDir,
}

impl Scratch {
    pub fn new() -> Result<Scratch> {
        let dir = crate::home::ScratchDir::new()?;
        Ok(Scratch { keyring: Keyring::new(dir.path()), _dir: dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // gpg may start an agent even for public keys; its socket need not be in the home.
        self.keyring.stop_agent();
    }
}

/// A gpgme context whose operations the watchdog times, with its hold on
/// the keyring lock.
struct Watched {
    ctx: Context,
    _lock: Option<std::fs::File>,
    _deadline: watchdog::Deadline,
}

#[derive(Clone, Copy, PartialEq)]
enum Access {
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
fn keyring_lock(home: &Path, access: Access) -> Result<Option<std::fs::File>> {
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
    for file in [&turnstile, &lock] {
        loop {
            match rustix::fs::flock(file, operation) {
                Ok(()) => break,
                Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) if std::time::Instant::now() < give_up => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => {
                    return Err(Error::temporary(format!("the keyring in {} stayed busy: {e}", home.display()))
                        .hint("another listcrypt run holds it; it is retried later"))
                }
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

/// A wall-time limit on gpg. gpgme cannot interrupt an operation, so a gpg
/// that hangs (a stopped agent, a pathological message) would hold its entry
/// and the MTA's pipe forever; past the limit the whole process stops with a
/// fixed line on stderr and the exit code the command chose. Nothing is lost:
/// the store is never held across gpg, and the entry's lease names a process
/// that is gone, so the next run takes it over.
pub mod watchdog {
    use std::collections::HashMap;
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
    use std::sync::{Mutex, OnceLock};
    use std::time::{Duration, Instant};

    /// Set by the binary (which knows the exit codes); 1 until it does.
    static EXIT_CODE: AtomicI32 = AtomicI32::new(1);
    static NEXT: AtomicU64 = AtomicU64::new(0);
    /// Set once the watchdog has decided to end the process.
    static STOPPING: AtomicBool = AtomicBool::new(false);

    fn deadlines() -> &'static Mutex<HashMap<u64, Instant>> {
        static DEADLINES: OnceLock<Mutex<HashMap<u64, Instant>>> = OnceLock::new();
        DEADLINES.get_or_init(|| {
            std::thread::spawn(watch);
            Mutex::default()
        })
    }

    /// `LISTCRYPT_GPG_TIMEOUT` seconds, 300 by default.
    pub fn limit() -> Duration {
        let secs = std::env::var("LISTCRYPT_GPG_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
        Duration::from_secs(secs)
    }

    /// The exit code when gpg overruns: the binary sets EX_TEMPFAIL (so the
    /// MTA retries), and 0 for the stages that must not make it retry.
    pub fn exit_with(code: i32) {
        EXIT_CODE.store(code, Ordering::Relaxed);
    }

    /// Watches one gpg operation until the returned value is dropped.
    pub(super) fn arm() -> Deadline {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut all) = deadlines().lock() {
            all.insert(id, Instant::now() + limit());
        }
        Deadline(id)
    }

    pub(super) struct Deadline(u64);

    impl Drop for Deadline {
        fn drop(&mut self) {
            // An operation whose gpg the watchdog killed fails at once ("no
            // data", say); that failure is the watchdog's, not the mail's, and
            // must not be acted on (a good mail quarantined as undecryptable)
            // before the process ends.
            while STOPPING.load(Ordering::SeqCst) {
                std::thread::park();
            }
            if let Ok(mut all) = deadlines().lock() {
                all.remove(&self.0);
            }
        }
    }

    /// While held, the watchdog does not stop the process: a copy handed to
    /// the transport is journaled before anything can end the run.
    pub fn hold() -> std::sync::MutexGuard<'static, ()> {
        static HOLD: Mutex<()> = Mutex::new(());
        HOLD.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn watch() {
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let overrun = deadlines().lock().map(|all| all.values().any(|d| *d < Instant::now())).unwrap_or(false);
            if overrun {
                let _held = hold();
                // Never `eprintln!`: it panics on a closed stderr, and this thread must reach the exit.
                let _ = writeln!(
                    std::io::stderr(),
                    "listcrypt: gpg did not finish within {} s; stopped (queued mail stays queued)",
                    limit().as_secs()
                );
                STOPPING.store(true, Ordering::SeqCst);
                stop_gpg();
                std::process::exit(EXIT_CODE.load(Ordering::Relaxed));
            }
        }
    }

    /// Kills the gpg processes of this process group: gpgme starts gpg
    /// through a double fork, so they are not our children, and a hung one
    /// would outlive us. An MTA's pipe or cron runs one listcrypt at a time
    /// in a group, so these are ours.
    fn stop_gpg() {
        let me = rustix::process::getpid();
        let group = rustix::process::getpgrp();
        let Ok(entries) = std::fs::read_dir("/proc") else { return };
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else { continue };
            let Some(stat) = u32::try_from(pid).ok().and_then(crate::proc::stat) else { continue };
            let pgrp = stat.field(5).and_then(|g| g.parse::<i32>().ok());
            if stat.comm == "gpg" && pgrp == Some(group.as_raw_nonzero().get()) && pid != me.as_raw_nonzero().get() {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
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

/// `0123456789ABCDEF` as 8 bytes.
fn key_id_bytes(hex: &str) -> Option<[u8; 8]> {
    crate::model::unhex(hex)?.try_into().ok()
}

fn is_not_openpgp(e: &gpgme::Error) -> bool {
    e.code() == gpgme::Error::NO_DATA.code() || e.code() == gpgme::Error::BAD_DATA.code()
}

/// The one key with this fingerprint (its primary key's or a subkey's).
/// gpgme's own `get_key` makes a second context, which costs a `gpg --version`.
fn lookup(ctx: &mut Context, fingerprint: &str, secret: bool) -> std::result::Result<Key, gpgme::Error> {
    let mut keys = if secret { ctx.find_secret_keys([fingerprint])? } else { ctx.find_keys([fingerprint])? };
    let key = keys.next().unwrap_or(Err(gpgme::Error::EOF))?;
    match keys.next() {
        Some(_) => Err(gpgme::Error::AMBIGUOUS_NAME),
        None => Ok(key),
    }
}

fn not_in_keyring(fpr: &Fingerprint, home: &Path) -> Error {
    Error::config(format!("key {fpr} is not in the keyring {}", home.display()))
        .hint("re-add the key with `listcrypt keys add`")
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

#[cfg(test)]
mod tests {
    use super::*;

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
