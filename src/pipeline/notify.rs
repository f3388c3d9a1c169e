//! Who hears of a refused mail, and what they hear.
//!
//! A *member* whose mail was refused gets the one fixed, content-free notice
//! (at most one an hour); their admins get the reason (one report an hour per
//! sender). A *stranger* gets nothing at all: spam forges its senders, and a
//! list that answers them mails innocent people (backscatter). Refused
//! stranger mail is only counted, and the admins get the counts at most once
//! an hour per list ([`send_digest`], also called by `flush`), together
//! with the changes members made by mail;
//! held stranger mail is counted there too, to be found with `queue ls`.
//! Reports of a member's held or rejected mail come at most once an hour
//! per member, so that mail forged in their name cannot flood the admins.
//!
//! A member without a usable key hears, at most once a day and without any
//! content, that a post missed them ([`tell_missed`]); the admins hear who.

use super::snapshot::Snapshot;
use super::tell_admins;
use crate::error::Result;
use crate::list::List;
use crate::member::Member;
use crate::model::{utc, Address};
use crate::notice;
use crate::policy::{Decision, Facts};
use crate::store::{Digest, Store};
use crate::transport::{self, Outgoing};

/// Seconds between two notices to one sender, two reports about one sender,
/// or two digests of stranger mail.
const INTERVAL: u64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Held,
    Rejected,
    Discarded,
}

/// Who is told about one decided mail, worked out while the store is open
/// (the rate limits live there) and carried out after it is closed.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// The member who sent it gets the fixed notice.
    sender: Option<Address>,
    /// The admins get a report of this decision.
    report: bool,
    /// The admins get the stranger digest, which is due.
    digest: Option<Digest>,
}

/// Decides who hears of `decision`. `from_a_list`: the mail came from a
/// mailing list, which never gets a notice.
pub(super) fn plan(store: &Store, facts: &Facts<'_>, decision: Decision, from_a_list: bool) -> Result<Plan> {
    let (what, reason) = match decision {
        Decision::Approve => return Ok(Plan::default()),
        Decision::Hold(r) => (Told::Held, r),
        Decision::Reject(r) => (Told::Rejected, r),
        Decision::Discard(r) => (Told::Discarded, r),
    };
    if reason.is_silent() {
        return Ok(Plan::default());
    }
    let sender = facts.from.first().filter(|_| facts.from.len() == 1 && !facts.bounce);
    let Some(member) = facts.member else {
        let counted = match what {
            Told::Held => format!("held: {}", reason.describe()),
            _ => reason.describe().to_string(),
        };
        store.tally_stranger(&counted)?;
        return Ok(Plan { digest: store.take_digest(INTERVAL)?, ..Plan::default() });
    };
    let mut plan = Plan::default();
    if what == Told::Rejected && !from_a_list && store.notice_allowed(member.address.as_str(), INTERVAL)? {
        plan.sender = sender.cloned();
    }
    // Holds too: mail forged in a member's name must not flood the admins.
    plan.report = what != Told::Discarded && store.notice_allowed(&format!("admins:{}", member.address), INTERVAL)?;
    Ok(plan)
}

/// Carries out a [`Plan`]: best effort, failures are logged.
pub(super) fn carry_out(list: &List, view: &View<'_>, id: &str, decision: Decision, plan: Plan) {
    if let Some(sender) = &plan.sender {
        send_rejection(list, view, id, sender);
    }
    if plan.report {
        report_to_admins(list, view, id, decision);
    }
    if let Some(digest) = plan.digest {
        tell_digest(list, view, &digest);
    }
}

/// The notices' view of the list and the mail: what they need to know.
pub(super) struct View<'a> {
    pub(super) admins: &'a [Member],
    pub(super) settings: &'a crate::settings::Settings,
    pub(super) list_key: &'a crate::model::Fingerprint,
    /// The `From:` member, if any.
    pub(super) member: Option<&'a Member>,
}

/// The one fixed notice to the member whose mail was refused.
fn send_rejection(list: &List, view: &View<'_>, id: &str, to: &Address) {
    let sent = list.keyring.export(view.list_key).and_then(|key| {
        let notice = notice::rejection(list.address(), to, view.list_key, &key);
        // Encrypted to a member's verified key; in clear if that key cannot be used (revoked, expired).
        let mail: Outgoing = list
            .seal(&notice, view.member.and_then(Member::delivery_key), view.list_key)
            .unwrap_or_else(|_| notice.in_clear(list.address()));
        transport::send(&view.settings.transport, &mail)
    });
    if let Err(e) = sent {
        crate::log::event(&list.home, &format!("entry {id}: rejection notice not sent: {}", e.message()));
    }
}

/// What happened to a member's mail and why, for the admins (never any content).
fn report_to_admins(list: &List, view: &View<'_>, id: &str, decision: Decision) {
    let (what, reason) = match decision {
        Decision::Reject(r) => ("rejected", r),
        Decision::Hold(r) => ("held", r),
        _ => return,
    };
    let from = match (view.settings.anonymous, view.member) {
        (false, Some(m)) => m.address.to_string(),
        (true, Some(_)) => "a member (anonymous list)".into(),
        (_, None) => "a non-member".into(),
    };
    let mut text = format!("Entry {id} from {from} was {what}: {}.", reason.describe());
    if what == "held" {
        text.push_str(
            "\r\nIt is not authenticated: released, it reaches members from the list address, marked \"not authenticated\".",
        );
        text.push_str(&format!(
            "\r\nRelease it with `listcrypt queue release {list} {id}` or drop it with `listcrypt queue discard {list} {id}`.",
            list = list.address()
        ));
    }
    tell_admins(list, view.admins, view.settings, view.list_key, &format!("post {what}"), &text);
}

fn tell_digest(list: &List, view: &View<'_>, digest: &Digest) {
    let mut text = format!("Since {}:\r\n", utc(digest.since));
    if !digest.refused.is_empty() {
        text.push_str(&format!(
            "\r\n{} mail(s) from non-members were refused. Nobody was notified (senders of such\r\n\
             mail are usually forged). By reason:\r\n",
            digest.total()
        ));
        for (reason, count) in &digest.refused {
            text.push_str(&format!("  {count:>6}  {reason}\r\n"));
        }
        if digest.refused.keys().any(|r| r.starts_with("held: ")) {
            text.push_str(&format!("Held mail waits in `listcrypt queue ls {}`.\r\n", list.address()));
        }
    }
    if !digest.changes.is_empty() {
        text.push_str("\r\nChanges made by mail:\r\n");
        if digest.more_changes > 0 {
            text.push_str(&format!("  ({} earlier ones not listed)\r\n", digest.more_changes));
        }
        for line in &digest.changes {
            text.push_str(&format!("  {line}\r\n"));
        }
    }
    crate::log::event(
        &list.home,
        &format!("admin digest sent: {} refused mail(s), {} change(s)", digest.total(), digest.changes.len()),
    );
    tell_admins(list, view.admins, view.settings, view.list_key, "hourly report", &text);
}

/// Sends the admins' digest if one is due (at most one an hour); `flush`
/// calls this so that nothing waits for the next mail to come in.
pub fn send_digest(list: &List) -> Result<()> {
    let (digest, admins, settings, record) = {
        let store = list.store()?;
        let Some(digest) = store.take_digest(INTERVAL)? else { return Ok(()) };
        store.flush()?;
        (digest, store.admins()?, store.settings()?, store.list_record()?)
    };
    let view = View { admins: &admins, settings: &settings, list_key: &record.fingerprint, member: None };
    tell_digest(list, &view, &digest);
    Ok(())
}

/// Changes made by mail go into the digest (one report an hour at most,
/// however many command mails come); sent now if one is due.
pub fn report_changes(list: &List, lines: &[String]) -> Result<()> {
    {
        let store = list.store()?;
        for line in lines {
            store.note_change(line)?;
        }
        store.flush()?;
    }
    send_digest(list)
}

/// Tells the admins, and each member concerned, that members without a
/// verified key get no copy.
pub(super) fn tell_keyless(list: &List, snap: &Snapshot, id: &str, keyless: &[&Address]) {
    let names: Vec<&str> = keyless.iter().map(|a| a.as_str()).collect();
    let text = format!(
        "Entry {id} was not sent to these members, who have no verified key:\r\n{}\r\nNo cleartext copy was sent.",
        names.join("\r\n")
    );
    tell_admins(
        list,
        &snap.roster.admins,
        &snap.settings,
        &snap.record.fingerprint,
        "members without a usable key",
        &text,
    );
    for member in keyless {
        tell_missed(list, snap, member);
    }
}

/// Tells a member, at most once a day and without any content, that a post
/// could not reach them for want of a usable key.
pub(super) fn tell_missed(list: &List, snap: &Snapshot, member: &Address) {
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
