//! A list's typed settings, their defaults (DESIGN.md "Accepting a post") and
//! the text forms `list set` accepts and `list show` prints.

use crate::error::{Error, Result};
use crate::model::printable;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a post is encrypted for its recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encryption {
    /// One encryption to every recipient, split into one copy each (fast).
    Split,
    /// A separate encryption, and session key, per recipient.
    PerRecipient,
}

/// What happens to a post that fails the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Reject,
    Hold,
    Discard,
}

/// How outgoing mail leaves the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Transport {
    /// A sendmail-compatible binary, `/usr/sbin/sendmail` by default.
    Sendmail(String),
    /// An SMTP relay; STARTTLS when offered.
    Smtp { host: String, port: u16 },
    /// Drops every message: for benchmarks and dry runs only.
    Discard,
}

pub const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail";

impl Transport {
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::data(format!("'{}' is not a transport", printable(text)))
                .hint("use sendmail, sendmail:/path/to/sendmail, smtp://host:port or discard")
        };
        if text == "discard" {
            return Ok(Transport::Discard);
        }
        if text == "sendmail" {
            return Ok(Transport::Sendmail(DEFAULT_SENDMAIL.into()));
        }
        if let Some(path) = text.strip_prefix("sendmail:") {
            if !path.starts_with('/') {
                return Err(bad());
            }
            return Ok(Transport::Sendmail(path.into()));
        }
        let rest = text.strip_prefix("smtp://").ok_or_else(bad)?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
            None => (rest, 25),
        };
        let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
        if !host_ok {
            return Err(bad());
        }
        Ok(Transport::Smtp { host: host.into(), port })
    }
}

impl TryFrom<String> for Transport {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Transport::parse(&s)
    }
}

impl From<Transport> for String {
    fn from(t: Transport) -> String {
        t.to_string()
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Sendmail(path) if path == DEFAULT_SENDMAIL => f.write_str("sendmail"),
            Transport::Sendmail(path) => write!(f, "sendmail:{path}"),
            Transport::Smtp { host, port } => write!(f, "smtp://{host}:{port}"),
            Transport::Discard => f.write_str("discard"),
        }
    }
}

/// Every setting of a list. Unknown fields in the store are an error, not ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub require_encryption: bool,
    pub require_signature: bool,
    pub anonymous: bool,
    pub nonmember_action: Action,
    pub unverified_action: Action,
    pub protect_subject: bool,
    /// Put before the Subject of every post (inside the encryption), e.g. `[crypto]`.
    pub subject_prefix: String,
    /// Posts (and command mail) must name this list (or `-request`) in
    /// protected To/Cc inside the signature.
    pub require_protected_headers: bool,
    pub receive_own_posts: bool,
    /// Bytes.
    pub max_message_size: u64,
    /// Seconds.
    pub max_signature_age: u64,
    /// Seconds a challenge token stays valid.
    pub challenge_expiry: u64,
    /// Seconds an undeliverable entry stays queued before admins are told and it is dropped.
    pub queue_expiry: u64,
    /// Bounces after which a member's delivery is disabled.
    pub bounce_threshold: u32,
    /// Days before a member's key expires that `keys check` warns them.
    pub key_expiry_warning_days: u32,
    pub transport: Transport,
    pub encryption: Encryption,
    /// Copies carry the wildcard key ID instead of the recipient's.
    pub hidden_recipients: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            require_encryption: true,
            require_signature: true,
            anonymous: false,
            nonmember_action: Action::Reject,
            unverified_action: Action::Reject,
            protect_subject: true,
            subject_prefix: String::new(),
            require_protected_headers: false,
            receive_own_posts: false,
            max_message_size: 10 * 1024 * 1024,
            max_signature_age: 7 * DAY,
            challenge_expiry: 7 * DAY,
            queue_expiry: 5 * DAY,
            bounce_threshold: 5,
            key_expiry_warning_days: 14,
            transport: Transport::Sendmail(DEFAULT_SENDMAIL.into()),
            encryption: Encryption::Split,
            hidden_recipients: false,
        }
    }
}

const DAY: u64 = 86_400;

/// Who may change a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Only on the host, with the CLI: anything that touches the host (the
    /// transport runs a program or reaches a relay), its limits, and the
    /// rules that keep posts authenticated. A stolen admin key never reaches these.
    Operator,
    /// Also by an admin's signed mail to `-request` (`set NAME VALUE`).
    ListAdmin,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Operator => "operator",
            Scope::ListAdmin => "list admin",
        })
    }
}

/// One setting: its name, who owns it, what it takes, and how it is read and
/// written. [`SETTINGS`] is the single table `list show`, `list set` and
/// `set` by mail read from.
pub struct Setting {
    pub name: &'static str,
    pub scope: Scope,
    /// The values it takes, as the help says them.
    pub takes: &'static str,
    pub help: &'static str,
    get: fn(&Settings) -> String,
    set: fn(&mut Settings, &str) -> std::result::Result<(), ()>,
}

impl Setting {
    pub fn value(&self, settings: &Settings) -> String {
        (self.get)(settings)
    }

    pub fn default_value(&self) -> String {
        (self.get)(&Settings::default())
    }
}

/// Every setting, in the order `list show` prints them.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "require_encryption",
        scope: Scope::Operator,
        takes: "true or false",
        help: "posts must be encrypted to the list key",
        get: |s| s.require_encryption.to_string(),
        set: |s, v| parse_bool(v).map(|x| s.require_encryption = x),
    },
    Setting {
        name: "require_signature",
        scope: Scope::Operator,
        takes: "true or false",
        help: "posts must be signed by a verified key of the From: member",
        get: |s| s.require_signature.to_string(),
        set: |s, v| parse_bool(v).map(|x| s.require_signature = x),
    },
    Setting {
        name: "anonymous",
        scope: Scope::ListAdmin,
        takes: "true or false",
        help: "nothing identifying the author leaves the list",
        get: |s| s.anonymous.to_string(),
        set: |s, v| parse_bool(v).map(|x| s.anonymous = x),
    },
    Setting {
        name: "nonmember_action",
        scope: Scope::ListAdmin,
        takes: "reject, hold or discard",
        help: "what happens to mail from non-members (strangers never get a notice)",
        get: |s| action_name(s.nonmember_action).into(),
        set: |s, v| parse_action(v, true).map(|x| s.nonmember_action = x),
    },
    Setting {
        name: "unverified_action",
        scope: Scope::ListAdmin,
        takes: "reject or hold",
        help: "what happens to a member's post that fails the rules",
        get: |s| action_name(s.unverified_action).into(),
        set: |s, v| parse_action(v, false).map(|x| s.unverified_action = x),
    },
    Setting {
        name: "protect_subject",
        scope: Scope::ListAdmin,
        takes: "true or false",
        help: "the outer Subject of a post is `...`; the real one travels encrypted",
        get: |s| s.protect_subject.to_string(),
        set: |s, v| parse_bool(v).map(|x| s.protect_subject = x),
    },
    Setting {
        name: "subject_prefix",
        scope: Scope::ListAdmin,
        takes: "text of at most 40 characters such as [crypto], or \"\" for none",
        help: "put before the Subject of each post (the protected one), never twice",
        get: |s| s.subject_prefix.clone(),
        set: |s, v| parse_prefix(v).map(|x| s.subject_prefix = x),
    },
    Setting {
        name: "require_protected_headers",
        scope: Scope::ListAdmin,
        takes: "true or false",
        help: "refuse posts whose signed part does not name the list in protected To/Cc (costs inline PGP and some clients)",
        get: |s| s.require_protected_headers.to_string(),
        set: |s, v| parse_bool(v).map(|x| s.require_protected_headers = x),
    },
    Setting {
        name: "receive_own_posts",
        scope: Scope::ListAdmin,
        takes: "true or false",
        help: "authors receive a copy of their own posts",
        get: |s| s.receive_own_posts.to_string(),
        set: |s, v| parse_bool(v).map(|x| s.receive_own_posts = x),
    },
    Setting {
        name: "max_message_size",
        scope: Scope::Operator,
        takes: "a size of at least 1K such as 512K, 10M or 1G",
        help: "larger mail is refused by inject",
        get: |s| format_size(s.max_message_size),
        set: |s, v| parse_size(v).map(|x| s.max_message_size = x),
    },
    Setting {
        name: "max_signature_age",
        scope: Scope::Operator,
        takes: "a duration such as 90s, 30m, 12h, 7d or 2w",
        help: "older signatures are refused (and replays need not be remembered longer)",
        get: |s| format_duration(s.max_signature_age),
        set: |s, v| parse_duration(v).map(|x| s.max_signature_age = x),
    },
    Setting {
        name: "challenge_expiry",
        scope: Scope::Operator,
        takes: "a duration such as 90s, 30m, 12h, 7d or 2w",
        help: "how long a key challenge stays valid",
        get: |s| format_duration(s.challenge_expiry),
        set: |s, v| parse_duration(v).map(|x| s.challenge_expiry = x),
    },
    Setting {
        name: "queue_expiry",
        scope: Scope::Operator,
        takes: "a duration such as 90s, 30m, 12h, 7d or 2w",
        help: "how long undeliverable mail stays queued before admins are told and it is dropped",
        get: |s| format_duration(s.queue_expiry),
        set: |s, v| parse_duration(v).map(|x| s.queue_expiry = x),
    },
    Setting {
        name: "bounce_threshold",
        scope: Scope::ListAdmin,
        takes: "a whole number above 0",
        help: "bounces after which delivery to a member stops",
        get: |s| s.bounce_threshold.to_string(),
        set: |s, v| v.parse().ok().filter(|n| *n > 0).ok_or(()).map(|x| s.bounce_threshold = x),
    },
    Setting {
        name: "key_expiry_warning_days",
        scope: Scope::ListAdmin,
        takes: "a whole number of days",
        help: "how long before a member's key expires `keys check` warns them",
        get: |s| s.key_expiry_warning_days.to_string(),
        set: |s, v| v.parse().map_err(|_| ()).map(|x| s.key_expiry_warning_days = x),
    },
    Setting {
        name: "transport",
        scope: Scope::Operator,
        takes: "sendmail, sendmail:/path/to/sendmail, smtp://host:port or discard",
        help: "how mail leaves the list",
        get: |s| s.transport.to_string(),
        set: |s, v| Transport::parse(v).map_err(|_| ()).map(|x| s.transport = x),
    },
    Setting {
        name: "encryption",
        scope: Scope::Operator,
        takes: "split or per-recipient",
        help: "one encryption split into copies (fast), or one encryption per recipient",
        get: |s| match s.encryption {
            Encryption::Split => "split".into(),
            Encryption::PerRecipient => "per-recipient".into(),
        },
        set: |s, v| {
            s.encryption = match v {
                "split" => Encryption::Split,
                "per-recipient" => Encryption::PerRecipient,
                _ => return Err(()),
            };
            Ok(())
        },
    },
    Setting {
        name: "hidden_recipients",
        scope: Scope::Operator,
        takes: "true or false",
        help: "copies hide the recipient's key ID (wildcard); RNP before 0.17 (Thunderbird on Debian 12), PGPy and hardware tokens cannot open them",
        get: |s| s.hidden_recipients.to_string(),
        set: |s, v| parse_bool(v).map(|x| s.hidden_recipients = x),
    },
];

/// The setting called `name`.
pub fn setting(name: &str) -> Result<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
        Error::data(format!("unknown setting '{}'", printable(name)))
            .hint(format!("settings are: {}", names.join(", ")))
    })
}

impl Settings {
    /// The most a queued mail may decrypt to: the mail itself is at most
    /// `max_message_size`, and decompression may not blow it up past twice that.
    pub fn max_decrypted_size(&self) -> usize {
        usize::try_from(self.max_message_size.saturating_mul(2)).unwrap_or(usize::MAX).max(1 << 20)
    }

    /// Sets one setting from its text form, on the host (every scope);
    /// refuses unknown names and bad values. Returns the new text form.
    pub fn set(&mut self, name: &str, value: &str) -> Result<String> {
        let setting = setting(name)?;
        let value = value.trim();
        (setting.set)(self, value).map_err(|()| {
            Error::data(format!("'{}' is not a valid value for {name}", printable(value)))
                .hint(format!("{name} takes {}", setting.takes))
        })?;
        Ok(setting.value(self))
    }

    /// Sets one setting as a list admin may by mail: operator settings are refused.
    pub fn set_as_list_admin(&mut self, name: &str, value: &str) -> Result<String> {
        let setting = setting(name)?;
        if setting.scope == Scope::Operator {
            return Err(Error::new(crate::error::ErrorKind::Permission, format!("{name} is set on the server"))
                .hint("ask the list's operator; it cannot be changed by mail"));
        }
        self.set(name, value)
    }

    /// Every setting as (name, text form), in table order.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        SETTINGS.iter().map(|s| (s.name, s.value(self))).collect()
    }
}

fn parse_prefix(value: &str) -> std::result::Result<String, ()> {
    let value = value.trim();
    let value = if value == "\"\"" { "" } else { value };
    // No control, bidi or zero-width characters: they would make a Subject lie about itself.
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
    };
    let fits = value.chars().count() <= 40 && !value.chars().any(hidden);
    fits.then(|| value.to_string()).ok_or(())
}

impl Settings {
    /// `subject` with the list's prefix, unless it already carries it (a reply).
    pub fn prefixed_subject(&self, subject: &str) -> String {
        let prefix = &self.subject_prefix;
        if prefix.is_empty() || subject.to_lowercase().contains(&prefix.to_lowercase()) {
            return subject.to_string();
        }
        format!("{prefix} {subject}")
    }
}

fn parse_bool(value: &str) -> std::result::Result<bool, ()> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(()),
    }
}

fn parse_action(value: &str, discard_allowed: bool) -> std::result::Result<Action, ()> {
    match value.to_ascii_lowercase().as_str() {
        "reject" => Ok(Action::Reject),
        "hold" => Ok(Action::Hold),
        "discard" if discard_allowed => Ok(Action::Discard),
        _ => Err(()),
    }
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::Reject => "reject",
        Action::Hold => "hold",
        Action::Discard => "discard",
    }
}

/// `1048576`, `512K`, `10M`, `1G`.
fn parse_size(value: &str) -> std::result::Result<u64, ()> {
    let (digits, unit) = split_unit(value);
    let mult = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => 1024 * 1024,
        "G" | "GB" | "GIB" => 1024 * 1024 * 1024,
        _ => 0,
    };
    digits.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)).filter(|n| *n >= 1024).ok_or(())
}

fn format_size(bytes: u64) -> String {
    for (unit, size) in [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] {
        if bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// `90s`, `30m`, `12h`, `7d`, `2w`; a bare number is seconds.
fn parse_duration(value: &str) -> std::result::Result<u64, ()> {
    let (digits, unit) = split_unit(value);
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => DAY,
        "w" => 7 * DAY,
        _ => 0,
    };
    digits.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)).filter(|n| *n > 0).ok_or(())
}

fn format_duration(secs: u64) -> String {
    for (unit, size) in [("d", DAY), ("h", 3600), ("m", 60)] {
        if secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

fn split_unit(value: &str) -> (&str, &str) {
    let at = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    (&value[..at], value[at..].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_round_trips_through_its_text_form() {
        let defaults = Settings::default();
        let mut copy = Settings { anonymous: true, ..Settings::default() };
        for (name, value) in defaults.entries() {
            copy.set(name, &value).unwrap();
        }
        assert_eq!(copy, defaults);
        assert_eq!(defaults.entries().len(), SETTINGS.len());
    }

    #[test]
    fn bad_names_and_values_are_refused() {
        let mut s = Settings::default();
        assert!(s.set("colour", "blue").is_err());
        assert!(s.set("anonymous", "maybe").is_err());
        assert!(s.set("unverified_action", "discard").is_err());
        assert!(s.set("max_message_size", "10X").is_err());
        assert!(s.set("max_signature_age", "0d").is_err());
        assert!(s.set("transport", "smtp://").is_err());
        assert!(s.set("transport", "sendmail:relative").is_err());
        s.set("transport", "smtp://127.0.0.1:2525").unwrap();
        assert_eq!(s.transport, Transport::Smtp { host: "127.0.0.1".into(), port: 2525 });
        s.set("max_message_size", "512K").unwrap();
        assert_eq!(s.max_message_size, 512 * 1024);
        s.set("max_signature_age", "2w").unwrap();
        assert_eq!(s.max_signature_age, 14 * DAY);
        assert!(s.set("subject_prefix", "[a]\r\nBcc: x@example.org").is_err(), "no header injection");
        assert!(s.set("subject_prefix", &"x".repeat(41)).is_err());
        assert!(s.set("subject_prefix", "[a\u{202E}b]").is_err(), "no bidi override");
    }

    #[test]
    fn the_subject_prefix_is_never_doubled() {
        let mut s = Settings::default();
        assert_eq!(s.prefixed_subject("Hello"), "Hello");
        s.set("subject_prefix", "[crypto]").unwrap();
        assert_eq!(s.prefixed_subject("Hello"), "[crypto] Hello");
        assert_eq!(s.prefixed_subject("Re: [Crypto] Hello"), "Re: [Crypto] Hello");
        s.set("subject_prefix", "\"\"").unwrap();
        assert_eq!(s.subject_prefix, "");
    }
}
