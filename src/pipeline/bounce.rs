//! `bounce`: reads a delivery status notification (RFC 3464) sent to the
//! list's `-bounces` address, counts a failure against each member it names,
//! and stops delivery to a member past `bounce_threshold`.

use crate::error::{Error, Result};
use crate::home::Home;
use crate::list::List;
use crate::mime::build::crlf;
use crate::mime::parse::failed_recipients;
use crate::model::Address;
use crate::pipeline::tell_admins;
use std::io::Read;

/// Members the report named, and those whose delivery it stopped.
#[derive(Debug, Default)]
pub struct BounceReport {
    pub counted: Vec<Address>,
    pub disabled: Vec<Address>,
}

pub fn bounce(home: &Home, address: &Address, input: impl Read) -> Result<BounceReport> {
    let list = List::open(home, address)?;
    let mut raw = Vec::new();
    input.take(1024 * 1024).read_to_end(&mut raw).map_err(|e| Error::io("reading the report", e))?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::data("the report is empty"));
    }
    let failed = failed_recipients(&crlf(&raw));
    let mut report = BounceReport::default();
    let (members, settings, record) = {
        let store = list.store()?;
        let settings = store.settings()?;
        for address in &failed {
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
        (store.members()?, settings, store.list_record()?)
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
        tell_admins(&list, &members, &settings, &record.fingerprint, "delivery stopped", &text);
    }
    Ok(report)
}
