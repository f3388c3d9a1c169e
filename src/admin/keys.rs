//! `keys add | verify | remove | ls`, and the challenge that turns a pending
//! key into a verified one.

use crate::admin::intake;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::list::List;
use crate::member::{KeyState, Member, MemberKey, Role};
use crate::model::{now, random_token, Address, Fingerprint};
use crate::notice;
use crate::settings::Settings;
use crate::store::ListRecord;
use crate::transport::{self, Outgoing};
use serde::Serialize;

/// Characters in a challenge token: 20 × 5 bits = 100 bits.
const TOKEN_LEN: usize = 20;

/// Keys of one member that may wait for their challenge at once.
const MAX_PENDING_KEYS: usize = 3;

/// What `members add` / `keys add` did.
#[derive(Debug, Serialize)]
pub struct AddedKey {
    pub member: Address,
    pub fingerprint: Fingerprint,
    /// An already verified key came again (say with a later expiry): the
    /// keyring has the new copy; no challenge is needed.
    pub refreshed: bool,
    /// Verified on the operator's word (`--no-challenge`): no challenge sent.
    pub vouched: bool,
}

/// One line of `keys ls`.
#[derive(Debug, Serialize)]
pub struct KeyView {
    pub member: Address,
    pub fingerprint: Fingerprint,
    pub state: &'static str,
    pub default: bool,
    pub added: u64,
}

/// Registers `key_file` (its minimal form, see [`intake`]) as a pending key
/// of `member` and sends the challenge (and, with `new_member`, creates the
/// member and sends the welcome). With `vouch`, an operator on the host has
/// checked the fingerprint: the key is verified at once and no challenge goes out.
pub(crate) fn register(
    list: &List,
    member: &Address,
    key_file: &[u8],
    new_member: Option<Role>,
    vouch: bool,
) -> Result<AddedKey> {
    let address = list.address();
    let (record, settings) = {
        let store = list.store()?;
        check_membership(&store.member(member)?, member, new_member.is_some())?;
        (store.list_record()?, store.settings()?)
    };
    // Checked and minimised before anything is imported, so a refused key leaves no trace.
    let key = intake::admit(list, member, key_file)?;
    let fpr = key.info.fingerprint.clone();
    let already_verified =
        list.store()?.member(member)?.is_some_and(|m| m.key(&fpr).is_some_and(MemberKey::is_verified));
    if already_verified && new_member.is_none() {
        list.keyring.import(&key.minimal)?;
        return Ok(AddedKey { member: member.clone(), fingerprint: fpr, refreshed: true, vouched: false });
    }
    let was_known = key.known;
    list.keyring.import(&key.minimal)?;
    let undo = |e: Error| {
        if !was_known {
            let _ = list.keyring.delete(&fpr);
        }
        e
    };

    let token = random_token(TOKEN_LEN);
    let mut mails = vec![];
    if new_member.is_some() {
        let list_key = list.keyring.export(&record.fingerprint).map_err(undo)?;
        let welcome = notice::welcome(address, member, &record.fingerprint, &list_key);
        mails.push(list.seal(&welcome, None, &record.fingerprint).map_err(undo)?);
    }
    if !vouch {
        let challenge = notice::challenge(address, member, &fpr, &token);
        mails.push(list.seal(&challenge, Some(&fpr), &record.fingerprint).map_err(undo)?);
    }

    {
        let store = list.store().map_err(undo)?;
        let current = store.member(member).map_err(undo)?;
        check_membership(&current, member, new_member.is_some()).map_err(undo)?;
        if let Some(owner) =
            store.members_holding(&fpr).map_err(undo)?.into_iter().map(|m| m.address).find(|o| o != member)
        {
            return Err(undo(
                Error::data(format!("key {fpr} already belongs to {owner}"))
                    .hint("each key belongs to one member; remove it from the other member first"),
            ));
        }
        let mut entry = current.unwrap_or_else(|| Member::new(member.clone(), new_member.unwrap_or(Role::Member)));
        let pending = entry.keys.iter().filter(|k| !k.is_verified() && k.fingerprint != fpr).count();
        if !vouch && pending >= MAX_PENDING_KEYS {
            return Err(undo(
                Error::data(format!("{member} already has {pending} keys waiting for their challenge"))
                    .hint("answer one of the challenges, or remove a pending key, first"),
            ));
        }
        if entry.key(&fpr).is_some_and(MemberKey::is_verified) {
            return Err(Error::data(format!("key {fpr} of {member} is already verified")));
        }
        entry.keys.retain(|k| k.fingerprint != fpr);
        entry.keys.push(match vouch {
            true => MemberKey::vouched(fpr.clone()),
            false => MemberKey::pending(fpr.clone(), &token, settings.challenge_expiry),
        });
        let default_verified =
            entry.default_key.as_ref().and_then(|d| entry.key(d)).is_some_and(MemberKey::is_verified);
        if entry.default_key.is_none() || (vouch && !default_verified) {
            entry.default_key = Some(fpr.clone());
        }
        store.put_member(&entry).map_err(undo)?;
        store.flush().map_err(undo)?;
    }

    send_all(&settings.transport, &mails).map_err(|e| {
        Error::new(e.kind(), format!("the key is registered, but the challenge could not be sent: {}", e.message()))
            .hint(format!("fix the transport, then run `listcrypt keys add {address} {member} --key-file FILE` again for a new challenge"))
    })?;
    if vouch {
        crate::log::event(
            &list.home,
            &format!("key {fpr} of {member} vouched for by the operator: verified without a challenge"),
        );
    }
    Ok(AddedKey { member: member.clone(), fingerprint: fpr, refreshed: false, vouched: vouch })
}

fn send_all(transport_setting: &crate::settings::Transport, mails: &[Outgoing]) -> Result<()> {
    mails.iter().try_for_each(|m| transport::send(transport_setting, m))
}

fn check_membership(current: &Option<Member>, member: &Address, must_be_new: bool) -> Result<()> {
    match (current, must_be_new) {
        (Some(_), true) => Err(Error::data(format!("{member} is already a member"))
            .hint(format!("add another key with `listcrypt keys add LIST {member} --key-file FILE`"))),
        (None, false) => Err(Error::no_user(format!("{member} is not a member"))
            .hint("add the member first with `listcrypt members add`")),
        _ => Ok(()),
    }
}

/// `keys add`; `vouch`: `--no-challenge`.
pub fn add(home: &Home, address: &Address, member: &Address, key_file: &[u8], vouch: bool) -> Result<AddedKey> {
    register(&List::open(home, address)?, member, key_file, None, vouch)
}

/// Marks the member's pending key whose token this is as verified.
pub fn verify(home: &Home, address: &Address, member: &Address, token: &str) -> Result<Fingerprint> {
    let list = List::open(home, address)?;
    let store = list.store()?;
    let mut entry = store.member(member)?.ok_or_else(|| Error::no_user(format!("{member} is not a member")))?;
    let fpr = entry.verify_token(token, None).map_err(|e| {
        e.hint(format!("copy the token exactly, or send a new challenge with `listcrypt keys add {address} {member} --key-file FILE`"))
    })?;
    store.put_member(&entry)?;
    store.flush()?;
    Ok(fpr)
}

/// Removes a key from a member and from the list's keyring.
pub fn remove(home: &Home, address: &Address, member: &Address, fpr: &Fingerprint) -> Result<()> {
    let list = List::open(home, address)?;
    {
        let store = list.store()?;
        let mut entry = store.member(member)?.ok_or_else(|| Error::no_user(format!("{member} is not a member")))?;
        if !entry.remove_key(fpr) {
            return Err(Error::no_user(format!("{member} has no key {fpr}"))
                .hint(format!("see `listcrypt keys ls {address} {member}`")));
        }
        store.put_member(&entry)?;
        store.flush()?;
    }
    let _ = list.keyring.delete(fpr);
    Ok(())
}

pub fn ls(home: &Home, address: &Address, member: Option<&Address>) -> Result<Vec<KeyView>> {
    let list = List::open(home, address)?;
    let members = match member {
        Some(m) => vec![list.store()?.member(m)?.ok_or_else(|| Error::no_user(format!("{m} is not a member")))?],
        None => list.store()?.members()?,
    };
    Ok(members.iter().flat_map(key_views).collect())
}

pub(crate) fn key_views(member: &Member) -> Vec<KeyView> {
    member
        .keys
        .iter()
        .map(|k| KeyView {
            member: member.address.clone(),
            fingerprint: k.fingerprint.clone(),
            state: k.state_name(),
            default: member.default_key.as_ref() == Some(&k.fingerprint),
            added: k.added,
        })
        .collect()
}

/// A key problem `keys check` found.
#[derive(Debug, Serialize)]
pub struct KeyProblem {
    pub list: Address,
    pub member: Address,
    pub fingerprint: Option<Fingerprint>,
    pub problem: String,
}

/// The daily key check (run it from the flush timer): warns each member
/// whose verified key stops working within `key_expiry_warning_days`
/// (encrypted to that key, at most once a day per key), and tells the admins
/// which members can no longer receive posts.
pub fn check(home: &Home, only: Option<&Address>) -> Result<Vec<KeyProblem>> {
    let lists = match only {
        Some(list) => vec![list.clone()],
        None => home.list_addresses()?,
    };
    let mut problems = vec![];
    for address in &lists {
        problems.extend(check_list(&List::open(home, address)?)?);
    }
    Ok(problems)
}

/// The list key (or its encryption subkey) stops working within 30 days: what to say.
fn list_key_expiry(list: &List, fpr: &Fingerprint) -> Result<Option<String>> {
    let info = list.keyring.key_info(fpr)?;
    let until = [info.expires, info.encrypt_until].into_iter().flatten().min();
    Ok(until.filter(|until| *until <= now() + crate::doctor::KEY_EXPIRY_WARNING).map(|until| {
        format!(
            "expires on {}: run `listcrypt list extend-key {}` (members get the refreshed key)",
            crate::model::utc(until),
            list.address()
        )
    }))
}

fn check_list(list: &List) -> Result<Vec<KeyProblem>> {
    let (members, settings, record) = {
        let store = list.store()?;
        (store.members()?, store.settings()?, store.list_record()?)
    };
    let mut problems = remove_unconfirmed(list)?;
    let horizon = now() + u64::from(settings.key_expiry_warning_days) * 86_400;
    let (found, expiring) = check_verified_keys(list, &members, horizon)?;
    problems.extend(found);
    for (member, fpr, until) in expiring {
        warn_of_expiry(list, &record, &settings, &member, &fpr, until)?;
    }
    if let Some(problem) = list_key_expiry(list, &record.fingerprint)? {
        if list.store()?.notice_allowed("list-key-expiry", 20 * 3600)? {
            let text = format!("The list key {problem}.");
            crate::pipeline::tell_admins(list, &members, &settings, &record.fingerprint, "the list key expires", &text);
        }
        problems.push(KeyProblem {
            list: list.address().clone(),
            member: list.address().clone(),
            fingerprint: Some(record.fingerprint.clone()),
            problem,
        });
    }
    let cannot: Vec<String> =
        problems.iter().filter(|p| p.fingerprint.is_none()).map(|p| format!("{} {}", p.member, p.problem)).collect();
    if !cannot.is_empty() {
        let text = format!("These members can no longer receive posts:\r\n{}", cannot.join("\r\n"));
        let subject = "members who cannot receive";
        crate::pipeline::tell_admins(list, &members, &settings, &record.fingerprint, subject, &text);
    }
    Ok(problems)
}

/// Pending keys whose challenge ran out go, from the store and the keyring.
fn remove_unconfirmed(list: &List) -> Result<Vec<KeyProblem>> {
    let mut stale = vec![];
    {
        let store = list.store()?;
        for mut member in store.members()? {
            let expired: Vec<Fingerprint> = member
                .keys
                .iter()
                .filter(|k| matches!(k.state, KeyState::Pending { expires, .. } if expires < now()))
                .map(|k| k.fingerprint.clone())
                .collect();
            for fpr in &expired {
                member.remove_key(fpr);
                stale.push((member.address.clone(), fpr.clone()));
            }
            if !expired.is_empty() {
                store.put_member(&member)?;
            }
        }
        store.flush()?;
    }
    let mut problems = vec![];
    for (member, fpr) in stale {
        let _ = list.keyring.delete(&fpr);
        crate::log::event(&list.home, &format!("pending key {fpr} of {member} expired unconfirmed and was removed"));
        problems.push(KeyProblem {
            list: list.address().clone(),
            member,
            fingerprint: Some(fpr),
            problem: "was never confirmed; its challenge expired and it was removed".into(),
        });
    }
    Ok(problems)
}

/// A member's key that expires soon, and when.
type Expiring = (Address, Fingerprint, u64);

/// The problems of the verified keys of members with delivery on, and the
/// keys that expire before `horizon`.
fn check_verified_keys(list: &List, members: &[Member], horizon: u64) -> Result<(Vec<KeyProblem>, Vec<Expiring>)> {
    // Every verified key in one keyring listing: one per key is 10,000 gpg runs on a big list.
    let verified: Vec<Fingerprint> = members
        .iter()
        .filter(|m| m.delivery)
        .flat_map(|m| m.keys.iter().filter(|k| k.is_verified()).map(|k| k.fingerprint.clone()))
        .collect();
    let infos: std::collections::HashMap<Fingerprint, crate::gpg::KeyInfo> = match verified.is_empty() {
        true => Default::default(),
        false => {
            list.keyring.key_infos_holding_any(&verified)?.into_iter().map(|k| (k.fingerprint.clone(), k)).collect()
        }
    };
    let mut problems = vec![];
    let mut expiring = vec![];
    for member in members.iter().filter(|m| m.delivery) {
        let mut usable = 0;
        for key in member.keys.iter().filter(|k| k.is_verified()) {
            let problem = match infos.get(&key.fingerprint) {
                None => Some("is missing from the list's keyring".to_string()),
                Some(info) if info.revoked => Some("is revoked".to_string()),
                Some(info) if info.expired || !info.can_encrypt => Some("has expired or cannot encrypt".to_string()),
                Some(info) => {
                    usable += 1;
                    match (&info.weak, info.encrypt_until.filter(|until| *until <= horizon)) {
                        (Some(weak), _) => {
                            Some(format!("uses {weak}, too weak: the member should move to a stronger key"))
                        }
                        (None, Some(until)) => {
                            expiring.push((member.address.clone(), key.fingerprint.clone(), until));
                            Some(format!("expires on {}", crate::model::utc(until)))
                        }
                        (None, None) => None,
                    }
                }
            };
            if let Some(problem) = problem {
                problems.push(KeyProblem {
                    list: list.address().clone(),
                    member: member.address.clone(),
                    fingerprint: Some(key.fingerprint.clone()),
                    problem,
                });
            }
        }
        if usable == 0 {
            problems.push(KeyProblem {
                list: list.address().clone(),
                member: member.address.clone(),
                fingerprint: None,
                problem: "has no usable verified key and receives no posts".into(),
            });
        }
    }
    Ok((problems, expiring))
}

/// The member's warning that their key expires, at most once in 20 hours.
fn warn_of_expiry(
    list: &List,
    record: &ListRecord,
    settings: &Settings,
    member: &Address,
    fpr: &Fingerprint,
    until: u64,
) -> Result<()> {
    if !list.store()?.notice_allowed(&format!("expiry:{fpr}"), 20 * 3600)? {
        return Ok(());
    }
    let warning = notice::expiry_warning(list.address(), member, fpr, until);
    let sent =
        list.seal(&warning, Some(fpr), &record.fingerprint).and_then(|m| transport::send(&settings.transport, &m));
    if let Err(e) = sent {
        crate::log::event(&list.home, &format!("expiry warning to {member} not sent: {}", e.message()));
    }
    Ok(())
}
