//! The raft log and vote, durable under `controllerStorePath`.
//!
//! `raft-log` is an append-only file of framed records, `[len u32 BE | crc32 u32 BE | JSON]`,
//! each an [`LogRecord`]: an entry, a truncation (raft dropped conflicting entries from an
//! index on) or a purge (entries up to a log id are covered by a snapshot). The log is the
//! replay of its records. Every write is fsynced before openraft hears it is done, so an
//! acknowledged (and therefore possibly committed) entry survives a kill -9.
//!
//! Opening reads every record and stops at the first that is incomplete, too long or fails
//! its CRC: that is the tail a killed process was writing, never acknowledged; it is cut off
//! (and the cut fsynced) so later appends do not follow garbage. A torn record is never
//! surfaced.
//!
//! When a purge leaves the file with many more records than live entries, it is rewritten
//! (temp file, fsync, rename, fsync dir) with one record per live entry.
//!
//! `raft-vote.json` holds the vote, replaced with `petrel_fs::write_atomically`.
//!
//! A write that fails poisons the store: later writes are refused, because after a failed
//! fsync the kernel may have dropped the data and a retry would report durability that does
//! not exist (the fsyncgate lesson). The controller must be restarted, which re-reads the file.
//!
//! The write volume is small (a few entries per broker event), so the whole live log is kept
//! in memory too, and I/O runs on the blocking pool.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, OptionalSend, RaftLogId};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use super::{storage_error, Entry, LogId, StorageError, TypeConfig, Vote};

pub const LOG_FILE: &str = "raft-log";
pub const VOTE_FILE: &str = "raft-vote.json";
/// A record longer than this is corruption (an entry is a few hundred bytes).
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
const RECORD_HEADER_BYTES: usize = 8;
/// Rewrite the file once it holds this many more records than live entries.
const COMPACT_AFTER_DEAD_RECORDS: u64 = 1_000;

/// One record of `raft-log`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LogRecord {
    Entry(Entry),
    /// Entries at `since` and after are gone.
    Truncate {
        since: u64,
    },
    /// Entries up to `upto` are gone (a snapshot covers them).
    Purge {
        upto: LogId,
    },
}

/// Appends the framed record to `out`.
pub fn encode_record(record: &LogRecord, out: &mut Vec<u8>) -> io::Result<()> {
    let json = serde_json::to_vec(record).map_err(io::Error::other)?;
    let len = u32::try_from(json.len())
        .ok()
        .filter(|l| (*l as usize) <= MAX_RECORD_BYTES)
        .ok_or_else(|| io::Error::other("a raft log record is too large"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&json).to_be_bytes());
    out.extend_from_slice(&json);
    Ok(())
}

/// The records of `bytes` up to the first invalid one, and the length of that valid prefix.
pub fn decode_records(bytes: &[u8]) -> (Vec<LogRecord>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + RECORD_HEADER_BYTES) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        if len == 0 || len > MAX_RECORD_BYTES {
            break;
        }
        let start = at + RECORD_HEADER_BYTES;
        let Some(payload) = bytes.get(start..start + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Ok(record) = serde_json::from_slice::<LogRecord>(payload) else {
            break;
        };
        records.push(record);
        at = start + len;
    }
    (records, at)
}

/// The log as its records leave it.
#[derive(Debug, Default)]
struct LogData {
    entries: BTreeMap<u64, Entry>,
    last_purged: Option<LogId>,
}

impl LogData {
    fn replay(&mut self, record: LogRecord) {
        match record {
            LogRecord::Entry(entry) => {
                let index = entry.get_log_id().index;
                self.entries.insert(index, entry);
            }
            LogRecord::Truncate { since } => {
                self.entries.split_off(&since);
            }
            LogRecord::Purge { upto } => {
                self.entries = self.entries.split_off(&(upto.index + 1));
                if self.last_purged.is_none_or(|p| p < upto) {
                    self.last_purged = Some(upto);
                }
            }
        }
    }
}

/// The durable log store openraft writes through.
pub struct LogStore {
    dir: PathBuf,
    file: Arc<Mutex<File>>,
    data: Arc<RwLock<LogData>>,
    vote: Option<Vote>,
    /// Records in the file (for compaction).
    records: u64,
    poisoned: Arc<AtomicBool>,
}

/// Reads entries for replication while the store appends.
#[derive(Clone)]
pub struct LogReader {
    data: Arc<RwLock<LogData>>,
}

impl LogStore {
    /// Opens (or creates) the log under `dir`, cutting a torn tail.
    pub fn open(dir: &Path) -> io::Result<LogStore> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (records, valid) = decode_records(&bytes);
        if valid < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                kept_bytes = valid,
                cut_bytes = bytes.len() - valid,
                "the raft log ends with an incomplete or corrupt record (a write interrupted by a crash); cutting it off"
            );
            file.set_len(valid as u64)?;
            file.sync_all()?;
        }
        let count = records.len() as u64;
        let mut data = LogData::default();
        for record in records {
            data.replay(record);
        }
        let vote = match std::fs::read(dir.join(VOTE_FILE)) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is not a raft vote: {e}", dir.join(VOTE_FILE).display()),
                )
            })?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        petrel_fs::sync_dir(dir)?;
        Ok(LogStore {
            dir: dir.to_path_buf(),
            file: Arc::new(Mutex::new(file)),
            data: Arc::new(RwLock::new(data)),
            vote,
            records: count,
            poisoned: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Live entries (diagnostics and tests).
    pub fn entry_count(&self) -> usize {
        self.data.read().entries.len()
    }

    // openraft's StorageError is what the storage traits return; its size is not ours to pick.
    #[allow(clippy::result_large_err)]
    fn check_poisoned(&self) -> Result<(), StorageError> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(storage_error(
                ErrorSubject::Logs,
                ErrorVerb::Write,
                "an earlier write to the raft log failed; restart the controller",
            ));
        }
        Ok(())
    }

    /// Appends `bytes` to the file and fsyncs, on the blocking pool. A failure poisons.
    async fn write_durably(&mut self, bytes: Vec<u8>, records: u64) -> io::Result<()> {
        let file = Arc::clone(&self.file);
        let poisoned = Arc::clone(&self.poisoned);
        let result = tokio::task::spawn_blocking(move || {
            let mut file = file.lock();
            file.write_all(&bytes)?;
            file.sync_data()
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)));
        match result {
            Ok(()) => {
                self.records += records;
                Ok(())
            }
            Err(e) => {
                poisoned.store(true, Ordering::Release);
                tracing::error!(error = %e, dir = %self.dir.display(), "writing the raft log failed; the log refuses writes until the controller restarts");
                Err(e)
            }
        }
    }

    async fn write_record(&mut self, record: LogRecord) -> Result<(), StorageError> {
        self.check_poisoned()?;
        let mut bytes = Vec::new();
        encode_record(&record, &mut bytes)
            .map_err(|e| storage_error(ErrorSubject::Logs, ErrorVerb::Write, e))?;
        self.write_durably(bytes, 1)
            .await
            .map_err(|e| storage_error(ErrorSubject::Logs, ErrorVerb::Write, e))?;
        self.data.write().replay(record);
        Ok(())
    }

    /// Rewrites the file with only the live entries, when enough records are dead.
    async fn compact_if_worthwhile(&mut self) -> io::Result<()> {
        let (bytes, live) = {
            let data = self.data.read();
            let live = data.entries.len() as u64 + 1;
            if self.records < live + COMPACT_AFTER_DEAD_RECORDS {
                return Ok(());
            }
            let mut bytes = Vec::new();
            if let Some(upto) = data.last_purged {
                encode_record(&LogRecord::Purge { upto }, &mut bytes)?;
            }
            for entry in data.entries.values() {
                encode_record(&LogRecord::Entry(entry.clone()), &mut bytes)?;
            }
            (bytes, live)
        };
        let path = self.dir.join(LOG_FILE);
        let file = Arc::clone(&self.file);
        let poisoned = Arc::clone(&self.poisoned);
        let result = tokio::task::spawn_blocking(move || -> io::Result<()> {
            let mut current = file.lock();
            petrel_fs::write_atomically(&path, &bytes)?;
            *current = OpenOptions::new().read(true).append(true).open(&path)?;
            Ok(())
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)));
        match result {
            Ok(()) => {
                self.records = live;
                Ok(())
            }
            Err(e) => {
                poisoned.store(true, Ordering::Release);
                Err(e)
            }
        }
    }
}

fn read_range(data: &RwLock<LogData>, range: impl RangeBounds<u64>) -> Vec<Entry> {
    data.read()
        .entries
        .range(range)
        .map(|(_, e)| e.clone())
        .collect()
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(read_range(&self.data, range))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(read_range(&self.data, range))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let data = self.data.read();
        let last_purged_log_id = data.last_purged;
        let last_log_id = data
            .entries
            .values()
            .next_back()
            .map(|e| *e.get_log_id())
            .or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> LogReader {
        LogReader {
            data: Arc::clone(&self.data),
        }
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.check_poisoned()?;
        let bytes = serde_json::to_vec(vote)
            .map_err(|e| storage_error(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        let path = self.dir.join(VOTE_FILE);
        tokio::task::spawn_blocking(move || petrel_fs::write_atomically(&path, &bytes))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e)))
            .map_err(|e| storage_error(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        self.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.vote)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        if let Err(e) = self.check_poisoned() {
            callback.log_io_completed(Err(io::Error::other(e.to_string())));
            return Err(e);
        }
        let entries: Vec<Entry> = entries.into_iter().collect();
        let mut bytes = Vec::new();
        for entry in &entries {
            if let Err(e) = encode_record(&LogRecord::Entry(entry.clone()), &mut bytes) {
                let err = storage_error(ErrorSubject::Logs, ErrorVerb::Write, &e);
                callback.log_io_completed(Err(e));
                return Err(err);
            }
        }
        match self.write_durably(bytes, entries.len() as u64).await {
            Ok(()) => {
                let mut data = self.data.write();
                for entry in entries {
                    data.replay(LogRecord::Entry(entry));
                }
                drop(data);
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                let err = storage_error(ErrorSubject::Logs, ErrorVerb::Write, &e);
                callback.log_io_completed(Err(e));
                Err(err)
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.write_record(LogRecord::Truncate {
            since: log_id.index,
        })
        .await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.write_record(LogRecord::Purge { upto: log_id }).await?;
        self.compact_if_worthwhile()
            .await
            .map_err(|e| storage_error(ErrorSubject::Logs, ErrorVerb::Write, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Event;
    use openraft::{CommittedLeaderId, EntryPayload};

    fn entry(term: u64, index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(term, 0), index),
            payload: EntryPayload::Normal(Event::CleanBrokerData {
                broker_name: format!("b{index}"),
                broker_ids: None,
            }),
        }
    }

    fn framed(records: &[LogRecord]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for r in records {
            encode_record(r, &mut bytes).unwrap();
        }
        bytes
    }

    #[test]
    fn records_round_trip_and_stop_at_a_torn_tail() {
        let records = vec![
            LogRecord::Entry(entry(1, 1)),
            LogRecord::Entry(entry(1, 2)),
            LogRecord::Truncate { since: 2 },
        ];
        let bytes = framed(&records);
        let (decoded, valid) = decode_records(&bytes);
        assert_eq!(decoded, records);
        assert_eq!(valid, bytes.len());
        // Every proper prefix decodes to whole records only.
        let ends: Vec<usize> = {
            let mut at = 0;
            records
                .iter()
                .map(|r| {
                    at += framed(std::slice::from_ref(r)).len();
                    at
                })
                .collect()
        };
        for cut in 0..bytes.len() {
            let (decoded, valid) = decode_records(&bytes[..cut]);
            let whole = ends.iter().filter(|end| **end <= cut).count();
            assert_eq!(decoded.len(), whole, "cut at {cut}");
            assert_eq!(valid, if whole == 0 { 0 } else { ends[whole - 1] });
        }
        // A flipped byte in the second record's payload: only the first survives.
        let mut corrupt = bytes.clone();
        corrupt[ends[0] + RECORD_HEADER_BYTES + 3] ^= 0x40;
        assert_eq!(decode_records(&corrupt).0.len(), 1);
    }

    #[test]
    fn replay_applies_truncate_and_purge() {
        let mut data = LogData::default();
        for i in 1..=5 {
            data.replay(LogRecord::Entry(entry(1, i)));
        }
        data.replay(LogRecord::Truncate { since: 4 });
        assert_eq!(
            data.entries.keys().copied().collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        data.replay(LogRecord::Entry(entry(2, 4)));
        data.replay(LogRecord::Purge {
            upto: *entry(1, 2).get_log_id(),
        });
        assert_eq!(data.entries.keys().copied().collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(data.last_purged.map(|l| l.index), Some(2));
        assert_eq!(data.entries[&4].log_id.leader_id.term, 2);
    }

    #[tokio::test]
    async fn reopening_cuts_a_torn_tail_and_keeps_whole_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_FILE);
        let mut bytes = framed(&[LogRecord::Entry(entry(1, 1)), LogRecord::Entry(entry(1, 2))]);
        let whole = bytes.len();
        // A third record cut mid-payload, as a kill during write_all leaves it.
        let third = framed(&[LogRecord::Entry(entry(1, 3))]);
        bytes.extend_from_slice(&third[..third.len() / 2]);
        std::fs::write(&path, &bytes).unwrap();
        let mut store = LogStore::open(dir.path()).unwrap();
        assert_eq!(store.entry_count(), 2);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole as u64);
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id.map(|l| l.index), Some(2));
        // Later writes land after the cut.
        store
            .write_record(LogRecord::Entry(entry(1, 3)))
            .await
            .unwrap();
        store.save_vote(&Vote::new(3, 1)).await.unwrap();
        drop(store);
        let mut store = LogStore::open(dir.path()).unwrap();
        assert_eq!(store.entry_count(), 3);
        assert_eq!(store.read_vote().await.unwrap(), Some(Vote::new(3, 1)));
        let entries = store.try_get_log_entries(2..).await.unwrap();
        assert_eq!(entries.len(), 2);
    }

    #[tokio::test]
    async fn purge_compacts_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = LogStore::open(dir.path()).unwrap();
        let total = COMPACT_AFTER_DEAD_RECORDS + 10;
        let mut bytes = Vec::new();
        for i in 1..=total {
            encode_record(&LogRecord::Entry(entry(1, i)), &mut bytes).unwrap();
        }
        store.write_durably(bytes, total).await.unwrap();
        drop(store);
        let mut store = LogStore::open(dir.path()).unwrap();
        assert_eq!(store.entry_count() as u64, total);
        store
            .purge(*entry(1, total - 5).get_log_id())
            .await
            .unwrap();
        assert_eq!(store.records, 6);
        drop(store);
        let mut store = LogStore::open(dir.path()).unwrap();
        assert_eq!(store.entry_count(), 5);
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id.map(|l| l.index), Some(total - 5));
        assert_eq!(state.last_log_id.map(|l| l.index), Some(total));
    }
}
