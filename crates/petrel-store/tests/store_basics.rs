//! Append, read and look-up behaviour of the store, on real files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use petrel_protocol::message::{properties, sys_flag, tag_hash_code, RecordView};
use petrel_store::{
    AcceptAll, Arrival, BoundaryType, GetMessageStatus, MessageStore, StoreError, TagsCodeFilter,
};

#[test]
fn appended_messages_are_read_back_with_consecutive_queue_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    for i in 0..10 {
        let msg = Msg::new("TopicA", 1, format!("body-{i}"));
        let r = store
            .put_messages_blocking(&[msg.as_store()], true)
            .unwrap();
        assert_eq!(r.append.queue_offset, i);
    }
    // Another queue counts separately.
    let r = store
        .append(&[Msg::new("TopicA", 2, "other").as_store()])
        .unwrap();
    assert_eq!(r.queue_offset, 0);
    wait_dispatched(&store);

    let got = store.get_message("TopicA", 1, 0, 32, usize::MAX, &AcceptAll);
    assert_eq!(got.status, GetMessageStatus::Found);
    assert_eq!(got.messages.len(), 10);
    assert_eq!(got.next_begin_offset, 10);
    assert_eq!((got.min_offset, got.max_offset), (0, 10));
    for (i, record) in got.messages.iter().enumerate() {
        let view = RecordView::parse(record).unwrap();
        assert_eq!(view.body(), format!("body-{i}").as_bytes());
        assert_eq!(view.queue_offset(), i as i64);
        assert_eq!(view.topic(), "TopicA");
        assert_eq!(view.store_host().to_string(), STORE);
        // The physical offset field matches where the record is.
        assert_eq!(
            store
                .look_message_by_offset(view.physical_offset())
                .unwrap(),
            record.clone()
        );
    }
    assert_eq!(
        store
            .get_message("TopicA", 1, 4, 3, usize::MAX, &AcceptAll)
            .queue_offsets,
        vec![4, 5, 6]
    );
    store.shutdown().unwrap();
}

#[test]
fn a_batch_gets_consecutive_offsets_and_contiguous_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    store
        .append(&[Msg::new("T", 0, "first").as_store()])
        .unwrap();
    let batch: Vec<Msg> = (0..5).map(|i| Msg::new("T", 0, format!("b{i}"))).collect();
    let views: Vec<_> = batch.iter().map(Msg::as_store).collect();
    let r = store.append(&views).unwrap();
    assert_eq!(r.queue_offset, 1);
    assert_eq!(r.physical_offsets.len(), 5);
    for w in r.physical_offsets.windows(2) {
        assert!(w[1] > w[0]);
    }
    let (t, u) = (Msg::new("T", 0, "x"), Msg::new("U", 0, "y"));
    let mixed = [t.as_store(), u.as_store()];
    assert!(matches!(
        store.append(&mixed),
        Err(StoreError::MessageIllegal(_))
    ));
    wait_dispatched(&store);
    let got = store.get_message("T", 0, 0, 32, usize::MAX, &AcceptAll);
    assert_eq!(
        got.messages.iter().map(|m| body_of(m)).collect::<Vec<_>>(),
        vec![
            b"first".to_vec(),
            b"b0".to_vec(),
            b"b1".to_vec(),
            b"b2".to_vec(),
            b"b3".to_vec(),
            b"b4".to_vec()
        ]
    );
}

#[test]
fn records_roll_over_segments_with_a_blank_marker() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let body = vec![7u8; 3000];
    for _ in 0..100 {
        store
            .append(&[Msg::new("Big", 0, body.clone()).as_store()])
            .unwrap();
    }
    wait_dispatched(&store);
    let segments = std::fs::read_dir(dir.path().join("commitlog"))
        .unwrap()
        .count();
    assert!(
        segments >= 5,
        "expected several 64 KiB segments, got {segments}"
    );
    let got = store.get_message("Big", 0, 0, 200, usize::MAX, &AcceptAll);
    assert_eq!(got.messages.len(), 100);
    assert!(got.messages.iter().all(|m| body_of(m) == body));
    // No record straddles a segment boundary.
    for m in &got.messages {
        let off = RecordView::parse(m).unwrap().physical_offset() as u64;
        assert_eq!(off / 65536, (off + m.len() as u64 - 1) / 65536);
    }
}

#[test]
fn reads_report_rocketmq_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    assert_eq!(
        store
            .get_message("Nope", 0, 0, 1, usize::MAX, &AcceptAll)
            .status,
        GetMessageStatus::NoMatchedLogicQueue
    );
    for i in 0..3 {
        store
            .append(&[Msg::new("S", 0, format!("{i}")).as_store()])
            .unwrap();
    }
    wait_dispatched(&store);
    let one = store.get_message("S", 0, 3, 1, usize::MAX, &AcceptAll);
    assert_eq!(
        (one.status, one.next_begin_offset),
        (GetMessageStatus::OffsetOverflowOne, 3)
    );
    let bad = store.get_message("S", 0, 9, 1, usize::MAX, &AcceptAll);
    assert_eq!(
        (bad.status, bad.next_begin_offset),
        (GetMessageStatus::OffsetOverflowBadly, 0)
    );
    // The byte limit still returns at least one message.
    let limited = store.get_message("S", 0, 0, 10, 1, &AcceptAll);
    assert_eq!((limited.messages.len(), limited.next_begin_offset), (1, 1));
}

#[test]
fn tag_filter_skips_at_the_consume_queue_and_reports_no_match() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    for (i, tag) in ["A", "B", "A", "C"].iter().enumerate() {
        let m = Msg::new("Tags", 0, format!("{i}")).with_props(&[(properties::TAGS, tag)]);
        store.append(&[m.as_store()]).unwrap();
    }
    wait_dispatched(&store);
    let only_a = TagsCodeFilter {
        codes: vec![tag_hash_code("A")],
    };
    let got = store.get_message("Tags", 0, 0, 32, usize::MAX, &only_a);
    assert_eq!(got.queue_offsets, vec![0, 2]);
    assert_eq!(got.next_begin_offset, 4);
    let only_z = TagsCodeFilter {
        codes: vec![tag_hash_code("Z")],
    };
    let none = store.get_message("Tags", 0, 0, 32, usize::MAX, &only_z);
    assert_eq!(
        (none.status, none.next_begin_offset),
        (GetMessageStatus::NoMatchedMessage, 4)
    );
}

#[test]
fn finds_messages_by_key_and_unique_key_and_verifies_collisions() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    config.max_hash_slot_num = 2; // force collisions
    let store = MessageStore::open(config).unwrap();
    for i in 0..20 {
        let keys = format!("order-{} shared", i % 4);
        let uniq = format!("UNIQ{i:04}");
        let m = Msg::new("Keys", i % 3, format!("{i}")).with_props(&[
            (properties::KEYS, &keys),
            (properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, &uniq),
        ]);
        store.append(&[m.as_store()]).unwrap();
    }
    store
        .append(&[Msg::new("Other", 0, "x")
            .with_props(&[(properties::KEYS, "order-1")])
            .as_store()])
        .unwrap();
    wait_dispatched(&store);
    let found = store.query_message("Keys", "order-1", 100, 0, i64::MAX, false);
    let mut bodies: Vec<String> = found
        .messages
        .iter()
        .map(|m| String::from_utf8(body_of(m)).unwrap())
        .collect();
    bodies.sort();
    assert_eq!(bodies, vec!["1", "13", "17", "5", "9"]);
    assert_eq!(
        store
            .query_message("Keys", "shared", 7, 0, i64::MAX, false)
            .messages
            .len(),
        7
    );
    let by_id = store.query_message("Keys", "UNIQ0007", 10, 0, i64::MAX, true);
    assert_eq!(by_id.messages.len(), 1);
    assert_eq!(body_of(&by_id.messages[0]), b"7");
    assert!(store
        .query_message("Keys", "missing", 10, 0, i64::MAX, false)
        .messages
        .is_empty());
}

#[test]
fn offset_by_time_bisects_store_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    let clock = Arc::new(petrel_store::io::ManualClock::new(1_000_000));
    config.clock = clock.clone();
    let store = MessageStore::open(config).unwrap();
    for i in 0..10 {
        clock.set(1_000_000 + i * 100); // message i stored at 1_000_000 + 100 i
        store
            .append(&[Msg::new("Time", 0, format!("{i}")).as_store()])
            .unwrap();
    }
    wait_dispatched(&store);
    let at = |ts, b| store.get_offset_in_queue_by_time("Time", 0, ts, b);
    assert_eq!(at(1_000_350, BoundaryType::Lower), 4);
    assert_eq!(at(1_000_300, BoundaryType::Lower), 3);
    assert_eq!(at(1_000_300, BoundaryType::Upper), 3);
    assert_eq!(at(1_000_350, BoundaryType::Upper), 3);
    assert_eq!(at(0, BoundaryType::Lower), 0);
    assert_eq!(at(9_999_999, BoundaryType::Lower), 10);
    assert_eq!(store.get_earliest_message_time("Time", 0), Some(1_000_000));
    assert_eq!(
        store.get_message_store_timestamp("Time", 0, 7),
        Some(1_000_700)
    );
    // A clock that goes back does not make store timestamps go back.
    clock.set(5);
    let r = store
        .append(&[Msg::new("Time", 0, "late").as_store()])
        .unwrap();
    assert_eq!(r.store_timestamp, 1_000_900);
}

#[test]
fn half_messages_take_no_queue_offset_and_stay_invisible() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let mut half = Msg::new("Tx", 0, "half");
    half.sys_flag = sys_flag::TRANSACTION_PREPARED_TYPE;
    let r = store.append(&[half.as_store()]).unwrap();
    assert_eq!(r.queue_offset, 0);
    let r = store
        .append(&[Msg::new("Tx", 0, "normal").as_store()])
        .unwrap();
    assert_eq!(r.queue_offset, 0);
    wait_dispatched(&store);
    let got = store.get_message("Tx", 0, 0, 10, usize::MAX, &AcceptAll);
    assert_eq!(got.messages.len(), 1);
    assert_eq!(body_of(&got.messages[0]), b"normal");
}

#[test]
fn rejects_illegal_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let too_big = Msg::new("T", 0, vec![0u8; 16 * 1024 + 1]);
    assert!(matches!(
        store.append(&[too_big.as_store()]),
        Err(StoreError::MessageIllegal(_))
    ));
    for bad_topic in ["", "../etc", "a/b", "has space"] {
        let m = Msg::new(bad_topic, 0, "x");
        assert!(
            matches!(
                store.append(&[m.as_store()]),
                Err(StoreError::MessageIllegal(_))
            ),
            "{bad_topic:?}"
        );
    }
    assert!(matches!(
        store.append(&[Msg::new("T", -1, "x").as_store()]),
        Err(StoreError::MessageIllegal(_))
    ));
}

#[test]
fn dispatch_wakes_arrival_listeners_per_queue() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let seen: Arc<Mutex<Vec<Arrival>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let (tx, rx) = std::sync::mpsc::channel();
    store.add_arrival_listener(Arc::new(move |arrivals: &[Arrival]| {
        sink.lock().unwrap().extend_from_slice(arrivals);
        let _ = tx.send(());
    }));
    store
        .append(&[Msg::new("L", 3, "x")
            .with_props(&[(properties::TAGS, "T1")])
            .as_store()])
        .unwrap();
    rx.recv_timeout(Duration::from_secs(5))
        .expect("listener called");
    let arrivals = seen.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 1);
    assert_eq!(
        (
            arrivals[0].topic.as_str(),
            arrivals[0].queue_id,
            arrivals[0].max_offset
        ),
        ("L", 3, 1)
    );
    assert_eq!(arrivals[0].tags_code, tag_hash_code("T1"));
}

#[test]
fn a_second_process_cannot_open_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let _store = MessageStore::open(small_config(dir.path())).unwrap();
    let err = MessageStore::open(small_config(dir.path())).unwrap_err();
    assert!(err.to_string().contains("locked"), "{err}");
}

#[test]
fn invalid_config_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    config.mapped_file_size_consume_queue = 21;
    let err = MessageStore::open(config).unwrap_err();
    assert!(
        err.to_string().contains("mappedFileSizeConsumeQueue"),
        "{err}"
    );
}

/// Waits until every appended record is dispatched (bounded).
pub fn wait_dispatched(store: &MessageStore) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.dispatched_offset() < store.commit_log_max_offset() as u64 {
        assert!(
            std::time::Instant::now() < deadline,
            "dispatch did not catch up"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn delayed_records_carry_their_delivery_time_as_tag_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    let clock = Arc::new(petrel_store::io::ManualClock::new(5_000_000));
    config.clock = clock.clone();
    let store = MessageStore::open(config).unwrap();
    // Level 3 is 10 s by default; a level past the table is clamped to the last (2 h).
    for (level, expected) in [("3", 5_000_000 + 10_000), ("99", 5_000_000 + 7_200_000)] {
        let m = Msg::new(petrel_protocol::topic::SCHEDULE_TOPIC, 2, "later")
            .with_props(&[(properties::DELAY_TIME_LEVEL, level)]);
        store.append(&[m.as_store()]).unwrap();
        wait_dispatched(&store);
        let at = store.get_max_offset_in_queue(petrel_protocol::topic::SCHEDULE_TOPIC, 2) - 1;
        let got = store.get_message(
            petrel_protocol::topic::SCHEDULE_TOPIC,
            2,
            at,
            1,
            usize::MAX,
            &AcceptAll,
        );
        assert_eq!(got.messages.len(), 1);
        let only_due = TagsCodeFilter {
            codes: vec![expected],
        };
        assert_eq!(
            store
                .get_message(
                    petrel_protocol::topic::SCHEDULE_TOPIC,
                    2,
                    at,
                    1,
                    usize::MAX,
                    &only_due
                )
                .messages
                .len(),
            1,
            "level {level}"
        );
    }
}

/// A hook that gives records of one topic a fixed tag code.
#[derive(Debug)]
struct FixedCodeFor(&'static str, i64);

impl petrel_store::TagCodeHook for FixedCodeFor {
    fn tag_code(&self, record: &petrel_protocol::message::RecordView<'_>) -> Option<i64> {
        (record.topic() == self.0).then_some(self.1)
    }

    fn topics(&self) -> &[&str] {
        std::slice::from_ref(&self.0)
    }
}

#[test]
fn the_configured_tag_code_hook_decides_the_tag_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    config.tag_code_hook = Arc::new(FixedCodeFor("Hooked", 42));
    let store = MessageStore::open(config).unwrap();
    let tagged = |topic: &str| Msg::new(topic, 0, "x").with_props(&[(properties::TAGS, "A")]);
    store.append(&[tagged("Hooked").as_store()]).unwrap();
    store.append(&[tagged("Plain").as_store()]).unwrap();
    // The hook replaces the schedule topic's rule too: its records keep their tags hash here.
    store
        .append(&[tagged(petrel_protocol::topic::SCHEDULE_TOPIC).as_store()])
        .unwrap();
    wait_dispatched(&store);
    let count = |topic: &str, code: i64| {
        let filter = TagsCodeFilter { codes: vec![code] };
        store
            .get_message(topic, 0, 0, 1, usize::MAX, &filter)
            .messages
            .len()
    };
    let tags_a = petrel_protocol::message::tag_hash_code("A");
    assert_eq!(count("Hooked", 42), 1);
    assert_eq!(count("Hooked", tags_a), 0);
    assert_eq!(count("Plain", tags_a), 1);
    assert_eq!(count(petrel_protocol::topic::SCHEDULE_TOPIC, tags_a), 1);
}

/// Right after an append returns, `wait_dispatched` makes the ConsumeQueue show it: what the
/// broker relies on to answer GET_MAX_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP and QUERY_MESSAGE with
/// every acknowledged message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_dispatched_covers_every_append_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    for i in 0..200i64 {
        let key = format!("k{i}");
        let msg = Msg::new("W", 0, "x").with_props(&[(properties::KEYS, &key)]);
        store.append(&[msg.as_store()]).unwrap();
        assert!(store.wait_dispatched(Duration::from_secs(10)).await);
        assert_eq!(store.get_max_offset_in_queue("W", 0), i + 1);
        let found = store.query_message("W", &key, 1, 0, i64::MAX, false);
        assert_eq!(found.messages.len(), 1, "key {key} indexed");
    }
    store.shutdown().unwrap();
}
