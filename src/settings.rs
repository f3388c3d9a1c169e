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
            receive_own_posts: false,
            max_message_size: 10 * 1024 * 1024,
            max_signature_age: 7 * DAY,
            challenge_expiry: 7 * DAY,
            queue_expiry: 5 * DAY,
            bounce_threshold: 5,
            key_expiry_warning_days: 14,
            transport: Transport::Sendmail(DEFAULT_SENDMAIL.into()),
            encryption: Encryption::Split,
        }
    }
}

const DAY: u64 = 86_400;

/// The setting names, in the order `list show` prints them.
pub const NAMES: &[&str] = &[
    "require_encryption",
    "require_signature",
    "anonymous",
    "nonmember_action",
    "unverified_action",
    "protect_subject",
    "receive_own_posts",
    "max_message_size",
    "max_signature_age",
    "challenge_expiry",
    "queue_expiry",
    "bounce_threshold",
    "key_expiry_warning_days",
    "transport",
    "encryption",
];

impl Settings {
    /// The most a queued mail may decrypt to: the mail itself is at most
    /// `max_message_size`, and decompression may not blow it up past twice that.
    pub fn max_decrypted_size(&self) -> usize {
        usize::try_from(self.max_message_size.saturating_mul(2)).unwrap_or(usize::MAX).max(1 << 20)
    }

    /// Sets one setting from its text form; refuses unknown names and bad values.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let value = value.trim();
        match name {
            "require_encryption" => self.require_encryption = parse_bool(name, value)?,
            "require_signature" => self.require_signature = parse_bool(name, value)?,
            "anonymous" => self.anonymous = parse_bool(name, value)?,
            "protect_subject" => self.protect_subject = parse_bool(name, value)?,
            "receive_own_posts" => self.receive_own_posts = parse_bool(name, value)?,
            "nonmember_action" => self.nonmember_action = parse_action(name, value, true)?,
            "unverified_action" => self.unverified_action = parse_action(name, value, false)?,
            "max_message_size" => self.max_message_size = parse_size(name, value)?,
            "max_signature_age" => self.max_signature_age = parse_duration(name, value)?,
            "challenge_expiry" => self.challenge_expiry = parse_duration(name, value)?,
            "queue_expiry" => self.queue_expiry = parse_duration(name, value)?,
            "bounce_threshold" => {
                self.bounce_threshold = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad_value(name, value, "a whole number above 0"))?
            }
            "key_expiry_warning_days" => {
                self.key_expiry_warning_days =
                    value.parse().ok().ok_or_else(|| bad_value(name, value, "a whole number of days"))?
            }
            "transport" => self.transport = Transport::parse(value)?,
            "encryption" => {
                self.encryption = match value {
                    "split" => Encryption::Split,
                    "per-recipient" => Encryption::PerRecipient,
                    _ => return Err(bad_value(name, value, "split or per-recipient")),
                }
            }
            _ => {
                return Err(Error::data(format!("unknown setting '{}'", printable(name)))
                    .hint(format!("settings are: {}", NAMES.join(", "))))
            }
        }
        Ok(())
    }

    /// Every setting as (name, text form), in [`NAMES`] order.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        NAMES.iter().map(|n| (*n, self.get(n))).collect()
    }

    fn get(&self, name: &str) -> String {
        match name {
            "require_encryption" => self.require_encryption.to_string(),
            "require_signature" => self.require_signature.to_string(),
            "anonymous" => self.anonymous.to_string(),
            "protect_subject" => self.protect_subject.to_string(),
            "receive_own_posts" => self.receive_own_posts.to_string(),
            "nonmember_action" => action_name(self.nonmember_action).into(),
            "unverified_action" => action_name(self.unverified_action).into(),
            "max_message_size" => format_size(self.max_message_size),
            "max_signature_age" => format_duration(self.max_signature_age),
            "challenge_expiry" => format_duration(self.challenge_expiry),
            "queue_expiry" => format_duration(self.queue_expiry),
            "bounce_threshold" => self.bounce_threshold.to_string(),
            "key_expiry_warning_days" => self.key_expiry_warning_days.to_string(),
            "transport" => self.transport.to_string(),
            "encryption" => match self.encryption {
                Encryption::Split => "split".into(),
                Encryption::PerRecipient => "per-recipient".into(),
            },
            _ => String::new(),
        }
    }
}

fn bad_value(name: &str, value: &str, expected: &str) -> Error {
    Error::data(format!("'{}' is not a valid value for {name}", printable(value)))
        .hint(format!("{name} takes {expected}"))
}

fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(bad_value(name, value, "true or false")),
    }
}

fn parse_action(name: &str, value: &str, discard_allowed: bool) -> Result<Action> {
    match value {
        "reject" => Ok(Action::Reject),
        "hold" => Ok(Action::Hold),
        "discard" if discard_allowed => Ok(Action::Discard),
        _ if discard_allowed => Err(bad_value(name, value, "reject, hold or discard")),
        _ => Err(bad_value(name, value, "reject or hold")),
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
fn parse_size(name: &str, value: &str) -> Result<u64> {
    let (digits, unit) = split_unit(value);
    let mult = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => 1024 * 1024,
        "G" | "GB" | "GIB" => 1024 * 1024 * 1024,
        _ => 0,
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n >= 1024)
        .ok_or_else(|| bad_value(name, value, "a size of at least 1K such as 512K, 10M or 1G"))
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
fn parse_duration(name: &str, value: &str) -> Result<u64> {
    let (digits, unit) = split_unit(value);
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => DAY,
        "w" => 7 * DAY,
        _ => 0,
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n > 0)
        .ok_or_else(|| bad_value(name, value, "a duration such as 90s, 30m, 12h, 7d or 2w"))
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
        assert_eq!(defaults.entries().len(), NAMES.len());
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
    }
}
