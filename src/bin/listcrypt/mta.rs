//! `mta postfix` and `mta maps`, the maps' refresh after `list create`
//! and `list delete`, and `doctor`.

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

/// Prints every finding; exit 1 when one failed.
pub fn doctor(g: &Global, json: bool) -> anyhow::Result<()> {
    use listcrypt::doctor::Status;
    let checks = listcrypt::doctor::examine(&g.home);
    crate::output::show(json, &checks, |checks| {
        let mut text = String::new();
        for c in checks {
            let status = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            let about = c.list.as_ref().map(|l| format!(" [{l}]")).unwrap_or_default();
            text.push_str(&format!("{status}  {}{about}: {}\n", c.check, c.detail));
            if let Some(fix) = &c.fix {
                text.push_str(&format!("      fix: {fix}\n"));
            }
        }
        text
    })?;
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        note(g.quiet, &format!("{failed} check(s) failed"));
        std::process::exit(1);
    }
    Ok(())
}
