//! Mail to the list's `-request` address: commands, one per line, from a
//! member, encrypted to the list key and signed with that member's key.
//!
//! A member answers a key challenge by mail: a reply signed with the new
//! (still pending) key that quotes the token (`verify TOKEN`, or the quoted
//! `Token:` line) proves possession, since the token only ever travelled
//! encrypted to that key. With a pending key that is the only command; with a
//! verified key: `help`, `get-list-key`, `status`, `list-keys`, `pause`,
//! `resume`, `unsubscribe`, `add-key`, `remove-key`, `set-default-key`, and
//! for admins `subscribe`, `unsubscribe ADDR`, `members`, `set`
//! ([`commands`]). Answers go back encrypted to the signing key and signed
//! by the list. Mail that is not encrypted, not signed by a key of the
//! `From:` member, stale or replayed gets the same fixed notice as a refused
//! post.

mod commands;

use self::commands::{Applied, Quota, State, MAX_KEY_CHANGES_A_DAY, MAX_SUBSCRIBES_A_DAY};
use super::examine::{judge, Examined, Involved, Judgement};
use super::notify;
use super::snapshot::Snapshot;
use crate::error::Result;
use crate::list::List;
use crate::mime::parse;
use crate::model::Address;
use crate::notice::{self, Notice};
use crate::policy::{Decision, Kind, Reason};
use crate::store::Store;
use crate::transport;

const DAY: u64 = 86_400;

/// How a command mail ended.
pub(super) enum Handled {
    /// The rules refused it, as they would a post.
    Refused(Decision),
    /// Its commands were applied and answered.
    Answered,
}

pub(super) fn handle(list: &List, snap: &Snapshot, id: &str, size: u64, exam: Examined) -> Result<Handled> {
    // The same rules as a post, none relaxed: signed by a key of the From
    // member, valid when it signed and now, fresh, never seen before,
    // encrypted, and (when it names recipients) addressed to -request.
    let involved = Involved::gather(list, &exam)?;
    let mut judged = judge(list, snap, &involved, &exam, size, Kind::Commands);
    let store = list.store()?;
    judged.check_replay(&store)?;
    let signer = judged.signer().cloned();
    let (Decision::Approve, Some(signer), Some(from)) = (judged.decision, signer, exam.facts.from.first()) else {
        refuse(list, snap, id, store, &judged, &exam)?;
        return Ok(Handled::Refused(judged.decision));
    };
    let verified = judged.facts.member.and_then(|m| m.key(&signer)).is_some_and(|k| k.is_verified());
    // The member as stored now, not as read before gpg ran (no lost updates).
    let members = store.members()?;
    let Some(sender) = members.iter().find(|m| &m.address == from).cloned() else {
        store.finish_entry(id)?;
        store.flush()?;
        return Ok(Handled::Refused(Decision::Discard(Reason::NonMember)));
    };
    let mut state = State {
        list: list.address().clone(),
        list_key: snap.record.fingerprint.clone(),
        sender,
        signer,
        verified,
        members,
        settings: store.settings()?,
    };
    let text = exam.content.as_deref().and_then(|c| parse::first_text(c)).unwrap_or_default();
    let mut applied = commands::apply(commands::parse(&text), &mut state, &mut |quota| match quota {
        Quota::KeyChange => store.quota_allows(&format!("keys:{from}"), MAX_KEY_CHANGES_A_DAY, DAY),
        Quota::Subscribe => store.quota_allows(&format!("subscribe:{from}"), MAX_SUBSCRIBES_A_DAY, DAY),
    })?;
    save(&store, id, &state, &applied)?;
    drop(store);
    let attached = exam.content.as_deref().map(Vec::as_slice).and_then(parse::attached_key);
    subscribe(list, from, attached.as_deref(), &mut applied);
    add_key(list, from, attached.as_deref(), &mut applied);
    tell_admins_of_changes(list, id, from, &applied);
    crate::log::event(&list.home, &format!("entry {id}: {} request command(s) from {from}", applied.answers.len()));
    answer(list, snap, id, &state, &applied)?;
    // Keys go from the keyring only after the answer was encrypted to the signer.
    for fpr in &applied.removed_keys {
        let _ = list.keyring.delete(fpr);
    }
    Ok(Handled::Answered)
}

/// A refused command mail: gone from the queue, with the notices a refused
/// post would earn.
fn refuse(list: &List, snap: &Snapshot, id: &str, store: Store, judged: &Judgement<'_>, exam: &Examined) -> Result<()> {
    let plan = notify::plan(&store, &judged.facts, judged.decision, exam.facts.mailing_list)?;
    store.finish_entry(id)?;
    store.flush()?;
    drop(store);
    crate::log::event(&list.home, &judged.log_line(id));
    notify::carry_out(list, &judged.notice_view(snap), id, judged.decision, plan);
    Ok(())
}

/// Writes back what the commands changed, in one flush with the entry's removal.
fn save(store: &Store, id: &str, state: &State, applied: &Applied) -> Result<()> {
    for gone in &applied.unsubscribed {
        store.remove_member(gone)?;
    }
    if applied.settings_changed {
        store.put_settings(&state.settings)?;
    }
    if applied.leave {
        store.remove_member(&state.sender.address)?;
    } else {
        store.put_member(&state.sender)?;
    }
    store.finish_entry(id)?;
    store.flush()
}

/// An admin's subscribe: the new member's key comes attached; welcome and
/// challenge follow, as for `members add`.
fn subscribe(list: &List, admin: &Address, attached: Option<&[u8]>, applied: &mut Applied) {
    for who in std::mem::take(&mut applied.subscribe) {
        let answer = match attached {
            Some(key_file) => {
                let registered = crate::admin::members::refuse_look_alike(&who).and_then(|()| {
                    crate::admin::keys::register(list, &who, key_file, Some(crate::member::Role::Member), false)
                });
                match registered {
                    Ok(added) => {
                        applied.admin_changes.push(format!("{who} subscribed by {admin}"));
                        format!(
                            "subscribe: {who} added with key {} (pending until they answer the challenge)",
                            added.fingerprint
                        )
                    }
                    Err(e) => format!("subscribe: {}", e.message()),
                }
            }
            None => format!("subscribe: attach {who}'s public key"),
        };
        applied.answers.push(answer);
    }
}

/// A new key, signed for by a verified one: it gets its own challenge.
fn add_key(list: &List, member: &Address, attached: Option<&[u8]>, applied: &mut Applied) {
    if !applied.add_key {
        return;
    }
    let answer = match attached {
        Some(key_file) => match crate::admin::keys::register(list, member, key_file, None, false) {
            Ok(added) if added.refreshed => {
                applied.changes.push("add-key (refresh)");
                format!("add-key: key {} updated (its new expiry counts from now)", added.fingerprint)
            }
            Ok(added) => {
                applied.changes.push("add-key");
                format!("add-key: key {} added; it counts once you answer its challenge", added.fingerprint)
            }
            Err(e) => format!("add-key: {}", e.message()),
        },
        None => "add-key: attach your public key (application/pgp-keys) or paste it into the mail".into(),
    };
    applied.answers.push(answer);
}

/// The admins hear of changes by mail in their hourly digest.
fn tell_admins_of_changes(list: &List, id: &str, member: &Address, applied: &Applied) {
    let mut lines = applied.admin_changes.clone();
    if !applied.changes.is_empty() {
        lines.insert(0, format!("{member} changed by mail: {}.", applied.changes.join(", ")));
    }
    if lines.is_empty() {
        return;
    }
    if let Err(e) = notify::report_changes(list, &lines) {
        crate::log::event(&list.home, &format!("entry {id}: changes by mail not noted: {}", e.message()));
    }
}

/// The answers, encrypted to the key that signed the commands and signed by the list.
fn answer(list: &List, snap: &Snapshot, id: &str, state: &State, applied: &Applied) -> Result<()> {
    let member = &state.sender.address;
    let mut reply = Notice::new_reply(
        member,
        &format!("Re: your commands to {}", list.address().request()),
        applied.answers.join("\r\n\r\n"),
    );
    if applied.attach_list_key {
        reply
            .attachments
            .push(notice::list_key_attachment(list.address(), &list.keyring.export(&snap.record.fingerprint)?));
    }
    let sent = list
        .seal(&reply, Some(&state.signer), &snap.record.fingerprint)
        .and_then(|mail| transport::send(&snap.settings.transport, &mail));
    if let Err(e) = sent {
        crate::log::event(&list.home, &format!("entry {id}: the answer to {member} was not sent: {}", e.message()));
    }
    Ok(())
}
