//! Nothing lost, nothing twice: concurrent deliveries, runs killed at any
//! moment, a full disk and keys that stop working between two stages.

mod common;
use common::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How many copies of each marker every reader holds.
fn copies_per_marker(s: &Scene, reader: &Person, markers: &[String]) -> Vec<usize> {
    let texts: Vec<String> = s.posts_to(reader).iter().map(|m| reader.open_post(m).expect("readable").text).collect();
    markers.iter().map(|marker| texts.iter().filter(|t| t.contains(marker.as_str())).count()).collect()
}

fn spawn(w: &World, args: &[&str], input: Option<&[u8]>) -> Child {
    let mut cmd = w.cmd(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(bytes) = input {
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(bytes);
    }
    child
}

/// Runs `flush` until the queue is empty (at most `rounds` times).
fn drain(s: &Scene, rounds: usize) {
    let now = now();
    for round in 0..rounds as u64 {
        // A killed run counted as an attempt: its entry waits out a back-off, so the clock moves on.
        let out = s.w.cmd(&["flush"]).env("LISTCRYPT_NOW", (now + round * 3600).to_string()).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
        if queue.as_array().unwrap().is_empty() {
            return;
        }
    }
    panic!("the queue did not drain: {}", s.w.ok(&["queue", "ls", LIST]));
}

#[test]
fn a_hundred_concurrent_deliveries_with_overlapping_flushes_reach_everyone_exactly_once() {
    let s = Scene::new();
    let markers: Vec<String> = (0..100).map(|i| format!("concurrent post number {i:03}")).collect();
    let posts: Vec<Vec<u8>> = markers.iter().map(|m| client::post(&s.alice, &s.list_key, "busy", m)).collect();
    let mut injects: Vec<(usize, Child)> =
        posts.iter().enumerate().map(|(i, p)| (i, spawn(&s.w, &["inject", LIST], Some(p)))).collect();
    let runs = vec![
        spawn(&s.w, &["flush"], None),
        spawn(&s.w, &["distribute", LIST], None),
        spawn(&s.w, &["flush", LIST], None),
    ];
    let mut retried = 0;
    while !injects.is_empty() {
        let mut again = vec![];
        for (i, child) in injects {
            let out = child.wait_with_output().unwrap();
            match code(&out) {
                0 => {}
                // The MTA retries a temporary failure later, as Postfix would.
                75 => {
                    retried += 1;
                    again.push((i, spawn(&s.w, &["inject", LIST], Some(&posts[i]))));
                }
                other => panic!("inject exited {other}: {}", stderr(&out)),
            }
        }
        injects = again;
    }
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert!(out.status.success(), "a concurrent run failed: {}", stderr(&out));
        assert!(!stderr(&out).contains("lock"), "no lock errors: {}", stderr(&out));
    }
    drain(&s, 5);
    for reader in [&s.bob, &s.carol] {
        assert_eq!(copies_per_marker(&s, reader, &markers), vec![1; 100], "{} got each post once", reader.address);
    }
    eprintln!("injects retried after exit 75: {retried}");
}

/// A stand-in sendmail that takes the message, then kills the listcrypt run
/// that called it once `after` copies have gone out: the worst moment, a copy
/// accepted but not yet journaled.
fn killing_sendmail(w: &World, after: usize) -> std::path::PathBuf {
    let script = w.dir.path().join(format!("kill-after-{after}"));
    let count = w.dir.path().join(format!("count-{after}"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{real} \"$@\" || exit $?\nn=$(( $(cat {count} 2>/dev/null || echo 0) + 1 ))\necho $n > {count}\nif [ $n -eq {after} ]; then kill -9 $PPID; fi\nexit 0\n",
            real = w.sendmail.display(),
            count = count.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_distribute_killed_after_any_copy_leaves_at_most_that_copy_twice() {
    let s = Scene::new();
    let list_key = s.w.ok(&["list", "export-key", LIST]);
    let readers: Vec<Person> = (0..4).map(|i| s.w.quick_member(&format!("reader{i}@example.org"), &list_key)).collect();
    for after in 1..=5 {
        s.w.clear_outbox();
        let marker = format!("killed after {after} copies");
        let id = String::from_utf8(
            s.w.run_with_stdin(&["inject", LIST], &client::post(&s.alice, &s.list_key, "kill", &marker)).stdout,
        )
        .unwrap();
        s.w.ok(&["verify", LIST, id.trim()]);
        let script = killing_sendmail(&s.w, after);
        s.w.ok(&["list", "set", LIST, "transport", &format!("sendmail:{}", script.display())]);
        let out = s.w.run(&["distribute", LIST, id.trim()]);
        assert_eq!(out.status.code(), None, "distribute was killed");
        s.w.ok(&["list", "set", LIST, "transport", &format!("sendmail:{}", s.w.sendmail.display())]);
        drain(&s, 3);
        let mut counts = vec![];
        for reader in readers.iter().chain([&s.bob, &s.carol]) {
            counts.extend(copies_per_marker(&s, reader, std::slice::from_ref(&marker)));
        }
        assert!(counts.iter().all(|c| *c >= 1), "killed after {after}: someone has no copy: {counts:?}");
        assert!(
            counts.iter().filter(|c| **c > 1).count() <= 1,
            "killed after {after}: more than one duplicate: {counts:?}"
        );
        assert!(counts.iter().all(|c| *c <= 2), "{counts:?}");
    }
}

#[test]
fn runs_killed_at_random_moments_lose_nothing() {
    let s = Scene::new();
    let mut markers = vec![];
    let mut kills = 0;
    for round in 0..10u64 {
        let marker = format!("random kill round {round}");
        let post = client::post(&s.alice, &s.list_key, "random", &marker);
        // inject killed mid-write: either it said 0 (the mail is safe) or the MTA retries.
        let child = spawn(&s.w, &["inject", LIST], Some(&post));
        std::thread::sleep(Duration::from_millis(round * 3));
        let _ = Command::new("kill").args(["-9", &child.id().to_string()]).status();
        let out = child.wait_with_output().unwrap();
        if out.status.code() != Some(0) {
            kills += 1;
            assert!(s.w.run_with_stdin(&["inject", LIST], &post).status.success(), "the retried inject works");
        }
        markers.push(marker);
        // verify and distribute killed at a random moment, then everything resumes.
        let run = spawn(&s.w, &["flush"], None);
        std::thread::sleep(Duration::from_millis(20 + (round * 37) % 200));
        let _ = Command::new("kill").args(["-9", &run.id().to_string()]).status();
        if run.wait_with_output().unwrap().status.code().is_none() {
            kills += 1;
        }
    }
    drain(&s, 5);
    for reader in [&s.bob, &s.carol] {
        let counts = copies_per_marker(&s, reader, &markers);
        assert!(counts.iter().all(|c| *c >= 1), "{}: a post was lost: {counts:?}", reader.address);
        let duplicates: usize = counts.iter().map(|c| c - 1).sum();
        assert!(duplicates <= kills, "more duplicates ({duplicates}) than kills ({kills})");
    }
    eprintln!("{kills} runs killed");
}

#[test]
fn a_damaged_entry_is_quarantined_and_does_not_block_the_queue() {
    let s = Scene::new();
    let bad = String::from_utf8(
        s.w.run_with_stdin(&["inject", LIST], &client::post(&s.alice, &s.list_key, "x", "first")).stdout,
    )
    .unwrap();
    {
        let home = listcrypt::Home::new(&s.w.home);
        let list = listcrypt::list::List::open(&home, &listcrypt::Address::parse(LIST).unwrap()).unwrap();
        let store = list.store().unwrap();
        store.put_payload(bad.trim(), b"not an OpenPGP message").unwrap();
        store.flush().unwrap();
    }
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "y", "second post")).status.success());
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    let entries = queue.as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["stage"], "held");
    assert!(entries[0]["held_reason"].as_str().unwrap().contains("quarantined"));
    assert_eq!(s.posts_to(&s.bob).len(), 1, "the next post went out");
    let reports: Vec<String> =
        s.w.mails_to("alice@example.org").iter().map(|m| s.alice.decrypt(&m.armored()).plaintext).collect();
    assert!(reports.iter().any(|r| r.contains("quarantined")), "the admin is told");
}

#[test]
fn a_key_that_expires_between_verify_and_distribute_skips_only_that_member() {
    let s = Scene::new();
    let id = String::from_utf8(
        s.w.run_with_stdin(&["inject", LIST], &client::post(&s.alice, &s.list_key, "z", "still delivered")).stdout,
    )
    .unwrap();
    s.w.ok(&["verify", LIST, id.trim()]);
    s.w.revoke_in_list(&s.bob);
    s.w.ok(&["distribute", LIST, id.trim()]);
    assert!(s.posts_to(&s.bob).is_empty(), "no copy to an unusable key, and never a cleartext one");
    assert_eq!(s.posts_to(&s.carol).len(), 1);
    let reports: Vec<String> =
        s.w.mails_to("alice@example.org").iter().map(|m| s.alice.decrypt(&m.armored()).plaintext).collect();
    assert!(reports.iter().any(|r| r.contains("not sent to bob@example.org")), "{reports:?}");
}

#[test]
fn a_full_disk_makes_inject_exit_75_and_loses_nothing_queued() {
    if unsafe_to_mount() {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let w = World::new();
    let mount = w.dir.path().join("small");
    std::fs::create_dir_all(&mount).unwrap();
    let status = Command::new("mount").args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"]).arg(&mount).status().unwrap();
    assert!(status.success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.clone());
    let home = mount.join("h");
    let lc = |args: &[&str], input: &[u8]| {
        use std::io::Write;
        let mut child =
            w.cmd_in(&home, args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let _ = child.stdin.take().unwrap().write_all(input);
        child.wait_with_output().unwrap()
    };
    assert!(lc(&["list", "create", LIST, "--admin", "alice@example.org", "--generate"], b"").status.success());
    let mail = b"From: alice@example.org\nSubject: kept\n\nqueued before the disk filled up\n";
    let first = lc(&["inject", LIST], mail);
    assert!(first.status.success());
    let filler = mount.join("filler");
    let _ = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", filler.display()))
        .args(["bs=64k"])
        .stderr(Stdio::null())
        .status();
    let full = lc(&["inject", LIST], mail);
    assert_eq!(code(&full), 75, "{}", stderr(&full));
    assert!(stderr(&full).contains("No space left"), "{}", stderr(&full));
    std::fs::remove_file(&filler).unwrap();
    let listed = lc(&["queue", "ls", LIST, "--json"], b"");
    let queue: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let ids: Vec<&str> = queue.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![String::from_utf8_lossy(&first.stdout).trim()], "the entry queued before is intact");
    assert!(lc(&["inject", LIST], mail).status.success(), "with space again, inject works");
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(home.join("lists").join(LIST).join("gnupg"))
        .args(["--kill", "gpg-agent"])
        .status();
}

fn unsafe_to_mount() -> bool {
    let uid = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&uid.stdout).trim() != "0"
}

/// A process stopped with SIGSTOP until this is dropped (also when a test
/// fails, or cleaning up would wait for it forever).
struct Stopped(String);

impl Stopped {
    fn new(pid: &str) -> Stopped {
        assert!(std::process::Command::new("kill").args(["-STOP", pid]).status().unwrap().success());
        Stopped(pid.to_string())
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-CONT", &self.0]).status();
    }
}

/// The list's gpg-agent, by asking it.
fn agent_pid(w: &World) -> String {
    let out = std::process::Command::new("gpg-connect-agent")
        .arg("--homedir")
        .arg(w.list_gnupg(LIST))
        .args(["GETINFO pid", "/bye"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines().find_map(|l| l.strip_prefix("D ")).expect("the agent's pid").trim().to_string()
}

#[test]
fn a_hung_gpg_agent_stops_verify_at_the_time_limit_and_loses_nothing() {
    let s = Scene::new();
    let pid = agent_pid(&s.w);
    let post = client::post(&s.alice, &s.list_key, "hung agent", "words that wait");
    let injected = s.w.run_with_stdin(&["inject", LIST], &post);
    assert!(injected.status.success());
    let id = String::from_utf8(injected.stdout).unwrap().trim().to_string();
    // A stopped agent never answers: gpg would wait for it forever.
    let stopped = Stopped::new(&pid);
    // inject needs no agent (only the list's public key), so mail still gets in.
    let second = s.w.run_with_stdin(&["inject", LIST], &client::post(&s.alice, &s.list_key, "second", "more"));
    assert!(second.status.success(), "{}", stderr(&second));
    let started = std::time::Instant::now();
    let before_the_stop = now();
    // In a process group of its own, as under an MTA's pipe (the watchdog kills its group's gpg).
    use std::os::unix::process::CommandExt;
    let child =
        s.w.cmd(&["verify", LIST, &id])
            .env("LISTCRYPT_GPG_TIMEOUT", "2")
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    let group = child.id().to_string();
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            let fields: Vec<&str> =
                stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
            // Killed processes may linger as zombies until init reaps them.
            fields.get(2) == Some(&group.as_str()) && fields.first() != Some(&"Z")
        })
        .collect();
    assert!(left.is_empty(), "the hung gpg was killed with the run: {left:?}");
    drop(stopped);
    assert_eq!(out.status.code(), Some(0), "verify in an MTA alias must not make the MTA retry: {}", stderr(&out));
    assert!(stderr(&out).contains("did not finish within 2 s"), "{}", stderr(&out));
    assert!(took < std::time::Duration::from_secs(20), "stopped at the limit: {took:?}");
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 2, "both posts still queued: {queue}");
    let stalled = queue.as_array().unwrap().iter().find(|e| e["id"] == id.as_str()).unwrap().clone();
    assert_eq!(stalled["attempts"], 1, "the stopped run counted as an attempt: {stalled}");
    // The agent answers again: the post behind the one that stalled goes out
    // first; the stalled one waits out its back-off, then goes too.
    let started = std::time::Instant::now();
    let out = s.w.cmd(&["flush"]).env("LISTCRYPT_NOW", before_the_stop.to_string()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    eprintln!(
        "a good post behind a stalled one went out {:.2} s after the agent answered",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(s.posts_to(&s.bob).len(), 1, "{}", s.log());
    let later = (before_the_stop + 3600).to_string();
    let out = s.w.cmd(&["flush"]).env("LISTCRYPT_NOW", &later).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(s.posts_to(&s.bob).len(), 2, "{}", s.log());
}

/// `verify LIST ID` in its own process group, stopped by gpg's time limit
/// while the agent does not answer.
fn stopped_verify(s: &Scene, pid: &str, id: &str) {
    let _stopped = Stopped::new(pid);
    use std::os::unix::process::CommandExt;
    let out = s.w.cmd(&["verify", LIST, id]).env("LISTCRYPT_GPG_TIMEOUT", "1").process_group(0).output().unwrap();
    assert!(stderr(&out).contains("did not finish within 1 s"), "{}", stderr(&out));
}

fn inject(s: &Scene, subject: &str) -> String {
    let out = s.w.run_with_stdin(&["inject", LIST], &client::post(&s.alice, &s.list_key, subject, subject));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_mail_that_stops_gpg_run_after_run_is_quarantined_and_the_queue_moves_on() {
    let s = Scene::new();
    let pid = agent_pid(&s.w);
    // Runs that stop while nothing else gets through either are the host's
    // trouble (here: a hung agent), and count nothing against the mail.
    let innocent = inject(&s, "innocent");
    for _ in 0..4 {
        stopped_verify(&s, &pid, &innocent);
    }
    s.w.ok(&["verify", LIST, &innocent]);
    s.w.ok(&["distribute", LIST]);
    assert_eq!(s.posts_to(&s.bob).len(), 1, "the innocent post went out: {}", s.log());

    // A mail that stops run after run while the queue moves past it is the culprit.
    let stuck = inject(&s, "stuck");
    for round in 0..3 {
        stopped_verify(&s, &pid, &stuck);
        assert!(s.deliver(&client::post(&s.alice, &s.list_key, "next", &format!("next {round}"))).status.success());
    }
    assert_eq!(s.posts_to(&s.bob).len(), 4, "the posts behind it went out");
    // The next run does not try again: the entry is held, the admins are told.
    s.w.ok(&["verify", LIST, &stuck]);
    let queue: serde_json::Value = serde_json::from_str(&s.w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    let entry = &queue.as_array().unwrap()[0];
    assert_eq!(entry["stage"], "held");
    assert!(entry["held_reason"].as_str().unwrap().contains("3 runs in a row stopped on it"), "{entry}");
    assert!(s.admin_reports().iter().any(|r| r.contains("quarantined")));
    // Released, it goes back to where it was, under the rules: Alice's signed post, not "not authenticated".
    s.w.ok(&["queue", "release", LIST, &stuck]);
    s.w.ok(&["verify", LIST, &stuck]);
    s.w.ok(&["distribute", LIST]);
    let last = s.posts_to(&s.bob).pop().unwrap();
    let opened = s.bob.open_post(&last).unwrap();
    assert!(opened.text.contains("stuck") && !opened.entity.contains("not authenticated"), "{}", opened.entity);
}

#[test]
fn one_lists_stalled_gpg_never_stops_flush_for_the_others() {
    let s = Scene::new();
    const OTHER: &str = "other@example.org";
    s.w.ok(&["list", "create", OTHER, "--admin", "alice@example.org", "--generate"]);
    s.w.use_outbox(OTHER);
    // The operator vouches for both keys (--no-challenge): no challenge round trip needed here.
    for (command, person) in [("keys", &s.alice), ("members", &s.carol)] {
        let key = person.export(false);
        s.w.ok(&[command, "add", OTHER, &person.address, "--key-file", key.to_str().unwrap(), "--no-challenge"]);
    }
    let other_key = s.w.ok(&["list", "export-key", OTHER]);
    s.alice.import(other_key.as_bytes());
    let other_fpr = serde_json::from_str::<serde_json::Value>(&s.w.ok(&["list", "show", OTHER, "--json"])).unwrap()
        ["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let armored = s.alice.sign_encrypt(client::text_entity("for the other list").as_bytes(), &other_fpr);
    let post = client::encrypted(&client::headers("alice@example.org", OTHER, "other"), &armored);
    assert!(s.w.run_with_stdin(&["inject", OTHER], &post).status.success());
    let stuck = client::post(&s.alice, &s.list_key, "stuck", "stuck words");
    assert!(s.w.run_with_stdin(&["inject", LIST], &stuck).status.success());
    s.w.clear_outbox();
    let pid = agent_pid(&s.w);
    let out = {
        let _stopped = Stopped::new(&pid);
        use std::os::unix::process::CommandExt;
        s.w.cmd(&["flush"]).env("LISTCRYPT_GPG_TIMEOUT", "1").process_group(0).output().unwrap()
    };
    assert_eq!(code(&out), 75, "flush says a list did not finish: {}", stderr(&out));
    let to_carol: Vec<_> =
        s.w.mails_to("carol@example.org").into_iter().filter(|m| m.header("List-Id").is_some()).collect();
    assert_eq!(to_carol.len(), 1, "the other list's post went out");
    assert!(s.carol.open_post(&to_carol[0]).unwrap().text.contains("for the other list"));
}
