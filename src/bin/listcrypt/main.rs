//! The `listcrypt` binary: parses the command line, runs the library, prints
//! results on stdout and one error line (plus a hint) on stderr, and exits
//! with a sysexits code.

#![forbid(unsafe_code)]

mod cli;
mod docs;
mod exit;
mod keys;
mod list;
mod members;
mod mta;
mod output;
mod pipeline;

use clap::Parser;
use cli::{Cli, Command};
use listcrypt::{Address, ErrorKind, Home};
use std::process::ExitCode;

fn main() -> ExitCode {
    harden();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(err) => report(&err),
    }
}

/// What every command gets from the global flags.
pub struct Global {
    pub home: Home,
    pub quiet: bool,
    pub verbose: bool,
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // gpg past its time limit: the MTA tries again (later stages say 0 instead).
    listcrypt::gpg::watchdog::exit_with(i32::from(exit::code(ErrorKind::Temporary)));
    let global = Global { home: Home::new(cli.home), quiet: cli.quiet, verbose: cli.verbose };
    match cli.command {
        Command::List(cmd) => list::run(&global, cmd),
        Command::Members(cmd) => members::run(&global, cmd),
        Command::Keys(cmd) => keys::run(&global, cmd),
        Command::Inject { list, request } => pipeline::inject(&global, &list, request),
        Command::Verify { list, ids } => pipeline::verify(&global, &list, ids),
        Command::Distribute { list, ids } => pipeline::distribute(&global, &list, ids),
        Command::Flush { list } => pipeline::flush(&global, list.as_deref()),
        Command::Bounce { list } => pipeline::bounce(&global, &list),
        Command::Owner { list } => pipeline::owner(&global, &list),
        Command::Receive { recipient } => pipeline::receive(&global, &recipient),
        Command::Mta(cmd) => mta::run(&global, cmd),
        Command::Doctor { format } => mta::doctor(&global, format.json),
        Command::Queue(cmd) => pipeline::queue(&global, cmd),
        Command::GenerateDocs { dir } => docs::generate(&dir),
        Command::SealHelper => {
            Ok(listcrypt::gpg::seal_helper::serve(std::io::stdin().lock(), std::io::stdout().lock())?)
        }
    }
}

/// Decrypted mail passes through this process's memory: no core dump may
/// write it to disk, and no other process of the same user may read it
/// through ptrace or /proc. Best effort: a failure here stops nothing.
fn harden() {
    use rustix::process::{set_dumpable_behavior, setrlimit, DumpableBehavior, Resource, Rlimit};
    let _ = setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) });
    let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
}

/// Prints the error once, with its hint, and picks the exit code.
fn report(err: &anyhow::Error) -> ExitCode {
    let lib = err.downcast_ref::<listcrypt::Error>();
    let kind = lib.map(|e| e.kind()).unwrap_or(ErrorKind::Software);
    eprintln!("listcrypt: error: {err:#}");
    if let Some(hint) = lib.and_then(|e| e.hint_text()) {
        eprintln!("hint: {hint}");
    }
    ExitCode::from(exit::code(kind))
}

/// Parses an address given on the command line.
fn address(text: &str) -> listcrypt::Result<Address> {
    Address::parse(text)
}

/// Reads a key file named on the command line, at most one byte past the
/// bound the list checks ([`listcrypt::admin::intake::MAX_KEY_FILE`]), so a
/// huge file is refused without being read whole.
fn read_key_file(path: &std::path::Path) -> listcrypt::Result<Vec<u8>> {
    read_file_upto(path, listcrypt::admin::intake::MAX_KEY_FILE)
}

/// Reads a file, at most one byte past `limit`.
fn read_file_upto(path: &std::path::Path, limit: usize) -> listcrypt::Result<Vec<u8>> {
    use std::io::Read;
    let cant =
        |e: std::io::Error| listcrypt::Error::new(ErrorKind::NoInput, format!("cannot read {}: {e}", path.display()));
    let mut bytes = vec![];
    std::fs::File::open(path).and_then(|f| f.take(limit as u64 + 1).read_to_end(&mut bytes)).map_err(cant)?;
    Ok(bytes)
}
