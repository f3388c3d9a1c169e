//! What a Schleuder list's settings become in listcrypt. Each one is either
//! carried over to the listcrypt setting with the same meaning, or named
//! with what listcrypt does instead and why. Pure: the tests below need no
//! Schleuder.

use super::db::{boolean, Value};
use crate::error::{Error, Result};
use crate::model::printable;
use crate::settings::{Action, Settings};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// One Schleuder setting and what becomes of it.
#[derive(Debug, Clone, Serialize)]
pub struct SettingLine {
    pub schleuder: String,
    /// Its value in Schleuder, as printed.
    pub value: String,
    /// `name = value` of the listcrypt setting it became, if any.
    pub listcrypt: Option<String>,
    /// What listcrypt does instead, or how it differs, and why.
    pub note: Option<String>,
}

impl fmt::Display for SettingLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", self.schleuder, self.value)?;
        match (&self.listcrypt, &self.note) {
            (Some(to), Some(note)) => write!(f, " -> {to} ({note})"),
            (Some(to), None) => write!(f, " -> {to}"),
            (None, Some(note)) => write!(f, ": {note}"),
            (None, None) => Ok(()),
        }
    }
}

/// The new list's settings and one line per Schleuder setting.
#[derive(Debug)]
pub struct Mapped {
    pub settings: Settings,
    pub lines: Vec<SettingLine>,
}

/// The settings columns in the order the lines are printed: what carries
/// over first, then what listcrypt does its own way.
const ORDER: &[&str] = &[
    "receive_encrypted_only",
    "receive_signed_only",
    "receive_authenticated_only",
    "receive_from_subscribed_emailaddresses_only",
    "receive_admin_only",
    "max_message_size_kb",
    "deliver_selfsent",
    "subject_prefix",
    "subject_prefix_in",
    "subject_prefix_out",
    "send_encrypted_only",
    "headers_to_meta",
    "keep_msgid",
    "internal_footer",
    "public_footer",
    "include_list_headers",
    "include_autocrypt_header",
    "include_openpgp_header",
    "openpgp_header_preference",
    "set_reply_to_to_sender",
    "munge_from",
    "bounces_drop_all",
    "bounces_drop_on_headers",
    "bounces_notify_admins",
    "keywords_admin_only",
    "keywords_admin_notify",
    "forward_all_incoming_to_admins",
    "language",
    "log_level",
    "logfiles_to_keep",
];

/// Maps the settings columns of a Schleuder list (`list`, its address, for
/// the messages). Refuses a newsletter list (`receive_admin_only`):
/// listcrypt lets every member post, and an import must not widen who may.
pub fn map(columns: &BTreeMap<String, Value>, list: &str) -> Result<Mapped> {
    let read = Reader(columns);
    if read.flag("receive_admin_only")? {
        return Err(Error::data(format!(
            "{list} takes posts from its admins only (receive_admin_only), and listcrypt has no such lists: every member could post"
        ))
        .hint(format!(
            "if members may post after the move, switch it off in Schleuder first (`schleuder-cli lists set {list} receive_admin_only false`), then import"
        )));
    }
    let mut settings = Settings::default();
    let mut lines = carried_over(&read, &mut settings)?;
    let carried: Vec<String> = lines.iter().map(|l| l.schleuder.clone()).collect();
    for name in ORDER.iter().copied().filter(|n| !carried.iter().any(|c| c == n)) {
        let value = read.get(name)?;
        lines.push(SettingLine {
            schleuder: name.into(),
            value: shown(name, value),
            listcrypt: None,
            note: Some(instead(name, value, &settings)?),
        });
    }
    for (name, value) in columns.iter().filter(|(n, _)| !ORDER.contains(&n.as_str())) {
        lines.push(SettingLine {
            schleuder: name.clone(),
            value: shown(name, value),
            listcrypt: None,
            note: Some("not carried over: listcrypt does not know this setting".into()),
        });
    }
    Ok(Mapped { settings, lines })
}

/// The settings with a listcrypt counterpart.
fn carried_over(read: &Reader<'_>, settings: &mut Settings) -> Result<Vec<SettingLine>> {
    let encrypted = read.flag("receive_encrypted_only")?;
    let signed = read.flag("receive_signed_only")?;
    let authenticated = read.flag("receive_authenticated_only")?;
    let subscribed = read.flag("receive_from_subscribed_emailaddresses_only")?;
    settings.require_encryption = encrypted;
    settings.require_signature = signed || authenticated;
    settings.nonmember_action = if subscribed || authenticated { Action::Reject } else { Action::Hold };
    let mut lines = vec![
        mapped("receive_encrypted_only", flag(encrypted), settings, "require_encryption", (!encrypted).then_some(
            "a member's post need not be encrypted to the list key; every copy still goes out encrypted",
        )),
        mapped("receive_signed_only", flag(signed), settings, "require_signature", Some(match (signed, authenticated) {
            (true, _) => "listcrypt accepts only a signature by a verified key of the member in From:, where Schleuder took a valid signature by any key in its keyring",
            (false, true) => "set by receive_authenticated_only",
            (false, false) => "a member's unsigned post is distributed on the strength of its From: address, which anyone can forge",
        })),
        mapped("receive_authenticated_only", flag(authenticated), settings, "require_signature", Some(match (authenticated, signed) {
            (true, _) => "Schleuder accepted a signature by any subscriber's key, whatever the From:; listcrypt requires the key of the member in From:",
            (false, true) => "set by receive_signed_only; the signer must be the member in From:, not any subscriber",
            (false, false) => "posts need no signature; a signed post must still be signed by the From: member's own key",
        })),
        mapped("receive_from_subscribed_emailaddresses_only", flag(subscribed), settings, "nonmember_action", Some(match (subscribed, authenticated) {
            (true, _) => "strangers get no answer, where Schleuder bounced: no backscatter to forged senders",
            (false, true) => "receive_authenticated_only refused strangers' mail already; listcrypt refuses it without an answer",
            (false, false) => "Schleuder distributed mail from anyone; listcrypt never distributes a non-member's mail by itself: it is held for the admins (`listcrypt queue release`)",
        })),
    ];
    let kb = read.int("max_message_size_kb")?;
    lines.push(match settings.set("max_message_size", &format!("{kb}K")) {
        Ok(_) => mapped("max_message_size_kb", kb.to_string(), settings, "max_message_size", None),
        Err(_) => kept(
            "max_message_size_kb",
            kb.to_string(),
            settings,
            "max_message_size",
            "listcrypt takes a size of at least 1K",
        ),
    });
    let own = read.flag("deliver_selfsent")?;
    settings.receive_own_posts = own;
    lines.push(mapped("deliver_selfsent", flag(own), settings, "receive_own_posts", None));
    let prefix = read.text("subject_prefix")?;
    lines.push(match settings.set("subject_prefix", &prefix) {
        Ok(_) if !prefix.trim().is_empty() => mapped("subject_prefix", quoted(&prefix), settings, "subject_prefix", Some("on the Subject inside the encryption")),
        Ok(_) => mapped("subject_prefix", quoted(&prefix), settings, "subject_prefix", None),
        Err(_) => kept("subject_prefix", quoted(&prefix), settings, "subject_prefix", "listcrypt takes at most 40 characters and no control characters; set one with `listcrypt list set LIST subject_prefix TEXT`"),
    });
    Ok(lines)
}

/// A line for a setting carried over as `to`, with its new value.
fn mapped(name: &str, value: String, settings: &Settings, to: &str, note: Option<&str>) -> SettingLine {
    SettingLine {
        schleuder: name.into(),
        value,
        listcrypt: Some(listcrypt_value(settings, to)),
        note: note.map(str::to_string),
    }
}

/// A line for a setting whose value listcrypt cannot take: the default stays.
fn kept(name: &str, value: String, settings: &Settings, setting: &str, why: &str) -> SettingLine {
    SettingLine {
        schleuder: name.into(),
        value,
        listcrypt: None,
        note: Some(format!("not carried over: {why}; {} stays", listcrypt_value(settings, setting))),
    }
}

fn listcrypt_value(settings: &Settings, name: &str) -> String {
    let value = crate::settings::setting(name).map(|s| s.value(settings)).unwrap_or_default();
    let value = if value.is_empty() { "\"\"".to_string() } else { value };
    format!("{name} = {value}")
}

/// What listcrypt does instead of a setting it has no counterpart for, and why.
fn instead(name: &str, value: &Value, settings: &Settings) -> Result<String> {
    let on = || boolean(value).ok_or_else(|| not_a_boolean(name, value));
    let text = |t: &str| t.to_string();
    let not_carried = |why: &str| format!("not carried over: {why}");
    // Said plainly when Schleuder's value is listcrypt's fixed behaviour too.
    let always = |same: bool, what: &str| if same { text(what) } else { not_carried(what) };
    Ok(match name {
        "receive_admin_only" => text("every member may post, as on every listcrypt list"),
        "subject_prefix_in" => not_carried(match settings.require_signature {
            true => "listcrypt distributes no unauthenticated mail (a post an admin releases from the hold queue is marked [not authenticated])",
            false => "listcrypt does not mark members' unsigned posts (a post an admin releases from the hold queue is marked [not authenticated])",
        }),
        "subject_prefix_out" => not_carried("listcrypt resends nothing to addresses outside the list (Schleuder's resend keywords)"),
        "send_encrypted_only" => always(on()?, "listcrypt never sends a cleartext copy: a member without a usable key receives nothing, and the admins are told"),
        "headers_to_meta" => not_carried("listcrypt writes no pseudo-headers into the body: the author's From, To, Cc, Date and Subject travel as protected headers inside the encryption (RFC 9788), and only posts that pass the rules are distributed, so there is no signature state to report"),
        "keep_msgid" => always(on()?, "listcrypt passes the author's Message-ID, In-Reply-To and References on, so threads work; only anonymous lists (`anonymous`, which hides the author too) drop them"),
        "internal_footer" => always(is_empty(value), "listcrypt adds no footer: members receive the author's content as it was signed"),
        "public_footer" => always(is_empty(value), "listcrypt sends nothing to addresses outside the list, so it has no public footer"),
        "include_list_headers" => always(on()?, "listcrypt always adds List-Id, List-Post, List-Help, List-Unsubscribe and List-Owner (RFC 2369, RFC 2919)"),
        "include_autocrypt_header" => always(on()?, "listcrypt always sends the list's key in an Autocrypt header"),
        "include_openpgp_header" => always(!on()?, "listcrypt sends no OpenPGP header; the list's key travels in the Autocrypt header of every post and notice"),
        "openpgp_header_preference" => not_carried("listcrypt sends no OpenPGP header (see include_openpgp_header)"),
        "set_reply_to_to_sender" => always(!on()?, "listcrypt's Reply-To is always the list"),
        "munge_from" => always(!on()?, "From: stays the author's address (the list's own on anonymous lists)"),
        "bounces_drop_all" => not_carried("a member whose post is refused gets one content-free notice (at most one an hour), a stranger nothing"),
        "bounces_drop_on_headers" => not_carried("listcrypt drops nothing by header; strangers' mail follows nonmember_action and is never answered"),
        "bounces_notify_admins" => always(on()?, "listcrypt always tells the admins, encrypted: each refused member post, and refused strangers' mail as an hourly count"),
        "keywords_admin_only" => not_carried("listcrypt's -request commands are fixed: subscribe ADDR and unsubscribe ADDR are for admins, members manage only their own keys (`help` lists them)"),
        "keywords_admin_notify" => not_carried("listcrypt tells the admins of every subscription and key change made by mail, in one report an hour"),
        "forward_all_incoming_to_admins" => always(!on()?, "listcrypt never forwards incoming mail; admins read held entries on the host with `listcrypt queue show`"),
        "language" => always(matches!(value, Value::Text(t) if t == "en"), "listcrypt writes its notices in English only"),
        "log_level" => not_carried("listcrypt's list log records every event, one line each, never any content"),
        "logfiles_to_keep" => not_carried("listcrypt keeps one list log, lists/ADDRESS/log; rotate it with logrotate"),
        _ => not_carried("listcrypt does not know this setting"),
    })
}

fn is_empty(value: &Value) -> bool {
    matches!(value, Value::Null) || matches!(value, Value::Text(t) if t.trim().is_empty())
}

/// The list's row, read by column name.
struct Reader<'a>(&'a BTreeMap<String, Value>);

impl Reader<'_> {
    fn get(&self, name: &str) -> Result<&Value> {
        self.0.get(name).ok_or_else(|| {
            Error::data(format!(
                "Schleuder's lists table has no column {name}, so it is not the schema listcrypt knows"
            ))
        })
    }

    fn flag(&self, name: &str) -> Result<bool> {
        let value = self.get(name)?;
        boolean(value).ok_or_else(|| not_a_boolean(name, value))
    }

    fn int(&self, name: &str) -> Result<i64> {
        match self.get(name)? {
            Value::Integer(n) => Ok(*n),
            Value::Text(t) => t.trim().parse().map_err(|_| not_a_number(name, t)),
            Value::Null => Err(not_a_number(name, "NULL")),
        }
    }

    fn text(&self, name: &str) -> Result<String> {
        Ok(match self.get(name)? {
            Value::Null => String::new(),
            Value::Integer(n) => n.to_string(),
            Value::Text(t) => t.clone(),
        })
    }
}

fn not_a_boolean(name: &str, value: &Value) -> Error {
    Error::data(format!("Schleuder's {name} holds {}, not a boolean", shown("", value)))
}

fn not_a_number(name: &str, value: &str) -> Error {
    Error::data(format!("Schleuder's {name} holds '{}', not a number", printable(value)))
}

fn flag(on: bool) -> String {
    on.to_string()
}

/// A value as the plan prints it: booleans as true/false, JSON as stored,
/// other text quoted (control characters escaped).
fn shown(name: &str, value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Integer(n) if BOOLEANS.contains(&name) => boolean(value).map_or(n.to_string(), flag),
        Value::Integer(n) => n.to_string(),
        Value::Text(t) if BOOLEANS.contains(&name) => boolean(value).map_or_else(|| quoted(t), flag),
        Value::Text(t) if JSON.contains(&name) => printable(t),
        Value::Text(t) => quoted(t),
    }
}

fn quoted(text: &str) -> String {
    format!("{:?}", text.chars().take(200).collect::<String>())
}

/// Columns that hold JSON (Schleuder writes it compactly).
const JSON: &[&str] = &["headers_to_meta", "bounces_drop_on_headers", "keywords_admin_only", "keywords_admin_notify"];

const BOOLEANS: &[&str] = &[
    "send_encrypted_only",
    "receive_encrypted_only",
    "receive_signed_only",
    "receive_authenticated_only",
    "receive_from_subscribed_emailaddresses_only",
    "receive_admin_only",
    "keep_msgid",
    "bounces_drop_all",
    "bounces_notify_admins",
    "include_list_headers",
    "include_openpgp_header",
    "forward_all_incoming_to_admins",
    "deliver_selfsent",
    "include_autocrypt_header",
    "set_reply_to_to_sender",
    "munge_from",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian 12's list-defaults.yml, as a new list stores it.
    fn defaults() -> BTreeMap<String, Value> {
        let mut c = BTreeMap::new();
        for name in BOOLEANS {
            c.insert(name.to_string(), Value::Integer(0));
        }
        for name in [
            "send_encrypted_only",
            "keep_msgid",
            "bounces_notify_admins",
            "include_list_headers",
            "include_openpgp_header",
            "deliver_selfsent",
            "include_autocrypt_header",
        ] {
            c.insert(name.to_string(), Value::Integer(1));
        }
        for (name, text) in [
            ("log_level", "warn"),
            ("subject_prefix", ""),
            ("subject_prefix_in", ""),
            ("subject_prefix_out", ""),
            ("openpgp_header_preference", "signencrypt"),
            ("public_footer", ""),
            ("internal_footer", ""),
            ("headers_to_meta", r#"["from","to","cc","date","sig","enc"]"#),
            ("bounces_drop_on_headers", r#"{"x-spam-flag":true}"#),
            ("keywords_admin_only", r#"["subscribe","unsubscribe","delete-key"]"#),
            ("keywords_admin_notify", r#"["add-key"]"#),
            ("language", "en"),
        ] {
            c.insert(name.to_string(), Value::Text(text.into()));
        }
        c.insert("max_message_size_kb".into(), Value::Integer(10240));
        c.insert("logfiles_to_keep".into(), Value::Integer(2));
        c
    }

    fn line<'a>(m: &'a Mapped, name: &str) -> &'a SettingLine {
        m.lines.iter().find(|l| l.schleuder == name).unwrap()
    }

    #[test]
    fn every_setting_gets_exactly_one_line() {
        let m = map(&defaults(), "l@example.org").unwrap();
        assert_eq!(m.lines.len(), ORDER.len());
        for name in ORDER {
            assert_eq!(m.lines.iter().filter(|l| l.schleuder == *name).count(), 1, "{name}");
        }
        assert!(m.lines.iter().all(|l| l.listcrypt.is_some() || l.note.is_some()));
    }

    #[test]
    fn schleuders_defaults_keep_what_the_list_accepted() {
        let m = map(&defaults(), "l@example.org").unwrap();
        assert!(!m.settings.require_encryption && !m.settings.require_signature);
        assert_eq!(m.settings.nonmember_action, Action::Hold, "never distributed unreviewed");
        assert!(m.settings.receive_own_posts);
        assert_eq!(m.settings.max_message_size, 10 << 20);
        assert_eq!(line(&m, "language").to_string(), "language = \"en\": listcrypt writes its notices in English only");
    }

    #[test]
    fn strict_settings_carry_over_and_the_signer_difference_is_said() {
        let mut c = defaults();
        for name in ["receive_encrypted_only", "receive_signed_only", "receive_authenticated_only"] {
            c.insert(name.into(), Value::Integer(1));
        }
        c.insert("deliver_selfsent".into(), Value::Text("f".into()));
        c.insert("max_message_size_kb".into(), Value::Integer(2048));
        c.insert("subject_prefix".into(), Value::Text("[secret]".into()));
        let m = map(&c, "l@example.org").unwrap();
        let s = &m.settings;
        assert!(s.require_encryption && s.require_signature && !s.receive_own_posts);
        assert_eq!(
            (s.nonmember_action, s.max_message_size, s.subject_prefix.as_str()),
            (Action::Reject, 2 << 20, "[secret]")
        );
        let signer = line(&m, "receive_authenticated_only").to_string();
        assert!(signer.contains("-> require_signature = true") && signer.contains("member in From:"), "{signer}");
        assert_eq!(line(&m, "max_message_size_kb").to_string(), "max_message_size_kb = 2048 -> max_message_size = 2M");
    }

    #[test]
    fn a_newsletter_list_and_bad_values_are_refused() {
        let mut c = defaults();
        c.insert("receive_admin_only".into(), Value::Integer(1));
        assert!(map(&c, "l@example.org").unwrap_err().message().contains("admins only"));
        let mut c = defaults();
        c.insert("munge_from".into(), Value::Text("maybe".into()));
        assert!(map(&c, "l@example.org").is_err());
        let mut c = defaults();
        c.remove("deliver_selfsent");
        assert!(map(&c, "l@example.org").is_err());
    }

    #[test]
    fn values_listcrypt_cannot_take_keep_its_default_and_say_so() {
        let mut c = defaults();
        c.insert("subject_prefix".into(), Value::Text("x".repeat(41)));
        c.insert("max_message_size_kb".into(), Value::Integer(0));
        c.insert("colour".into(), Value::Text("blue".into()));
        let m = map(&c, "l@example.org").unwrap();
        assert_eq!(m.settings.subject_prefix, "");
        assert!(line(&m, "subject_prefix").to_string().contains("not carried over"));
        assert!(line(&m, "max_message_size_kb").to_string().ends_with("max_message_size = 10M stays"));
        assert!(line(&m, "colour").to_string().contains("does not know"));
    }
}
