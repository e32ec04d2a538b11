//! Flush behaviour: group commit, FLUSH_DISK_TIMEOUT, poisoning on a failed fsync, and that
//! under SYNC_FLUSH consumers only see flushed messages.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::*;
use petrel_store::io::FaultInjector;
use petrel_store::{AcceptAll, MessageStore, PutStatus, StoreError};

/// Flush hook for tests: optional delay, optional failure, optional gate.
#[derive(Default)]
struct FlushFaults {
    delay_ms: AtomicU64,
    fail: AtomicBool,
    gate_closed: Mutex<bool>,
    gate: Condvar,
}

impl FlushFaults {
    fn close_gate(&self) {
        *self.gate_closed.lock().unwrap() = true;
    }
    fn open_gate(&self) {
        *self.gate_closed.lock().unwrap() = false;
        self.gate.notify_all();
    }
}

impl FaultInjector for FlushFaults {
    fn before_flush(&self, path: &Path) -> std::io::Result<()> {
        if !path.to_string_lossy().contains("commitlog") {
            return Ok(());
        }
        let mut closed = self.gate_closed.lock().unwrap();
        while *closed {
            closed = self.gate.wait(closed).unwrap();
        }
        drop(closed);
        std::thread::sleep(Duration::from_millis(self.delay_ms.load(Ordering::Relaxed)));
        if self.fail.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("injected fsync failure"));
        }
        Ok(())
    }
}

fn open_with(dir: &Path, faults: Arc<FlushFaults>, timeout_ms: u64) -> MessageStore {
    let mut config = sync_config(dir);
    config.faults = faults;
    config.sync_flush_timeout_ms = timeout_ms;
    MessageStore::open(config).unwrap()
}

#[test]
fn concurrent_sync_appenders_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(FlushFaults::default());
    faults.delay_ms.store(10, Ordering::Relaxed);
    let store = Arc::new(open_with(dir.path(), faults, 5_000));
    let before = store.flush_count();
    let writers = 64;
    let per_writer = 10;
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..per_writer {
                    let m = Msg::new("Group", w % 4, format!("{w}-{i}"));
                    let r = store.put_messages_blocking(&[m.as_store()], true).unwrap();
                    assert_eq!(r.status, PutStatus::PutOk);
                    assert!(store.flushed_offset() >= r.append.end_offset);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let appends = (writers * per_writer) as u64;
    let flushes = store.flush_count() - before;
    // With a 10 ms fsync and 64 writers, each fsync must cover many appends.
    assert!(
        flushes * 8 <= appends,
        "{flushes} fsyncs for {appends} appends"
    );
}

#[test]
fn a_slow_fsync_reports_flush_disk_timeout_but_keeps_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(FlushFaults::default());
    faults.delay_ms.store(400, Ordering::Relaxed);
    let store = open_with(dir.path(), Arc::clone(&faults), 50);
    let r = store
        .put_messages_blocking(&[Msg::new("Slow", 0, "x").as_store()], true)
        .unwrap();
    assert_eq!(r.status, PutStatus::FlushDiskTimeout);
    // Once the flush completes the message becomes visible.
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.get_max_offset_in_queue("Slow", 0) < 1 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    faults.delay_ms.store(0, Ordering::Relaxed);
    store.shutdown().unwrap();
}

#[test]
fn a_failed_fsync_poisons_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(FlushFaults::default());
    let store = open_with(dir.path(), Arc::clone(&faults), 5_000);
    store
        .put_messages_blocking(&[Msg::new("P", 0, "ok").as_store()], true)
        .unwrap();
    faults.fail.store(true, Ordering::Relaxed);
    let err = store
        .put_messages_blocking(&[Msg::new("P", 0, "lost?").as_store()], true)
        .unwrap_err();
    assert!(matches!(err, StoreError::Poisoned(_)), "{err}");
    assert!(store.poisoned().unwrap().contains("injected fsync failure"));
    // Refused from now on, even after the disk "recovers".
    faults.fail.store(false, Ordering::Relaxed);
    assert!(matches!(
        store.append(&[Msg::new("P", 0, "later").as_store()]),
        Err(StoreError::Poisoned(_))
    ));
    // Reads of what was durable still work.
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.get_max_offset_in_queue("P", 0) < 1 {
        assert!(
            Instant::now() < deadline,
            "durable message never dispatched"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let got = store.get_message("P", 0, 0, 10, usize::MAX, &AcceptAll);
    assert_eq!(got.messages.len(), 1);
    assert!(store.shutdown().is_err());
}

#[test]
fn under_sync_flush_consumers_see_only_flushed_messages() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(FlushFaults::default());
    let store = Arc::new(open_with(dir.path(), Arc::clone(&faults), 10_000));
    faults.close_gate();
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            store
                .put_messages_blocking(&[Msg::new("Vis", 0, "x").as_store()], true)
                .unwrap()
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        store.get_max_offset_in_queue("Vis", 0),
        0,
        "visible before its fsync"
    );
    faults.open_gate();
    assert_eq!(writer.join().unwrap().status, PutStatus::PutOk);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.get_max_offset_in_queue("Vis", 0) < 1 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn async_flush_reaches_the_end_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    for i in 0..50 {
        let r = store
            .put_messages_blocking(&[Msg::new("A", 0, vec![i as u8; 1000]).as_store()], true)
            .unwrap();
        assert_eq!(r.status, PutStatus::PutOk);
    }
    let end = store.commit_log_max_offset() as u64;
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.flushed_offset() < end {
        assert!(Instant::now() < deadline, "async flush never caught up");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A checkpoint file that cannot be written (here: its temporary file's name is taken by a
/// directory; in the field ENOSPC or EMFILE) is retried, not a reason to stop writes: the old
/// checkpoint stays whole, appends go on, and once the obstacle is gone the checkpoint advances
/// again without a restart (issue 16: one failure made the store read-only until restart).
#[test]
fn a_checkpoint_that_cannot_be_written_is_retried_and_writes_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = MessageStore::open(small_config(&root)).unwrap();
    let checkpoint = root.join("checkpoint");
    let blocker = root.join("checkpoint.tmp");
    std::fs::create_dir(&blocker).unwrap();
    std::fs::write(blocker.join("x"), b"keeps the directory non-empty").unwrap();
    let dispatched = || {
        petrel_store::Checkpoint::decode(&std::fs::read(&checkpoint).unwrap_or_default())
            .map_or(0, |c| c.dispatched_offset)
    };
    let before = dispatched();

    let mut last_end = 0;
    for i in 0..20 {
        let r = store
            .append(&[Msg::new("Orders", 0, vec![i as u8; 100]).as_store()])
            .unwrap();
        last_end = r.physical_offsets[0] as u64 + 1;
        std::thread::sleep(Duration::from_millis(20)); // spans several checkpoint intervals
    }
    assert!(store.poisoned().is_none(), "{:?}", store.poisoned());
    assert_eq!(
        dispatched(),
        before,
        "the checkpoint could not have been written"
    );

    std::fs::remove_dir_all(&blocker).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while dispatched() < last_end {
        assert!(
            Instant::now() < deadline,
            "the checkpoint never advanced again"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    store
        .append(&[Msg::new("Orders", 0, vec![1; 100]).as_store()])
        .unwrap();
    store.shutdown().unwrap();
}
