//! Appends deterministic messages to a store under SYNC_FLUSH from several threads and prints
//! `ACK <seq> <queue_id> <queue_offset> <physical_offset>` after each acknowledged append,
//! until killed. Used by the kill -9 test; the message for `seq` is `crash_writer_body(seq)`.
//!
//! Usage: `petrel-store-crash-writer <store-dir> <threads> <segment-bytes>`
//!
//! A test tool, not part of the store: its `unwrap`/`expect` calls stay on purpose. Bad
//! arguments or a store that fails are a broken test setup, and a panic (non-zero exit, message
//! on stderr) is exactly what the kill -9 test should see then.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use petrel_protocol::message::{properties, MessageToStore, Properties};
use petrel_store::{FlushDiskType, MessageStore, PutStatus, StoreConfig};

/// The body written for sequence number `seq` (mirrored in the test).
fn body(seq: u64) -> Vec<u8> {
    let len = 50 + (seq * 7919 % 2000) as usize;
    let pattern = format!("seq={seq};");
    pattern.bytes().cycle().take(len).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: {} <store-dir> <threads> <segment-bytes>", args[0]);
        std::process::exit(2);
    }
    let threads: usize = args[2].parse().expect("threads");
    let mut config = StoreConfig::new(&args[1]);
    config.flush_disk_type = FlushDiskType::SyncFlush;
    config.mapped_file_size_commit_log = args[3].parse().expect("segment bytes");
    config.max_message_size_bytes = 8 * 1024;
    config.mapped_file_size_consume_queue = 20 * 1000;
    config.max_hash_slot_num = 1024;
    config.max_index_num = 8192;
    let store = Arc::new(MessageStore::open(config).expect("open store"));
    let next = Arc::new(AtomicU64::new(0));
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let born: SocketAddr = "10.0.0.9:4000".parse().unwrap();
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (store, next, out) = (Arc::clone(&store), Arc::clone(&next), Arc::clone(&out));
            std::thread::spawn(move || loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                let body = body(seq);
                let mut props = Properties::new();
                props.insert(properties::KEYS, format!("seq-{seq}"));
                let props = props.encode();
                let queue_id = (seq % 4) as i32;
                let msg = MessageToStore {
                    topic: "CrashTopic",
                    queue_id,
                    flag: 0,
                    body: &body,
                    properties: props.as_bytes(),
                    sys_flag: 0,
                    born_timestamp: seq as i64,
                    born_host: born,
                    store_host: host,
                    reconsume_times: 0,
                    prepared_transaction_offset: 0,
                };
                match store.put_messages_blocking(&[msg], true) {
                    Ok(r) if r.status == PutStatus::PutOk => {
                        let mut out = out.lock().unwrap();
                        let _ = writeln!(
                            out,
                            "ACK {seq} {queue_id} {} {}",
                            r.append.queue_offset, r.append.physical_offsets[0]
                        );
                        let _ = out.flush();
                    }
                    Ok(r) => eprintln!("seq {seq}: not acknowledged: {:?}", r.status),
                    Err(e) => {
                        eprintln!("seq {seq}: {e}");
                        std::process::exit(1);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}
