//! The distribution benchmark (`scripts/bench`): for N = 10, 100, 1000
//! subscribers and a 10 KB post, measured side by side in one run:
//!
//! 1. `listcrypt distribute` in split mode, with a transport that discards
//!    (encryption and building only) and end to end over SMTP to a loopback sink;
//! 2. the same in per-recipient mode;
//! 3. the engine floor: one `gpg --encrypt` process to all N recipients, on a
//!    keyring holding only those public keys;
//! 4. `listcrypt inject` against one `gpg --encrypt` of the same message to one key.
//!
//! Keys are made once (one gpg run) and cached in `target/bench-keys`. Every
//! listcrypt run is the real binary under `/usr/bin/time` for its peak RSS.

mod common;

use common::{gpg_in, inject_post, kill_agent, signed_post, tempdir, Sink};
use listcrypt::member::{KeyState, Member, MemberKey, Role};
use listcrypt::{Address, Fingerprint};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Instant;

const LIST: &str = "bench@example.org";
const MAX_N: usize = 1000;
const SIZES: [usize; 3] = [10, 100, 1000];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and friends
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-keys");
    let keys = KeyCache::ensure(&root);
    let sink = Sink::start();
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| SIZES.to_vec());

    println!(
        "post: 10 KB, one core per batch ({} cores); milliseconds per recipient, each the best of {} runs",
        listcrypt::parallel::cores(),
        std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3usize).max(1)
    );
    println!(
        "{:>6} | {:>12} {:>12} | {:>12} {:>12} | {:>11} | {:>10} {:>10} | {:>9}",
        "N", "split", "split+smtp", "per-recip", "per+smtp", "gpg floor", "per/split", "split/flr", "peak RSS"
    );
    for &n in &sizes {
        let list = BenchList::new(&keys, n);
        let smtp = format!("smtp://127.0.0.1:{}", sink.port);
        let split = list.best("split", "discard");
        let split_smtp = list.best("split", &smtp);
        let per = list.best("per-recipient", "discard");
        let per_smtp = list.best("per-recipient", &smtp);
        let floor = keys.engine_floor(n, &list.post_entity);
        let per_ms = |r: &Run| r.seconds * 1000.0 / n as f64;
        println!(
            "{:>6} | {:>12.3} {:>12.3} | {:>12.3} {:>12.3} | {:>11.3} | {:>9.1}x {:>9.2}x | {:>6} MB",
            n,
            per_ms(&split),
            per_ms(&split_smtp),
            per_ms(&per),
            per_ms(&per_smtp),
            floor * 1000.0 / n as f64,
            per.seconds / split.seconds,
            split.seconds / floor,
            [&split, &split_smtp, &per, &per_smtp].iter().map(|r| r.peak_kb).max().unwrap_or(0) / 1024,
        );
        println!(
            "{:>6}   end to end over SMTP: split {:.3} s wall, per-recipient {:.3} s wall; sink received {} messages",
            "",
            split_smtp.seconds,
            per_smtp.seconds,
            sink.received.load(Ordering::Relaxed)
        );
    }
    let list = BenchList::new(&keys, 10);
    let (inject, gpg) = list.inject_latency();
    println!(
        "inject: {:.2} ms, one gpg --encrypt to one key: {:.2} ms, ratio {:.2}x",
        inject * 1e3,
        gpg * 1e3,
        inject / gpg
    );
}

/// A GnuPG home with MAX_N unprotected member keys, made once.
struct KeyCache {
    home: PathBuf,
    fingerprints: Vec<String>,
}

impl KeyCache {
    fn ensure(root: &Path) -> KeyCache {
        // gpg-agent sockets live in the home: keep the path short with a link.
        let home = PathBuf::from(format!("/tmp/lcbench-{}", std::process::id()));
        std::fs::create_dir_all(root).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700)).unwrap();
        let _ = std::fs::remove_file(&home);
        std::os::unix::fs::symlink(root, &home).unwrap();
        let gpg = |args: &[&str]| gpg_in(&home, args);
        let mut fingerprints = list_fingerprints(&home);
        if fingerprints.len() < MAX_N {
            eprintln!("making {MAX_N} member keys once (cached in {})…", root.display());
            let mut params = String::new();
            for i in fingerprints.len()..MAX_N {
                params.push_str(&format!(
                    "Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\nSubkey-Type: ecdh\nSubkey-Curve: cv25519\nSubkey-Usage: encrypt\nName-Email: member{i:04}@bench.example.org\nExpire-Date: 0\n%no-protection\n%commit\n"
                ));
            }
            let file = root.join("params");
            std::fs::write(&file, params).unwrap();
            gpg(&["--gen-key", file.to_str().unwrap()]);
            fingerprints = list_fingerprints(&home);
        }
        fingerprints.truncate(MAX_N);
        KeyCache { home, fingerprints }
    }

    /// The armored public keys of the first `n` members.
    fn export(&self, n: usize) -> Vec<u8> {
        let mut args = vec!["--armor", "--export"];
        args.extend(self.fingerprints[..n].iter().map(String::as_str));
        gpg_in(&self.home, &args)
    }

    /// Seconds for one `gpg --encrypt` of `data` to the first `n` members, on
    /// a keyring holding only their public keys (best of three).
    fn engine_floor(&self, n: usize, data: &[u8]) -> f64 {
        let dir = tempdir("floor");
        let home = dir.join("g");
        std::fs::create_dir_all(&home).unwrap();
        let keys = dir.join("keys.asc");
        std::fs::write(&keys, self.export(n)).unwrap();
        gpg_in(&home, &["--import", keys.to_str().unwrap()]);
        let input = dir.join("post");
        std::fs::write(&input, data).unwrap();
        let mut args = vec!["--trust-model", "always", "--encrypt", "--output", "-"];
        for f in &self.fingerprints[..n] {
            args.extend(["--recipient", f]);
        }
        args.push(input.to_str().unwrap());
        let best = (0..3)
            .map(|_| {
                let start = Instant::now();
                gpg_in(&home, &args);
                start.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min);
        kill_agent(&home);
        let _ = std::fs::remove_dir_all(&dir);
        best
    }
}

impl Drop for KeyCache {
    fn drop(&mut self) {
        kill_agent(&self.home);
        let _ = std::fs::remove_file(&self.home);
    }
}

fn list_fingerprints(home: &Path) -> Vec<String> {
    let listing = String::from_utf8(gpg_in(home, &["--with-colons", "--list-secret-keys"])).unwrap();
    let mut out = vec![];
    let mut want = false;
    for line in listing.lines() {
        if line.starts_with("sec:") {
            want = true;
        } else if want && line.starts_with("fpr:") {
            out.push(line.split(':').nth(9).unwrap().to_string());
            want = false;
        }
    }
    out
}

/// A list with `n` verified members, and a post to send.
struct BenchList<'k> {
    keys: &'k KeyCache,
    dir: PathBuf,
    home: PathBuf,
    n: usize,
    list_fpr: String,
    post_entity: Vec<u8>,
}

struct Run {
    seconds: f64,
    peak_kb: u64,
}

impl<'k> BenchList<'k> {
    fn new(keys: &'k KeyCache, n: usize) -> Self {
        let dir = tempdir("list");
        let home = dir.join("h");
        let mut me = BenchList { keys, dir, home, n, list_fpr: String::new(), post_entity: vec![] };
        me.lc(&["list", "create", LIST, "--admin", "member0000@bench.example.org", "--generate"]);
        let shown: serde_json::Value = serde_json::from_slice(&me.lc(&["list", "show", LIST, "--json"])).unwrap();
        let list_fpr = shown["fingerprint"].as_str().unwrap().to_string();
        // Members and their verified keys go straight into the keyring and the
        // store: the challenge round trip is not what this measures.
        let gnupg = me.home.join("lists").join(LIST).join("gnupg");
        let file = me.dir.join("members.asc");
        std::fs::write(&file, keys.export(n)).unwrap();
        gpg_in(&gnupg, &["--import", file.to_str().unwrap()]);
        let home = listcrypt::Home::new(&me.home);
        let list = listcrypt::list::List::open(&home, &Address::parse(LIST).unwrap()).unwrap();
        let store = list.store().unwrap();
        for (i, fpr) in keys.fingerprints[..n].iter().enumerate() {
            let address = Address::parse(&format!("member{i:04}@bench.example.org")).unwrap();
            let role = if i == 0 { Role::Admin } else { Role::Member };
            let mut member = Member::new(address, role);
            let fingerprint = Fingerprint::parse(fpr).unwrap();
            member.keys.push(MemberKey {
                fingerprint: fingerprint.clone(),
                state: KeyState::Verified { since: 0 },
                added: 0,
            });
            member.default_key = Some(fingerprint);
            store.put_member(&member).unwrap();
        }
        store.flush().unwrap();
        drop(store);
        me.lc(&["list", "set", LIST, "receive_own_posts", "true"]);
        let line = "The quick brown fox jumps over the lazy dog, and the list keeps its secrets.\r\n";
        let body: String = line.repeat(10 * 1024 / line.len());
        me.post_entity = format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{body}").into_bytes();
        me.list_fpr = list_fpr;
        me
    }

    fn lc(&self, args: &[&str]) -> Vec<u8> {
        let out =
            Command::new(env!("CARGO_BIN_EXE_listcrypt")).arg("--home").arg(&self.home).args(args).output().unwrap();
        assert!(out.status.success(), "listcrypt {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// A signed and encrypted post from member 0, injected and verified (not timed).
    fn approved_entry(&self) -> String {
        let list_key = self.dir.join("list.asc");
        std::fs::write(&list_key, self.lc(&["list", "export-key", LIST])).unwrap();
        let armored = signed_post(&self.keys.home, &self.keys.fingerprints[0], &list_key, &self.post_entity, &self.dir);
        let id = inject_post(&self.home, LIST, "member0000@bench.example.org", &armored);
        let out = Command::new(env!("CARGO_BIN_EXE_listcrypt"))
            .arg("--home")
            .arg(&self.home)
            .args(["verify", LIST, &id])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).trim() != id {
            let log = std::fs::read_to_string(self.home.join("lists").join(LIST).join("log")).unwrap_or_default();
            panic!("the bench post was not approved: {}\n{log}", String::from_utf8_lossy(&out.stderr));
        }
        id
    }

    /// The fastest of BENCH_RUNS (3) distributions, as the engine floor is
    /// the fastest of three gpg runs; the peak RSS is the largest seen.
    fn best(&self, encryption: &str, transport: &str) -> Run {
        let runs = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3usize).max(1);
        let all: Vec<Run> = (0..runs).map(|_| self.distribute(encryption, transport)).collect();
        let peak_kb = all.iter().map(|r| r.peak_kb).max().unwrap_or(0);
        let seconds = all.iter().map(|r| r.seconds).fold(f64::MAX, f64::min);
        Run { seconds, peak_kb }
    }

    /// One timed `listcrypt distribute` of a fresh post with these settings.
    fn distribute(&self, encryption: &str, transport: &str) -> Run {
        self.lc(&["list", "set", LIST, "encryption", encryption]);
        self.lc(&["list", "set", LIST, "transport", transport]);
        let id = self.approved_entry();
        let start = Instant::now();
        let mut cmd = Command::new("/usr/bin/time");
        cmd.args(["-f", "%M"]);
        if let Some(file) = std::env::var_os("BENCH_STRACE") {
            cmd.args(["strace", "-f", "-tt", "-e", "trace=execve,exit_group", "-o"]).arg(format!(
                "{}.{encryption}.{}",
                file.to_string_lossy(),
                transport.len()
            ));
        }
        let out = cmd
            .arg(env!("CARGO_BIN_EXE_listcrypt"))
            .arg("--home")
            .arg(&self.home)
            .args(["-v", "distribute", LIST, &id])
            .output()
            .unwrap();
        let seconds = start.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "distribute: {stderr}");
        assert!(stderr.contains(&format!("{} copies sent", self.n)), "every member got a copy: {stderr}");
        let peak_kb = stderr.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
        if std::env::var_os("BENCH_PHASES").is_some() {
            eprintln!(
                "N={} {encryption} {transport}:\n{}",
                self.n,
                stderr.lines().filter(|l| l.starts_with("  ")).collect::<Vec<_>>().join("\n")
            );
        }
        Run { seconds, peak_kb }
    }

    /// Median seconds of `listcrypt inject` and of one `gpg --encrypt` of the same mail.
    fn inject_latency(&self) -> (f64, f64) {
        let mail = format!(
            "From: <member0000@bench.example.org>\r\nTo: {LIST}\r\nSubject: x\r\n\r\n{}",
            String::from_utf8_lossy(&self.post_entity)
        );
        let file = self.dir.join("mail");
        std::fs::write(&file, &mail).unwrap();
        let gnupg = self.home.join("lists").join(LIST).join("gnupg");
        let time = |cmd: &mut Command| {
            let mut runs: Vec<f64> = (0..15)
                .map(|_| {
                    let start = Instant::now();
                    let status = cmd.stdin(std::fs::File::open(&file).unwrap()).stdout(Stdio::null()).status().unwrap();
                    assert!(status.success());
                    start.elapsed().as_secs_f64()
                })
                .collect();
            runs.sort_by(f64::total_cmp);
            runs[runs.len() / 2]
        };
        let inject =
            time(Command::new(env!("CARGO_BIN_EXE_listcrypt")).arg("--home").arg(&self.home).args(["inject", LIST]));
        let gpg = time(Command::new("gpg").arg("--homedir").arg(&gnupg).args([
            "--batch",
            "--trust-model",
            "always",
            "--encrypt",
            "--recipient",
            &self.list_fpr,
            "--output",
            "-",
        ]));
        (inject, gpg)
    }
}

impl Drop for BenchList<'_> {
    fn drop(&mut self) {
        kill_agent(&self.home.join("lists").join(LIST).join("gnupg"));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
