//! `petrel bench produce`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use hdrhistogram::Histogram;
use petrel_client::{Message, Producer, ProducerConfig};
use tokio::task::JoinSet;

use super::report::{new_histogram, LatencyUs, Report};
use super::{error_name, merge_errors, progress, Budget, Pacer, ProduceArgs};

/// What one sender measured.
struct SenderResult {
    sent: u64,
    latency: Histogram<u64>,
    errors: BTreeMap<String, u64>,
}

struct Shared {
    producer: Producer,
    args: ProduceArgs,
    body: Bytes,
    budget: Budget,
    pacer: Option<Pacer>,
    sent: AtomicU64,
    failed: AtomicU64,
    key_seq: AtomicU64,
}

impl Shared {
    fn message(&self) -> Message {
        let mut m = Message::new(&self.args.common.topic, self.body.clone());
        if let Some(tag) = &self.args.tag {
            m = m.with_tags(tag.clone());
        }
        if self.args.keys {
            let n = self.key_seq.fetch_add(1, Ordering::Relaxed);
            m = m.with_keys([format!("bench-{n}")]);
        }
        m
    }

    /// One send of `n` messages (a batch when `args.batch > 1`): `Some(status)` when the
    /// broker stored it but answered other than SEND_OK (a SYNC_MASTER without its slave, a
    /// SYNC_FLUSH timeout), which is counted apart from the messages sent.
    async fn send(
        &self,
        n: u64,
    ) -> std::result::Result<Option<&'static str>, petrel_client::ClientError> {
        let result = if self.args.batch > 1 {
            let msgs = (0..n).map(|_| self.message()).collect();
            self.producer.send_batch(msgs).await?
        } else {
            self.producer.send(self.message()).await?
        };
        Ok(status_name(result.status))
    }
}

async fn start_producer(args: &ProduceArgs) -> Result<Producer> {
    let client = args.common.client_config();
    let mut config = ProducerConfig::new(args.producer_group.clone());
    // Measure the broker, not the compressor: bench bodies are sent as they are.
    config.compress_over_bytes = usize::MAX;
    let producer = Producer::start(client, config)
        .await
        .context("starting the producer")?;
    // One untimed send: fetches the route and creates the topic if the broker allows it.
    let sent = producer
        .send(Message::new(&args.common.topic, vec![b'w'; args.size]))
        .await
        .with_context(|| {
            format!(
                "cannot send to {} via name server {}",
                args.common.topic, args.common.namesrv
            )
        });
    if let Err(e) = sent {
        producer.shutdown().await;
        return Err(e);
    }
    Ok(producer)
}

/// Sends one message so that the topic exists (brokers with autoCreateTopicEnable).
pub async fn warm_up(args: &ProduceArgs) -> Result<()> {
    start_producer(args).await?.shutdown().await;
    Ok(())
}

pub async fn run(args: &ProduceArgs) -> Result<Report> {
    let producer = start_producer(args).await?;

    let shared = Arc::new(Shared {
        producer: producer.clone(),
        args: args.clone(),
        body: Bytes::from(vec![b'p'; args.size]),
        budget: Budget::new(&args.common),
        pacer: args.rate.map(Pacer::new),
        sent: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        key_seq: AtomicU64::new(0),
    });
    let bar = progress(args.common.json);
    let started = Instant::now();
    let mut senders = JoinSet::new();
    for _ in 0..args.threads {
        let shared = Arc::clone(&shared);
        if args.async_send {
            senders.spawn(async_sender(shared));
        } else {
            senders.spawn(sync_sender(shared));
        }
    }
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    let mut last = (Instant::now(), 0u64);
    let mut results = Vec::new();
    loop {
        tokio::select! {
            joined = senders.join_next() => match joined {
                Some(r) => results.push(r.context("a sender panicked")?),
                None => break,
            },
            _ = ticker.tick() => {
                let now = Instant::now();
                let sent = shared.sent.load(Ordering::Relaxed);
                let rate = (sent - last.1) as f64 / (now - last.0).as_secs_f64().max(1e-9);
                last = (now, sent);
                bar.set_message(format!(
                    "sent {sent}  {rate:.0} msgs/s  errors {}",
                    shared.failed.load(Ordering::Relaxed)
                ));
                bar.tick();
            }
        }
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    producer.shutdown().await;

    let mut latency = new_histogram();
    let mut errors = BTreeMap::new();
    let mut sent = 0;
    for r in results {
        sent += r.sent;
        latency.add(&r.latency).ok();
        merge_errors(&mut errors, r.errors);
    }
    let (seconds, msgs_per_sec, mb_per_sec) = Report::rates(sent, args.size, elapsed);
    Ok(Report {
        mode: "produce",
        topic: args.common.topic.clone(),
        messages: sent,
        seconds,
        msgs_per_sec,
        mb_per_sec,
        size_bytes: args.size,
        threads: args.threads,
        batch: args.batch,
        async_send: args.async_send,
        latency_us: (!latency.is_empty()).then(|| LatencyUs::from(&latency)),
        errors,
        end_to_end_latency_us: None,
    })
}

async fn sync_sender(shared: Arc<Shared>) -> SenderResult {
    let mut out = SenderResult {
        sent: 0,
        latency: new_histogram(),
        errors: BTreeMap::new(),
    };
    loop {
        let n = shared.budget.claim(shared.args.batch as u64);
        if n == 0 {
            return out;
        }
        if let Some(p) = &shared.pacer {
            p.wait(n).await;
        }
        let t = Instant::now();
        let r = shared.send(n).await;
        let us = t.elapsed().as_micros() as u64;
        match r {
            Ok(None) => {
                out.latency.saturating_record(us.max(1));
                out.sent += n;
                shared.sent.fetch_add(n, Ordering::Relaxed);
            }
            Ok(Some(status)) => {
                *out.errors.entry(status.to_string()).or_default() += 1;
                shared.failed.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                *out.errors.entry(error_name(&e)).or_default() += 1;
                shared.failed.fetch_add(1, Ordering::Relaxed);
                if shared.failed.load(Ordering::Relaxed) == 1 {
                    tracing::warn!(error = %e, "send failed");
                }
            }
        }
    }
}

/// Keeps `inflight` sends outstanding; each completion records its own latency.
async fn async_sender(shared: Arc<Shared>) -> SenderResult {
    let mut out = SenderResult {
        sent: 0,
        latency: new_histogram(),
        errors: BTreeMap::new(),
    };
    let mut inflight = JoinSet::new();
    loop {
        while inflight.len() < shared.args.inflight {
            let n = shared.budget.claim(shared.args.batch as u64);
            if n == 0 {
                break;
            }
            if let Some(p) = &shared.pacer {
                p.wait(n).await;
            }
            let s = Arc::clone(&shared);
            inflight.spawn(async move {
                let t = Instant::now();
                let r = s.send(n).await;
                (n, t.elapsed().as_micros() as u64, r)
            });
        }
        let Some(done) = inflight.join_next().await else {
            return out;
        };
        let Ok((n, us, r)) = done else { continue };
        match r {
            Ok(None) => {
                out.latency.saturating_record(us.max(1));
                out.sent += n;
                shared.sent.fetch_add(n, Ordering::Relaxed);
            }
            Ok(Some(status)) => {
                *out.errors.entry(status.to_string()).or_default() += 1;
                shared.failed.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                *out.errors.entry(error_name(&e)).or_default() += 1;
                shared.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The response-code name of a send status other than SEND_OK (as `errors` names codes).
fn status_name(status: petrel_client::SendStatus) -> Option<&'static str> {
    use petrel_client::SendStatus as S;
    use petrel_protocol::remoting::response_code as code;
    let c = match status {
        S::SendOk => return None,
        S::FlushDiskTimeout => code::FLUSH_DISK_TIMEOUT,
        S::FlushSlaveTimeout => code::FLUSH_SLAVE_TIMEOUT,
        S::SlaveNotAvailable => code::SLAVE_NOT_AVAILABLE,
    };
    Some(code::name(c).unwrap_or("NOT_SEND_OK"))
}
