//! `listcrypt list …`

use crate::cli::ListCommand;
use crate::output::{note, print, print_bytes, show};
use crate::{address, read_key_file, Global};
use listcrypt::admin::list::{self, ListKey};
use listcrypt::{Error, ErrorKind};
use std::io::{IsTerminal, Read};
use zeroize::Zeroizing;

pub fn run(g: &Global, cmd: ListCommand) -> anyhow::Result<()> {
    match cmd {
        ListCommand::Create { list: name, admin, key_file, generate } => {
            let key = match (key_file, generate) {
                (Some(path), _) => ListKey::Import(read_key_file(&path)?),
                (None, _) => ListKey::Generate,
            };
            let made = list::create(&g.home, &address(&name)?, &address(&admin)?, key)?;
            note(g.quiet, &format!("created list {} with key {}", made.address, made.fingerprint));
            crate::mta::refresh_maps(g, true)?;
        }
        ListCommand::Ls { format } => {
            let lists = list::ls(&g.home)?;
            show(format.json, &lists, |lists| {
                lists.iter().map(|l| format!("{}\t{} members\t{}\n", l.address, l.members, l.fingerprint)).collect()
            })?;
        }
        ListCommand::Show { list: name, format } => {
            let details = list::show(&g.home, &address(&name)?)?;
            show(format.json, &details, |d| {
                let mut text = format!(
                    "address: {}\nkey: {}\nmembers: {}\nadmins: {}\n\nsettings:\n",
                    d.address,
                    d.fingerprint,
                    d.members,
                    d.admins.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
                );
                for s in &d.settings {
                    let changed = if s.value == s.default { "" } else { " (changed)" };
                    text.push_str(&format!("  {} = {}{changed}\t[{}] {}\n", s.name, s.value, s.scope, s.help));
                }
                text.push_str(&format!(
                    "\nstore: {} queued, {} seen signatures, {} notice records\n",
                    d.store.queued, d.store.seen_signatures, d.store.notice_records
                ));
                text
            })?;
        }
        ListCommand::Set { list: name, key, value } => {
            let value = list::set(&g.home, &address(&name)?, &key, &value)?;
            print(&format!("{key} = {value}\n"))?;
        }
        ListCommand::Delete { list: name, yes } => {
            if !yes {
                return Err(Error::new(ErrorKind::Usage, format!("deleting {name} cannot be undone"))
                    .hint("add --yes to confirm")
                    .into());
            }
            list::delete(&g.home, &address(&name)?)?;
            note(g.quiet, &format!("deleted list {name}"));
            crate::mta::refresh_maps(g, true)?;
        }
        ListCommand::Unlock { list: name } => {
            let address = address(&name)?;
            let passphrase = read_passphrase(&format!("passphrase for the key of {address}: "))?;
            let fpr = list::unlock(&g.home, &address, &passphrase)?;
            note(g.quiet, &format!("unlocked key {fpr} of {address} in gpg-agent"));
        }
        ListCommand::ExtendKey { list: name, days } => {
            let done = list::extend_key(&g.home, &address(&name)?, days)?;
            let until = done.expires.map(listcrypt::model::utc).unwrap_or_else(|| "never".into());
            note(
                g.quiet,
                &format!("key {} now expires {until}; sent to {} member(s)", done.fingerprint, done.told.len()),
            );
        }
        ListCommand::Wkd { list: name, dir } => {
            for file in list::wkd(&g.home, &address(&name)?, &dir)? {
                print(&format!("{}\n", file.display()))?;
            }
        }
        ListCommand::ImportSchleuder {
            list: name,
            schleuder_db,
            schleuder_lists_dir,
            dry_run,
            skip_unusable_keys,
            notify,
            transport,
            format,
        } => {
            use listcrypt::admin::schleuder;
            let source = schleuder::Source { db: schleuder_db, lists_dir: schleuder_lists_dir };
            let options = schleuder::Options { dry_run, skip_unusable_keys, notify, transport };
            let report = schleuder::import(&g.home, &address(&name)?, &source, &options)?;
            show(format.json, &report, |r| r.to_string())?;
            if let Some(refusal) = report.refusal() {
                return Err(refusal.into());
            }
            if report.imported {
                crate::mta::refresh_maps(g, true)?;
            }
        }
        ListCommand::ExportKey { list: name } => {
            print_bytes(&list::export_key(&g.home, &address(&name)?)?)?;
        }
    }
    Ok(())
}

/// One line from stdin; at a terminal, prompted and read without echo
/// (rpassword). Piped in, it is read byte by byte from the descriptor
/// itself, past std's buffered stdin, into one buffer sized once and wiped
/// on drop (zeroize).
fn read_passphrase(prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    const MAX: usize = 1024;
    let stdin = std::io::stdin();
    let mut line = if stdin.is_terminal() {
        Zeroizing::new(rpassword::prompt_password(prompt)?)
    } else {
        let mut fd = std::fs::File::from(std::os::fd::AsFd::as_fd(&stdin).try_clone_to_owned()?);
        let mut bytes = Zeroizing::new(Vec::with_capacity(MAX));
        let mut byte = Zeroizing::new([0u8]);
        while bytes.len() < MAX && fd.read(&mut *byte)? == 1 && byte[0] != b'\n' {
            bytes.push(byte[0]);
        }
        match String::from_utf8(std::mem::take(&mut *bytes)) {
            Ok(text) => Zeroizing::new(text),
            Err(e) => {
                let _ = Zeroizing::new(e.into_bytes());
                return Err(Error::new(ErrorKind::Data, "the passphrase is not UTF-8").into());
            }
        }
    };
    let end = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(end);
    if line.is_empty() {
        return Err(Error::new(ErrorKind::Data, "no passphrase given").hint("give it on standard input").into());
    }
    Ok(line)
}
