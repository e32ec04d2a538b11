//! Store configuration. Field names follow RocketMQ's `MessageStoreConfig` keys, with units last
//! (`flushIntervalCommitLog` → `flush_interval_commit_log_ms`); defaults are RocketMQ's.

use std::path::PathBuf;
use std::sync::Arc;

use crate::io::{Clock, DiskProbe, FaultInjector, NoFaults, StatvfsProbe, SystemClock};
use crate::tag_code::{DeliveryTimeTagCode, TagCodeHook};

/// When an append is acknowledged with respect to the disk (`flushDiskType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// Acknowledge once the record is in the page cache; flush in the background.
    AsyncFlush,
    /// Acknowledge only after an fsync covers the record (group commit).
    SyncFlush,
}

impl std::str::FromStr for FlushDiskType {
    type Err = ParseFlushDiskTypeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "ASYNC_FLUSH" => Ok(Self::AsyncFlush),
            "SYNC_FLUSH" => Ok(Self::SyncFlush),
            other => Err(ParseFlushDiskTypeError(other.to_string())),
        }
    }
}

/// A `flushDiskType` value that is neither `ASYNC_FLUSH` nor `SYNC_FLUSH`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("flushDiskType must be ASYNC_FLUSH or SYNC_FLUSH, not {0:?}")]
pub struct ParseFlushDiskTypeError(pub String);

/// The most a record can add to its body: fixed fields with IPv6 hosts (108), body length (4),
/// a topic of at most 255 bytes with its V2 length (257), properties of at most 32,767 bytes
/// with their length (32,769).
pub const MAX_RECORD_OVERHEAD_BYTES: u64 = 108 + 4 + 257 + 32_769;

/// Size of one ConsumeQueue entry: physical offset (8), size (4), tag hash code (8).
pub const CQ_ENTRY_SIZE_BYTES: u64 = 20;

#[derive(Clone)]
pub struct StoreConfig {
    /// `storePathRootDir`: holds `commitlog/`, `consumequeue/`, `index/`, `checkpoint`, `abort`, `lock`.
    pub store_path_root_dir: PathBuf,
    /// `mappedFileSizeCommitLog`: bytes per CommitLog segment (1 GiB).
    pub mapped_file_size_commit_log: u64,
    /// `mappedFileSizeConsumeQueue`: bytes per ConsumeQueue segment (300,000 entries × 20 bytes).
    pub mapped_file_size_consume_queue: u64,
    /// `flushDiskType`.
    pub flush_disk_type: FlushDiskType,
    /// `flushIntervalCommitLog`: background flush period under ASYNC_FLUSH (500 ms).
    pub flush_interval_commit_log_ms: u64,
    /// `flushCommitLogLeastPages`: under ASYNC_FLUSH, flush only once this many 4 KiB pages are
    /// dirty, except every `flush_commit_log_thorough_interval_ms` (4 pages).
    pub flush_commit_log_least_pages: u64,
    /// `flushCommitLogThoroughInterval` (10 s).
    pub flush_commit_log_thorough_interval_ms: u64,
    /// `syncFlushTimeout`: longest an append waits for its fsync under SYNC_FLUSH (5 s).
    pub sync_flush_timeout_ms: u64,
    /// `flushIntervalConsumeQueue`: period of the ConsumeQueue/IndexFile flush and checkpoint (1 s).
    pub flush_interval_consume_queue_ms: u64,
    /// `maxMessageSize`: largest body accepted (4 MiB).
    pub max_message_size_bytes: usize,
    /// `messageIndexEnable`: build the IndexFile.
    pub message_index_enable: bool,
    /// `maxHashSlotNum`: hash slots per IndexFile (5,000,000).
    pub max_hash_slot_num: u32,
    /// `maxIndexNum`: entries per IndexFile (20,000,000).
    pub max_index_num: u32,
    /// `maxMsgsNumBatch`-like bound on ConsumeQueue entries one read inspects when filtering (16,000).
    pub max_filter_message_count: usize,
    /// `fileReservedTime`: hours a CommitLog segment is kept after its last write (72).
    pub file_reserved_time_hours: u64,
    /// `deleteWhen`: hours of the day (`"04"`, or several as `"04;16"`) when expired files go.
    pub delete_when: String,
    /// `diskMaxUsedSpaceRatio`: above this disk use (percent), expired files go at any hour (75).
    pub disk_max_used_space_ratio: u32,
    /// `diskSpaceCleanForciblyRatio`: above this, the oldest files go even if not expired (85),
    /// when `clean_file_forcibly_enable` allows it.
    pub disk_space_clean_forcibly_ratio: u32,
    /// `cleanFileForciblyEnable`: whether retention may delete segments still inside
    /// `fileReservedTime` to free disk space. RocketMQ: on; Petrel: **off**, because it deletes
    /// acknowledged messages no consumer may have read (a full disk then refuses writes with
    /// "disk full" instead, and reads go on).
    pub clean_file_forcibly_enable: bool,
    /// `diskSpaceWarningLevelRatio`: above this, writes are refused ("disk full") (90).
    pub disk_space_warning_level_ratio: u32,
    /// `cleanResourceInterval`: period of the retention check (10 s).
    pub clean_resource_interval_ms: u64,
    /// `deleteCommitLogFilesInterval`-like cap on segments deleted per retention round (10).
    pub delete_files_batch_max: usize,
    /// `warmMapedFileEnable`: pre-fault the next CommitLog segment in the background so that
    /// the writer never takes the first-touch page faults (Petrel default: on).
    pub warm_mapped_file_enable: bool,
    /// What the dispatcher writes as the ConsumeQueue tag code of records whose topic keeps
    /// something other than the tags hash there. Default: [`DeliveryTimeTagCode`] with
    /// RocketMQ's `messageDelayLevel` (delayed records carry their delivery time, timer records
    /// their `TIMER_OUT_MS`, as in RocketMQ); the broker installs its own delay table.
    pub tag_code_hook: Arc<dyn TagCodeHook>,
    /// Time source (tests move it).
    pub clock: Arc<dyn Clock>,
    /// Disk-usage source (tests fake a full disk).
    pub disk_probe: Arc<dyn DiskProbe>,
    /// Fault injection for flush and file creation (tests fail an fsync).
    pub faults: Arc<dyn FaultInjector>,
    /// Cut the CommitLog at this offset while opening (AutoSwitch replication: a broker that
    /// follows a new master first drops what it does not share with it, the records from the
    /// last common epoch's end on). A cut inside a record cuts at that record's start; a log
    /// that ends before it is not touched. ConsumeQueues are trimmed as after any cut.
    pub truncate_commit_log_at: Option<u64>,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("store_path_root_dir", &self.store_path_root_dir)
            .field(
                "mapped_file_size_commit_log",
                &self.mapped_file_size_commit_log,
            )
            .field(
                "mapped_file_size_consume_queue",
                &self.mapped_file_size_consume_queue,
            )
            .field("flush_disk_type", &self.flush_disk_type)
            .field("sync_flush_timeout_ms", &self.sync_flush_timeout_ms)
            .field("truncate_commit_log_at", &self.truncate_commit_log_at)
            .field("tag_code_hook", &self.tag_code_hook)
            .finish_non_exhaustive()
    }
}

impl StoreConfig {
    /// RocketMQ's defaults, rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            store_path_root_dir: root.into(),
            mapped_file_size_commit_log: 1024 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * CQ_ENTRY_SIZE_BYTES,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval_commit_log_ms: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval_ms: 10_000,
            sync_flush_timeout_ms: 5_000,
            flush_interval_consume_queue_ms: 1_000,
            max_message_size_bytes: 4 * 1024 * 1024,
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            max_filter_message_count: 16_000,
            file_reserved_time_hours: 72,
            delete_when: "04".to_string(),
            disk_max_used_space_ratio: 75,
            disk_space_clean_forcibly_ratio: 85,
            clean_file_forcibly_enable: false,
            disk_space_warning_level_ratio: 90,
            clean_resource_interval_ms: 10_000,
            delete_files_batch_max: 10,
            warm_mapped_file_enable: true,
            tag_code_hook: Arc::new(DeliveryTimeTagCode::default()),
            clock: Arc::new(SystemClock),
            disk_probe: Arc::new(StatvfsProbe),
            faults: Arc::new(NoFaults),
            truncate_commit_log_at: None,
        }
    }

    /// Checks the values that would make the store misbehave, naming the offending key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let min_segment = (petrel_protocol::message::MIN_RECORD_SIZE * 4) as u64;
        if self.mapped_file_size_commit_log < min_segment {
            return Err(ConfigError::new(
                "mappedFileSizeCommitLog",
                format!("must be at least {min_segment} bytes"),
            ));
        }
        if self.mapped_file_size_commit_log > i64::MAX as u64 / 2 {
            return Err(ConfigError::new("mappedFileSizeCommitLog", "is too large"));
        }
        if self.mapped_file_size_consume_queue < CQ_ENTRY_SIZE_BYTES
            || self.mapped_file_size_consume_queue % CQ_ENTRY_SIZE_BYTES != 0
        {
            return Err(ConfigError::new(
                "mappedFileSizeConsumeQueue",
                "must be a positive multiple of 20 bytes",
            ));
        }
        let largest_record = self.max_message_size_bytes as u64 + MAX_RECORD_OVERHEAD_BYTES + 8;
        if largest_record > self.mapped_file_size_commit_log {
            return Err(ConfigError::new(
                "maxMessageSize",
                format!(
                    "{} bytes plus headers does not fit a {}-byte CommitLog segment",
                    self.max_message_size_bytes, self.mapped_file_size_commit_log
                ),
            ));
        }
        if self.max_hash_slot_num == 0 || self.max_index_num < 2 {
            return Err(ConfigError::new(
                "maxHashSlotNum/maxIndexNum",
                "must be positive",
            ));
        }
        if self.sync_flush_timeout_ms == 0 {
            return Err(ConfigError::new("syncFlushTimeout", "must be positive"));
        }
        if self.flush_interval_commit_log_ms == 0 || self.flush_interval_consume_queue_ms == 0 {
            return Err(ConfigError::new(
                "flushIntervalCommitLog/flushIntervalConsumeQueue",
                "must be positive",
            ));
        }
        for (key, v) in [
            ("diskMaxUsedSpaceRatio", self.disk_max_used_space_ratio),
            (
                "diskSpaceCleanForciblyRatio",
                self.disk_space_clean_forcibly_ratio,
            ),
            (
                "diskSpaceWarningLevelRatio",
                self.disk_space_warning_level_ratio,
            ),
        ] {
            if !(10..=100).contains(&v) {
                return Err(ConfigError::new(
                    key,
                    format!("must be a percentage between 10 and 100, not {v}"),
                ));
            }
        }
        crate::clean::parse_delete_when(&self.delete_when)
            .map_err(|e| ConfigError::new("deleteWhen", e.to_string()))?;
        Ok(())
    }

    pub(crate) fn commit_log_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("commitlog")
    }
    pub(crate) fn consume_queue_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }
    pub(crate) fn index_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("index")
    }
    pub(crate) fn checkpoint_path(&self) -> PathBuf {
        self.store_path_root_dir.join("checkpoint")
    }
    pub(crate) fn abort_path(&self) -> PathBuf {
        self.store_path_root_dir.join("abort")
    }
    pub(crate) fn lock_path(&self) -> PathBuf {
        self.store_path_root_dir.join("lock")
    }
}

/// A configuration value that cannot work, with the RocketMQ key it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid store configuration {key}: {reason}")]
pub struct ConfigError {
    pub key: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(key: &'static str, reason: impl Into<String>) -> Self {
        Self {
            key,
            reason: reason.into(),
        }
    }
}
