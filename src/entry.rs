//! Queue entries: one message on its way through the pipeline. The entry
//! record holds only metadata; its payload (the mail, always encrypted to
//! the list key) is stored apart, under the same id.

use crate::model::{now, random_token};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Stored by `inject`, waiting for `verify`.
    Incoming,
    /// Waiting for an admin (`queue release` or `queue discard`).
    Held,
    /// Approved, waiting for `distribute`.
    Outgoing,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Incoming => "incoming",
            Stage::Held => "held",
            Stage::Outgoing => "outgoing",
        })
    }
}

/// How long a run may work on an entry before another run may take it over.
pub const LEASE_SECONDS: u64 = 600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub stage: Stage,
    /// Sent to the `-request` address.
    pub request: bool,
    pub received: u64,
    pub attempts: u32,
    /// Not before this time (back-off after a temporary failure).
    pub next_attempt: u64,
    pub last_error: Option<String>,
    /// Released by an admin: distributed without the acceptance rules.
    pub released: bool,
    /// Why it is held.
    pub held_reason: Option<String>,
    /// A run works on it until then.
    pub lease_until: u64,
}

impl Entry {
    pub fn new(request: bool) -> Self {
        Entry {
            id: random_token(16),
            stage: Stage::Incoming,
            request,
            received: now(),
            attempts: 0,
            next_attempt: 0,
            last_error: None,
            released: false,
            held_reason: None,
            lease_until: 0,
        }
    }

    /// True when no other run holds it and its back-off has passed.
    pub fn is_ready(&self, at: u64) -> bool {
        self.lease_until <= at && self.next_attempt <= at
    }

    /// Records a temporary failure: exponential back-off from one minute to six hours.
    pub fn defer(&mut self, error: &str) {
        self.attempts = self.attempts.saturating_add(1);
        let delay = (60u64 << self.attempts.min(9)).min(6 * 3600);
        self.next_attempt = now() + delay;
        self.last_error = Some(error.to_string());
        self.lease_until = 0;
    }
}

/// Entry ids are letters and digits; anything else on argv/stdin is refused.
pub fn valid_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_and_is_capped() {
        let mut e = Entry::new(false);
        e.defer("down");
        let first = e.next_attempt - now();
        for _ in 0..20 {
            e.defer("down");
        }
        let last = e.next_attempt - now();
        assert!((119..=121).contains(&first), "{first}");
        assert!(last <= 6 * 3600 && last > first);
        assert!(!e.is_ready(now()));
    }
}
