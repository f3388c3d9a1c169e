//! Mail to the list's `-request` address: commands, one per line, from a
//! member, encrypted to the list key and signed with that member's key.
//!
//! A member answers a key challenge by mail: a reply signed with the new
//! (still pending) key that quotes the token proves possession, since the
//! token only ever travelled encrypted to that key. With a pending key that
//! is the only command; with a verified key: `help`, `get-list-key`, `status`.
//! Answers go back encrypted to the signing key and signed by the list. Mail
//! that is not encrypted, not signed by a key of the `From:` member, stale or
//! replayed gets the same fixed notice as a refused post.

use super::verify::{judge_signature, send_rejection, Examined, Outcome, Snapshot};
use crate::error::Result;
use crate::list::List;
use crate::model::{now, Address, Fingerprint};
use crate::notice::{self, Notice};
use crate::policy::{Decision, Reason, Signature};
use crate::transport;

/// Commands read from a request mail.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Token(String),
    Help,
    GetListKey,
    Status,
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
        found.push(match line.to_ascii_lowercase().as_str() {
            "help" => Command::Help,
            "get-list-key" => Command::GetListKey,
            "status" => Command::Status,
            other => Command::Unknown(other.chars().take(60).collect()),
        });
    }
    found
}

fn help(list: &Address) -> String {
    format!(
        "Commands for {list}, one per line, in a mail to {request}, signed with your\r\n\
         key and encrypted to the list's key:\r\n\
         \r\n\
         help           this text\r\n\
         get-list-key   the list's public key\r\n\
         status         what the list knows about you\r\n\
         verify TOKEN   confirm a new key (or simply reply to the challenge mail,\r\n\
                        signed with the new key)\r\n\
         \r\n\
         For anything else, write to {owner}.\r\n",
        request = list.request(),
        owner = list.owner()
    )
}

pub(super) fn handle(list: &List, snap: &Snapshot, id: &str, exam: Examined) -> Result<Outcome> {
    let facts = &exam.facts;
    let from = facts.from.first().filter(|_| facts.from.len() == 1 && !facts.from_invalid);
    let silent = facts.null_sender || facts.report || facts.auto_submitted || facts.bulk || facts.mailing_list;
    let member = from.and_then(|f| snap.members.iter().find(|m| &m.address == f));
    let (signature, digest) = judge_signature(list, &exam, &snap.members, from);
    // The signer: a key of the From member, valid, with a user ID for that address, fresh.
    let signer: Option<(Fingerprint, bool)> = match (&signature, member) {
        (Signature::Good(good), Some(m))
            if good.owner.as_ref() == Some(&m.address)
                && good.user_id_matches
                && !good.key_revoked
                && !good.key_expired
                && good.created.saturating_add(snap.settings.max_signature_age) >= now()
                && exam.encrypted
                && !exam.wrapped =>
        {
            m.key(&good.key).map(|k| (good.key.clone(), k.is_verified()))
        }
        _ => None,
    };
    let store = list.store()?;
    let fresh = match (&signer, &digest) {
        (Some(_), Some(digest)) => store.remember_signature(digest)?,
        _ => false,
    };
    let Some((key, verified)) = signer.filter(|_| fresh) else {
        let notify = !silent && from.is_some_and(|f| store.notice_allowed(f.as_str(), 3600).unwrap_or(false));
        store.remove_entry(id)?;
        store.flush()?;
        drop(store);
        crate::log::event(
            &list.home,
            &format!("entry {id}: a request that is not signed and encrypted by a member was refused"),
        );
        if notify {
            send_rejection(list, snap, id, from, member);
        }
        return Ok(Outcome::Decided(if silent {
            Decision::Discard(Reason::AutoReply)
        } else {
            Decision::Reject(Reason::Unsigned)
        }));
    };
    let address = from.expect("a signer implies a sender");
    let text = exam
        .content
        .as_deref()
        .and_then(|c| {
            mail_parser::MessageParser::default().parse(c).and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        })
        .unwrap_or_default();
    let mut answers = vec![];
    let mut attach_key = false;
    // The member as stored now, not as read before gpg ran (no lost updates).
    let Some(mut entry) = store.member(address)? else {
        store.remove_entry(id)?;
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
            (Command::Unknown(word), true) => format!("unknown command '{word}'\r\n\r\n{}", help(list.address())),
        };
        answers.push(answer);
    }
    if answers.is_empty() {
        answers.push(help(list.address()));
    }
    store.put_member(&entry)?;
    store.remove_entry(id)?;
    store.flush()?;
    drop(store);
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
    Ok(Outcome::Decided(Decision::Approve))
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
    }
}
