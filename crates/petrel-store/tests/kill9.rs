//! The durability promise, tested by really killing a process: a child appends under
//! SYNC_FLUSH and prints every acknowledged append; the test kills it with SIGKILL at an
//! arbitrary moment, reopens the store and checks that every acknowledged record is there byte
//! for byte, and that everything the store returns is a valid record.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use petrel_protocol::message::RecordView;
use petrel_store::{validate_record, AcceptAll, FlushDiskType, MessageStore, StoreConfig};

fn body(seq: u64) -> Vec<u8> {
    let len = 50 + (seq * 7919 % 2000) as usize;
    let pattern = format!("seq={seq};");
    pattern.bytes().cycle().take(len).collect()
}

struct Ack {
    seq: u64,
    queue_id: i32,
    queue_offset: i64,
    physical_offset: i64,
}

/// Runs the writer until it has acknowledged `kill_after` appends, then SIGKILLs it.
fn run_and_kill(dir: &std::path::Path, kill_after: usize) -> Vec<Ack> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_petrel-store-crash-writer"))
        .args([dir.to_str().unwrap(), "8", "262144"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn crash writer");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut acks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acks.len() < kill_after {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("writer stalled");
        acks.push(line);
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().unwrap();
    assert!(!status.success());
    reader.join().unwrap();
    // Lines printed before the kill are acknowledgements too.
    acks.extend(rx.try_iter());
    acks.iter()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f[0], "ACK", "{line}");
            Ack {
                seq: f[1].parse().unwrap(),
                queue_id: f[2].parse().unwrap(),
                queue_offset: f[3].parse().unwrap(),
                physical_offset: f[4].parse().unwrap(),
            }
        })
        .collect()
}

fn reopen(dir: &std::path::Path) -> MessageStore {
    let mut config = StoreConfig::new(dir);
    config.flush_disk_type = FlushDiskType::SyncFlush;
    config.mapped_file_size_commit_log = 262_144;
    config.max_message_size_bytes = 8 * 1024;
    config.mapped_file_size_consume_queue = 20 * 1000;
    config.max_hash_slot_num = 1024;
    config.max_index_num = 8192;
    MessageStore::open(config).expect("reopen after kill -9")
}

#[test]
fn recovers_acknowledged_messages_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut all_acks: Vec<Ack> = Vec::new();
    // Three crashes at different points; each run continues the log of the previous ones.
    for kill_after in [300, 1500, 700] {
        let acks = run_and_kill(dir.path(), kill_after);
        assert!(acks.len() >= kill_after);
        let store = reopen(dir.path());
        assert!(!store.recovery_report().clean_shutdown);

        // Every acknowledged record is there, byte for byte, at its offsets.
        for ack in &acks {
            let record = store
                .look_message_by_offset(ack.physical_offset)
                .unwrap_or_else(|| {
                    panic!(
                        "acknowledged seq {} at {} lost",
                        ack.seq, ack.physical_offset
                    )
                });
            let view = RecordView::parse(&record).unwrap();
            assert_eq!(view.body(), &body(ack.seq)[..], "seq {}", ack.seq);
            assert_eq!(view.queue_id(), ack.queue_id);
            assert_eq!(view.queue_offset(), ack.queue_offset);
            let via_queue = store.get_message(
                "CrashTopic",
                ack.queue_id,
                ack.queue_offset,
                1,
                usize::MAX,
                &AcceptAll,
            );
            assert_eq!(
                via_queue.messages.first().map(|m| m.to_vec()),
                Some(record.to_vec())
            );
        }

        // Everything readable is a valid record, and each queue is dense from 0 to its max.
        let mut per_queue = HashMap::new();
        for queue_id in 0..4 {
            let max = store.get_max_offset_in_queue("CrashTopic", queue_id);
            let got = store.get_message("CrashTopic", queue_id, 0, 100_000, usize::MAX, &AcceptAll);
            assert_eq!(got.messages.len() as i64, max);
            for (i, m) in got.messages.iter().enumerate() {
                let view = RecordView::parse(m).unwrap();
                validate_record(m, view.physical_offset() as u64).expect("valid record");
                assert_eq!(view.queue_offset(), i as i64);
            }
            per_queue.insert(queue_id, max);
        }
        // Earlier runs' acknowledged records survived the later crashes too.
        for ack in &all_acks {
            assert!(
                store.look_message_by_offset(ack.physical_offset).is_some(),
                "seq {} from an earlier run",
                ack.seq
            );
        }
        all_acks.extend(acks);
        store.shutdown().unwrap();
        drop(store);
    }
}
