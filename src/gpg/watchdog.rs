//! A wall-time limit on gpg. gpgme cannot interrupt an operation, so a gpg
//! that hangs (a stopped agent, a pathological message) would hold its entry
//! and the MTA's pipe forever; past the limit the whole process stops with a
//! fixed line on stderr and the exit code the command chose. Nothing is lost:
//! the store is never held across gpg, and the entry's lease names a process
//! that is gone, so the next run takes it over.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Set by the binary (which knows the exit codes); 1 until it does.
static EXIT_CODE: AtomicI32 = AtomicI32::new(1);
static NEXT: AtomicU64 = AtomicU64::new(0);
/// Set once the watchdog has decided to end the process.
static STOPPING: AtomicBool = AtomicBool::new(false);

fn deadlines() -> &'static Mutex<HashMap<u64, Instant>> {
    static DEADLINES: OnceLock<Mutex<HashMap<u64, Instant>>> = OnceLock::new();
    DEADLINES.get_or_init(|| {
        std::thread::spawn(watch);
        Mutex::default()
    })
}

/// `LISTCRYPT_GPG_TIMEOUT` seconds, 300 by default.
pub fn limit() -> Duration {
    let secs = std::env::var("LISTCRYPT_GPG_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    Duration::from_secs(secs)
}

/// The exit code when gpg overruns: the binary sets EX_TEMPFAIL (so the
/// MTA retries), and 0 for the stages that must not make it retry.
pub fn exit_with(code: i32) {
    EXIT_CODE.store(code, Ordering::Relaxed);
}

/// Watches one gpg operation until the returned value is dropped.
pub(super) fn arm() -> Deadline {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut all) = deadlines().lock() {
        all.insert(id, Instant::now() + limit());
    }
    Deadline(id)
}

pub(super) struct Deadline(u64);

impl Drop for Deadline {
    fn drop(&mut self) {
        // An operation whose gpg the watchdog killed fails at once ("no
        // data", say); that failure is the watchdog's, not the mail's, and
        // must not be acted on (a good mail quarantined as undecryptable)
        // before the process ends.
        while STOPPING.load(Ordering::SeqCst) {
            std::thread::park();
        }
        if let Ok(mut all) = deadlines().lock() {
            all.remove(&self.0);
        }
    }
}

/// While held, the watchdog does not stop the process: a copy handed to
/// the transport is journaled before anything can end the run.
pub fn hold() -> std::sync::MutexGuard<'static, ()> {
    static HOLD: Mutex<()> = Mutex::new(());
    HOLD.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn watch() {
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let overrun = deadlines().lock().map(|all| all.values().any(|d| *d < Instant::now())).unwrap_or(false);
        if overrun {
            let _held = hold();
            // Never `eprintln!`: it panics on a closed stderr, and this thread must reach the exit.
            let _ = writeln!(
                std::io::stderr(),
                "listcrypt: gpg did not finish within {} s; stopped (queued mail stays queued)",
                limit().as_secs()
            );
            STOPPING.store(true, Ordering::SeqCst);
            stop_gpg();
            std::process::exit(EXIT_CODE.load(Ordering::Relaxed));
        }
    }
}

/// Kills the gpg processes of this process group: gpgme starts gpg
/// through a double fork, so they are not our children, and a hung one
/// would outlive us. An MTA's pipe or cron runs one listcrypt at a time
/// in a group, so these are ours.
fn stop_gpg() {
    let me = rustix::process::getpid();
    let group = rustix::process::getpgrp();
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else { continue };
        let Some(stat) = u32::try_from(pid).ok().and_then(crate::proc::stat) else { continue };
        let pgrp = stat.field(5).and_then(|g| g.parse::<i32>().ok());
        if stat.comm == "gpg" && pgrp == Some(group.as_raw_nonzero().get()) && pid != me.as_raw_nonzero().get() {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}
