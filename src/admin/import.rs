//! `members import`: many members at once, under the same key rules as
//! `members add` ([`intake`]), in a few gpg runs instead of several per key.
//!
//! 1. The key files are cut into their keys, which go into scratch
//!    keyrings of 250 keys each, read on every core, each listed once.
//! 2. Each key gets its address (the address list given, else its one user
//!    ID address) and passes the rules: no secret key, not revoked, expired
//!    or weak, an encryption subkey, a user ID with the address, no
//!    look-alike domain, not a member already, one key per address.
//! 3. No part of a key may belong to another key, in the list's keyring or
//!    in this batch. The survivors go into the list's keyring in their
//!    minimal form, in one import, and are listed once: the caps apply to
//!    the minimal form (a key over them is taken out again).
//! 4. One store write, then each new member's welcome and challenge, sealed
//!    on every core and sent through one transport session.
//!
//! A refused key is reported with its reason and leaves no trace.

use crate::admin::{intake, members};
use crate::error::{Error, Result};
use crate::gpg::seal_helper::SealHelper;
use crate::gpg::{part_size, KeyInfo, Parts, Scratch, SigningView};
use crate::home::Home;
use crate::list::List;
use crate::member::{Member, MemberKey, Role};
use crate::model::{random_token, Address, Fingerprint};
use crate::notice::{self, Notice};
use crate::settings::Settings;
use crate::store::ListRecord;
use crate::transport::{Outgoing, Session};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// The largest key file (a keyring of many keys) an import reads; each key
/// in it is held to the bound of a key file for `members add`.
pub const MAX_IMPORT_FILE: usize = 256 << 20;

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
    sources: Vec<Source>,
    addresses: &HashMap<Fingerprint, Address>,
    vouch: bool,
    progress: Progress<'_>,
) -> Result<Imported> {
    let list = List::open(home, address)?;
    // The list's home is gpgme's default: each operation on it then costs one gpg run, not two.
    list.keyring.prepare();
    let mut report = Imported::default();
    let scratches = read_sources(&sources, &mut report)?;
    // Each of the thousands of gpg runs to come is a fork of this process,
    // which costs by the memory it holds: what is no longer needed goes.
    drop(sources);
    let candidates = choose(&list, &scratches, addresses, &mut report)?;
    let ungrafted = ungrafted(&list, &scratches, candidates, &mut report)?;
    let (accepted, parts) = import_minimal(&list, &scratches, ungrafted, &mut report)?;
    if accepted.is_empty() {
        return Ok(report);
    }
    let fprs = accepted.iter().map(|(_, key)| key.fingerprint.clone()).collect::<Vec<_>>();
    let tokens = store_members(&list, &accepted, vouch).inspect_err(|_| take_out(&list, &fprs, &parts))?;
    drop(scratches);
    let accepted: Vec<(Address, Fingerprint)> =
        accepted.into_iter().map(|(address, key)| (address, key.fingerprint)).collect();
    // The members are in: from here on a failure only leaves mail unsent.
    let part_count = parts.names.len();
    let (record, settings) = {
        let store = list.store()?;
        (store.list_record()?, store.settings()?)
    };
    // Helpers seal in the parts' views: none without challenges or parts.
    let helpers = match vouch || parts.built.is_empty() {
        true => vec![],
        false => start_helpers(sealing_threads(accepted.len())),
    };
    let views = signing_views(&list, &record.fingerprint, parts.built, !helpers.is_empty());
    // What is sealed here, in the list's home, is looked up in one listing.
    let rest: Vec<Fingerprint> = fprs.into_iter().filter(|f| !views.of_key.contains_key(f)).collect();
    let _ = list.keyring.preload(&rest);
    let sealing = Sealing { record: &record, settings: &settings, vouch, views: &views };
    report.unsent = send_welcomes(&list, &sealing, &accepted, &tokens, helpers, progress)
        .unwrap_or_else(|_| accepted.iter().map(|(address, _)| address.clone()).collect());
    report.added = accepted.into_iter().map(|(address, fingerprint)| AddedMember { address, fingerprint }).collect();
    // Thousands of records written leave their old pages behind, which sled
    // would go over each time any command opens the store. Once the mail is
    // out: the members are in whatever compaction meets.
    if let Ok(store) = list.store() {
        list.compact_store(store);
    }
    crate::log::event(
        &list.home,
        &format!(
            "{} members imported, {} keys refused; {part_count} keyring parts, {} sealed in views of them",
            report.added.len(),
            report.refused.len(),
            views.sealed.load(std::sync::atomic::Ordering::Relaxed)
        ),
    );
    Ok(report)
}

/// Keys per scratch keyring: GnuPG's keybox costs more per key as it grows,
/// so many small keyrings, read on every core, beat one large one.
const KEYS_PER_SCRATCH: usize = 250;

/// The keys read, spread over scratch keyrings.
struct Scratches {
    keyrings: Vec<Scratch>,
    /// Each key, and the keyring that holds it.
    keys: Vec<(usize, KeyInfo)>,
    secret: HashSet<Fingerprint>,
}

impl Scratches {
    /// The minimal form of `fprs`, from the keyrings that hold them, in one stream.
    fn export_minimal(&self, fprs: &HashSet<Fingerprint>) -> Result<Vec<u8>> {
        let mut out = vec![];
        for (i, keyring) in self.keyrings.iter().enumerate() {
            let mine: Vec<Fingerprint> = self
                .keys
                .iter()
                .filter(|(k, key)| *k == i && fprs.contains(&key.fingerprint))
                .map(|(_, key)| key.fingerprint.clone())
                .collect();
            out.extend(keyring.keyring.export_minimal_many(&mine)?);
        }
        Ok(out)
    }
}

/// One chunk of keys read: its keyring, its keys and secret keys.
type ReadChunk = (Scratch, Vec<KeyInfo>, Vec<Fingerprint>);

/// Every key of every source into scratch keyrings, read on every core.
/// A source GnuPG reads nothing of, or part of, is reported.
fn read_sources(sources: &[Source], report: &mut Imported) -> Result<Scratches> {
    let mut chunks: Vec<(String, Vec<u8>, usize)> = vec![];
    for source in sources {
        let refuse = |reason: String| RefusedKey { key: source.name.clone(), address: None, reason };
        let too_large = |what: &str, limit: usize| {
            refuse(format!("{what} larger than {} MiB; listcrypt reads no more", limit >> 20))
        };
        if source.bytes.len() > MAX_IMPORT_FILE {
            report.refused.push(too_large("is", MAX_IMPORT_FILE));
            continue;
        }
        if let Some(version) = crate::openpgp::key_version(&source.bytes).filter(|v| *v != 4) {
            report.refused.push(refuse(format!("holds a version {version} key; the list reads only v4 keys")));
            continue;
        }
        match crate::openpgp::transferable_keys(&source.bytes) {
            Some(keys) if keys.is_empty() => report.refused.push(refuse("is not an OpenPGP key file".into())),
            Some(mut keys) => {
                // Each key under the bound of `members add`, as if it came alone.
                let before = keys.len();
                keys.retain(|key| key.len() <= intake::MAX_KEY_FILE);
                if keys.len() < before {
                    report
                        .refused
                        .push(too_large(&format!("holds {} keys", before - keys.len()), intake::MAX_KEY_FILE));
                }
                for part in keys.chunks(KEYS_PER_SCRATCH) {
                    chunks.push((source.name.clone(), part.concat(), part.len()));
                }
            }
            None if source.bytes.len() > intake::MAX_KEY_FILE => {
                report.refused.push(too_large("is", intake::MAX_KEY_FILE))
            }
            // Framing only gpg reads: the source whole, in a keyring of its own.
            None => chunks.push((source.name.clone(), source.bytes.clone(), 0)),
        }
    }
    let read = crate::parallel::on_every_core(&chunks, |(_, bytes, _)| -> Result<ReadChunk> {
        let scratch = Scratch::new()?;
        let _ = scratch.keyring.import_many(bytes);
        let keys = scratch.keyring.all_key_infos()?;
        let secret = scratch.keyring.secret_fingerprints()?;
        Ok((scratch, keys, secret))
    });
    let mut scratches = Scratches { keyrings: vec![], keys: vec![], secret: HashSet::new() };
    for ((name, _, expected), result) in chunks.iter().zip(read) {
        let (scratch, keys, secret) = result?;
        if keys.is_empty() {
            report.refused.push(RefusedKey {
                key: name.clone(),
                address: None,
                reason: "holds no key GnuPG can read".into(),
            });
        } else if keys.len() < *expected {
            report.refused.push(RefusedKey {
                key: name.clone(),
                address: None,
                reason: format!("{} of its keys could not be read by GnuPG", expected - keys.len()),
            });
        }
        let at = scratches.keyrings.len();
        scratches.keyrings.push(scratch);
        scratches.keys.extend(keys.into_iter().map(|k| (at, k)));
        scratches.secret.extend(secret);
    }
    Ok(scratches)
}

/// Each key with the address it is for, if it passes the rules that need no minimal form.
fn choose(
    list: &List,
    scratches: &Scratches,
    addresses: &HashMap<Fingerprint, Address>,
    report: &mut Imported,
) -> Result<Vec<(Address, KeyInfo)>> {
    let secret = &scratches.secret;
    // A key read twice (two files, or two chunks of one) is refused with every
    // copy: gpg would merge the copies, and only one of them was checked.
    let mut copies: HashMap<&Fingerprint, usize> = HashMap::new();
    for (_, key) in &scratches.keys {
        *copies.entry(&key.fingerprint).or_default() += 1;
    }
    let (members, list_key) = {
        let store = list.store()?;
        (store.members()?, store.list_record()?.fingerprint)
    };
    let taken: HashSet<&Address> = members.iter().map(|m| &m.address).collect();
    // Looked up once per key read: a set, not a scan of every member's keys.
    let held: HashSet<&Fingerprint> = members.iter().flat_map(|m| m.keys.iter().map(|k| &k.fingerprint)).collect();
    let mut seen: HashSet<Address> = HashSet::new();
    let mut chosen = vec![];
    for (_, key) in scratches.keys.iter().cloned() {
        let address = match addresses.get(&key.fingerprint) {
            Some(address) => Ok(address.clone()),
            None => only_address(&key),
        };
        let named = address.as_ref().ok().cloned();
        let verdict = address.and_then(|address| {
            if copies.get(&key.fingerprint).is_some_and(|n| *n > 1) {
                return Err(Error::data("is read more than once, in different copies; give each key once"));
            }
            if secret.contains(&key.fingerprint) {
                return Err(Error::data("is a secret key; never send one, export the public key"));
            }
            // (A key that merely carries the list key as a subkey is a graft, refused below.)
            if key.fingerprint == list_key {
                return Err(Error::data("is the list's own key"));
            }
            intake::check_rules(&key)?;
            intake::check_address(&key, &address)?;
            members::refuse_look_alike(&address)?;
            if taken.contains(&address) {
                return Err(Error::data(format!("{address} is already a member (add keys with `keys add`)")));
            }
            if held.contains(&key.fingerprint) {
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
    let mut emails: Vec<String> = key.emails.iter().map(|e| e.to_ascii_lowercase()).collect();
    emails.sort();
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

/// Keys no part of which belongs to another key, in the list's keyring or in
/// the files read (checked on the full keys: their minimal forms hold less).
fn ungrafted(
    list: &List,
    scratches: &Scratches,
    chosen: Vec<(Address, KeyInfo)>,
    report: &mut Imported,
) -> Result<Vec<(Address, KeyInfo)>> {
    let parts: Vec<Fingerprint> = chosen.iter().flat_map(|(_, k)| k.subkeys.iter().cloned()).collect();
    let mut holders = list.keyring.key_infos_holding_any(&parts)?;
    // Every key read, refused ones too: gpg exports by fingerprint every key
    // that holds it, so a refused key holding a chosen one would ride along.
    holders.extend(scratches.keys.iter().map(|(_, k)| k.clone()));
    let mut kept = vec![];
    for (address, key) in chosen {
        match intake::check_not_grafted(&key, &holders) {
            Ok(()) => kept.push((address, key)),
            Err(e) => report.refused.push(refusal(&key, Some(&address), &e)),
        }
    }
    Ok(kept)
}

/// The minimal form of the keys into the list's keyring in one import (or,
/// for many keys, in parts: see `gpg::parts`); a key whose minimal form is
/// over the caps is taken out again and refused. Returns the keys taken
/// and the scratch keyrings of the parts, each with the keys it holds.
fn import_minimal(
    list: &List,
    scratches: &Scratches,
    chosen: Vec<(Address, KeyInfo)>,
    report: &mut Imported,
) -> Result<(Vec<Candidate>, Parts)> {
    // Only keys the list's keyring has never held come in: only they may go again on failure.
    let all: Vec<Fingerprint> = chosen.iter().map(|(_, k)| k.fingerprint.clone()).collect();
    let held: HashSet<Fingerprint> =
        list.keyring.key_infos_holding_any(&all)?.into_iter().flat_map(|k| k.subkeys).collect();
    let (chosen, in_keyring): (Vec<_>, Vec<_>) = chosen.into_iter().partition(|(_, k)| !held.contains(&k.fingerprint));
    for (address, key) in in_keyring {
        report.refused.push(refusal(&key, Some(&address), &Error::data("is in the list's keyring already")));
    }
    let fprs: Vec<Fingerprint> = chosen.iter().map(|(_, k)| k.fingerprint.clone()).collect();
    if fprs.is_empty() {
        return Ok((vec![], Parts { names: vec![], built: vec![], held: vec![] }));
    }
    let parts = bring_in(list, scratches, &fprs)?;
    let listed = list.keyring.key_infos_holding_any(&fprs).inspect_err(|_| take_out(list, &fprs, &parts))?;
    let minimal: HashMap<Fingerprint, KeyInfo> = listed.into_iter().map(|k| (k.fingerprint.clone(), k)).collect();
    let mut accepted = vec![];
    for (address, key) in chosen {
        let verdict = match minimal.get(&key.fingerprint) {
            Some(small) => intake::check_caps(small).map(|_| small.clone()),
            None => Err(Error::data("has no minimal form gpg could export")),
        };
        match verdict {
            Ok(small) => accepted.push((address, small)),
            Err(e) => {
                let _ = list.keyring.delete_public(&key.fingerprint);
                report.refused.push(refusal(&key, Some(&address), &e));
            }
        }
    }
    Ok((accepted, parts))
}

/// A key and the address it is for.
type Candidate = (Address, KeyInfo);

/// The minimal form of the keys `fprs` into the list's keyring: whole parts
/// (see `gpg::parts`), and the keys left over in one import into the
/// primary keybox. Nothing stays in on failure.
fn bring_in(list: &List, scratches: &Scratches, fprs: &[Fingerprint]) -> Result<Parts> {
    let part_size = part_size();
    let (whole, left_over) = fprs.split_at(fprs.len() / part_size * part_size);
    let streams = whole
        .chunks(part_size)
        .map(|part| Ok((scratches.export_minimal(&part.iter().cloned().collect())?, part.to_vec())))
        .collect::<Result<Vec<_>>>()?;
    let parts = list.keyring.import_parts(&streams)?;
    // Parts that found no room, and the keys left over, into the primary keybox.
    let rest = || -> Result<()> {
        for (stream, _) in &streams[parts.built.len()..] {
            list.keyring.import_many(stream)?;
        }
        if !left_over.is_empty() {
            list.keyring.import_many(&scratches.export_minimal(&left_over.iter().cloned().collect())?)?;
        }
        Ok(())
    };
    rest().inspect_err(|_| take_out(list, fprs, &parts))?;
    Ok(parts)
}

/// Takes keys just brought in out again, so that a later run does not find
/// them "held already": their parts whole, the others one by one. Keys
/// left out of their part because the keyring held them by then stay, and
/// so does a key a member registered meanwhile, with its part; a
/// key another run put in the primary keybox at the same moment as this
/// import did would go (docs/SECURITY.md, Known gaps).
fn take_out(list: &List, fprs: &[Fingerprint], parts: &Parts) {
    // A key a member registered meanwhile (why the import stopped) stays, and so does its part.
    let registered: HashSet<&Fingerprint> = match list.store() {
        Ok(store) => fprs.iter().filter(|f| matches!(store.member_holding(f), Ok(Some(_)))).collect(),
        Err(_) => HashSet::new(),
    };
    let names: Vec<String> = parts
        .names
        .iter()
        .zip(&parts.built)
        .filter(|(_, (_, keys))| !keys.iter().any(|k| registered.contains(k)))
        .map(|(name, _)| name.clone())
        .collect();
    let _ = list.keyring.drop_parts(&names);
    let in_parts: HashSet<&Fingerprint> = parts.built.iter().flat_map(|(_, keys)| keys).chain(&parts.held).collect();
    for fpr in fprs.iter().filter(|f| !in_parts.contains(f) && !registered.contains(f)) {
        let _ = list.keyring.delete_public(fpr);
    }
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
    for (address, key) in accepted {
        if store.member(address)?.is_some() {
            return Err(Error::temporary(format!("{address} became a member while the import ran; run it again")));
        }
        if let Some(holder) = store.member_holding(&key.fingerprint)? {
            return Err(Error::temporary(format!(
                "key {} became {}'s while the import ran; run it again",
                key.fingerprint, holder.address
            )));
        }
    }
    let mut tokens = vec![];
    let written = accepted.iter().try_for_each(|(address, key)| {
        let token = random_token(TOKEN_LEN);
        let mut member = Member::new(address.clone(), Role::Member);
        member.keys.push(match vouch {
            true => MemberKey::vouched(key.fingerprint.clone()),
            false => MemberKey::pending(key.fingerprint.clone(), &token, settings.challenge_expiry),
        });
        member.default_key = Some(key.fingerprint.clone());
        tokens.push(token);
        store.put_member(&member)
    });
    if let Err(e) = written.and_then(|_| store.flush()) {
        // All or none: the members written so far go again.
        for (address, _) in accepted.iter().take(tokens.len()) {
            let _ = store.remove_member(address);
        }
        let _ = store.flush();
        return Err(e);
    }
    Ok(tokens)
}

/// Where each new member's challenge is sealed: a view of the member's part
/// (see `gpg::view`), by a helper process (see `gpg::seal_helper`); a
/// member not found here is sealed in the list's home, in this process.
struct Views {
    views: Vec<SigningView>,
    of_key: HashMap<Fingerprint, usize>,
    /// Challenges sealed by a helper in a view.
    sealed: std::sync::atomic::AtomicUsize,
}

/// Members sealed for by each thread, one thread per core.
fn members_per_thread(members: usize) -> usize {
    members.div_ceil(crate::parallel::cores()).max(1)
}

fn sealing_threads(members: usize) -> usize {
    members.div_ceil(members_per_thread(members))
}

/// One helper for each of `threads`, as many as start. They start here,
/// while no other thread runs gpg (see `SealHelper::start`).
fn start_helpers(threads: usize) -> Vec<SealHelper> {
    (0..threads).map_while(|_| SealHelper::start()).collect()
}

/// A signing view of each part, when there are helpers to seal in them. A
/// part whose view cannot be made is sealed in the list's home: slower, the
/// same mail.
fn signing_views(list: &List, list_key: &Fingerprint, parts: Vec<(Scratch, Vec<Fingerprint>)>, helpers: bool) -> Views {
    let mut views = Views { views: vec![], of_key: HashMap::new(), sealed: Default::default() };
    if !helpers {
        return views;
    }
    let Ok(lender) = list.keyring.agent_lender(list_key) else { return views };
    for (scratch, keys) in parts {
        let Ok(view) = lender.signing_view(scratch) else { continue };
        views.of_key.extend(keys.into_iter().map(|k| (k, views.views.len())));
        views.views.push(view);
    }
    views
}

/// What every new member's welcome and challenge are sealed with.
struct Sealing<'a> {
    record: &'a ListRecord,
    settings: &'a Settings,
    vouch: bool,
    views: &'a Views,
}

/// The challenge to `key`, sealed by `helper` in the key's view (asked to
/// seal there first, for the keys of `mine` it holds: members come in part
/// order, so each helper opens each view once); in this process, in the
/// list's home, when the key has no view or the helper fails or stopped.
fn seal_challenge(
    list: &List,
    sealing: &Sealing<'_>,
    (challenge, key): (&Notice, &Fingerprint),
    helper: Option<&mut SealHelper>,
    mine: &[(Address, Fingerprint)],
) -> Result<Outgoing> {
    let (views, list_key) = (sealing.views, &sealing.record.fingerprint);
    if let (Some(&view), Some(helper)) = (views.of_key.get(key), helper) {
        let keyring = views.views[view].keyring();
        if helper.view() != Some(keyring.home()) {
            let keys: Vec<Fingerprint> =
                mine.iter().filter(|(_, k)| views.of_key.get(k) == Some(&view)).map(|(_, k)| k.clone()).collect();
            // A view it cannot open answers each seal with an error: the list's home takes over.
            let _ = helper.open_view(keyring, list_key, &keys);
        }
        // Signed, or (the list key locked) unsigned: both by the helper.
        let helper = std::cell::RefCell::new(helper);
        let signed = |entity: &[u8]| helper.borrow_mut().seal(key, entity);
        let unsigned = |entity: &[u8]| helper.borrow_mut().encrypt(key, entity);
        if let Ok(mail) = list.seal_through(challenge, list_key, signed, unsigned) {
            views.sealed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Ok(mail);
        }
    }
    list.seal(challenge, Some(key), list_key)
}

/// Seals each new member's welcome and challenge on every core (each
/// thread with one of `helpers`, while they last), and sends them through
/// one transport session. Returns the members not reached.
fn send_welcomes(
    list: &List,
    sealing: &Sealing<'_>,
    accepted: &[(Address, Fingerprint)],
    tokens: &[String],
    helpers: Vec<SealHelper>,
    progress: Progress<'_>,
) -> Result<Vec<Address>> {
    let record = sealing.record;
    let list_key = list.keyring.export(&record.fingerprint)?;
    let seal = |(address, key): &(Address, Fingerprint),
                token: &String,
                helper: Option<&mut SealHelper>,
                mine: &[(Address, Fingerprint)]|
     -> Result<Vec<Outgoing>> {
        let welcome = notice::welcome(list.address(), address, &record.fingerprint, &list_key);
        let mut mails = vec![list.seal(&welcome, None, &record.fingerprint)?];
        if !sealing.vouch {
            let challenge = notice::challenge(list.address(), address, key, token);
            mails.push(seal_challenge(list, sealing, (&challenge, key), helper, mine)?);
        }
        Ok(mails)
    };
    let chunk = members_per_thread(accepted.len());
    let mut helpers = helpers.into_iter();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let (sender, sealed) = std::sync::mpsc::channel();
    let mut unsent = vec![];
    std::thread::scope(|scope| {
        for (members, tokens) in accepted.chunks(chunk).zip(tokens.chunks(chunk)) {
            let sender = sender.clone();
            let mut helper = helpers.next();
            scope.spawn(move || {
                for (member, token) in members.iter().zip(tokens) {
                    let _ = sender.send((member.0.clone(), seal(member, token, helper.as_mut(), members)));
                }
            });
        }
        drop(sender);
        let mut session = Session::new(&sealing.settings.transport);
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
