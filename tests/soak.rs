//! The soak run (`scripts/soak`; ignored by `cargo test`): SOAK_POSTS posts
//! (2,000) through a list of SOAK_MEMBERS members (50), sent over SMTP to a
//! recording sink on loopback, with runs killed at random moments and relay
//! outages in between; then every member's copies are counted: each post
//! must reach each member other than its author exactly once (a killed run
//! may repeat the one copy that was in flight when it died). An inject killed
//! after it stored the mail is retried like an MTA would; the second copy is
//! refused as a replay, which shows up as notices, never as a second post.

mod common;
use common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Copies received, by (recipient, Message-ID).
type Received = Arc<Mutex<HashMap<(String, String), usize>>>;

struct Sink {
    port: u16,
    received: Received,
    down: Arc<AtomicBool>,
}

impl Sink {
    fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received: Received = Default::default();
        let down = Arc::new(AtomicBool::new(false));
        let (r, d) = (received.clone(), down.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, d) = (r.clone(), d.clone());
                std::thread::spawn(move || {
                    let mut out = stream.try_clone().unwrap();
                    let mut reader = BufReader::new(stream);
                    let _ = out.write_all(b"220 soak sink\r\n");
                    let (mut rcpt, mut data, mut in_data) = (String::new(), String::new(), false);
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if in_data {
                            if line == ".\r\n" {
                                in_data = false;
                                let id = data
                                    .lines()
                                    .find_map(|l| l.strip_prefix("Message-ID: "))
                                    .unwrap_or("")
                                    .trim()
                                    .to_string();
                                // Posts carry List-Id; notices (to admins, to senders) do not.
                                let id = if data.contains("\r\nList-Id: ") { id } else { format!("notice {id}") };
                                *r.lock().unwrap().entry((rcpt.clone(), id)).or_default() += 1;
                                data.clear();
                                let _ = out.write_all(b"250 ok\r\n");
                            } else if data.len() < 4096 {
                                data.push_str(&line);
                            }
                            continue;
                        }
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "MAIL" if d.load(Ordering::Relaxed) => b"451 4.3.0 relay outage\r\n",
                            "RCPT" => {
                                rcpt =
                                    line[8..].trim().trim_start_matches(':').trim_matches(['<', '>', ' ']).to_string();
                                b"250 ok\r\n"
                            }
                            "DATA" => {
                                in_data = true;
                                b"354 go on\r\n"
                            }
                            "EHLO" => b"250-soak\r\n250 8BITMIME\r\n",
                            "QUIT" => {
                                let _ = out.write_all(b"221 bye\r\n");
                                return;
                            }
                            _ => b"250 ok\r\n",
                        };
                        let _ = out.write_all(reply);
                    }
                });
            }
        });
        Sink { port, received, down }
    }
}

/// A small deterministic random source (SOAK_SEED).
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn run_killed(w: &World, args: &[&str], input: Option<&[u8]>, after_ms: u64) -> bool {
    let mut cmd = w.cmd(args);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child: Child = cmd.spawn().unwrap();
    if let Some(bytes) = input {
        let _ = child.stdin.take().unwrap().write_all(bytes);
    }
    std::thread::sleep(Duration::from_millis(after_ms));
    let _ = Command::new("kill").args(["-9", &child.id().to_string()]).status();
    child.wait().unwrap().code().is_none()
}

fn queue_ids(w: &World, stage: &str) -> Vec<String> {
    let queue: serde_json::Value = serde_json::from_str(&w.ok(&["queue", "ls", LIST, "--json"])).unwrap();
    queue
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["stage"] == stage)
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
#[ignore = "a long run: scripts/soak"]
fn soak() {
    let posts = env("SOAK_POSTS", 2000);
    let members = env("SOAK_MEMBERS", 50).max(3);
    let mut dice = Dice(env("SOAK_SEED", 1) as u64);
    let started = Instant::now();
    let s = Scene::new();
    let sink = Sink::start();
    s.w.ok(&["list", "set", LIST, "transport", &format!("smtp://127.0.0.1:{}", sink.port)]);
    s.w.ok(&["list", "set", LIST, "queue_expiry", "30d"]);
    let list_key = s.w.ok(&["list", "export-key", LIST]);
    let mut people: Vec<Person> = vec![];
    for i in 0..members - 3 {
        people.push(s.w.quick_member(&format!("soak{i:03}@example.org"), &list_key));
    }
    let authors: Vec<&Person> = [&s.alice, &s.bob, &s.carol].into_iter().chain(people.iter()).collect();
    let mut sent: Vec<(String, String)> = vec![]; // (Message-ID, author)
    let (mut kills, mut outages) = (0usize, 0usize);
    for n in 0..posts {
        let author = authors[dice.roll(authors.len() as u64) as usize];
        let post = client::post(author, &s.list_key, "soak", &format!("soak post {n}"));
        let id = String::from_utf8_lossy(&post)
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_string))
            .unwrap();
        sent.push((id, author.address.clone()));
        // A relay outage for a stretch of posts.
        let down = (n * 10 / posts.max(1)) % 5 == 3 && dice.roll(4) != 0;
        if down != sink.down.load(Ordering::Relaxed) {
            sink.down.store(down, Ordering::Relaxed);
            outages += usize::from(down);
        }
        match dice.roll(20) {
            // inject killed: the MTA got no 0 and retries.
            0 => {
                if run_killed(&s.w, &["inject", LIST], Some(&post), dice.roll(40)) {
                    kills += 1;
                }
                let retry = s.w.run_with_stdin(&["inject", LIST], &post);
                assert!(retry.status.success(), "{}", stderr(&retry));
            }
            // the whole chain, then a distribute killed part-way.
            1 | 2 => {
                let id = String::from_utf8(s.w.run_with_stdin(&["inject", LIST], &post).stdout).unwrap();
                s.w.run(&["verify", LIST, id.trim()]);
                if run_killed(&s.w, &["distribute", LIST, id.trim()], None, 5 + dice.roll(120)) {
                    kills += 1;
                }
            }
            _ => {
                let out = s.deliver(&post);
                assert!(out.status.success(), "{}", stderr(&out));
            }
        }
        if n % 25 == 24 {
            if dice.roll(3) == 0 && run_killed(&s.w, &["flush"], None, dice.roll(150)) {
                kills += 1;
            }
            s.w.ok(&["flush"]);
        }
    }
    sink.down.store(false, Ordering::Relaxed);
    for _ in 0..20 {
        let incoming = queue_ids(&s.w, "incoming");
        if !incoming.is_empty() {
            let mut args = vec!["verify", LIST];
            args.extend(incoming.iter().map(String::as_str));
            s.w.ok(&args);
        }
        let outgoing = queue_ids(&s.w, "outgoing");
        if outgoing.is_empty() && incoming.is_empty() {
            break;
        }
        let mut args = vec!["distribute", LIST];
        args.extend(outgoing.iter().map(String::as_str));
        s.w.ok(&args);
    }
    assert_eq!(s.w.ok(&["queue", "ls", LIST]), "", "everything was delivered");

    let received = sink.received.lock().unwrap();
    let everyone: Vec<&str> = authors.iter().map(|p| p.address.as_str()).collect();
    let (mut copies, mut missing, mut duplicates) = (0usize, 0usize, 0usize);
    for (id, author) in &sent {
        for member in everyone.iter().filter(|m| **m != author.as_str()) {
            match received.get(&(member.to_string(), id.clone())).copied().unwrap_or(0) {
                0 => missing += 1,
                n => {
                    copies += n;
                    duplicates += n - 1;
                }
            }
        }
    }
    let notices = received.keys().filter(|(_, id)| id.starts_with("notice ")).count();
    let stray =
        received.keys().filter(|(_, id)| !id.starts_with("notice ") && !sent.iter().any(|(s, _)| s == id)).count();
    println!(
        "soak: {posts} posts, {members} members, {copies} copies in {:.0} s; {kills} runs killed, {outages} relay outages; {missing} missing, {duplicates} duplicates, {stray} stray copies; {notices} notices",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(missing, 0, "every member got every post");
    assert_eq!(stray, 0);
    assert!(duplicates <= kills, "a duplicate needs a killed run");
}
