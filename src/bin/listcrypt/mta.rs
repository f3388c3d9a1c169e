//! `mta postfix` and `mta maps`, and the maps' refresh after `list create`
//! and `list delete`.

use crate::cli::MtaCommand;
use crate::output::{note, print};
use crate::Global;
use listcrypt::mta;

pub fn run(g: &Global, cmd: MtaCommand) -> anyhow::Result<()> {
    match cmd {
        MtaCommand::Postfix => print(&mta::postfix_recipe(&g.home, &binary()?)?),
        MtaCommand::Maps => refresh_maps(g, false),
    }
}

/// Rewrites the maps for the lists there are now. After a list command it
/// only warns: the list itself was made or deleted.
pub fn refresh_maps(g: &Global, after_list_change: bool) -> anyhow::Result<()> {
    let maps = match mta::write_maps(&g.home, &binary()?) {
        Ok(maps) => maps,
        Err(e) if after_list_change => {
            note(false, &format!("listcrypt: warning: the MTA maps were not rewritten: {}", e.message()));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    for warning in &maps.warnings {
        note(false, &format!("listcrypt: warning: {warning}"));
    }
    note(g.quiet || after_list_change, &format!("wrote {} and {}", maps.aliases.display(), maps.recipients.display()));
    Ok(())
}

/// This binary's absolute path, as the MTA must call it.
fn binary() -> anyhow::Result<std::path::PathBuf> {
    Ok(std::env::current_exe()?)
}
