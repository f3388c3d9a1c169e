//! `verify`: opens each incoming entry with the list key, reads its
//! cryptographic structure, checks the signature, and applies the acceptance
//! rules ([`crate::policy`]). Approved posts go back to the queue re-encrypted
//! to the list key; rejected ones earn the fixed notice.

use super::examine::{examine, judge, Examined, Involved, Judgement};
use super::request::{self, Handled};
use super::snapshot::{lease, Leased, Snapshot};
use crate::entry::Stage;
use crate::error::{Error, Result};
use crate::gpg::DecryptFailure;
use crate::home::Home;
use crate::list::List;
use crate::mime::build::crlf;
use crate::mime::parse;
use crate::model::{Address, Secret};
use crate::pipeline::{defer, notify, quarantine, release, select};
use crate::policy::{Decision, Kind, Reason};
use crate::post::Post;

/// What a `verify` run did.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub approved: Vec<String>,
    pub held: Vec<String>,
    pub rejected: Vec<String>,
    pub discarded: Vec<String>,
    /// Command mail (to `-request`) answered: never printed as approved posts.
    pub commands: Vec<String>,
    /// The list key is locked: the remaining entries stay queued.
    pub locked: bool,
    /// Entries that could not be handled now (retried with back-off), and why.
    pub failed: Vec<(String, String)>,
}

enum Outcome {
    Decided(Decision),
    /// A command mail was answered.
    Commands,
    Skipped,
    Locked,
}

/// Verifies the given entries, or every ready incoming entry.
pub fn verify(home: &Home, address: &Address, ids: &[String]) -> Result<VerifyReport> {
    let list = List::open(home, address)?;
    let chosen = select(&list.store()?, Stage::Incoming, ids)?;
    let mut report = VerifyReport::default();
    for id in chosen {
        let outcome = match verify_entry(&list, &id, !ids.is_empty()) {
            Ok(outcome) => outcome,
            // One entry's trouble never stops the others; it waits with back-off.
            Err(e) => {
                let _ = defer(&list, &id, e.message());
                report.failed.push((id, e.message().to_string()));
                continue;
            }
        };
        match outcome {
            Outcome::Decided(Decision::Approve) => report.approved.push(id),
            Outcome::Decided(Decision::Hold(_)) => report.held.push(id),
            Outcome::Decided(Decision::Reject(_)) => report.rejected.push(id),
            Outcome::Decided(Decision::Discard(_)) => report.discarded.push(id),
            Outcome::Commands => report.commands.push(id),
            Outcome::Skipped => {}
            Outcome::Locked => {
                report.locked = true;
                break;
            }
        }
    }
    Ok(report)
}

fn verify_entry(list: &List, id: &str, explicit: bool) -> Result<Outcome> {
    let snapshot = match lease(list, id, Stage::Incoming, explicit)? {
        Leased::Ready(snapshot) => snapshot,
        Leased::Skipped => return Ok(Outcome::Skipped),
        Leased::Quarantined(reason) => return Ok(Outcome::Decided(Decision::Hold(reason))),
    };
    let limit = snapshot.settings.max_decrypted_size();
    let raw = match list.keyring.decrypt(&snapshot.payload, limit) {
        Ok(opened) => Secret::new(crlf(&opened.plaintext)),
        Err(DecryptFailure::Locked(_)) => {
            release(list, id)?;
            return Ok(Outcome::Locked);
        }
        Err(DecryptFailure::Unavailable(e)) => return Err(e),
        Err(DecryptFailure::Refused(why)) => {
            quarantine(list, id, &format!("its stored message cannot be opened ({why})"))?;
            return Ok(Outcome::Decided(Decision::Hold(Reason::Undecryptable)));
        }
    };
    let examined = examine(list, &raw, limit)?;
    if snapshot.entry.request {
        return Ok(match request::handle(list, &snapshot, id, raw.len() as u64, examined)? {
            Handled::Refused(decision) => Outcome::Decided(decision),
            Handled::Answered => Outcome::Commands,
        });
    }
    decide_and_apply(list, &snapshot, id, raw.len() as u64, examined)
}

fn decide_and_apply(list: &List, snap: &Snapshot, id: &str, size: u64, exam: Examined) -> Result<Outcome> {
    let involved = Involved::gather(list, &exam)?;
    let mut judged = judge(list, snap, &involved, &exam, size, Kind::Post);
    let sealed_post = match seal_post(list, snap, &exam, &judged)? {
        Ok(sealed) => sealed,
        Err(reason) => {
            judged.decision = Decision::Reject(reason);
            None
        }
    };
    let store = list.store()?;
    judged.check_replay(&store)?;
    let plan = notify::plan(&store, &judged.facts, judged.decision, exam.facts.mailing_list)?;
    match (judged.decision, sealed_post) {
        (Decision::Approve, Some(sealed)) => {
            let mut entry = store.entry(id)?.ok_or_else(|| Error::software("entry vanished"))?;
            store.put_payload(id, &sealed)?;
            entry.stage = Stage::Outgoing;
            entry.end_attempt();
            entry.attempts = 0;
            entry.next_attempt = 0;
            store.put_entry(&entry)?;
        }
        (Decision::Hold(reason), _) => {
            let mut entry = store.entry(id)?.ok_or_else(|| Error::software("entry vanished"))?;
            entry.stage = Stage::Held;
            entry.end_attempt();
            entry.held_reason = Some(reason.describe().to_string());
            store.put_entry(&entry)?;
        }
        _ => store.remove_entry(id)?,
    }
    store.note_progress()?;
    store.flush()?;
    drop(store);
    crate::log::event(&list.home, &judged.log_line(id));
    if judged.decision == Decision::Approve && judged.facts.names_no_recipients {
        crate::log::event(
            &list.home,
            &format!(
                "entry {id}: the signed part named no list (no protected To/Cc); its Subject is shown as unsigned"
            ),
        );
    }
    notify::carry_out(list, &judged.notice_view(snap), id, judged.decision, plan);
    Ok(Outcome::Decided(judged.decision))
}

/// What precedes the Subject of a post an admin released from the hold queue.
pub const NOT_AUTHENTICATED: &str = "[not authenticated]";

/// What precedes a Subject the author did not sign.
pub const UNSIGNED_SUBJECT: &str = "[unsigned subject]";

/// An approved post, built and sealed to the list key for `distribute`;
/// `Err(reason)` when there turns out to be nothing to distribute.
fn seal_post(
    list: &List,
    snap: &Snapshot,
    exam: &Examined,
    judged: &Judgement<'_>,
) -> Result<std::result::Result<Option<Vec<u8>>, Reason>> {
    if judged.decision != Decision::Approve {
        return Ok(Ok(None));
    }
    let mail = &exam.facts;
    let (Some(content), Some(author)) = (&exam.content, mail.from.first()) else {
        return Ok(Err(if exam.content.is_none() { Reason::Undecryptable } else { Reason::NotSingleFrom }));
    };
    // Only what the author signed is presented as the author's: a Subject
    // outside the signature (a client without protected headers, or text
    // signed elsewhere and forwarded by someone else) is marked as such.
    let signed = &judged.protected;
    let mut subject = match (&signed.subject, &mail.subject) {
        (Some(inner), _) => inner.clone(),
        (None, Some(outer)) => format!("{UNSIGNED_SUBJECT} {outer}"),
        (None, None) => String::new(),
    };
    // Held mail failed the rules: released, it is the admin's decision, not the sender's signature.
    let authenticated = !judged.facts.released;
    if !authenticated {
        subject = format!("{NOT_AUTHENTICATED} {subject}");
    }
    let post = Post {
        author: author.clone(),
        author_name: signed.from_name.clone().or_else(|| mail.from_name.clone()),
        subject,
        date: signed.date.or(mail.date),
        message_id: signed.message_id.clone().or_else(|| mail.message_id.clone()),
        in_reply_to: mail.in_reply_to.clone(),
        references: mail.references.clone(),
        content: match snap.settings.anonymous {
            true => crate::mime::anonymize::anonymized(&parse::without_key_parts(content)),
            false => parse::without_key_parts(content),
        },
        authenticated,
    };
    let sealed = list.keyring.encrypt(std::slice::from_ref(&snap.record.fingerprint), &post.encode(), None)?;
    Ok(Ok(Some(sealed)))
}
