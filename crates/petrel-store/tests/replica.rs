//! The store's replication hooks on real files: a slave fed the master's raw CommitLog bytes
//! ends with a byte-identical CommitLog and the same ConsumeQueues; bytes from a log that does
//! not match are refused; the replicated offsets survive in the checkpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod common;

use std::time::Duration;

use common::*;
use petrel_store::{AcceptAll, GetMessageStatus, MessageStore, ReplicaError, StoreError};

fn wait_dispatched(store: &MessageStore) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.dispatched_offset() < store.commit_log_end() {
        assert!(
            std::time::Instant::now() < deadline,
            "dispatch did not catch up"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Copies the master's log to the slave as whole segments' published bytes (whole records and
/// blank markers with their tails), as the replication crate's receiver hands them over.
fn copy_all(master: &MessageStore, slave: &MessageStore) {
    let mut at = slave.commit_log_end().max(master.commit_log_start());
    while let Some(bytes) = master.read_commit_log_raw(at, usize::MAX) {
        at = slave.append_replicated(at, &bytes).unwrap();
    }
    assert_eq!(at, master.commit_log_end());
}

fn commit_log_files(root: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(root.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_slave_fed_raw_bytes_has_a_byte_identical_commit_log_and_the_same_queues() {
    let (m_dir, s_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = MessageStore::open(small_config(m_dir.path())).unwrap();
    let slave = MessageStore::open(small_config(s_dir.path())).unwrap();
    // ~3 segments of 64 KiB, in two rounds so the copy resumes from the slave's end.
    for round in 0..2 {
        for i in 0..600 {
            let msg = Msg::new(
                "TopicR",
                i % 3,
                format!("round-{round}-{i}-{}", "x".repeat(100)),
            )
            .with_props(&[("KEYS", &format!("k{i}"))]);
            master.append(&[msg.as_store()]).unwrap();
        }
        copy_all(&master, &slave);
    }
    wait_dispatched(&master);
    wait_dispatched(&slave);
    for q in 0..3 {
        let m = master.get_message("TopicR", q, 0, 1000, usize::MAX, &AcceptAll);
        let s = slave.get_message("TopicR", q, 0, 1000, usize::MAX, &AcceptAll);
        assert_eq!(s.status, GetMessageStatus::Found);
        assert_eq!(m.messages, s.messages);
        assert_eq!(slave.get_max_offset_in_queue("TopicR", q), 400);
    }
    master.shutdown().unwrap();
    slave.shutdown().unwrap();
    let (m, s) = (
        commit_log_files(m_dir.path()),
        commit_log_files(s_dir.path()),
    );
    assert!(m.len() >= 3);
    assert!(m == s, "CommitLogs differ");
}

#[test]
fn bytes_that_do_not_continue_this_log_are_refused() {
    let (a_dir, b_dir, s_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let a = MessageStore::open(small_config(a_dir.path())).unwrap();
    let b = MessageStore::open(small_config(b_dir.path())).unwrap();
    let slave = MessageStore::open(small_config(s_dir.path())).unwrap();
    a.append(&[Msg::new("T", 0, "short").as_store()]).unwrap();
    b.append(&[Msg::new("T", 0, "a longer body here").as_store()])
        .unwrap();
    b.append(&[Msg::new("T", 0, "second").as_store()]).unwrap();
    copy_all(&a, &slave);
    let end = slave.commit_log_end();
    // B's bytes at the slave's end are the middle of B's first record, not a record at `end`.
    let foreign = b.read_commit_log_raw(end, usize::MAX).unwrap();
    let err = slave.append_replicated(end, &foreign).unwrap_err();
    assert!(
        matches!(err, StoreError::Replica(ReplicaError::Record { offset, .. }) if offset == end),
        "{err}"
    );
    // An offset that is not this log's end.
    let err = slave.append_replicated(end + 10, &foreign).unwrap_err();
    assert!(matches!(
        err,
        StoreError::Replica(ReplicaError::OffsetMismatch { .. })
    ));
    // Nothing was merged.
    assert_eq!(slave.commit_log_end(), end);
}

#[test]
fn replicated_offsets_are_kept_in_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    store.set_master_flushed_offset(4096);
    store.set_confirm_phy_offset(2048);
    store.shutdown().unwrap();
    let bytes = std::fs::read(dir.path().join("checkpoint")).unwrap();
    assert_eq!(&bytes[24..32], &4096i64.to_be_bytes());
    assert_eq!(&bytes[32..40], &2048i64.to_be_bytes());
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    assert_eq!(store.replicated_offsets(), (4096, 2048));
}

/// AutoSwitch: a returning old master opens with its CommitLog cut where it last agreed with
/// the new master. Everything from the cut is gone (records, queue entries, key lookups), the
/// log continues at the cut, and records written there next are found by key.
#[test]
fn a_store_opened_with_a_cut_drops_everything_from_it_and_continues_there() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let mut offsets = Vec::new();
    // ~2.5 segments of 64 KiB.
    for i in 0..1200 {
        let msg = Msg::new("TopicCut", i % 2, format!("m{i}-{}", "y".repeat(100)))
            .with_props(&[("KEYS", &format!("k{i}"))]);
        let r = store.append(&[msg.as_store()]).unwrap();
        offsets.push(r.physical_offsets[0] as u64);
    }
    wait_dispatched(&store);
    let old_end = store.commit_log_end();
    store.shutdown().unwrap();

    // A cut in the middle of record 700 cuts at its start.
    let cut = offsets[700] + 5;
    let mut config = small_config(dir.path());
    config.truncate_commit_log_at = Some(cut);
    let store = MessageStore::open(config).unwrap();
    wait_dispatched(&store);
    assert_eq!(store.commit_log_end(), offsets[700]);
    assert!(store.commit_log_end() < old_end);
    assert_eq!(store.get_max_offset_in_queue("TopicCut", 0), 350);
    assert_eq!(store.get_max_offset_in_queue("TopicCut", 1), 350);
    let far = |s: &MessageStore, key: &str| {
        s.query_message("TopicCut", key, 32, 0, i64::MAX, false)
            .messages
            .len()
    };
    assert_eq!(far(&store, "k699"), 1);
    assert_eq!(far(&store, "k700"), 0);
    assert_eq!(far(&store, "k1100"), 0);

    // New records continue at the cut and are indexed, though the old IndexFile covered
    // these offsets.
    let msg = Msg::new("TopicCut", 0, "after the cut").with_props(&[("KEYS", "k-new")]);
    let r = store.append(&[msg.as_store()]).unwrap();
    assert_eq!(r.physical_offsets[0] as u64, offsets[700]);
    assert_eq!(r.queue_offset, 350);
    wait_dispatched(&store);
    assert_eq!(far(&store, "k-new"), 1);
    store.shutdown().unwrap();

    // A cut past the end touches nothing; a later plain open keeps the new record.
    let mut config = small_config(dir.path());
    config.truncate_commit_log_at = Some(u64::MAX / 2);
    let store = MessageStore::open(config).unwrap();
    assert_eq!(store.get_max_offset_in_queue("TopicCut", 0), 351);
    assert_eq!(far(&store, "k-new"), 1);
    store.shutdown().unwrap();
}
