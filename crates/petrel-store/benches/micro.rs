//! Criterion micro-benchmarks of the store's per-message work: a CommitLog append (ASYNC_FLUSH,
//! page cache only) and append followed by dispatch (ConsumeQueue and IndexFile entries built
//! by the dispatcher thread), 1 KiB messages with a key.
//!
//!     cargo bench -p petrel-store --bench micro                              # run
//!     cargo bench -p petrel-store --bench micro -- --save-baseline main      # keep a baseline
//!     cargo bench -p petrel-store --bench micro -- --baseline main           # compare a change
//!
//! Each sample opens a fresh store under PETREL_BENCH_DIR (default: the temp dir; tmpfs keeps
//! the disk out of the figure) and times only the appends (and the wait for dispatch); the
//! store is deleted afterwards. The throughput runs in benches/store.rs cover fsync and
//! concurrency; these track the CPU cost per message across commits.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use petrel_protocol::message::MessageToStore;
use petrel_store::{FlushDiskType, MessageStore, StoreConfig};

const BODY_BYTES: usize = 1024;
const QUEUES: u64 = 8;

fn bench_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("PETREL_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("petrel-micro-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn open(dir: &PathBuf) -> MessageStore {
    let mut c = StoreConfig::new(dir);
    c.flush_disk_type = FlushDiskType::AsyncFlush;
    MessageStore::open(c).unwrap()
}

/// Appends `n` messages and returns the time taken, plus the CommitLog end.
fn append_n(store: &MessageStore, n: u64, body: &[u8], props: &[String]) -> Duration {
    let born: SocketAddr = "127.0.0.1:54321".parse().unwrap();
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let start = Instant::now();
    for i in 0..n {
        let msg = MessageToStore {
            topic: "BenchTopic",
            queue_id: (i % QUEUES) as i32,
            flag: 0,
            body,
            properties: props[(i % props.len() as u64) as usize].as_bytes(),
            sys_flag: 0,
            born_timestamp: 1_764_900_000_000,
            born_host: born,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        store.append(&[msg]).unwrap();
    }
    start.elapsed()
}

fn store(c: &mut Criterion) {
    let body = vec![b'x'; BODY_BYTES];
    // A distinct key per message (the IndexFile gets one entry each), as with `bench --keys`.
    let props: Vec<String> = (0..4096)
        .map(|i| format!("KEYS\u{1}order-{i}\u{2}TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}{i:032X}\u{2}"))
        .collect();
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("append_1k", |b| {
        b.iter_custom(|iters| {
            let dir = bench_dir("append");
            let s = open(&dir);
            let took = append_n(&s, iters, &body, &props);
            s.shutdown().unwrap();
            drop(s);
            let _ = std::fs::remove_dir_all(&dir);
            took
        })
    });
    g.bench_function("append_and_dispatch_1k", |b| {
        b.iter_custom(|iters| {
            let dir = bench_dir("dispatch");
            let s = open(&dir);
            let start = Instant::now();
            append_n(&s, iters, &body, &props);
            let end = s.commit_log_max_offset() as u64;
            while s.dispatched_offset() < end {
                std::thread::sleep(Duration::from_micros(50));
            }
            let took = start.elapsed();
            s.shutdown().unwrap();
            drop(s);
            let _ = std::fs::remove_dir_all(&dir);
            took
        })
    });
    g.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
