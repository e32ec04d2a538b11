//! Store benchmarks, 1 KiB messages (see docs/benchmarks.md for recorded figures).
//!
//! cargo bench -p petrel-store --bench store -- [async-append|sync-append|read-back|dispatch-latency|all]
//!     [--dir DIR] [--messages N] [--seconds S] [--writers 1,16,64,256] [--no-warm]
//!
//! async-append     single writer, ASYNC_FLUSH: msgs/s and MB/s of append (page cache), then the
//!                  time until everything is flushed and dispatched.
//! sync-append      SYNC_FLUSH (group commit) with N concurrent async writers (tokio tasks on
//!                  2 worker threads): msgs/s, messages per fsync, latency percentiles.
//! read-back        sequential get_message (32 per call) over every queue written by async-append.
//! dispatch-latency idle store: time from append returning to the arrival listener firing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use petrel_protocol::message::{properties, MessageToStore, Properties};
use petrel_store::{AcceptAll, Arrival, FlushDiskType, MessageStore, StoreConfig};

const BODY_BYTES: usize = 1024;
const QUEUES: i32 = 8;
const TOPIC: &str = "BenchTopic";

struct Args {
    scenario: String,
    dir: PathBuf,
    messages: u64,
    seconds: u64,
    writers: Vec<usize>,
    warm: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        scenario: "all".into(),
        dir: std::env::temp_dir().join("petrel-store-bench"),
        messages: 1_000_000,
        seconds: 5,
        writers: vec![1, 16, 64, 256],
        warm: true,
    };
    let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dir" => args.dir = it.next().expect("--dir DIR").into(),
            "--messages" => args.messages = it.next().expect("--messages N").parse().expect("N"),
            "--seconds" => args.seconds = it.next().expect("--seconds S").parse().expect("S"),
            "--writers" => {
                args.writers = it
                    .next()
                    .expect("--writers LIST")
                    .split(',')
                    .map(|w| w.parse().expect("writers"))
                    .collect()
            }
            "--no-warm" => args.warm = false,
            "--help" | "-h" => {
                println!(
                    "{}",
                    include_str!("store.rs")
                        .lines()
                        .take(14)
                        .map(|l| l.trim_start_matches("//!"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                std::process::exit(0);
            }
            s if !s.starts_with('-') => args.scenario = s.to_string(),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn config(dir: &Path, flush: FlushDiskType, args: &Args) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    c.flush_disk_type = flush;
    c.warm_mapped_file_enable = args.warm;
    c
}

fn fresh_dir(base: &Path, name: &str) -> PathBuf {
    let dir = base.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Payload {
    body: Vec<u8>,
    props: Vec<String>,
    born: SocketAddr,
    host: SocketAddr,
}

impl Payload {
    fn new() -> Self {
        let props = (0..1024)
            .map(|i| {
                let mut p = Properties::new();
                p.insert(properties::TAGS, "TagA");
                p.insert(properties::KEYS, format!("order-{i}"));
                p.insert(
                    properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                    format!("7F0000010A2B18B4AAC2{i:012X}"),
                );
                p.encode()
            })
            .collect();
        Self {
            body: vec![b'x'; BODY_BYTES],
            props,
            born: "10.0.0.2:50000".parse().unwrap(),
            host: "127.0.0.1:10911".parse().unwrap(),
        }
    }

    fn msg(&self, i: u64) -> MessageToStore<'_> {
        MessageToStore {
            topic: TOPIC,
            queue_id: (i % QUEUES as u64) as i32,
            flag: 0,
            body: &self.body,
            properties: self.props[(i % 1024) as usize].as_bytes(),
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: self.born,
            store_host: self.host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn async_append(args: &Args) -> MessageStore {
    let dir = fresh_dir(&args.dir, "async");
    let store = MessageStore::open(config(&dir, FlushDiskType::AsyncFlush, args)).unwrap();
    let payload = Payload::new();
    let n = args.messages;
    let start = Instant::now();
    let mut bytes = 0u64;
    for i in 0..n {
        bytes += store.append(&[payload.msg(i)]).unwrap().wrote_bytes as u64;
    }
    let append_s = start.elapsed().as_secs_f64();
    let end = store.commit_log_max_offset() as u64;
    wait_until("dispatch", || store.dispatched_offset() >= end);
    let dispatched_s = start.elapsed().as_secs_f64();
    wait_until("flush", || store.flushed_offset() >= end);
    let flushed_s = start.elapsed().as_secs_f64();
    println!(
        "async-append: {n} msgs, {:.0} msgs/s, {:.1} MB/s (record bytes) in {append_s:.2} s; dispatched after {dispatched_s:.2} s, flushed after {flushed_s:.2} s ({:.1} MB/s to disk)",
        n as f64 / append_s,
        bytes as f64 / append_s / 1e6,
        bytes as f64 / flushed_s / 1e6,
    );
    store
}

fn read_back(store: &MessageStore) {
    let start = Instant::now();
    let (mut msgs, mut bytes, mut checksum) = (0u64, 0u64, 0u64);
    for q in 0..QUEUES {
        let mut offset = 0;
        loop {
            let r = store.get_message(TOPIC, q, offset, 32, usize::MAX, &AcceptAll);
            if r.messages.is_empty() {
                break;
            }
            for m in &r.messages {
                bytes += m.len() as u64;
                checksum = checksum.wrapping_add(u64::from(m[m.len() / 2]));
            }
            msgs += r.messages.len() as u64;
            offset = r.next_begin_offset;
        }
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "read-back: {msgs} msgs in {s:.2} s, {:.0} msgs/s, {:.1} MB/s (zero-copy slices, one byte touched per record; checksum {checksum})",
        msgs as f64 / s,
        bytes as f64 / s / 1e6
    );
}

fn sync_append(args: &Args) {
    for &writers in &args.writers {
        let dir = fresh_dir(&args.dir, &format!("sync-{writers}"));
        let store =
            Arc::new(MessageStore::open(config(&dir, FlushDiskType::SyncFlush, args)).unwrap());
        let payload = Arc::new(Payload::new());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let flushes_before = store.flush_count();
        let start = Instant::now();
        let hist = rt.block_on(async {
            let tasks: Vec<_> = (0..writers)
                .map(|w| {
                    let (store, payload, stop, count) =
                        (store.clone(), payload.clone(), stop.clone(), count.clone());
                    tokio::spawn(async move {
                        let mut hist = Histogram::<u64>::new(3).unwrap();
                        let mut i = w as u64;
                        while !stop.load(Ordering::Relaxed) {
                            let t = Instant::now();
                            let r = store.put_messages(&[payload.msg(i)], true).await.unwrap();
                            assert_eq!(r.status, petrel_store::PutStatus::PutOk);
                            hist.record(t.elapsed().as_micros() as u64).unwrap();
                            count.fetch_add(1, Ordering::Relaxed);
                            i += writers as u64;
                        }
                        hist
                    })
                })
                .collect();
            tokio::time::sleep(Duration::from_secs(args.seconds)).await;
            stop.store(true, Ordering::Relaxed);
            let mut all = Histogram::<u64>::new(3).unwrap();
            for t in tasks {
                all.add(t.await.unwrap()).unwrap();
            }
            all
        });
        let s = start.elapsed().as_secs_f64();
        let n = count.load(Ordering::Relaxed);
        let fsyncs = store.flush_count() - flushes_before;
        println!(
            "sync-append: {writers:>3} writers: {n} msgs in {s:.1} s, {:.0} msgs/s, {fsyncs} fsyncs, {:.1} msgs/fsync, latency p50 {} us p99 {} us max {} us",
            n as f64 / s,
            n as f64 / fsyncs.max(1) as f64,
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99),
            hist.max()
        );
        store.shutdown().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn dispatch_latency(args: &Args) {
    for flush in [FlushDiskType::AsyncFlush, FlushDiskType::SyncFlush] {
        let dir = fresh_dir(&args.dir, "dispatch");
        let store = MessageStore::open(config(&dir, flush, args)).unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<(i64, Instant)>();
        let tx = std::sync::Mutex::new(tx);
        store.add_arrival_listener(Arc::new(move |arrivals: &[Arrival]| {
            let now = Instant::now();
            for a in arrivals {
                let _ = tx.lock().unwrap().send((a.max_offset, now));
            }
        }));
        let payload = Payload::new();
        let mut hist = Histogram::<u64>::new(3).unwrap();
        let rounds = 5_000;
        for i in 0..rounds {
            // Idle between messages so that the dispatcher is parked when each one arrives.
            std::thread::sleep(Duration::from_micros(300));
            let mut m = payload.msg(0);
            m.queue_id = 0;
            let t = Instant::now();
            store.append(&[m]).unwrap();
            loop {
                let (max, at) = rx.recv_timeout(Duration::from_secs(10)).expect("arrival");
                if max == i + 1 {
                    hist.record(at.duration_since(t).as_micros() as u64)
                        .unwrap();
                    break;
                }
            }
        }
        println!(
            "dispatch-latency ({flush:?}): append -> visible over {rounds} idle appends: p50 {} us, p99 {} us, p99.9 {} us, max {} us",
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99),
            hist.value_at_quantile(0.999),
            hist.max()
        );
        store.shutdown().unwrap();
    }
}

fn main() {
    let args = parse_args();
    std::fs::create_dir_all(&args.dir).unwrap();
    println!(
        "store benchmark in {} (1 KiB bodies, {QUEUES} queues)",
        args.dir.display()
    );
    match args.scenario.as_str() {
        "async-append" => drop(async_append(&args)),
        "read-back" => read_back(&async_append(&args)),
        "sync-append" => sync_append(&args),
        "dispatch-latency" => dispatch_latency(&args),
        "all" => {
            let store = async_append(&args);
            read_back(&store);
            store.shutdown().unwrap();
            drop(store);
            sync_append(&args);
            dispatch_latency(&args);
        }
        other => panic!("unknown scenario {other}"),
    }
    let _ = std::fs::remove_dir_all(&args.dir);
}
