//! CommitLog flushing: group commit under SYNC_FLUSH, periodic flush under ASYNC_FLUSH.
//!
//! Under SYNC_FLUSH an appender registers the offset its record ends at and waits until the
//! flushed offset reaches it. The flush thread, woken by any request, flushes *everything
//! published so far* in one go; appenders that arrived while an fsync was running are all
//! covered by the next one. That is group commit: the number of fsyncs depends on the disk's
//! speed, not on the number of writers.
//!
//! A failed flush poisons the store (see [`crate::error::StoreError::Poisoned`]): waiters are
//! woken with the error and every later append is refused.
//!
//! This file holds both halves: [`FlushService`], the bookkeeping appenders wait on, and the
//! `petrel-flush` thread ([`run`]) that drives the flushes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use crate::config::FlushDiskType;
use crate::store::StoreInner;

/// What waiters observe: the flushed offset, and whether flushing has failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushProgress {
    pub flushed_offset: u64,
    pub failed: bool,
}

/// How a wait for durability ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushWait {
    Flushed,
    TimedOut,
    Failed,
}

pub struct FlushService {
    requested: AtomicU64,
    flushed: AtomicU64,
    progress_tx: watch::Sender<FlushProgress>,
    /// Wakes the flush thread.
    wake: Mutex<bool>,
    wake_cv: Condvar,
    /// Wakes blocking waiters.
    done: Mutex<()>,
    done_cv: Condvar,
    /// Counters for diagnostics and benchmarks.
    pub(crate) flush_count: AtomicU64,
}

impl FlushService {
    pub fn new(flushed: u64) -> Self {
        let (progress_tx, _) = watch::channel(FlushProgress {
            flushed_offset: flushed,
            failed: false,
        });
        Self {
            requested: AtomicU64::new(flushed),
            flushed: AtomicU64::new(flushed),
            progress_tx,
            wake: Mutex::new(false),
            wake_cv: Condvar::new(),
            done: Mutex::new(()),
            done_cv: Condvar::new(),
            flush_count: AtomicU64::new(0),
        }
    }

    pub fn flushed_offset(&self) -> u64 {
        self.flushed.load(Ordering::Acquire)
    }

    fn failed(&self) -> bool {
        self.progress_tx.borrow().failed
    }

    /// Asks the flush thread to cover `offset`.
    pub fn request(&self, offset: u64) {
        if self.requested.fetch_max(offset, Ordering::AcqRel) < offset {
            let mut pending = self.wake.lock();
            *pending = true;
            self.wake_cv.notify_one();
        }
    }

    /// Wakes the flush thread without a request (shutdown).
    pub fn wake(&self) {
        let mut pending = self.wake.lock();
        *pending = true;
        self.wake_cv.notify_one();
    }

    /// Flush thread: waits until there is something requested or `timeout` passes.
    /// Returns true if a request is pending.
    pub fn wait_for_request(&self, timeout: Duration) -> bool {
        let mut pending = self.wake.lock();
        if !*pending && self.requested.load(Ordering::Acquire) <= self.flushed_offset() {
            self.wake_cv.wait_for(&mut pending, timeout);
        }
        let was = *pending;
        *pending = false;
        was || self.requested.load(Ordering::Acquire) > self.flushed_offset()
    }

    /// Flush thread: records that everything before `offset` is on disk.
    pub fn complete(&self, offset: u64) {
        let prev = self.flushed.fetch_max(offset, Ordering::AcqRel);
        if offset > prev {
            self.flush_count.fetch_add(1, Ordering::Relaxed);
            self.progress_tx.send_replace(FlushProgress {
                flushed_offset: offset,
                failed: false,
            });
            let _guard = self.done.lock();
            self.done_cv.notify_all();
        }
    }

    /// Flush thread: flushing failed; wake everyone with the failure.
    pub fn fail(&self) {
        self.progress_tx.send_replace(FlushProgress {
            flushed_offset: self.flushed_offset(),
            failed: true,
        });
        let _guard = self.done.lock();
        self.done_cv.notify_all();
    }

    /// Waits (async) until `offset` is flushed, flushing fails, or `timeout` passes.
    pub async fn wait_flushed(&self, offset: u64, timeout: Duration) -> FlushWait {
        let mut rx = self.progress_tx.subscribe();
        let wait = async move {
            rx.wait_for(|p| p.failed || p.flushed_offset >= offset)
                .await
                .map(|p| *p)
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(p)) if p.failed && p.flushed_offset < offset => FlushWait::Failed,
            Ok(Ok(_)) => FlushWait::Flushed,
            Ok(Err(_)) => FlushWait::Failed,
            Err(_) => FlushWait::TimedOut,
        }
    }

    /// Waits (blocking) until `offset` is flushed, flushing fails, or `timeout` passes.
    pub fn wait_flushed_blocking(&self, offset: u64, timeout: Duration) -> FlushWait {
        let deadline = std::time::Instant::now() + timeout;
        let mut guard = self.done.lock();
        loop {
            if self.flushed_offset() >= offset {
                return FlushWait::Flushed;
            }
            if self.failed() {
                return FlushWait::Failed;
            }
            if self.done_cv.wait_until(&mut guard, deadline).timed_out() {
                return if self.flushed_offset() >= offset {
                    FlushWait::Flushed
                } else {
                    FlushWait::TimedOut
                };
            }
        }
    }
}

/// The page size `flushCommitLogLeastPages` counts in (RocketMQ's `OS_PAGE_SIZE`).
const OS_PAGE_SIZE_BYTES: u64 = 4096;

impl StoreInner {
    /// Flushes the CommitLog once and tells waiters. A failure poisons the store and wakes every
    /// waiter with it; returns whether the flush succeeded.
    pub(crate) fn flush_commit_log(&self) -> bool {
        let started = Instant::now();
        let flushed = self.commit_log.flush();
        self.stats.record_flush(started.elapsed());
        match flushed {
            Ok(offset) => {
                self.flush.complete(offset);
                if self.config.flush_disk_type == FlushDiskType::SyncFlush {
                    self.dispatch_signal.wake();
                }
                true
            }
            Err(e) => {
                self.poison(format!("CommitLog flush failed: {e}"));
                self.flush.fail();
                false
            }
        }
    }
}

/// The `petrel-flush` thread: under SYNC_FLUSH it flushes whenever an appender asks (group
/// commit), under ASYNC_FLUSH every `flushIntervalCommitLog` once `flushCommitLogLeastPages` are
/// dirty (everything every `flushCommitLogThoroughInterval`). It flushes once more on its way
/// out, and stops for good after a failed flush (the store is poisoned).
pub(crate) fn run(inner: Arc<StoreInner>) {
    let interval = Duration::from_millis(inner.config.flush_interval_commit_log_ms);
    match inner.config.flush_disk_type {
        FlushDiskType::SyncFlush => loop {
            let stopping = inner.stopping.load(Ordering::Acquire);
            let requested = inner.flush.wait_for_request(interval);
            if (requested || stopping) && !inner.flush_commit_log() {
                return;
            }
            if stopping {
                return;
            }
        },
        FlushDiskType::AsyncFlush => {
            let least_bytes = inner.config.flush_commit_log_least_pages * OS_PAGE_SIZE_BYTES;
            let thorough =
                Duration::from_millis(inner.config.flush_commit_log_thorough_interval_ms);
            let mut last_thorough = Instant::now();
            loop {
                let stopping = inner.sleep(interval);
                let unflushed = inner
                    .commit_log
                    .unflushed_bytes(inner.flush.flushed_offset());
                let due = last_thorough.elapsed() >= thorough;
                if unflushed > 0 && (stopping || due || unflushed >= least_bytes) {
                    if !inner.flush_commit_log() {
                        return;
                    }
                    if due {
                        last_thorough = Instant::now();
                    }
                }
                if stopping {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn blocking_waiters_see_completion_failure_and_timeout() {
        let svc = Arc::new(FlushService::new(0));
        assert_eq!(
            svc.wait_flushed_blocking(10, Duration::from_millis(20)),
            FlushWait::TimedOut
        );
        let s = Arc::clone(&svc);
        let t = std::thread::spawn(move || s.wait_flushed_blocking(100, Duration::from_secs(10)));
        svc.complete(100);
        assert_eq!(t.join().unwrap(), FlushWait::Flushed);
        let s = Arc::clone(&svc);
        let t = std::thread::spawn(move || s.wait_flushed_blocking(200, Duration::from_secs(10)));
        svc.fail();
        assert_eq!(t.join().unwrap(), FlushWait::Failed);
    }

    #[tokio::test]
    async fn async_waiters_see_completion() {
        let svc = Arc::new(FlushService::new(0));
        let s = Arc::clone(&svc);
        let waiter = tokio::spawn(async move { s.wait_flushed(50, Duration::from_secs(10)).await });
        tokio::task::yield_now().await;
        svc.complete(60);
        assert_eq!(waiter.await.unwrap(), FlushWait::Flushed);
        assert_eq!(
            svc.wait_flushed(70, Duration::from_millis(10)).await,
            FlushWait::TimedOut
        );
    }

    #[test]
    fn requests_wake_the_flush_thread() {
        let svc = FlushService::new(0);
        assert!(!svc.wait_for_request(Duration::from_millis(1)));
        svc.request(5);
        assert!(svc.wait_for_request(Duration::from_secs(5)));
    }
}
