//! Recovery on real files: clean restarts, crashes, torn tails at record boundaries and at
//! random byte offsets, garbage tails, lost ConsumeQueues and damaged checkpoints.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use common::*;
use petrel_protocol::message::{properties, RecordView};
use petrel_store::{AcceptAll, MessageStore, StoreConfig};
use proptest::prelude::*;

/// A record as written: where it is and its bytes.
#[derive(Debug, Clone)]
struct Written {
    topic: String,
    queue_id: i32,
    queue_offset: i64,
    physical_offset: i64,
    bytes: Vec<u8>,
}

fn write_records(store: &MessageStore, n: usize, seed: u64) -> Vec<Written> {
    let mut out = Vec::new();
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for i in 0..n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let topic = ["Orders", "Payments", "Audit"][(x >> 33) as usize % 3];
        let queue_id = ((x >> 40) % 4) as i32;
        let len = 1 + ((x >> 20) % 3000) as usize;
        let body: Vec<u8> = (0..len).map(|j| (i + j) as u8).collect();
        let key = format!("key-{i}");
        let uniq = format!("UNIQ{i:06}");
        let msg = Msg::new(topic, queue_id, body).with_props(&[
            (properties::KEYS, &key),
            (properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, &uniq),
            (properties::TAGS, "T"),
        ]);
        let r = store.append(&[msg.as_store()]).unwrap();
        let phys = r.physical_offsets[0];
        out.push(Written {
            topic: topic.into(),
            queue_id,
            queue_offset: r.queue_offset,
            physical_offset: phys,
            bytes: Vec::new(),
        });
    }
    wait_dispatched(store);
    for w in &mut out {
        w.bytes = store
            .look_message_by_offset(w.physical_offset)
            .expect("written record")
            .to_vec();
    }
    out
}

/// Asserts the store holds exactly `expected` (in each queue, in order, byte for byte).
fn assert_holds_exactly(store: &MessageStore, expected: &[Written]) {
    let mut per_queue: HashMap<(String, i32), Vec<&Written>> = HashMap::new();
    for w in expected {
        per_queue
            .entry((w.topic.clone(), w.queue_id))
            .or_default()
            .push(w);
    }
    for topic in ["Orders", "Payments", "Audit"] {
        for queue_id in 0..4 {
            let want = per_queue
                .get(&(topic.to_string(), queue_id))
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                store.get_max_offset_in_queue(topic, queue_id),
                want.len() as i64,
                "max offset of {topic}/{queue_id}"
            );
            if want.is_empty() {
                continue;
            }
            let got = store.get_message(topic, queue_id, 0, 10_000, usize::MAX, &AcceptAll);
            assert_eq!(got.messages.len(), want.len(), "{topic}/{queue_id}");
            for (g, w) in got.messages.iter().zip(want) {
                assert_eq!(&g[..], &w.bytes[..], "record at {}", w.physical_offset);
                assert_eq!(RecordView::parse(g).unwrap().queue_offset(), w.queue_offset);
            }
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "lock" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Simulates a torn write: every CommitLog byte from `cut` on is replaced (zeros, or garbage
/// when `garbage`), as if only the bytes before `cut` had reached the disk.
fn tear_commit_log(root: &Path, segment_size: u64, cut: u64, garbage: bool) {
    let dir = root.join("commitlog");
    let mut x = cut | 1;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let from: u64 = path.file_name().unwrap().to_str().unwrap().parse().unwrap();
        if from + segment_size <= cut {
            continue;
        }
        let mut data = std::fs::read(&path).unwrap();
        let start = cut.saturating_sub(from) as usize;
        for b in &mut data[start..] {
            *b = if garbage {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            } else {
                0
            };
        }
        std::fs::write(&path, data).unwrap();
    }
    // The process died: the abort marker stays.
    std::fs::write(root.join("abort"), b"").unwrap();
}

fn crash(store: MessageStore) {
    drop(store); // stops threads without the clean-shutdown steps; `abort` stays
}

#[test]
fn clean_restart_keeps_everything_and_scans_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let written = write_records(&store, 200, 1);
    store.shutdown().unwrap();
    assert!(!dir.path().join("abort").exists());

    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let report = store.recovery_report().clone();
    assert!(report.clean_shutdown);
    assert_eq!(report.records_scanned, 0);
    assert_eq!(report.truncated_because, None);
    assert_holds_exactly(&store, &written);
    // Queue offsets continue where they were.
    let next = Msg::new("Orders", 0, "after restart");
    let expected = written
        .iter()
        .filter(|w| w.topic == "Orders" && w.queue_id == 0)
        .count() as i64;
    assert_eq!(
        store.append(&[next.as_store()]).unwrap().queue_offset,
        expected
    );
}

#[test]
fn crash_keeps_every_written_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let written = write_records(&store, 300, 2);
    crash(store);
    assert!(dir.path().join("abort").exists());
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    assert!(!store.recovery_report().clean_shutdown);
    assert_holds_exactly(&store, &written);
    let found = store.query_message("Orders", "key-5", 10, 0, i64::MAX, false);
    let expected_found = usize::from(written[5].topic == "Orders");
    assert_eq!(found.messages.len(), expected_found);
}

/// Cuts the log at `cut` in a copy of a crashed store and checks what recovery keeps.
fn check_cut(
    source: &Path,
    written: &[Written],
    cut: u64,
    garbage: bool,
    drop_checkpoint: bool,
    config: fn(&Path) -> StoreConfig,
) {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(source, copy.path());
    let segment = config(copy.path()).mapped_file_size_commit_log;
    tear_commit_log(copy.path(), segment, cut, garbage);
    // A crash cannot tear what an fsync covered: a cut before the segment the checkpoint
    // vouches for models a disk that lost flushed data, which no checkpoint can protect, so
    // such cases run without one (full verification).
    let cp_path = copy.path().join("checkpoint");
    let vouched = petrel_store::Checkpoint::load(&cp_path)
        .map(|c| c.commit_log_flushed_offset / segment * segment);
    if drop_checkpoint || vouched.is_some_and(|v| cut < v) {
        std::fs::remove_file(&cp_path).unwrap();
    }
    let store = MessageStore::open(config(copy.path())).unwrap();
    // Intact = records that end at or before the cut.
    let intact: Vec<Written> = written
        .iter()
        .filter(|w| w.physical_offset as u64 + w.bytes.len() as u64 <= cut)
        .cloned()
        .collect();
    assert_holds_exactly(&store, &intact);
    let end = intact
        .last()
        .map(|w| w.physical_offset as u64 + w.bytes.len() as u64)
        .unwrap_or(0);
    // The log continues exactly after the last intact record (or at the next segment when
    // the last intact record was followed by the segment's blank filler).
    let r = store
        .append(&[Msg::new("Audit", 3, "after").as_store()])
        .unwrap();
    let at = r.physical_offsets[0] as u64;
    assert!(
        at == end || (at % segment == 0 && at > end && at - end < segment),
        "appended at {at}, end {end}"
    );
    let expected_offset = intact
        .iter()
        .filter(|w| w.topic == "Audit" && w.queue_id == 3)
        .count() as i64;
    assert_eq!(r.queue_offset, expected_offset);
    wait_dispatched(&store);
    // No broken record is reachable by key either.
    for w in written
        .iter()
        .filter(|w| w.physical_offset as u64 + w.bytes.len() as u64 > cut)
        .take(5)
    {
        let key = RecordView::parse(&w.bytes)
            .map(|v| {
                petrel_protocol::message::properties::find(v.properties(), properties::KEYS)
                    .unwrap()
                    .unwrap()
                    .to_string()
            })
            .unwrap();
        assert!(
            store
                .query_message(&w.topic, &key, 10, 0, i64::MAX, false)
                .messages
                .is_empty(),
            "{key} after cut"
        );
    }
    store.shutdown().unwrap();
}

#[test]
fn torn_tail_at_every_kind_of_boundary_is_cut_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let written = write_records(&store, 120, 3);
    crash(store);
    let last = written.last().unwrap();
    let end = last.physical_offset as u64 + last.bytes.len() as u64;
    // Record boundaries (start of a record, i.e. cut exactly after the previous one).
    let mut cuts: Vec<u64> = written
        .iter()
        .rev()
        .take(8)
        .map(|w| w.physical_offset as u64)
        .collect();
    // Inside the head (TOTALSIZE, MAGIC), inside the body, inside topic and properties.
    for w in written.iter().rev().take(4) {
        let p = w.physical_offset as u64;
        let n = w.bytes.len() as u64;
        cuts.extend([
            p + 1,
            p + 3,
            p + 5,
            p + 30,
            p + 90,
            p + n - 30,
            p + n - 2,
            p + n - 1,
        ]);
    }
    cuts.push(end);
    for cut in cuts {
        check_cut(dir.path(), &written, cut, false, false, small_config);
    }
}

#[test]
fn garbage_after_the_cut_is_never_surfaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let written = write_records(&store, 100, 4);
    crash(store);
    for w in written.iter().rev().take(6) {
        let p = w.physical_offset as u64;
        for cut in [p, p + 7, p + w.bytes.len() as u64 / 2] {
            check_cut(dir.path(), &written, cut, true, false, small_config);
        }
    }
}

#[test]
fn without_a_checkpoint_the_whole_log_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let written = write_records(&store, 150, 5);
    crash(store);
    // Cut early in the log: a checkpoint would have claimed more, but there is none.
    let cut = written[20].physical_offset as u64 + 11;
    check_cut(dir.path(), &written, cut, false, true, small_config);
}

#[test]
fn lost_consume_queues_are_rebuilt_from_the_commit_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let written = write_records(&store, 150, 6);
    store.shutdown().unwrap();
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    assert_holds_exactly(&store, &written);
    let uniq = store.query_message(&written[77].topic, "UNIQ000077", 5, 0, i64::MAX, true);
    assert_eq!(uniq.messages.len(), 1);
    assert_eq!(&uniq.messages[0][..], &written[77].bytes[..]);
}

#[test]
fn a_damaged_checkpoint_falls_back_to_a_full_scan() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let written = write_records(&store, 80, 7);
    crash(store);
    let cp = dir.path().join("checkpoint");
    let mut bytes = std::fs::read(&cp).unwrap();
    bytes[70] ^= 0xFF;
    std::fs::write(&cp, bytes).unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    assert_eq!(store.recovery_report().records_scanned, 80);
    assert_holds_exactly(&store, &written);
}

#[test]
fn repeated_crashes_and_appends_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for round in 0..4 {
        let store = MessageStore::open(sync_config(dir.path())).unwrap();
        assert_holds_exactly(&store, &all);
        let mut more = write_records(&store, 40, 100 + round);
        // Queue offsets continue across crashes: rebase the new records' expectations.
        all.append(&mut more);
        crash(store);
    }
    let store = MessageStore::open(sync_config(dir.path())).unwrap();
    assert_holds_exactly(&store, &all);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Any cut at any byte of the last two segments: recovery keeps exactly the records that
    /// end before the cut.
    #[test]
    fn any_cut_keeps_exactly_the_complete_records(n in 20usize..90, seed in any::<u64>(), frac in 0.0f64..1.0, garbage in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let store = MessageStore::open(small_config(dir.path())).unwrap();
        let written = write_records(&store, n, seed);
        crash(store);
        let last = written.last().unwrap();
        let end = last.physical_offset as u64 + last.bytes.len() as u64;
        let segment = 64 * 1024;
        let lowest = (end / segment).saturating_sub(1) * segment;
        let cut = lowest + ((end - lowest) as f64 * frac) as u64;
        check_cut(dir.path(), &written, cut, garbage, true, small_config);
    }
}

/// Waits until every appended record is dispatched (bounded).
fn wait_dispatched(store: &MessageStore) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.dispatched_offset() < store.commit_log_max_offset() as u64 {
        assert!(
            std::time::Instant::now() < deadline,
            "dispatch did not catch up"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
