//! Batches: who is encrypted to in which gpg run, on which keyring.
//!
//! One worker per core. A planner finds which keybox of the list's keyring
//! holds each recipient's key (each keybox is listed alone, see
//! `gpg::parts`), and gives the workers batches of at most [`MAX_BATCH`]
//! recipients whose keys are in one keybox: gpg then reads that keybox only
//! (in a 10,000-member keyring it reads every keybox for each key it looks
//! up). A worker looks its batch's keys up at once (one gpg run), waits for
//! the job (the signed post), encrypts once to the whole batch in split
//! mode, and hands the batch over.

use crate::error::{Error, Result};
use crate::gpg::{KeyboxReader, Keyring, RecipientKey, RecipientKeys, NOT_IN_KEYRING};
use crate::list::List;
use crate::model::{Fingerprint, Secret};
use crate::openpgp::KeyId;
use std::collections::HashSet;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender};
use std::sync::Arc;

/// Below this many recipients one gpg run beats starting threads.
const MIN_BATCH: usize = 32;

/// Recipients per gpg run at most: gpg's work per recipient grows with
/// their number (measured: 500 recipients in 0.14 s, 10,000 in 27 s).
const MAX_BATCH: usize = 500;

/// What every batch encrypts, and for whom.
pub(super) struct Job {
    pub signed: Arc<Secret>,
    pub wanted: HashSet<Fingerprint>,
}

/// One batch's keys, the keyring they were found in and, in split mode,
/// the signed post encrypted once to all of them (one gpg process).
pub(super) struct Batch<'a> {
    pub keyring: &'a Keyring,
    pub keys: Result<RecipientKeys>,
    pub ciphertext: Option<Result<Vec<u8>>>,
}

/// Starts the planner and the workers; returns a sender for each worker's
/// job and the batches as they are done. Dropping a job sender without a
/// job means nothing to encrypt (per-recipient mode, or no signed post).
pub(super) fn start_batches<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    list: &'scope List,
    readers: &'scope [KeyboxReader],
    candidates: &'scope [Fingerprint],
) -> (Vec<Sender<Arc<Job>>>, Receiver<Batch<'scope>>) {
    let workers = workers_for(candidates.len());
    // A worker waits while its last batch is not taken: the copies go out
    // slower than gpg makes them, and each batch holds a copy of the post.
    let (finished, results) = sync_channel(workers);
    let mut jobs = vec![];
    let mut plans = vec![];
    for _ in 0..workers {
        let (job, next) = channel();
        jobs.push(job);
        let (plan, planned) = channel::<Vec<Planned<'scope>>>();
        plans.push(plan);
        let finished = finished.clone();
        scope.spawn(move || {
            let mut job = JobSlot::Waiting(next);
            'batches: for (keyring, chunk) in planned.recv().unwrap_or_default() {
                let run = std::panic::AssertUnwindSafe(|| run_batch(list, keyring, &chunk, &mut job));
                let batches = std::panic::catch_unwind(run).unwrap_or_else(|_| {
                    vec![Batch { keyring, keys: Err(Error::software("a distribution batch failed")), ciphertext: None }]
                });
                for batch in batches {
                    if finished.send(batch).is_err() {
                        break 'batches;
                    }
                }
            }
        });
    }
    scope.spawn(move || {
        let mut mine: Vec<Vec<Planned<'scope>>> = (0..workers).map(|_| vec![]).collect();
        for (i, batch) in plan(list, readers, candidates).into_iter().enumerate() {
            mine[i % workers].push(batch);
        }
        for (plan, batches) in plans.into_iter().zip(mine) {
            let _ = plan.send(batches);
        }
    });
    (jobs, results)
}

/// A batch to run: the keyring to run it on, and its recipients.
type Planned<'a> = (&'a Keyring, Vec<Fingerprint>);

/// Each recipient in the batch of the keybox that holds their key (listed
/// on every core); a key no keybox was found to hold is looked up in the
/// whole keyring, which says it is missing if it is.
fn plan<'a>(list: &'a List, readers: &'a [KeyboxReader], candidates: &[Fingerprint]) -> Vec<Planned<'a>> {
    let held = held_by_each(readers);
    let mut groups: Vec<Vec<Fingerprint>> = vec![vec![]; readers.len()];
    let mut elsewhere = vec![];
    for fpr in candidates {
        match held.iter().position(|keys| keys.contains(fpr)) {
            Some(i) => groups[i].push(fpr.clone()),
            None => elsewhere.push(fpr.clone()),
        }
    }
    let mut batches = vec![];
    for (reader, group) in readers.iter().zip(groups) {
        batches.extend(group.chunks(max_batch()).map(|chunk| (&reader.keyring, chunk.to_vec())));
    }
    batches.extend(elsewhere.chunks(batch_size(elsewhere.len())).map(|chunk| (&list.keyring, chunk.to_vec())));
    batches
}

/// The keys each reader's keybox holds, by primary fingerprint, listed on
/// every core; a keybox that cannot be listed holds nothing here.
fn held_by_each(readers: &[KeyboxReader]) -> Vec<HashSet<Fingerprint>> {
    crate::parallel::on_every_core(readers, |reader| {
        let keys = reader.keyring.all_key_infos().unwrap_or_default();
        keys.into_iter().map(|k| k.fingerprint).collect()
    })
}

/// One batch per core, unless there are too few recipients to be worth it,
/// and none over [`max_batch`].
fn batch_size(recipients: usize) -> usize {
    recipients.div_ceil(workers_for(recipients)).clamp(1, max_batch())
}

/// One worker per core, but none for fewer than [`MIN_BATCH`] recipients.
fn workers_for(recipients: usize) -> usize {
    crate::parallel::cores().min(recipients.div_ceil(MIN_BATCH)).max(1)
}

/// [`MAX_BATCH`], or in debug builds `LISTCRYPT_MAX_BATCH` where tests set
/// it, so that a few members make many batches.
fn max_batch() -> usize {
    let set = cfg!(debug_assertions)
        .then(|| std::env::var("LISTCRYPT_MAX_BATCH").ok().and_then(|n| n.parse().ok()))
        .flatten();
    set.unwrap_or(MAX_BATCH).max(1)
}

/// A worker's job: not yet received, or received (none: nothing to encrypt).
enum JobSlot {
    Waiting(Receiver<Arc<Job>>),
    Received(Option<Arc<Job>>),
}

impl JobSlot {
    fn get(&mut self) -> Option<Arc<Job>> {
        if let JobSlot::Waiting(next) = self {
            *self = JobSlot::Received(next.recv().ok());
        }
        match self {
            JobSlot::Received(job) => job.clone(),
            JobSlot::Waiting(_) => None,
        }
    }
}

/// Looks up `chunk`'s keys in `keyring`, then waits for the job; no job
/// (per-recipient mode, or the post could not be signed) means no
/// encryption. A key a keybox no longer holds (it left after the plan, or
/// came back elsewhere) is looked for in the whole keyring, in a batch of
/// its own: only the whole keyring says a key is missing.
fn run_batch<'a>(list: &'a List, keyring: &'a Keyring, chunk: &[Fingerprint], job: &mut JobSlot) -> Vec<Batch<'a>> {
    let mut keys = keyring.recipient_keys(chunk);
    let mut elsewhere = vec![];
    if let Ok(found) = keys.as_mut() {
        if !std::ptr::eq(keyring, &list.keyring) {
            let (gone, kept): (Vec<_>, Vec<_>) =
                std::mem::take(&mut found.unusable).into_iter().partition(|(_, why)| why == NOT_IN_KEYRING);
            found.unusable = kept;
            elsewhere = gone.into_iter().map(|(fpr, _)| fpr).collect();
        }
    }
    let mut batches = vec![encrypted(keyring, keys, job)];
    if !elsewhere.is_empty() {
        batches.push(encrypted(&list.keyring, list.keyring.recipient_keys(&elsewhere), job));
    }
    batches
}

/// A batch of `keys` from `keyring`, encrypted to in split mode.
fn encrypted<'a>(keyring: &'a Keyring, keys: Result<RecipientKeys>, job: &mut JobSlot) -> Batch<'a> {
    let ciphertext = match (&keys, job.get()) {
        (Ok(keys), Some(job)) => {
            let mine: Vec<&RecipientKey> = keys.usable.iter().filter(|k| job.wanted.contains(&k.fingerprint)).collect();
            // Real key IDs here: the split matches packets to recipients by them.
            (!mine.is_empty()).then(|| keyring.encrypt_to(&mine, &job.signed, false, KeyId::Real))
        }
        _ => None,
    };
    Batch { keyring, keys, ciphertext }
}
