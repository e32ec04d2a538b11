//! Timer messages (TIMER_DELIVER_MS) through a real `petrel serve`: timers scheduled and fired
//! per second, and the server's memory with N timers pending.
//!
//! cargo bench -p petrel --bench timers -- [--count N] [--senders N] [--size BYTES]
//!     [--fire-after-secs S] [--spread-ms MS] [--queues Q] [--set key=value]...
//!
//! Starts `petrel serve` (this build, ASYNC_FLUSH unless --set says otherwise) with a fresh data
//! directory, sends N timer messages (SEND_MESSAGE_V2, --senders requests in flight on one
//! connection, UNIQ_KEY like a real client) due in one burst --fire-after-secs after the start,
//! spread over --spread-ms (default one 1 s timer window), waits until the timer task has indexed
//! them all, then polls the real topic's max offsets until every timer has fired. Memory is the
//! server's VmRSS / RssAnon / RssFile from /proc/PID/status.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use petrel_protocol::message::{properties, Properties};
use petrel_protocol::remoting::header::{
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, SendMessageRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code, RemotingCommand};
use petrel_remoting::{RemotingClient, RemotingConfig};
use support::{unique, Petrel};

const TIMEOUT: Duration = Duration::from_secs(30);
/// The broker's timer window (timer.rs `TIMER_PRECISION_MS`).
const WINDOW_MS: i64 = 1_000;

struct Args {
    count: u64,
    senders: usize,
    size: usize,
    fire_after_secs: Option<u64>,
    spread_ms: i64,
    queues: i32,
    sets: Vec<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        count: 1_000_000,
        senders: 64,
        size: 128,
        fire_after_secs: None,
        spread_ms: WINDOW_MS,
        queues: 4,
        sets: Vec::new(),
    };
    let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
    let num = |it: &mut dyn Iterator<Item = String>, what: &str| -> u64 {
        let v = it.next().unwrap_or_else(|| panic!("{what} needs a value"));
        v.replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{what}: {v:?} is not a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--count" => a.count = num(&mut it, "--count"),
            "--senders" => a.senders = num(&mut it, "--senders") as usize,
            "--size" => a.size = num(&mut it, "--size") as usize,
            "--fire-after-secs" => a.fire_after_secs = Some(num(&mut it, "--fire-after-secs")),
            "--spread-ms" => a.spread_ms = num(&mut it, "--spread-ms").max(1) as i64,
            "--queues" => a.queues = num(&mut it, "--queues").max(1) as i32,
            "--set" => a.sets.push(it.next().expect("--set key=value")),
            "--help" | "-h" => {
                println!(
                    "{}",
                    include_str!("timers.rs")
                        .lines()
                        .take(12)
                        .map(|l| l.trim_start_matches("//!"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The `Instant` at epoch millisecond `ms`.
fn instant_at(ms: i64) -> Instant {
    let delta = ms - now_ms();
    let now = Instant::now();
    if delta >= 0 {
        now + Duration::from_millis(delta as u64)
    } else {
        now - Duration::from_millis((-delta) as u64)
    }
}

/// Resident memory of a process, in KiB, from /proc/PID/status.
#[derive(Debug, Clone, Copy, Default)]
struct Mem {
    rss: u64,
    anon: u64,
    file: u64,
}

fn mem(pid: u32) -> Mem {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Mem {
        rss: field("VmRSS:"),
        anon: field("RssAnon:"),
        file: field("RssFile:"),
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn show(label: &str, m: Mem, base: Option<Mem>) {
    let d = |now: u64, then: u64| format!("{:+.1}", mib(now) - mib(then));
    match base {
        None => println!(
            "{label:<28} VmRSS {:>7.1} MiB   RssAnon {:>7.1} MiB   RssFile {:>7.1} MiB",
            mib(m.rss),
            mib(m.anon),
            mib(m.file)
        ),
        Some(b) => println!(
            "{label:<28} VmRSS {:>7.1} MiB   RssAnon {:>7.1} MiB ({} MiB)   RssFile {:>7.1} MiB ({} MiB)",
            mib(m.rss),
            mib(m.anon),
            d(m.anon, b.anon),
            mib(m.file),
            d(m.file, b.file)
        ),
    }
}

/// Samples RssAnon every 50 ms until stopped; returns the peak in KiB.
fn sample_peak_anon(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(mem(pid).anon);
            std::thread::sleep(Duration::from_millis(50));
        }
        peak.max(mem(pid).anon)
    })
}

/// The timer task's progress from its checkpoint file: (queue offset of rmq_sys_wheel_timer
/// indexed, TimerLog bytes). The checkpoint is written every 200 ms while anything changes.
fn timer_checkpoint(data_dir: &std::path::Path) -> Option<(i64, u64)> {
    let text = std::fs::read_to_string(data_dir.join("config/timerCheckpoint.json")).ok()?;
    let field = |name: &str| -> Option<i64> {
        let at = text.find(&format!("\"{name}\""))?;
        let rest = text[at..].split_once(':')?.1;
        rest.trim_start()
            .split(|c: char| !(c.is_ascii_digit() || c == '-'))
            .next()?
            .parse()
            .ok()
    };
    Some((field("enqueueOffset")?, field("logEnd")? as u64))
}

async fn max_offset(client: &RemotingClient, addr: &str, topic: &str, queue_id: i32) -> i64 {
    let h = GetMaxOffsetRequestHeader {
        topic: topic.into(),
        queue_id,
        ..Default::default()
    };
    let r = client
        .invoke(
            addr,
            RemotingCommand::request(rc::GET_MAX_OFFSET).with_header(&h),
            TIMEOUT,
        )
        .await
        .expect("GET_MAX_OFFSET");
    r.decode_header::<GetMaxOffsetResponseHeader>()
        .map(|h| h.offset)
        .unwrap_or(0)
}

async fn topic_size(client: &RemotingClient, addr: &str, topic: &str, queues: i32) -> i64 {
    let mut sum = 0;
    for q in 0..queues {
        sum += max_offset(client, addr, topic, q).await;
    }
    sum
}

fn timer_request(topic: &str, queues: i32, i: u64, due_ms: i64, body: &[u8]) -> RemotingCommand {
    let mut props = Properties::new();
    props.insert(properties::TIMER_DELIVER_MS, due_ms.to_string());
    props.insert(
        properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        format!("7F00000100{:08X}{:016X}", std::process::id(), i),
    );
    props.insert(properties::WAIT_STORE_MSG_OK, "true");
    let header = SendMessageRequestHeader {
        producer_group: "bench_timer_pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: queues,
        queue_id: (i % queues as u64) as i32,
        born_timestamp: now_ms(),
        properties: Some(props.encode()),
        ..Default::default()
    };
    let mut req = RemotingCommand::request(rc::SEND_MESSAGE_V2);
    header.encode_v2(&mut req.ext_fields);
    req.with_body(body.to_vec())
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    let n = args.count;
    // Timers must not fall due while they are being sent: allow 10,000 sends/s plus 10 s.
    let fire_after = args.fire_after_secs.unwrap_or(10 + n / 10_000);
    let sets: Vec<&str> = args.sets.iter().map(String::as_str).collect();
    let petrel = Petrel::start(&sets);
    let pid = petrel.pid();
    let addr = petrel.broker.clone();
    let topic = unique("TimerBench");
    println!(
        "timer benchmark: petrel serve pid {pid} ({}), {n} timers of {} B to {topic} ({} queues), {} senders in flight, due {fire_after} s after the start over {} ms",
        if sets.is_empty() { "defaults".to_string() } else { sets.join(" ") },
        args.size,
        args.queues,
        args.senders,
        args.spread_ms,
    );
    let client = Arc::new(RemotingClient::new(RemotingConfig::default(), None));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = mem(pid);
    show("memory before:", before, None);

    // 1. Schedule: every timer due in [due_start, due_start + spread).
    let started_ms = now_ms();
    let due_start = (started_ms + fire_after as i64 * 1000).div_euclid(WINDOW_MS) * WINDOW_MS;
    let due_last = due_start + args.spread_ms.min(n as i64) - 1;
    let stop_sampler = Arc::new(AtomicBool::new(false));
    let sampler = sample_peak_anon(pid, stop_sampler.clone());
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let body: Arc<[u8]> = vec![b'x'; args.size].into();
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.senders)
        .map(|_| {
            let (client, addr, topic, next, errors, body) = (
                client.clone(),
                addr.clone(),
                topic.clone(),
                next.clone(),
                errors.clone(),
                body.clone(),
            );
            let (queues, spread) = (args.queues, args.spread_ms as u64);
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new(3).unwrap();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    // Due times spread evenly over the burst, sent in a scattered order.
                    let due = due_start + ((i * 7_919) % spread) as i64;
                    let req = timer_request(&topic, queues, i, due, &body);
                    let t = Instant::now();
                    match client.invoke(&addr, req, TIMEOUT).await {
                        Ok(r) if r.code == response_code::SUCCESS => {
                            hist.record(t.elapsed().as_micros() as u64).unwrap()
                        }
                        Ok(r) => {
                            if errors.fetch_add(1, Ordering::Relaxed) < 5 {
                                eprintln!("send failed: {} {:?}", r.code, r.remark);
                            }
                        }
                        Err(e) => {
                            if errors.fetch_add(1, Ordering::Relaxed) < 5 {
                                eprintln!("send failed: {e}");
                            }
                        }
                    }
                }
                hist
            })
        })
        .collect();
    let mut lat = Histogram::<u64>::new(3).unwrap();
    for t in tasks {
        lat.add(t.await.unwrap()).unwrap();
    }
    let sent_in = started.elapsed();
    let acked = lat.len();
    let errors = errors.load(Ordering::Relaxed);
    println!(
        "scheduled: {acked} timers in {:.2} s = {:.0} timers/s; send latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms; errors {errors}",
        sent_in.as_secs_f64(),
        acked as f64 / sent_in.as_secs_f64(),
        ms(lat.value_at_quantile(0.5)),
        ms(lat.value_at_quantile(0.99)),
        ms(lat.value_at_quantile(0.999)),
        ms(lat.max()),
    );
    let early = topic_size(&client, &addr, &topic, args.queues).await;
    if early > 0 || now_ms() >= due_start {
        println!(
            "WARNING: {early} timers fired while scheduling (due {} ms after the last ack); rerun with a larger --fire-after-secs: the figures below do not measure a burst",
            due_start - now_ms()
        );
    }

    // 2. Wait until the timer task has indexed every timer (its checkpoint's queue offset).
    let deadline = Instant::now() + Duration::from_secs(600);
    let (indexed_at, log_end) = loop {
        if let Some((offset, log_end)) = timer_checkpoint(&petrel.data_dir) {
            if offset >= acked as i64 {
                break (Instant::now(), log_end);
            }
        }
        assert!(
            Instant::now() < deadline,
            "timers not indexed: {:?}",
            timer_checkpoint(&petrel.data_dir)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    stop_sampler.store(true, Ordering::Relaxed);
    let peak_scheduling = sampler.join().unwrap();
    println!(
        "indexed: all {acked} {:.2} s after the last ack ({:.0} timers/s from the first send; checkpoint written every 200 ms), TimerLog {:.1} MiB",
        (indexed_at - started - sent_in).as_secs_f64(),
        acked as f64 / (indexed_at - started).as_secs_f64(),
        log_end as f64 / (1 << 20) as f64,
    );
    // Let the timer task's last round and the flushes finish before reading memory.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pending = mem(pid);
    show(&format!("memory, {acked} pending:"), pending, Some(before));
    println!(
        "{:<28} RssAnon {:.1} MiB while scheduling",
        "peak:",
        mib(peak_scheduling)
    );

    // 3. Fire: poll the real topic until every timer has been delivered.
    let to_due = due_start - now_ms();
    println!(
        "waiting {:.1} s for the burst (due {:.1} s after the last ack)",
        to_due as f64 / 1000.0,
        (due_start as f64 - (started_ms as f64 + sent_in.as_secs_f64() * 1000.0)) / 1000.0,
    );
    let due_at = instant_at(due_start);
    tokio::time::sleep_until((due_at - Duration::from_millis(200)).into()).await;
    let stop_sampler = Arc::new(AtomicBool::new(false));
    let sampler = sample_peak_anon(pid, stop_sampler.clone());
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut first: Option<Instant> = None;
    let mut report = Instant::now();
    let (done_at, fired) = loop {
        let fired = topic_size(&client, &addr, &topic, args.queues).await;
        let now = Instant::now();
        if fired > 0 && first.is_none() {
            first = Some(now);
        }
        if fired >= acked as i64 {
            break (now, fired);
        }
        if now >= report + Duration::from_secs(5) {
            println!("  ... {fired} fired");
            report = now;
        }
        assert!(now < deadline, "only {fired} of {acked} timers fired");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    stop_sampler.store(true, Ordering::Relaxed);
    let peak_firing = sampler.join().unwrap();
    let first = first.unwrap_or(done_at);
    let since_due = |t: Instant| t.saturating_duration_since(due_at).as_secs_f64() * 1000.0;
    let fire_secs = (done_at - due_at).as_secs_f64();
    println!(
        "fired: {fired} timers; first delivered {:.0} ms after the first due time, last {:.0} ms after it ({:.0} ms after the last due time) = {:.0} timers/s",
        since_due(first),
        since_due(done_at),
        since_due(done_at) - (due_last - due_start) as f64,
        fired as f64 / fire_secs,
    );
    if fired > acked as i64 {
        println!("WARNING: {} timers delivered twice", fired - acked as i64);
    }
    let after = mem(pid);
    println!(
        "{:<28} RssAnon {:.1} MiB while firing",
        "peak:",
        mib(peak_firing)
    );
    show("memory after firing:", after, Some(before));
    client.close_all().await;
    drop(petrel);
}
