//! `members import`: many members at once, under the same key rules as
//! `members add` ([`intake`]), in a few gpg runs instead of several per key.
//!
//! 1. Every key file goes into one scratch keyring (one import for the
//!    armored files, one for the binary ones) and is listed once.
//! 2. Each key gets its address (the address list given, else its one user
//!    ID address) and passes the rules: no secret key, not revoked, expired
//!    or weak, an encryption subkey, a user ID with the address, no
//!    look-alike domain, not a member already, one key per address.
//! 3. The survivors are exported minimal in one run and listed again from a
//!    second scratch keyring: the caps apply to the minimal form, and no part
//!    may belong to another key, in the list's keyring or in this batch.
//! 4. One import into the list's keyring, one store write, then each new
//!    member's welcome and challenge, sealed on every core and sent through
//!    one transport session.
//!
//! A refused key is reported with its reason and leaves no trace.

use crate::admin::{intake, members};
use crate::error::{Error, Result};
use crate::gpg::{KeyInfo, Scratch};
use crate::home::Home;
use crate::list::List;
use crate::member::{Member, MemberKey, Role};
use crate::model::{random_token, Address, Fingerprint};
use crate::notice;
use crate::transport::{Outgoing, Session};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Characters in a challenge token, as for `members add`.
const TOKEN_LEN: usize = 20;

/// One key file (or keyring) to import, named for the report.
pub struct Source {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What `members import` did.
#[derive(Debug, Default, Serialize)]
pub struct Imported {
    pub added: Vec<AddedMember>,
    pub refused: Vec<RefusedKey>,
    /// Challenges (and welcomes) that could not be sent; the members are in.
    pub unsent: Vec<Address>,
}

#[derive(Debug, Serialize)]
pub struct AddedMember {
    pub address: Address,
    pub fingerprint: Fingerprint,
}

#[derive(Debug, Serialize)]
pub struct RefusedKey {
    /// The key's fingerprint, or the file that held no usable key.
    pub key: String,
    pub address: Option<Address>,
    pub reason: String,
}

/// Progress of the slow part: `(done, total)` challenges sealed and sent.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Imports every key of `sources` as a new member of `address`. `addresses`
/// says which address a key (by fingerprint) is for, when its user IDs do not.
pub fn import(
    home: &Home,
    address: &Address,
    sources: &[Source],
    addresses: &HashMap<Fingerprint, Address>,
    vouch: bool,
    progress: Progress<'_>,
) -> Result<Imported> {
    let list = List::open(home, address)?;
    let mut report = Imported::default();
    let scratch = read_sources(sources, &mut report)?;
    let candidates = choose(&list, &scratch, addresses, &mut report)?;
    let accepted = minimal_and_ungrafted(&list, &scratch, candidates, &mut report)?;
    if accepted.is_empty() {
        return Ok(report);
    }
    let minimal = accepted.iter().map(|(_, key)| key.fingerprint.clone()).collect::<Vec<_>>();
    list.keyring.import_many(&scratch.keyring.export_minimal_many(&minimal)?)?;
    let tokens = store_members(&list, &accepted, vouch).inspect_err(|_| {
        for fpr in &minimal {
            let _ = list.keyring.delete(fpr);
        }
    })?;
    report.unsent = send_welcomes(&list, &accepted, &tokens, vouch, progress)?;
    report.added =
        accepted.into_iter().map(|(address, key)| AddedMember { address, fingerprint: key.fingerprint }).collect();
    crate::log::event(
        &list.home,
        &format!("{} members imported, {} keys refused", report.added.len(), report.refused.len()),
    );
    Ok(report)
}

/// Every source into one scratch keyring: the armored ones in one import
/// (gpg finds each block), binary ones each on its own (a damaged one must
/// not hide the keys after it). Sources with no key GnuPG reads are refused.
fn read_sources(sources: &[Source], report: &mut Imported) -> Result<Scratch> {
    let scratch = Scratch::new()?;
    let mut armored = vec![];
    for source in sources {
        let refuse = |reason: String| RefusedKey { key: source.name.clone(), address: None, reason };
        if let Some(version) = crate::openpgp::key_version(&source.bytes).filter(|v| *v != 4) {
            report.refused.push(refuse(format!("holds a version {version} key; the list reads only v4 keys")));
        } else if source.bytes.first().is_some_and(|b| b & 0x80 != 0) {
            if scratch.keyring.import_many(&source.bytes).unwrap_or(0) == 0 {
                report.refused.push(refuse("holds no key GnuPG can read".into()));
            }
        } else if source.bytes.windows(20).any(|w| w == b"-----BEGIN PGP PUBLI" || w == b"-----BEGIN PGP PRIVA") {
            armored.extend_from_slice(&source.bytes);
            armored.push(b'\n');
        } else {
            report.refused.push(refuse("is not an OpenPGP key file".into()));
        }
    }
    if !armored.is_empty() {
        scratch.keyring.import_many(&armored)?;
    }
    Ok(scratch)
}

/// Each key with the address it is for, if it passes the rules that need no minimal form.
fn choose(
    list: &List,
    scratch: &Scratch,
    addresses: &HashMap<Fingerprint, Address>,
    report: &mut Imported,
) -> Result<Vec<(Address, KeyInfo)>> {
    let secret: HashSet<Fingerprint> = scratch.keyring.secret_fingerprints()?.into_iter().collect();
    let members = list.store()?.members()?;
    let taken: HashSet<&Address> = members.iter().map(|m| &m.address).collect();
    let mut seen: HashSet<Address> = HashSet::new();
    let mut chosen = vec![];
    for key in scratch.keyring.all_keys()? {
        let address = match addresses.get(&key.fingerprint) {
            Some(address) => Ok(address.clone()),
            None => only_address(&key),
        };
        let named = address.as_ref().ok().cloned();
        let verdict = address.and_then(|address| {
            if secret.contains(&key.fingerprint) {
                return Err(Error::data("is a secret key; never send one, export the public key"));
            }
            intake::check_rules(&key)?;
            intake::check_address(&key, &address)?;
            members::refuse_look_alike(&address)?;
            if taken.contains(&address) {
                return Err(Error::data(format!("{address} is already a member (add keys with `keys add`)")));
            }
            if crate::admin::keys::owner_of(&members, &key.fingerprint).is_some() {
                return Err(Error::data("already belongs to a member"));
            }
            if !seen.insert(address.clone()) {
                return Err(Error::data(format!("is a second key for {address} in this import")));
            }
            Ok(address)
        });
        match verdict {
            Ok(address) => chosen.push((address, key)),
            Err(e) => report.refused.push(refusal(&key, named.as_ref(), &e)),
        }
    }
    Ok(chosen)
}

/// The one address a key's user IDs name.
fn only_address(key: &KeyInfo) -> Result<Address> {
    let mut emails: Vec<&String> = key.emails.iter().collect();
    emails.dedup();
    match emails.as_slice() {
        [one] => Address::parse(one),
        [] => Err(Error::data("has no user ID with an address; name it in the address list")),
        many => Err(Error::data(format!(
            "names {} addresses in its user IDs; say which one in the address list",
            many.len()
        ))),
    }
}

/// The minimal form of each chosen key, checked against the caps and for
/// parts that belong to another key (in the list's keyring or this batch).
fn minimal_and_ungrafted(
    list: &List,
    scratch: &Scratch,
    chosen: Vec<(Address, KeyInfo)>,
    report: &mut Imported,
) -> Result<Vec<(Address, KeyInfo)>> {
    let fprs: Vec<Fingerprint> = chosen.iter().map(|(_, k)| k.fingerprint.clone()).collect();
    let minimal = Scratch::new()?;
    minimal.keyring.import_many(&scratch.keyring.export_minimal_many(&fprs)?)?;
    let by_fpr: HashMap<Fingerprint, KeyInfo> =
        minimal.keyring.all_keys()?.into_iter().map(|k| (k.fingerprint.clone(), k)).collect();
    let parts: Vec<Fingerprint> = by_fpr.values().flat_map(|k| k.subkeys.iter().cloned()).collect();
    let mut holders = if parts.is_empty() { vec![] } else { list.keyring.keys_with_any(&parts)? };
    holders.extend(by_fpr.values().cloned());
    let mut accepted = vec![];
    for (address, key) in chosen {
        let Some(small) = by_fpr.get(&key.fingerprint) else {
            report.refused.push(refusal(&key, Some(&address), &Error::data("has no minimal form gpg could export")));
            continue;
        };
        let verdict = intake::check_caps(small).and_then(|_| intake::check_not_grafted(small, &holders));
        match verdict {
            Ok(()) => accepted.push((address, small.clone())),
            Err(e) => report.refused.push(refusal(&key, Some(&address), &e)),
        }
    }
    Ok(accepted)
}

fn refusal(key: &KeyInfo, address: Option<&Address>, e: &Error) -> RefusedKey {
    // The intake rules say "key FPR ...": the report names the key once.
    let reason = e.message().strip_prefix(&format!("key {} ", key.fingerprint)).unwrap_or(e.message());
    RefusedKey { key: key.fingerprint.to_string(), address: address.cloned(), reason: reason.to_string() }
}

/// Every new member, in one store write; each one's challenge token.
fn store_members(list: &List, accepted: &[(Address, KeyInfo)], vouch: bool) -> Result<Vec<String>> {
    let store = list.store()?;
    let settings = store.settings()?;
    let mut tokens = vec![];
    for (address, key) in accepted {
        if store.member(address)?.is_some() {
            return Err(Error::temporary(format!("{address} became a member while the import ran; run it again")));
        }
        let token = random_token(TOKEN_LEN);
        let mut member = Member::new(address.clone(), Role::Member);
        member.keys.push(match vouch {
            true => MemberKey::vouched(key.fingerprint.clone()),
            false => MemberKey::pending(key.fingerprint.clone(), &token, settings.challenge_expiry),
        });
        member.default_key = Some(key.fingerprint.clone());
        store.put_member(&member)?;
        tokens.push(token);
    }
    store.flush()?;
    Ok(tokens)
}

/// Seals each new member's welcome and challenge on every core, and sends
/// them through one transport session. Returns the members not reached.
fn send_welcomes(
    list: &List,
    accepted: &[(Address, KeyInfo)],
    tokens: &[String],
    vouch: bool,
    progress: Progress<'_>,
) -> Result<Vec<Address>> {
    let (record, settings) = {
        let store = list.store()?;
        (store.list_record()?, store.settings()?)
    };
    let list_key = list.keyring.export(&record.fingerprint)?;
    let seal = |(address, key): &(Address, KeyInfo), token: &String| -> Result<Vec<Outgoing>> {
        let welcome = notice::welcome(list.address(), address, &record.fingerprint, &list_key);
        let mut mails = vec![list.seal(&welcome, None, &record.fingerprint)?];
        if !vouch {
            let challenge = notice::challenge(list.address(), address, &key.fingerprint, token);
            mails.push(list.seal(&challenge, Some(&key.fingerprint), &record.fingerprint)?);
        }
        Ok(mails)
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chunk = accepted.len().div_ceil(cores).max(1);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let (sender, sealed) = std::sync::mpsc::channel();
    let mut unsent = vec![];
    std::thread::scope(|scope| {
        for (members, tokens) in accepted.chunks(chunk).zip(tokens.chunks(chunk)) {
            let sender = sender.clone();
            scope.spawn(move || {
                for (member, token) in members.iter().zip(tokens) {
                    let _ = sender.send((member.0.clone(), seal(member, token)));
                }
            });
        }
        drop(sender);
        let mut session = Session::new(&settings.transport);
        for (address, mails) in sealed {
            let sent = mails.and_then(|mails| mails.iter().try_for_each(|m| session.send(m)));
            if let Err(e) = sent {
                crate::log::event(&list.home, &format!("welcome to {address} not sent: {}", e.message()));
                unsent.push(address);
            }
            progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1, accepted.len());
        }
    });
    Ok(unsent)
}
