//! `listcrypt members …`

use crate::cli::MembersCommand;
use crate::output::{note, show};
use crate::{address, read_key_file, Global};
use listcrypt::admin::members;

pub fn run(g: &Global, cmd: MembersCommand) -> anyhow::Result<()> {
    match cmd {
        MembersCommand::Add { list, address: member, key_file, admin, allow_look_alike, vouch } => {
            let key = read_key_file(&key_file)?;
            let (list, member) = (address(&list)?, address(&member)?);
            let added = members::add(&g.home, &list, &member, &key, admin, allow_look_alike, vouch.no_challenge)?;
            let state = match added.vouched {
                true => "vouched for, no challenge); welcome sent",
                false => "pending); welcome and challenge sent",
            };
            note(g.quiet, &format!("added {} with key {} ({state}", added.member, added.fingerprint));
        }
        MembersCommand::Import { list, path, addresses, vouch, format } => {
            let sources = read_sources(&path)?;
            let addresses = match addresses {
                Some(file) => read_address_list(&file)?,
                None => Default::default(),
            };
            let bar = progress_bar(g.quiet);
            // This binary runs `seal-helper`: the import seals in copies of it, cheap to fork gpg from.
            listcrypt::gpg::seal_helper::enable();
            let report = listcrypt::admin::import::import(
                &g.home,
                &address(&list)?,
                sources,
                &addresses,
                vouch.no_challenge,
                &|done, total| {
                    if let Some(bar) = &bar {
                        bar.set_length(total as u64);
                        bar.set_position(done as u64);
                    }
                },
            )?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            show(format.json, &report, |r| {
                let mut text = String::new();
                for refused in &r.refused {
                    let to = refused.address.as_ref().map(|a| format!(" ({a})")).unwrap_or_default();
                    text.push_str(&format!("refused\t{}{to}: {}\n", refused.key, refused.reason));
                }
                for address in &r.unsent {
                    text.push_str(&format!("unsent\t{address}: the welcome or challenge could not be sent\n"));
                }
                text
            })?;
            note(
                g.quiet,
                &format!(
                    "{} members added, {} keys refused, {} not reached",
                    report.added.len(),
                    report.refused.len(),
                    report.unsent.len()
                ),
            );
        }
        MembersCommand::Remove { list, address: member } => {
            members::remove(&g.home, &address(&list)?, &address(&member)?)?;
            note(g.quiet, &format!("removed {member}"));
        }
        MembersCommand::Ls { list, format } => {
            let all = members::ls(&g.home, &address(&list)?)?;
            show(format.json, &all, |all| {
                all.iter()
                    .map(|m| {
                        let role = if m.role == listcrypt::member::Role::Admin { "admin" } else { "member" };
                        let receives = if m.can_receive { "receives posts" } else { "no verified key" };
                        let verified = m.keys.iter().filter(|k| k.state == "verified").count();
                        format!("{}\t{role}\t{receives}\t{} keys ({verified} verified)\n", m.address, m.keys.len())
                    })
                    .collect()
            })?;
        }
    }
    Ok(())
}

/// The key files of `path`: the file itself, or every regular file in the folder.
fn read_sources(path: &std::path::Path) -> anyhow::Result<Vec<listcrypt::admin::import::Source>> {
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| listcrypt::Error::io(path.display(), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    // The files are held in memory together: their total is bounded as one file is.
    let limit = listcrypt::admin::import::MAX_IMPORT_FILE;
    let mut total = 0;
    let mut sources = vec![];
    for file in &files {
        let bytes = crate::read_file_upto(file, limit)?;
        total += bytes.len();
        if total > limit {
            return Err(listcrypt::Error::data(format!(
                "the key files hold more than {} MiB together; listcrypt reads no more",
                limit >> 20
            ))
            .hint("import them in several runs")
            .into());
        }
        sources.push(listcrypt::admin::import::Source { name: file.display().to_string(), bytes });
    }
    Ok(sources)
}

/// `ADDRESS FINGERPRINT` lines (commas or spaces; `#` comments).
fn read_address_list(
    file: &std::path::Path,
) -> anyhow::Result<std::collections::HashMap<listcrypt::Fingerprint, listcrypt::Address>> {
    let text = std::fs::read_to_string(file).map_err(|e| listcrypt::Error::io(file.display(), e))?;
    let mut map = std::collections::HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(|c: char| c == ',' || c.is_whitespace()).filter(|f| !f.is_empty()).collect();
        let [addr, fpr] = fields.as_slice() else {
            return Err(
                listcrypt::Error::data(format!("{}:{}: expected ADDRESS FINGERPRINT", file.display(), n + 1)).into()
            );
        };
        map.insert(listcrypt::Fingerprint::parse(fpr)?, address(addr)?);
    }
    Ok(map)
}

/// A progress bar on stderr, when stderr is a terminal and output is wanted.
fn progress_bar(quiet: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message("welcomes and challenges");
        bar
    })
}
