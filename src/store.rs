//! The list's state in sled (this module is the only user of sled): settings,
//! members, the queue (entry records and their encrypted payloads), seen
//! signatures and the notice rate limit. The delivery journal is a file per
//! entry (see `journal`), written once per recipient without reopening sled.
//!
//! sled lets one process in at a time, and MTAs and cron run many listcrypt
//! processes at once, so every command opens the store with retry and
//! back-off up to a deadline (`LISTCRYPT_LOCK_TIMEOUT` seconds, default 30),
//! holds it only for its reads and writes, and closes it before talking to
//! gpg or the network. Writes are flushed before a command reports success.

use crate::entry::{Entry, Stage};
use crate::error::{Error, Result};
use crate::member::Member;
use crate::model::{now, Address, Fingerprint};
use crate::settings::Settings;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// What never changes about a list: its address and its key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListRecord {
    pub address: Address,
    pub fingerprint: Fingerprint,
    pub created: u64,
    /// The key of the list's bounce tags ([`crate::verp`]), hex; lists made
    /// before tags existed get one on first use.
    #[serde(default)]
    pub bounce_key: String,
}

impl ListRecord {
    pub fn bounce_key(&self) -> Vec<u8> {
        crate::model::unhex(&self.bounce_key).unwrap_or_default()
    }
}

/// 32 random bytes, hex.
pub fn new_bounce_key() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source failed");
    crate::model::hex(&bytes)
}

/// The longest window any notice is rate-limited over (a day).
pub const MAX_NOTICE_INTERVAL: u64 = 86_400;

/// What the store holds, by kind.
#[derive(Debug, Clone, Serialize)]
pub struct StoreStats {
    pub queued: usize,
    pub seen_signatures: usize,
    pub notice_records: usize,
}

/// What the admins hear of at most once an hour, in one mail: refused
/// mail from non-members (counts only) and changes members made by mail.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Digest {
    /// When the first of them came.
    pub since: u64,
    /// Refused (or held) stranger mail, by reason.
    pub refused: std::collections::BTreeMap<String, u64>,
    /// Changes made by mail, one line each, the newest [`MAX_DIGEST_CHANGES`].
    #[serde(default)]
    pub changes: Vec<String>,
    /// Changes beyond that, only counted.
    #[serde(default)]
    pub more_changes: u64,
}

/// The most change lines a digest keeps.
pub const MAX_DIGEST_CHANGES: usize = 200;

impl Digest {
    /// Refused stranger mail, all reasons.
    pub fn total(&self) -> u64 {
        self.refused.values().sum()
    }

    fn is_empty(&self) -> bool {
        self.refused.is_empty() && self.changes.is_empty()
    }
}

const DEFAULT_LOCK_TIMEOUT: f64 = 30.0;

/// sled's page cache (1 GiB by default). A command reads each record once
/// at most, so a cache only holds on to what one pass over the members read.
const CACHE_BYTES: u64 = 1 << 20;

pub struct Store {
    db: sled::Db,
    dir: std::path::PathBuf,
}

/// The store is compacted when its files take more than this many times
/// the live data, and more than [`COMPACT_FLOOR`] bytes. A freshly
/// compacted store takes about twice its live data.
const COMPACT_RATIO: u64 = 3;
const COMPACT_FLOOR: u64 = 8 << 20;

impl Store {
    /// Opens (or with `create`, creates) the store in `dir`, waiting for other
    /// processes to let go of it; a temporary error after the deadline.
    pub fn open(dir: &Path) -> Result<Store> {
        let deadline = Instant::now() + lock_timeout();
        let mut pause = Duration::from_millis(5);
        let mut repaired = false;
        loop {
            // A compaction swaps a new folder in while others wait: a store
            // opened across the swap is opened again.
            let before = folder_id(dir);
            match sled::Config::new().path(dir).flush_every_ms(None).cache_capacity(CACHE_BYTES).open() {
                Ok(db) if folder_id(dir) == before => return Ok(Store { db, dir: dir.to_path_buf() }),
                Ok(_) => sleep(Duration::from_millis(5)),
                Err(sled::Error::Corruption { .. }) if !repaired && remove_partial_snapshots(dir) > 0 => {
                    repaired = true;
                }
                Err(e) if is_lock_conflict(&e) && Instant::now() < deadline => {
                    sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Err(e) if is_lock_conflict(&e) => {
                    return Err(Error::temporary(format!(
                        "the store {} stayed busy for {:.0} s",
                        dir.display(),
                        lock_timeout().as_secs_f64()
                    ))
                    .hint("another listcrypt process holds it; the MTA will retry"))
                }
                Err(e) => return Err(store_error(dir, e)),
            }
        }
    }

    /// Gives back the space of removed values. sled 0.34 does not reclaim it
    /// in short-lived processes, so a flood of refused mail would grow the
    /// store for good, and it writes every free segment over again each time
    /// the store is opened (10 ms more for each open of a 10,000-member list
    /// after its import): when its files are [`COMPACT_RATIO`] times the live
    /// data, the live data is copied into a fresh database, which is
    /// swapped in atomically (`renameat2` with `RENAME_EXCHANGE`) while this
    /// process still holds the lock. Returns the sizes before and after.
    pub fn compact_if_bloated(self) -> Result<Option<(u64, u64)>> {
        // What an earlier compaction left (a crash, or a file system without
        // RENAME_EXCHANGE) goes first; no other process touches these folders.
        if let (Some(parent), Some(name)) = (self.dir.parent(), self.dir.file_name()) {
            let prefix = format!("{}.compact-", name.to_string_lossy());
            for left in std::fs::read_dir(parent).into_iter().flatten().flatten() {
                if left.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_dir_all(left.path());
                }
            }
        }
        let before = folder_size(&self.dir);
        let mut live = 0u64;
        for name in self.db.tree_names() {
            for item in self.tree(&String::from_utf8_lossy(&name))?.iter() {
                let (k, v) = item.map_err(corrupt)?;
                live += (k.len() + v.len()) as u64;
            }
        }
        if before <= COMPACT_FLOOR.max(live.saturating_mul(COMPACT_RATIO)) {
            return Ok(None);
        }
        let fresh = self.dir.with_file_name(format!("store.compact-{}", crate::model::random_token(8)));
        let copied = (|| {
            let new = sled::Config::new().path(&fresh).flush_every_ms(None).open()?;
            new.import(self.db.export());
            new.flush()?;
            Ok::<_, sled::Error>(())
        })();
        if let Err(e) = copied {
            let _ = std::fs::remove_dir_all(&fresh);
            return Err(store_error(&fresh, e));
        }
        let cwd = rustix::fs::CWD;
        if let Err(e) = rustix::fs::renameat_with(cwd, &self.dir, cwd, &fresh, rustix::fs::RenameFlags::EXCHANGE) {
            let _ = std::fs::remove_dir_all(&fresh);
            return Err(Error::io(format!("swapping in the compacted store {}", self.dir.display()), e.into()));
        }
        let dir = self.dir.clone();
        drop(self);
        let _ = std::fs::remove_dir_all(&fresh);
        Ok(Some((before, folder_size(&dir))))
    }

    /// Writes everything to disk; call before reporting success.
    pub fn flush(&self) -> Result<()> {
        self.db.flush().map(|_| ()).map_err(|e| store_error(Path::new("store"), e))
    }

    pub fn settings(&self) -> Result<Settings> {
        Ok(self.get(&self.db, b"settings")?.unwrap_or_default())
    }

    pub fn put_settings(&self, settings: &Settings) -> Result<()> {
        // Replay digests are kept for the longest signature age ever set:
        // raising it later must not let pruned signatures back in.
        let window = self.replay_window()?.max(settings.max_signature_age);
        self.put(&self.db, b"replay_window", &window)?;
        self.put(&self.db, b"settings", settings)
    }

    /// The longest `max_signature_age` this list has had.
    fn replay_window(&self) -> Result<u64> {
        Ok(self.get(&self.db, b"replay_window")?.unwrap_or(0))
    }

    /// The list's own record, written once at `list create`.
    pub fn list_record(&self) -> Result<ListRecord> {
        let mut record: ListRecord = self.get(&self.db, b"list")?.ok_or_else(|| {
            Error::config("the store has no list record").hint("the list home is damaged; restore it from a backup")
        })?;
        if record.bounce_key.is_empty() {
            record.bounce_key = new_bounce_key();
            self.put_list_record(&record)?;
            self.flush()?;
        }
        Ok(record)
    }

    pub fn put_list_record(&self, record: &ListRecord) -> Result<()> {
        self.put(&self.db, b"list", record)
    }

    pub fn member(&self, address: &Address) -> Result<Option<Member>> {
        self.get(&self.tree("members")?, address.as_str().as_bytes())
    }

    pub fn members(&self) -> Result<Vec<Member>> {
        self.all(&self.tree("members")?)
    }

    /// Hands each member to `take` in turn, without keeping them all.
    pub fn each_member(&self, mut take: impl FnMut(Member)) -> Result<()> {
        for bytes in self.member_bytes()? {
            take(serde_json::from_slice(&bytes?).map_err(unreadable)?);
        }
        Ok(())
    }

    /// The member records as stored, in address order, one at a time.
    fn member_bytes(&self) -> Result<impl Iterator<Item = Result<sled::IVec>>> {
        Ok(self.tree("members")?.iter().values().map(|bytes| bytes.map_err(corrupt)))
    }

    /// The member who registered key `fpr` (a primary key's fingerprint),
    /// found through the index: one look-up however large the list.
    /// One member at most, but should two ever hold it, the first by address.
    pub fn member_holding(&self, fpr: &Fingerprint) -> Result<Option<Member>> {
        Ok(self.members_holding(fpr)?.into_iter().next())
    }

    /// Every member whose record holds key `fpr`, by address.
    pub fn members_holding(&self, fpr: &Fingerprint) -> Result<Vec<Member>> {
        let index = self.member_index()?;
        let members = self.tree("members")?;
        let mut holders = vec![];
        for entry in index.keys.scan_prefix(key_entry(fpr, b"")) {
            let (entry, _) = entry.map_err(corrupt)?;
            let address = &entry[fpr.as_str().len() + 1..];
            if let Some(member) = self.get::<Member>(&members, address)?.filter(|m| m.key(fpr).is_some()) {
                holders.push(member);
            }
        }
        Ok(holders)
    }

    /// The list's admins, found through the index.
    pub fn admins(&self) -> Result<Vec<Member>> {
        let index = self.member_index()?;
        let members = self.tree("members")?;
        let mut admins = Vec::new();
        for item in index.admins.iter() {
            let (address, _) = item.map_err(corrupt)?;
            if let Some(member) = self.get::<Member>(&members, &address)?.filter(Member::is_admin) {
                admins.push(member);
            }
        }
        Ok(admins)
    }

    /// Writes `member` and its index entries. New entries go in before the
    /// record and old ones leave after it, so that a crash in between leaves
    /// at most a stale entry, which every look-up checks against the record.
    pub fn put_member(&self, member: &Member) -> Result<()> {
        let index = self.member_index()?;
        let members = self.tree("members")?;
        let address = member.address.as_str().as_bytes();
        let old: Option<Member> = self.get(&members, address)?;
        index.add(member)?;
        self.put(&members, address, member)?;
        if let Some(old) = old {
            index.remove_stale(&old, Some(member))?;
        }
        Ok(())
    }

    pub fn remove_member(&self, address: &Address) -> Result<bool> {
        let index = self.member_index()?;
        let members = self.tree("members")?;
        let old: Option<Member> = self.get(&members, address.as_str().as_bytes())?;
        members.remove(address.as_str().as_bytes()).map_err(corrupt)?;
        if let Some(old) = &old {
            index.remove_stale(old, None)?;
        }
        Ok(old.is_some())
    }

    /// The member index, built from the records the first time a list
    /// needs it (lists made before it existed).
    fn member_index(&self) -> Result<MemberIndex> {
        let index = MemberIndex { keys: self.tree("member_keys")?, admins: self.tree("admins")? };
        if self.get::<u64>(&self.db, MEMBER_INDEX)? != Some(MEMBER_INDEX_VERSION) {
            self.rebuild_member_index(&index)?;
        }
        Ok(index)
    }

    /// Makes sure the member index says what the records say, and builds it
    /// again if not (say an older listcrypt wrote members since); `flush`
    /// runs this, at most once every `interval` seconds, as it reads every
    /// member. Returns whether it had to be built again.
    pub fn check_member_index(&self, interval: u64) -> Result<bool> {
        let checked: u64 = self.get(&self.db, MEMBER_INDEX_CHECKED)?.unwrap_or(0);
        if now() < checked.saturating_add(interval) {
            return Ok(false);
        }
        self.put(&self.db, MEMBER_INDEX_CHECKED, &now())?;
        let index = self.member_index()?;
        let mut keys = std::collections::BTreeSet::new();
        let mut admins = std::collections::BTreeSet::new();
        for member in self.readable_members()? {
            let member = member?;
            let address = member.address.as_str().as_bytes();
            keys.extend(member.keys.iter().map(|k| key_entry(&k.fingerprint, address)));
            if member.is_admin() {
                admins.insert(address.to_vec());
            }
        }
        let listed = |tree: &sled::Tree| -> Result<std::collections::BTreeSet<Vec<u8>>> {
            tree.iter().keys().map(|k| k.map(|k| k.to_vec()).map_err(corrupt)).collect()
        };
        if listed(&index.keys)? == keys && listed(&index.admins)? == admins {
            return Ok(false);
        }
        self.rebuild_member_index(&index)?;
        Ok(true)
    }

    /// The index built from the records, flushed. A record that cannot be
    /// read is left out, as every look-up of it fails anyway.
    fn rebuild_member_index(&self, index: &MemberIndex) -> Result<()> {
        // Unmarked while it is rebuilt: an index cut short is built again.
        self.db.remove(MEMBER_INDEX).map_err(corrupt)?;
        self.flush()?;
        index.keys.clear().map_err(corrupt)?;
        index.admins.clear().map_err(corrupt)?;
        for member in self.readable_members()? {
            index.add(&member?)?;
        }
        self.put(&self.db, MEMBER_INDEX, &MEMBER_INDEX_VERSION)?;
        self.flush()
    }

    /// Each member record that can be read, in address order (the store
    /// failing is an error; a record that cannot be read is left out).
    fn readable_members(&self) -> Result<impl Iterator<Item = Result<Member>>> {
        Ok(self.member_bytes()?.filter_map(|bytes| match bytes {
            Ok(bytes) => serde_json::from_slice(&bytes).ok().map(Ok),
            Err(e) => Some(Err(e)),
        }))
    }

    pub fn entry(&self, id: &str) -> Result<Option<Entry>> {
        self.get(&self.tree("queue")?, id.as_bytes())
    }

    pub fn entries(&self) -> Result<Vec<Entry>> {
        self.all(&self.tree("queue")?)
    }

    pub fn put_entry(&self, entry: &Entry) -> Result<()> {
        self.put(&self.tree("queue")?, entry.id.as_bytes(), entry)
    }

    /// The entry's payload: always ciphertext to the list key.
    pub fn payload(&self, id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.tree("payloads")?.get(id.as_bytes()).map_err(corrupt)?.map(|v| v.to_vec()))
    }

    pub fn put_payload(&self, id: &str, ciphertext: &[u8]) -> Result<()> {
        self.tree("payloads")?.insert(id.as_bytes(), ciphertext).map_err(corrupt)?;
        Ok(())
    }

    /// Payloads whose entry is gone (a run killed between the two writes).
    pub fn orphan_payloads(&self) -> Result<Vec<String>> {
        let queue = self.tree("queue")?;
        let mut orphans = vec![];
        for key in self.tree("payloads")?.iter().keys() {
            let key = key.map_err(corrupt)?;
            if !queue.contains_key(&key).map_err(corrupt)? {
                orphans.push(String::from_utf8_lossy(&key).into_owned());
            }
        }
        Ok(orphans)
    }

    /// Removes an entry and its payload (see also `journal::remove`).
    pub fn remove_entry(&self, id: &str) -> Result<()> {
        self.tree("queue")?.remove(id.as_bytes()).map_err(corrupt)?;
        self.tree("payloads")?.remove(id.as_bytes()).map_err(corrupt)?;
        Ok(())
    }

    /// An entry is done (refused, answered or distributed): it goes, and the
    /// queue counts it as progress ([`Store::progress`]).
    pub fn finish_entry(&self, id: &str) -> Result<()> {
        self.remove_entry(id)?;
        self.note_progress()
    }

    /// Takes the lease on `id` if it is in `stage` and ready; None if another
    /// run has it, it moved on, or its back-off has not passed.
    pub fn lease(&self, id: &str, stage: Stage, ignore_backoff: bool) -> Result<Option<Entry>> {
        let at = now();
        let Some(mut entry) = self.entry(id)? else { return Ok(None) };
        let ready = !entry.is_leased(at) && (ignore_backoff || entry.next_attempt <= at);
        if entry.stage != stage || !ready {
            return Ok(None);
        }
        entry.take_lease(at);
        entry.begin_attempt(at, self.progress()?);
        self.put_entry(&entry)?;
        Ok(Some(entry))
    }

    /// How many entries of this list have been decided or distributed: the
    /// queue's progress, which tells a stalling entry from a stalled host.
    pub fn progress(&self) -> Result<u64> {
        Ok(self.get(&self.db, b"progress")?.unwrap_or(0))
    }

    /// One more entry decided or distributed.
    pub fn note_progress(&self) -> Result<()> {
        let next = self.progress()? + 1;
        self.put(&self.db, b"progress", &next)
    }

    /// Records a signature as used; false if it was seen before (a replay).
    pub fn remember_signature(&self, digest: &str) -> Result<bool> {
        let tree = self.tree("seen")?;
        let fresh = tree
            .compare_and_swap(digest.as_bytes(), None as Option<&[u8]>, Some(now().to_be_bytes().to_vec()))
            .map_err(corrupt)?
            .is_ok();
        Ok(fresh)
    }

    /// True (and the time recorded) if a notice keyed `key` (an address) may
    /// go now: at most one per `interval` seconds per key (at most
    /// [`MAX_NOTICE_INTERVAL`], so that [`Store::prune`] may forget older records).
    pub fn notice_allowed(&self, key: &str, interval: u64) -> Result<bool> {
        debug_assert!(interval <= MAX_NOTICE_INTERVAL);
        let tree = self.tree("notices")?;
        let at = now();
        let last = tree
            .get(key.as_bytes())
            .map_err(corrupt)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        if at < last.saturating_add(interval) {
            return Ok(false);
        }
        tree.insert(key.as_bytes(), at.to_be_bytes().to_vec()).map_err(corrupt)?;
        Ok(true)
    }

    /// Forgets what can no longer matter (`flush` calls this): signatures
    /// seen longer ago than `max_signature_age` (the longest ever set) plus the allowance for clocks
    /// ahead (a replay of them is refused as too old anyway), and notice
    /// records older than the longest notice window. Returns how many went.
    pub fn prune(&self, max_signature_age: u64) -> Result<usize> {
        let at = now();
        let mut removed = 0;
        for (tree, keep) in [
            ("seen", max_signature_age.max(self.replay_window()?).saturating_add(crate::policy::FUTURE_SLACK)),
            ("notices", MAX_NOTICE_INTERVAL),
            ("quotas", MAX_NOTICE_INTERVAL),
        ] {
            let tree = self.tree(tree)?;
            for item in tree.iter() {
                let (key, value) = item.map_err(corrupt)?;
                // Each record starts with the time it was made (quotas: the window's start).
                let recorded = value.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0);
                if recorded.saturating_add(keep) < at {
                    tree.remove(key).map_err(corrupt)?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// How many records each bounded tree holds (for `list show`).
    pub fn stats(&self) -> Result<StoreStats> {
        Ok(StoreStats {
            queued: self.tree("queue")?.len(),
            seen_signatures: self.tree("seen")?.len(),
            notice_records: self.tree("notices")?.len(),
        })
    }

    /// Counts one refused mail from a non-member, by reason, for the digest.
    pub fn tally_stranger(&self, reason: &str) -> Result<()> {
        self.update_digest(|d| *d.refused.entry(reason.to_string()).or_default() += 1)
    }

    /// Notes one change made by mail, for the digest.
    pub fn note_change(&self, line: &str) -> Result<()> {
        self.update_digest(|d| {
            d.changes.push(line.to_string());
            if d.changes.len() > MAX_DIGEST_CHANGES {
                d.changes.remove(0);
                d.more_changes += 1;
            }
        })
    }

    fn update_digest(&self, change: impl FnOnce(&mut Digest)) -> Result<()> {
        let tree = self.tree("digest")?;
        let mut digest: Digest = self.get(&tree, b"digest")?.unwrap_or_default();
        if digest.is_empty() {
            digest.since = now();
        }
        change(&mut digest);
        self.put(&tree, b"digest", &digest)
    }

    /// The digest, if it holds anything and none went out in the last
    /// `interval` seconds; a new one starts.
    pub fn take_digest(&self, interval: u64) -> Result<Option<Digest>> {
        let tree = self.tree("digest")?;
        let Some(digest) = self.get::<Digest>(&tree, b"digest")? else { return Ok(None) };
        if digest.is_empty() || !self.notice_allowed("digest:admins", interval)? {
            return Ok(None);
        }
        tree.remove(b"digest").map_err(corrupt)?;
        Ok(Some(digest))
    }

    /// True (and counted) if `key` has done something fewer than `most`
    /// times in the last `window` seconds (at most a day): key changes by mail.
    pub fn quota_allows(&self, key: &str, most: u64, window: u64) -> Result<bool> {
        let (start, count) = self.quota_window(key, window)?;
        if count >= most {
            return Ok(false);
        }
        let value: Vec<u8> = start.to_be_bytes().into_iter().chain((count + 1).to_be_bytes()).collect();
        self.tree("quotas")?.insert(key.as_bytes(), value).map_err(corrupt)?;
        Ok(true)
    }

    /// Gives back one use of `key`'s quota (what it was taken for did not happen).
    pub fn quota_release(&self, key: &str) -> Result<()> {
        let tree = self.tree("quotas")?;
        if let Some(v) = tree.get(key.as_bytes()).map_err(corrupt)?.filter(|v| v.len() == 16) {
            let count = u64::from_be_bytes(v[8..].try_into().unwrap_or_default()).saturating_sub(1);
            let value: Vec<u8> = v[..8].iter().copied().chain(count.to_be_bytes()).collect();
            tree.insert(key.as_bytes(), value).map_err(corrupt)?;
        }
        Ok(())
    }

    /// How much of `key`'s quota the current window has used, without using any.
    pub fn quota_used(&self, key: &str, window: u64) -> Result<u64> {
        Ok(self.quota_window(key, window)?.1)
    }

    /// The current window of `key`'s quota: its start and its count.
    fn quota_window(&self, key: &str, window: u64) -> Result<(u64, u64)> {
        debug_assert!(window <= MAX_NOTICE_INTERVAL);
        let tree = self.tree("quotas")?;
        let at = now();
        let (mut start, mut count) = tree
            .get(key.as_bytes())
            .map_err(corrupt)?
            .filter(|v| v.len() == 16)
            .map(|v| {
                (
                    u64::from_be_bytes(v[..8].try_into().unwrap_or_default()),
                    u64::from_be_bytes(v[8..].try_into().unwrap_or_default()),
                )
            })
            .unwrap_or((at, 0));
        if start.saturating_add(window) <= at {
            (start, count) = (at, 0);
        }
        Ok((start, count))
    }

    fn tree(&self, name: &str) -> Result<sled::Tree> {
        self.db.open_tree(name).map_err(corrupt)
    }

    fn get<T: DeserializeOwned>(&self, tree: &sled::Tree, key: &[u8]) -> Result<Option<T>> {
        match tree.get(key).map_err(corrupt)? {
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(unreadable),
            None => Ok(None),
        }
    }

    fn all<T: DeserializeOwned>(&self, tree: &sled::Tree) -> Result<Vec<T>> {
        tree.iter()
            .map(|item| {
                let (_, bytes) = item.map_err(corrupt)?;
                serde_json::from_slice(&bytes).map_err(unreadable)
            })
            .collect()
    }

    fn put<T: Serialize>(&self, tree: &sled::Tree, key: &[u8], value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::software(e.to_string()))?;
        tree.insert(key, bytes).map_err(corrupt)?;
        Ok(())
    }
}

/// Where the member index's version is kept, and the version: a store
/// without it (or with another) has its index built again from the records.
const MEMBER_INDEX: &[u8] = b"member_index";
const MEMBER_INDEX_VERSION: u64 = 2;
/// When `flush` last compared the index with the records.
const MEMBER_INDEX_CHECKED: &[u8] = b"member_index_checked";

/// What `members` holds, by key: which member registered a key
/// (`FINGERPRINT NUL ADDRESS` → nothing, found by the fingerprint as a
/// prefix), and who the admins are (address → nothing). A key belongs to
/// one member at most (`keys add` refuses another's), but should two ever
/// hold it, neither entry hides the other.
struct MemberIndex {
    keys: sled::Tree,
    admins: sled::Tree,
}

impl MemberIndex {
    fn add(&self, member: &Member) -> Result<()> {
        let address = member.address.as_str().as_bytes();
        for key in &member.keys {
            self.keys.insert(key_entry(&key.fingerprint, address), &[][..]).map_err(corrupt)?;
        }
        if member.is_admin() {
            self.admins.insert(address, &[][..]).map_err(corrupt)?;
        }
        Ok(())
    }

    /// Takes out what `old` had and `new` (the same member's record now, if
    /// any) no longer has.
    fn remove_stale(&self, old: &Member, new: Option<&Member>) -> Result<()> {
        let address = old.address.as_str().as_bytes();
        for key in old.keys.iter().filter(|k| new.is_none_or(|n| n.key(&k.fingerprint).is_none())) {
            self.keys.remove(key_entry(&key.fingerprint, address)).map_err(corrupt)?;
        }
        if old.is_admin() && !new.is_some_and(Member::is_admin) {
            self.admins.remove(address).map_err(corrupt)?;
        }
        Ok(())
    }
}

/// A key's entry in the member index: its fingerprint, NUL, the address.
fn key_entry(fpr: &Fingerprint, address: &[u8]) -> Vec<u8> {
    [fpr.as_str().as_bytes(), b"\0", address].concat()
}

/// Which folder `dir` is now (device and inode).
fn folder_id(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).ok().map(|m| (m.dev(), m.ino()))
}

/// Bytes in the files of a folder (and its folders).
pub fn folder_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => folder_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

/// sled 0.34 writes a snapshot to `snap.N.generating` and renames it when
/// complete; a run stopped half-way (disk full, killed) leaves the partial
/// file, which the next open reads as the newest snapshot and reports as
/// corruption. The file is never valid, so it goes. Returns how many went.
fn remove_partial_snapshots(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("snap.") && name.ends_with(".generating")
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

fn lock_timeout() -> Duration {
    let secs = std::env::var("LISTCRYPT_LOCK_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(DEFAULT_LOCK_TIMEOUT);
    Duration::from_secs_f64(secs)
}

/// sled reports a held lock as an `Io(Other)` error whose text says so.
fn is_lock_conflict(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

fn store_error(dir: &Path, e: sled::Error) -> Error {
    match e {
        sled::Error::Io(io) => Error::io(format!("store {}", dir.display()), io),
        other => Error::config(format!("the store {} is damaged: {other}", dir.display()))
            .hint("restore the list home from a backup"),
    }
}

fn unreadable(e: serde_json::Error) -> Error {
    Error::config(format!("a record in the store cannot be read: {e}"))
}

fn corrupt(e: sled::Error) -> Error {
    store_error(Path::new("of the list"), e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::{MemberKey, Role};

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn member(address: &str, role: Role, keys: &[char]) -> Member {
        let mut member = Member::new(Address::parse(address).unwrap(), role);
        member.keys = keys.iter().map(|c| MemberKey::vouched(fpr(*c))).collect();
        member
    }

    fn holder(store: &Store, c: char) -> Option<String> {
        store.member_holding(&fpr(c)).unwrap().map(|m| m.address.to_string())
    }

    fn admins(store: &Store) -> Vec<String> {
        store.admins().unwrap().into_iter().map(|m| m.address.to_string()).collect()
    }

    #[test]
    fn the_member_index_follows_every_change_of_keys_and_roles() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.put_member(&member("ann@example.org", Role::Admin, &['A', 'B'])).unwrap();
        store.put_member(&member("bob@example.org", Role::Member, &['C'])).unwrap();
        assert_eq!(holder(&store, 'A').as_deref(), Some("ann@example.org"));
        assert_eq!(holder(&store, 'C').as_deref(), Some("bob@example.org"));
        assert_eq!(admins(&store), ["ann@example.org"]);

        // Ann drops key B for D and stops being an admin; Bob becomes one.
        store.put_member(&member("ann@example.org", Role::Member, &['A', 'D'])).unwrap();
        store.put_member(&member("bob@example.org", Role::Admin, &['C'])).unwrap();
        assert_eq!(holder(&store, 'B'), None);
        assert_eq!(holder(&store, 'D').as_deref(), Some("ann@example.org"));
        assert_eq!(admins(&store), ["bob@example.org"]);

        // Should two members ever hold one key, the first by address is
        // found, and either one's change leaves the other's entry.
        store.put_member(&member("cy@example.org", Role::Member, &['A'])).unwrap();
        assert_eq!(holder(&store, 'A').as_deref(), Some("ann@example.org"));
        store.put_member(&member("ann@example.org", Role::Member, &[])).unwrap();
        assert_eq!(holder(&store, 'A').as_deref(), Some("cy@example.org"));

        assert!(store.remove_member(&Address::parse("bob@example.org").unwrap()).unwrap());
        assert_eq!(holder(&store, 'C'), None);
        assert!(admins(&store).is_empty());
        // Nothing stale is left behind: the index holds exactly what the records say.
        assert_eq!(index_entries(&store), [(fpr('A').to_string() + "\0cy@example.org")]);
        assert!(!store.check_member_index(0).unwrap());
    }

    fn index_entries(store: &Store) -> Vec<String> {
        let index = store.member_index().unwrap();
        let keys = index.keys.iter().keys().map(|k| String::from_utf8(k.unwrap().to_vec()).unwrap());
        let admins = index.admins.iter().keys().map(|k| format!("admin {}", String::from_utf8_lossy(&k.unwrap())));
        keys.chain(admins).collect()
    }

    #[test]
    fn a_store_from_before_the_index_has_it_built_and_a_stale_entry_finds_nobody() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // What an older listcrypt left: the records alone.
        for m in [member("ann@example.org", Role::Admin, &['A']), member("bob@example.org", Role::Member, &['B'])] {
            store.put(&store.tree("members").unwrap(), m.address.as_str().as_bytes(), &m).unwrap();
        }
        assert_eq!(holder(&store, 'B').as_deref(), Some("bob@example.org"));
        assert_eq!(admins(&store), ["ann@example.org"]);

        // An entry the record no longer backs (a crash between the two writes).
        let index = store.member_index().unwrap();
        index.keys.insert(key_entry(&fpr('E'), b"bob@example.org"), &[][..]).unwrap();
        index.admins.insert(&b"bob@example.org"[..], &[][..]).unwrap();
        assert_eq!(holder(&store, 'E'), None);
        assert_eq!(admins(&store), ["ann@example.org"]);

        // A member an older listcrypt wrote after the index was built: the
        // check `flush` runs finds the index behind and builds it again.
        let cy = member("cy@example.org", Role::Admin, &['C']);
        store.put(&store.tree("members").unwrap(), cy.address.as_str().as_bytes(), &cy).unwrap();
        assert_eq!(holder(&store, 'C'), None);
        assert!(store.check_member_index(0).unwrap());
        assert_eq!(holder(&store, 'C').as_deref(), Some("cy@example.org"));
        assert_eq!(admins(&store), ["ann@example.org", "cy@example.org"]);
        assert!(!store.check_member_index(0).unwrap(), "nothing stale is left");
    }
}
