//! The acceptance rules of DESIGN.md ("Accepting a post"), as a pure function
//! of facts gathered by `verify`: no gpg, no store, no clock of its own.
//! Posts and command mail to `-request` pass the same rules; command mail may
//! not relax them (it must always be signed and encrypted, is never held) and
//! may come from a pending key, whose only use is to answer its challenge.

use crate::member::Member;
use crate::model::{Address, Fingerprint};
use crate::settings::{Action, Settings};

/// Signatures may be this far in the future (clock skew).
pub const FUTURE_SLACK: u64 = 15 * 60;

/// What the signature check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    None,
    /// Bad, several, or not over the whole content.
    Bad,
    /// A key the list does not hold.
    UnknownKey,
    Good(GoodSignature),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodSignature {
    /// The primary fingerprint of the signing key (a subkey resolves to its primary).
    pub key: Fingerprint,
    /// The member that key is registered to, if any.
    pub owner: Option<Address>,
    /// That key has a user ID with the `From:` address.
    pub user_id_matches: bool,
    pub created: u64,
    pub key_created: u64,
    pub key_expires: Option<u64>,
    pub key_revoked: bool,
    pub key_expired: bool,
    /// Made with MD5, SHA-1 or another hash outside SHA-2.
    pub weak_hash: bool,
    /// The key is RSA, DSA or ElGamal under 2048 bits (registered before
    /// such keys were refused).
    pub weak_key: bool,
    /// Seen on this list before.
    pub replay: bool,
}

/// What the mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// To the list address: a post.
    Post,
    /// To `-request`: commands that act as the signer.
    Commands,
}

/// Everything the rules look at.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub kind: Kind,
    pub now: u64,
    pub list: &'a Address,
    pub settings: &'a Settings,
    pub from: &'a [Address],
    pub from_invalid: bool,
    /// The member with the single `From:` address.
    pub member: Option<&'a Member>,
    pub looped: bool,
    pub bounce: bool,
    pub auto_reply: bool,
    pub size: u64,
    pub encrypted: bool,
    /// Cryptography below the root or partly signed/encrypted text.
    pub wrapped: bool,
    /// Could not decrypt (not to the list key, damaged, no integrity check).
    pub undecryptable: bool,
    /// An inner (protected) From that differs from the outer one.
    pub inner_from_differs: bool,
    /// The signed part names its recipients, and this list (for command
    /// mail: its `-request` address or the list) is not among them.
    pub not_for_this_list: bool,
    /// The signed part names no recipients at all (no protected To/Cc): it
    /// vouches for its text, not for where it was meant to go.
    pub names_no_recipients: bool,
    /// More MIME parts or nesting than any post needs.
    pub too_complex: bool,
    /// A header section of the content holds a bare CR or LF.
    pub malformed_headers: bool,
    /// More session key packets or signatures than any post carries: never
    /// handed to gpg, which would spend a private-key operation on each.
    pub gpg_overload: bool,
    pub signature: Signature,
    /// An admin released it from the hold queue.
    pub released: bool,
}

/// Why a post was not approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Loop,
    Bounce,
    AutoReply,
    TooLarge,
    NotSingleFrom,
    NonMember,
    Wrapped,
    Undecryptable,
    Unencrypted,
    Unsigned,
    BadSignature,
    UnknownSigner,
    SignerIsNotSender,
    PendingKey,
    NoUserIdForSender,
    KeyRevoked,
    KeyExpired,
    SignatureTooOld,
    SignatureInFuture,
    Replay,
    InnerFromDiffers,
    NotForThisList,
    TooComplex,
    GpgOverload,
    WeakHash,
    WeakKey,
    MalformedHeaders,
    NamesNoList,
}

impl Reason {
    /// For admins and the log; never shown to the sender (one fixed text there).
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Loop => "a mail loop (this list's X-Loop or List-Id)",
            Reason::Bounce => "a bounce or delivery report",
            Reason::AutoReply => "an auto-reply or bulk mail",
            Reason::TooLarge => "larger than max_message_size",
            Reason::NotSingleFrom => "From: does not hold exactly one valid address",
            Reason::NonMember => "the sender is not a member",
            Reason::Wrapped => "signed or encrypted parts inside an unsigned wrapper",
            Reason::Undecryptable => "not decryptable with the list key, or without integrity protection",
            Reason::Unencrypted => "not encrypted to the list key",
            Reason::Unsigned => "not signed",
            Reason::BadSignature => "a bad signature, or several signatures",
            Reason::UnknownSigner => "signed by a key the list does not know",
            Reason::SignerIsNotSender => "signed by a key of another member",
            Reason::PendingKey => "signed by a key that is not verified yet",
            Reason::NoUserIdForSender => "the signing key has no user ID with the From: address",
            Reason::KeyRevoked => "the signing key is revoked",
            Reason::KeyExpired => "the signing key was expired when it signed, or is now",
            Reason::SignatureTooOld => "the signature is older than max_signature_age",
            Reason::SignatureInFuture => "the signature is dated in the future",
            Reason::Replay => "a replay of a post the list has already accepted",
            Reason::InnerFromDiffers => "the protected From: differs from the outer From:",
            Reason::TooComplex => "larger headers, more MIME parts or deeper nesting than a post may have",
            Reason::GpgOverload => {
                "more session key packets or signatures than a post may have, or OpenPGP framing that cannot be read for certain (not given to gpg)"
            }
            Reason::WeakHash => "signed with a weak hash (MD5, SHA-1 or another outside SHA-2)",
            Reason::WeakKey => "signed with a weak key (RSA, DSA or ElGamal under 2048 bits)",
            Reason::NamesNoList => {
                "the signed part does not name the list in protected To/Cc (require_protected_headers)"
            }
            Reason::MalformedHeaders => "a header field with a bare CR or LF (mail readers would disagree on what it says)",
            Reason::NotForThisList => {
                "the signed part is addressed to others, not to this list (a forwarded private mail)"
            }
        }
    }

    /// Loops, bounces and auto-replies are dropped without any notice.
    pub fn is_silent(self) -> bool {
        matches!(self, Reason::Loop | Reason::Bounce | Reason::AutoReply)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject(Reason),
    Hold(Reason),
    Discard(Reason),
}

pub fn decide(f: &Facts<'_>) -> Decision {
    if f.looped {
        return Decision::Discard(Reason::Loop);
    }
    if f.bounce {
        return Decision::Discard(Reason::Bounce);
    }
    if f.auto_reply {
        return Decision::Discard(Reason::AutoReply);
    }
    if f.size > f.settings.max_message_size {
        return Decision::Reject(Reason::TooLarge);
    }
    if f.too_complex {
        return Decision::Reject(Reason::TooComplex);
    }
    if f.gpg_overload {
        return Decision::Reject(Reason::GpgOverload);
    }
    if f.malformed_headers {
        return Decision::Reject(Reason::MalformedHeaders);
    }
    // An admin's release skips the authorship rules, never the content's limits.
    if f.released && f.kind == Kind::Post {
        return Decision::Approve;
    }
    if f.from.len() != 1 || f.from_invalid {
        return nonmember(f, Reason::NotSingleFrom);
    }
    let Some(member) = f.member else { return nonmember(f, Reason::NonMember) };
    match check_member_post(f, member) {
        None => Decision::Approve,
        Some(reason) => match (f.kind, f.settings.unverified_action) {
            (Kind::Post, Action::Hold) => Decision::Hold(reason),
            _ => Decision::Reject(reason),
        },
    }
}

fn nonmember(f: &Facts<'_>, reason: Reason) -> Decision {
    match (f.kind, f.settings.nonmember_action) {
        (Kind::Commands, _) | (_, Action::Reject) => Decision::Reject(reason),
        (Kind::Post, Action::Hold) => Decision::Hold(reason),
        (Kind::Post, Action::Discard) => Decision::Discard(reason),
    }
}

/// The first rule a member's post breaks, if any.
fn check_member_post(f: &Facts<'_>, member: &Member) -> Option<Reason> {
    let commands = f.kind == Kind::Commands;
    if f.wrapped {
        return Some(Reason::Wrapped);
    }
    if f.undecryptable {
        return Some(Reason::Undecryptable);
    }
    if (f.settings.require_encryption || commands) && !f.encrypted {
        return Some(Reason::Unencrypted);
    }
    if f.inner_from_differs {
        return Some(Reason::InnerFromDiffers);
    }
    if f.not_for_this_list {
        return Some(Reason::NotForThisList);
    }
    if f.names_no_recipients && f.settings.require_protected_headers {
        return Some(Reason::NamesNoList);
    }
    let good = match &f.signature {
        Signature::None if f.settings.require_signature || commands => return Some(Reason::Unsigned),
        Signature::None => return None,
        Signature::Bad => return Some(Reason::BadSignature),
        Signature::UnknownKey => return Some(Reason::UnknownSigner),
        Signature::Good(good) => good,
    };
    match (&good.owner, member.key(&good.key)) {
        (None, _) => return Some(Reason::UnknownSigner),
        (_, None) => return Some(Reason::SignerIsNotSender),
        // A pending key may only answer its own challenge (checked by the command handler).
        (_, Some(key)) if !key.is_verified() && !commands => return Some(Reason::PendingKey),
        _ => {}
    }
    if good.key_revoked {
        return Some(Reason::KeyRevoked);
    }
    let expired_at_signing = good.key_expires.is_some_and(|e| good.created >= e) || good.created < good.key_created;
    if good.key_expired || expired_at_signing {
        return Some(Reason::KeyExpired);
    }
    if !good.user_id_matches {
        return Some(Reason::NoUserIdForSender);
    }
    if good.weak_hash {
        return Some(Reason::WeakHash);
    }
    if good.weak_key {
        return Some(Reason::WeakKey);
    }
    if good.created.saturating_add(f.settings.max_signature_age) < f.now {
        return Some(Reason::SignatureTooOld);
    }
    if good.created > f.now + FUTURE_SLACK {
        return Some(Reason::SignatureInFuture);
    }
    if good.replay {
        return Some(Reason::Replay);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::{KeyState, MemberKey, Role};

    const NOW: u64 = 2_000_000_000;

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn alice() -> Member {
        let mut m = Member::new(Address::parse("alice@example.org").unwrap(), Role::Member);
        m.keys.push(MemberKey { fingerprint: fpr('a'), state: KeyState::Verified { since: 0 }, added: 0 });
        m.keys.push(MemberKey::pending(fpr('b'), "token", 100));
        m
    }

    fn good(key: char) -> GoodSignature {
        GoodSignature {
            key: fpr(key),
            owner: Some(Address::parse("alice@example.org").unwrap()),
            user_id_matches: true,
            created: NOW - 60,
            key_created: NOW - 365 * 86_400,
            key_expires: None,
            key_revoked: false,
            key_expired: false,
            weak_hash: false,
            weak_key: false,
            replay: false,
        }
    }

    fn check(edit: impl FnOnce(&mut Facts<'_>)) -> Decision {
        check_with(&Settings::default(), edit)
    }

    fn check_with(settings: &Settings, edit: impl FnOnce(&mut Facts<'_>)) -> Decision {
        let list = Address::parse("crypto@example.org").unwrap();
        let from = [Address::parse("alice@example.org").unwrap()];
        let member = alice();
        let mut facts = Facts {
            kind: Kind::Post,
            now: NOW,
            list: &list,
            settings,
            from: &from,
            from_invalid: false,
            member: Some(&member),
            looped: false,
            bounce: false,
            auto_reply: false,
            size: 1000,
            encrypted: true,
            wrapped: false,
            undecryptable: false,
            inner_from_differs: false,
            not_for_this_list: false,
            names_no_recipients: false,
            too_complex: false,
            gpg_overload: false,
            malformed_headers: false,
            signature: Signature::Good(good('a')),
            released: false,
        };
        edit(&mut facts);
        decide(&facts)
    }

    #[test]
    fn a_fresh_post_signed_by_the_senders_verified_key_is_approved() {
        assert_eq!(check(|_| {}), Decision::Approve);
    }

    #[test]
    fn every_broken_rule_has_its_reason() {
        use Reason::*;
        type Edit = Box<dyn FnOnce(&mut Facts<'_>)>;
        let cases: Vec<(Reason, Edit)> = vec![
            (Unencrypted, Box::new(|f| f.encrypted = false)),
            (Unsigned, Box::new(|f| f.signature = Signature::None)),
            (BadSignature, Box::new(|f| f.signature = Signature::Bad)),
            (UnknownSigner, Box::new(|f| f.signature = Signature::UnknownKey)),
            (PendingKey, Box::new(|f| f.signature = Signature::Good(good('b')))),
            (SignerIsNotSender, Box::new(|f| f.signature = Signature::Good(good('c')))),
            (Wrapped, Box::new(|f| f.wrapped = true)),
            (TooLarge, Box::new(|f| f.size = u64::MAX)),
            (Replay, Box::new(|f| f.signature = Signature::Good(GoodSignature { replay: true, ..good('a') }))),
            (KeyRevoked, Box::new(|f| f.signature = Signature::Good(GoodSignature { key_revoked: true, ..good('a') }))),
            (
                KeyExpired,
                Box::new(|f| {
                    f.signature = Signature::Good(GoodSignature { key_expires: Some(NOW - 120), ..good('a') })
                }),
            ),
            (
                SignatureTooOld,
                Box::new(|f| f.signature = Signature::Good(GoodSignature { created: NOW - 30 * 86_400, ..good('a') })),
            ),
            (
                SignatureInFuture,
                Box::new(|f| f.signature = Signature::Good(GoodSignature { created: NOW + 86_400, ..good('a') })),
            ),
            (
                NoUserIdForSender,
                Box::new(|f| f.signature = Signature::Good(GoodSignature { user_id_matches: false, ..good('a') })),
            ),
            (NonMember, Box::new(|f| f.member = None)),
            (InnerFromDiffers, Box::new(|f| f.inner_from_differs = true)),
            (NotForThisList, Box::new(|f| f.not_for_this_list = true)),
            (TooComplex, Box::new(|f| f.too_complex = true)),
            (GpgOverload, Box::new(|f| f.gpg_overload = true)),
            (MalformedHeaders, Box::new(|f| f.malformed_headers = true)),
            (WeakHash, Box::new(|f| f.signature = Signature::Good(GoodSignature { weak_hash: true, ..good('a') }))),
            (WeakKey, Box::new(|f| f.signature = Signature::Good(GoodSignature { weak_key: true, ..good('a') }))),
        ];
        for (reason, edit) in cases {
            assert_eq!(check(edit), Decision::Reject(reason), "{reason:?}");
        }
    }

    #[test]
    fn loops_bounces_and_auto_replies_are_dropped_silently() {
        assert_eq!(check(|f| f.looped = true), Decision::Discard(Reason::Loop));
        assert_eq!(check(|f| f.bounce = true), Decision::Discard(Reason::Bounce));
        assert_eq!(check(|f| f.auto_reply = true), Decision::Discard(Reason::AutoReply));
        assert!(Reason::Loop.is_silent() && !Reason::Unsigned.is_silent());
    }

    #[test]
    fn settings_relax_and_redirect_the_rules() {
        let relaxed = Settings {
            require_encryption: false,
            require_signature: false,
            unverified_action: Action::Hold,
            nonmember_action: Action::Discard,
            ..Settings::default()
        };
        let unsigned = |f: &mut Facts<'_>| {
            f.encrypted = false;
            f.signature = Signature::None
        };
        assert_eq!(check_with(&relaxed, unsigned), Decision::Approve);
        assert_eq!(check_with(&relaxed, |f| f.signature = Signature::Bad), Decision::Hold(Reason::BadSignature));
        assert_eq!(check_with(&relaxed, |f| f.member = None), Decision::Discard(Reason::NonMember));
        let strict = Settings { require_protected_headers: true, ..Settings::default() };
        assert_eq!(check(|f| f.names_no_recipients = true), Decision::Approve);
        assert_eq!(check_with(&strict, |f| f.names_no_recipients = true), Decision::Reject(Reason::NamesNoList));
    }

    #[test]
    fn command_mail_passes_the_same_rules_and_relaxes_none() {
        let relaxed = Settings {
            require_encryption: false,
            require_signature: false,
            unverified_action: Action::Hold,
            nonmember_action: Action::Hold,
            ..Settings::default()
        };
        let commands = |edit: fn(&mut Facts<'_>)| {
            move |f: &mut Facts<'_>| {
                f.kind = Kind::Commands;
                edit(f)
            }
        };
        assert_eq!(check_with(&relaxed, commands(|_| {})), Decision::Approve);
        assert_eq!(check_with(&relaxed, commands(|f| f.encrypted = false)), Decision::Reject(Reason::Unencrypted));
        assert_eq!(
            check_with(&relaxed, commands(|f| f.signature = Signature::None)),
            Decision::Reject(Reason::Unsigned)
        );
        assert_eq!(check_with(&relaxed, commands(|f| f.member = None)), Decision::Reject(Reason::NonMember));
        let future = |f: &mut Facts<'_>| {
            f.kind = Kind::Commands;
            f.signature = Signature::Good(GoodSignature { created: NOW + 86_400, ..good('a') })
        };
        assert_eq!(check(future), Decision::Reject(Reason::SignatureInFuture));
        let elsewhere = |f: &mut Facts<'_>| {
            f.kind = Kind::Commands;
            f.not_for_this_list = true
        };
        assert_eq!(check(elsewhere), Decision::Reject(Reason::NotForThisList));
        // A pending key passes (it may answer its challenge, nothing else).
        let pending = |f: &mut Facts<'_>| {
            f.kind = Kind::Commands;
            f.signature = Signature::Good(good('b'))
        };
        assert_eq!(check(pending), Decision::Approve);
    }
}
