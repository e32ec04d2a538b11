//! Store errors. Callers map them to RocketMQ response codes at their boundary
//! (e.g. `MessageIllegal` → MESSAGE_ILLEGAL, `DiskFull`/`Poisoned` → SERVICE_NOT_AVAILABLE).

use std::io;
use std::path::PathBuf;

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
    #[error("disk full: {used_percent:.1}% of the disk holding the store is used (writes stop at {limit_percent}%)")]
    DiskFull {
        used_percent: f64,
        limit_percent: u32,
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
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
