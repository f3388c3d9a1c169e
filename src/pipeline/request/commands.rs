//! The commands of a request mail: read from its text and applied to the
//! sender's membership, the other members and the list's settings. Pure
//! code: no store, no gpg, no mail. What needs those (registering an
//! attached key, the answer, the admins' report) the caller does with what
//! [`Applied`] asks for.

use crate::error::Result;
use crate::member::Member;
use crate::model::{Address, Fingerprint};
use crate::settings::{Scope, Settings};

/// Key changes (`add-key`, `remove-key`, `set-default-key`) one member may
/// make by mail in a day, and members one admin may subscribe by mail.
pub(super) const MAX_KEY_CHANGES_A_DAY: u64 = 3;
pub(super) const MAX_SUBSCRIBES_A_DAY: u64 = 20;

/// Commands read from a request mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Command {
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
pub(super) fn parse(text: &str) -> Vec<Command> {
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

pub(super) fn help(list: &Address) -> String {
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

/// What the commands act on, read under the store's lock; the caller
/// writes back what [`Applied`] says changed.
pub(super) struct State {
    pub(super) list: Address,
    pub(super) list_key: Fingerprint,
    /// The sender, as stored now.
    pub(super) sender: Member,
    /// The key that signed the mail, and whether it is verified yet.
    pub(super) signer: Fingerprint,
    pub(super) verified: bool,
    /// Every member as stored now (the sender too, before these commands).
    pub(super) members: Vec<Member>,
    pub(super) settings: Settings,
}

/// The daily allowances that rationed commands draw on.
pub(super) enum Quota {
    KeyChange,
    Subscribe,
}

/// What the commands did and what is left for the caller.
#[derive(Debug, Default)]
pub(super) struct Applied {
    /// One answer per command, in order.
    pub(super) answers: Vec<String>,
    pub(super) attach_list_key: bool,
    /// Register the key attached to the mail as a new key of the sender.
    pub(super) add_key: bool,
    /// Register these members, their keys attached to the mail.
    pub(super) subscribe: Vec<Address>,
    /// The sender leaves the list.
    pub(super) leave: bool,
    /// Members an admin removed.
    pub(super) unsubscribed: Vec<Address>,
    /// Keys to delete from the keyring once the answer is encrypted.
    pub(super) removed_keys: Vec<Fingerprint>,
    pub(super) settings_changed: bool,
    /// The sender's own changes, for the admins' report.
    pub(super) changes: Vec<&'static str>,
    /// Changes an admin made to others and to the list.
    pub(super) admin_changes: Vec<String>,
}

/// Applies `commands` in order (token answers first: they may verify the
/// very key that signed). `allow` draws on a daily allowance.
pub(super) fn apply(
    mut commands: Vec<Command>,
    state: &mut State,
    allow: &mut dyn FnMut(Quota) -> Result<bool>,
) -> Result<Applied> {
    commands.sort_by_key(|c| !matches!(c, Command::Token(_)));
    let mut applied = Applied::default();
    for command in commands {
        let answer = apply_one(&command, state, &mut applied, allow)?;
        if !answer.is_empty() {
            applied.answers.push(answer);
        }
    }
    if applied.answers.is_empty() && !applied.add_key && applied.subscribe.is_empty() {
        applied.answers.push(help(&state.list));
    }
    if applied.leave {
        applied.removed_keys.extend(state.sender.keys.iter().map(|k| k.fingerprint.clone()));
    }
    Ok(applied)
}

/// One command's effect on `state` and `applied`, and its answer (empty when
/// the caller answers later, as for attached keys).
fn apply_one(
    command: &Command,
    state: &mut State,
    applied: &mut Applied,
    allow: &mut dyn FnMut(Quota) -> Result<bool>,
) -> Result<String> {
    if let Command::Token(token) = command {
        return Ok(match state.sender.verify_token(token, Some(&state.signer)) {
            Ok(fpr) => format!("verify: key {fpr} is verified. Welcome!"),
            Err(e) => format!("verify: {}", e.message()),
        });
    }
    if !state.verified {
        return Ok("this key is not verified yet: reply to the challenge mail first".to_string());
    }
    let for_admins =
        matches!(command, Command::Subscribe(_) | Command::UnsubscribeMember(_) | Command::Members | Command::Set(..));
    if for_admins && !state.sender.is_admin() {
        return Ok("that command is for list admins".to_string());
    }
    // Key changes by mail are rationed: a stolen or careless key cannot churn the keyring.
    let key_change = matches!(command, Command::AddKey | Command::RemoveKey(_) | Command::SetDefaultKey(_));
    if key_change && !allow(Quota::KeyChange)? {
        return Ok(format!("key changes by mail are limited to {MAX_KEY_CHANGES_A_DAY} a day; try again tomorrow"));
    }
    if matches!(command, Command::Subscribe(_)) && !allow(Quota::Subscribe)? {
        return Ok(format!("subscribe: at most {MAX_SUBSCRIBES_A_DAY} a day by mail; add more with the CLI"));
    }
    Ok(if for_admins { admin_command(command, state, applied) } else { own_command(command, state, applied) })
}

/// A command about the sender's own membership.
fn own_command(command: &Command, state: &mut State, applied: &mut Applied) -> String {
    let sender = &mut state.sender;
    match command {
        Command::Help => help(&state.list),
        Command::GetListKey => {
            applied.attach_list_key = true;
            format!("get-list-key: attached; fingerprint {}", state.list_key)
        }
        Command::Status => status(sender),
        Command::ListKeys => list_keys(sender),
        Command::Pause => {
            sender.delivery = false;
            applied.changes.push("pause");
            "pause: delivery to you is off; send `resume` to turn it back on".to_string()
        }
        Command::Resume => {
            sender.delivery = true;
            sender.bounces = 0;
            applied.changes.push("resume");
            "resume: delivery to you is on".to_string()
        }
        Command::Unsubscribe => {
            let admins = state.members.iter().filter(|m| m.is_admin()).count();
            if sender.is_admin() && admins <= 1 {
                "unsubscribe: you are the last admin; ask the owner to add another first".to_string()
            } else {
                applied.leave = true;
                applied.changes.push("unsubscribe");
                "unsubscribe: you have left the list. Goodbye.".to_string()
            }
        }
        Command::AddKey => {
            applied.add_key = true;
            String::new()
        }
        Command::RemoveKey(f) => remove_key(sender, f, applied),
        Command::SetDefaultKey(f) => set_default_key(sender, f, applied),
        Command::Unknown(word) => format!("unknown command '{word}'\r\n\r\n{}", help(&state.list)),
        Command::Token(_)
        | Command::Subscribe(_)
        | Command::UnsubscribeMember(_)
        | Command::Members
        | Command::Set(..) => {
            unreachable!("answered elsewhere")
        }
    }
}

/// A command for list admins (the caller checked the sender is one).
fn admin_command(command: &Command, state: &mut State, applied: &mut Applied) -> String {
    match command {
        Command::Subscribe(who) => match Address::parse(who) {
            Ok(who) => {
                applied.subscribe.push(who);
                String::new()
            }
            Err(e) => format!("subscribe: {}", e.message()),
        },
        Command::UnsubscribeMember(who) => unsubscribe_member(state, who, applied),
        Command::Members => members(&state.members),
        Command::Set(name, value) => match state.settings.set_as_list_admin(name, value) {
            Ok(shown) => {
                applied.settings_changed = true;
                applied.admin_changes.push(format!("{name} set to {shown} by {}", state.sender.address));
                format!("set: {name} = {shown}")
            }
            Err(e) => match e.hint_text() {
                Some(hint) => format!("set: {}; {hint}", e.message()),
                None => format!("set: {}", e.message()),
            },
        },
        _ => unreachable!("not an admin command"),
    }
}

fn list_keys(sender: &Member) -> String {
    let keys: Vec<String> = sender
        .keys
        .iter()
        .map(|k| format!("  {} {}", k.fingerprint, if k.is_verified() { "verified" } else { "pending" }))
        .collect();
    format!("list-keys:\r\n{}", keys.join("\r\n"))
}

fn set_default_key(sender: &mut Member, fingerprint: &str, applied: &mut Applied) -> String {
    match Fingerprint::parse(fingerprint) {
        Ok(fpr) if sender.key(&fpr).is_some_and(|k| k.is_verified()) => {
            sender.default_key = Some(fpr.clone());
            applied.changes.push("set-default-key");
            format!("set-default-key: posts now come encrypted to {fpr}")
        }
        Ok(fpr) => format!("set-default-key: {fpr} is not a verified key of yours"),
        Err(e) => format!("set-default-key: {}", e.message()),
    }
}

fn members(members: &[Member]) -> String {
    let mut text = String::from("members:\r\n");
    for m in members {
        let receives = if m.delivery && m.delivery_key().is_some() { "receives posts" } else { "no delivery" };
        let role = if m.is_admin() { "admin" } else { "member" };
        text.push_str(&format!("  {} ({role}, {receives})\r\n", m.address));
    }
    text
}

fn remove_key(sender: &mut Member, fingerprint: &str, applied: &mut Applied) -> String {
    match Fingerprint::parse(fingerprint) {
        Ok(fpr) if sender.key(&fpr).is_none() => format!("remove-key: {fpr} is not one of your keys"),
        Ok(fpr) if sender.keys.iter().filter(|k| k.is_verified() && k.fingerprint != fpr).count() == 0 => {
            format!("remove-key: {fpr} is your last verified key; add another first")
        }
        Ok(fpr) => {
            sender.remove_key(&fpr);
            applied.changes.push("remove-key");
            applied.removed_keys.push(fpr.clone());
            format!("remove-key: {fpr} removed")
        }
        Err(e) => format!("remove-key: {}", e.message()),
    }
}

/// An admin removes another member (never an admin: that is for the CLI).
fn unsubscribe_member(state: &mut State, who: &str, applied: &mut Applied) -> String {
    let who = match Address::parse(who) {
        Ok(who) => who,
        Err(e) => return format!("unsubscribe: {}", e.message()),
    };
    if who == state.sender.address {
        return "unsubscribe: to leave yourself, send `unsubscribe` alone".into();
    }
    let Some(at) = state.members.iter().position(|m| m.address == who) else {
        return format!("unsubscribe: {who} is not a member");
    };
    if state.members[at].is_admin() {
        return format!("unsubscribe: {who} is an admin; use the CLI");
    }
    let gone = state.members.remove(at);
    applied.removed_keys.extend(gone.keys.iter().map(|k| k.fingerprint.clone()));
    applied.admin_changes.push(format!("{who} unsubscribed by {}", state.sender.address));
    applied.unsubscribed.push(who.clone());
    format!("unsubscribe: {who} removed")
}

/// What the list knows about a member (their own data only).
fn status(member: &Member) -> String {
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
    use crate::member::{MemberKey, Role};

    #[test]
    fn commands_stop_at_the_first_blank_line_but_tokens_count_anywhere() {
        let body = "status\r\nhelp\r\n\r\nignored words\r\n> Token: abc23\r\n-- \r\nsig";
        assert_eq!(parse(body), vec![Command::Status, Command::Help, Command::Token("abc23".into())]);
        assert_eq!(parse("\r\nverify xyz\r\n"), vec![Command::Token("xyz".into())]);
        assert_eq!(parse("frobnicate"), vec![Command::Unknown("frobnicate".into())]);
        assert_eq!(
            parse("Pause\r\nremove-key ABCD\r\nset-default-key  EF01 \r\nadd-key\r\n"),
            vec![
                Command::Pause,
                Command::RemoveKey("ABCD".into()),
                Command::SetDefaultKey("EF01".into()),
                Command::AddKey
            ]
        );
    }

    fn fpr(digit: char) -> Fingerprint {
        Fingerprint::parse(&digit.to_string().repeat(40)).unwrap()
    }

    fn member(address: &str, role: Role, keys: &[char]) -> Member {
        let mut m = Member::new(Address::parse(address).unwrap(), role);
        m.keys = keys.iter().map(|k| MemberKey::vouched(fpr(*k))).collect();
        m.default_key = keys.first().map(|k| fpr(*k));
        m
    }

    /// Alice (member, keys A and B) and Olga (the only admin, key C).
    fn state(sender: &str) -> State {
        let members = vec![
            member("alice@example.org", Role::Member, &['A', 'B']),
            member("olga@example.org", Role::Admin, &['C']),
        ];
        let me = members.iter().find(|m| m.address.as_str() == sender).unwrap().clone();
        let signer = me.keys[0].fingerprint.clone();
        State {
            list: Address::parse("list@example.org").unwrap(),
            list_key: fpr('F'),
            sender: me,
            signer,
            verified: true,
            members,
            settings: Settings::default(),
        }
    }

    fn run(text: &str, state: &mut State) -> Applied {
        apply(parse(text), state, &mut |_| Ok(true)).unwrap()
    }

    #[test]
    fn a_member_changes_only_their_own_membership() {
        let mut s = state("alice@example.org");
        let applied =
            run(&format!("pause\r\nset-default-key {}\r\nremove-key {}\r\nmembers", fpr('B'), fpr('A')), &mut s);
        assert!(!s.sender.delivery);
        assert_eq!(s.sender.default_key, Some(fpr('B')));
        assert!(s.sender.key(&fpr('A')).is_none());
        assert_eq!(applied.removed_keys, vec![fpr('A')]);
        assert_eq!(applied.changes, vec!["pause", "set-default-key", "remove-key"]);
        assert_eq!(applied.answers[3], "that command is for list admins");
        assert!(applied.admin_changes.is_empty() && !applied.settings_changed && !applied.leave);
    }

    #[test]
    fn the_last_verified_key_and_the_last_admin_stay() {
        let mut s = state("olga@example.org");
        let applied = run(&format!("remove-key {}\r\nunsubscribe", fpr('C')), &mut s);
        assert!(applied.answers[0].contains("your last verified key"), "{:?}", applied.answers);
        assert!(applied.answers[1].contains("you are the last admin"), "{:?}", applied.answers);
        assert!(applied.removed_keys.is_empty() && !applied.leave);
    }

    #[test]
    fn an_admin_removes_members_but_not_admins_and_sets_list_settings_only() {
        let mut s = state("olga@example.org");
        let applied =
            run("unsubscribe alice@example.org\r\nunsubscribe olga@example.org\r\nset subject_prefix [x]\r\nset transport smtp://evil\r\nmembers", &mut s);
        assert_eq!(applied.unsubscribed, vec![Address::parse("alice@example.org").unwrap()]);
        assert_eq!(applied.removed_keys, vec![fpr('A'), fpr('B')]);
        assert!(applied.answers[1].contains("send `unsubscribe` alone"));
        assert!(applied.settings_changed);
        assert!(applied.answers[3].starts_with("set: "), "an operator setting is refused: {}", applied.answers[3]);
        assert!(!applied.answers[4].contains("alice"), "the listing shows the removal: {}", applied.answers[4]);
        assert_eq!(applied.admin_changes.len(), 2, "{:?}", applied.admin_changes);
    }

    #[test]
    fn an_unverified_key_may_only_answer_its_challenge_and_rationed_commands_draw_on_the_allowance() {
        let mut s = state("alice@example.org");
        s.verified = false;
        let applied = run("status\r\npause", &mut s);
        assert!(applied.answers.iter().all(|a| a.contains("not verified yet")), "{:?}", applied.answers);
        assert!(s.sender.delivery);

        let mut s = state("alice@example.org");
        let mut asked = 0;
        let applied = apply(parse(&format!("set-default-key {}\r\nadd-key", fpr('B'))), &mut s, &mut |_| {
            asked += 1;
            Ok(false)
        })
        .unwrap();
        assert_eq!(asked, 2);
        assert_eq!(s.sender.default_key, Some(fpr('A')), "nothing changed past the allowance");
        assert!(!applied.add_key && applied.answers.iter().all(|a| a.contains("limited to 3 a day")));
    }

    #[test]
    fn leaving_removes_every_key_and_a_mail_without_commands_gets_the_help() {
        let mut s = state("alice@example.org");
        let applied = run("unsubscribe", &mut s);
        assert!(applied.leave);
        assert_eq!(applied.removed_keys, vec![fpr('A'), fpr('B')]);
        let applied = run("", &mut state("alice@example.org"));
        assert!(applied.answers[0].starts_with("Commands for list@example.org"));
    }
}
