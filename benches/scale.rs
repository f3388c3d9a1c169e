//! The scale benchmark (`scripts/bench-scale`): a list of N = 1,000, 5,000
//! and 10,000 members holding the key mix real lists hold
//! (`scripts/mixed-keys`: 40 % Curve25519, 30 % RSA-2048, 20 % RSA-3072,
//! 10 % RSA-4096, one in ten with an expired encryption subkey beside its
//! valid one), measured in one run:
//!
//! 1. `members import` of all N keys, welcomes and challenges included, sent
//!    through an SMTP sink on loopback, against its floor: one plain
//!    `gpg --import` of the same keys into an empty keyring (GnuPG's keybox
//!    costs more per key as it grows; every gpg-based import pays that);
//! 2. the admin commands an operator runs (`members ls`, `--json`, `keys ls`,
//!    `keys check`, `list show`);
//! 3. `verify` of one post (its work must not grow with N);
//! 4. `distribute` in split mode (discarding, and end to end over SMTP)
//!    against the engine floor: one `gpg --encrypt` to the same N keys, on a
//!    keyring holding only them (in keyboxes of 500, as the list's); with
//!    peak RSS.
//!
//! BENCH_SIZES=1000,5000 for a quicker run.

mod common;

use common::{gpg_in, inject_post, kill_agent, signed_post, tempdir, Sink};
use listcrypt::member::KeyState;
use listcrypt::Address;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Instant;

const LIST: &str = "scale@example.org";
const SIZES: [usize; 3] = [1000, 5000, 10_000];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| SIZES.to_vec());
    let keys = MixedKeys::ensure(&sizes);
    let sink = Sink::start();
    println!("key mix: 40% Curve25519, 30% RSA-2048, 20% RSA-3072, 10% RSA-4096; post: 10 KB; seconds");
    println!(
        "{:>6} | {:>8} {:>8} {:>8} {:>8} | {:>7} {:>7} {:>7} {:>7} {:>7} | {:>6} | {:>7} {:>9} {:>7} {:>9} | {:>7}",
        "N",
        "import",
        "gpg imp",
        "imp/gpg",
        "RSS MB",
        "ls",
        "ls json",
        "keys ls",
        "check",
        "show",
        "verify",
        "split",
        "split+smtp",
        "floor",
        "split/flr",
        "RSS MB"
    );
    for &n in &sizes {
        let list = ScaleList::new(&keys, n, &format!("smtp://127.0.0.1:{}", sink.port));
        let before = sink.received.load(Ordering::Relaxed);
        let import = list.import();
        let import_floor = keys.import_floor(n);
        let mails = sink.received.load(Ordering::Relaxed) - before;
        assert_eq!(mails, 2 * n, "a welcome and a challenge for each of {n} members");
        list.verify_all();
        let admin: Vec<f64> = [
            &["members", "ls", LIST][..],
            &["members", "ls", LIST, "--json"],
            &["keys", "ls", LIST],
            &["keys", "check", LIST],
            &["list", "show", LIST],
        ]
        .iter()
        .map(|args| list.timed(args).seconds)
        .collect();
        let verify = list.verify_one();
        let split = list.distribute("discard");
        let smtp = list.distribute(&format!("smtp://127.0.0.1:{}", sink.port));
        let floor = keys.engine_floor(n, &list.post_entity);
        println!(
            "{:>6} | {:>8.2} {:>8.2} {:>7.2}x {:>8} | {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} | {:>6.2} | {:>7.2} {:>9.2} {:>7.2} {:>8.2}x | {:>7}",
            n,
            import.seconds,
            import_floor,
            import.seconds / import_floor,
            import.peak_kb / 1024,
            admin[0],
            admin[1],
            admin[2],
            admin[3],
            admin[4],
            verify,
            split.seconds,
            smtp.seconds,
            floor,
            split.seconds / floor,
            split.peak_kb.max(smtp.peak_kb) / 1024,
        );
    }
}

/// The cached mixed keys (`scripts/mixed-keys`): `members-N.asc` for each
/// size, and member 0's secret key (through a short link for gpg's sockets).
struct MixedKeys {
    home: PathBuf,
    dir: PathBuf,
}

impl MixedKeys {
    fn ensure(sizes: &[usize]) -> MixedKeys {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut sizes = sizes.to_vec();
        // The largest first: the smaller ones are then its first parts.
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        for n in sizes {
            let status = Command::new(root.join("scripts/mixed-keys")).arg(n.to_string()).status().unwrap();
            assert!(status.success(), "scripts/mixed-keys {n}");
        }
        let dir = root.join("target/bench-mixed-keys");
        let home = PathBuf::from(format!("/tmp/lcscale-{}", std::process::id()));
        let _ = std::fs::remove_file(&home);
        std::os::unix::fs::symlink(dir.join("part-000"), &home).unwrap();
        MixedKeys { home, dir }
    }

    fn address(i: usize) -> String {
        format!("member{i:05}@mixed.example")
    }

    /// The public keys of members 0 to n-1, armored, in a file.
    fn export(&self, n: usize) -> PathBuf {
        self.dir.join(format!("members-{n}.asc"))
    }

    /// Seconds for one plain `gpg --import` of members 0 to n-1 into an empty keyring.
    fn import_floor(&self, n: usize) -> f64 {
        let dir = tempdir("importfloor");
        let home = dir.join("g");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join("gpg.conf"), "trust-model always\n").unwrap();
        let start = Instant::now();
        gpg_in(&home, &["--import", self.export(n).to_str().unwrap()]);
        let seconds = start.elapsed().as_secs_f64();
        kill_agent(&home);
        let _ = std::fs::remove_dir_all(&dir);
        seconds
    }

    /// Seconds for one `gpg --encrypt` of `data` to members 0 to n-1, on a
    /// keyring holding only their public keys, in parts as the list's.
    fn engine_floor(&self, n: usize, data: &[u8]) -> f64 {
        let dir = tempdir("floor");
        let home = dir.join("g");
        std::fs::create_dir_all(&home).unwrap();
        // Set up (untimed) as the list's keyring is: keyboxes of 500 keys
        // (one keybox of 10,000 takes gpg over ten minutes to fill).
        let mut conf = String::new();
        for part in 0..n.div_ceil(500) {
            let keybox = format!("part-{part:03}.kbx");
            let keys = self.dir.join(format!("part-{part:03}.asc"));
            let keybox_path = home.join(&keybox);
            gpg_in(
                &home,
                &[
                    "--no-default-keyring",
                    "--keyring",
                    keybox_path.to_str().unwrap(),
                    "--import",
                    keys.to_str().unwrap(),
                ],
            );
            conf.push_str(&format!("keyring {keybox}\n"));
        }
        std::fs::write(home.join("gpg.conf"), conf).unwrap();
        let input = dir.join("post");
        std::fs::write(&input, data).unwrap();
        let addresses: Vec<String> = (0..n).map(Self::address).collect();
        let mut args = vec!["--trust-model", "always", "--encrypt", "--output", "-"];
        for address in &addresses {
            args.extend(["--recipient", address]);
        }
        args.push(input.to_str().unwrap());
        let start = Instant::now();
        gpg_in(&home, &args);
        let seconds = start.elapsed().as_secs_f64();
        kill_agent(&home);
        let _ = std::fs::remove_dir_all(&dir);
        seconds
    }
}

impl Drop for MixedKeys {
    fn drop(&mut self) {
        kill_agent(&self.home);
        let _ = std::fs::remove_file(&self.home);
    }
}

struct Run {
    seconds: f64,
    peak_kb: u64,
}

/// A list of n members, brought in with `members import`.
struct ScaleList<'k> {
    keys: &'k MixedKeys,
    dir: PathBuf,
    home: PathBuf,
    n: usize,
    post_entity: Vec<u8>,
}

impl<'k> ScaleList<'k> {
    fn new(keys: &'k MixedKeys, n: usize, transport: &str) -> Self {
        let dir = tempdir("scale");
        let home = dir.join("h");
        let line = "The quick brown fox jumps over the lazy dog, and the list keeps its secrets.\r\n";
        let body: String = line.repeat(10 * 1024 / line.len());
        let post_entity = format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{body}").into_bytes();
        let list = ScaleList { keys, dir, home, n, post_entity };
        list.lc(&["list", "create", LIST, "--admin", "owner@example.org", "--generate"]);
        list.lc(&["list", "set", LIST, "transport", transport]);
        list.lc(&["list", "set", LIST, "receive_own_posts", "true"]);
        list
    }

    fn lc(&self, args: &[&str]) -> Vec<u8> {
        let run = self.timed(args);
        run.stdout
    }

    /// One run of the binary under /usr/bin/time: wall seconds and peak RSS.
    fn timed(&self, args: &[&str]) -> Timed {
        let start = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(env!("CARGO_BIN_EXE_listcrypt"))
            .arg("--home")
            .arg(&self.home)
            .args(args)
            .output()
            .unwrap();
        let seconds = start.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "listcrypt {args:?}: {stderr}");
        let peak_kb = stderr.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
        Timed { seconds, peak_kb, stdout: out.stdout, stderr: stderr.into_owned() }
    }

    /// `members import` of all n keys; every one must come in.
    fn import(&self) -> Run {
        let file = self.keys.export(self.n);
        let run = self.timed(&["members", "import", LIST, file.to_str().unwrap()]);
        assert!(
            run.stderr.contains(&format!("{} members added, 0 keys refused, 0 not reached", self.n)),
            "{}",
            run.stderr
        );
        Run { seconds: run.seconds, peak_kb: run.peak_kb }
    }

    /// Every member's key verified, as if each had answered the challenge,
    /// then the list as cron's `flush` keeps it (not timed): rewriting every
    /// record leaves sled pages each later open would go over until `flush`
    /// compacts the store.
    fn verify_all(&self) {
        let home = listcrypt::Home::new(&self.home);
        let list = listcrypt::list::List::open(&home, &Address::parse(LIST).unwrap()).unwrap();
        let store = list.store().unwrap();
        for mut member in store.members().unwrap() {
            for key in &mut member.keys {
                key.state = KeyState::Verified { since: 0 };
            }
            store.put_member(&member).unwrap();
        }
        store.flush().unwrap();
        drop(store);
        self.lc(&["flush", LIST]);
    }

    /// A signed and encrypted post from member 0, injected; its entry id.
    fn inject_post(&self) -> String {
        let list_key = self.dir.join("list.asc");
        std::fs::write(&list_key, self.lc(&["list", "export-key", LIST])).unwrap();
        let sender = MixedKeys::address(0);
        let armored = signed_post(&self.keys.home, &sender, &list_key, &self.post_entity, &self.dir);
        inject_post(&self.home, LIST, &sender, &armored)
    }

    /// Seconds of `verify` of one post (it must be approved).
    fn verify_one(&self) -> f64 {
        let id = self.inject_post();
        let run = self.timed(&["verify", LIST, &id]);
        assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), id, "approved: {}", run.stderr);
        // Leave nothing approved for the distribute runs to pick up.
        self.lc(&["distribute", LIST, &id]);
        run.seconds
    }

    /// One timed split-mode `distribute` of a fresh, approved post through `transport`.
    fn distribute(&self, transport: &str) -> Run {
        self.lc(&["list", "set", LIST, "transport", transport]);
        let id = self.inject_post();
        self.lc(&["verify", LIST, &id]);
        let run = self.timed(&["distribute", LIST, &id]);
        assert!(run.stderr.contains(&format!("{} copies sent", self.n)), "every member got a copy: {}", run.stderr);
        Run { seconds: run.seconds, peak_kb: run.peak_kb }
    }
}

struct Timed {
    seconds: f64,
    peak_kb: u64,
    stdout: Vec<u8>,
    stderr: String,
}

impl Drop for ScaleList<'_> {
    fn drop(&mut self) {
        kill_agent(&self.home.join("lists").join(LIST).join("gnupg"));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
