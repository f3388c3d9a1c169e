//! What an incoming mail is and what its signature vouches for: every
//! layer opened (the mail's own encryption, then any signature inside or
//! around it), and the acceptance rules applied to the result. Posts and
//! command mail take this one path.

use super::notify;
use super::snapshot::Snapshot;
use crate::error::Result;
use crate::gpg::{DecryptFailure, KeyInfo, SigStatus, SignatureCheck};
use crate::list::List;
use crate::member::Member;
use crate::mime::build::crlf;
use crate::mime::parse::{self, Crypto, MailFacts, Protected};
use crate::mime::text::text_entity;
use crate::model::{now, sha256_hex, Address, Fingerprint, Secret};
use crate::openpgp;
use crate::pipeline::acceptance::{facts_of, Arrival, Findings};
use crate::policy::{self, Decision, Facts, GoodSignature, Kind, Signature};
use crate::store::Store;

/// What the mail is: header facts, its content and its signatures.
pub(super) struct Examined {
    pub(super) facts: MailFacts,
    pub(super) content: Option<Secret>,
    pub(super) encrypted: bool,
    pub(super) wrapped: bool,
    undecryptable: bool,
    /// The decrypted entity's header section is over the limit (not parsed).
    oversized: bool,
    /// Would make gpg work far longer than any post needs: not handed to it.
    gpg_overload: bool,
    signatures: Vec<SignatureCheck>,
    /// What the signature covers, for the replay digest.
    signed: Secret,
}

/// Reads the structure and opens every layer.
pub(super) fn examine(list: &List, raw: &[u8], limit: usize) -> Result<Examined> {
    let (facts, crypto) = parse::read_mail(raw)?;
    let mut exam = Examined {
        facts,
        content: None,
        encrypted: false,
        wrapped: false,
        undecryptable: false,
        oversized: false,
        gpg_overload: false,
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
        Crypto::PgpMimeSigned { entity, signature } => verify_detached(list, entity, &signature, &mut exam)?,
        Crypto::InlineSigned(armored) => open_inline_signed(list, &armored, &mut exam)?,
        Crypto::Wrapped => exam.wrapped = true,
        Crypto::Plain(entity) => exam.content = Some(Secret::new(entity)),
    }
    Ok(exam)
}

/// A `multipart/signed` entity and its detached signature.
fn verify_detached(list: &List, entity: Vec<u8>, signature: &[u8], exam: &mut Examined) -> Result<()> {
    if openpgp::too_costly_signature(signature) {
        exam.gpg_overload = true;
        return Ok(());
    }
    exam.signatures = list.keyring.verify_detached(signature, &entity)?;
    exam.content = Some(Secret::new(entity.clone()));
    exam.signed = Secret::new(entity);
    Ok(())
}

/// Decrypts the mail's own encryption. The stored copy was just opened with
/// the list key, so a "locked" answer here means the mail asks for something
/// else (a passphrase-only message): it is undecryptable, not a reason to wait.
fn open_encrypted(list: &List, ciphertext: &[u8], inline: bool, limit: usize, exam: &mut Examined) -> Result<()> {
    exam.encrypted = true;
    match openpgp::message_framing(ciphertext) {
        openpgp::Framing::Bounded => {}
        openpgp::Framing::TooCostly => {
            exam.gpg_overload = true;
            return Ok(());
        }
        openpgp::Framing::NotEncrypted => {
            exam.undecryptable = true;
            return Ok(());
        }
    }
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
        Crypto::PgpMimeSigned { entity, signature } => verify_detached(list, entity, &signature, exam)?,
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
    if text
        .find("-----BEGIN PGP SIGNATURE-----")
        .is_some_and(|at| openpgp::too_costly_signature(&text.as_bytes()[at..]))
    {
        exam.gpg_overload = true;
        return Ok(());
    }
    let (signed_text, signatures) = list.keyring.verify_cleartext(armored)?;
    exam.signatures = signatures;
    exam.content = Some(text_entity(&Secret::new(crlf(&signed_text))));
    exam.signed = signed_text;
    Ok(())
}

/// The members a mail involves, each found by key rather than by reading
/// the whole list, so that a post's work does not grow with the list: the
/// member its `From:` names, who registered each key that could have made
/// its signature, and the admins (for reports).
pub(super) struct Involved {
    sender: Option<Member>,
    /// Every key holding the signing (sub)key, and who registered it.
    signers: Vec<(KeyInfo, Option<Address>)>,
    admins: Vec<Member>,
}

impl Involved {
    /// Asks gpg which keys hold the signing key (store closed), then reads
    /// their members, the sender and the admins in one short store visit.
    /// A keyring that cannot be read is a temporary failure, never "unknown signer".
    pub(super) fn gather(list: &List, exam: &Examined) -> Result<Involved> {
        let candidates = match exam.signatures.as_slice() {
            [check] if check.status.is_genuine() => list.keyring.key_infos_holding(&check.fingerprint)?,
            _ => vec![],
        };
        let store = list.store()?;
        let sender = match exam.facts.from.first() {
            Some(from) => store.member(from)?,
            None => None,
        };
        let mut signers = Vec::with_capacity(candidates.len());
        for key in candidates {
            let owner = match sender.as_ref().filter(|m| m.key(&key.fingerprint).is_some()) {
                Some(sender) => Some(sender.address.clone()),
                None => store.member_holding(&key.fingerprint)?.map(|m| m.address),
            };
            signers.push((key, owner));
        }
        Ok(Involved { sender, signers, admins: store.admins()? })
    }
}

/// Turns gpg's signature report into the policy's view, and the replay digest.
fn judge_signature(exam: &Examined, involved: &Involved, from: Option<&Address>) -> (Signature, Option<String>) {
    let [check] = exam.signatures.as_slice() else {
        return (if exam.signatures.is_empty() { Signature::None } else { Signature::Bad }, None);
    };
    if check.status == SigStatus::UnknownKey {
        return (Signature::UnknownKey, None);
    }
    if !check.status.is_genuine() {
        return (Signature::Bad, None);
    }
    // Should a key grafted from another hold the same subkey, the member's
    // own key is the one that counts: a duplicate never makes a signer "unknown".
    let signers = &involved.signers;
    let Some((key, owner)) = signers
        .iter()
        .find(|(_, owner)| owner.is_some() && owner.as_ref() == from)
        .or_else(|| signers.iter().find(|(_, owner)| owner.is_some()))
        .or_else(|| signers.first())
    else {
        return (Signature::UnknownKey, None);
    };
    let digest = sha256_hex(format!("{}|{}|{}", key.fingerprint, check.created, sha256_hex(&exam.signed)).as_bytes());
    let good = GoodSignature {
        key: key.fingerprint.clone(),
        owner: owner.clone(),
        user_id_matches: from.is_some_and(|f| key.has_address(f)),
        created: check.created,
        key_created: key.created,
        key_expires: key.expires,
        key_revoked: key.revoked || check.status == SigStatus::KeyRevoked,
        key_expired: key.expired || check.status == SigStatus::KeyExpired,
        weak_hash: check.weak_hash,
        weak_key: key.weak.is_some(),
        replay: false,
    };
    (Signature::Good(good), Some(digest))
}

/// The acceptance rules applied to one examined mail: the facts are gathered
/// once and [`policy::decide`] decides. Posts and command mail take this one path.
pub(super) struct Judgement<'a> {
    pub(super) facts: Facts<'a>,
    pub(super) decision: Decision,
    /// The replay digest of a good signature.
    digest: Option<String>,
    pub(super) protected: Protected,
    admins: &'a [Member],
}

pub(super) fn judge<'a>(
    list: &'a List,
    snap: &'a Snapshot,
    involved: &'a Involved,
    exam: &'a Examined,
    size: u64,
    kind: Kind,
) -> Judgement<'a> {
    let (signature, digest) = judge_signature(exam, involved, exam.facts.from.first());
    let arrival = Arrival {
        kind,
        list: list.address(),
        settings: &snap.settings,
        member: involved.sender.as_ref(),
        released: snap.entry.released,
        now: now(),
    };
    let findings = Findings {
        mail: &exam.facts,
        content: exam.content.as_deref().map(Vec::as_slice),
        encrypted: exam.encrypted,
        wrapped: exam.wrapped,
        undecryptable: exam.undecryptable,
        oversized: exam.oversized,
        gpg_overload: exam.gpg_overload,
        size,
    };
    let (facts, protected) = facts_of(&arrival, &findings, signature);
    let decision = policy::decide(&facts);
    Judgement { facts, decision, digest, protected, admins: &involved.admins }
}

impl Judgement<'_> {
    /// Records an approved mail's signature as seen, in the open store; a
    /// signature seen before makes it a replay. A released post is recorded
    /// too, so that a copy of it cannot come back later.
    pub(super) fn check_replay(&mut self, store: &Store) -> Result<()> {
        let (Decision::Approve, Some(digest)) = (self.decision, &self.digest) else { return Ok(()) };
        let released_post = self.facts.released && self.facts.kind == Kind::Post;
        if !store.remember_signature(digest)? && !released_post {
            if let Signature::Good(good) = &mut self.facts.signature {
                good.replay = true;
            }
            self.decision = policy::decide(&self.facts);
        }
        Ok(())
    }

    /// The fingerprint of the good signature's key.
    pub(super) fn signer(&self) -> Option<&Fingerprint> {
        match &self.facts.signature {
            Signature::Good(good) => Some(&good.key),
            _ => None,
        }
    }

    /// The line the list log gets (no author on anonymous lists).
    pub(super) fn log_line(&self, id: &str) -> String {
        let who = match (self.facts.settings.anonymous, self.facts.from.first()) {
            (false, Some(f)) => format!(" from {f}"),
            _ => String::new(),
        };
        let what = match self.facts.kind {
            Kind::Post => "",
            Kind::Commands => " (commands)",
        };
        match self.decision {
            Decision::Approve => format!("entry {id}{who}{what} approved"),
            Decision::Hold(r) => format!("entry {id}{who}{what} held: {}", r.describe()),
            Decision::Reject(r) => format!("entry {id}{who}{what} rejected: {}", r.describe()),
            Decision::Discard(r) => format!("entry {id}{who}{what} discarded: {}", r.describe()),
        }
    }

    /// The notices' view of the list and the mail.
    pub(super) fn notice_view<'s>(&'s self, snap: &'s Snapshot) -> notify::View<'s> {
        notify::View {
            admins: self.admins,
            settings: &snap.settings,
            list_key: &snap.record.fingerprint,
            member: self.facts.member,
        }
    }
}
