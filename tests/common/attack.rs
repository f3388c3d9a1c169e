//! What every attack test checks: nothing reached the members, the canary
//! is nowhere, and the admins were told why.

use super::{client, stderr, Person, Scene, LIST};

pub const CANARY: &str = "canary phrase 7f3a9c";

pub fn nothing_distributed(s: &Scene) {
    for member in [&s.alice, &s.bob, &s.carol] {
        assert!(s.posts_to(member).is_empty(), "{} received something", member.address);
    }
}

/// The canary in no mail, no output and no file anywhere.
pub fn no_canary_anywhere(s: &Scene, outputs: &[&std::process::Output]) {
    for mail in s.w.mails() {
        assert!(!mail.text().contains(CANARY), "the canary left in a mail");
    }
    for out in outputs {
        assert!(
            !stderr(out).contains(CANARY) && !String::from_utf8_lossy(&out.stdout).contains(CANARY),
            "the canary on stdout/stderr"
        );
    }
    s.w.assert_nowhere_on_disk(CANARY);
}

/// `entity` signed by `sender` and encrypted to the list, under `From: from`.
pub fn encrypted_from(s: &Scene, sender: &Person, from: &str, entity: &str) -> Vec<u8> {
    let armored = sender.sign_encrypt(entity.as_bytes(), &s.list_key);
    client::encrypted(&client::headers(from, LIST, "attack"), &armored)
}

/// Delivers `mail`, expects the pipeline to take it calmly (exit 0) and to
/// distribute nothing, and log the refusal with `reason` (the admins'
/// reports say the same, at most once an hour per sender); then clears the outbox.
pub fn refused_for(s: &Scene, mail: &[u8], reason: &str) {
    let out = s.deliver(mail);
    assert!(out.status.success(), "{}", stderr(&out));
    nothing_distributed(s);
    no_canary_anywhere(s, &[&out]);
    assert_last_decision(s, reason);
    s.w.clear_outbox();
}

/// The list log has a decision (rejected, held or discarded) that was not
/// there at the last check, and the newest gives `reason`: an earlier mail's
/// decision never passes for the one just sent.
pub fn assert_last_decision(s: &Scene, reason: &str) {
    let log = s.log();
    let decided = |l: &&str| [" rejected: ", " held: ", " discarded: "].iter().any(|d| l.contains(d));
    let decisions: Vec<&str> = log.lines().filter(decided).collect();
    assert!(
        decisions.len() > s.decisions_checked.get(),
        "no new decision since the last check (expected '{reason}'); the log:\n{log}"
    );
    s.decisions_checked.set(decisions.len());
    let last = decisions.last().unwrap_or(&"");
    assert!(last.contains(reason), "expected '{reason}' in the last decision; the log:\n{log}");
}
