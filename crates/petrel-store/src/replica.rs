//! What replication needs from the store, and nothing more: the master reads raw CommitLog
//! bytes from an offset ([`MessageStore::read_commit_log_raw`]); a slave appends the bytes its
//! master sent at the offset they came from ([`MessageStore::append_replicated`]), after which
//! the ordinary dispatcher builds its ConsumeQueues and IndexFiles exactly as on the master;
//! and both record the offsets RocketMQ's checkpoint has room for (`masterFlushedOffset`,
//! `confirmPhyOffset`) in [`ReplicatedOffsets`].
//!
//! The store knows no sockets and no roles: the replication crate drives these calls.

use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;

use crate::config::FlushDiskType;
use crate::error::Result;
use crate::store::MessageStore;

/// The replication offsets written into the checkpoint (RocketMQ's fields @24 and @32).
#[derive(Debug, Default)]
pub(crate) struct ReplicatedOffsets {
    master_flushed_offset: AtomicI64,
    confirm_phy_offset: AtomicI64,
}

impl ReplicatedOffsets {
    pub(crate) fn new(master_flushed_offset: i64, confirm_phy_offset: i64) -> Self {
        Self {
            master_flushed_offset: AtomicI64::new(master_flushed_offset),
            confirm_phy_offset: AtomicI64::new(confirm_phy_offset),
        }
    }

    pub(crate) fn master_flushed_offset(&self) -> i64 {
        self.master_flushed_offset.load(Ordering::Acquire)
    }

    pub(crate) fn confirm_phy_offset(&self) -> i64 {
        self.confirm_phy_offset.load(Ordering::Acquire)
    }
}

impl MessageStore {
    /// Up to `max_bytes` published CommitLog bytes from `offset`, zero-copy and exactly as on
    /// disk (records may be cut anywhere), never past the end of the segment holding `offset`;
    /// `None` when nothing is published there yet (or `offset` is below the retained log).
    pub fn read_commit_log_raw(&self, offset: u64, max_bytes: usize) -> Option<Bytes> {
        self.inner.commit_log.read_raw(offset, max_bytes)
    }

    /// Appends whole records (and blank markers with their segment's tail) that a master sent,
    /// at `offset`, which must be this CommitLog's end (or a segment boundary when it is empty).
    /// Every record is validated, its PHYSICALOFFSET included, so a CommitLog that does not
    /// match is refused ([`crate::ReplicaError`]). Under SYNC_FLUSH a flush is requested; the
    /// dispatcher then builds the ConsumeQueues and IndexFiles. Returns the new end offset.
    pub fn append_replicated(&self, offset: u64, bytes: &[u8]) -> Result<u64> {
        self.check_writable()?;
        let end = self.inner.commit_log.append_replicated(offset, bytes)?;
        self.inner
            .stats
            .put_message_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        match self.inner.config.flush_disk_type {
            FlushDiskType::SyncFlush => self.inner.flush.request(end),
            FlushDiskType::AsyncFlush => self.inner.dispatch_signal.wake(),
        }
        Ok(end)
    }

    /// One past the last published CommitLog byte (what a slave reports to its master).
    pub fn commit_log_end(&self) -> u64 {
        self.inner.commit_log.max_offset()
    }

    /// Offset of the first retained CommitLog byte (where a new slave starts copying).
    pub fn commit_log_start(&self) -> u64 {
        self.inner.commit_log.min_offset()
    }

    /// Records RocketMQ's `masterFlushedOffset` (a slave: how far its master's log reached).
    pub fn set_master_flushed_offset(&self, offset: i64) {
        self.inner
            .replicated
            .master_flushed_offset
            .store(offset, Ordering::Release);
    }

    /// Records RocketMQ's `confirmPhyOffset` (what the replicas have acknowledged).
    pub fn set_confirm_phy_offset(&self, offset: i64) {
        self.inner
            .replicated
            .confirm_phy_offset
            .store(offset, Ordering::Release);
    }

    /// The replication offsets as last recorded (and as the checkpoint will write them):
    /// `(masterFlushedOffset, confirmPhyOffset)`.
    pub fn replicated_offsets(&self) -> (i64, i64) {
        (
            self.inner.replicated.master_flushed_offset(),
            self.inner.replicated.confirm_phy_offset(),
        )
    }
}
