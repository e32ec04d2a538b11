//! Produce and consume with the crates.io `rocketmq-client-rust` 1.0.0 client.
//!
//! cargo bench -p petrel --bench client_rust -- [--namesrv ADDR] [--senders 8,16,32]
//!     [--seconds S] [--size BYTES] [--set key=value]... [--no-consume]
//!
//! Without --namesrv it starts `petrel serve` (this build) on ephemeral ports with a fresh data
//! directory and the given --set options. Each sender is a task doing synchronous sends through
//! one shared producer; the report gives msgs/s and send latency percentiles per sender count,
//! then the rate at which a push consumer drains everything that was sent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run
#![recursion_limit = "512"]

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQProducer,
    DefaultMQPushConsumer, MQPushConsumer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use support::{client_runtime, unique, Petrel};

struct Args {
    namesrv: Option<String>,
    senders: Vec<usize>,
    seconds: u64,
    size: usize,
    sets: Vec<String>,
    consume: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        namesrv: None,
        senders: vec![8, 16, 32],
        seconds: 10,
        size: 1024,
        sets: Vec::new(),
        consume: true,
    };
    let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--namesrv" => a.namesrv = it.next(),
            "--senders" => {
                a.senders = it
                    .next()
                    .expect("--senders LIST")
                    .split(',')
                    .map(|s| s.parse().expect("number"))
                    .collect()
            }
            "--seconds" => a.seconds = it.next().expect("--seconds S").parse().expect("number"),
            "--size" => a.size = it.next().expect("--size BYTES").parse().expect("number"),
            "--set" => a.sets.push(it.next().expect("--set key=value")),
            "--no-consume" => a.consume = false,
            "--help" | "-h" => {
                println!(
                    "{}",
                    include_str!("client_rust.rs")
                        .lines()
                        .take(10)
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

async fn produce(
    producer: Arc<DefaultMQProducer>,
    topic: &str,
    senders: usize,
    seconds: u64,
    body: Arc<Vec<u8>>,
) -> (u64, Histogram<u64>, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let (producer, stop, errors, body, topic) = (
                producer.clone(),
                stop.clone(),
                errors.clone(),
                body.clone(),
                topic.to_string(),
            );
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new(3).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let msg = Message::builder()
                        .topic(topic.as_str())
                        .tags("Bench")
                        .body(body.as_ref().clone())
                        .build_unchecked();
                    let t = Instant::now();
                    match producer.send_with_timeout(msg, 10_000).await {
                        Ok(Some(_)) => hist.record(t.elapsed().as_micros() as u64).unwrap(),
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                hist
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Histogram::<u64>::new(3).unwrap();
    for t in tasks {
        all.add(t.await.unwrap()).unwrap();
    }
    (all.len(), all, errors.load(Ordering::Relaxed))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    let petrel = if args.namesrv.is_none() {
        let sets: Vec<&str> = args.sets.iter().map(String::as_str).collect();
        Some(Petrel::start(&sets))
    } else {
        None
    };
    let namesrv = args
        .namesrv
        .clone()
        .unwrap_or_else(|| petrel.as_ref().unwrap().namesrv.clone());
    println!("client benchmark: rocketmq-client-rust 1.0.0 against name server {namesrv}, {} B bodies, sync sends", args.size);
    let topic = unique("BenchTopic");
    let mut producer = DefaultMQProducer::builder(client_runtime("bench-producer"))
        .producer_group(unique("bench_pg").as_str())
        .name_server_addr(namesrv.as_str())
        .send_msg_timeout(10_000)
        .build();
    producer.start().await.expect("producer start");
    // Create the topic and wait for its route.
    producer
        .send_with_timeout(
            Message::builder()
                .topic(topic.as_str())
                .body_slice(b"warmup")
                .build_unchecked(),
            10_000,
        )
        .await
        .expect("warm-up send");
    let deadline = Instant::now() + Duration::from_secs(60);
    while producer
        .fetch_publish_message_queues(&topic)
        .await
        .map(|q| q.is_empty())
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "no route for {topic}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let producer = Arc::new(producer);
    let body = Arc::new(vec![b'x'; args.size]);
    let mut sent_total = 1u64;
    for &senders in &args.senders {
        let (sent, hist, errors) = produce(
            producer.clone(),
            &topic,
            senders,
            args.seconds,
            body.clone(),
        )
        .await;
        sent_total += sent;
        println!(
            "produce: {senders:>3} senders: {sent} msgs in {} s = {:.0} msgs/s, latency p50 {:.2} ms p99 {:.2} ms max {:.2} ms, errors {errors}",
            args.seconds,
            sent as f64 / args.seconds as f64,
            hist.value_at_quantile(0.5) as f64 / 1000.0,
            hist.value_at_quantile(0.99) as f64 / 1000.0,
            hist.max() as f64 / 1000.0,
        );
    }
    if args.consume {
        let count = Arc::new(AtomicU64::new(0));
        let first: Arc<Mutex<Option<Instant>>> = Arc::default();
        let (c2, f2) = (count.clone(), first.clone());
        let mut consumer = DefaultMQPushConsumer::builder(client_runtime("bench-consumer"))
            .consumer_group(unique("bench_cg").as_str())
            .name_server_addr(namesrv.as_str())
            .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
            .consume_message_batch_max_size(32)
            .pull_batch_size(32)
            .build();
        consumer.subscribe(&topic, "*").await.expect("subscribe");
        consumer.register_message_listener_concurrently(
            move |msgs: &[&MessageExt], _ctx: &ConsumeConcurrentlyContext| {
                f2.lock().unwrap().get_or_insert_with(Instant::now);
                c2.fetch_add(msgs.len() as u64, Ordering::Relaxed);
                Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
            },
        );
        let started = Instant::now();
        consumer.start().await.expect("consumer start");
        let deadline = Instant::now() + Duration::from_secs(600);
        while count.load(Ordering::Relaxed) < sent_total && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let done = Instant::now();
        let from_first = first.lock().unwrap().map(|f| done - f).unwrap_or_default();
        let got = count.load(Ordering::Relaxed);
        println!(
            "consume: {got} of {sent_total} msgs in {:.2} s from the first delivery = {:.0} msgs/s ({:.2} s including consumer start-up)",
            from_first.as_secs_f64(),
            got as f64 / from_first.as_secs_f64().max(1e-9),
            (done - started).as_secs_f64()
        );
        consumer.shutdown().await;
    }
    drop(petrel);
}
