//! Store errors, in one place. [`StoreError`] is what the store's API returns; callers map it to
//! RocketMQ response codes at their boundary (e.g. `MessageIllegal` → MESSAGE_ILLEGAL,
//! `DiskFull`/`NoSpace`/`Poisoned` → SERVICE_NOT_AVAILABLE). The narrower types say why one step failed:
//! a record that is not intact ([`RecordError`], recovery's reason to cut the log), a CommitLog
//! read the dispatcher cannot continue from, a dispatch that could not write its entries, a
//! `deleteWhen` that is not a list of hours.

use std::io;
use std::path::PathBuf;

use petrel_protocol::message::DecodeError;

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// An I/O operation failed; `context` says which.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// A write or flush failed earlier; the store is read-only until restarted, because after a
    /// failed fsync the kernel may have dropped the dirty pages and nothing written since can be
    /// trusted to reach the disk.
    #[error("store is read-only after an I/O failure: {0}")]
    Poisoned(String),

    /// Disk use is above `diskSpaceWarningLevelRatio`; writes are refused until retention frees space.
    #[error(
        "disk full: {used_percent:.1}% of the disk holding the store is used (writes stop at \
         {limit_percent}%); free space on it (writes resume on their own) or lower \
         fileReservedTime"
    )]
    DiskFull {
        used_percent: f64,
        limit_percent: u32,
    },

    /// The disk had no room for a new file of the store (ENOSPC before the watermark was
    /// reached, e.g. the next CommitLog segment's reservation); nothing was written.
    #[error(
        "disk full: no space left on the disk holding the store for {what}; free space on it \
         (writes resume on their own)"
    )]
    NoSpace {
        what: String,
        #[source]
        source: io::Error,
    },

    /// The message cannot be stored as given.
    #[error("illegal message: {0}")]
    MessageIllegal(String),

    /// The store is shutting down.
    #[error("store is shut down")]
    ShutDown,

    /// The store directory holds data the store cannot open.
    #[error("cannot open store at {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },

    /// A segment file's size is not the configured one: the store was written with another
    /// `mappedFileSizeCommitLog` / `mappedFileSizeConsumeQueue` (Apache RocketMQ's broker.conf
    /// may set them), and must be opened with the same.
    #[error(
        "{} is {found_bytes} bytes but the configured segment size is {expected_bytes}: open the \
         store with the segment sizes it was written with (mappedFileSizeCommitLog for commitlog/, \
         mappedFileSizeConsumeQueue for consumequeue/, as in the broker.conf that wrote it)",
        path.display()
    )]
    SegmentSize {
        path: PathBuf,
        found_bytes: u64,
        expected_bytes: u64,
    },

    /// Bytes a master sent cannot be appended to this (slave's) CommitLog.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// [`Self::io`], or [`Self::NoSpace`] when the disk is full (ENOSPC, EDQUOT): a new file
    /// could not get its blocks, a condition that ends when space returns.
    pub(crate) fn io_or_no_space(context: impl Into<String>, source: io::Error) -> Self {
        // The kind survives the contexts added on the way up (`io::Error::new(e.kind(), ..)`).
        let full = matches!(source.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
            || matches!(
                source.kind(),
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
            );
        if full {
            Self::NoSpace {
                what: context.into(),
                source,
            }
        } else {
            Self::io(context, source)
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why bytes at a CommitLog offset are not a complete, intact record (see
/// [`validate_record`](crate::validate_record)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The record's framing or fields cannot be decoded.
    #[error(transparent)]
    Malformed(#[from] DecodeError),
    #[error("PHYSICALOFFSET field is {field} but the record is at {offset}")]
    PhysicalOffsetMismatch { field: i64, offset: u64 },
    #[error("body CRC mismatch")]
    BodyCrcMismatch,
    #[error("negative queue id {0}")]
    NegativeQueueId(i32),
    #[error("illegal topic {0:?}")]
    IllegalTopic(String),
    #[error("store timestamp is not set")]
    StoreTimestampNotSet,
    #[error("properties do not end with a separator")]
    PropertiesUnterminated,
    #[error("properties contain NUL bytes")]
    PropertiesContainNul,
    #[error("properties are not UTF-8")]
    PropertiesNotUtf8,
}

/// Why the CommitLog cannot say what lies at an offset the dispatcher reached. Either means the
/// published log is damaged (a record boundary the writer published is not one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadRecordError {
    #[error("at CommitLog offset {offset}: {source}")]
    Head {
        offset: u64,
        #[source]
        source: DecodeError,
    },
    #[error("record at {offset} extends past the published end")]
    PastPublishedEnd { offset: u64 },
}

/// Why the dispatcher stopped: the record cannot be read, or its ConsumeQueue entry or index
/// keys cannot be written. The store becomes read-only (running) or refuses to open (recovery).
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Read(#[from] ReadRecordError),
    #[error("record at {offset}: {source}")]
    Record {
        offset: u64,
        #[source]
        source: DecodeError,
    },
    #[error("writing ConsumeQueue {topic}/{queue_id}: {source}")]
    ConsumeQueue {
        topic: String,
        queue_id: i32,
        #[source]
        source: io::Error,
    },
    #[error("writing IndexFile: {0}")]
    IndexFile(#[source] io::Error),
}

/// Why a `deleteWhen` value is not a list of hours of the day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeleteWhenError {
    #[error("{0:?} is not an hour of the day (00-23)")]
    NotAnHour(String),
    #[error("no hour given")]
    Empty,
}

/// Why replicated bytes were refused: the master's CommitLog and this one do not line up, or
/// the bytes are not whole records. The slave drops the connection and says so; nothing is
/// merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    #[error(
        "the master sent bytes for CommitLog offset {got} but this CommitLog ends at {expected}: \
         the two logs do not match (another broker's, or this one is longer than the master's)"
    )]
    OffsetMismatch { expected: u64, got: u64 },
    #[error("an empty CommitLog can only start at a segment boundary, not at {offset} (segments are {file_size} bytes)")]
    NotASegmentStart { offset: u64, file_size: u64 },
    #[error(
        "the master's bytes at CommitLog offset {offset} are not a valid record ({source}): \
         its CommitLog does not match this one"
    )]
    Record {
        offset: u64,
        #[source]
        source: RecordError,
    },
    #[error("the record at {offset} is incomplete")]
    Partial { offset: u64 },
    #[error("the record at {offset} runs past the end of its segment")]
    PastSegmentEnd { offset: u64 },
    #[error("the blank marker at {offset} does not fill its segment to the end")]
    BlankNotAtSegmentEnd { offset: u64 },
    #[error("zero TOTALSIZE at {offset}")]
    ZeroRecord { offset: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_creating_a_file_is_a_disk_full_error_others_are_io() {
        let e = StoreError::io_or_no_space(
            "the next CommitLog segment (offset 0)",
            io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert!(matches!(e, StoreError::NoSpace { .. }), "{e}");
        assert!(e.to_string().starts_with("disk full: no space left"), "{e}");
        // With a context added below, as mapped_file.rs adds the path.
        let wrapped = io::Error::new(io::ErrorKind::StorageFull, "allocating 16 bytes for f");
        assert!(matches!(
            StoreError::io_or_no_space("x", wrapped),
            StoreError::NoSpace { .. }
        ));
        let e = StoreError::io("x", io::Error::from_raw_os_error(libc::EIO));
        assert!(matches!(e, StoreError::Io { .. }));
        let e = StoreError::io_or_no_space("x", io::Error::from_raw_os_error(libc::EMFILE));
        assert!(matches!(e, StoreError::Io { .. }));
    }
}
