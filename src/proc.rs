//! `/proc/PID/stat`, read once here (leases check a holder is alive; the
//! gpg watchdog finds the gpg processes of its process group).

/// One process's `stat` line: its command name and the fields after it.
pub struct Stat {
    pub comm: String,
    /// Field 3 (state) onwards, as proc(5) numbers them.
    rest: Vec<String>,
}

impl Stat {
    /// Field `n` of proc(5)'s numbering (3 = state, 5 = pgrp, 22 = starttime).
    pub fn field(&self, n: usize) -> Option<&str> {
        self.rest.get(n.checked_sub(3)?).map(String::as_str)
    }
}

/// The `stat` of process `pid`, if it runs.
pub fn stat(pid: u32) -> Option<Stat> {
    parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses,
/// so it ends at the last ')'.
fn parse(line: &str) -> Option<Stat> {
    let (head, rest) = line.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_string();
    Some(Stat { comm, rest: rest.split_whitespace().map(str::to_string).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_with_spaces_and_parentheses_are_read() {
        let stat = parse("42 (gpg (x) y) S 1 42 42 0 -1").unwrap();
        assert_eq!(stat.comm, "gpg (x) y");
        assert_eq!((stat.field(3), stat.field(5)), (Some("S"), Some("42")));
        assert_eq!(stat.field(2), None);
    }
}
