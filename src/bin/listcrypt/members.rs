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
