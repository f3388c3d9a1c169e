//! The facts the acceptance rules ([`crate::policy`]) look at, gathered the
//! same way for a post and for command mail, from what examining the mail
//! found. Pure: no gpg, no store, no clock of its own, so that the fuzz
//! target runs exactly what `verify` runs (`verify` reads the `From:`
//! member by address, the fuzz target compares the one it has).

use crate::member::Member;
use crate::mime::parse::{self, MailFacts, Protected};
use crate::model::Address;
use crate::policy::{Facts, Kind, Signature};
use crate::settings::Settings;

/// Where a mail arrived and what the list knew then.
pub struct Arrival<'a> {
    pub kind: Kind,
    pub list: &'a Address,
    pub settings: &'a Settings,
    /// The member the mail's `From:` names, if any.
    pub member: Option<&'a Member>,
    /// An admin released it from the hold queue.
    pub released: bool,
    pub now: u64,
}

/// What examining one mail found, all but gpg's word on its signature.
pub struct Findings<'a> {
    pub mail: &'a MailFacts,
    /// What will be distributed (or read as commands): the decrypted or signed entity.
    pub content: Option<&'a [u8]>,
    pub encrypted: bool,
    pub wrapped: bool,
    pub undecryptable: bool,
    /// The decrypted entity's header section is over the limit (never parsed).
    pub oversized: bool,
    pub gpg_overload: bool,
    pub size: u64,
}

/// The policy's facts, and the protected headers they were read from.
pub fn facts_of<'a>(at: &Arrival<'a>, found: &Findings<'a>, signature: Signature) -> (Facts<'a>, Protected) {
    let mail = found.mail;
    let too_complex = mail.oversized_headers || found.oversized || found.content.is_some_and(parse::too_complex);
    // Headers past the limit are never parsed, protected ones included.
    let protected = match (too_complex, found.content) {
        (false, Some(content)) => parse::protected_headers(content),
        _ => Protected::default(),
    };
    // Signed mail that names its recipients must name where it was sent: a
    // member's private signed mail re-sent to the list is not a post of
    // theirs, nor their commands.
    let addressed_here = match at.kind {
        Kind::Post => vec![at.list.clone()],
        // Not the list: a post held back in transit must not run as commands.
        Kind::Commands => vec![at.list.request()],
    };
    let list_id = format!("<{}>", list_id(at.list));
    let facts = Facts {
        kind: at.kind,
        now: at.now,
        list: at.list,
        settings: at.settings,
        from: &mail.from,
        from_invalid: mail.from_invalid,
        member: at.member,
        looped: mail.x_loop.iter().any(|l| l == at.list.as_str())
            || mail.list_id.as_deref().is_some_and(|l| l.contains(&list_id)),
        bounce: mail.null_sender || mail.report,
        auto_reply: mail.auto_submitted || mail.bulk,
        size: found.size,
        encrypted: found.encrypted,
        wrapped: found.wrapped,
        undecryptable: found.undecryptable,
        gpg_overload: found.gpg_overload,
        malformed_headers: found.content.is_some_and(parse::bare_line_breaks_in_headers),
        inner_from_differs: !protected.from.is_empty() && protected.from != mail.from,
        not_for_this_list: protected.recipients.as_ref().is_some_and(|r| !addressed_here.iter().any(|a| r.contains(a))),
        names_no_recipients: protected.recipients.is_none(),
        too_complex,
        signature,
        released: at.released,
    };
    (facts, protected)
}

/// `crypto.example.org` for `crypto@example.org` (RFC 2919 list identifier).
pub fn list_id(list: &Address) -> String {
    format!("{}.{}", list.local_part(), list.domain())
}
