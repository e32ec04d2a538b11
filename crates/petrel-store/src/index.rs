//! IndexFile: a hash index from message keys to CommitLog offsets, bounded by time
//! (`index/{yyyyMMddHHmmssSSS}`, RocketMQ layout, `remoting-protocol.md` §12.3).
//!
//! ```text
//! header (40 bytes): beginTimestamp i64, endTimestamp i64, beginPhyOffset i64, endPhyOffset i64,
//!                    hashSlotCount i32, indexCount i32 (starts at 1; entry 0 is unused)
//! slots  (hashSlotNum × 4): newest entry index for the slot, 0 = empty
//! entries (indexNum × 20): keyHash i32, phyOffset i64, timeDiff i32 (seconds after
//!                    beginTimestamp), prevIndex i32 (collision chain)
//! ```
//!
//! Keys are `topic#key` for each space-separated `KEYS` entry and `topic#UNIQ_KEY`.
//!
//! Concurrency: the dispatcher is the only writer. Slots and header fields are read and written
//! through atomics (they change while queries run); an entry is written before the slot that
//! points at it is stored with release ordering, and never changes afterwards, so a query that
//! loads the slot with acquire ordering sees a complete entry. Chains read from disk are not
//! trusted: a link must point strictly backwards and inside the file, so a damaged file can
//! end a query early but never loop or read out of bounds. Query results are verified against
//! the records themselves by the caller (hash collisions, and entries left by a truncated log).

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::Arc;

use memmap2::{MmapOptions, MmapRaw};
use parking_lot::RwLock;
use petrel_protocol::message::java_string_hash;

use crate::error::{Result, StoreError};
use crate::io::FaultInjector;

/// The header's i64 fields (RocketMQ's `IndexHeader`), each at its byte offset; big-endian.
#[derive(Debug, Clone, Copy)]
enum HeaderI64 {
    /// `beginTimestamp`: store time of the first indexed record, epoch ms (0 = none yet).
    BeginTimestamp = 0,
    /// `endTimestamp`: store time of the last indexed record, epoch ms.
    EndTimestamp = 8,
    /// `beginPhyOffset`: CommitLog offset of the first indexed record.
    BeginPhyOffset = 16,
    /// `endPhyOffset`: CommitLog offset of the last indexed record.
    EndPhyOffset = 24,
}

/// The header's i32 fields, each at its byte offset; big-endian.
#[derive(Debug, Clone, Copy)]
enum HeaderI32 {
    /// `hashSlotCount`: slots in use.
    HashSlotCount = 32,
    /// `indexCount`: next entry to write; starts at 1 (entry 0 is unused, 0 means "empty").
    IndexCount = 36,
}

/// `IndexHeader.INDEX_HEADER_SIZE`.
const HEADER_SIZE_BYTES: usize = 40;
// Every header field ends inside the header (checked on the last field of each width), which
// `header_i64`/`header_i32` rely on.
const _: () = assert!(
    HeaderI64::EndPhyOffset as usize + 8 <= HEADER_SIZE_BYTES
        && HeaderI32::IndexCount as usize + 4 <= HEADER_SIZE_BYTES
);

/// One hash slot: the newest entry index for the slot (i32).
const SLOT_SIZE_BYTES: usize = 4;

// An entry: byte offsets of its big-endian fields.
/// keyHash (i32).
const ENTRY_KEY_HASH_AT: usize = 0;
/// phyOffset (i64): CommitLog offset of the record.
const ENTRY_PHY_OFFSET_AT: usize = 4;
/// timeDiff (i32): seconds after `beginTimestamp`.
const ENTRY_TIME_DIFF_AT: usize = 12;
/// prevIndex (i32): the previous entry in the slot's chain, 0 = end.
const ENTRY_PREV_INDEX_AT: usize = 16;
const ENTRY_SIZE_BYTES: usize = 20;

/// One decoded entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    key_hash: i32,
    phy_offset: i64,
    time_diff_s: i32,
    prev_index: i32,
}

impl Entry {
    fn encode(&self) -> [u8; ENTRY_SIZE_BYTES] {
        let mut out = [0u8; ENTRY_SIZE_BYTES];
        out[ENTRY_KEY_HASH_AT..ENTRY_PHY_OFFSET_AT].copy_from_slice(&self.key_hash.to_be_bytes());
        out[ENTRY_PHY_OFFSET_AT..ENTRY_TIME_DIFF_AT]
            .copy_from_slice(&self.phy_offset.to_be_bytes());
        out[ENTRY_TIME_DIFF_AT..ENTRY_PREV_INDEX_AT]
            .copy_from_slice(&self.time_diff_s.to_be_bytes());
        out[ENTRY_PREV_INDEX_AT..ENTRY_SIZE_BYTES].copy_from_slice(&self.prev_index.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8; ENTRY_SIZE_BYTES]) -> Self {
        let i32_at = |at: usize| {
            i32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let mut phy = [0u8; 8];
        phy.copy_from_slice(&bytes[ENTRY_PHY_OFFSET_AT..ENTRY_TIME_DIFF_AT]);
        Self {
            key_hash: i32_at(ENTRY_KEY_HASH_AT),
            phy_offset: i64::from_be_bytes(phy),
            time_diff_s: i32_at(ENTRY_TIME_DIFF_AT),
            prev_index: i32_at(ENTRY_PREV_INDEX_AT),
        }
    }
}

pub struct IndexFile {
    path: PathBuf,
    map: MmapRaw,
    hash_slot_num: u32,
    index_num: u32,
}

/// RocketMQ's key hash: `abs(String.hashCode())`, with `Integer.MIN_VALUE` mapped to 0.
pub fn index_key_hash(key: &str) -> i32 {
    let h = java_string_hash(key);
    if h == i32::MIN {
        0
    } else {
        h.abs()
    }
}

/// `topic#key`, the form keys are indexed under.
pub fn build_key(topic: &str, key: &str) -> String {
    let mut out = String::with_capacity(topic.len() + 1 + key.len());
    out.push_str(topic);
    out.push('#');
    out.push_str(key);
    out
}

impl IndexFile {
    pub fn file_size(hash_slot_num: u32, index_num: u32) -> u64 {
        HEADER_SIZE_BYTES as u64
            + u64::from(hash_slot_num) * SLOT_SIZE_BYTES as u64
            + u64::from(index_num) * ENTRY_SIZE_BYTES as u64
    }

    pub fn create(
        path: &Path,
        hash_slot_num: u32,
        index_num: u32,
        faults: &dyn FaultInjector,
    ) -> io::Result<Self> {
        faults.before_create(path)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        // Reserve every block before mapping, as for CommitLog and ConsumeQueue segments: a
        // sparse IndexFile on a full disk killed the broker with SIGBUS in `put_key` (issue 16).
        if let Err(e) =
            crate::mapped_file::allocate(&file, Self::file_size(hash_slot_num, index_num))
        {
            drop(file);
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
        let map = MmapOptions::new().map_raw(&file)?;
        let index = Self {
            path: path.to_path_buf(),
            map,
            hash_slot_num,
            index_num,
        };
        index
            .header_i32(HeaderI32::IndexCount)
            .store(1i32.to_be(), Ordering::Release);
        Ok(index)
    }

    /// Opens an IndexFile; its size must match the configured geometry.
    pub fn open(path: &Path, hash_slot_num: u32, index_num: u32) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let expected = Self::file_size(hash_slot_num, index_num);
        let len = file.metadata()?.len();
        if len != expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is {len} bytes; maxHashSlotNum/maxIndexNum give {expected}",
                    path.display()
                ),
            ));
        }
        // A file an older version created sparse gets its blocks now (no-op when it has them).
        crate::mapped_file::allocate(&file, expected)?;
        let map = MmapOptions::new().map_raw(&file)?;
        let index = Self {
            path: path.to_path_buf(),
            map,
            hash_slot_num,
            index_num,
        };
        let count = index.index_count();
        if count < 1 || count as u32 > index_num {
            index
                .header_i32(HeaderI32::IndexCount)
                .store(count.clamp(1, index_num as i32).to_be(), Ordering::Release);
        }
        Ok(index)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An i64 header field.
    fn header_i64(&self, field: HeaderI64) -> &AtomicI64 {
        let at = field as usize;
        // SAFETY: in bounds (every `HeaderI64` ends inside the header, checked at compile time;
        // the map is at least the header), 8-byte aligned (page-aligned map, offsets multiples
        // of 8), lives as long as `self`.
        unsafe { &*(self.map.as_mut_ptr().add(at) as *const AtomicI64) }
    }

    /// An i32 header field.
    fn header_i32(&self, field: HeaderI32) -> &AtomicI32 {
        let at = field as usize;
        // SAFETY: as above (every `HeaderI32` ends inside the header), 4-byte aligned.
        unsafe { &*(self.map.as_mut_ptr().add(at) as *const AtomicI32) }
    }

    /// Hash slot `slot`. Panics if `slot >= hash_slot_num` (checked in release builds too: the
    /// returned reference must stay inside the map).
    fn slot(&self, slot: u32) -> &AtomicI32 {
        assert!(
            slot < self.hash_slot_num,
            "hash slot {slot} out of bounds ({} slots)",
            self.hash_slot_num
        );
        let at = HEADER_SIZE_BYTES + slot as usize * SLOT_SIZE_BYTES;
        // SAFETY: in bounds (slot < hash_slot_num, asserted; the map is `file_size` bytes, as
        // `create`/`open` ensure), 4-byte aligned (page-aligned map, 40-byte header, 4-byte slots).
        unsafe { &*(self.map.as_mut_ptr().add(at) as *const AtomicI32) }
    }

    /// Start of entry `index`, with `ENTRY_SIZE_BYTES` bytes behind it. Panics if
    /// `index >= index_num` (checked in release builds too: callers copy through the pointer).
    fn entry_ptr(&self, index: u32) -> *mut u8 {
        assert!(
            index < self.index_num,
            "index entry {index} out of bounds ({} entries)",
            self.index_num
        );
        let at = HEADER_SIZE_BYTES
            + self.hash_slot_num as usize * SLOT_SIZE_BYTES
            + index as usize * ENTRY_SIZE_BYTES;
        // SAFETY: in bounds (index < index_num, asserted, so `at + ENTRY_SIZE_BYTES <= file_size`).
        unsafe { self.map.as_mut_ptr().add(at) }
    }

    // Header values are stored big-endian, as RocketMQ writes them.
    fn get_i64(&self, field: HeaderI64) -> i64 {
        i64::from_be(self.header_i64(field).load(Ordering::Acquire))
    }
    fn set_i64(&self, field: HeaderI64, v: i64) {
        self.header_i64(field).store(v.to_be(), Ordering::Release)
    }

    pub fn begin_timestamp(&self) -> i64 {
        self.get_i64(HeaderI64::BeginTimestamp)
    }
    pub fn end_timestamp(&self) -> i64 {
        self.get_i64(HeaderI64::EndTimestamp)
    }
    pub fn end_phy_offset(&self) -> i64 {
        self.get_i64(HeaderI64::EndPhyOffset)
    }
    pub fn index_count(&self) -> i32 {
        i32::from_be(
            self.header_i32(HeaderI32::IndexCount)
                .load(Ordering::Acquire),
        )
    }
    pub fn is_full(&self) -> bool {
        self.index_count() as u32 >= self.index_num
    }

    /// Adds `key` → `phy_offset`. Returns false when the file is full. Dispatcher only.
    pub fn put_key(&self, key: &str, phy_offset: i64, store_timestamp: i64) -> bool {
        let count = self.index_count();
        if count < 1 || count as u32 >= self.index_num {
            return false;
        }
        let hash = index_key_hash(key);
        let slot = self.slot(hash as u32 % self.hash_slot_num);
        let prev = i32::from_be(slot.load(Ordering::Acquire));
        let prev = if prev <= 0 || prev >= count { 0 } else { prev };
        let mut begin = self.begin_timestamp();
        if begin <= 0 {
            begin = store_timestamp;
            self.set_i64(HeaderI64::BeginTimestamp, store_timestamp);
            self.set_i64(HeaderI64::BeginPhyOffset, phy_offset);
        }
        let time_diff_s = ((store_timestamp - begin).max(0) / 1000).min(i64::from(i32::MAX)) as i32;
        let entry = Entry {
            key_hash: hash,
            phy_offset,
            time_diff_s,
            prev_index: prev,
        }
        .encode();
        // SAFETY: `entry_ptr` points at ENTRY_SIZE_BYTES in-bounds bytes; entry `count` is beyond
        // every published entry, and only the dispatcher writes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                entry.as_ptr(),
                self.entry_ptr(count as u32),
                ENTRY_SIZE_BYTES,
            )
        };
        slot.store(count.to_be(), Ordering::Release);
        if prev == 0 {
            let used_slots = self.header_i32(HeaderI32::HashSlotCount);
            let used = i32::from_be(used_slots.load(Ordering::Acquire));
            used_slots.store((used + 1).to_be(), Ordering::Release);
        }
        self.set_i64(HeaderI64::EndTimestamp, store_timestamp);
        self.set_i64(HeaderI64::EndPhyOffset, phy_offset);
        self.header_i32(HeaderI32::IndexCount)
            .store((count + 1).to_be(), Ordering::Release);
        true
    }

    /// CommitLog offsets of entries for `key` stored in `[begin_ms, end_ms]`, newest first.
    pub fn select(&self, key: &str, max: usize, begin_ms: i64, end_ms: i64, out: &mut Vec<i64>) {
        let hash = index_key_hash(key);
        let count = self.index_count();
        let begin_ts = self.begin_timestamp();
        let mut index = i32::from_be(
            self.slot(hash as u32 % self.hash_slot_num)
                .load(Ordering::Acquire),
        );
        while index > 0 && index < count && (index as u32) < self.index_num && out.len() < max {
            let mut bytes = [0u8; ENTRY_SIZE_BYTES];
            // SAFETY: `entry_ptr` points at ENTRY_SIZE_BYTES in-bounds bytes; index < count, so
            // the entry was completely written before the slot or a later entry linked to it
            // (acquire/release through the slot and count).
            unsafe {
                std::ptr::copy_nonoverlapping(
                    self.entry_ptr(index as u32),
                    bytes.as_mut_ptr(),
                    ENTRY_SIZE_BYTES,
                )
            };
            let entry = Entry::decode(&bytes);
            let prev = entry.prev_index;
            let ts = begin_ts + i64::from(entry.time_diff_s) * 1000;
            if entry.key_hash == hash && ts >= begin_ms && ts <= end_ms {
                out.push(entry.phy_offset);
            }
            // Chains only point backwards; anything else is damage.
            if prev >= index {
                break;
            }
            index = prev;
        }
    }

    pub fn flush(&self, faults: &dyn FaultInjector) -> io::Result<()> {
        faults.before_flush(&self.path)?;
        self.map.flush()
    }

    /// Does this file cover any part of `[begin_ms, end_ms]`? (The time diff is in whole
    /// seconds, so the file's own end is widened by one second.)
    pub fn overlaps(&self, begin_ms: i64, end_ms: i64) -> bool {
        self.begin_timestamp() <= end_ms && self.end_timestamp() + 1000 >= begin_ms
    }
}

/// Formats epoch milliseconds as `yyyyMMddHHmmssSSS` (UTC).
pub fn index_file_name(ms: i64) -> String {
    let ms = ms.max(0);
    let (secs, milli) = (ms / 1000, ms % 1000);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}{mo:02}{d:02}{h:02}{m:02}{s:02}{milli:03}")
}

/// The IndexFiles of a store, oldest first; the last one takes new keys.
pub struct IndexService {
    dir: PathBuf,
    hash_slot_num: u32,
    index_num: u32,
    files: RwLock<Vec<Arc<IndexFile>>>,
}

impl IndexService {
    pub fn load(dir: &Path, hash_slot_num: u32, index_num: u32) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir)
            .map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?
        {
            let entry =
                entry.map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?;
            let name = entry.file_name();
            if name
                .to_str()
                .is_some_and(|n| n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()))
            {
                paths.push(entry.path());
            }
        }
        paths.sort();
        let mut files = Vec::new();
        for path in paths {
            match IndexFile::open(&path, hash_slot_num, index_num) {
                Ok(file) => files.push(Arc::new(file)),
                Err(e) => {
                    // The index is derived data: a file we cannot use is set aside, not fatal.
                    tracing::warn!(path = %path.display(), error = %e, "setting aside an unusable IndexFile");
                    let _ = std::fs::rename(&path, path.with_extension("unusable"));
                }
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            hash_slot_num,
            index_num,
            files: RwLock::new(files),
        })
    }

    /// Indexes `keys` of the record at `phy_offset`. Dispatcher only.
    pub fn put(
        &self,
        topic: &str,
        keys: &[&str],
        phy_offset: i64,
        store_timestamp: i64,
        faults: &dyn FaultInjector,
    ) -> io::Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        if let Some(last) = self.files.read().last() {
            if last.index_count() > 1 && phy_offset <= last.end_phy_offset() {
                return Ok(()); // already indexed (re-dispatch after recovery)
            }
        }
        for key in keys {
            let full = build_key(topic, key);
            let mut file = self.writable_file(store_timestamp, faults)?;
            if !file.put_key(&full, phy_offset, store_timestamp) {
                file = self.roll(store_timestamp, faults)?;
                if !file.put_key(&full, phy_offset, store_timestamp) {
                    return Err(io::Error::other("a fresh IndexFile refused a key"));
                }
            }
        }
        Ok(())
    }

    /// After the CommitLog was cut at `end_offset` (a torn tail, or a replica dropping what its
    /// new master does not share): if the newest IndexFile indexed records at or past the cut,
    /// starts a fresh file, so that the records written there next are indexed (`put` skips
    /// offsets its newest file already covers). Stale entries stay and are harmless: queries
    /// verify every hit against the record.
    pub fn fence_at(
        &self,
        end_offset: u64,
        now_ms: i64,
        faults: &dyn FaultInjector,
    ) -> io::Result<()> {
        let past = match self.files.read().last() {
            Some(last) => last.index_count() > 1 && last.end_phy_offset() >= end_offset as i64,
            None => false,
        };
        if past {
            tracing::info!(
                end_offset,
                "starting a new IndexFile after the CommitLog was cut"
            );
            self.roll(now_ms, faults)?;
        }
        Ok(())
    }

    fn writable_file(&self, now_ms: i64, faults: &dyn FaultInjector) -> io::Result<Arc<IndexFile>> {
        match self.files.read().last() {
            Some(f) if !f.is_full() => return Ok(Arc::clone(f)),
            _ => {}
        }
        self.roll(now_ms, faults)
    }

    fn roll(&self, now_ms: i64, faults: &dyn FaultInjector) -> io::Result<Arc<IndexFile>> {
        let mut ms = now_ms;
        let path = loop {
            let p = self.dir.join(index_file_name(ms));
            if !p.exists() {
                break p;
            }
            ms += 1;
        };
        let file = Arc::new(IndexFile::create(
            &path,
            self.hash_slot_num,
            self.index_num,
            faults,
        )?);
        if let Some(prev) = self.files.read().last() {
            prev.flush(faults)?;
        }
        self.files.write().push(Arc::clone(&file));
        Ok(file)
    }

    /// CommitLog offsets for `topic#key` in the time range, newest first, at most `max`.
    pub fn query(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> QueryOffsets {
        let full = build_key(topic, key);
        let files = self.files.read().clone();
        let mut offsets = Vec::new();
        let (mut last_ts, mut last_phy) = (0, 0);
        if let Some(last) = files.last() {
            last_ts = last.end_timestamp();
            last_phy = last.end_phy_offset();
        }
        for file in files.iter().rev() {
            if offsets.len() >= max {
                break;
            }
            if file.overlaps(begin_ms, end_ms) {
                file.select(&full, max, begin_ms, end_ms, &mut offsets);
            }
        }
        QueryOffsets {
            physical_offsets: offsets,
            index_last_update_timestamp: last_ts,
            index_last_update_phy_offset: last_phy,
        }
    }

    pub fn flush(&self, faults: &dyn FaultInjector) -> io::Result<()> {
        // Only the newest file changes; older ones were flushed when it was rolled.
        if let Some(last) = self.files.read().last() {
            last.flush(faults)?;
        }
        Ok(())
    }

    /// Retention: deletes files whose every entry points below `commit_log_min_offset`
    /// (never the newest file).
    pub fn delete_expired(&self, commit_log_min_offset: i64) -> usize {
        let mut files = self.files.write();
        let mut n = 0;
        while files.len() > 1 && files[0].end_phy_offset() < commit_log_min_offset {
            let file = files.remove(0);
            if let Err(e) = std::fs::remove_file(file.path()) {
                tracing::warn!(path = %file.path().display(), error = %e, "could not delete IndexFile");
            }
            n += 1;
        }
        n
    }
}

/// The raw answer of an index query: candidate offsets (to be verified against the records).
#[derive(Debug, Clone, Default)]
pub struct QueryOffsets {
    pub physical_offsets: Vec<i64>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_phy_offset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::NoFaults;

    /// Disk blocks the file holds, in bytes (`st_blocks` counts 512-byte units).
    fn allocated_bytes(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).unwrap().blocks() * 512
    }

    #[test]
    fn an_index_file_holds_its_blocks_before_it_is_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        let size = IndexFile::file_size(64, 1_000);
        drop(IndexFile::create(&path, 64, 1_000, &NoFaults).unwrap());
        assert!(
            allocated_bytes(&path) >= size,
            "created sparse: {} of {size} bytes allocated",
            allocated_bytes(&path)
        );
        // A sparse file from an older version gets its blocks when opened (all zeros: its index
        // count 0 is clamped to 1).
        let old = dir.path().join("old");
        let sparse = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&old)
            .unwrap();
        sparse.set_len(size).unwrap();
        drop(sparse);
        assert!(allocated_bytes(&old) < size);
        drop(IndexFile::open(&old, 64, 1_000).unwrap());
        assert!(allocated_bytes(&old) >= size);
    }

    #[test]
    fn key_hash_follows_java() {
        assert_eq!(index_key_hash("hello"), 99162322);
        assert_eq!(index_key_hash("polygenelubricants"), 0);
        assert!(index_key_hash("some#key-that-hashes") >= 0);
    }

    #[test]
    fn file_names_are_utc_timestamps() {
        assert_eq!(index_file_name(0), "19700101000000000");
        assert_eq!(index_file_name(1_700_000_000_123), "20231114221320123");
    }

    #[test]
    fn finds_keys_through_collision_chains_and_respects_time() {
        let dir = tempfile::tempdir().unwrap();
        // 2 slots, so many keys collide.
        let file = IndexFile::create(&dir.path().join("x"), 2, 100, &NoFaults).unwrap();
        for i in 0..50i64 {
            assert!(file.put_key(&format!("T#k{}", i % 5), i * 100, 1_000_000 + i * 1000));
        }
        let mut out = Vec::new();
        file.select("T#k3", 100, 0, i64::MAX, &mut out);
        assert_eq!(
            out,
            (0..50)
                .rev()
                .filter(|i| i % 5 == 3)
                .map(|i| i * 100)
                .collect::<Vec<_>>()
        );
        out.clear();
        file.select(
            "T#k3",
            100,
            1_000_000 + 20_000,
            1_000_000 + 30_000,
            &mut out,
        );
        assert_eq!(out, vec![2800, 2300]);
        out.clear();
        file.select("T#k3", 2, 0, i64::MAX, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(file.index_count(), 51);
        assert_eq!(file.end_phy_offset(), 4900);
    }

    #[test]
    fn a_full_file_refuses_keys_and_the_service_rolls() {
        let dir = tempfile::tempdir().unwrap();
        let service = IndexService::load(dir.path(), 4, 3).unwrap();
        for i in 0..5i64 {
            service.put("T", &["k"], i, 1_000 + i, &NoFaults).unwrap();
        }
        assert_eq!(service.files.read().len(), 3);
        let found = service.query("T", "k", 10, 0, i64::MAX);
        assert_eq!(found.physical_offsets, vec![4, 3, 2, 1, 0]);
        // Reloading keeps them.
        drop(service);
        let service = IndexService::load(dir.path(), 4, 3).unwrap();
        assert_eq!(
            service
                .query("T", "k", 10, 0, i64::MAX)
                .physical_offsets
                .len(),
            5
        );
    }

    #[test]
    fn a_damaged_chain_ends_the_walk() {
        let dir = tempfile::tempdir().unwrap();
        let file = IndexFile::create(&dir.path().join("x"), 1, 10, &NoFaults).unwrap();
        file.put_key("a", 1, 1000);
        file.put_key("a", 2, 1000);
        // Make entry 1 point forward to entry 2 (a loop).
        // SAFETY: entry 1 is in bounds (10 entries) and its prevIndex field lies inside it; no
        // query runs concurrently in this test.
        unsafe {
            std::ptr::copy_nonoverlapping(
                2i32.to_be_bytes().as_ptr(),
                file.entry_ptr(1).add(ENTRY_PREV_INDEX_AT),
                4,
            )
        };
        let mut out = Vec::new();
        file.select("a", 100, 0, i64::MAX, &mut out);
        assert_eq!(out, vec![2, 1]);
    }

    /// An IndexFile of 4 slots and 10 entries.
    fn small_index(dir: &Path) -> IndexFile {
        IndexFile::create(&dir.join("x"), 4, 10, &NoFaults).unwrap()
    }

    #[test]
    #[should_panic(expected = "hash slot 4 out of bounds")]
    fn a_slot_past_the_table_panics_instead_of_reading_entries() {
        let dir = tempfile::tempdir().unwrap();
        let file = small_index(dir.path());
        file.slot(4);
    }

    #[test]
    #[should_panic(expected = "index entry 10 out of bounds")]
    fn an_entry_past_the_file_panics_instead_of_pointing_outside_the_map() {
        let dir = tempfile::tempdir().unwrap();
        let file = small_index(dir.path());
        file.entry_ptr(10);
    }

    #[test]
    fn the_last_slot_and_entry_are_in_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let file = small_index(dir.path());
        assert_eq!(file.slot(3).load(Ordering::Acquire), 0);
        let last = file.entry_ptr(9) as usize;
        let base = file.map.as_ptr() as usize;
        assert_eq!(
            last + ENTRY_SIZE_BYTES - base,
            IndexFile::file_size(4, 10) as usize
        );
    }

    #[test]
    fn header_and_entries_sit_where_rocketmq_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        let file = IndexFile::create(&path, 2, 10, &NoFaults).unwrap();
        assert!(file.put_key("T#a", 100, 1_700_000_000_000));
        assert!(file.put_key("T#a", 300, 1_700_000_005_999));
        file.flush(&NoFaults).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let i64_at = |at: usize| i64::from_be_bytes(bytes[at..at + 8].try_into().unwrap());
        let i32_at = |at: usize| i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        // IndexHeader: beginTimestamp, endTimestamp, beginPhyOffset, endPhyOffset, hashSlotCount,
        // indexCount, at RocketMQ's offsets.
        assert_eq!(i64_at(0), 1_700_000_000_000);
        assert_eq!(i64_at(8), 1_700_000_005_999);
        assert_eq!(i64_at(16), 100);
        assert_eq!(i64_at(24), 300);
        assert_eq!(i32_at(32), 1);
        assert_eq!(i32_at(36), 3);
        // Entry 2: keyHash, phyOffset, timeDiff (whole seconds), prevIndex (entry 1).
        let hash = index_key_hash("T#a");
        let slot = (hash as u32 % 2) as usize;
        assert_eq!(i32_at(40 + slot * 4), 2);
        let entry = 40 + 2 * 4 + 2 * 20;
        assert_eq!(i32_at(entry), hash);
        assert_eq!(i64_at(entry + 4), 300);
        assert_eq!(i32_at(entry + 12), 5);
        assert_eq!(i32_at(entry + 16), 1);
    }

    #[test]
    fn entries_round_trip() {
        let entry = Entry {
            key_hash: -7,
            phy_offset: 1 << 40,
            time_diff_s: 12,
            prev_index: 3,
        };
        assert_eq!(Entry::decode(&entry.encode()), entry);
    }
}
