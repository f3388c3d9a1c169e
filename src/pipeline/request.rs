//! Mail to the list's `-request` address: commands, one per line, from a
//! member, encrypted to the list key and signed with that member's key.
//!
//! A member answers a key challenge by mail: a reply signed with the new
//! (still pending) key that quotes the token proves possession, since the
//! token only ever travelled encrypted to that key. With a pending key that
//! is the only command; with a verified key: `help`, `get-list-key`, `status`,
//! `pause`, `resume`, `unsubscribe`, `add-key`, `remove-key`, `set-default-key`.
//! Answers go back encrypted to the signing key and signed by the list. Mail
//! that is not encrypted, not signed by a key of the `From:` member, stale or
//! replayed gets the same fixed notice as a refused post.

use super::notify;
use super::verify::{judge, Examined, Outcome, Snapshot};
use crate::error::Result;
use crate::list::List;
use crate::mime::parse;
use crate::model::{Address, Fingerprint};
use crate::notice::{self, Notice};
use crate::policy::{Decision, Kind, Reason};
use crate::settings::Scope;
use crate::transport;

/// Key changes (`add-key`, `remove-key`, `set-default-key`) one member may
/// make by mail in a day, and members one admin may subscribe by mail.
const MAX_KEY_CHANGES_A_DAY: u64 = 3;
const MAX_SUBSCRIBES_A_DAY: u64 = 20;
const DAY: u64 = 86_400;

/// Commands read from a request mail.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Token(String),
    Help,
    GetListKey,
    Status,
    ListKeys,
    Pause,
    Resume,
    Unsubscribe,
    AddKey,
    RemoveKey(String),
    SetDefaultKey(String),
    /// Admin commands.
    Subscribe(String),
    UnsubscribeMember(String),
    Members,
    Set(String, String),
    Unknown(String),
}

/// Commands in the body: the first block of lines (up to a blank line or a
/// signature separator, at most 20), plus any `Token:` line anywhere, quoted
/// or not, as a reply to a challenge carries it.
fn commands(text: &str) -> Vec<Command> {
    let mut found = vec![];
    let mut in_block = true;
    for raw in text.lines() {
        let line = raw.trim_start_matches(['>', ' ']).trim();
        if let Some(token) = line.strip_prefix("Token:").or_else(|| line.strip_prefix("verify ")) {
            found.push(Command::Token(token.trim().to_string()));
            continue;
        }
        if !in_block || raw.starts_with('>') {
            continue;
        }
        if line.is_empty() {
            in_block = found.is_empty();
            continue;
        }
        if line == "--" || found.len() >= 20 {
            in_block = false;
            continue;
        }
        // Only the command word is case-blind; arguments (a setting's value) keep their case.
        let (word, argument) =
            line.split_once(' ').map(|(w, a)| (w, a.trim().to_string())).unwrap_or((line, String::new()));
        found.push(match word.to_ascii_lowercase().as_str() {
            "help" => Command::Help,
            "get-list-key" => Command::GetListKey,
            "status" => Command::Status,
            "list-keys" => Command::ListKeys,
            "pause" => Command::Pause,
            "resume" => Command::Resume,
            "unsubscribe" if argument.is_empty() => Command::Unsubscribe,
            "add-key" => Command::AddKey,
            "remove-key" => Command::RemoveKey(argument),
            "set-default-key" => Command::SetDefaultKey(argument),
            "subscribe" => Command::Subscribe(argument),
            "unsubscribe" => Command::UnsubscribeMember(argument),
            "members" => Command::Members,
            "set" => {
                let (name, value) = argument.split_once(' ').unwrap_or((&argument, ""));
                Command::Set(name.to_string(), value.trim().to_string())
            }
            _ => Command::Unknown(line.chars().take(60).collect()),
        });
    }
    found
}

fn help(list: &Address) -> String {
    format!(
        "Commands for {list}, one per line, in a mail to {request}, signed with your\r\n\
         key and encrypted to the list's key:\r\n\
         \r\n\
         help                 this text\r\n\
         get-list-key         the list's public key\r\n\
         status               what the list knows about you\r\n\
         list-keys            your keys and their state\r\n\
         pause / resume       stop or restart delivery to you\r\n\
         unsubscribe          leave the list\r\n\
         add-key              add the public key attached (or pasted) to this mail;\r\n\
                              it gets its own challenge\r\n\
         remove-key FPR       remove one of your keys\r\n\
         set-default-key FPR  receive posts encrypted to this verified key\r\n\
         verify TOKEN         confirm a new key (or simply reply to the challenge\r\n\
                              mail, signed with the new key)\r\n\
         \r\n\
         For admins:\r\n\
         subscribe ADDR       add a member, their public key attached\r\n\
         unsubscribe ADDR     remove a member\r\n\
         members              who is on the list\r\n\
         set NAME VALUE       change a list-admin setting (others are set on the\r\n\
                              server: {operator})\r\n\
         \r\n\
         For anything else, write to {owner}.\r\n",
        request = list.request(),
        owner = list.owner(),
        operator = crate::settings::SETTINGS
            .iter()
            .filter(|s| s.scope == Scope::Operator)
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

pub(super) fn handle(list: &List, snap: &Snapshot, id: &str, size: u64, exam: Examined) -> Result<Outcome> {
    // The same rules as a post, none relaxed: signed by a key of the From
    // member, valid when it signed and now, fresh, never seen before,
    // encrypted, and (when it names recipients) addressed to -request.
    let mut judged = judge(list, snap, &exam, size, Kind::Commands)?;
    let store = list.store()?;
    judged.check_replay(&store)?;
    let signer = judged.signer().cloned();
    let (Decision::Approve, Some(key), Some(from)) = (judged.decision, signer, exam.facts.from.first()) else {
        let plan = notify::plan(&store, &judged.facts, judged.decision, exam.facts.mailing_list)?;
        store.remove_entry(id)?;
        store.note_progress()?;
        store.flush()?;
        drop(store);
        crate::log::event(&list.home, &judged.log_line(id));
        notify::carry_out(list, &judged.notice_snapshot(snap), id, judged.decision, plan);
        return Ok(Outcome::Decided(judged.decision));
    };
    let verified = judged.facts.member.and_then(|m| m.key(&key)).is_some_and(|k| k.is_verified());
    let address = from;
    let text = exam.content.as_deref().and_then(|c| parse::first_text(c)).unwrap_or_default();
    let mut answers = vec![];
    let mut attach_key = false;
    let (mut add_key, mut unsubscribe) = (false, false);
    let mut removed: Vec<Fingerprint> = vec![];
    let mut changes: Vec<&str> = vec![];
    let mut subscribe: Vec<Address> = vec![];
    let mut admin_changes: Vec<String> = vec![];
    // The member as stored now, not as read before gpg ran (no lost updates).
    let Some(mut entry) = store.member(address)? else {
        store.remove_entry(id)?;
        store.note_progress()?;
        store.flush()?;
        return Ok(Outcome::Decided(Decision::Discard(Reason::NonMember)));
    };
    // Token answers first: they may verify the very key that signed.
    let mut commands = commands(&text);
    commands.sort_by_key(|c| !matches!(c, Command::Token(_)));
    for command in commands {
        let answer = match (&command, verified) {
            (Command::Token(token), _) => match entry.verify_token(token, Some(&key)) {
                Ok(fpr) => format!("verify: key {fpr} is verified. Welcome!"),
                Err(e) => format!("verify: {}", e.message()),
            },
            (_, false) => "this key is not verified yet: reply to the challenge mail first".to_string(),
            (Command::Help, true) => help(list.address()),
            (Command::GetListKey, true) => {
                attach_key = true;
                format!("get-list-key: attached; fingerprint {}", snap.record.fingerprint)
            }
            (Command::Status, true) => status(&entry),
            (Command::ListKeys, true) => {
                let keys: Vec<String> = entry
                    .keys
                    .iter()
                    .map(|k| format!("  {} {}", k.fingerprint, if k.is_verified() { "verified" } else { "pending" }))
                    .collect();
                format!("list-keys:\r\n{}", keys.join("\r\n"))
            }
            (Command::Pause, true) => {
                entry.delivery = false;
                changes.push("pause");
                "pause: delivery to you is off; send `resume` to turn it back on".to_string()
            }
            (Command::Resume, true) => {
                entry.delivery = true;
                entry.bounces = 0;
                changes.push("resume");
                "resume: delivery to you is on".to_string()
            }
            (Command::Unsubscribe, true) => {
                let admins = snap.members.iter().filter(|m| m.is_admin()).count();
                if entry.is_admin() && admins <= 1 {
                    "unsubscribe: you are the last admin; ask the owner to add another first".to_string()
                } else {
                    unsubscribe = true;
                    changes.push("unsubscribe");
                    "unsubscribe: you have left the list. Goodbye.".to_string()
                }
            }
            // Key changes by mail are rationed: a stolen or careless key cannot churn the keyring.
            (Command::AddKey | Command::RemoveKey(_) | Command::SetDefaultKey(_), true)
                if !store.quota_allows(&format!("keys:{address}"), MAX_KEY_CHANGES_A_DAY, DAY)? =>
            {
                format!("key changes by mail are limited to {MAX_KEY_CHANGES_A_DAY} a day; try again tomorrow")
            }
            (Command::Subscribe(_), true)
                if entry.is_admin()
                    && !store.quota_allows(&format!("subscribe:{address}"), MAX_SUBSCRIBES_A_DAY, DAY)? =>
            {
                format!("subscribe: at most {MAX_SUBSCRIBES_A_DAY} a day by mail; add more with the CLI")
            }
            (Command::AddKey, true) => {
                add_key = true;
                String::new()
            }
            (Command::RemoveKey(f), true) => match Fingerprint::parse(f) {
                Ok(fpr) if entry.key(&fpr).is_none() => format!("remove-key: {fpr} is not one of your keys"),
                Ok(fpr) if entry.keys.iter().filter(|k| k.is_verified() && k.fingerprint != fpr).count() == 0 => {
                    format!("remove-key: {fpr} is your last verified key; add another first")
                }
                Ok(fpr) => {
                    entry.remove_key(&fpr);
                    changes.push("remove-key");
                    removed.push(fpr.clone());
                    format!("remove-key: {fpr} removed")
                }
                Err(e) => format!("remove-key: {}", e.message()),
            },
            (Command::SetDefaultKey(f), true) => match Fingerprint::parse(f) {
                Ok(fpr) if entry.key(&fpr).is_some_and(|k| k.is_verified()) => {
                    entry.default_key = Some(fpr.clone());
                    changes.push("set-default-key");
                    format!("set-default-key: posts now come encrypted to {fpr}")
                }
                Ok(fpr) => format!("set-default-key: {fpr} is not a verified key of yours"),
                Err(e) => format!("set-default-key: {}", e.message()),
            },
            (Command::Subscribe(_) | Command::UnsubscribeMember(_) | Command::Members | Command::Set(..), true)
                if !entry.is_admin() =>
            {
                "that command is for list admins".to_string()
            }
            (Command::Subscribe(who), true) => match Address::parse(who) {
                Ok(who) => {
                    subscribe.push(who);
                    String::new()
                }
                Err(e) => format!("subscribe: {}", e.message()),
            },
            (Command::UnsubscribeMember(who), true) => match Address::parse(who) {
                Ok(who) if who == entry.address => "unsubscribe: to leave yourself, send `unsubscribe` alone".into(),
                Ok(who) => match store.member(&who)? {
                    Some(gone) if gone.is_admin() => format!("unsubscribe: {who} is an admin; use the CLI"),
                    Some(gone) => {
                        store.remove_member(&who)?;
                        removed.extend(gone.keys.iter().map(|k| k.fingerprint.clone()));
                        admin_changes.push(format!("{who} unsubscribed by {address}"));
                        format!("unsubscribe: {who} removed")
                    }
                    None => format!("unsubscribe: {who} is not a member"),
                },
                Err(e) => format!("unsubscribe: {}", e.message()),
            },
            (Command::Members, true) => {
                let mut text = String::from("members:\r\n");
                for m in store.members()? {
                    let receives =
                        if m.delivery && m.delivery_key().is_some() { "receives posts" } else { "no delivery" };
                    let role = if m.is_admin() { "admin" } else { "member" };
                    text.push_str(&format!("  {} ({role}, {receives})\r\n", m.address));
                }
                text
            }
            (Command::Set(name, value), true) => {
                let mut settings = store.settings()?;
                match settings.set_as_list_admin(name, value) {
                    Ok(shown) => {
                        store.put_settings(&settings)?;
                        admin_changes.push(format!("{name} set to {shown} by {address}"));
                        format!("set: {name} = {shown}")
                    }
                    Err(e) => match e.hint_text() {
                        Some(hint) => format!("set: {}; {hint}", e.message()),
                        None => format!("set: {}", e.message()),
                    },
                }
            }
            (Command::Unknown(word), true) => format!("unknown command '{word}'\r\n\r\n{}", help(list.address())),
        };
        if !answer.is_empty() {
            answers.push(answer);
        }
    }
    if answers.is_empty() && !add_key && subscribe.is_empty() {
        answers.push(help(list.address()));
    }
    if unsubscribe {
        removed.extend(entry.keys.iter().map(|k| k.fingerprint.clone()));
        store.remove_member(address)?;
    } else {
        store.put_member(&entry)?;
    }
    store.remove_entry(id)?;
    store.note_progress()?;
    store.flush()?;
    drop(store);
    for who in subscribe {
        // An admin's subscribe: the new member's key comes attached; welcome and challenge follow.
        let answer = match exam.content.as_deref().map(Vec::as_slice).and_then(parse::attached_key) {
            Some(key_file) => {
                let registered = crate::admin::members::refuse_look_alike(&who).and_then(|()| {
                    crate::admin::keys::register(list, &who, &key_file, Some(crate::member::Role::Member), false)
                });
                match registered {
                    Ok(added) => {
                        admin_changes.push(format!("{who} subscribed by {address}"));
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
        answers.push(answer);
    }
    if add_key {
        // A new key, signed for by a verified one: it gets its own challenge.
        let answer = match exam.content.as_deref().map(Vec::as_slice).and_then(parse::attached_key) {
            Some(key_file) => match crate::admin::keys::register(list, address, &key_file, None, false) {
                Ok(added) if added.refreshed => {
                    changes.push("add-key (refresh)");
                    format!("add-key: key {} updated (its new expiry counts from now)", added.fingerprint)
                }
                Ok(added) => {
                    changes.push("add-key");
                    format!("add-key: key {} added; it counts once you answer its challenge", added.fingerprint)
                }
                Err(e) => format!("add-key: {}", e.message()),
            },
            None => "add-key: attach your public key (application/pgp-keys) or paste it into the mail".into(),
        };
        answers.push(answer);
    }
    if !changes.is_empty() {
        admin_changes.insert(0, format!("{address} changed by mail: {}.", changes.join(", ")));
    }
    if !admin_changes.is_empty() {
        if let Err(e) = notify::report_changes(list, &admin_changes) {
            crate::log::event(&list.home, &format!("entry {id}: changes by mail not noted: {}", e.message()));
        }
    }
    crate::log::event(&list.home, &format!("entry {id}: {} request command(s) from {address}", answers.len()));

    let mut reply = Notice::new_reply(
        address,
        &format!("Re: your commands to {}", list.address().request()),
        answers.join("\r\n\r\n"),
    );
    if attach_key {
        reply
            .attachments
            .push(notice::list_key_attachment(list.address(), &list.keyring.export(&snap.record.fingerprint)?));
    }
    let sent = list
        .seal(&reply, Some(&key), &snap.record.fingerprint)
        .and_then(|mail| transport::send(&snap.settings.transport, &mail));
    if let Err(e) = sent {
        crate::log::event(&list.home, &format!("entry {id}: the answer to {address} was not sent: {}", e.message()));
    }
    // Keys go from the keyring only after the answer was encrypted to the signer.
    for fpr in removed {
        let _ = list.keyring.delete(&fpr);
    }
    Ok(Outcome::Commands)
}

/// What the list knows about a member (their own data only).
fn status(member: &crate::member::Member) -> String {
    let mut text = format!(
        "status: {} ({}), delivery {}\r\n",
        member.address,
        if member.is_admin() { "admin" } else { "member" },
        if member.delivery { "on" } else { "off" }
    );
    for key in &member.keys {
        let default = if member.default_key.as_ref() == Some(&key.fingerprint) { ", default" } else { "" };
        let state = if key.is_verified() { "verified" } else { "pending" };
        text.push_str(&format!("  key {} {state}{default}\r\n", key.fingerprint));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_stop_at_the_first_blank_line_but_tokens_count_anywhere() {
        let body = "status\r\nhelp\r\n\r\nignored words\r\n> Token: abc23\r\n-- \r\nsig";
        assert_eq!(commands(body), vec![Command::Status, Command::Help, Command::Token("abc23".into())]);
        assert_eq!(commands("\r\nverify xyz\r\n"), vec![Command::Token("xyz".into())]);
        assert_eq!(commands("frobnicate"), vec![Command::Unknown("frobnicate".into())]);
        assert_eq!(
            commands("Pause\r\nremove-key ABCD\r\nset-default-key  EF01 \r\nadd-key\r\n"),
            vec![
                Command::Pause,
                Command::RemoveKey("ABCD".into()),
                Command::SetDefaultKey("EF01".into()),
                Command::AddKey
            ]
        );
    }
}
