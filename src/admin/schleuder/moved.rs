//! `--notify`: one notice to each member that the list moved (same
//! address, same key), encrypted to their key and signed by the list, sent
//! through the list's own transport.

use super::members::ImportedMember;
use crate::list::List;
use crate::model::{Address, Fingerprint};
use crate::notice::Notice;
use crate::settings::Settings;
use crate::transport::Session;
use serde::Serialize;

/// A member the notice did not reach, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotNotified {
    pub member: Address,
    pub reason: String,
}

/// Sends the notice to every member; returns those it could not reach.
pub fn notify_all(
    list: &List,
    list_key: &Fingerprint,
    settings: &Settings,
    members: &[ImportedMember],
) -> Vec<NotNotified> {
    let mut session = Session::new(&settings.transport);
    let mut missed = vec![];
    for member in members {
        let notice = moved(list.address(), member, list_key, settings);
        let sent = list.seal(&notice, Some(&member.fingerprint), list_key).and_then(|mail| session.send(&mail));
        if let Err(e) = sent {
            missed.push(NotNotified { member: member.address.clone(), reason: e.message().to_string() });
        }
    }
    missed
}

/// The notice: nothing changes for the member but the software, and what
/// listcrypt asks of a post.
fn moved(list: &Address, member: &ImportedMember, list_key: &Fingerprint, settings: &Settings) -> Notice {
    let mut rules = vec![];
    if settings.require_signature {
        rules.push(format!(
            "Sign each post with your key {} (the From: address must be {}).",
            member.fingerprint, member.address
        ));
    }
    if settings.require_encryption {
        rules.push("Encrypt each post to the list's key, as before.".to_string());
    }
    rules.push("Posts reach you encrypted to your key and signed by the list's key, as PGP/MIME.".into());
    if settings.protect_subject {
        rules.push("The real Subject travels inside the encryption; the visible one is \"...\".".into());
    }
    rules.push(format!(
        "Commands go to {}, signed and encrypted like a post; send `help` there for the list of them (Schleuder's X- keywords are not understood).",
        list.request()
    ));
    if !member.delivery {
        rules.push(format!(
            "Delivery to you is paused, as it was: send `resume` to {} to receive posts again.",
            list.request()
        ));
    }
    let text = format!(
        "The mailing list {list} has moved from Schleuder to listcrypt.\r\n\
         \r\n\
         Its address is the same, and so is its key:\r\n\
         \r\n\
         {list_key}\r\n\
         \r\n\
         Your key stays registered with the list. What to know:\r\n\
         \r\n\
         {}\r\n",
        rules.iter().map(|r| format!("- {r}")).collect::<Vec<_>>().join("\r\n")
    );
    Notice::new(&member.address, format!("{list} has moved to listcrypt"), text)
}
