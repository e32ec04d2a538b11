//! `MessageStore`: the store's API (write path, listeners, shutdown) and the state its threads
//! share ([`StoreInner`]). Opening and recovery are in `open.rs`, the read path in `get.rs`.
//!
//! Threads, each a loop in its service's file: `petrel-flush` (`flush::run`: CommitLog flush /
//! group commit), `petrel-dispatch` (`dispatch::run`: ConsumeQueue and IndexFile building),
//! `petrel-checkpoint` (`checkpoint::run`: ConsumeQueue/IndexFile flush + checkpoint),
//! `petrel-clean` (`clean::run`: disk usage and retention), `petrel-allocate` (`allocate.rs`:
//! next segment). This file only starts and stops them.
//!
//! Only [`MessageStore::shutdown`] stops the store cleanly (everything flushed, checkpoint
//! written, `abort` removed). Dropping the store without it stops the threads but leaves the
//! files as a crash would, and the next open recovers.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};
use petrel_protocol::message::MessageToStore;

use crate::commit_log::{AppendResult, CommitLog};
use crate::config::{FlushDiskType, StoreConfig};
use crate::consume_queue::ConsumeQueueTable;
use crate::dispatch::{self, Arrival, ArrivalListener, DispatchProgress, DispatchSignal};
use crate::error::{Result, StoreError};
use crate::flush::{FlushService, FlushWait};
use crate::index::IndexService;
use crate::io::DirLock;
use crate::{checkpoint, clean, flush};

/// How a put ended, for a message that was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStatus {
    /// Stored, and durable as the flush mode promises.
    PutOk,
    /// Stored, but the fsync did not complete within `syncFlushTimeout` (RocketMQ's
    /// FLUSH_DISK_TIMEOUT: the data is written and will be flushed).
    FlushDiskTimeout,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    pub status: PutStatus,
    pub append: AppendResult,
}

/// Counters for runtime info, metrics and benchmarks.
#[derive(Debug, Default)]
pub struct StoreStats {
    pub put_message_count: AtomicU64,
    pub put_message_bytes: AtomicU64,
    pub get_message_count: AtomicU64,
    /// CommitLog flushes (msync) and how long they took: a histogram over
    /// [`FLUSH_LATENCY_BUCKETS_MS`] (the last bucket counts the rest), and the total in µs.
    pub flush_latency_buckets: [AtomicU64; FLUSH_LATENCY_BUCKETS_MS.len() + 1],
    pub flush_count: AtomicU64,
    pub flush_micros_total: AtomicU64,
    /// Messages removed by forced cleaning (`cleanFileForciblyEnable`, segments inside
    /// `fileReservedTime`), and how many of them some consumer group had not consumed.
    pub forced_deleted_messages: AtomicU64,
    pub forced_deleted_unconsumed: AtomicU64,
}

/// Upper bounds (inclusive, ms) of the flush-latency histogram's buckets.
pub const FLUSH_LATENCY_BUCKETS_MS: [u64; 8] = [1, 2, 5, 10, 50, 100, 500, 1_000];

impl StoreStats {
    /// Counts one CommitLog flush that took `elapsed`.
    pub fn record_flush(&self, elapsed: std::time::Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = FLUSH_LATENCY_BUCKETS_MS
            .iter()
            .position(|&ms| micros <= ms * 1_000)
            .unwrap_or(FLUSH_LATENCY_BUCKETS_MS.len());
        self.flush_latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.flush_count.fetch_add(1, Ordering::Relaxed);
        self.flush_micros_total.fetch_add(micros, Ordering::Relaxed);
    }
}

/// What recovery found, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    pub clean_shutdown: bool,
    pub commit_log_end: u64,
    pub truncated_because: Option<String>,
    pub records_scanned: u64,
    pub redispatched_from: u64,
    /// The checkpoint was Apache RocketMQ's (no Petrel section): the store was last written by
    /// RocketMQ, so the whole CommitLog was verified and dispatched again.
    pub written_by_rocketmq: bool,
    pub elapsed_ms: u64,
}

pub(crate) struct StoreInner {
    pub config: StoreConfig,
    pub commit_log: CommitLog,
    pub consume_queues: ConsumeQueueTable,
    pub index: Option<IndexService>,
    pub flush: FlushService,
    pub dispatch: DispatchProgress,
    pub dispatch_signal: DispatchSignal,
    listeners: RwLock<Vec<ArrivalListener>>,
    /// The broker's committed offsets, for counting what a forced deletion removes unread.
    pub consumed_offsets: RwLock<Option<Arc<dyn crate::clean::ConsumedOffsets>>>,
    poisoned: Mutex<Option<String>>,
    is_poisoned: AtomicBool,
    disk_used_percent_bits: AtomicU64,
    /// When the disk usage was last sampled (clock ms).
    disk_sampled_at_ms: AtomicI64,
    pub stopping: AtomicBool,
    stop_lock: Mutex<()>,
    stop_cv: Condvar,
    pub stats: StoreStats,
    /// Replication offsets recorded in the checkpoint (see `replica.rs`).
    pub replicated: crate::replica::ReplicatedOffsets,
    /// Held while the store is open; released by shutdown.
    dir_lock: Mutex<Option<DirLock>>,
}

impl StoreInner {
    /// A store recovered up to `end_offset`, whose dispatcher resumes at `redispatch_from`.
    pub(crate) fn new(
        config: StoreConfig,
        commit_log: CommitLog,
        consume_queues: ConsumeQueueTable,
        index: Option<IndexService>,
        end_offset: u64,
        redispatch_from: u64,
        dir_lock: DirLock,
    ) -> Self {
        Self {
            flush: FlushService::new(end_offset),
            dispatch: DispatchProgress::new(redispatch_from),
            dispatch_signal: DispatchSignal::default(),
            listeners: RwLock::new(Vec::new()),
            consumed_offsets: RwLock::new(None),
            poisoned: Mutex::new(None),
            is_poisoned: AtomicBool::new(false),
            disk_used_percent_bits: AtomicU64::new(0f64.to_bits()),
            disk_sampled_at_ms: AtomicI64::new(i64::MIN),
            stopping: AtomicBool::new(false),
            stop_lock: Mutex::new(()),
            stop_cv: Condvar::new(),
            stats: StoreStats::default(),
            replicated: Default::default(),
            dir_lock: Mutex::new(Some(dir_lock)),
            config,
            commit_log,
            consume_queues,
            index,
        }
    }

    pub(crate) fn dispatch_bound(&self) -> u64 {
        match self.config.flush_disk_type {
            FlushDiskType::SyncFlush => self.flush.flushed_offset(),
            FlushDiskType::AsyncFlush => self.commit_log.max_offset(),
        }
    }

    pub(crate) fn notify_arrivals(&self, arrivals: &[Arrival]) {
        for listener in self.listeners.read().iter() {
            listener(arrivals);
        }
    }

    /// Puts the store into the read-only state; the first reason wins.
    pub(crate) fn poison(&self, reason: String) {
        let mut slot = self.poisoned.lock();
        if slot.is_none() {
            tracing::error!(%reason, "store is now read-only");
            *slot = Some(reason);
            self.is_poisoned.store(true, Ordering::Release);
        }
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.is_poisoned.load(Ordering::Acquire)
    }

    pub(crate) fn disk_used_percent(&self) -> f64 {
        f64::from_bits(self.disk_used_percent_bits.load(Ordering::Acquire))
    }

    /// Sleeps up to `timeout`; returns true if the store is stopping. The service threads'
    /// pause: shutdown and drop wake it at once.
    pub(crate) fn sleep(&self, timeout: Duration) -> bool {
        let mut guard = self.stop_lock.lock();
        if !self.stopping.load(Ordering::Acquire) {
            self.stop_cv.wait_for(&mut guard, timeout);
        }
        self.stopping.load(Ordering::Acquire)
    }

    /// Re-reads the disk usage that appends and retention check.
    /// The disk usage as the append path checks it: sampled again when the last sample is
    /// older than [`DISK_USAGE_MAX_AGE_MS`] (one `statvfs`, by whichever append notices), so a
    /// fast producer meets the watermark's clear "disk full" answer rather than ENOSPC between
    /// two retention rounds (`cleanResourceInterval`, 10 s).
    pub(crate) fn disk_used_percent_fresh(&self) -> f64 {
        let now = self.config.clock.now_ms();
        let at = self.disk_sampled_at_ms.load(Ordering::Acquire);
        if now.saturating_sub(at) >= DISK_USAGE_MAX_AGE_MS
            && self
                .disk_sampled_at_ms
                .compare_exchange(at, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.update_disk_usage();
        }
        self.disk_used_percent()
    }

    pub(crate) fn update_disk_usage(&self) {
        match self
            .config
            .disk_probe
            .used_percent(&self.config.store_path_root_dir)
        {
            Ok(p) => self
                .disk_used_percent_bits
                .store(p.to_bits(), Ordering::Release),
            Err(e) => tracing::warn!(error = %e, "cannot read disk usage"),
        }
    }
}

/// The append path samples the disk usage at least this often (see
/// [`StoreInner::disk_used_percent_fresh`]).
pub(crate) const DISK_USAGE_MAX_AGE_MS: i64 = 100;

/// The message store.
pub struct MessageStore {
    pub(crate) inner: Arc<StoreInner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    recovery: RecoveryReport,
    closed: AtomicBool,
}

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore")
            .field("root", &self.inner.config.store_path_root_dir)
            .finish()
    }
}

impl MessageStore {
    /// Opens the store at `config.store_path_root_dir`, recovering it if the last run did not
    /// stop cleanly (the steps are in `open.rs`), and starts its threads.
    pub fn open(config: StoreConfig) -> Result<Self> {
        let (inner, recovery) = crate::open::open(config)?;
        tracing::info!(?recovery, "store opened");
        let store = Self {
            inner,
            threads: Mutex::new(Vec::new()),
            recovery,
            closed: AtomicBool::new(false),
        };
        store.start_threads()?;
        Ok(store)
    }

    fn start_threads(&self) -> Result<()> {
        let mut threads = self.threads.lock();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(f)
                .map_err(|e| StoreError::io(format!("spawning {name}"), e))
        };
        let inner = Arc::clone(&self.inner);
        let dispatcher = spawn("petrel-dispatch", Box::new(move || dispatch::run(inner)))?;
        self.inner
            .dispatch_signal
            .set_thread(dispatcher.thread().clone());
        threads.push(dispatcher);
        let inner = Arc::clone(&self.inner);
        threads.push(spawn("petrel-flush", Box::new(move || flush::run(inner)))?);
        let inner = Arc::clone(&self.inner);
        threads.push(spawn(
            "petrel-checkpoint",
            Box::new(move || checkpoint::run(inner)),
        )?);
        let inner = Arc::clone(&self.inner);
        threads.push(spawn("petrel-clean", Box::new(move || clean::run(inner)))?);
        Ok(())
    }

    /// What recovery found when this store was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// Registers a callback told about every dispatch round's grown queues.
    pub fn add_arrival_listener(&self, listener: ArrivalListener) {
        self.inner.listeners.write().push(listener);
    }

    /// Tells the store how far consumer groups have consumed (the broker owns committed
    /// offsets; the store knows no groups), so that a forced deletion counts the messages it
    /// removes unread.
    pub fn set_consumed_offsets(&self, offsets: Arc<dyn crate::clean::ConsumedOffsets>) {
        *self.inner.consumed_offsets.write() = Some(offsets);
    }

    /// Why the store is read-only, if it is.
    pub fn poisoned(&self) -> Option<String> {
        if self.inner.is_poisoned() {
            self.inner.poisoned.lock().clone()
        } else {
            None
        }
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.inner.stopping.load(Ordering::Acquire) {
            return Err(StoreError::ShutDown);
        }
        if let Some(reason) = self.poisoned() {
            return Err(StoreError::Poisoned(reason));
        }
        let used = self.inner.disk_used_percent_fresh();
        let limit = self.inner.config.disk_space_warning_level_ratio;
        if used >= f64::from(limit) {
            return Err(StoreError::DiskFull {
                used_percent: used,
                limit_percent: limit,
            });
        }
        Ok(())
    }

    /// Appends `msgs` (one message, or a batch for one topic/queue) without waiting for any
    /// flush. Under SYNC_FLUSH the flush is requested; wait with [`Self::wait_durable`].
    pub fn append(&self, msgs: &[MessageToStore<'_>]) -> Result<AppendResult> {
        self.check_writable()?;
        let result = self.inner.commit_log.append(msgs)?;
        self.inner
            .stats
            .put_message_count
            .fetch_add(msgs.len() as u64, Ordering::Relaxed);
        self.inner
            .stats
            .put_message_bytes
            .fetch_add(result.wrote_bytes as u64, Ordering::Relaxed);
        match self.inner.config.flush_disk_type {
            FlushDiskType::SyncFlush => self.inner.flush.request(result.end_offset),
            FlushDiskType::AsyncFlush => self.inner.dispatch_signal.wake(),
        }
        Ok(result)
    }

    fn put_status(&self, wait: FlushWait) -> Result<PutStatus> {
        match wait {
            FlushWait::Flushed => Ok(PutStatus::PutOk),
            FlushWait::TimedOut => Ok(PutStatus::FlushDiskTimeout),
            FlushWait::Failed => Err(StoreError::Poisoned(
                self.poisoned()
                    .unwrap_or_else(|| "flush failed".to_string()),
            )),
        }
    }

    /// Waits until everything before `end_offset` is flushed (bounded by `syncFlushTimeout`).
    pub async fn wait_durable(&self, end_offset: u64) -> Result<PutStatus> {
        let timeout = Duration::from_millis(self.inner.config.sync_flush_timeout_ms);
        self.put_status(self.inner.flush.wait_flushed(end_offset, timeout).await)
    }

    /// Blocking form of [`Self::wait_durable`].
    pub fn wait_durable_blocking(&self, end_offset: u64) -> Result<PutStatus> {
        let timeout = Duration::from_millis(self.inner.config.sync_flush_timeout_ms);
        self.put_status(self.inner.flush.wait_flushed_blocking(end_offset, timeout))
    }

    /// Stores `msgs` and, under SYNC_FLUSH with `wait_store_msg_ok` (the `WAIT` property,
    /// default true), returns only once they are durable.
    pub async fn put_messages(
        &self,
        msgs: &[MessageToStore<'_>],
        wait_store_msg_ok: bool,
    ) -> Result<PutResult> {
        let append = self.append(msgs)?;
        let status = if self.must_wait(wait_store_msg_ok) {
            self.wait_durable(append.end_offset).await?
        } else {
            PutStatus::PutOk
        };
        Ok(PutResult { status, append })
    }

    /// Blocking form of [`Self::put_messages`].
    pub fn put_messages_blocking(
        &self,
        msgs: &[MessageToStore<'_>],
        wait_store_msg_ok: bool,
    ) -> Result<PutResult> {
        let append = self.append(msgs)?;
        let status = if self.must_wait(wait_store_msg_ok) {
            self.wait_durable_blocking(append.end_offset)?
        } else {
            PutStatus::PutOk
        };
        Ok(PutResult { status, append })
    }

    fn must_wait(&self, wait_store_msg_ok: bool) -> bool {
        wait_store_msg_ok && self.inner.config.flush_disk_type == FlushDiskType::SyncFlush
    }

    /// Deletes the ConsumeQueues of `topics` (their records stay in the CommitLog until
    /// retention removes them).
    pub fn delete_topics(&self, topics: &[String]) {
        for topic in topics {
            self.inner.consume_queues.remove_topic(topic);
        }
        self.inner.commit_log.remove_topics(topics);
    }

    /// Runs one retention round now, as if `deleteWhen` were this hour (mqadmin's
    /// `deleteExpiredCommitLog`). Returns the number of CommitLog segments deleted.
    pub fn delete_expired_files_now(&self) -> usize {
        self.inner.clean(true)
    }

    /// Re-reads disk usage now (normally done every `cleanResourceInterval`).
    pub fn refresh_disk_usage(&self) {
        self.inner.update_disk_usage();
    }

    pub fn disk_used_percent(&self) -> f64 {
        self.inner.disk_used_percent()
    }

    pub fn stats(&self) -> &StoreStats {
        &self.inner.stats
    }

    /// Number of CommitLog flushes (fsyncs) so far.
    pub fn flush_count(&self) -> u64 {
        self.inner.flush.flush_count.load(Ordering::Relaxed)
    }

    pub fn flushed_offset(&self) -> u64 {
        self.inner.flush.flushed_offset()
    }

    pub fn dispatched_offset(&self) -> u64 {
        self.inner.dispatch.dispatched.load(Ordering::Acquire)
    }

    /// Waits until the ConsumeQueues and IndexFiles show every message acknowledged before this
    /// call (the dispatcher reached the dispatch bound as it is now), or `timeout` passes;
    /// returns whether they do. Lookups that must see what a producer was just told is stored
    /// (max offset, offset by time, query by key) call this first: dispatch runs behind the
    /// append, usually by microseconds, but by much more while a fresh store creates its
    /// first ConsumeQueue and IndexFile or the machine is loaded.
    pub async fn wait_dispatched(&self, timeout: std::time::Duration) -> bool {
        let bound = self.inner.dispatch_bound();
        self.inner.dispatch.wait_for(bound, timeout).await
    }

    /// Stops cleanly: refuses new appends, flushes the CommitLog, lets the dispatcher catch up,
    /// flushes ConsumeQueues and IndexFiles, writes the checkpoint and removes `abort`.
    pub fn shutdown(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let inner = &self.inner;
        inner
            .commit_log
            .with_appends_blocked(|| inner.stopping.store(true, Ordering::Release));
        {
            let _guard = inner.stop_lock.lock();
            inner.stop_cv.notify_all();
        }
        inner.flush.wake();
        inner.dispatch_signal.wake();
        for thread in self.threads.lock().drain(..) {
            let _ = thread.join();
        }
        inner.commit_log.allocator().shutdown();
        if let Some(reason) = self.poisoned() {
            return Err(StoreError::Poisoned(reason));
        }
        // The flush thread flushed on its way out; make sure, then finish dispatching.
        if !inner.flush_commit_log() {
            return Err(StoreError::Poisoned(self.poisoned().unwrap_or_default()));
        }
        let end = inner.commit_log.max_offset();
        loop {
            let (arrivals, caught_up) = dispatch::dispatch_some(inner, end, usize::MAX)
                .map_err(|e| StoreError::Poisoned(e.to_string()))?;
            if !arrivals.is_empty() {
                inner.notify_arrivals(&arrivals);
            }
            if caught_up {
                break;
            }
        }
        inner.checkpoint()?;
        std::fs::remove_file(inner.config.abort_path())
            .map_err(|e| StoreError::io("removing the abort marker", e))?;
        petrel_fs::sync_dir(&inner.config.store_path_root_dir)
            .map_err(|e| StoreError::io("syncing the store directory", e))?;
        inner.dir_lock.lock().take();
        Ok(())
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // Not a clean shutdown: stop the threads, leave the files as they are.
        self.inner.stopping.store(true, Ordering::Release);
        {
            let _guard = self.inner.stop_lock.lock();
            self.inner.stop_cv.notify_all();
        }
        self.inner.flush.wake();
        self.inner.dispatch_signal.wake();
        for thread in self.threads.lock().drain(..) {
            let _ = thread.join();
        }
        self.inner.commit_log.allocator().shutdown();
    }
}
