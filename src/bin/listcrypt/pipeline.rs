//! `inject`, `verify`, `distribute`, `flush`, `bounce` and `queue`.
//!
//! verify and distribute run after inject in an MTA alias: once inject has
//! stored the mail, a failure to go further (list key locked, transport
//! down, store busy) must not reach the MTA, which would retry and queue the
//! mail twice. Those stages say why on stderr and exit 0; flush retries.
//! That includes gpg overrunning its time limit ([`listcrypt::gpg::watchdog`]).

use crate::cli::QueueCommand;
use crate::output::{note, print, print_bytes, show};
use crate::{address, Global};
use listcrypt::mta::Route;
use listcrypt::pipeline::{bounce, distribute, flush, inject, owner, queue, verify};
use listcrypt::{Address, Error, ErrorKind};
use std::io::{IsTerminal, Read};

pub fn inject(g: &Global, list: &str, request: bool) -> anyhow::Result<()> {
    let id = inject::inject(&g.home, &address(list)?, std::io::stdin().lock(), request)?;
    print(&format!("{id}\n"))
}

pub fn verify(g: &Global, list: &str, ids: Vec<String>) -> anyhow::Result<()> {
    listcrypt::gpg::watchdog::exit_with(0);
    let approved = verify_entries(g, &address(list)?, &ids_from_stdin(ids)?)?;
    print(&approved.iter().map(|id| format!("{id}\n")).collect::<String>())
}

/// Verifies `ids` (none: every incoming entry); the approved ids.
fn verify_entries(g: &Global, address: &Address, ids: &[String]) -> anyhow::Result<Vec<String>> {
    let Some(report) = later_stage(verify::verify(&g.home, address, ids))? else { return Ok(vec![]) };
    say_what_waits(address, report.locked, &report.failed);
    note(
        g.quiet,
        &format!(
            "{} approved, {} held, {} rejected, {} discarded",
            report.approved.len(),
            report.held.len(),
            report.rejected.len(),
            report.discarded.len()
        ),
    );
    Ok(report.approved)
}

pub fn distribute(g: &Global, list: &str, ids: Vec<String>) -> anyhow::Result<()> {
    listcrypt::gpg::watchdog::exit_with(0);
    let done = distribute_entries(g, &address(list)?, &ids_from_stdin(ids)?)?;
    print(&done.iter().map(|id| format!("{id}\n")).collect::<String>())
}

/// Distributes `ids` (none: every approved entry); the finished ids.
fn distribute_entries(g: &Global, address: &Address, ids: &[String]) -> anyhow::Result<Vec<String>> {
    let Some(report) = later_stage(distribute::distribute(&g.home, address, ids))? else { return Ok(vec![]) };
    say_what_waits(address, report.locked, &report.deferred);
    note(g.quiet, &format!("{} copies sent, {} entries finished", report.sent, report.done.len()));
    if g.verbose {
        for (phase, took) in &report.phases {
            note(false, &format!("  {phase}: {:.1} ms", took.as_secs_f64() * 1000.0));
        }
    }
    Ok(report.done)
}

/// `flush` of every list runs each list in a process of its own: a mail that
/// makes gpg overrun its time limit stops that process (the watchdog), and
/// must not keep the other lists waiting.
pub fn flush(g: &Global, list: Option<&str>) -> anyhow::Result<()> {
    if list.is_none() {
        return flush_each_list(g);
    }
    let only = list.map(address).transpose()?;
    let mut failed = None;
    for result in flush::flush(&g.home, only.as_ref())? {
        match result {
            Ok(done) => note(g.quiet, &done.summary()),
            Err(e) => {
                note(false, &format!("listcrypt: {}", e.message()));
                failed = Some(e);
            }
        }
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

fn flush_each_list(g: &Global) -> anyhow::Result<()> {
    listcrypt::doctor::note_flush(&g.home);
    let me = std::env::current_exe()?;
    let mut failed = vec![];
    for list in g.home.list_addresses()? {
        let mut child = std::process::Command::new(&me);
        child.arg("--home").arg(g.home.root());
        if g.quiet {
            child.arg("--quiet");
        }
        if g.verbose {
            child.arg("--verbose");
        }
        // Its own process group: the watchdog kills the gpg of its group only.
        use std::os::unix::process::CommandExt;
        let status = child.arg("flush").arg(list.as_str()).process_group(0).status()?;
        if !status.success() {
            failed.push(list.to_string());
        }
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(Error::temporary(format!("flush did not finish for {}", failed.join(", "))).into()),
    }
}

pub fn bounce(g: &Global, list: &str) -> anyhow::Result<()> {
    // Postfix's local(8) says where the report was delivered (with its bounce tag).
    let recipient = std::env::var("ORIGINAL_RECIPIENT").or_else(|_| std::env::var("RECIPIENT")).ok();
    count_bounce(g, &address(list)?, recipient.as_deref())
}

fn count_bounce(g: &Global, list: &Address, recipient: Option<&str>) -> anyhow::Result<()> {
    let report = bounce::bounce(&g.home, list, std::io::stdin().lock(), recipient)?;
    if report.counted.is_empty() {
        note(g.quiet, "no member named as a failed recipient");
    }
    for member in &report.counted {
        note(g.quiet, &format!("bounce counted for {member}"));
    }
    Ok(())
}

pub fn owner(g: &Global, list: &str) -> anyhow::Result<()> {
    forward_to_owners(g, &address(list)?)
}

fn forward_to_owners(g: &Global, list: &Address) -> anyhow::Result<()> {
    let forwarded = owner::owner(&g.home, list, std::io::stdin().lock())?;
    match forwarded.dropped {
        Some(why) => note(g.quiet, &format!("dropped: {why}")),
        None => note(g.quiet, &format!("forwarded to {} admin(s)", forwarded.to.len())),
    }
    Ok(())
}

/// One pipe transport for a whole lists domain: the recipient says which
/// list address the mail is for, and the stages run as the alias chain
/// runs them (inject's exit status is the MTA's; the later stages' is not).
pub fn receive(g: &Global, recipient: &str) -> anyhow::Result<()> {
    let (list, request) = match listcrypt::mta::route(&g.home, recipient)? {
        Route::Post(list) => (list, false),
        Route::Request(list) => (list, true),
        Route::Bounces(list, full) => return count_bounce(g, &list, Some(full.as_str())),
        Route::Owner(list) => return forward_to_owners(g, &list),
    };
    inject::inject(&g.home, &list, std::io::stdin().lock(), request)?;
    listcrypt::gpg::watchdog::exit_with(0);
    verify_entries(g, &list, &[])?;
    distribute_entries(g, &list, &[])?;
    Ok(())
}

pub fn queue(g: &Global, cmd: QueueCommand) -> anyhow::Result<()> {
    match cmd {
        QueueCommand::Ls { list, format } => {
            let entries = queue::ls(&g.home, &address(&list)?)?;
            show(format.json, &entries, |entries| {
                entries
                    .iter()
                    .map(|e| {
                        let why = e.last_error.as_deref().or(e.held_reason.as_deref()).unwrap_or("");
                        format!("{}\t{}\t{}s\t{} attempts\t{why}\n", e.id, e.stage, e.age_seconds, e.attempts)
                    })
                    .collect()
            })?;
        }
        QueueCommand::Show { list, id } => {
            if !std::io::stdout().is_terminal() {
                return Err(Error::new(ErrorKind::Usage, "queue show writes decrypted mail to a terminal only")
                    .hint("run it in an interactive terminal; cleartext must not land in files or logs")
                    .into());
            }
            print_bytes(&queue::show(&g.home, &address(&list)?, &id)?)?;
        }
        QueueCommand::Release { list, id } => {
            queue::release(&g.home, &address(&list)?, &id)?;
            note(g.quiet, &format!("entry {id} released; the next verify or flush sends it"));
        }
        QueueCommand::Discard { list, id } => {
            queue::discard(&g.home, &address(&list)?, &id)?;
            note(g.quiet, &format!("entry {id} discarded"));
        }
    }
    Ok(())
}

/// Tells the MTA's log (stderr) what stays queued for `flush`, and why.
fn say_what_waits(address: &listcrypt::Address, locked: bool, waiting: &[(String, String)]) {
    if locked {
        note(false, &format!("listcrypt: the key of {address} is locked; entries stay queued (run `listcrypt list unlock {address}`)"));
    }
    for (id, why) in waiting {
        note(false, &format!("listcrypt: entry {id} deferred: {why}"));
    }
}

/// Entry ids from argv, else whitespace-separated from a non-terminal stdin.
fn ids_from_stdin(ids: Vec<String>) -> anyhow::Result<Vec<String>> {
    let mut ids = ids;
    let stdin = std::io::stdin();
    if ids.is_empty() && !stdin.is_terminal() {
        let mut text = String::new();
        stdin.lock().take(1 << 20).read_to_string(&mut text)?;
        ids = text.split_whitespace().map(str::to_string).collect();
    }
    if let Some(bad) = ids.iter().find(|id| !listcrypt::entry::valid_id(id)) {
        return Err(
            Error::new(ErrorKind::Data, format!("'{}' is not an entry id", listcrypt::model::printable(bad))).into()
        );
    }
    Ok(ids)
}

/// After inject, a stage that cannot finish for a passing reason reports it
/// and exits 0: the entry is safe in the queue and flush will retry.
fn later_stage<T>(result: listcrypt::Result<T>) -> anyhow::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::Temporary | ErrorKind::Permission | ErrorKind::Io | ErrorKind::Software
            ) =>
        {
            note(false, &format!("listcrypt: {}; the queue keeps the mail for `listcrypt flush`", e.message()));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
