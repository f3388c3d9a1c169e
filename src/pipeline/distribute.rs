//! `distribute`: builds the post once (protected headers, signed once by the
//! list key), encrypts it for every subscriber's verified key, and sends each
//! subscriber their own copy. Each delivered recipient is journaled before
//! the next is tried, so a rerun never sends anyone a second copy; the entry
//! goes when all have it.
//!
//! In `split` mode (the default) the signed post is encrypted once per batch
//! of recipients, one batch per core, and each recipient's copy is their own
//! session key packet plus the shared encrypted data ([`crate::openpgp`]).
//! `per-recipient` mode runs one encryption, with its own session key, per
//! recipient.

use crate::entry::Stage;
use crate::error::{Error, ErrorKind, Result};
use crate::gpg::{DecryptFailure, RecipientKey, RecipientKeys};
use crate::home::Home;
use crate::journal::{self, Journal};
use crate::list::List;
use crate::member::Member;
use crate::mime::build::{self, Head};
use crate::model::{Address, Fingerprint, Secret};
use crate::openpgp::{self, Packet};
use crate::pipeline::verify::list_id;
use crate::pipeline::{defer, quarantine, release, select, tell_admins};
use crate::post::Post;
use crate::settings::{Encryption, Settings};
use crate::store::ListRecord;
use crate::transport::{Outgoing, Session};
use std::collections::HashMap;

/// Below this many recipients one gpg run beats starting threads.
const MIN_BATCH: usize = 32;

/// What a `distribute` run did.
#[derive(Debug, Default)]
pub struct DistributeReport {
    /// Entries every recipient now has.
    pub done: Vec<String>,
    /// Copies sent in this run.
    pub sent: usize,
    /// Entries left for `flush` (transport down), with the reason.
    pub deferred: Vec<(String, String)>,
    pub locked: bool,
    /// Where the time went, phase by phase (for `-v`).
    pub phases: Vec<(String, std::time::Duration)>,
}

/// Records how long each phase of a run took.
struct Stopwatch<'r> {
    report: &'r mut Vec<(String, std::time::Duration)>,
    last: std::time::Instant,
}

impl Stopwatch<'_> {
    fn lap(&mut self, phase: &str) {
        let now = std::time::Instant::now();
        self.report.push((phase.to_string(), now - self.last));
        self.last = now;
    }
}

pub fn distribute(home: &Home, address: &Address, ids: &[String]) -> Result<DistributeReport> {
    let list = List::open(home, address)?;
    let chosen = select(&list.store()?, Stage::Outgoing, ids)?;
    let mut report = DistributeReport::default();
    for id in chosen {
        match distribute_entry(&list, &id, !ids.is_empty(), &mut report) {
            Ok(true) => {}
            Ok(false) => {
                report.locked = true;
                break;
            }
            // One entry's trouble never stops the others; it waits with back-off.
            Err(e) => {
                let _ = defer(&list, &id, e.message());
                report.deferred.push((id, e.message().to_string()));
            }
        }
    }
    Ok(report)
}

struct Snapshot {
    record: ListRecord,
    settings: Settings,
    members: Vec<Member>,
    first_attempt: bool,
    payload: Vec<u8>,
}

/// False when the list key is locked.
fn distribute_entry(list: &List, id: &str, explicit: bool, report: &mut DistributeReport) -> Result<bool> {
    let mut phases = vec![];
    let mut watch = Stopwatch { report: &mut phases, last: std::time::Instant::now() };
    let done = send_entry(list, id, explicit, report, &mut watch);
    report.phases.extend(phases);
    done
}

fn send_entry(
    list: &List,
    id: &str,
    explicit: bool,
    report: &mut DistributeReport,
    watch: &mut Stopwatch<'_>,
) -> Result<bool> {
    let snap = {
        let store = list.store()?;
        let Some(entry) = store.lease(id, Stage::Outgoing, explicit)? else { return Ok(true) };
        store.flush()?;
        Snapshot {
            record: store.list_record()?,
            settings: store.settings()?,
            members: store.members()?,
            first_attempt: entry.attempts == 0,
            payload: store.payload(id)?.unwrap_or_default(),
        }
    };
    watch.lap("store");
    let delivered = journal::delivered(&list.home, id)?;
    let candidates: Vec<Fingerprint> =
        snap.members.iter().filter(|m| m.delivery).filter_map(|m| m.delivery_key().cloned()).collect();
    let split = snap.settings.encryption == Encryption::Split;
    // Each batch looks up its keys (one gpg run) while the post is opened
    // and signed (two more), then encrypts as soon as the signed post exists.
    let (prepared, autocrypt, batches) = std::thread::scope(|scope| {
        // The list key for the Autocrypt header; its look-up serves the signature too.
        let autocrypt = scope.spawn(|| list.autocrypt_key(&snap.record.fingerprint));
        let mut jobs = vec![];
        let mut runs = vec![];
        for chunk in candidates.chunks(batch_size(candidates.len())) {
            let (job, next) = std::sync::mpsc::channel();
            jobs.push(job);
            runs.push(scope.spawn(move || run_batch(list, chunk, &next)));
        }
        let prepared = open_and_sign(list, id, &snap);
        if let Ok(Prepared::Ready { post, signed, .. }) = &prepared {
            if split {
                let wanted = recipients(&snap, &post.author, &delivered).0.into_iter().map(|(_, f)| f).collect();
                let job = std::sync::Arc::new(Job { signed: signed.clone(), wanted });
                for next in &jobs {
                    let _ = next.send(job.clone());
                }
            }
        }
        drop(jobs);
        watch.lap("open and sign");
        let autocrypt = autocrypt.join().ok().flatten();
        let batches: Vec<Batch> = runs
            .into_iter()
            .map(|run| {
                run.join()
                    .unwrap_or_else(|_| Batch { keys: Err(Error::software("a batch panicked")), ciphertext: None })
            })
            .collect();
        (prepared, autocrypt, batches)
    });
    let (post, head, signed) = match prepared? {
        Prepared::Ready { post, head, signed } => (*post, *head, signed),
        Prepared::Stop { locked } => return Ok(!locked),
    };
    let mut usable = vec![];
    let mut unusable = vec![];
    let mut ciphertexts = vec![];
    for batch in batches {
        let keys = batch.keys?;
        usable.extend(keys.usable);
        unusable.extend(keys.unusable);
        match batch.ciphertext {
            Some(Ok(ciphertext)) => ciphertexts.push(ciphertext),
            // Its recipients are served one encryption each below.
            Some(Err(e)) => crate::log::event(
                &list.home,
                &format!("entry {id}: split encryption failed ({}); one per recipient", e.message()),
            ),
            None => {}
        }
    }
    watch.lap("look up keys and encrypt");

    let (recipients, keyless) = recipients(&snap, &post.author, &delivered);
    if snap.first_attempt && delivered.is_empty() && !keyless.is_empty() {
        let names: Vec<&str> = keyless.iter().map(|m| m.address.as_str()).collect();
        let text = format!(
            "Entry {id} was not sent to these members, who have no verified key:\r\n{}\r\nNo cleartext copy was sent.",
            names.join("\r\n")
        );
        tell_admins(
            list,
            &snap.members,
            &snap.settings,
            &snap.record.fingerprint,
            "members without a usable key",
            &text,
        );
        for member in &keyless {
            tell_missed(list, &snap, &member.address);
        }
    }
    let mut outer = head.clone();
    if snap.settings.protect_subject {
        outer.subject = "...".into();
    }
    outer.autocrypt = autocrypt.map(|key| (list.address().clone(), key));
    let wanted: std::collections::HashSet<&Fingerprint> = recipients.iter().map(|(_, f)| f).collect();
    let keys: Vec<RecipientKey> = usable.into_iter().filter(|k| wanted.contains(&k.fingerprint)).collect();
    let unusable: Vec<(Fingerprint, String)> = unusable.into_iter().filter(|(f, _)| wanted.contains(f)).collect();
    let mut journal = Journal::open(&list.home, id)?;
    for (fpr, why) in &unusable {
        if let Some((address, _)) = recipients.iter().find(|(_, f)| f == fpr) {
            skip(list, &snap, &mut journal, id, address, why)?;
        }
    }
    let splits = match ciphertexts.iter().map(|c| openpgp::split(c)).collect::<std::result::Result<Vec<_>, _>>() {
        Ok(splits) => splits,
        Err(e) => {
            crate::log::event(&list.home, &format!("entry {id}: cannot split gpg's output ({e}); one per recipient"));
            vec![]
        }
    };
    let sessions: HashMap<[u8; 8], (Packet<'_>, &[u8])> =
        splits.iter().flat_map(|s| s.sessions.iter().map(move |(id, p)| (*id, (*p, s.data)))).collect();
    let by_fpr: HashMap<&Fingerprint, &Address> = recipients.iter().map(|(a, f)| (f, *a)).collect();
    let mut session = Session::new(&snap.settings.transport);
    for key in &keys {
        let address = by_fpr[&key.fingerprint];
        let own = key.key_ids.iter().find_map(|id| sessions.get(id));
        let armored = match own {
            Some((packet, data)) => Ok(openpgp::armor(&openpgp::single_recipient(packet, data))),
            // Per-recipient mode, or a copy the split could not provide.
            None => list.keyring.encrypt_to(&[key], &signed, true),
        };
        let armored = match armored {
            Ok(armored) => armored,
            Err(e) => {
                skip(list, &snap, &mut journal, id, address, e.message())?;
                continue;
            }
        };
        let mail = Outgoing {
            envelope_from: Some(list.address().bounces()),
            recipients: vec![address.clone()],
            bytes: build::encrypted_message(&outer, &armored),
        };
        match session.send(&mail) {
            Ok(()) => {
                journal.record(address)?;
                report.sent += 1;
            }
            Err(e) if e.kind() == ErrorKind::Temporary => {
                drop(session);
                defer(list, id, e.message())?;
                report.deferred.push((id.to_string(), e.message().to_string()));
                return Ok(true);
            }
            Err(e) => skip(list, &snap, &mut journal, id, address, e.message())?,
        }
    }
    drop(session);
    watch.lap("build and send");
    let store = list.store()?;
    store.remove_entry(id)?;
    store.flush()?;
    drop(store);
    journal::remove(&list.home, id);
    crate::log::event(&list.home, &format!("entry {id} distributed"));
    report.done.push(id.to_string());
    Ok(true)
}

/// The post, opened and signed, or why distribution stops here.
enum Prepared {
    Ready {
        post: Box<Post>,
        head: Box<Head>,
        signed: Secret,
    },
    /// Quarantined (`locked: false`), or the list key is locked.
    Stop {
        locked: bool,
    },
}

/// Opens the queued post with the list key and signs it once.
fn open_and_sign(list: &List, id: &str, snap: &Snapshot) -> Result<Prepared> {
    let post = match list.keyring.decrypt(&snap.payload, snap.settings.max_decrypted_size()) {
        Ok(opened) => match Post::decode(&opened.plaintext) {
            Ok(post) => post,
            Err(_) => {
                quarantine(list, id, "its approved post is damaged")?;
                return Ok(Prepared::Stop { locked: false });
            }
        },
        Err(DecryptFailure::Locked(_)) => {
            release(list, id)?;
            return Ok(Prepared::Stop { locked: true });
        }
        Err(DecryptFailure::Unavailable(e)) => return Err(e),
        Err(DecryptFailure::Refused(why)) => {
            quarantine(list, id, &format!("its stored post cannot be opened ({why})"))?;
            return Ok(Prepared::Stop { locked: false });
        }
    };
    let head = post_head(list.address(), &snap.settings, &post);
    match sign_post(list, &snap.record.fingerprint, &head, &post) {
        Ok(signed) => Ok(Prepared::Ready { post: Box::new(post), head: Box::new(head), signed }),
        Err(e) if e.kind() == ErrorKind::Permission => {
            release(list, id)?;
            Ok(Prepared::Stop { locked: true })
        }
        Err(e) => Err(e),
    }
}

/// A recipient who cannot be served for good (key unusable, address refused):
/// journaled so nobody retries, and the admins are told. Never a cleartext copy.
fn skip(list: &List, snap: &Snapshot, journal: &mut Journal, id: &str, address: &Address, why: &str) -> Result<()> {
    journal.record(address)?;
    crate::log::event(&list.home, &format!("entry {id}: {address} skipped: {why}"));
    let text = format!("Entry {id} was not sent to {address}: {why}.\r\nNo cleartext copy was sent.");
    tell_admins(list, &snap.members, &snap.settings, &snap.record.fingerprint, "a member was skipped", &text);
    tell_missed(list, snap, address);
    Ok(())
}

/// Tells a member, at most once a day and without any content, that a post
/// could not reach them for want of a usable key.
fn tell_missed(list: &List, snap: &Snapshot, member: &Address) {
    let allowed = list.store().and_then(|store| {
        let allowed = store.notice_allowed(&format!("missed:{member}"), 86_400)?;
        store.flush()?;
        Ok(allowed)
    });
    if !allowed.unwrap_or(false) {
        return;
    }
    let notice = crate::notice::missed_post(list.address(), member);
    let sent = list
        .seal(&notice, None, &snap.record.fingerprint)
        .and_then(|m| crate::transport::send(&snap.settings.transport, &m));
    if let Err(e) = sent {
        crate::log::event(&list.home, &format!("missed-post notice to {member} not sent: {}", e.message()));
    }
}

/// Members who get this post (delivery on, a verified key, not yet served),
/// with that key, and members with delivery on but no verified key.
fn recipients<'a>(
    snap: &'a Snapshot,
    author: &Address,
    delivered: &[Address],
) -> (Vec<(&'a Address, Fingerprint)>, Vec<&'a Member>) {
    let wanted = |m: &&Member| m.delivery && (snap.settings.receive_own_posts || &m.address != author);
    let mut with_key = vec![];
    let mut keyless = vec![];
    for member in snap.members.iter().filter(wanted) {
        match member.delivery_key() {
            Some(key) if !delivered.contains(&member.address) => with_key.push((&member.address, key.clone())),
            Some(_) => {}
            None => keyless.push(member),
        }
    }
    (with_key, keyless)
}

/// What every batch encrypts, and for whom.
struct Job {
    signed: Secret,
    wanted: std::collections::HashSet<Fingerprint>,
}

/// One batch's keys and, in split mode, the signed post encrypted once to
/// all of them (one gpg process; the batches run in parallel).
struct Batch {
    keys: Result<RecipientKeys>,
    ciphertext: Option<Result<Vec<u8>>>,
}

/// One batch per core, unless there are too few recipients to be worth it.
fn batch_size(recipients: usize) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let batches = cores.min(recipients.div_ceil(MIN_BATCH)).max(1);
    recipients.div_ceil(batches).max(1)
}

/// Looks up `chunk`'s keys, then waits for the job; no job (per-recipient
/// mode, or the post could not be signed) means no encryption.
fn run_batch(list: &List, chunk: &[Fingerprint], next: &std::sync::mpsc::Receiver<std::sync::Arc<Job>>) -> Batch {
    let keys = list.keyring.recipient_keys(chunk);
    let ciphertext = match (&keys, next.recv()) {
        (Ok(keys), Ok(job)) => {
            let mine: Vec<&RecipientKey> = keys.usable.iter().filter(|k| job.wanted.contains(&k.fingerprint)).collect();
            (!mine.is_empty()).then(|| list.keyring.encrypt_to(&mine, &job.signed, false))
        }
        _ => None,
    };
    Batch { keys, ciphertext }
}

/// The post's headers, outer and protected: the list's own, the author's
/// unless the list is anonymous.
fn post_head(list: &Address, settings: &Settings, post: &Post) -> Head {
    let mut head = Head::new(list, list, &post.subject);
    head.reply_to = Some(list.clone());
    if settings.anonymous {
        head.from_name = Some(format!("{} (anonymous)", list.local_part()));
    } else {
        head.from = post.author.clone();
        head.from_name = post.author_name.clone();
        head.date = post.date;
        head.message_id = post.message_id.as_deref().and_then(build::clean_message_id);
        head.in_reply_to = post.in_reply_to.clone();
        head.references = post.references.clone();
    }
    if head.message_id.is_none() {
        head.message_id = Some(build::message_id(list.domain()));
    }
    let id = list_id(list);
    head.extra = vec![
        ("List-Id", format!("<{id}>")),
        ("List-Post", format!("<mailto:{list}>")),
        ("List-Help", format!("<mailto:{}?subject=help>", list.request())),
        // Unsubscribing by mail is not handled yet: people ask the owner.
        ("List-Unsubscribe", format!("<mailto:{}?subject=unsubscribe>", list.owner())),
        ("List-Owner", format!("<mailto:{}>", list.owner())),
        ("Precedence", "list".into()),
        ("X-Loop", list.to_string()),
    ];
    head
}

/// The signed entity every recipient gets: protected headers and content,
/// signed once by the list key.
fn sign_post(list: &List, list_key: &Fingerprint, head: &Head, post: &Post) -> Result<Secret> {
    let mut inner = head.clone();
    inner.extra.clear();
    inner.autocrypt = None;
    let entity = Secret::new(build::protected_entity(&inner, &post.content));
    let (signature, micalg) = list.keyring.sign_detached(list_key, &entity)?;
    Ok(Secret::new(build::signed_entity(&entity, &signature, &micalg)))
}
