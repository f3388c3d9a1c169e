//! Nothing in the store grows without bound: replay digests and notice
//! records are forgotten once they cannot matter, stranger mail is a count.
//! The real store (sled) in a throwaway folder, fed what 10,000 posts and
//! 10,000 forged stranger mails leave behind, round after round, and pruned
//! and compacted after each as `flush` does.

use listcrypt::store::Store;

const DAY: u64 = 86_400;
/// The most the store may take after any number of rounds (stated in docs/SECURITY.md).
const BOUND: u64 = 16 * 1024 * 1024;

fn size_of(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| if e.file_type().unwrap().is_dir() { size_of(&e.path()) } else { e.metadata().unwrap().len() })
        .sum()
}

#[test]
fn a_store_fed_ten_thousand_posts_and_strangers_a_round_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut at: u64 = 2_000_000_000;
    let mut sizes = vec![];
    for round in 0..5 {
        // One process: the clock is this test's alone.
        std::env::set_var("LISTCRYPT_NOW", at.to_string());
        let store = Store::open(dir.path()).unwrap();
        for n in 0..10_000 {
            assert!(store.remember_signature(&format!("{round}-post-{n:064}")).unwrap());
            store.tally_stranger("the sender is not a member").unwrap();
            // What members' failed posts leave: a notice and a report record each.
            store.notice_allowed(&format!("member{n}@example.org"), 3600).unwrap();
        }
        assert_eq!(store.take_digest(3600).unwrap().unwrap().total(), 10_000);
        store.flush().unwrap();
        let stats = store.stats().unwrap();
        assert_eq!((stats.seen_signatures, stats.notice_records), (10_000, 10_001));
        // Eight days on (max_signature_age 7 days, plus 15 minutes), flush prunes.
        at += 8 * DAY;
        std::env::set_var("LISTCRYPT_NOW", at.to_string());
        assert_eq!(store.prune(7 * DAY).unwrap(), 20_001);
        store.flush().unwrap();
        let stats = store.stats().unwrap();
        assert_eq!((stats.seen_signatures, stats.notice_records), (0, 0));
        // Then, as `flush` does, the space of what was removed is given back
        // (sled itself gives it back only when its background work gets to it).
        store.compact_if_bloated().unwrap();
        sizes.push(size_of(dir.path()));
    }
    eprintln!("store size after each round of 10,000 posts and 10,000 strangers: {sizes:?} bytes");
    assert!(sizes.iter().all(|s| *s < BOUND), "{sizes:?}");
}
