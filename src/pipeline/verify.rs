//! `verify`: opens each incoming entry with the list key, reads its
//! cryptographic structure, checks the signature, and applies the acceptance
//! rules ([`crate::policy`]). Approved posts go back to the queue re-encrypted
//! to the list key; rejected ones earn the fixed notice.

use crate::entry::Stage;
use crate::error::{Error, Result};
use crate::gpg::{DecryptFailure, SigStatus, SignatureCheck};
use crate::home::Home;
use crate::list::List;
use crate::member::Member;
use crate::mime::build::crlf;
use crate::mime::parse::{self, Crypto, MailFacts};
use crate::model::{now, sha256_hex, Address, Secret};
use crate::notice;
use crate::pipeline::{defer, quarantine, release, select, tell_admins};
use crate::policy::{self, Decision, Facts, GoodSignature, Reason, Signature};
use crate::post::Post;
use crate::settings::Settings;
use crate::store::ListRecord;
use crate::transport::{self, Outgoing};

/// What a `verify` run did.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub approved: Vec<String>,
    pub held: Vec<String>,
    pub rejected: Vec<String>,
    pub discarded: Vec<String>,
    /// The list key is locked: the remaining entries stay queued.
    pub locked: bool,
    /// Entries that could not be handled now (retried with back-off), and why.
    pub failed: Vec<(String, String)>,
}

pub(super) enum Outcome {
    Decided(Decision),
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
            Outcome::Skipped => {}
            Outcome::Locked => {
                report.locked = true;
                break;
            }
        }
    }
    Ok(report)
}

/// The state a decision is made on, read once from the store.
pub(super) struct Snapshot {
    pub(super) record: ListRecord,
    pub(super) settings: Settings,
    pub(super) members: Vec<Member>,
    released: bool,
    /// Sent to the `-request` address: commands, not a post.
    request: bool,
    payload: Vec<u8>,
}

fn verify_entry(list: &List, id: &str, explicit: bool) -> Result<Outcome> {
    let snapshot = {
        let store = list.store()?;
        let Some(entry) = store.lease(id, Stage::Incoming, explicit)? else { return Ok(Outcome::Skipped) };
        store.flush()?;
        let Some(payload) = store.payload(id)? else {
            drop(store);
            quarantine(list, id, "its stored message is missing")?;
            return Ok(Outcome::Decided(Decision::Hold(Reason::Undecryptable)));
        };
        Snapshot {
            record: store.list_record()?,
            settings: store.settings()?,
            members: store.members()?,
            released: entry.released,
            request: entry.request,
            payload,
        }
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
    if snapshot.request {
        return super::request::handle(list, &snapshot, id, examined);
    }
    decide_and_apply(list, &snapshot, id, raw.len() as u64, examined)
}

/// What the mail is: header facts, its content and its signatures.
pub(super) struct Examined {
    pub(super) facts: MailFacts,
    pub(super) content: Option<Secret>,
    pub(super) encrypted: bool,
    pub(super) wrapped: bool,
    undecryptable: bool,
    /// The decrypted entity's header section is over the limit (not parsed).
    oversized: bool,
    signatures: Vec<SignatureCheck>,
    /// What the signature covers, for the replay digest.
    signed: Secret,
}

/// Reads the structure and opens every layer.
fn examine(list: &List, raw: &[u8], limit: usize) -> Result<Examined> {
    let (facts, crypto) = parse::read_mail(raw)?;
    let mut exam = Examined {
        facts,
        content: None,
        encrypted: false,
        wrapped: false,
        undecryptable: false,
        oversized: false,
        signatures: vec![],
        signed: Secret::default(),
    };
    match crypto {
        Crypto::PgpMimeEncrypted(ciphertext) => {
            open_encrypted(list, &ciphertext, false, limit, &mut exam)?;
        }
        Crypto::InlineEncrypted(ciphertext) => {
            open_encrypted(list, &ciphertext, true, limit, &mut exam)?;
        }
        Crypto::PgpMimeSigned { entity, signature } => {
            exam.signatures = list.keyring.verify_detached(&signature, &entity)?;
            exam.content = Some(Secret::new(entity.clone()));
            exam.signed = Secret::new(entity);
        }
        Crypto::InlineSigned(armored) => open_inline_signed(list, &armored, &mut exam)?,
        Crypto::Wrapped => exam.wrapped = true,
        Crypto::Plain(entity) => exam.content = Some(Secret::new(entity)),
    }
    Ok(exam)
}

/// Decrypts the mail's own encryption. The stored copy was just opened with
/// the list key, so a "locked" answer here means the mail asks for something
/// else (a passphrase-only message): it is undecryptable, not a reason to wait.
fn open_encrypted(list: &List, ciphertext: &[u8], inline: bool, limit: usize, exam: &mut Examined) -> Result<()> {
    exam.encrypted = true;
    let opened = match list.keyring.decrypt(ciphertext, limit) {
        Ok(opened) => opened,
        Err(DecryptFailure::Unavailable(e)) => return Err(e),
        Err(DecryptFailure::Locked(_) | DecryptFailure::Refused(_)) => {
            exam.undecryptable = true;
            return Ok(());
        }
    };
    let plaintext = Secret::new(crlf(&opened.plaintext));
    if parse::headers_too_big(&plaintext) {
        exam.oversized = true;
        return Ok(());
    }
    if !opened.signatures.is_empty() {
        exam.signatures = opened.signatures;
        exam.content = Some(if inline { text_entity(&plaintext) } else { plaintext.clone() });
        exam.signed = plaintext;
    } else if inline {
        open_inline_signed(list, &plaintext, exam)?;
    } else {
        open_inner(list, &plaintext, exam)?;
    }
    Ok(())
}

/// A decrypted PGP/MIME payload without a signature inside the encryption:
/// it must be a `multipart/signed` entity (signed, then encrypted).
fn open_inner(list: &List, plaintext: &[u8], exam: &mut Examined) -> Result<()> {
    match parse::read_entity(plaintext) {
        Crypto::PgpMimeSigned { entity, signature } => {
            exam.signatures = list.keyring.verify_detached(&signature, &entity)?;
            exam.content = Some(Secret::new(entity.clone()));
            exam.signed = Secret::new(entity);
        }
        Crypto::Plain(entity) => exam.content = Some(Secret::new(entity)),
        _ => exam.wrapped = true,
    }
    Ok(())
}

/// Inline PGP: a cleartext-signed block becomes a text/plain entity.
fn open_inline_signed(list: &List, armored: &[u8], exam: &mut Examined) -> Result<()> {
    const BEGIN: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
    let text = String::from_utf8_lossy(armored);
    let text = text.trim();
    if !text.starts_with(BEGIN) {
        exam.content = Some(text_entity(armored));
        return Ok(());
    }
    // gpg returns only the signed text: whatever follows the block, or a
    // second block, would be dropped unseen, so the mail is refused instead.
    if !text.ends_with("-----END PGP SIGNATURE-----") || text.matches(BEGIN).count() != 1 {
        exam.wrapped = true;
        return Ok(());
    }
    let (signed_text, signatures) = list.keyring.verify_cleartext(armored)?;
    exam.signatures = signatures;
    exam.content = Some(text_entity(&Secret::new(crlf(&signed_text))));
    exam.signed = signed_text;
    Ok(())
}

fn text_entity(text: &[u8]) -> Secret {
    const HEAD: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    let mut entity = Secret::new(Vec::with_capacity(HEAD.len() + text.len()));
    entity.extend_from_slice(HEAD);
    entity.extend_from_slice(text);
    entity
}

/// Turns gpg's signature report into the policy's view, and the replay digest.
pub(super) fn judge_signature(
    list: &List,
    exam: &Examined,
    members: &[Member],
    from: Option<&Address>,
) -> (Signature, Option<String>) {
    let [check] = exam.signatures.as_slice() else {
        return (if exam.signatures.is_empty() { Signature::None } else { Signature::Bad }, None);
    };
    match check.status {
        SigStatus::Good | SigStatus::KeyExpired | SigStatus::KeyRevoked => {}
        SigStatus::UnknownKey => return (Signature::UnknownKey, None),
        _ => return (Signature::Bad, None),
    }
    let Some(key) = list.keyring.key_of(&check.fingerprint) else { return (Signature::UnknownKey, None) };
    let owner = members.iter().find(|m| m.key(&key.fingerprint).is_some()).map(|m| m.address.clone());
    let digest = sha256_hex(format!("{}|{}|{}", key.fingerprint, check.created, sha256_hex(&exam.signed)).as_bytes());
    let good = GoodSignature {
        key: key.fingerprint.clone(),
        owner,
        user_id_matches: from.is_some_and(|f| key.has_address(f)),
        created: check.created,
        key_created: key.created,
        key_expires: key.expires,
        key_revoked: key.revoked || check.status == SigStatus::KeyRevoked,
        key_expired: key.expired || check.status == SigStatus::KeyExpired,
        replay: false,
    };
    (Signature::Good(good), Some(digest))
}

fn decide_and_apply(list: &List, snap: &Snapshot, id: &str, size: u64, exam: Examined) -> Result<Outcome> {
    let facts = &exam.facts;
    let from = facts.from.first();
    let member = from.and_then(|f| snap.members.iter().find(|m| &m.address == f));
    let (signature, digest) = judge_signature(list, &exam, &snap.members, from);
    let too_complex = facts.oversized_headers
        || exam.oversized
        || exam.content.as_deref().map(Vec::as_slice).is_some_and(parse::too_complex);
    // Headers past the limit are never parsed, protected ones included.
    let protected = match too_complex {
        true => Default::default(),
        false => exam.content.as_deref().map(Vec::as_slice).map(parse::protected_headers).unwrap_or_default(),
    };
    let list_id = format!("<{}>", list_id(list.address()));
    let mut policy_facts = Facts {
        now: now(),
        list: list.address(),
        settings: &snap.settings,
        from: &facts.from,
        from_invalid: facts.from_invalid,
        member,
        looped: facts.x_loop.iter().any(|l| l == list.address().as_str())
            || facts.list_id.as_deref().is_some_and(|l| l.contains(&list_id)),
        bounce: facts.null_sender || facts.report,
        auto_reply: facts.auto_submitted || facts.bulk,
        size,
        encrypted: exam.encrypted,
        wrapped: exam.wrapped,
        undecryptable: exam.undecryptable,
        inner_from_differs: !protected.from.is_empty() && protected.from != facts.from,
        // Signed mail that names its recipients must name this list: a member's
        // private signed mail re-sent to the list is not a post of theirs.
        not_for_this_list: protected.recipients.as_ref().is_some_and(|r| !r.contains(list.address())),
        too_complex,
        signature,
        released: snap.released,
    };
    let mut decision = policy::decide(&policy_facts);

    let sealed_post = match (decision, &exam.content, from) {
        (Decision::Approve, Some(content), Some(author)) => {
            let subject = match (&protected.subject, &facts.subject) {
                (Some(inner), _) => inner.clone(),
                (None, Some(outer)) => outer.clone(),
                (None, None) => String::new(),
            };
            let post = Post {
                author: author.clone(),
                author_name: facts.from_name.clone(),
                subject,
                date: facts.date,
                message_id: facts.message_id.clone(),
                in_reply_to: facts.in_reply_to.clone(),
                references: facts.references.clone(),
                content: parse::without_key_parts(content),
            };
            Some(list.keyring.encrypt(std::slice::from_ref(&snap.record.fingerprint), &post.encode(), None)?)
        }
        (Decision::Approve, None, _) => {
            decision = Decision::Reject(Reason::Undecryptable);
            None
        }
        (Decision::Approve, Some(_), None) => {
            decision = Decision::Reject(Reason::NotSingleFrom);
            None
        }
        _ => None,
    };

    let store = list.store()?;
    if let (Decision::Approve, Some(digest)) = (decision, &digest) {
        // A released post is recorded too, so that a copy of it cannot come back later.
        if !store.remember_signature(digest)? && !snap.released {
            if let Signature::Good(good) = &mut policy_facts.signature {
                good.replay = true;
            }
            decision = policy::decide(&policy_facts);
        }
    }
    let sender = from.filter(|_| !facts.null_sender && !policy_facts.bounce);
    // The sender hears at most once an hour, and never when the mail came from
    // a list; admins hear of every hold, and of rejections once an hour per sender.
    let notify_sender = match (decision, sender) {
        (Decision::Reject(reason), Some(s)) if !reason.is_silent() && !facts.mailing_list => {
            store.notice_allowed(s.as_str(), 3600)?
        }
        _ => false,
    };
    let notify_admins = match (decision, sender) {
        (Decision::Hold(_), _) => true,
        (Decision::Reject(reason), Some(s)) if !reason.is_silent() => {
            store.notice_allowed(&format!("admins:{s}"), 3600)?
        }
        (Decision::Reject(reason), None) => !reason.is_silent(),
        _ => false,
    };
    match (decision, sealed_post) {
        (Decision::Approve, Some(sealed)) => {
            let mut entry = store.entry(id)?.ok_or_else(|| Error::software("entry vanished"))?;
            store.put_payload(id, &sealed)?;
            entry.stage = Stage::Outgoing;
            entry.end_lease();
            entry.attempts = 0;
            entry.next_attempt = 0;
            store.put_entry(&entry)?;
        }
        (Decision::Hold(reason), _) => {
            let mut entry = store.entry(id)?.ok_or_else(|| Error::software("entry vanished"))?;
            entry.stage = Stage::Held;
            entry.end_lease();
            entry.held_reason = Some(reason.describe().to_string());
            store.put_entry(&entry)?;
        }
        _ => store.remove_entry(id)?,
    }
    store.flush()?;
    drop(store);

    let who = match (snap.settings.anonymous, from) {
        (false, Some(f)) => format!(" from {f}"),
        _ => String::new(),
    };
    let line = match decision {
        Decision::Approve => format!("entry {id}{who} approved"),
        Decision::Hold(r) => format!("entry {id}{who} held: {}", r.describe()),
        Decision::Reject(r) => format!("entry {id}{who} rejected: {}", r.describe()),
        Decision::Discard(r) => format!("entry {id}{who} discarded: {}", r.describe()),
    };
    crate::log::event(&list.home, &line);
    if notify_sender {
        send_rejection(list, snap, id, sender, member);
    }
    if notify_admins {
        report_to_admins(list, snap, id, decision, from);
    }
    Ok(Outcome::Decided(decision))
}

/// The one fixed notice to the sender of a rejected mail.
pub(super) fn send_rejection(
    list: &List,
    snap: &Snapshot,
    id: &str,
    sender: Option<&Address>,
    member: Option<&Member>,
) {
    let Some(to) = sender else { return };
    let sent = list.keyring.export(&snap.record.fingerprint).and_then(|key| {
        let notice = notice::rejection(list.address(), to, &snap.record.fingerprint, &key);
        // Encrypted to a member's verified key; in clear if that key cannot be used (revoked, expired).
        let mail: Outgoing = list
            .seal(&notice, member.and_then(Member::delivery_key), &snap.record.fingerprint)
            .unwrap_or_else(|_| notice.in_clear(list.address()));
        transport::send(&snap.settings.transport, &mail)
    });
    if let Err(e) = sent {
        crate::log::event(&list.home, &format!("entry {id}: rejection notice not sent: {}", e.message()));
    }
}

/// What happened and why, for the admins (never any content).
fn report_to_admins(list: &List, snap: &Snapshot, id: &str, decision: Decision, sender: Option<&Address>) {
    let (what, reason) = match decision {
        Decision::Reject(r) => ("rejected", r),
        Decision::Hold(r) => ("held", r),
        _ => return,
    };
    let from = match (snap.settings.anonymous, sender) {
        (false, Some(s)) => s.to_string(),
        (true, Some(_)) => "a sender (anonymous list)".into(),
        (_, None) => "an unknown sender".into(),
    };
    let mut text = format!("Entry {id} from {from} was {what}: {}.", reason.describe());
    if what == "held" {
        text.push_str(&format!(
            "\r\nRelease it with `listcrypt queue release {list} {id}` or drop it with `listcrypt queue discard {list} {id}`.",
            list = list.address()
        ));
    }
    tell_admins(list, &snap.members, &snap.settings, &snap.record.fingerprint, &format!("post {what}"), &text);
}

/// `crypto.example.org` for `crypto@example.org` (RFC 2919 list identifier).
pub fn list_id(list: &Address) -> String {
    format!("{}.{}", list.local_part(), list.domain())
}
