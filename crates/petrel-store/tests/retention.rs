//! Retention: expired CommitLog segments go (with the ConsumeQueue and index files behind
//! them), the active segment never does, and a full disk refuses writes with a clear error.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use petrel_store::io::{DiskProbe, ManualClock};
use petrel_store::{AcceptAll, ConsumedOffsets, GetMessageStatus, MessageStore, StoreError};

struct FakeDisk(AtomicU64);
impl FakeDisk {
    fn set(&self, percent: f64) {
        self.0.store(percent.to_bits(), Ordering::SeqCst);
    }
}
impl DiskProbe for FakeDisk {
    fn used_percent(&self, _: &Path) -> std::io::Result<f64> {
        Ok(f64::from_bits(self.0.load(Ordering::SeqCst)))
    }
}

const HOUR_MS: i64 = 3_600_000;

fn open(dir: &Path, clock: Arc<ManualClock>, disk: Arc<FakeDisk>) -> MessageStore {
    let mut config = small_config(dir);
    config.clock = clock;
    config.disk_probe = disk;
    config.delete_when = "04".into();
    MessageStore::open(config).unwrap()
}

fn fill(store: &MessageStore, n: usize) {
    for i in 0..n {
        store
            .append(&[Msg::new("R", (i % 2) as i32, vec![1u8; 2000]).as_store()])
            .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.dispatched_offset() < store.commit_log_max_offset() as u64 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn segments(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("commitlog")).unwrap().count()
}

#[test]
fn expired_segments_are_deleted_and_queues_move_their_minimum() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000 * HOUR_MS));
    let disk = Arc::new(FakeDisk(AtomicU64::new(10f64.to_bits())));
    let store = open(dir.path(), Arc::clone(&clock), disk);
    fill(&store, 150); // ~300 KB: several 64 KiB segments
    let before = segments(dir.path());
    assert!(before >= 4);

    // Young files stay, even when asked.
    assert_eq!(store.delete_expired_files_now(), 0);
    // 73 hours later they are expired.
    clock.advance(73 * HOUR_MS);
    let deleted = store.delete_expired_files_now();
    assert!(deleted >= 3, "deleted {deleted}");
    // The active segment is never deleted, and the pre-allocated next one may exist.
    assert!(segments(dir.path()) >= 1);
    let min = store.commit_log_min_offset();
    assert!(min > 0);
    // Reads below the new minimum are told where to go.
    let q_min = store.get_min_offset_in_queue("R", 0);
    assert!(q_min > 0);
    let got = store.get_message("R", 0, 0, 10, usize::MAX, &AcceptAll);
    assert_eq!(
        (got.status, got.next_begin_offset),
        (GetMessageStatus::OffsetTooSmall, q_min)
    );
    let got = store.get_message("R", 0, q_min, 1000, usize::MAX, &AcceptAll);
    assert_eq!(got.status, GetMessageStatus::Found);
    assert!(got
        .messages
        .iter()
        .all(|m| petrel_protocol::message::RecordView::parse(m)
            .unwrap()
            .physical_offset()
            >= min));
    // Still writable, and the store reopens with the same minimum.
    store
        .append(&[Msg::new("R", 0, "after").as_store()])
        .unwrap();
    store.shutdown().unwrap();
    drop(store);
    let store = open(
        dir.path(),
        clock,
        Arc::new(FakeDisk(AtomicU64::new(10f64.to_bits()))),
    );
    assert_eq!(store.commit_log_min_offset(), min);
    assert_eq!(store.get_min_offset_in_queue("R", 0), q_min);
}

#[test]
fn by_default_a_nearly_full_disk_deletes_no_segment_inside_its_retention_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000 * HOUR_MS));
    let disk = Arc::new(FakeDisk(AtomicU64::new(10f64.to_bits())));
    let store = open(dir.path(), clock, Arc::clone(&disk));
    fill(&store, 150);
    let min = store.get_min_offset_in_queue("R", 1);
    disk.set(89.0);
    store.refresh_disk_usage();
    assert_eq!(store.delete_expired_files_now(), 0);
    assert_eq!(store.get_min_offset_in_queue("R", 1), min);
}

#[test]
fn with_forced_cleaning_on_young_segments_go_above_the_forcible_ratio_but_not_the_active_one() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000 * HOUR_MS));
    let disk = Arc::new(FakeDisk(AtomicU64::new(10f64.to_bits())));
    let mut config = small_config(dir.path());
    config.clock = clock;
    config.disk_probe = Arc::clone(&disk) as _;
    config.delete_when = "04".into();
    config.clean_file_forcibly_enable = true;
    let store = MessageStore::open(config).unwrap();
    fill(&store, 150);
    disk.set(86.0);
    store.refresh_disk_usage();
    assert!(store.delete_expired_files_now() >= 3);
    let max = store.get_max_offset_in_queue("R", 1);
    let got = store.get_message(
        "R",
        1,
        store.get_min_offset_in_queue("R", 1),
        1000,
        usize::MAX,
        &AcceptAll,
    );
    assert_eq!(got.status, GetMessageStatus::Found);
    assert_eq!(got.next_begin_offset, max);
}

#[test]
fn a_full_disk_refuses_writes_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000 * HOUR_MS));
    let disk = Arc::new(FakeDisk(AtomicU64::new(10f64.to_bits())));
    let store = open(dir.path(), clock, Arc::clone(&disk));
    store
        .append(&[Msg::new("D", 0, "fits").as_store()])
        .unwrap();
    disk.set(95.0);
    store.refresh_disk_usage();
    let err = store
        .append(&[Msg::new("D", 0, "refused").as_store()])
        .unwrap_err();
    assert!(matches!(err, StoreError::DiskFull { .. }));
    assert!(err.to_string().contains("disk full"), "{err}");
    disk.set(50.0);
    store.refresh_disk_usage();
    store
        .append(&[Msg::new("D", 0, "fits again").as_store()])
        .unwrap();
}

/// The append path samples the disk itself (at most every 100 ms), so the watermark holds
/// between two retention rounds: a fast producer gets "disk full", not ENOSPC (issue 16: the
/// guard sampled only every `cleanResourceInterval`, 10 s).
#[test]
fn the_append_path_notices_a_full_disk_without_waiting_for_the_retention_round() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000 * HOUR_MS));
    let disk = Arc::new(FakeDisk(AtomicU64::new(10f64.to_bits())));
    let store = open(dir.path(), Arc::clone(&clock), Arc::clone(&disk));
    store
        .append(&[Msg::new("D", 0, "fits").as_store()])
        .unwrap();
    disk.set(95.0);
    clock.advance(100);
    let err = store
        .append(&[Msg::new("D", 0, "refused").as_store()])
        .unwrap_err();
    assert!(matches!(err, StoreError::DiskFull { .. }), "{err}");
    disk.set(50.0);
    clock.advance(100);
    store
        .append(&[Msg::new("D", 0, "fits again").as_store()])
        .unwrap();
}

/// The broker's side of [`ConsumedOffsets`] in a test: one group read queue 0 up to an offset.
struct ReadUpTo(i64);
impl ConsumedOffsets for ReadUpTo {
    fn min_committed_offset(&self, topic: &str, queue_id: i32) -> Option<i64> {
        (topic == "R" && queue_id == 0).then_some(self.0)
    }
}

/// A forced deletion counts the messages it removes, and those some group had not consumed
/// (issue 16): queue 0 was read up to offset 10; queue 1 by no group.
#[test]
fn a_forced_deletion_counts_removed_and_unconsumed_messages() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000 * HOUR_MS));
    let disk = Arc::new(FakeDisk(AtomicU64::new(10f64.to_bits())));
    let mut config = small_config(dir.path());
    config.clock = clock;
    config.disk_probe = Arc::clone(&disk) as _;
    config.delete_when = "04".into();
    config.clean_file_forcibly_enable = true;
    let store = MessageStore::open(config).unwrap();
    store.set_consumed_offsets(Arc::new(ReadUpTo(10)));
    fill(&store, 150);
    disk.set(86.0);
    store.refresh_disk_usage();
    assert!(store.delete_expired_files_now() >= 3);
    let (q0, q1) = (
        store.get_min_offset_in_queue("R", 0),
        store.get_min_offset_in_queue("R", 1),
    );
    assert!(q0 > 10 && q1 > 0, "{q0} {q1}");
    let stats = store.stats();
    assert_eq!(
        stats.forced_deleted_messages.load(Ordering::Relaxed),
        (q0 + q1) as u64
    );
    // Queue 0: offsets 10..q0 were unread; queue 1: all of 0..q1.
    assert_eq!(
        stats.forced_deleted_unconsumed.load(Ordering::Relaxed),
        (q0 - 10 + q1) as u64
    );

    // An expired deletion is not a forced one: nothing more is counted.
    disk.set(10.0);
    store.refresh_disk_usage();
    let before = stats.forced_deleted_messages.load(Ordering::Relaxed);
    assert_eq!(store.delete_expired_files_now(), 0);
    assert_eq!(
        stats.forced_deleted_messages.load(Ordering::Relaxed),
        before
    );
}
