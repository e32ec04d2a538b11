//! The `checkpoint` file: how far the CommitLog is known flushed and the ConsumeQueues and
//! IndexFiles are known dispatched and flushed.
//!
//! The first 40 bytes keep RocketMQ's layout (physicMsgTimestamp @0, logicsMsgTimestamp @8,
//! indexMsgTimestamp @16, masterFlushedOffset @24, confirmPhyOffset @32, int64 each) so tools
//! that read it keep working. Petrel's recovery uses offsets, not timestamps; they live in a
//! section at @64 guarded by a magic and a CRC. The file is replaced atomically
//! (`petrel_fs::write_atomically`: temporary file, fsync, rename, fsync the directory), so it is
//! either the old or the new one.
//!
//! A checkpoint with RocketMQ's fields but no Petrel section was written by Apache RocketMQ
//! (`StoreCheckpoint`): [`Checkpoint::inspect`] says so, and opening treats the store as one
//! Petrel has not vouched for (see `open.rs`).
//!
//! The `petrel-checkpoint` thread ([`run`]) and [`StoreInner::checkpoint`], which flushes what
//! the checkpoint vouches for before writing it, live here too.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Result, StoreError};
use crate::store::StoreInner;

const FILE_SIZE_BYTES: usize = 4096;
const PETREL_SECTION_AT: usize = 64;
const PETREL_MAGIC: &[u8; 8] = b"PETRELCP";
const PETREL_VERSION: u32 = 1;
/// RocketMQ's `StoreCheckpoint` fields end here (five int64s).
const ROCKETMQ_FIELDS_END: usize = 40;

/// What a `checkpoint` file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointFile {
    /// No file (a new store, or one that never reached its first checkpoint).
    Missing,
    /// Petrel's checkpoint: its offsets can be trusted.
    Petrel(Checkpoint),
    /// RocketMQ's fields only: the store was last written by Apache RocketMQ (its
    /// `physicMsgTimestamp`, epoch ms, is kept for the log).
    RocketMq { physic_msg_timestamp: i64 },
    /// A Petrel section that fails its CRC, or a file too short for RocketMQ's fields.
    Damaged,
}

impl CheckpointFile {
    /// The checkpoint to trust, if any.
    pub fn petrel(&self) -> Option<&Checkpoint> {
        match self {
            Self::Petrel(cp) => Some(cp),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub physic_msg_timestamp: i64,
    pub logics_msg_timestamp: i64,
    pub index_msg_timestamp: i64,
    /// Every CommitLog byte before this offset was covered by an fsync; a record boundary.
    pub commit_log_flushed_offset: u64,
    /// Every record before this offset is in the ConsumeQueue and IndexFiles, and those were
    /// flushed; a record boundary.
    pub dispatched_offset: u64,
    /// RocketMQ's `masterFlushedOffset` (@24): on a slave, how far the master's CommitLog
    /// reached when this slave last heard from it (0 on a master, or before replication).
    pub master_flushed_offset: i64,
    /// RocketMQ's `confirmPhyOffset` (@32): on a master, the CommitLog offset every connected
    /// slave had acknowledged; on a slave, the offset it had received and acknowledged.
    pub confirm_phy_offset: i64,
}

impl Checkpoint {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; FILE_SIZE_BYTES];
        out[0..8].copy_from_slice(&self.physic_msg_timestamp.to_be_bytes());
        out[8..16].copy_from_slice(&self.logics_msg_timestamp.to_be_bytes());
        out[16..24].copy_from_slice(&self.index_msg_timestamp.to_be_bytes());
        out[24..32].copy_from_slice(&self.master_flushed_offset.to_be_bytes());
        out[32..40].copy_from_slice(&self.confirm_phy_offset.to_be_bytes());
        let p = PETREL_SECTION_AT;
        out[p..p + 8].copy_from_slice(PETREL_MAGIC);
        out[p + 8..p + 12].copy_from_slice(&PETREL_VERSION.to_be_bytes());
        out[p + 16..p + 24].copy_from_slice(&self.commit_log_flushed_offset.to_be_bytes());
        out[p + 24..p + 32].copy_from_slice(&self.dispatched_offset.to_be_bytes());
        let crc = crc32fast::hash(&out[p..p + 32]);
        out[p + 32..p + 36].copy_from_slice(&crc.to_be_bytes());
        out
    }

    /// Decodes a checkpoint; `None` if the Petrel section is absent or damaged.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let p = PETREL_SECTION_AT;
        let section = bytes.get(p..p + 36)?;
        if &section[..8] != PETREL_MAGIC {
            return None;
        }
        let crc = u32::from_be_bytes(section[32..36].try_into().ok()?);
        if crc32fast::hash(&section[..32]) != crc {
            return None;
        }
        let i64_at = |at: usize| -> Option<i64> {
            Some(i64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
        };
        let u64_at = |at: usize| -> Option<u64> {
            Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
        };
        Some(Self {
            physic_msg_timestamp: i64_at(0)?,
            logics_msg_timestamp: i64_at(8)?,
            index_msg_timestamp: i64_at(16)?,
            commit_log_flushed_offset: u64_at(p + 16)?,
            dispatched_offset: u64_at(p + 24)?,
            master_flushed_offset: i64_at(24)?,
            confirm_phy_offset: i64_at(32)?,
        })
    }

    /// Reads the checkpoint at `path`; a missing or damaged file, or RocketMQ's, gives `None`
    /// (recovery then scans from the beginning, which is slow but safe).
    pub fn load(path: &Path) -> Option<Self> {
        Self::inspect(path).petrel().copied()
    }

    /// Reads the checkpoint at `path` and says whose it is.
    pub fn inspect(path: &Path) -> CheckpointFile {
        let Ok(bytes) = std::fs::read(path) else {
            return CheckpointFile::Missing;
        };
        let found = Self::classify(&bytes);
        match found {
            CheckpointFile::RocketMq { .. } => tracing::info!(path = %path.display(),
                "checkpoint written by Apache RocketMQ (no Petrel section): the whole CommitLog will be verified"),
            CheckpointFile::Damaged => {
                tracing::warn!(path = %path.display(), "checkpoint is damaged; ignoring it")
            }
            _ => {}
        }
        found
    }

    fn classify(bytes: &[u8]) -> CheckpointFile {
        if let Some(cp) = Self::decode(bytes) {
            return CheckpointFile::Petrel(cp);
        }
        let has_petrel_magic = bytes
            .get(PETREL_SECTION_AT..PETREL_SECTION_AT + PETREL_MAGIC.len())
            .is_some_and(|m| m == PETREL_MAGIC);
        match bytes.get(..ROCKETMQ_FIELDS_END) {
            Some(fields) if !has_petrel_magic => {
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&fields[..8]);
                CheckpointFile::RocketMq {
                    physic_msg_timestamp: i64::from_be_bytes(ts),
                }
            }
            _ => CheckpointFile::Damaged,
        }
    }

    /// Replaces the checkpoint at `path` atomically and durably.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        petrel_fs::write_atomically(path, &self.encode())
    }
}

impl StoreInner {
    /// Flushes ConsumeQueues and IndexFiles and records progress in the checkpoint.
    pub(crate) fn checkpoint(&self) -> Result<()> {
        let dispatched = self.dispatch.dispatched.load(Ordering::Acquire);
        let faults = &*self.config.faults;
        for cq in self.consume_queues.all() {
            cq.flush(faults).map_err(|e| {
                StoreError::io(
                    format!("flushing ConsumeQueue {}/{}", cq.topic(), cq.queue_id()),
                    e,
                )
            })?;
        }
        if let Some(index) = &self.index {
            index
                .flush(faults)
                .map_err(|e| StoreError::io("flushing IndexFile", e))?;
        }
        let now = self.config.clock.now_ms();
        let cp = Checkpoint {
            physic_msg_timestamp: now,
            logics_msg_timestamp: now,
            index_msg_timestamp: now,
            commit_log_flushed_offset: self.flush.flushed_offset(),
            dispatched_offset: dispatched,
            master_flushed_offset: self.replicated.master_flushed_offset(),
            confirm_phy_offset: self.replicated.confirm_phy_offset(),
        };
        cp.save(&self.config.checkpoint_path())
            .map_err(|e| StoreError::io(CHECKPOINT_SAVE_CONTEXT, e))
    }

    /// Whether `e` is [`Self::checkpoint`] failing to write the checkpoint file (the flushes
    /// before it succeeded): the old checkpoint is intact, so this is worth retrying.
    fn checkpoint_save_failed(&self, e: &StoreError) -> bool {
        matches!(e, StoreError::Io { context, .. } if context == CHECKPOINT_SAVE_CONTEXT)
    }
}

const CHECKPOINT_SAVE_CONTEXT: &str = "writing checkpoint";

/// The `petrel-checkpoint` thread: every `flushIntervalConsumeQueue`, flushes ConsumeQueues and
/// IndexFiles and writes the checkpoint.
///
/// A failed *flush* poisons the store (after a failed fsync the kernel may have dropped dirty
/// pages). A failed *write of the checkpoint file* does not: the file is replaced atomically, so
/// the previous checkpoint stays whole and remains recovery's safe point; the write is retried
/// every interval and writes go on. (Before, one ENOSPC or EMFILE here made the store read-only
/// until restart, even after space or descriptors returned: issue 16.) A poisoned store writes
/// no more checkpoints (the last good one stays a safe point for recovery).
pub(crate) fn run(inner: Arc<StoreInner>) {
    let interval = Duration::from_millis(inner.config.flush_interval_consume_queue_ms);
    let mut failing_since_ms: Option<i64> = None;
    let mut last_warn_ms: Option<i64> = None;
    while !inner.sleep(interval) {
        if inner.is_poisoned() {
            continue;
        }
        match inner.checkpoint() {
            Ok(()) => {
                last_warn_ms = None;
                if let Some(since) = failing_since_ms.take() {
                    tracing::info!(
                        failing_for_ms = inner.config.clock.now_ms().saturating_sub(since),
                        "the checkpoint is written again"
                    );
                }
            }
            Err(e) if inner.checkpoint_save_failed(&e) => {
                let now = inner.config.clock.now_ms();
                failing_since_ms.get_or_insert(now);
                if last_warn_ms
                    .is_none_or(|at| now.saturating_sub(at) >= CHECKPOINT_RETRY_LOG_EVERY_MS)
                {
                    last_warn_ms = Some(now);
                    tracing::warn!(
                        error = %e,
                        "the checkpoint could not be written; retrying every \
                         flushIntervalConsumeQueue. Writes go on; after a crash, recovery starts \
                         from the last checkpoint written and re-checks more of the CommitLog. \
                         Free disk space or file descriptors"
                    );
                }
            }
            Err(e) => inner.poison(format!("checkpoint failed: {e}")),
        }
    }
}

/// While the checkpoint cannot be written, a warning at most this often.
const CHECKPOINT_RETRY_LOG_EVERY_MS: i64 = 60_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_rocketmq_positions() {
        let cp = Checkpoint {
            physic_msg_timestamp: 11,
            logics_msg_timestamp: 22,
            index_msg_timestamp: 33,
            commit_log_flushed_offset: 4096,
            dispatched_offset: 2048,
            master_flushed_offset: 8192,
            confirm_phy_offset: 1024,
        };
        let bytes = cp.encode();
        assert_eq!(bytes.len(), 4096);
        assert_eq!(&bytes[8..16], &22i64.to_be_bytes());
        assert_eq!(&bytes[24..32], &8192i64.to_be_bytes());
        assert_eq!(&bytes[32..40], &1024i64.to_be_bytes());
        assert_eq!(Checkpoint::decode(&bytes), Some(cp));
    }

    #[test]
    fn rejects_a_damaged_section() {
        let mut bytes = Checkpoint {
            dispatched_offset: 9,
            ..Default::default()
        }
        .encode();
        bytes[PETREL_SECTION_AT + 20] ^= 1;
        assert_eq!(Checkpoint::decode(&bytes), None);
        assert_eq!(Checkpoint::decode(&[0u8; 40]), None);
    }

    #[test]
    fn tells_petrel_rocketmq_and_damaged_checkpoints_apart() {
        let petrel = Checkpoint {
            dispatched_offset: 9,
            ..Default::default()
        };
        let bytes = petrel.encode();
        assert_eq!(Checkpoint::classify(&bytes), CheckpointFile::Petrel(petrel));
        // Apache RocketMQ's StoreCheckpoint: a page with five int64s, nothing at 64.
        let mut rocketmq = vec![0u8; 4096];
        rocketmq[..8].copy_from_slice(&1_796_404_790_286i64.to_be_bytes());
        assert_eq!(
            Checkpoint::classify(&rocketmq),
            CheckpointFile::RocketMq {
                physic_msg_timestamp: 1_796_404_790_286
            }
        );
        let mut damaged = bytes.clone();
        damaged[PETREL_SECTION_AT + 20] ^= 1;
        assert_eq!(Checkpoint::classify(&damaged), CheckpointFile::Damaged);
        assert_eq!(Checkpoint::classify(&[0u8; 12]), CheckpointFile::Damaged);
    }

    #[test]
    fn saves_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        let cp = Checkpoint {
            commit_log_flushed_offset: 77,
            ..Default::default()
        };
        cp.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path), Some(cp));
        assert!(!dir.path().join("checkpoint.tmp").exists());
    }
}
