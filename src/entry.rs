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

/// How long a lease lasts unless renewed: longer than any single step of a
/// run (each gpg operation and each copy sent have their own time limits),
/// so a run that has not renewed it by then is hung, and its entry must not
/// wait for it for ever. A long distribution renews it as it goes.
pub const LEASE_SECONDS: u64 = 1800;

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
    /// A run works on it until then, unless that run has died.
    pub lease_until: u64,
    #[serde(default)]
    pub lease_holder: Option<LeaseHolder>,
    /// Runs in a row that began work on it and never finished (stopped by
    /// gpg's time limit, or killed): past [`MAX_STOPPED_RUNS`] it is quarantined.
    #[serde(default)]
    pub stopped_runs: u32,
    /// The list's progress count (the store's `progress`) when
    /// the last attempt began: a run that stopped while nothing else got
    /// through either was the host's trouble (a hung agent), not this entry's.
    #[serde(default)]
    pub progress_at_begin: u64,
    /// Quarantined from this stage: a release sends it back there.
    #[serde(default)]
    pub quarantined_from: Option<Stage>,
}

/// Runs that may stop on one entry before it is quarantined (admins told):
/// a mail that makes gpg overrun its time limit must not stall the queue.
pub const MAX_STOPPED_RUNS: u32 = 3;

/// The process holding a lease, by PID and start time, so that a lease of a
/// killed run is taken over at once (and a reused PID is not mistaken for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHolder {
    pub pid: u32,
    /// Start time in clock ticks after boot (`/proc/PID/stat`, field 22).
    pub started: u64,
}

impl LeaseHolder {
    pub fn me() -> Option<LeaseHolder> {
        let pid = std::process::id();
        Some(LeaseHolder { pid, started: start_time(pid)? })
    }

    pub fn is_alive(&self) -> bool {
        start_time(self.pid) == Some(self.started)
    }
}

fn start_time(pid: u32) -> Option<u64> {
    crate::proc::stat(pid)?.field(22)?.parse().ok()
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
            lease_holder: None,
            stopped_runs: 0,
            progress_at_begin: 0,
            quarantined_from: None,
        }
    }

    /// True while a run works on it: until the lease's deadline, which a
    /// working run renews, or at once when the holder's process is gone.
    pub fn is_leased(&self, at: u64) -> bool {
        self.lease_until > at && self.lease_holder.as_ref().is_none_or(LeaseHolder::is_alive)
    }

    /// True if this process holds the lease.
    pub fn is_leased_by_me(&self) -> bool {
        self.lease_holder.is_some() && self.lease_holder == LeaseHolder::me()
    }

    /// Takes the lease for this process.
    pub fn take_lease(&mut self, at: u64) {
        self.lease_until = at + LEASE_SECONDS;
        self.lease_holder = LeaseHolder::me();
    }

    /// Gives the lease back.
    pub fn end_lease(&mut self) {
        self.lease_until = 0;
        self.lease_holder = None;
    }

    /// True when no other run holds it and its back-off has passed.
    pub fn is_ready(&self, at: u64) -> bool {
        !self.is_leased(at) && self.next_attempt <= at
    }

    /// Starts an attempt, counted with its back-off before any work is
    /// done: a run that gpg's time limit stops (the process ends) or that is
    /// killed still counts, and the next run takes the entries behind it
    /// first instead of stalling on it.
    pub fn begin_attempt(&mut self, at: u64, progress: u64) {
        // Only a run that stopped while other entries got through counts
        // against this one; if nothing moved, the host was at fault.
        if self.stopped_runs > 0 && progress == self.progress_at_begin {
            self.stopped_runs = 0;
        }
        self.progress_at_begin = progress;
        self.next_attempt = at + back_off(self.attempts);
        self.attempts = self.attempts.saturating_add(1);
        self.stopped_runs = self.stopped_runs.saturating_add(1);
    }

    /// More runs stopped on it than [`MAX_STOPPED_RUNS`]: it goes to quarantine.
    pub fn is_stalling(&self) -> bool {
        self.stopped_runs > MAX_STOPPED_RUNS
    }

    /// The attempt ended here (decided, deferred, quarantined): no stopped run.
    pub fn end_attempt(&mut self) {
        self.stopped_runs = 0;
        self.end_lease();
    }

    /// Takes back an attempt that could not start (the list key is locked):
    /// it counts for nothing, and the entry is ready again at once.
    pub fn undo_attempt(&mut self) {
        self.attempts = self.attempts.saturating_sub(1);
        self.next_attempt = 0;
        self.end_attempt();
    }

    /// Records a temporary failure: exponential back-off from one minute to
    /// six hours (already set when the attempt began).
    pub fn defer(&mut self, error: &str) {
        if self.next_attempt <= now() {
            self.next_attempt = now() + back_off(self.attempts);
            self.attempts = self.attempts.saturating_add(1);
        }
        self.last_error = Some(error.to_string());
        self.end_attempt();
    }
}

/// The wait after `attempts` earlier attempts: a minute, doubling to six hours.
fn back_off(attempts: u32) -> u64 {
    (60u64 << attempts.min(9)).min(6 * 3600)
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
        e.begin_attempt(now(), 0);
        e.defer("down");
        let first = e.next_attempt - now();
        for _ in 0..20 {
            e.next_attempt = 0; // the back-off has passed
            e.begin_attempt(now(), 0);
            e.defer("down");
        }
        let last = e.next_attempt - now();
        assert!((59..=61).contains(&first), "the first retry comes after a minute, not {first} s");
        assert!(last <= 6 * 3600 && last > first);
        assert!(!e.is_ready(now()));
        assert_eq!((e.attempts, e.stopped_runs), (21, 0));
    }

    #[test]
    fn a_run_that_stops_mid_way_still_counts() {
        let mut e = Entry::new(false);
        for run in 1..=MAX_STOPPED_RUNS + 1 {
            assert!(!e.is_stalling());
            // The process ends (gpg past its limit) while other entries get through.
            e.begin_attempt(now(), u64::from(run));
            assert!(!e.is_ready(now()), "the next run takes what is behind it first");
            assert_eq!(e.stopped_runs, run);
            e.next_attempt = 0;
        }
        assert!(e.is_stalling(), "quarantined after {MAX_STOPPED_RUNS} stopped runs");
        // Runs that stopped while nothing else moved (a hung agent) count for nothing.
        let mut host = Entry::new(false);
        for _ in 0..2 * MAX_STOPPED_RUNS {
            host.begin_attempt(now(), 7);
            host.next_attempt = 0;
        }
        assert!(!host.is_stalling() && host.stopped_runs == 1);
        e.begin_attempt(now(), 99);
        e.undo_attempt();
        assert!(e.is_ready(now()) && e.stopped_runs == 0, "a locked list key counts for nothing");
    }

    #[test]
    fn a_lease_of_a_dead_process_is_free() {
        let mut e = Entry::new(false);
        e.take_lease(now());
        assert!(e.is_leased(now()), "held by this live process");
        assert!(e.is_leased_by_me());
        e.lease_until = now();
        assert!(!e.is_leased(now()), "a live holder that stopped renewing (hung) loses it");
        e.take_lease(now());
        e.lease_until = now() + 100;
        e.lease_holder = Some(LeaseHolder { pid: u32::MAX - 1, started: 1 });
        assert!(!e.is_leased(now()), "held by a process that is gone");
        e.lease_holder = None;
        assert!(e.is_leased(now()), "an unknown holder waits for the deadline");
        e.end_lease();
        assert!(e.is_ready(now()));
    }
}
