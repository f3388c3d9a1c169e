//! The list log (`<list home>/log`): one line per event, never any content
//! of a message (no subject, no body), so it can be read and shipped freely.

use crate::home::ListHome;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

/// Appends one line; a log that cannot be written never stops the pipeline.
pub fn event(list: &ListHome, line: &str) {
    let stamp = crate::model::utc(crate::model::now());
    let clean: String = line.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let text = format!("{stamp} {clean}\n");
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(list.log_path())
        .and_then(|mut f| f.write_all(text.as_bytes()));
}
