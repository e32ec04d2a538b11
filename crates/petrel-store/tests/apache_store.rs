//! A store written by Apache RocketMQ 5.5.0 (`tests/fixtures/apache-5.5.0`, made by
//! `scripts/migration-fixture.sh`) opens in Petrel and serves its records: the CommitLog with
//! RocketMQ's blank marker between its two segments, its ConsumeQueues, its IndexFile and its
//! checkpoint (no Petrel section). Also: after a crash (RocketMQ's `abort` left behind), with a
//! torn tail, with another segment size, and with a ConsumeQueue that lies.
//!
//! Each test opens a copy of the fixture; the committed files are never modified.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::Msg;
use petrel_protocol::message::{decode_offset_msg_id, properties, tag_hash_code, RecordView};
use petrel_protocol::topic::{SCHEDULE_TOPIC, TIMER_TOPIC};
use petrel_store::{
    AcceptAll, MessageStore, StoreConfig, StoreError, TagsCodeFilter, DEFAULT_DELAY_LEVELS_MS,
};

const ORDERS: &str = "mig_orders";
const QUEUES: i32 = 4;
/// Messages per batch; two batches, spread round-robin over the queues.
const BATCH: usize = 20;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apache-5.5.0")
}

/// What the writer recorded (a Java properties file of `key=value` lines).
fn manifest() -> HashMap<String, String> {
    std::fs::read_to_string(fixture().join("manifest.properties"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the fixture's store in a temporary directory.
fn apache_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture().join("store"), dir.path());
    dir
}

/// The sizes Apache wrote the fixture with (its README).
fn apache_config(root: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(root);
    c.mapped_file_size_commit_log = 65_536;
    c.mapped_file_size_consume_queue = 2_000;
    c.max_hash_slot_num = 64;
    c.max_index_num = 512;
    c.max_message_size_bytes = 16_384;
    c.clean_resource_interval_ms = 3_600_000;
    c
}

/// A sent message as the manifest describes it.
struct Sent {
    key: String,
    queue_id: i32,
    queue_offset: i64,
    physical_offset: i64,
    uniq: String,
}

fn sent_orders(m: &HashMap<String, String>) -> Vec<Sent> {
    let mut out = Vec::new();
    for batch in 1..=2 {
        for i in 0..BATCH {
            let key = format!("k{batch}-{i}");
            let (_, physical_offset) =
                decode_offset_msg_id(&m[&format!("{key}.offsetMsgId")]).unwrap();
            out.push(Sent {
                queue_id: m[&format!("{key}.queue")].parse().unwrap(),
                queue_offset: m[&format!("{key}.queueOffset")].parse().unwrap(),
                uniq: m[&format!("{key}.msgId")].clone(),
                physical_offset,
                key,
            });
        }
    }
    out
}

/// The body Migration.java sent for `key`: "body-<key>" padded with dots to `bodyBytes`.
fn body_of(key: &str, body_bytes: usize) -> Vec<u8> {
    let mut b = format!("body-{key}").into_bytes();
    b.resize(b.len().max(body_bytes), b'.');
    b
}

fn property(view: &RecordView<'_>, name: &str) -> Option<String> {
    properties::find(view.properties(), name)
        .unwrap()
        .map(str::to_string)
}

#[test]
fn opens_a_store_apache_rocketmq_wrote_and_serves_its_messages() {
    let dir = apache_store();
    let m = manifest();
    let body_bytes: usize = m["bodyBytes"].parse().unwrap();
    let store = MessageStore::open(apache_config(dir.path())).unwrap();
    let report = store.recovery_report().clone();
    assert!(report.written_by_rocketmq, "{report:?}");
    assert!(report.clean_shutdown, "{report:?}");
    assert_eq!(report.truncated_because, None);
    assert_eq!(report.redispatched_from, 0);
    // Both segments, across RocketMQ's blank marker at the end of the first.
    assert!(report.commit_log_end > 65_536, "{report:?}");

    // Every message is where the client was told it is, by queue and by offset msgId.
    let sent = sent_orders(&m);
    for s in &sent {
        let entry = store
            .consume_queue_entry(ORDERS, s.queue_id, s.queue_offset)
            .unwrap_or_else(|| panic!("no ConsumeQueue entry for {}", s.key));
        assert_eq!(entry.physical_offset, s.physical_offset, "{}", s.key);
        let record = store.look_message_by_offset(s.physical_offset).unwrap();
        let view = RecordView::parse(&record).unwrap();
        assert_eq!(view.topic(), ORDERS);
        assert_eq!(view.queue_offset(), s.queue_offset);
        assert_eq!(view.body(), body_of(&s.key, body_bytes).as_slice());
        assert_eq!(property(&view, properties::KEYS).as_deref(), Some(&*s.key));
        assert_eq!(
            property(&view, properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX),
            Some(s.uniq.clone())
        );
    }
    for q in 0..QUEUES {
        assert_eq!(store.get_max_offset_in_queue(ORDERS, q), 10);
        assert_eq!(store.get_min_offset_in_queue(ORDERS, q), 0);
    }

    // Tag filters work on RocketMQ's tag codes.
    let tag_a = TagsCodeFilter {
        codes: vec![tag_hash_code("TagA")],
    };
    let got = store.get_message(ORDERS, 0, 0, 32, usize::MAX, &tag_a);
    assert_eq!(got.messages.len(), 10, "queue 0 holds the even keys: TagA");
    let got = store.get_message(ORDERS, 1, 0, 32, usize::MAX, &tag_a);
    assert!(got.messages.is_empty(), "queue 1 holds TagB only");

    // RocketMQ's IndexFile answers key and unique-key queries (it is read, not rebuilt).
    let index_files = std::fs::read_dir(dir.path().join("index")).unwrap().count();
    assert_eq!(index_files, 1);
    for s in sent.iter().step_by(7) {
        let by_key = store.query_message(ORDERS, &s.key, 8, 0, i64::MAX, false);
        assert_eq!(by_key.messages.len(), 1, "{}", s.key);
        let by_uniq = store.query_message(ORDERS, &s.uniq, 8, 0, i64::MAX, true);
        assert_eq!(by_uniq.messages.len(), 1, "{}", s.uniq);
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("index")).unwrap().count(),
        1
    );

    // Delayed records keep their delivery time as tag code; the timer records RocketMQ wrote
    // with their tags hash now carry their TIMER_OUT_MS, as Petrel's timer service expects.
    for (topic, queue_id) in [(SCHEDULE_TOPIC, 3), (TIMER_TOPIC, 0)] {
        let (min, max) = (
            store.get_min_offset_in_queue(topic, queue_id),
            store.get_max_offset_in_queue(topic, queue_id),
        );
        assert!(max > min, "{topic} holds the pending messages");
        for offset in min..max {
            let entry = store.consume_queue_entry(topic, queue_id, offset).unwrap();
            let record = store
                .read_commit_log(entry.physical_offset, entry.size)
                .unwrap();
            let view = RecordView::parse(&record).unwrap();
            let expected = if topic == TIMER_TOPIC {
                property(&view, properties::TIMER_OUT_MS)
                    .unwrap()
                    .parse()
                    .unwrap()
            } else {
                view.store_timestamp() + DEFAULT_DELAY_LEVELS_MS[3] as i64
            };
            assert_eq!(entry.tags_code, expected, "{topic} offset {offset}");
        }
    }

    // The half messages RocketMQ stored are in its half topic's queue, as it keeps them.
    let halves = store.get_message("RMQ_SYS_TRANS_HALF_TOPIC", 0, 0, 32, usize::MAX, &AcceptAll);
    let keys: Vec<String> = halves
        .messages
        .iter()
        .map(|r| property(&RecordView::parse(r).unwrap(), properties::KEYS).unwrap())
        .collect();
    for k in ["tx-commit", "tx-rollback", "tx-pending"] {
        assert!(keys.iter().any(|x| x == k), "{k} in {keys:?}");
    }

    // Appends continue RocketMQ's queue offsets and log.
    let end = report.commit_log_end;
    let r = store
        .append(&[Msg::new(ORDERS, 0, "after migration").as_store()])
        .unwrap();
    assert_eq!(r.queue_offset, 10);
    assert_eq!(r.physical_offsets[0] as u64, end);
    store.shutdown().unwrap();
    drop(store);

    // Reopened, the store is Petrel's: a clean restart scans nothing.
    let store = MessageStore::open(apache_config(dir.path())).unwrap();
    let report = store.recovery_report();
    assert!(!report.written_by_rocketmq);
    assert_eq!(report.records_scanned, 0);
    assert_eq!(store.get_max_offset_in_queue(ORDERS, 0), 11);
    let last = store.consume_queue_entry(ORDERS, 0, 10).unwrap();
    let record = store
        .read_commit_log(last.physical_offset, last.size)
        .unwrap();
    assert_eq!(
        RecordView::parse(&record).unwrap().body(),
        b"after migration"
    );
}

#[test]
fn a_store_apache_rocketmq_left_after_a_crash_is_verified_and_kept_whole() {
    let dir = apache_store();
    // What a killed Apache broker leaves: its abort marker.
    std::fs::write(dir.path().join("abort"), b"").unwrap();
    let store = MessageStore::open(apache_config(dir.path())).unwrap();
    let report = store.recovery_report();
    assert!(!report.clean_shutdown);
    assert!(report.written_by_rocketmq);
    assert_eq!(report.truncated_because, None);
    for s in sent_orders(&manifest()) {
        assert!(store.look_message_by_offset(s.physical_offset).is_some());
    }
}

/// Start of the last record of the fixture's log (in its second segment) and its size.
fn last_record(root: &Path) -> (u64, usize) {
    let bytes = std::fs::read(root.join("commitlog/00000000000000065536")).unwrap();
    let (mut at, mut last) = (0, (0, 0));
    loop {
        let size = i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if size == 0 {
            return last;
        }
        last = (65_536 + at as u64, size);
        at += size;
    }
}

#[test]
fn a_torn_tail_in_an_apache_store_is_cut_at_the_last_whole_record() {
    let dir = apache_store();
    let (last_at, last_size) = last_record(dir.path());
    // A record the broker was writing when it was killed: its second half never arrived.
    let segment = dir.path().join("commitlog/00000000000000065536");
    let mut bytes = std::fs::read(&segment).unwrap();
    let rel = (last_at - 65_536) as usize;
    bytes[rel + last_size / 2..rel + last_size].fill(0);
    std::fs::write(&segment, bytes).unwrap();
    std::fs::write(dir.path().join("abort"), b"").unwrap();

    let store = MessageStore::open(apache_config(dir.path())).unwrap();
    let report = store.recovery_report();
    assert_eq!(report.commit_log_end, last_at);
    assert!(report.truncated_because.is_some());
    assert!(store.look_message_by_offset(last_at as i64).is_none());
    for s in sent_orders(&manifest()) {
        assert!(store.look_message_by_offset(s.physical_offset).is_some());
    }
}

#[test]
fn a_damaged_record_in_the_middle_of_an_apache_store_stops_the_open_and_cuts_nothing() {
    let dir = apache_store();
    let m = manifest();
    let damaged = sent_orders(&m)
        .into_iter()
        .max_by_key(|s| s.physical_offset)
        .unwrap();
    // Flip a body byte of the last mig_orders record (other records follow it): its CRC no
    // longer matches.
    let segment = dir.path().join("commitlog/00000000000000065536");
    let mut bytes = std::fs::read(&segment).unwrap();
    let at = (damaged.physical_offset - 65_536) as usize + 200;
    bytes[at] ^= 0x55;
    std::fs::write(&segment, &bytes).unwrap();

    let err = MessageStore::open(apache_config(dir.path())).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("commitlog/00000000000000065536"), "{text}");
    assert!(
        text.contains(&format!("record at {}", damaged.physical_offset)),
        "{text}"
    );
    assert!(
        text.contains("CRC") && text.contains("not a torn tail"),
        "{text}"
    );
    assert_eq!(std::fs::read(&segment).unwrap(), bytes, "nothing was cut");
}

#[test]
fn opening_with_another_segment_size_names_the_file_and_the_setting() {
    let dir = apache_store();
    let mut config = apache_config(dir.path());
    config.mapped_file_size_commit_log = 1024 * 1024 * 1024;
    let err = MessageStore::open(config).unwrap_err();
    assert!(matches!(err, StoreError::SegmentSize { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("commitlog/00000000000000000000 is 65536 bytes"),
        "{text}"
    );
    assert!(text.contains("mappedFileSizeCommitLog"), "{text}");

    let mut config = apache_config(dir.path());
    config.mapped_file_size_consume_queue = 6_000_000;
    let text = MessageStore::open(config).unwrap_err().to_string();
    assert!(
        text.contains("consumequeue/") && text.contains("mappedFileSizeConsumeQueue"),
        "{text}"
    );
}

#[test]
fn a_consume_queue_that_does_not_describe_the_commit_log_stops_the_open() {
    let dir = apache_store();
    let m = manifest();
    let (_, elsewhere) = decode_offset_msg_id(&m["k1-0.offsetMsgId"]).unwrap();
    // Point the first timer entry at a mig_orders record.
    let cq = dir
        .path()
        .join("consumequeue/rmq_sys_wheel_timer/0/00000000000000000000");
    let mut bytes = std::fs::read(&cq).unwrap();
    bytes[0..8].copy_from_slice(&elsewhere.to_be_bytes());
    let size = i32::from_be_bytes(bytes[8..12].try_into().unwrap());
    let first_order = store_record_size(dir.path(), elsewhere);
    bytes[8..12].copy_from_slice(&first_order.to_be_bytes());
    std::fs::write(&cq, bytes).unwrap();
    assert!(size > 0);

    let err = MessageStore::open(apache_config(dir.path())).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("rmq_sys_wheel_timer/0/00000000000000000000"),
        "{text}"
    );
    assert!(text.contains("which holds mig_orders/0 offset 0"), "{text}");
    assert!(
        text.contains("move consumequeue/rmq_sys_wheel_timer"),
        "{text}"
    );
}

/// TOTALSIZE of the record at `offset` of the fixture's first segment.
fn store_record_size(root: &Path, offset: i64) -> i32 {
    let bytes = std::fs::read(root.join("commitlog/00000000000000000000")).unwrap();
    let at = offset as usize;
    i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
}

#[test]
fn consume_queue_extensions_are_not_read_every_tag_code_is_derived_again() {
    let dir = apache_store();
    // With enableConsumeQueueExt, RocketMQ writes an address into consumequeue_ext/ where the
    // tag code would be (a value below i32::MIN).
    let ext = dir.path().join("consumequeue_ext/mig_orders/0");
    std::fs::create_dir_all(&ext).unwrap();
    std::fs::write(ext.join("00000000000000000000"), [0u8; 64]).unwrap();
    let cq = dir
        .path()
        .join("consumequeue/mig_orders/0/00000000000000000000");
    let mut bytes = std::fs::read(&cq).unwrap();
    bytes[12..20].copy_from_slice(&(i64::from(i32::MIN) - 5).to_be_bytes());
    std::fs::write(&cq, bytes).unwrap();

    let store = MessageStore::open(apache_config(dir.path())).unwrap();
    let entry = store.consume_queue_entry(ORDERS, 0, 0).unwrap();
    assert_eq!(entry.tags_code, tag_hash_code("TagA"));
}

#[test]
fn batch_consume_queues_are_refused_with_what_to_do() {
    let dir = apache_store();
    let batch = dir.path().join("batchconsumequeue/batched/0");
    std::fs::create_dir_all(&batch).unwrap();
    std::fs::write(batch.join("00000000000000000000"), [0u8; 46]).unwrap();
    let err = MessageStore::open(apache_config(dir.path())).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("queue.type") && text.contains("batchconsumequeue"),
        "{text}"
    );
}

#[test]
fn consume_queues_without_their_commit_log_are_refused_not_emptied() {
    let dir = apache_store();
    // As if RocketMQ's storePathCommitLog pointed elsewhere.
    std::fs::rename(dir.path().join("commitlog"), dir.path().join("elsewhere")).unwrap();
    let err = MessageStore::open(apache_config(dir.path())).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("the CommitLog has no segment file") && text.contains("storePathCommitLog"),
        "{text}"
    );
    // Nothing was emptied.
    let cq = dir
        .path()
        .join("consumequeue/mig_orders/0/00000000000000000000");
    assert_eq!(
        std::fs::read(&cq).unwrap(),
        std::fs::read(fixture().join("store/consumequeue/mig_orders/0/00000000000000000000"))
            .unwrap()
    );
}

#[test]
fn an_index_written_with_other_sizes_is_set_aside_and_rebuilt() {
    let dir = apache_store();
    let mut config = apache_config(dir.path());
    config.max_hash_slot_num = 1_000;
    config.max_index_num = 4_000;
    let store = MessageStore::open(config).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path().join("index"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with(".unusable")),
        "RocketMQ's file is kept aside: {names:?}"
    );
    for s in sent_orders(&manifest()) {
        let found = store.query_message(ORDERS, &s.key, 8, 0, i64::MAX, false);
        assert_eq!(found.messages.len(), 1, "{}", s.key);
    }
}
