//! `petrel bench consume` and `petrel bench e2e`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use petrel_client::consumer::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFromWhere, PushConsumer,
    PushConsumerConfig, Selector,
};
use petrel_client::MessageExt;

use super::report::{new_histogram, LatencyUs, Report};
use super::{produce, progress, Budget, CommonArgs, ConsumeArgs, E2eArgs};

/// What the listener records.
struct Tally {
    received: AtomicU64,
    bytes: AtomicU64,
    first_at: Mutex<Option<Instant>>,
    last_at: Mutex<Option<Instant>>,
    /// Store-to-consume and born-to-consume, µs (the timestamps are ms).
    store_latency: Mutex<Histogram<u64>>,
    born_latency: Mutex<Histogram<u64>>,
}

impl Tally {
    fn new() -> Self {
        Self {
            received: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            first_at: Mutex::new(None),
            last_at: Mutex::new(None),
            store_latency: Mutex::new(new_histogram()),
            born_latency: Mutex::new(new_histogram()),
        }
    }

    fn record(&self, msgs: &[MessageExt]) {
        let now = Instant::now();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        self.first_at.lock().unwrap().get_or_insert(now);
        *self.last_at.lock().unwrap() = Some(now);
        {
            let mut store = self.store_latency.lock().unwrap();
            let mut born = self.born_latency.lock().unwrap();
            for m in msgs {
                let s = (now_ms - m.store_timestamp).max(0) as u64 * 1000;
                let b = (now_ms - m.born_timestamp).max(0) as u64 * 1000;
                store.saturating_record(s.max(1));
                born.saturating_record(b.max(1));
            }
        }
        let bytes: usize = msgs.iter().map(|m| m.body.len()).sum();
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.received
            .fetch_add(msgs.len() as u64, Ordering::Relaxed);
    }
}

async fn start_consumer(
    common: &CommonArgs,
    group: &str,
    threads: usize,
    filter: &str,
    from_first: bool,
    tally: Arc<Tally>,
) -> Result<PushConsumer> {
    let mut config = PushConsumerConfig::new(group.to_string());
    config.consume_thread_max = threads.max(1);
    config.consume_message_batch_max_size = 32;
    config.consume_from_where = if from_first {
        ConsumeFromWhere::ConsumeFromFirstOffset
    } else {
        ConsumeFromWhere::ConsumeFromLastOffset
    };
    PushConsumer::builder(common.client_config(), config)
        .subscribe(common.topic.clone(), Selector::tags(filter))
        .listener_concurrently(
            move |msgs: &[MessageExt], _ctx: &mut ConsumeConcurrentlyContext| {
                tally.record(msgs);
                ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .with_context(|| {
            format!(
                "cannot consume {} via name server {}",
                common.topic, common.namesrv
            )
        })
}

/// Runs until the budget is spent (by messages received or time); `until` ends it early.
async fn wait(tally: &Tally, budget: &Budget, json: bool, until: Option<&tokio::sync::Notify>) {
    let bar = progress(json);
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    let mut last = (Instant::now(), 0u64);
    let stopped = async {
        match until {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut stopped => break,
        }
        let now = Instant::now();
        let got = tally.received.load(Ordering::Relaxed);
        let rate = (got - last.1) as f64 / (now - last.0).as_secs_f64().max(1e-9);
        last = (now, got);
        bar.set_message(format!("received {got}  {rate:.0} msgs/s"));
        bar.tick();
        if budget.count().is_some_and(|n| got >= n) || budget.expired() {
            break;
        }
    }
    bar.finish_and_clear();
}

fn report(mode: &'static str, common: &CommonArgs, threads: usize, tally: &Tally) -> Report {
    let messages = tally.received.load(Ordering::Relaxed);
    let elapsed = match (
        *tally.first_at.lock().unwrap(),
        *tally.last_at.lock().unwrap(),
    ) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => Duration::from_secs(0),
    };
    let size = tally
        .bytes
        .load(Ordering::Relaxed)
        .checked_div(messages)
        .unwrap_or(0) as usize;
    let (seconds, msgs_per_sec, mb_per_sec) = Report::rates(messages, size, elapsed);
    let store = tally.store_latency.lock().unwrap();
    Report {
        mode,
        topic: common.topic.clone(),
        messages,
        seconds,
        msgs_per_sec,
        mb_per_sec,
        size_bytes: size,
        threads,
        batch: 1,
        async_send: false,
        latency_us: (!store.is_empty()).then(|| LatencyUs::from(&store)),
        errors: Default::default(),
        end_to_end_latency_us: None,
    }
}

pub async fn run(args: &ConsumeArgs, until: Option<&tokio::sync::Notify>) -> Result<Report> {
    let tally = Arc::new(Tally::new());
    let consumer = start_consumer(
        &args.common,
        &args.group,
        args.threads,
        &args.filter,
        args.from_first,
        Arc::clone(&tally),
    )
    .await?;
    let budget = Budget::new(&args.common);
    wait(&tally, &budget, args.common.json, until).await;
    consumer.shutdown().await;
    Ok(report("consume", &args.common, args.threads, &tally))
}

pub async fn run_e2e(args: &E2eArgs) -> Result<Report> {
    let common = &args.produce.common;
    // Make sure the topic exists before the consumer looks for its route.
    produce::warm_up(&args.produce).await?;
    let tally = Arc::new(Tally::new());
    let consumer = start_consumer(
        common,
        &args.consumer_group,
        args.consume_threads,
        "*",
        false,
        Arc::clone(&tally),
    )
    .await?;
    // Give the consumer its queues before the first send, so nothing sent is skipped.
    let deadline = Instant::now() + Duration::from_secs(10);
    while consumer.assigned_queues().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut produced = produce::run(&args.produce).await?;
    // Let the consumer drain what was sent (bounded).
    let drain_deadline = Instant::now() + Duration::from_secs(30);
    while tally.received.load(Ordering::Relaxed) < produced.messages
        && Instant::now() < drain_deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consumer.shutdown().await;
    let consumed = report("e2e", common, args.consume_threads, &tally);
    let born = tally.born_latency.lock().unwrap();
    produced.mode = "e2e";
    produced.end_to_end_latency_us = (!born.is_empty()).then(|| LatencyUs::from(&born));
    if consumed.messages < produced.messages {
        produced.errors.insert(
            "NOT_CONSUMED_WITHIN_30S".into(),
            produced.messages - consumed.messages,
        );
    }
    Ok(produced)
}
