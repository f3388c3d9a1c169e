//! `listcrypt keys …`

use crate::cli::KeysCommand;
use crate::output::{note, show};
use crate::{address, read_key_file, Global};
use listcrypt::admin::keys;
use listcrypt::Fingerprint;

pub fn run(g: &Global, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Add { list, address: member, key_file, vouch } => {
            let key = read_key_file(&key_file)?;
            let added = keys::add(&g.home, &address(&list)?, &address(&member)?, &key, vouch.no_challenge)?;
            if added.vouched {
                note(
                    g.quiet,
                    &format!("added key {} for {} (vouched for, no challenge)", added.fingerprint, added.member),
                );
            } else if added.refreshed {
                note(g.quiet, &format!("updated key {} of {} (already verified)", added.fingerprint, added.member));
            } else {
                note(
                    g.quiet,
                    &format!("added key {} for {} (pending); challenge sent", added.fingerprint, added.member),
                );
            }
        }
        KeysCommand::Verify { list, address: member, token } => {
            let fpr = keys::verify(&g.home, &address(&list)?, &address(&member)?, &token)?;
            note(g.quiet, &format!("key {fpr} of {member} is verified"));
        }
        KeysCommand::Remove { list, address: member, fingerprint } => {
            let fpr = Fingerprint::parse(&fingerprint)?;
            keys::remove(&g.home, &address(&list)?, &address(&member)?, &fpr)?;
            note(g.quiet, &format!("removed key {fpr} of {member}"));
        }
        KeysCommand::Check { list, format } => {
            let only = list.as_deref().map(address).transpose()?;
            let problems = keys::check(&g.home, only.as_ref())?;
            show(format.json, &problems, |problems| {
                problems
                    .iter()
                    .map(|p| {
                        let key = p.fingerprint.as_ref().map(|f| format!(" key {f}")).unwrap_or_default();
                        format!("{}\t{}{key} {}\n", p.list, p.member, p.problem)
                    })
                    .collect()
            })?;
        }
        KeysCommand::Ls { list, address: member, format } => {
            let member = member.as_deref().map(address).transpose()?;
            let all = keys::ls(&g.home, &address(&list)?, member.as_ref())?;
            show(format.json, &all, |all| {
                all.iter()
                    .map(|k| {
                        let default = if k.default { "\tdefault" } else { "" };
                        format!("{}\t{}\t{}{default}\n", k.member, k.fingerprint, k.state)
                    })
                    .collect()
            })?;
        }
    }
    Ok(())
}
