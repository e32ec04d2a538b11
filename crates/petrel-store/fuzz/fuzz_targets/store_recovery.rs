//! Store recovery from damaged files. A small valid store (two CommitLog segments, several
//! ConsumeQueue files, an IndexFile, a checkpoint) is written once; each input damages a copy
//! of it (truncations, bit flips and byte writes in the files of one kind, with or without the
//! `abort` marker of a crash) and opens the store on the copy. Opening may fail; it must not
//! panic (here or in the store's threads), and every record the store then returns, by queue
//! or by key, must be valid: when only derived files (ConsumeQueue, IndexFile, checkpoint)
//! were damaged, one of the records written, byte for byte; when the CommitLog was, a record
//! that passes recovery's own validation at a written record's offset (a flip in a header
//! field of a record before the recovery's safe point is not detectable: no CRC covers it,
//! see ARCHITECTURE.md, Recovery).
//!
//! Input: byte 0 picks the files (CommitLog, ConsumeQueue, IndexFile, checkpoint, any), byte 1
//! whether the last run crashed, then up to 8 damages of 7 bytes each: file, kind, offset
//! (u32 LE), value.
#![no_main]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use petrel_protocol::message::{MessageToStore, Properties};
use petrel_protocol::message::RecordView;
use petrel_store::{validate_record, AcceptAll, MessageStore, StoreConfig};

const TOPICS: [&str; 2] = ["Orders", "Audit"];
const QUEUES: i32 = 2;
const MESSAGES: usize = 60;

struct Template {
    dir: PathBuf,
    /// Physical offset → the record written there.
    records: HashMap<i64, Vec<u8>>,
    keys: Vec<String>,
}

fn config(root: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(root);
    c.mapped_file_size_commit_log = 64 * 1024;
    c.mapped_file_size_consume_queue = 20 * 16;
    c.max_message_size_bytes = 16 * 1024;
    c.max_hash_slot_num = 16;
    c.max_index_num = 128;
    c.flush_interval_commit_log_ms = 20;
    c.flush_interval_consume_queue_ms = 50;
    c.clean_resource_interval_ms = 3_600_000;
    c.warm_mapped_file_enable = false;
    c
}

fn scratch_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let base = std::env::var_os("PETREL_FUZZ_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    base.join(format!(
        "petrel-store-fuzz-{}-{name}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        let dir = scratch_dir("template");
        let _ = std::fs::remove_dir_all(&dir);
        let store = MessageStore::open(config(&dir)).expect("template store opens");
        let mut offsets = Vec::new();
        let mut keys = Vec::new();
        for i in 0..MESSAGES {
            let key = format!("key-{i}");
            let props: Properties = [
                ("KEYS".to_string(), key.clone()),
                ("UNIQ_KEY".to_string(), format!("UNIQ{i:06}")),
                ("TAGS".to_string(), "T".to_string()),
            ]
            .into_iter()
            .collect();
            let props = props.encode();
            let body: Vec<u8> = (0..(200 + i * 37 % 2000)).map(|j| (i + j) as u8).collect();
            let msg = MessageToStore {
                topic: TOPICS[i % 2],
                queue_id: (i / 2) as i32 % QUEUES,
                flag: 0,
                body: &body,
                properties: props.as_bytes(),
                sys_flag: 0,
                born_timestamp: 1_700_000_000_000,
                born_host: SocketAddr::from(([10, 1, 2, 3], 50000)),
                store_host: SocketAddr::from(([127, 0, 0, 1], 10911)),
                reconsume_times: 0,
                prepared_transaction_offset: 0,
            };
            let r = store.append(&[msg]).expect("append");
            offsets.push(r.physical_offsets[0]);
            keys.push(key);
        }
        store.shutdown().expect("clean shutdown");
        drop(store);
        let store = MessageStore::open(config(&dir)).expect("reopens");
        let records = offsets
            .iter()
            .map(|&o| (o, store.look_message_by_offset(o).expect("record").to_vec()))
            .collect();
        store.shutdown().expect("clean shutdown");
        drop(store);
        let _ = std::fs::remove_file(dir.join("lock"));
        Template { dir, records, keys }
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "lock" {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Damages the files `data` picks; returns whether CommitLog files may have been touched.
fn damage(root: &Path, data: &[u8]) -> bool {
    let mut files = Vec::new();
    let kind = data.first().copied().unwrap_or(0) % 5;
    match kind {
        0 => files_under(&root.join("commitlog"), &mut files),
        1 => files_under(&root.join("consumequeue"), &mut files),
        2 => files_under(&root.join("index"), &mut files),
        3 => files.push(root.join("checkpoint")),
        _ => files_under(root, &mut files),
    }
    files.retain(|f| f.file_name().is_some_and(|n| n != "lock"));
    if files.is_empty() {
        return false;
    }
    if data.get(1).copied().unwrap_or(0) & 1 == 1 {
        let _ = std::fs::write(root.join("abort"), b"");
    }
    for op in data.get(2..).unwrap_or(&[]).chunks_exact(7).take(8) {
        let path = &files[op[0] as usize % files.len()];
        let Ok(mut bytes) = std::fs::read(path) else { continue };
        if bytes.is_empty() {
            continue;
        }
        let at = u32::from_le_bytes([op[2], op[3], op[4], op[5]]) as usize % bytes.len();
        match op[1] % 4 {
            0 => bytes.truncate(at),
            1 => bytes[at] ^= 1 << (op[6] % 8),
            2 => bytes[at] = op[6],
            // Zero a run, as a torn write leaves it.
            _ => {
                let end = (at + op[6] as usize * 16).min(bytes.len());
                bytes[at..end].fill(0);
            }
        }
        let _ = std::fs::write(path, bytes);
    }
    kind == 0 || kind == 4
}

fn check(store: &MessageStore, t: &Template, commit_log_damaged: bool) {
    let valid = |record: &[u8]| {
        if t.records.values().any(|r| r.as_slice() == record) {
            return true;
        }
        commit_log_damaged
            && RecordView::parse(record).is_ok_and(|v| {
                let offset = v.physical_offset();
                t.records.contains_key(&offset)
                    && u64::try_from(offset)
                        .is_ok_and(|o| validate_record(record, o) == Ok(record.len()))
            })
    };
    for topic in TOPICS {
        for queue_id in 0..QUEUES {
            let got = store.get_message(topic, queue_id, 0, 1_000, usize::MAX, &AcceptAll);
            for record in &got.messages {
                assert!(valid(record), "{topic}/{queue_id}: a record that was never written");
            }
        }
    }
    for (i, key) in t.keys.iter().enumerate().step_by(7) {
        let hits = store.query_message(TOPICS[i % 2], key, 32, 0, i64::MAX, false);
        for record in &hits.messages {
            assert!(valid(record), "key {key}: a record that was never written");
        }
    }
    for (&offset, record) in t.records.iter().take(8) {
        if let Some(got) = store.look_message_by_offset(offset) {
            assert!(
                got.is_empty() || got[..] == record[..] || valid(&got),
                "offset {offset}: not a valid record"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let t = template();
    let dir = scratch_dir("case");
    copy_dir(&t.dir, &dir);
    let commit_log_damaged = damage(&dir, data);
    if let Ok(store) = MessageStore::open(config(&dir)) {
        check(&store, t, commit_log_damaged);
        let _ = store.shutdown();
    }
    let _ = std::fs::remove_dir_all(&dir);
});
