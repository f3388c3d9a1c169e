//! Distribution to many members: in split mode one encryption is split into
//! one copy per recipient; each copy opens with that recipient's key alone
//! and carries only their own session key packet, under their own key ID
//! (or the wildcard, when the list hides recipients).

mod common;
use common::*;

const TEXT: &str = "a post for many readers";

fn many_members(s: &Scene, n: usize) -> Vec<Person> {
    let list_key = s.w.ok(&["list", "export-key", LIST]);
    (0..n).map(|i| s.w.quick_member(&format!("reader{i:02}@example.org"), &list_key)).collect()
}

fn check_copies(s: &Scene, readers: &[&Person], hidden: bool) {
    let all_ids: Vec<String> = readers.iter().map(|p| p.fingerprint()[24..].to_string()).collect();
    for (i, reader) in readers.iter().enumerate() {
        let copies = s.posts_to(reader);
        assert_eq!(copies.len(), 1, "{} gets exactly one copy", reader.address);
        let armored = copies[0].armored();
        let opened =
            reader.open_post(&copies[0]).unwrap_or_else(|| panic!("{} cannot open their copy", reader.address));
        assert!(opened.text.contains(TEXT));
        assert_eq!(opened.signer.as_deref(), Some(s.list_key.as_str()), "signed by the list");
        let ids = reader.session_key_ids(&armored);
        assert_eq!(ids.len(), 1, "one session key packet in {}'s copy: {ids:?}", reader.address);
        if hidden {
            assert_eq!(ids[0], "0000000000000000", "the wildcard key ID");
        } else {
            assert_eq!(ids, reader.encryption_subkey_ids(), "{}'s own encryption subkey ID", reader.address);
        }
        for (j, other) in all_ids.iter().enumerate() {
            if j != i {
                assert!(!armored.contains(other.as_str()) && !ids.contains(other), "another member's key ID");
            }
        }
        let neighbour = readers[(i + 1) % readers.len()];
        assert!(neighbour.open_post(&copies[0]).is_none(), "{} can read {}'s copy", neighbour.address, reader.address);
    }
}

#[test]
fn split_copies_carry_only_their_own_session_key_under_its_real_key_id() {
    let s = Scene::new();
    let extra = many_members(&s, 40);
    let out = s.deliver(&client::post(&s.alice, &s.list_key, "to many", TEXT));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut readers: Vec<&Person> = vec![&s.bob, &s.carol];
    readers.extend(extra.iter());
    check_copies(&s, &readers, false);
}

#[test]
fn a_list_encrypted_in_many_batches_gives_everyone_one_copy_that_opens() {
    let s = Scene::new();
    let extra = many_members(&s, 12);
    let post = client::post(&s.alice, &s.list_key, "in batches", TEXT);
    let injected = s.w.run_with_stdin(&["inject", LIST], &post);
    assert!(injected.status.success(), "{}", stderr(&injected));
    let id = String::from_utf8_lossy(&injected.stdout).trim().to_string();
    assert_eq!(s.w.ok(&["verify", LIST, &id]).trim(), id, "approved");
    // Three recipients a gpg run (500 in use): 14 recipients make five batches, on two or more workers.
    let out = s.w.cmd(&["distribute", LIST, &id]).env("LISTCRYPT_MAX_BATCH", "3").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("14 copies sent"), "{}", stderr(&out));
    let mut readers: Vec<&Person> = vec![&s.bob, &s.carol];
    readers.extend(extra.iter());
    check_copies(&s, &readers, false);
    // Split, not one encryption per recipient: a batch's copies share their encrypted data.
    let data: std::collections::HashSet<Vec<u8>> = readers
        .iter()
        .map(|reader| {
            let binary = s.bob.gpg_pipe(&["--dearmor"], s.posts_to(reader)[0].armored().as_bytes());
            binary[binary.len() - 64..].to_vec()
        })
        .collect();
    assert_eq!(data.len(), 5, "one encrypted data packet per batch of three");
}

#[test]
fn hidden_recipients_hides_every_key_id_in_both_modes() {
    let s = Scene::new();
    let extra = many_members(&s, 2);
    s.w.ok(&["list", "set", LIST, "hidden_recipients", "true"]);
    let mut readers: Vec<&Person> = vec![&s.bob, &s.carol];
    readers.extend(extra.iter());
    for mode in ["split", "per-recipient"] {
        s.w.ok(&["list", "set", LIST, "encryption", mode]);
        s.w.clear_outbox();
        assert!(s.deliver(&client::post(&s.alice, &s.list_key, mode, TEXT)).status.success());
        check_copies(&s, &readers, true);
    }
}

#[test]
fn per_recipient_mode_encrypts_each_copy_on_its_own() {
    let s = Scene::new();
    let extra = many_members(&s, 3);
    s.w.ok(&["list", "set", LIST, "encryption", "per-recipient"]);
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "to some", TEXT)).status.success());
    let mut readers: Vec<&Person> = vec![&s.bob, &s.carol];
    readers.extend(extra.iter());
    check_copies(&s, &readers, false);
}
