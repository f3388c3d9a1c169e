//! `bounce`: reads a delivery status notification (RFC 3464) sent to the
//! list's `-bounces` address, counts a failure against the member whose
//! bounce tag it came back to ([`crate::verp`]) if it names them, and stops
//! delivery to a member past `bounce_threshold`. A report without a valid
//! tag counts against nobody: anyone can send one.

use crate::error::{Error, Result};
use crate::home::Home;
use crate::list::List;
use crate::mime::build::crlf;
use crate::mime::parse::{delivered_to, failed_recipients};
use crate::model::Address;
use crate::pipeline::tell_admins;
use std::io::Read;

/// Members the report named, and those whose delivery it stopped.
#[derive(Debug, Default)]
pub struct BounceReport {
    pub counted: Vec<Address>,
    pub disabled: Vec<Address>,
}

/// `envelope_recipient` is the address the report was delivered to, when the
/// MTA says so (Postfix's `ORIGINAL_RECIPIENT`); only without it are the
/// report's `Delivered-To`, `X-Original-To`, `Envelope-To` and `To` read.
pub fn bounce(
    home: &Home,
    address: &Address,
    input: impl Read,
    envelope_recipient: Option<&str>,
) -> Result<BounceReport> {
    // Only the report's own faults bounce it; the host's are temporary, so the MTA keeps it.
    count(home, address, input, envelope_recipient).map_err(|e| match e.kind() {
        crate::error::ErrorKind::Data | crate::error::ErrorKind::NoUser => e,
        _ => e.into_temporary(),
    })
}

fn count(home: &Home, address: &Address, input: impl Read, envelope_recipient: Option<&str>) -> Result<BounceReport> {
    let list = List::open(home, address)?;
    let mut raw = Vec::new();
    input.take(1024 * 1024).read_to_end(&mut raw).map_err(|e| Error::io("reading the report", e))?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::data("the report is empty"));
    }
    let raw = crlf(&raw);
    let failed = failed_recipients(&raw);
    // The MTA's word on where the report was delivered is the only one
    // trusted when it is given; header fields are the sender's to write.
    let delivered: Vec<String> = match envelope_recipient {
        Some(to) => vec![to.to_string()],
        None => delivered_to(&raw),
    };
    let tags: Vec<String> = delivered.iter().filter_map(|to| crate::verp::tag_in(list.address(), to)).collect();
    let mut report = BounceReport::default();
    let (admins, settings, record) = {
        let store = list.store()?;
        let settings = store.settings()?;
        let key = store.list_record()?.bounce_key();
        for address in &failed {
            if !tags.contains(&crate::verp::tag(&key, address)) {
                crate::log::event(&list.home, &format!("a report naming {address} without its bounce tag was ignored"));
                continue;
            }
            let Some(mut member) = store.member(address)? else { continue };
            member.bounces = member.bounces.saturating_add(1);
            report.counted.push(member.address.clone());
            if member.delivery && member.bounces >= settings.bounce_threshold {
                member.delivery = false;
                report.disabled.push(member.address.clone());
            }
            store.put_member(&member)?;
        }
        store.flush()?;
        (store.admins()?, settings, store.list_record()?)
    };
    for address in &report.counted {
        crate::log::event(&list.home, &format!("bounce counted for {address}"));
    }
    for address in &report.disabled {
        crate::log::event(&list.home, &format!("delivery to {address} stopped after repeated bounces"));
        let text = format!(
            "Delivery to {address} stopped after {} bounces.\r\nCheck the address, then re-add the member to resume.",
            settings.bounce_threshold
        );
        tell_admins(&list, &admins, &settings, &record.fingerprint, "delivery stopped", &text);
    }
    Ok(report)
}
