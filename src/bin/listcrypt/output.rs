//! stdout is data: text for people or JSON for scripts from the same value.
//! A closed stdout (`| head`) is not an error.

use serde::Serialize;
use std::io::Write;

/// Writes `text` to stdout; exits quietly if the reader went away.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => Ok(other?),
    }
}

pub fn print_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    print(&String::from_utf8_lossy(bytes))
}

/// Prints `value` as JSON when asked, else the text `render` makes of it.
pub fn show<T: Serialize>(json: bool, value: &T, render: impl FnOnce(&T) -> String) -> anyhow::Result<()> {
    if json {
        print(&(serde_json::to_string_pretty(value)? + "\n"))
    } else {
        print(&render(value))
    }
}

/// Progress and confirmations, on stderr unless `--quiet`.
pub fn note(quiet: bool, text: &str) {
    if !quiet {
        eprintln!("{text}");
    }
}
