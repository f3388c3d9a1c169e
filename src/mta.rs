//! Wiring into the MTA, kept by listcrypt rather than by hand.
//!
//! Two recipes (README "Running it from the mail server"):
//! - an alias map, `HOME/aliases`: per list the pipe chain of the design
//!   (`inject && verify && distribute`, `bounce`, `owner`), for lists whose
//!   domain the MTA delivers locally;
//! - one pipe transport for a whole lists domain, running `receive
//!   RECIPIENT`, with `HOME/recipients` (every address that exists) so the
//!   MTA refuses unknown lists at SMTP time.
//!
//! Both files are rewritten whenever a list is created or deleted, and
//! compiled with Postfix's `postalias`/`postmap` when those exist.

use crate::error::{Error, Result};
use crate::home::Home;
use crate::model::Address;
use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where mail to an address of a list goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Post(Address),
    Request(Address),
    /// The list, and the whole recipient (its bounce tag is in the extension).
    Bounces(Address, Address),
    Owner(Address),
}

/// The list address `recipient` belongs to, and which of its addresses it
/// is. `local+extension@domain` is `local@domain` for this (Postfix's
/// `recipient_delimiter = +`); only `-bounces` carries a meaningful extension.
pub fn route(home: &Home, recipient: &str) -> Result<Route> {
    let not_ours = || {
        Error::no_user(format!("no list has the address {}", crate::model::printable(recipient)))
            .hint("see `listcrypt list ls`; the MTA bounces this mail as an unknown user")
    };
    let full = Address::parse(recipient).map_err(|_| not_ours())?;
    // Which lists exist is the host's to say: a fault there is temporary.
    let lists = home.list_addresses().map_err(Error::into_temporary)?;
    // The whole address first (a list may have `+` in its name), then without its extension.
    let mut candidates = vec![full.clone()];
    if let Some((local, _)) = full.local_part().split_once('+') {
        candidates.extend(Address::parse(&format!("{local}@{}", full.domain())));
    }
    for base in &candidates {
        if lists.contains(base) {
            return Ok(Route::Post(base.clone()));
        }
        for suffix in ["-request", "-owner", "-bounces"] {
            let Some(local) = base.local_part().strip_suffix(suffix) else { continue };
            let Ok(list) = Address::parse(&format!("{local}@{}", base.domain())) else { continue };
            if lists.contains(&list) {
                return Ok(match suffix {
                    "-request" => Route::Request(list),
                    "-owner" => Route::Owner(list),
                    _ => Route::Bounces(list, full),
                });
            }
        }
    }
    Err(not_ours())
}

/// What [`write_maps`] did.
#[derive(Debug, Default)]
pub struct Maps {
    pub aliases: PathBuf,
    pub recipients: PathBuf,
    /// Things the admin should know: lists left out, maps not compiled.
    pub warnings: Vec<String>,
}

/// Rewrites `HOME/aliases` and `HOME/recipients` for every list, calling
/// `binary` (an absolute path), and compiles them when Postfix is here.
pub fn write_maps(home: &Home, binary: &Path) -> Result<Maps> {
    let root = std::fs::canonicalize(home.root()).map_err(|e| Error::io(home.root().display(), e))?;
    let mut maps = Maps { aliases: root.join("aliases"), recipients: root.join("recipients"), warnings: vec![] };
    // The MTA runs the alias commands as the owner of the alias database:
    // written by anyone else (root, say), they would run as the wrong user.
    if let Some(owner) = home.foreign_owner() {
        let me = rustix::process::geteuid().as_raw();
        maps.warnings
            .push(format!("maps not written: run as the owner of {} (uid {owner}), not uid {me}", root.display()));
        return Ok(maps);
    }
    // One writer at a time: two `list create`s must not lose each other's lists.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(root.join(".maps.lock"))
        .map_err(|e| Error::io(root.join(".maps.lock").display(), e))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io("locking the maps", e.into()))?;
    if let Some(warning) = unsafe_binary(binary) {
        maps.warnings.push(warning);
    }
    let users = local_users();
    let lists = home.list_addresses()?;
    let (Some(bin), Some(dir)) = (shell_word(binary), shell_word(&root)) else {
        maps.warnings.push(format!(
            "aliases not written: {} or {} holds a quote or a control character",
            binary.display(),
            root.display()
        ));
        return Ok(maps);
    };
    let run = |args: &str| format!("{bin} --home {dir} {args}");
    let mut aliases = String::from(
        "# Kept by listcrypt: rewritten by `list create` and `list delete`; do not edit.\n\
         # Add it to Postfix once: alias_maps = hash:/etc/aliases, hash:THIS-FILE\n",
    );
    let mut recipients = String::from("# Kept by listcrypt: every address of every list (for virtual_mailbox_maps).\n");
    let mut taken: Vec<String> = vec![];
    for list in &lists {
        for address in [list.clone(), list.request(), list.bounces(), list.owner()] {
            writeln!(recipients, "{address} OK").ok();
        }
        let local = list.local_part();
        if !alias_safe(list) {
            // The alias runs through /bin/sh: `$`, `|`, `&`, quotes... in an address would be code.
            let note = format!("{list}: left out, its address has characters a shell command line would run (use the transport recipe)");
            writeln!(aliases, "# {note}").ok();
            maps.warnings.push(format!("aliases: {note}"));
            continue;
        }
        let names =
            [local.to_string(), format!("{local}-request"), format!("{local}-bounces"), format!("{local}-owner")];
        if let Some(user) = names.iter().find(|n| users.contains(n)) {
            // Aliases win over local users: the list would take that user's mail.
            let note = format!("{list}: left out, {user} is a local user's name (use the transport recipe)");
            writeln!(aliases, "# {note}").ok();
            maps.warnings.push(format!("aliases: {note}"));
            continue;
        }
        if let Some(name) = names.iter().find(|n| taken.contains(n)) {
            // Aliases are local parts: `a@y` and `a-request@z` would both want `a-request`.
            let note =
                format!("{list}: left out, another list has the alias {name} already (use the transport recipe)");
            writeln!(aliases, "# {note}").ok();
            maps.warnings.push(format!("aliases: {note}"));
            continue;
        }
        taken.extend(names.iter().cloned());
        let chain = |request: &str| {
            format!(
                "\"|{} && {} && {}\"",
                run(&format!("inject {request}{list}")),
                run(&format!("verify {list}")),
                run(&format!("distribute {list}"))
            )
        };
        writeln!(aliases, "{local}: {}", chain("")).ok();
        writeln!(aliases, "{local}-request: {}", chain("--request ")).ok();
        writeln!(aliases, "{local}-bounces: \"|{}\"", run(&format!("bounce {list}"))).ok();
        writeln!(aliases, "{local}-owner: \"|{}\"", run(&format!("owner {list}"))).ok();
    }
    // Readable by the MTA.
    crate::home::replace_file(&maps.aliases, aliases.as_bytes(), 0o644)?;
    crate::home::replace_file(&maps.recipients, recipients.as_bytes(), 0o644)?;
    for (tool, map) in [("postalias", &maps.aliases), ("postmap", &maps.recipients)] {
        if let Some(warning) = compile(tool, map) {
            maps.warnings.push(warning);
        }
    }
    Ok(maps)
}

/// A warning when the binary the alias commands call is not root's alone:
/// whoever may change it runs code as the list user with every mail.
fn unsafe_binary(binary: &Path) -> Option<String> {
    let meta = std::fs::metadata(binary).ok()?;
    (meta.uid() != 0 || meta.permissions().mode() & 0o022 != 0).then(|| {
        format!(
            "the maps call {}, which is not owned by root alone: install listcrypt (the package) and run `listcrypt mta maps` with it",
            binary.display()
        )
    })
}

/// The names of local users (/etc/passwd): an alias of that name would take their mail.
fn local_users() -> Vec<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd.lines().filter_map(|l| l.split(':').next()).map(str::to_string).collect()
}

/// Runs Postfix's `tool` on `map`, if Postfix is installed and configured
/// (its main.cf, or another instance's named by MAIL_CONFIG); a warning if it failed.
fn compile(tool: &str, map: &Path) -> Option<String> {
    let program = ["/usr/sbin", "/usr/bin", "/sbin"].iter().map(|d| Path::new(d).join(tool)).find(|p| p.exists())?;
    if std::env::var_os("MAIL_CONFIG").is_none() && !Path::new("/etc/postfix/main.cf").exists() {
        return None;
    }
    // MAIL_CONFIG (a non-default Postfix instance) is honoured by the tool itself.
    match std::process::Command::new(&program).arg(format!("hash:{}", map.display())).output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "{tool} {} failed: {}",
            map.display(),
            String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("").trim()
        )),
        Err(e) => Some(format!("{tool} could not run: {e}")),
    }
}

/// Whether a list address may appear in an alias command line and as an
/// alias name: letters, digits, `.`, `_`, `-` and `+` (a list's local part may
/// hold any RFC 5322 atom character, `$|&'{}` among them).
fn alias_safe(list: &Address) -> bool {
    list.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+@".contains(&b))
}

/// `path` single-quoted for /bin/sh, or None if it cannot safely be.
fn shell_word(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    let safe = !text.is_empty() && text.chars().all(|c| !c.is_control() && c != '\'' && c != '"' && c != '\\');
    safe.then(|| {
        if text.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+@".contains(&b)) {
            text.to_string()
        } else {
            format!("'{text}'")
        }
    })
}

/// The lines an admin adds to Postfix for both recipes, for this home.
pub fn postfix_recipe(home: &Home, binary: &Path) -> Result<String> {
    let root = std::fs::canonicalize(home.root()).map_err(|e| Error::io(home.root().display(), e))?;
    let lists = home.list_addresses()?;
    let mut domains: Vec<&str> = lists.iter().map(|l| l.domain()).collect();
    domains.sort();
    domains.dedup();
    let domains = if domains.is_empty() { "lists.example.org".to_string() } else { domains.join(" ") };
    let user = owner_name(&root).unwrap_or_else(|| "listcrypt".into());
    let (bin, dir) = (binary.display(), root.display());
    Ok(format!(
        "# Both recipes need bounce tags: LIST-bounces+TAG@domain must reach LIST-bounces.\n\
         # main.cf\n\
         recipient_delimiter = +\n\
         \n\
         # Recipe 1: the alias map listcrypt keeps (lists in a domain Postfix delivers\n\
         # locally, in mydestination). Commands run as the owner of aliases.db ({user}).\n\
         # main.cf\n\
         alias_maps = hash:/etc/aliases, hash:{dir}/aliases\n\
         \n\
         # Recipe 2: one transport for a whole lists domain ({domains}), not in\n\
         # mydestination. Unknown lists are refused at SMTP time.\n\
         # main.cf\n\
         virtual_mailbox_domains = {domains}\n\
         virtual_mailbox_maps = hash:{dir}/recipients\n\
         transport_maps = inline:{{ {transport} }}\n\
         listcrypt_destination_recipient_limit = 1\n\
         # master.cf\n\
         listcrypt unix  -       n       n       -       -       pipe\n\
         \x20 flags=q user={user} argv={bin} --home {dir} receive -- ${{recipient}}\n",
        transport = domains.split(' ').map(|d| format!("{d}=listcrypt:")).collect::<Vec<_>>().join(", "),
    ))
}

/// The user name owning `path`, from /etc/passwd.
fn owner_name(path: &Path) -> Option<String> {
    let uid = std::fs::metadata(path).ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.get(2)? == &uid.to_string().as_str()).then(|| fields[0].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_list_addresses_go_into_shell_command_lines() {
        assert!(alias_safe(&Address::parse("crypto-team.2026@example.org").unwrap()));
        for evil in ["a|b@example.org", "x`id`@example.org", "a$HOME@example.org", "o'k@example.org", "a&b@example.org"]
        {
            assert!(!alias_safe(&Address::parse(evil).unwrap()), "{evil}");
        }
    }

    #[test]
    fn paths_are_quoted_for_the_shell_or_refused() {
        assert_eq!(shell_word(Path::new("/usr/bin/listcrypt")).unwrap(), "/usr/bin/listcrypt");
        assert_eq!(shell_word(Path::new("/srv/my lists")).unwrap(), "'/srv/my lists'");
        assert_eq!(shell_word(Path::new("/srv/it's")), None);
        assert_eq!(shell_word(Path::new("/srv/a\nb")), None);
    }
}
