//! The timer index: pending timer messages by due time, with memory bounded by the wheel's
//! size, not by the number of pending timers.
//!
//! - The **TimerLog** (`timerlog/{20-digit start}` segments) is an append-only log of 32-byte
//!   entries `[prev i64, due_ms i64, physical_offset i64, size i32, magic i32]`; `prev` is the
//!   position of the previous entry of the same slot (-1 for none), so each slot is a chain on
//!   disk.
//! - The **wheel** is an in-memory array of `slots` records `{slot_time, last, count}` (24 bytes
//!   each): slot `i` holds the chain of the one-`precision_ms` window whose start maps to `i`.
//!   With `slots` covering twice the maximum delay, every pending window has its own slot.
//!   Memory is `24 × slots` (about 12 MB for 3 days at 1 s), whatever the number of timers;
//!   the log is read through the page cache.
//! - The wheel is rebuilt on open by scanning the retained log (32 bytes per pending timer), up
//!   to the position the caller's checkpoint vouches for; anything after it is cut, because the
//!   caller will index those timers again.
//!
//! [`RocketMqTimerCheckpoint`] reads Apache RocketMQ 5.x's timer checkpoint
//! (`config/timercheck`), so a broker opening a store RocketMQ wrote knows which timers
//! RocketMQ already delivered. RocketMQ's own TimerLog (`timerlog/`, 52-byte units) and wheel
//! (`timerwheel`) are not read: they are derived from `rmq_sys_wheel_timer`, which is.

use std::path::Path;
use std::sync::Arc;

use crate::error::{Result, StoreError};
use crate::io::FaultInjector;
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;

const ENTRY_SIZE: u64 = 32;
const ENTRY_MAGIC: i32 = 0x5449_4D52; // "TIMR"

/// One pending timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerEntry {
    /// Position in the TimerLog (orders entries of equal due time by arrival).
    pub position: u64,
    pub due_ms: i64,
    /// Where the timer message is in the CommitLog.
    pub physical_offset: i64,
    pub size: i32,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    slot_time: i64,
    last: i64,
    count: u32,
}

const EMPTY_SLOT: Slot = Slot {
    slot_time: -1,
    last: -1,
    count: 0,
};

pub struct TimerIndex {
    log: Arc<MappedFileQueue>,
    wheel: Vec<Slot>,
    precision_ms: i64,
    faults: Arc<dyn FaultInjector>,
}

/// Flushes a [`TimerIndex`]'s log from another thread (see [`TimerIndex::flusher`]).
#[derive(Clone)]
pub struct TimerLogFlusher {
    log: Arc<MappedFileQueue>,
    faults: Arc<dyn FaultInjector>,
}

impl TimerLogFlusher {
    /// Makes every entry written so far durable.
    pub fn flush(&self) -> std::io::Result<()> {
        self.log.flush(&*self.faults).map(|_| ())
    }
}

impl TimerIndex {
    /// Opens the index in `dir`, keeping log entries before `valid_end` (the checkpointed log
    /// position) and rebuilding the wheel from the entries whose window starts at or after
    /// `from_slot_time`.
    pub fn open(
        dir: &Path,
        segment_size: u64,
        slots: usize,
        precision_ms: i64,
        valid_end: u64,
        from_slot_time: i64,
        faults: Arc<dyn FaultInjector>,
    ) -> Result<Self> {
        if precision_ms <= 0
            || slots == 0
            || segment_size < ENTRY_SIZE
            || segment_size % ENTRY_SIZE != 0
        {
            return Err(StoreError::Corrupt {
                path: dir.to_path_buf(),
                reason: "bad timer index geometry".into(),
            });
        }
        let loaded = MappedFileQueue::load(dir, segment_size)?;
        let mut files = loaded.files;
        // Keep what the checkpoint vouches for; cut the rest (the caller indexes it again).
        let mut kept = Vec::new();
        for mut file in files.drain(..) {
            let from = file.file_from_offset();
            if from >= valid_end {
                file.delete()
                    .map_err(|e| StoreError::io("deleting a timer log segment", e))?;
                continue;
            }
            let rel = valid_end - from;
            if rel >= segment_size {
                file.set_positions(segment_size);
            } else {
                file.truncate_to(rel)
                    .map_err(|e| StoreError::io("truncating the timer log", e))?;
            }
            kept.push(file);
        }
        let mut index = Self {
            log: Arc::new(MappedFileQueue::new(dir.to_path_buf(), segment_size, kept)),
            wheel: vec![EMPTY_SLOT; slots],
            precision_ms,
            faults,
        };
        index.rebuild(from_slot_time);
        Ok(index)
    }

    fn rebuild(&mut self, from_slot_time: i64) {
        for file in self.log.snapshot() {
            let wrote = file.wrote_position();
            let Some(bytes) = file.read(0, wrote / ENTRY_SIZE * ENTRY_SIZE) else {
                continue;
            };
            for (i, chunk) in bytes.chunks_exact(ENTRY_SIZE as usize).enumerate() {
                let Some((_, due_ms, _, _)) = decode(chunk) else {
                    continue;
                };
                let slot_time = self.slot_time(due_ms);
                if slot_time < from_slot_time {
                    continue;
                }
                let position = file.file_from_offset() + i as u64 * ENTRY_SIZE;
                // Entries are scanned in log order, which is the order their chain links.
                self.link_newest(slot_time, position);
            }
        }
    }

    /// The start of the window `due_ms` falls in.
    pub fn slot_time(&self, due_ms: i64) -> i64 {
        due_ms.div_euclid(self.precision_ms) * self.precision_ms
    }

    pub fn precision_ms(&self) -> i64 {
        self.precision_ms
    }

    /// How far ahead of the current window the wheel can index.
    pub fn span_ms(&self) -> i64 {
        self.wheel.len() as i64 * self.precision_ms
    }

    fn index_of(&self, slot_time: i64) -> usize {
        (slot_time / self.precision_ms).rem_euclid(self.wheel.len() as i64) as usize
    }

    /// One past the last entry written.
    pub fn end_position(&self) -> u64 {
        self.log.max_offset().unwrap_or(0)
    }

    /// Adds a timer. The caller keeps `due_ms` within the wheel's span of the current window.
    pub fn add(&mut self, due_ms: i64, physical_offset: i64, size: i32) -> std::io::Result<u64> {
        let slot_time = self.slot_time(due_ms);
        let idx = self.index_of(slot_time);
        let prev = if self.wheel[idx].slot_time == slot_time {
            self.wheel[idx].last
        } else {
            -1
        };
        let file = self.writable_file()?;
        let pos = file.wrote_position();
        let position = file.file_from_offset() + pos;
        let mut entry = [0u8; ENTRY_SIZE as usize];
        entry[0..8].copy_from_slice(&prev.to_be_bytes());
        entry[8..16].copy_from_slice(&due_ms.to_be_bytes());
        entry[16..24].copy_from_slice(&physical_offset.to_be_bytes());
        entry[24..28].copy_from_slice(&size.to_be_bytes());
        entry[28..32].copy_from_slice(&ENTRY_MAGIC.to_be_bytes());
        // SAFETY: the timer index has one owner (`&mut self`), the single writer of its log.
        unsafe { file.write_unpublished(pos, &entry) };
        file.publish(pos + ENTRY_SIZE);
        self.link_newest(slot_time, position);
        Ok(position)
    }

    /// Makes the entry at `position` the newest of the window `slot_time`, taking over the wheel
    /// slot if it still held an older window.
    fn link_newest(&mut self, slot_time: i64, position: u64) {
        let idx = self.index_of(slot_time);
        let slot = &mut self.wheel[idx];
        if slot.slot_time != slot_time {
            *slot = Slot {
                slot_time,
                last: -1,
                count: 0,
            };
        }
        slot.last = position as i64;
        slot.count += 1;
    }

    fn writable_file(&mut self) -> std::io::Result<Arc<MappedFile>> {
        let size = self.log.file_size();
        match self.log.last() {
            Some(f) if f.wrote_position() + ENTRY_SIZE <= size => Ok(f),
            last => {
                let from = last.map(|f| f.file_from_offset() + size).unwrap_or(0);
                let file = self.log.create(from, &*self.faults)?;
                self.log.push(Arc::clone(&file));
                Ok(file)
            }
        }
    }

    /// The timers of the window starting at `slot_time`, in due order (ties by arrival).
    pub fn entries(&self, slot_time: i64) -> Vec<TimerEntry> {
        let slot = self.wheel[self.index_of(slot_time)];
        if slot.slot_time != slot_time {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(slot.count as usize);
        let mut pos = slot.last;
        // Links point strictly backwards; a damaged chain ends the walk, never loops.
        while pos >= 0 && out.len() < slot.count as usize {
            let Some(file) = self.log.find(pos as u64) else {
                break;
            };
            let Some(bytes) = file.read(pos as u64 - file.file_from_offset(), ENTRY_SIZE) else {
                break;
            };
            let Some((prev, due_ms, physical_offset, size)) = decode(bytes) else {
                break;
            };
            out.push(TimerEntry {
                position: pos as u64,
                due_ms,
                physical_offset,
                size,
            });
            if prev >= pos {
                break;
            }
            pos = prev;
        }
        // Keys are unique (positions differ): an unstable sort gives the same order without
        // the stable sort's scratch buffer (15 MiB for a window of a million timers).
        out.sort_unstable_by_key(|e| (e.due_ms, e.position));
        out
    }

    /// Number of timers indexed in the window starting at `slot_time`.
    pub fn count(&self, slot_time: i64) -> u32 {
        let slot = self.wheel[self.index_of(slot_time)];
        if slot.slot_time == slot_time {
            slot.count
        } else {
            0
        }
    }

    /// Flushes the log (before a checkpoint names its end).
    pub fn flush(&self) -> std::io::Result<()> {
        self.flusher().flush()
    }

    /// A handle that flushes the log without borrowing the index, so that an fsync does not
    /// hold up whoever adds entries meanwhile.
    pub fn flusher(&self) -> TimerLogFlusher {
        TimerLogFlusher {
            log: self.log.clone(),
            faults: self.faults.clone(),
        }
    }

    /// Deletes log segments whose every entry is due before `before_ms` (already delivered).
    /// Returns how many were deleted.
    pub fn delete_delivered(&self, before_ms: i64) -> usize {
        let files = self.log.snapshot();
        let mut n = 0;
        for file in files.iter().take(files.len().saturating_sub(1)) {
            let wrote = file.wrote_position();
            let Some(bytes) = file.read(0, wrote / ENTRY_SIZE * ENTRY_SIZE) else {
                break;
            };
            let all_due = bytes
                .chunks_exact(ENTRY_SIZE as usize)
                .all(|c| decode(c).is_none_or(|(_, due, _, _)| due < before_ms));
            if !all_due {
                break;
            }
            n += 1;
        }
        if n > 0 {
            self.log.remove_first(n);
        }
        n
    }
}

fn decode(chunk: &[u8]) -> Option<(i64, i64, i64, i32)> {
    let i64_at = |at: usize| i64::from_be_bytes(chunk[at..at + 8].try_into().unwrap_or([0; 8]));
    let magic = i32::from_be_bytes(chunk[28..32].try_into().ok()?);
    if magic != ENTRY_MAGIC {
        return None;
    }
    Some((
        i64_at(0),
        i64_at(8),
        i64_at(16),
        i32::from_be_bytes(chunk[24..28].try_into().ok()?),
    ))
}

/// Apache RocketMQ 5.x's timer checkpoint (`TimerCheckpoint`, `config/timercheck`): int64s at
/// fixed positions, big-endian, in a 4 KiB file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RocketMqTimerCheckpoint {
    /// `lastReadTimeMs` @0: every timer due before this time (epoch ms) was delivered.
    pub last_read_time_ms: i64,
    /// `lastTimerLogFlushPos` @8: bytes of RocketMQ's TimerLog flushed.
    pub last_timer_log_flush_pos: i64,
    /// `lastTimerQueueOffset` @16: the next `rmq_sys_wheel_timer` queue offset to index.
    pub last_timer_queue_offset: i64,
    /// `masterTimerQueueOffset` @24: the same, as the master last reported it.
    pub master_timer_queue_offset: i64,
}

/// RocketMQ's timer checkpoint is shorter than its four offsets.
#[derive(Debug, thiserror::Error)]
#[error("{} is {len} bytes; Apache RocketMQ's timer checkpoint has at least 32", path.display())]
pub struct RocketMqTimerCheckpointError {
    pub path: std::path::PathBuf,
    pub len: usize,
}

impl RocketMqTimerCheckpoint {
    /// Decodes the file's bytes.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let at = |pos: usize| -> Option<i64> {
            Some(i64::from_be_bytes(
                bytes.get(pos..pos + 8)?.try_into().ok()?,
            ))
        };
        Some(Self {
            last_read_time_ms: at(0)?,
            last_timer_log_flush_pos: at(8)?,
            last_timer_queue_offset: at(16)?,
            master_timer_queue_offset: at(24)?,
        })
    }

    /// Reads the checkpoint at `path`: `Ok(None)` if there is none.
    pub fn load(path: &Path) -> std::result::Result<Option<Self>, RocketMqTimerCheckpointError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(_) => return Ok(None),
        };
        Self::decode(&bytes)
            .map(Some)
            .ok_or(RocketMqTimerCheckpointError {
                path: path.to_path_buf(),
                len: bytes.len(),
            })
    }

    /// The first queue offset RocketMQ had not indexed (as RocketMQ recovers it: the smaller
    /// of its own and the master's).
    pub fn indexed_below(&self) -> i64 {
        self.last_timer_queue_offset
            .min(self.master_timer_queue_offset)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_rocketmq_timer_checkpoints() {
        // The head of a `config/timercheck` Apache RocketMQ 5.5.0 wrote.
        let mut bytes = vec![0u8; 4096];
        for (i, v) in [1_796_404_822_616i64, 104, 2, 2, 0, 1_796_404_822_971, 43]
            .iter()
            .enumerate()
        {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        let cp = super::RocketMqTimerCheckpoint::decode(&bytes).unwrap();
        assert_eq!(cp.last_read_time_ms, 1_796_404_822_616);
        assert_eq!(cp.last_timer_log_flush_pos, 104);
        assert_eq!(cp.indexed_below(), 2);
        assert!(super::RocketMqTimerCheckpoint::decode(&bytes[..31]).is_none());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timercheck");
        assert!(super::RocketMqTimerCheckpoint::load(&path)
            .unwrap()
            .is_none());
        std::fs::write(&path, &bytes[..16]).unwrap();
        let err = super::RocketMqTimerCheckpoint::load(&path).unwrap_err();
        assert!(err.to_string().contains("is 16 bytes"), "{err}");
    }

    use super::*;
    use crate::io::NoFaults;

    fn open(dir: &Path, valid_end: u64, from: i64) -> TimerIndex {
        TimerIndex::open(dir, 32 * 64, 100, 1000, valid_end, from, Arc::new(NoFaults)).unwrap()
    }

    #[test]
    fn windows_hold_their_timers_in_due_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = open(dir.path(), 0, 0);
        for (due, phys) in [
            (10_500, 1),
            (10_100, 2),
            (11_000, 3),
            (10_100, 4),
            (10_999, 5),
        ] {
            t.add(due, phys, 10).unwrap();
        }
        let got: Vec<i64> = t
            .entries(10_000)
            .iter()
            .map(|e| e.physical_offset)
            .collect();
        assert_eq!(got, vec![2, 4, 1, 5]);
        assert_eq!(t.entries(11_000).len(), 1);
        assert!(t.entries(12_000).is_empty());
        // A window that maps to the same slot a lap later starts a fresh chain.
        t.add(110_200, 6, 10).unwrap();
        assert_eq!(t.entries(110_000).len(), 1);
        assert!(t.entries(10_000).is_empty());
    }

    #[test]
    fn reopening_rebuilds_the_wheel_and_cuts_unvouched_entries() {
        let dir = tempfile::tempdir().unwrap();
        let end;
        {
            let mut t = open(dir.path(), 0, 0);
            for i in 0..150i64 {
                t.add(20_000 + i * 10, i, 1).unwrap(); // spans several 64-entry segments
            }
            end = t.end_position();
            t.add(20_000, 999, 1).unwrap(); // written after the checkpoint
            t.flush().unwrap();
        }
        let t = open(dir.path(), end, 0);
        assert_eq!(t.end_position(), end);
        let all: usize = (20..22).map(|s| t.entries(s * 1000).len()).sum();
        assert_eq!(all, 150);
        assert!(t.entries(20_000).iter().all(|e| e.physical_offset != 999));
        // Windows before `from` are left out of the wheel.
        let t = open(dir.path(), end, 21_000);
        assert!(t.entries(20_000).is_empty());
        assert_eq!(t.entries(21_000).len(), 50);
    }

    #[test]
    fn delivered_segments_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = open(dir.path(), 0, 0);
        for i in 0..200i64 {
            t.add(i * 100, i, 1).unwrap();
        }
        assert_eq!(t.delete_delivered(6_400), 1);
        assert_eq!(t.delete_delivered(20_000), 2);
    }
}
