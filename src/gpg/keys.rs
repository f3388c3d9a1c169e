//! Keys in a keyring: look-ups, import, export, deletion, generation.

use super::key_info::{is_weak, KeyInfo};
use super::{gpg_error, unavailable, unreadable_key_version, Keyring};
use crate::error::{Error, Result};
use crate::model::Fingerprint;
use gpgme::{Context, CreateKeyFlags, ExportMode, Key};
use std::path::Path;
use std::time::Duration;

/// A recipient's public key, looked up once per run.
pub struct RecipientKey {
    pub fingerprint: Fingerprint,
    pub(super) key: Key,
    /// Key IDs of its usable encryption (sub)keys: what its session key packet names.
    pub key_ids: Vec<[u8; 8]>,
}

/// Keys looked up for a distribution.
pub struct RecipientKeys {
    pub usable: Vec<RecipientKey>,
    /// Fingerprints that cannot be encrypted to, and why.
    pub unusable: Vec<(Fingerprint, String)>,
}

impl Keyring {
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
    pub fn key_info(&self, fpr: &Fingerprint) -> Result<KeyInfo> {
        let mut ctx = self.context()?;
        ctx.add_key_list_mode(gpgme::KeyListMode::WITH_KEYGRIP).map_err(unavailable)?;
        let key = fetch_key(&mut ctx, fpr.as_str(), false).map_err(|_| not_in_keyring(fpr, &self.home))?;
        let mut info = KeyInfo::from_key(&key)?;
        info.has_secret = fetch_key(&mut ctx, fpr.as_str(), true).is_ok();
        Ok(info)
    }

    /// Moves the expiry of a key of ours, its primary key and every subkey,
    /// to `lifetime` from now. Needs the secret key unlocked in the agent.
    pub fn extend(&self, fpr: &Fingerprint, lifetime: Duration) -> Result<()> {
        let key = fetch_key(&mut *self.context()?, fpr.as_str(), true).map_err(|_| not_in_keyring(fpr, &self.home))?;
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

    pub(super) fn gpgme_key(&self, fpr: &Fingerprint) -> Result<Key> {
        if let Some(key) = self.known.lock().ok().and_then(|known| known.get(fpr).cloned()) {
            return Ok(key);
        }
        let key = fetch_key(&mut *self.context()?, fpr.as_str(), false).map_err(|_| not_in_keyring(fpr, &self.home))?;
        if let Ok(mut known) = self.known.lock() {
            known.insert(fpr.clone(), key.clone());
        }
        Ok(key)
    }

    pub(super) fn forget_keys(&self) {
        if let Ok(mut known) = self.known.lock() {
            known.clear();
        }
    }

    /// Deletes a public key; a key with a secret part stays (gpg refuses).
    pub fn delete_public(&self, fpr: &Fingerprint) -> Result<()> {
        self.forget_keys();
        let key = self.gpgme_key(fpr)?;
        self.context_to_change()?
            .delete_key_with_flags(&key, gpgme::DeleteKeyFlags::empty())
            .map_err(|e| Error::software(format!("gpg could not delete key {fpr}: {e}")))
    }

    /// Deletes a key (and its secret part, if any) from the keyring.
    pub fn delete(&self, fpr: &Fingerprint) -> Result<()> {
        let key = self.gpgme_key(fpr)?;
        self.forget_keys();
        self.context_to_change()?
            .delete_key_with_flags(&key, gpgme::DeleteKeyFlags::ALLOW_SECRET | gpgme::DeleteKeyFlags::FORCE)
            .map_err(|e| Error::software(format!("gpg could not delete key {fpr}: {e}")))
    }

    /// The armored public key.
    pub fn export(&self, fpr: &Fingerprint) -> Result<Vec<u8>> {
        let key = self.gpgme_key(fpr)?;
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
        let key = self.gpgme_key(fpr)?;
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
        let key = self.gpgme_key(fpr)?;
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
    pub fn all_key_infos(&self) -> Result<Vec<KeyInfo>> {
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
        let key = fetch_key(&mut ctx, fpr.as_str(), true).map_err(|e| gpg_error("generating the list key", e))?;
        ctx.create_subkey_with_flags(&key, "cv25519", Duration::ZERO, flags | CreateKeyFlags::ENCR)
            .map_err(|e| gpg_error("generating the list key", e))?;
        Ok(fpr)
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
                unusable.push((fpr.clone(), NOT_IN_KEYRING.to_string()));
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

    /// The key holding this (sub)key fingerprint: `None` if the keyring has
    /// no such key; an error if the keyring could not be asked (temporary).
    /// Should several keys hold it, the one whose primary key it is.
    pub fn key_info_holding(&self, fingerprint: &str) -> Result<Option<KeyInfo>> {
        let mut keys = self.key_infos_holding(fingerprint)?;
        let own = keys.iter().position(|k| k.fingerprint.as_str().eq_ignore_ascii_case(fingerprint));
        Ok(match (own, keys.len()) {
            (Some(at), _) => Some(keys.swap_remove(at)),
            (None, 1) => keys.pop(),
            _ => None,
        })
    }

    /// Every key that holds this fingerprint as its primary key or a
    /// subkey (more than one only if a key was grafted from another).
    pub fn key_infos_holding(&self, fingerprint: &str) -> Result<Vec<KeyInfo>> {
        self.list_keys([fingerprint])
    }

    /// Every key that holds any of these fingerprints, in one look-up (each
    /// look-up reads the whole keyring). Many fingerprints are looked for in
    /// a listing of every key: gpg compares each key with each pattern given
    /// (10,000 patterns on 10,000 keys: 1.5 s; the whole listing: 0.3 s).
    pub fn key_infos_holding_any(&self, fingerprints: &[Fingerprint]) -> Result<Vec<KeyInfo>> {
        if fingerprints.is_empty() {
            // No pattern would make gpg list every key.
            return Ok(vec![]);
        }
        if fingerprints.len() <= MANY_PATTERNS {
            return self.list_keys(fingerprints.iter().map(Fingerprint::as_str));
        }
        let wanted: std::collections::HashSet<&Fingerprint> = fingerprints.iter().collect();
        let mut all = self.all_key_infos()?;
        all.retain(|key| wanted.contains(&key.fingerprint) || key.subkeys.iter().any(|s| wanted.contains(s)));
        Ok(all)
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
}

/// Why [`Keyring::recipient_keys`] finds no key.
pub const NOT_IN_KEYRING: &str = "the key is not in the list's keyring";

/// Past this many fingerprints, a look-up lists every key instead.
const MANY_PATTERNS: usize = 256;

/// `0123456789ABCDEF` as 8 bytes.
pub(super) fn key_id_bytes(hex: &str) -> Option<[u8; 8]> {
    crate::model::unhex(hex)?.try_into().ok()
}

/// The one key with this fingerprint (its primary key's or a subkey's).
/// gpgme's own `get_key` makes a second context, which costs a `gpg --version`.
pub(super) fn fetch_key(ctx: &mut Context, fingerprint: &str, secret: bool) -> std::result::Result<Key, gpgme::Error> {
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
