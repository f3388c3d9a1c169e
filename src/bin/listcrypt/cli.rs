//! The command line (clap). This is the single source of `--help`, the man
//! pages in `man/` and the completions in `completions/`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// OpenPGP-encrypted mailing lists for any Unix mail server.
///
/// Members post mail signed with their own key and encrypted to the list's
/// key; listcrypt checks the signer, signs the post with the list key and
/// encrypts it separately to every subscriber.
#[derive(Debug, Parser)]
#[command(name = "listcrypt", version, propagate_version = true)]
#[command(
    after_help = "Example:\n  listcrypt --home /var/lib/listcrypt list create crypto@example.org --admin alice@example.org --key-file list-secret.asc"
)]
pub struct Cli {
    /// The folder that holds every list
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "LISTCRYPT_HOME",
        hide_env_values = true,
        default_value = "/var/lib/listcrypt"
    )]
    pub home: PathBuf,

    /// Say more on stderr
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Say nothing on stderr but errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(subcommand)]
    List(ListCommand),
    #[command(subcommand)]
    Members(MembersCommand),
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Queue one message from standard input (run by the MTA)
    #[command(
        after_help = "Reads one RFC 5322 message (an mbox From line first is fine), encrypts it to the\nlist's public key and stores it; prints the entry id. Exit 0 means the mail is safe.\n\nExample (/etc/aliases):\n  crypto: \"|/usr/bin/listcrypt --home /var/lib/listcrypt inject crypto@example.org && /usr/bin/listcrypt --home /var/lib/listcrypt verify crypto@example.org && /usr/bin/listcrypt --home /var/lib/listcrypt distribute crypto@example.org\""
    )]
    Inject {
        list: String,
        /// The mail went to the list's -request address: commands, not a post
        #[arg(long)]
        request: bool,
    },
    /// Check signatures and rules of incoming entries; prints approved ids
    #[command(
        after_help = "Takes entry ids from the arguments, else from standard input, else every\nincoming entry. Exits 0 when the list key is locked: entries stay queued.\n\nExample:\n  listcrypt inject crypto@example.org < post.eml | listcrypt verify crypto@example.org"
    )]
    Verify {
        list: String,
        /// Entry ids (default: from stdin, else all incoming)
        ids: Vec<String>,
    },
    /// Sign, encrypt per subscriber and send approved entries; prints finished ids
    #[command(
        after_help = "Takes entry ids from the arguments, else from standard input, else every\napproved entry. Temporary failures leave the entry for `flush`.\n\nExample:\n  listcrypt verify crypto@example.org | listcrypt distribute crypto@example.org"
    )]
    Distribute {
        list: String,
        /// Entry ids (default: from stdin, else all approved)
        ids: Vec<String>,
    },
    /// Verify and distribute everything pending, retry failures, expire old entries
    #[command(
        after_help = "Run from cron or a systemd timer.\n\nExample (crontab):\n  */5 * * * *  /usr/bin/listcrypt --home /var/lib/listcrypt flush"
    )]
    Flush {
        /// Only this list (default: every list)
        list: Option<String>,
    },
    /// Count a delivery status notification from standard input against its member
    #[command(
        after_help = "Example (/etc/aliases):\n  crypto-bounces: \"|/usr/bin/listcrypt --home /var/lib/listcrypt bounce crypto@example.org\""
    )]
    Bounce { list: String },
    /// Forward mail to LIST-owner from standard input to the admins, encrypted (run by the MTA)
    #[command(
        after_help = "Mail encrypted to the list key is opened first; the message goes, attached to a note signed\nby the list, to every admin with a usable key, encrypted to that key. Never forwarded in clear.\nExit 75 (the MTA tries again) while the list key is locked or no admin can receive.\n\nExample (/etc/aliases):\n  crypto-owner: \"|/usr/bin/listcrypt --home /var/lib/listcrypt owner crypto@example.org\""
    )]
    Owner { list: String },
    /// Deliver one message from standard input to whichever list address RECIPIENT is (a pipe transport)
    #[command(
        after_help = "Routes by address: LIST (a post: inject, verify, distribute), LIST-request, LIST-bounces+TAG,\nLIST-owner; +extensions are ignored but on -bounces. Unknown addresses exit 67.\nExits as the alias chain does: 0 once the mail is safe, 75 to try again, 65/67 to bounce.\n\nExample (master.cf, see `listcrypt mta postfix`):\n  listcrypt unix - n n - - pipe\n    flags=q user=listcrypt argv=/usr/bin/listcrypt --home /var/lib/listcrypt receive -- ${recipient}"
    )]
    Receive { recipient: String },
    #[command(subcommand)]
    Mta(MtaCommand),
    /// Check the installation: homes, keys, agent, transport, MTA wiring, schedule, queue
    #[command(
        after_help = "Run it after set-up, after every change, and from monitoring. Nothing is changed or sent.\nEach finding is ok, warn (works, needs attention soon) or fail, with its fix.\nExit 0 when nothing fails, 1 otherwise.\n\nExample:\n  sudo -u listcrypt listcrypt --home /var/lib/listcrypt doctor"
    )]
    Doctor {
        #[command(flatten)]
        format: Format,
    },
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Write the man pages and shell completions into DIR/man and DIR/completions
    #[command(hide = true)]
    GenerateDocs { dir: PathBuf },
    /// Internal: seals challenges for `members import`, which starts it
    #[command(hide = true, name = listcrypt::gpg::seal_helper::SUBCOMMAND)]
    SealHelper,
}

/// Wire listcrypt into the MTA
#[derive(Debug, Subcommand)]
pub enum MtaCommand {
    /// Print the Postfix main.cf and master.cf lines for this home (both recipes)
    #[command(after_help = "Example:\n  listcrypt --home /var/lib/listcrypt mta postfix")]
    Postfix,
    /// Rewrite HOME/aliases and HOME/recipients (list create and delete do it too)
    #[command(after_help = "Example:\n  listcrypt --home /var/lib/listcrypt mta maps")]
    Maps,
}

/// `--json` for commands that print records.
#[derive(Debug, Args)]
pub struct Format {
    /// Print JSON for scripts instead of text
    #[arg(long)]
    pub json: bool,
}

/// Create, inspect, configure and delete lists
#[derive(Debug, Subcommand)]
pub enum ListCommand {
    /// Create a list with its own key pair and first admin
    #[command(
        after_help = "Examples:\n  listcrypt list create crypto@example.org --admin alice@example.org --key-file list-secret.asc\n  listcrypt list create test@example.org --admin alice@example.org --generate"
    )]
    Create {
        /// The list's address
        list: String,
        /// The first admin's address
        #[arg(long, value_name = "ADDR")]
        admin: String,
        /// The list's secret key (armored or binary), exported with `gpg --export-secret-keys`
        #[arg(long, value_name = "FILE", required_unless_present = "generate", conflicts_with = "generate")]
        key_file: Option<PathBuf>,
        /// Make a new unprotected key pair instead (tests and small set-ups)
        #[arg(long)]
        generate: bool,
    },
    /// List every list with its key and member count
    #[command(after_help = "Example:\n  listcrypt list ls --json")]
    Ls {
        #[command(flatten)]
        format: Format,
    },
    /// Show a list's key, admins and every setting
    #[command(after_help = "Example:\n  listcrypt list show crypto@example.org")]
    Show {
        list: String,
        #[command(flatten)]
        format: Format,
    },
    /// Change a setting (see `list show` for names and values)
    #[command(
        after_help = settings_help()
    )]
    Set { list: String, key: String, value: String },
    /// Delete a list, its keys, members and queue
    #[command(after_help = "Example:\n  listcrypt list delete crypto@example.org --yes")]
    Delete {
        list: String,
        /// Confirm: deleting cannot be undone
        #[arg(long)]
        yes: bool,
    },
    /// Give gpg-agent the list key's passphrase (read from stdin or the terminal)
    #[command(
        after_help = "The passphrase is handed to gpg-agent and never stored by listcrypt;\nrun this again after every restart of gpg-agent.\n\nExample:\n  listcrypt list unlock crypto@example.org < /run/secrets/crypto-passphrase"
    )]
    Unlock { list: String },
    /// Extend the list key's expiry and send members the refreshed key
    #[command(
        after_help = "Moves the expiry of the list key and its subkeys to DAYS from now (gpg --quick-set-expire);\nthe fingerprint stays. Each member with a usable key gets the refreshed key, encrypted and\nlist-signed, with an Autocrypt header. A protected key must be unlocked first.\n`keys check` warns the admins 30 days before the list key expires.\n\nExample:\n  listcrypt list extend-key crypto@example.org --days 730"
    )]
    ExtendKey {
        list: String,
        /// The new lifetime, in days from now
        #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=36500))]
        days: u32,
    },
    /// Publish the list key in a Web Key Directory (files for the web server)
    #[command(
        after_help = "Writes DIR/.well-known/openpgpkey/ in both layouts: direct (serve DIR as https://DOMAIN/)\nand advanced (serve DIR as https://openpgpkey.DOMAIN/), each with its policy file. Thunderbird,\nGpgOL, K-9 and `gpg --locate-keys` then find the list key by its address. Serve the files\nwith `Access-Control-Allow-Origin: *`; run it again after `list extend-key`.\n\nExample:\n  listcrypt list wkd crypto@example.org /var/www/example.org"
    )]
    Wkd { list: String, dir: PathBuf },
    /// Print the list's public key, armored
    #[command(after_help = "Example:\n  listcrypt list export-key crypto@example.org > crypto.asc")]
    ExportKey { list: String },
    /// Move a Schleuder list here: the same address and key pair, its members, keys and settings
    #[command(
        after_help = "Run on the Schleuder host, as root or the schleuder user. Reads Schleuder 4.0's database\n(read-only: Schleuder may keep running) and a copy of the list's GnuPG home. Members keep the\nkey pinned in Schleuder, verified without a challenge; disabled delivery becomes paused.\nPrints every Schleuder setting with what it becomes, or what listcrypt does instead and why.\nRefuses, changing nothing, when a subscriber's key is missing or refused by listcrypt's key\nrules (all are named; --skip-unusable-keys imports the others), or the list exists here.\n\nExamples:\n  listcrypt list import-schleuder team@lists.example.org --dry-run\n  listcrypt list import-schleuder team@lists.example.org --transport smtp://127.0.0.1:25 --notify"
    )]
    ImportSchleuder {
        /// The list's address
        list: String,
        /// Schleuder's database
        #[arg(long, value_name = "PATH", default_value = "/var/lib/schleuder/db.sqlite")]
        schleuder_db: PathBuf,
        /// Schleuder's lists_dir, which holds each list's GnuPG home as DOMAIN/LOCAL
        #[arg(long, value_name = "DIR", default_value = "/var/lib/schleuder/lists")]
        schleuder_lists_dir: PathBuf,
        /// Print the whole plan and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Import the members whose keys listcrypt takes and name the others, instead of refusing
        #[arg(long)]
        skip_unusable_keys: bool,
        /// Send each member one notice, encrypted and signed by the list, that the list moved
        #[arg(long, conflicts_with = "dry_run")]
        notify: bool,
        /// The new list's transport, as `list set` takes it (default: sendmail)
        #[arg(long, value_name = "TRANSPORT")]
        transport: Option<String>,
        #[command(flatten)]
        format: Format,
    },
}

/// An operator's word for a key, given on the host only.
#[derive(Debug, clap::Args)]
pub struct Vouch {
    /// Mark the key verified at once, without a challenge: only after checking
    /// its fingerprint with its holder (a migration, a key-signing party).
    /// The log and `keys ls` say it was vouched for
    #[arg(long)]
    pub no_challenge: bool,
}

/// Add, remove and list members
#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// Add a member with their public key; sends a welcome and a key challenge
    #[command(after_help = "Example:\n  listcrypt members add crypto@example.org bob@example.org --key-file bob.asc")]
    Add {
        list: String,
        /// The member's address
        address: String,
        /// The member's public key, armored or binary
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// Make the member an admin (receives notices)
        #[arg(long)]
        admin: bool,
        /// Accept an address whose domain mixes Latin with Greek or Cyrillic letters
        #[arg(long)]
        allow_look_alike: bool,
        #[command(flatten)]
        vouch: Vouch,
    },
    /// Add many members at once from a keyring file or a folder of key files
    #[command(
        after_help = "Every key must pass the rules of `members add`; each new member gets a welcome and a\nchallenge (one transport session). A key's address is its one user ID address, or the one\nthe address list gives (lines `ADDRESS FINGERPRINT`). Refused keys are reported with their\nreason and change nothing; existing members are left alone. A progress bar on a terminal.\n\nExamples:\n  listcrypt members import crypto@example.org members.asc\n  listcrypt members import crypto@example.org keys/ --addresses addresses.txt --json"
    )]
    Import {
        list: String,
        /// An armored or binary keyring, or a folder of key files
        path: PathBuf,
        /// Which address each key is for: lines `ADDRESS FINGERPRINT`
        #[arg(long, value_name = "FILE")]
        addresses: Option<PathBuf>,
        #[command(flatten)]
        vouch: Vouch,
        #[command(flatten)]
        format: Format,
    },
    /// Remove a member and their keys
    #[command(after_help = "Example:\n  listcrypt members remove crypto@example.org bob@example.org")]
    Remove { list: String, address: String },
    /// List members, their role and whether they can receive posts
    #[command(after_help = "Example:\n  listcrypt members ls crypto@example.org --json")]
    Ls {
        list: String,
        #[command(flatten)]
        format: Format,
    },
}

/// Manage members' keys
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Register another key for a member; sends a challenge encrypted to it
    #[command(after_help = "Example:\n  listcrypt keys add crypto@example.org bob@example.org --key-file bob-new.asc")]
    Add {
        list: String,
        address: String,
        /// The public key, armored or binary
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        #[command(flatten)]
        vouch: Vouch,
    },
    /// Mark a pending key verified with the token from its challenge
    #[command(
        after_help = "Example:\n  listcrypt keys verify crypto@example.org bob@example.org 7hkq2m9xwz4rt6v8c3np"
    )]
    Verify { list: String, address: String, token: String },
    /// Remove one key of a member
    #[command(
        after_help = "Example:\n  listcrypt keys remove crypto@example.org bob@example.org 0123456789ABCDEF0123456789ABCDEF01234567"
    )]
    Remove { list: String, address: String, fingerprint: String },
    /// Warn members whose keys expire soon; tell admins who cannot receive (run daily)
    #[command(
        after_help = "Warns each member whose verified key stops working within the list's\nkey_expiry_warning_days (encrypted to that key, once a day at most), and tells\nthe admins which members have no usable key. Prints every problem found.\n\nExample (crontab):\n  17 4 * * *  /usr/bin/listcrypt --home /var/lib/listcrypt keys check"
    )]
    Check {
        /// Only this list (default: every list)
        list: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// List keys, of one member or of all
    #[command(after_help = "Example:\n  listcrypt keys ls crypto@example.org bob@example.org")]
    Ls {
        list: String,
        address: Option<String>,
        #[command(flatten)]
        format: Format,
    },
}

/// See and steer what waits in a list's queue
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// List entries with their stage, age, attempts and last error
    #[command(after_help = "Example:\n  listcrypt queue ls crypto@example.org")]
    Ls {
        list: String,
        #[command(flatten)]
        format: Format,
    },
    /// Decrypt an entry and show it (at a terminal only)
    #[command(
        after_help = "Needs the list key; refuses to write to anything but a terminal, so\ncleartext does not end up in files or logs.\n\nExample:\n  listcrypt queue show crypto@example.org 8k2mqz5w7xbn3c4d"
    )]
    Show { list: String, id: String },
    /// Approve a held entry and send it through verify and distribute
    #[command(after_help = "Example:\n  listcrypt queue release crypto@example.org 8k2mqz5w7xbn3c4d")]
    Release { list: String, id: String },
    /// Drop an entry
    #[command(after_help = "Example:\n  listcrypt queue discard crypto@example.org 8k2mqz5w7xbn3c4d")]
    Discard { list: String, id: String },
}

/// `list set`'s help: every setting, from the one table `list show` reads.
fn settings_help() -> String {
    let mut help = String::from("Settings ([operator]: on the server only; [list admin]: also by mail):\n");
    for setting in listcrypt::settings::SETTINGS {
        help.push_str(&format!("  {} [{}]: {}\n", setting.name, setting.scope, setting.takes));
    }
    help + "\nExample:\n  listcrypt list set crypto@example.org transport smtp://127.0.0.1:25"
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
