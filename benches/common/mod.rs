//! What the benchmarks share: gpg in a throwaway home, temporary folders,
//! and an SMTP sink on loopback.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub fn gpg_in(home: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args(["--batch", "--yes", "--no-tty", "--quiet"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

pub fn kill_agent(home: &Path) {
    let _ = Command::new("gpgconf").arg("--homedir").arg(home).args(["--kill", "gpg-agent"]).status();
}

pub fn tempdir(what: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(format!("/tmp/lcb{}{what}{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A minimal SMTP sink on loopback that accepts and discards everything.
pub struct Sink {
    pub port: u16,
    pub received: Arc<AtomicUsize>,
}

impl Sink {
    pub fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(AtomicUsize::new(0));
        let count = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let count = count.clone();
                std::thread::spawn(move || serve(stream, &count));
            }
        });
        Sink { port, received }
    }
}

fn serve(stream: TcpStream, count: &AtomicUsize) {
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let _ = out.write_all(b"220 sink ESMTP\r\n");
    let mut line = String::new();
    let mut in_data = false;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if in_data {
            if line == ".\r\n" {
                in_data = false;
                count.fetch_add(1, Ordering::Relaxed);
                let _ = out.write_all(b"250 queued\r\n");
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            "DATA" => {
                in_data = true;
                b"354 go on\r\n"
            }
            "QUIT" => {
                let _ = out.write_all(b"221 bye\r\n");
                return;
            }
            _ => b"250 ok\r\n",
        };
        let _ = out.write_all(reply);
    }
}

/// `entity` plus a line that makes it unique (the list refuses a replay),
/// signed by `signer` in the GnuPG home `keys` and encrypted to the key in
/// `list_key_file`: the armored body of a post.
pub fn signed_post(keys: &Path, signer: &str, list_key_file: &Path, entity: &[u8], scratch: &Path) -> Vec<u8> {
    static POSTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let entity_file = scratch.join("entity");
    let mut unique = entity.to_vec();
    unique.extend(format!("post {}\r\n", POSTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)).as_bytes());
    std::fs::write(&entity_file, unique).unwrap();
    gpg_in(
        keys,
        &[
            "--trust-model",
            "always",
            "--armor",
            "--output",
            "-",
            "--local-user",
            signer,
            "--recipient-file",
            list_key_file.to_str().unwrap(),
            "--sign",
            "--encrypt",
            entity_file.to_str().unwrap(),
        ],
    )
}

/// `listcrypt inject` of a PGP/MIME post from `from` to `list` around
/// `armored`, into the list of `home`; the entry id.
pub fn inject_post(home: &Path, list: &str, from: &str, armored: &[u8]) -> String {
    let mail = format!(
        "From: <{from}>\r\nTo: {list}\r\nSubject: bench\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--b--\r\n",
        String::from_utf8_lossy(armored)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_listcrypt"))
        .arg("--home")
        .arg(home)
        .args(["inject", list])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(mail.as_bytes()).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_string()
}
