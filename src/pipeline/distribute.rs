//! `distribute`: builds the post once (protected headers, signed once by the
//! list key), then encrypts it separately to each subscriber's verified key
//! and sends it. Each delivered recipient is journaled before the next, so a
//! rerun never sends anyone a second copy; the entry goes when all have it.

use crate::entry::Stage;
use crate::error::{Error, ErrorKind, Result};
use crate::gpg::DecryptFailure;
use crate::home::Home;
use crate::list::List;
use crate::member::Member;
use crate::mime::build::{self, Head};
use crate::model::{Address, Fingerprint};
use crate::pipeline::verify::list_id;
use crate::pipeline::{defer, release, select, tell_admins};
use crate::post::Post;
use crate::settings::Settings;
use crate::store::ListRecord;
use crate::transport::{self, Outgoing};

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
}

pub fn distribute(home: &Home, address: &Address, ids: &[String]) -> Result<DistributeReport> {
    let list = List::open(home, address)?;
    let chosen = select(&list.store()?, Stage::Outgoing, ids)?;
    let mut report = DistributeReport::default();
    for id in chosen {
        if !distribute_entry(&list, &id, !ids.is_empty(), &mut report)? {
            report.locked = true;
            break;
        }
    }
    Ok(report)
}

struct Snapshot {
    record: ListRecord,
    settings: Settings,
    members: Vec<Member>,
    delivered: Vec<Address>,
    first_attempt: bool,
    payload: Vec<u8>,
}

/// False when the list key is locked.
fn distribute_entry(list: &List, id: &str, explicit: bool, report: &mut DistributeReport) -> Result<bool> {
    let snap = {
        let store = list.store()?;
        let Some(entry) = store.lease(id, Stage::Outgoing, explicit)? else { return Ok(true) };
        store.flush()?;
        Snapshot {
            record: store.list_record()?,
            settings: store.settings()?,
            members: store.members()?,
            delivered: store.delivered(id)?,
            first_attempt: entry.attempts == 0,
            payload: store.payload(id)?.ok_or_else(|| Error::config(format!("entry {id} has no payload")))?,
        }
    };
    let post = match list.keyring.decrypt(&snap.payload) {
        Ok(opened) => Post::decode(&opened.plaintext)?,
        Err(DecryptFailure::Locked(_)) => {
            release(list, id)?;
            return Ok(false);
        }
        Err(DecryptFailure::Unavailable(e)) => {
            defer(list, id, e.message())?;
            return Err(e);
        }
        Err(DecryptFailure::Refused(why)) => return Err(Error::config(format!("entry {id} cannot be opened: {why}"))),
    };

    let (recipients, keyless) = recipients(&snap, &post.author);
    if snap.first_attempt && snap.delivered.is_empty() && !keyless.is_empty() {
        let names: Vec<&str> = keyless.iter().map(|m| m.address.as_str()).collect();
        let text = format!(
            "Entry {id} was not sent to these members, who have no verified, usable key:\r\n{}\r\nNo cleartext copy was sent.",
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
    }

    let head = post_head(list.address(), &snap.settings, &post);
    let signed = match sign_post(list, &snap.record.fingerprint, &head, &post) {
        Ok(signed) => signed,
        Err(e) if e.kind() == ErrorKind::Permission => {
            release(list, id)?;
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    for member in recipients {
        let key = member.delivery_key().expect("recipients have a delivery key");
        let outcome = encrypt_for(list, &snap, &head, &signed, &member.address, key)
            .and_then(|mail| transport::send(&snap.settings.transport, &mail));
        match outcome {
            Ok(()) => {
                let store = list.store()?;
                store.mark_delivered(id, &member.address)?;
                store.flush()?;
                report.sent += 1;
            }
            Err(e) if e.kind() == ErrorKind::Temporary => {
                defer(list, id, e.message())?;
                report.deferred.push((id.to_string(), e.message().to_string()));
                return Ok(true);
            }
            Err(e) => {
                // This recipient cannot be served (key unusable, address refused): skip them for good.
                let store = list.store()?;
                store.mark_delivered(id, &member.address)?;
                store.flush()?;
                drop(store);
                crate::log::event(&list.home, &format!("entry {id}: {} skipped: {}", member.address, e.message()));
                let text = format!("Entry {id} could not be sent to {}: {}", member.address, e.message());
                tell_admins(
                    list,
                    &snap.members,
                    &snap.settings,
                    &snap.record.fingerprint,
                    "a member was skipped",
                    &text,
                );
            }
        }
    }
    let store = list.store()?;
    store.remove_entry(id)?;
    store.flush()?;
    drop(store);
    crate::log::event(&list.home, &format!("entry {id} distributed"));
    report.done.push(id.to_string());
    Ok(true)
}

/// Members who get this post (verified key, delivery on, not yet served),
/// and members with delivery on but no usable key.
fn recipients<'a>(snap: &'a Snapshot, author: &Address) -> (Vec<&'a Member>, Vec<&'a Member>) {
    let wanted = |m: &&Member| m.delivery && (snap.settings.receive_own_posts || &m.address != author);
    let (with_key, keyless): (Vec<&Member>, Vec<&Member>) =
        snap.members.iter().filter(wanted).partition(|m| m.delivery_key().is_some());
    let pending = with_key.into_iter().filter(|m| !snap.delivered.contains(&m.address)).collect();
    (pending, keyless)
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
        ("List-Unsubscribe", format!("<mailto:{}?subject=unsubscribe>", list.request())),
        ("List-Owner", format!("<mailto:{}>", list.owner())),
        ("Precedence", "list".into()),
        ("X-Loop", list.to_string()),
    ];
    head
}

/// The signed entity every recipient gets: protected headers and content,
/// signed once by the list key.
fn sign_post(list: &List, list_key: &Fingerprint, head: &Head, post: &Post) -> Result<Vec<u8>> {
    let mut inner = head.clone();
    inner.extra.clear();
    let entity = build::protected_entity(&inner, &post.content);
    let (signature, micalg) = list.keyring.sign_detached(list_key, &entity)?;
    Ok(build::signed_entity(&entity, &signature, &micalg))
}

/// One recipient's copy: the signed entity encrypted to their key alone.
fn encrypt_for(
    list: &List,
    snap: &Snapshot,
    head: &Head,
    signed: &[u8],
    to: &Address,
    key: &Fingerprint,
) -> Result<Outgoing> {
    let armored = list
        .keyring
        .encrypt(std::slice::from_ref(key), signed, None)
        .map_err(|e| Error::data(format!("encrypting to key {key} failed ({})", e.message())))?;
    let mut outer = head.clone();
    if snap.settings.protect_subject {
        outer.subject = "...".into();
    }
    outer.to = vec![list.address().clone()];
    Ok(Outgoing {
        envelope_from: Some(list.address().bounces()),
        recipients: vec![to.clone()],
        bytes: build::encrypted_message(&outer, &armored),
    })
}
