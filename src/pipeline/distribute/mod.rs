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

mod batches;
use crate::entry::Stage;
use crate::error::{ErrorKind, Result};
use crate::gpg::DecryptFailure;
use crate::home::Home;
use crate::journal::{self, Journal};
use crate::list::List;
use crate::mime::build::{self, Head};
use crate::model::{Address, Fingerprint, Secret};
use crate::openpgp::{self, KeyId, Packet};
use crate::pipeline::acceptance::list_id;
use crate::pipeline::snapshot::{lease, Leased, Snapshot};
use crate::pipeline::{defer, notify, quarantine, release, renew_lease, select, tell_admins};
use crate::post::Post;
use crate::settings::{Encryption, Settings};
use crate::transport::{Outgoing, Session};
use batches::{start_batches, Batch, Job};
use std::collections::{HashMap, HashSet};

/// How often a distribution renews its lease on the entry.
const LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(60);

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
    let snap = match lease(list, id, Stage::Outgoing, explicit)? {
        Leased::Ready(snap) => snap,
        Leased::Skipped | Leased::Quarantined(_) => return Ok(true),
    };
    watch.lap("store");
    match encrypt_and_send(list, id, &snap, report, watch)? {
        Delivery::Sent => {}
        Delivery::Deferred => return Ok(true),
        Delivery::Stopped { locked } => return Ok(!locked),
    }
    let store = list.store()?;
    store.finish_entry(id)?;
    store.flush()?;
    drop(store);
    journal::remove(&list.home, id);
    crate::log::event(&list.home, &format!("entry {id} distributed"));
    report.done.push(id.to_string());
    Ok(true)
}

/// The batches look up their keys while the post is opened and signed;
/// then each encrypts (split mode) and its copies go out as soon as it is
/// done, while the others still encrypt.
fn encrypt_and_send(
    list: &List,
    id: &str,
    snap: &Snapshot,
    report: &mut DistributeReport,
    watch: &mut Stopwatch<'_>,
) -> Result<Delivery> {
    let delivered = journal::delivered(&list.home, id)?;
    let candidates: Vec<Fingerprint> = snap.roster.receiving.iter().filter_map(|(_, key)| key.clone()).collect();
    // A list with keyring parts is looked up and encrypted to keybox by keybox
    // (none made: the whole keyring, slower, the same copies).
    let readers = list.keyring.keybox_readers().unwrap_or_else(|e| {
        crate::log::event(&list.home, &format!("entry {id}: keyboxes not read alone ({}): slower", e.message()));
        vec![]
    });
    watch.lap(&format!("keyboxes read alone: {}", readers.len()));
    std::thread::scope(|scope| {
        // The list key for the Autocrypt header; its look-up serves the signature too.
        let autocrypt = scope.spawn(|| list.autocrypt_key(&snap.record.fingerprint));
        let (jobs, results) = start_batches(scope, list, &readers, &candidates);
        let (post, head, signed) = match open_and_sign(list, id, snap)? {
            Prepared::Ready { post, head, signed } => (*post, *head, std::sync::Arc::new(signed)),
            // Dropping the jobs tells the batches there is nothing to encrypt.
            Prepared::Stop { locked } => return Ok(Delivery::Stopped { locked }),
        };
        let (recipients, keyless) = recipients(snap, &post.author, &delivered);
        if snap.settings.encryption == Encryption::Split {
            let wanted = recipients.iter().map(|(_, f)| f.clone()).collect();
            let job = std::sync::Arc::new(Job { signed: std::sync::Arc::clone(&signed), wanted });
            for next in &jobs {
                let _ = next.send(job.clone());
            }
        }
        drop(jobs);
        watch.lap("open and sign");
        if snap.first_attempt() && delivered.is_empty() && !keyless.is_empty() {
            notify::tell_keyless(list, snap, id, &keyless);
        }
        let mut outer = head;
        if snap.settings.protect_subject {
            outer.subject = "...".into();
        }
        outer.autocrypt = autocrypt.join().ok().flatten().map(|key| (list.address().clone(), key));
        let mut copies = Copies {
            list,
            snap,
            id,
            outer,
            signed: &signed,
            by_fpr: recipients.iter().map(|(a, f)| (f.clone(), (*a).clone())).collect(),
            bounce_key: snap.record.bounce_key(),
            journal: Journal::open(&list.home, id)?,
            session: Session::new(&snap.settings.transport),
            report: &mut *report,
            renewed: std::time::Instant::now(),
            key_id: if snap.settings.hidden_recipients { KeyId::Hidden } else { KeyId::Real },
        };
        for batch in results {
            if !copies.send_batch(batch)? {
                return Ok(Delivery::Deferred);
            }
        }
        watch.lap("encrypt, build and send");
        Ok(Delivery::Sent)
    })
}

/// How far one entry's distribution got.
enum Delivery {
    /// Every recipient has it (or was skipped for good).
    Sent,
    /// The transport is down: the rest waits for `flush`.
    Deferred,
    /// Quarantined (`locked: false`), or the list key is locked.
    Stopped { locked: bool },
}

/// Builds and sends each recipient's copy, batch by batch.
struct Copies<'a> {
    list: &'a List,
    snap: &'a Snapshot,
    id: &'a str,
    outer: Head,
    signed: &'a [u8],
    by_fpr: HashMap<Fingerprint, Address>,
    bounce_key: Vec<u8>,
    journal: Journal,
    session: Session<'a>,
    report: &'a mut DistributeReport,
    /// When the lease was last renewed.
    renewed: std::time::Instant,
    /// What each copy's session key packet names.
    key_id: KeyId,
}

impl Copies<'_> {
    /// False when the transport failed for now and the entry was deferred.
    fn send_batch(&mut self, batch: Batch<'_>) -> Result<bool> {
        let keys = batch.keys?;
        for (fpr, why) in &keys.unusable {
            if let Some(address) = self.by_fpr.get(fpr).cloned() {
                self.skip(&address, Skipped::Key(why))?;
            }
        }
        let ciphertext = match batch.ciphertext {
            Some(Ok(ciphertext)) => Some(ciphertext),
            Some(Err(e)) => {
                self.log(&format!("split encryption failed ({}); one per recipient", e.message()));
                None
            }
            None => None,
        };
        let split = ciphertext.as_deref().and_then(|c| {
            openpgp::split(c).map_err(|e| self.log(&format!("cannot split gpg's output ({e}); one per recipient"))).ok()
        });
        let sessions: HashMap<[u8; 8], Packet<'_>> =
            split.as_ref().map(|s| s.sessions.iter().map(|(id, p)| (*id, *p)).collect()).unwrap_or_default();
        for key in &keys.usable {
            let Some(address) = self.by_fpr.get(&key.fingerprint).cloned() else { continue };
            let own = key.key_ids.iter().find_map(|id| sessions.get(id)).zip(split.as_ref());
            let armored = match own {
                Some((packet, split)) => {
                    Ok(openpgp::armor(&openpgp::single_recipient(packet, split.data, self.key_id)))
                }
                // Per-recipient mode, or a copy the split could not provide.
                None => batch.keyring.encrypt_to(&[key], self.signed, true, self.key_id).or_else(|e| {
                    // A keybox read alone that fails leaves the copy to the whole keyring.
                    match std::ptr::eq(batch.keyring, &self.list.keyring) {
                        true => Err(e),
                        false => self.list.keyring.encrypt_to(&[key], self.signed, true, self.key_id),
                    }
                }),
            };
            let armored = match armored {
                Ok(armored) => armored,
                Err(e) => {
                    self.skip(&address, Skipped::Key(e.message()))?;
                    continue;
                }
            };
            let mail = Outgoing {
                // The recipient's own bounce address: only their reports count against them.
                envelope_from: Some(crate::verp::sender(self.list.address(), &self.bounce_key, &address)),
                recipients: vec![address.clone()],
                bytes: build::encrypted_message(&self.outer, &armored),
            };
            // gpg's watchdog waits until the copy sent is journaled (other batches still run gpg).
            let held = crate::gpg::watchdog::hold();
            let sent = self.session.send(&mail);
            if sent.is_ok() {
                self.journal.record(&address)?;
            }
            drop(held);
            if self.renewed.elapsed() > LEASE_RENEWAL {
                if !renew_lease(self.list, self.id)? {
                    self.log("another run took it over; this one stops");
                    return Ok(false);
                }
                self.renewed = std::time::Instant::now();
            }
            match sent {
                Ok(()) => self.report.sent += 1,
                Err(e) if e.kind() == ErrorKind::Temporary => {
                    defer(self.list, self.id, e.message())?;
                    self.report.deferred.push((self.id.to_string(), e.message().to_string()));
                    return Ok(false);
                }
                Err(e) => self.skip(&address, Skipped::Refused(e.message()))?,
            }
        }
        Ok(true)
    }

    fn skip(&mut self, address: &Address, why: Skipped<'_>) -> Result<()> {
        skip(self.list, self.snap, &mut self.journal, self.id, address, why)
    }

    fn log(&self, what: &str) {
        crate::log::event(&self.list.home, &format!("entry {}: {what}", self.id));
    }
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

/// Why a recipient cannot be served.
#[derive(Debug, Clone, Copy)]
enum Skipped<'a> {
    /// Their key cannot be used: they are told (a key problem is theirs to mend).
    Key(&'a str),
    /// The relay refused their address for good: telling them would go to
    /// the same refused address, so only the admins hear of it.
    Refused(&'a str),
}

/// A recipient who cannot be served for good (key unusable, address refused):
/// journaled so nobody retries, and the admins are told. Never a cleartext copy.
fn skip(
    list: &List,
    snap: &Snapshot,
    journal: &mut Journal,
    id: &str,
    address: &Address,
    why: Skipped<'_>,
) -> Result<()> {
    journal.record(address)?;
    let why = match why {
        Skipped::Key(why) => {
            notify::tell_missed(list, snap, address);
            format!("no usable key ({why})")
        }
        Skipped::Refused(why) => format!("the relay refused the address for good ({why}); the key is fine"),
    };
    crate::log::event(&list.home, &format!("entry {id}: {address} skipped: {why}"));
    let text = format!("Entry {id} was not sent to {address}: {why}.\r\nNo cleartext copy was sent.");
    tell_admins(list, &snap.roster.admins, &snap.settings, &snap.record.fingerprint, "a member was skipped", &text);
    Ok(())
}

/// Members who get this post (delivery on, a verified key, not yet served),
/// with that key, and members with delivery on but no verified key.
fn recipients<'a>(
    snap: &'a Snapshot,
    author: &Address,
    delivered: &[Address],
) -> (Vec<(&'a Address, Fingerprint)>, Vec<&'a Address>) {
    // On an anonymous list the author gets the copy too: the one member
    // missing from the recipients would be the author.
    let everyone = snap.settings.receive_own_posts || snap.settings.anonymous;
    let delivered: HashSet<&Address> = delivered.iter().collect();
    let mut with_key = vec![];
    let mut keyless = vec![];
    for (address, key) in snap.roster.receiving.iter().filter(|(a, _)| everyone || a != author) {
        match key {
            Some(key) if !delivered.contains(address) => with_key.push((address, key.clone())),
            Some(_) => {}
            None => keyless.push(address),
        }
    }
    (with_key, keyless)
}

/// The post's headers, outer and protected: the list's own, the author's
/// unless the list is anonymous.
fn post_head(list: &Address, settings: &Settings, post: &Post) -> Head {
    let mut head = Head::new(list, list, &settings.prefixed_subject(&post.subject));
    head.reply_to = Some(list.clone());
    if settings.anonymous {
        head.from_name = Some(format!("{} (anonymous)", list.local_part()));
    } else if !post.authenticated {
        // Released by an admin: nobody's signed post, so it comes from the list.
        head.from_name = Some("Not authenticated (released by an admin)".into());
        head.date = post.date;
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
        // `unsubscribe` to -request must be signed and encrypted, which a
        // client's one-click List-Unsubscribe cannot do: it asks the owners.
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
