#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Prometheus metrics at `/metrics` (`metricsExporterType=PROM`, on by default in `petrel
//! serve`): a known number of messages sent and consumed shows up, parsed with a Prometheus
//! text-format parser, as the same counts under RocketMQ 5.x's metric names and labels.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use petrel_client::consumer::{
    ConsumeFromWhere, LitePullConsumer, LitePullConsumerConfig, Selector,
};
use petrel_client::{ClientConfig, Message};
use prometheus_parse::{Sample, Scrape, Value};
use support::client::{create_topic, producer, serve_small};
use support::{unique, Petrel};

/// Upper bound of the waits here.
const WAIT: Duration = Duration::from_secs(30);
/// Messages sent and consumed.
const MESSAGES: usize = 37;

/// The `http://ADDR/metrics` address `petrel serve` printed.
fn metrics_addr(p: &Petrel) -> String {
    p.stdout
        .lock()
        .unwrap()
        .iter()
        .find_map(|l| l.strip_prefix("petrel metrics on http://"))
        .map(|rest| rest.trim_end_matches("/metrics").to_string())
        .expect("petrel serve printed no metrics address")
}

/// One HTTP GET; returns the status line and the body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

fn scrape(addr: &str) -> Scrape {
    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    Scrape::parse(BufReader::new(body.as_bytes()).lines()).unwrap()
}

fn number(s: &Sample) -> f64 {
    match &s.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
        Value::Summary(_) => panic!("no summaries expected"),
    }
}

/// The value of `metric` whose labels include `labels`, if exactly one sample matches.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<&Sample> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect();
    assert!(matching.len() <= 1, "{metric} {labels:?}: {matching:?}");
    matching.first().map(|s| number(s))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_was_sent_and_consumed() {
    let p = serve_small(&["metricsPromExporterPort=0"]);
    let addr = metrics_addr(&p);
    let producer = producer(&p).await;
    let topic = unique("Metrics");
    let group = unique("metrics-cg");
    create_topic(&p, &producer, &topic, 2).await;
    let mut body_bytes = 0;
    for i in 0..MESSAGES {
        let body = format!("message {i}");
        body_bytes += body.len();
        producer
            .send(Message::new(&topic, body.into_bytes()))
            .await
            .unwrap();
    }

    let mut cfg = LitePullConsumerConfig::new(&group);
    cfg.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    cfg.auto_commit = false;
    let consumer = LitePullConsumer::start(ClientConfig::new(&p.namesrv), cfg)
        .await
        .unwrap();
    consumer.subscribe(&topic, Selector::all()).await.unwrap();
    let deadline = Instant::now() + WAIT;
    let mut got = 0;
    while got < MESSAGES {
        assert!(Instant::now() < deadline, "consumed {got} of {MESSAGES}");
        got += consumer
            .poll(Duration::from_millis(500))
            .await
            .unwrap()
            .len();
    }
    assert_eq!(got, MESSAGES);

    // Pulled, not yet committed: all of it is lag, and in flight.
    let s = scrape(&addr);
    let by_topic = [("topic", topic.as_str())];
    let by_group = [
        ("topic", topic.as_str()),
        ("consumer_group", group.as_str()),
    ];
    assert_eq!(
        value(&s, "rocketmq_messages_in_total", &by_topic),
        Some(MESSAGES as f64)
    );
    // Bytes stored are whole records (RocketMQ counts the bytes written), bodies included.
    assert!(value(&s, "rocketmq_throughput_in_total", &by_topic).unwrap() > body_bytes as f64);
    assert_eq!(
        value(&s, "rocketmq_messages_out_total", &by_group),
        Some(MESSAGES as f64)
    );
    assert!(value(&s, "rocketmq_throughput_out_total", &by_group).unwrap() >= body_bytes as f64);
    // Common labels.
    let sample = s
        .samples
        .iter()
        .find(|x| x.metric == "rocketmq_messages_in_total")
        .unwrap();
    assert_eq!(sample.labels.get("cluster"), Some("DefaultCluster"));
    assert_eq!(sample.labels.get("node_type"), Some("broker"));
    assert_eq!(sample.labels.get("is_system"), Some("false"));

    // Committed: the lag falls to 0.
    consumer.commit_sync().await.unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let s = scrape(&addr);
        let lag = value(&s, "rocketmq_consumer_lag_messages", &by_group);
        let inflight = value(&s, "rocketmq_consumer_inflight_messages", &by_group);
        if lag == Some(0.0) && inflight == Some(0.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lag {lag:?}, in flight {inflight:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    consumer.shutdown().await;

    // Every send was timed, under its request code, in RocketMQ's buckets.
    let s = scrape(&addr);
    let sends: f64 = s
        .samples
        .iter()
        .filter(|x| x.metric == "rocketmq_rpc_latency")
        .filter(|x| matches!(x.labels.get("request_code"), Some("10" | "310" | "320")))
        .map(number)
        .sum();
    assert!(sends >= MESSAGES as f64, "timed sends: {sends}");
    assert!(value(&s, "rocketmq_storage_size", &[]).unwrap() > 0.0);
    assert!(value(&s, "rocketmq_topic_number", &[]).unwrap() >= 1.0);
    assert!(value(&s, "petrel_storage_flush_latency", &[]).unwrap() >= 0.0);
    // No forced deletion (cleanFileForciblyEnable is off): both counters present, at 0.
    for counter in [
        "petrel_storage_forced_deleted_messages_total",
        "petrel_storage_forced_deleted_unconsumed_total",
    ] {
        assert_eq!(value(&s, counter, &[]), Some(0.0), "{counter}");
    }

    // Anything but /metrics is 404.
    assert_eq!(get(&addr, "/").0, "HTTP/1.1 404 Not Found");
}
