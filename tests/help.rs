//! Snapshots of what people read: the `--help` of every command and the
//! wording of the most common errors, in tests/data/help/ and
//! tests/data/errors/. A change of wording fails here and is a reviewed
//! diff: run with LISTCRYPT_BLESS=1 to write the new text, then read
//! `git diff tests/data`.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn bless() -> bool {
    std::env::var("LISTCRYPT_BLESS").as_deref() == Ok("1")
}

/// Compares `text` with the snapshot at `path` (or writes it, when blessing).
fn snapshot(path: &Path, text: &str, mismatches: &mut Vec<String>) {
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        return;
    }
    match std::fs::read_to_string(path) {
        Ok(stored) if stored == text => {}
        Ok(stored) => mismatches.push(format!(
            "{} changed:\n--- stored\n{stored}\n--- now\n{text}",
            path.strip_prefix(repo_root()).unwrap_or(path).display()
        )),
        Err(_) => mismatches.push(format!("{} is missing", path.display())),
    }
}

fn data(folder: &str) -> PathBuf {
    repo_root().join("tests/data").join(folder)
}

/// The subcommands a `--help` text lists (but `help` itself).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|name| name != "help")
        .collect()
}

#[test]
fn every_commands_help_reads_as_reviewed() {
    let w = World::new();
    let mut mismatches = vec![];
    let mut seen = 0;
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = w.run(&args);
        assert!(out.status.success(), "listcrypt {args:?} failed");
        let help = String::from_utf8(out.stdout).unwrap();
        let name = if path.is_empty() { "listcrypt".to_string() } else { path.join("-") };
        snapshot(&data("help").join(format!("{name}.txt")), &help, &mut mismatches);
        seen += 1;
        for sub in subcommands(&help) {
            let mut deeper = path.clone();
            deeper.push(sub);
            todo.push(deeper);
        }
    }
    assert!(seen > 30, "every command was read ({seen})");
    if !bless() {
        let stored = std::fs::read_dir(data("help")).unwrap().count();
        assert_eq!(stored, seen, "tests/data/help holds a snapshot of a command that is gone");
    }
    assert!(mismatches.is_empty(), "{}\n(run with LISTCRYPT_BLESS=1 after reviewing)", mismatches.join("\n"));
}

#[test]
fn the_most_common_errors_read_as_reviewed() {
    let w = World::new();
    w.generated_list("alice@example.org");
    let key = w.dir.path().join("not-a-key.asc");
    std::fs::write(&key, "hello\n").unwrap();
    let key = key.to_str().unwrap();
    let cases: [(&str, &[&str]); 6] = [
        ("no-such-list", &["list", "show", "nobody@example.org"]),
        ("not-an-address", &["members", "add", LIST, "bob(at)example.org", "--key-file", key]),
        ("not-a-key", &["members", "add", LIST, "bob@example.org", "--key-file", key]),
        ("no-such-member", &["members", "remove", LIST, "carol@example.org"]),
        ("no-such-setting", &["list", "set", LIST, "colour", "blue"]),
        ("bad-setting-value", &["list", "set", LIST, "encryption", "sometimes"]),
    ];
    let mut mismatches = vec![];
    for (name, args) in cases {
        let out = w.run(args);
        assert!(!out.status.success(), "listcrypt {args:?} succeeded");
        let text = format!(
            "exit {}\n{}",
            out.status.code().unwrap_or(-1),
            stderr(&out).replace(&w.home.display().to_string(), "HOME").replace(key, "KEYFILE")
        );
        snapshot(&data("errors").join(format!("{name}.txt")), &text, &mut mismatches);
    }
    assert!(mismatches.is_empty(), "{}\n(run with LISTCRYPT_BLESS=1 after reviewing)", mismatches.join("\n"));
}
