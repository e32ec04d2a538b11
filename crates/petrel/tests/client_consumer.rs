//! `petrel-client`'s push consumer against a real `petrel serve`: delivery, consume-from-where
//! for new groups, committed offsets, rebalancing as members join and leave, broadcasting with
//! local offsets, orderly consumption (also across a `kill -9` of a member), retries and the
//! DLQ, flow control, and tag / SQL92 filters.
//!
//! Timings are shortened through the client's settings (rebalance every second, offsets
//! committed every 500 ms, long polls of 2 s) and the broker's (`messageDelayLevel` of 1 s).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use petrel_client::consumer::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFromWhere, ConsumeOrderlyContext,
    ConsumeOrderlyStatus, MessageModel, PushConsumer, PushConsumerConfig, Selector,
};
use petrel_client::{ClientConfig, Message, MessageExt, MessageQueue, Producer, ProducerConfig};
use petrel_protocol::remoting::header::{GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader};
use petrel_protocol::remoting::{request_code as rc, RemotingCommand};
use support::client::{committed_offset as committed, create_topic, read_queue, serve_small};
use support::{eventually, unique, Petrel};

/// Upper bound of any wait in these tests (except the lock expiry after a kill).
const WAIT: Duration = Duration::from_secs(30);

/// A message as a listener saw it.
#[derive(Debug, Clone)]
struct Got {
    consumer: String,
    seq: u64,
    key: String,
    topic: String,
    tags: Option<String>,
    body: Vec<u8>,
    reconsume_times: i32,
    queue: MessageQueue,
    msg_id: String,
    store_timestamp: i64,
}

impl Got {
    /// `queue` is the queue the message was pulled from (the listener context's): for a retry
    /// it is the retry topic's, while the message shows its original topic.
    fn from(consumer: &str, m: &MessageExt, queue: &MessageQueue) -> Got {
        Got {
            consumer: consumer.to_string(),
            seq: m
                .property("seq")
                .and_then(|s| s.parse().ok())
                .unwrap_or(u64::MAX),
            key: m.keys().next().unwrap_or("").to_string(),
            topic: m.topic.clone(),
            tags: m.tags().map(String::from),
            body: m.body.to_vec(),
            reconsume_times: m.reconsume_times,
            queue: queue.clone(),
            msg_id: m.msg_id().to_string(),
            store_timestamp: m.store_timestamp,
        }
    }
}

type Received = Arc<Mutex<Vec<Got>>>;

fn seqs(r: &Received) -> Vec<u64> {
    r.lock().unwrap().iter().map(|g| g.seq).collect()
}

fn distinct(r: &Received) -> BTreeSet<u64> {
    seqs(r).into_iter().collect()
}

/// Client settings that make tests fast: rebalance every second, commit every 500 ms.
fn client(p: &Petrel) -> ClientConfig {
    let mut c = ClientConfig::new(&p.namesrv);
    c.rebalance_interval = Duration::from_millis(1_000);
    c.persist_consumer_offset_interval = Duration::from_millis(500);
    c.poll_name_server_interval = Duration::from_millis(1_000);
    c
}

fn consumer_config(group: &str, from: ConsumeFromWhere) -> PushConsumerConfig {
    let mut c = PushConsumerConfig::new(group);
    c.consume_from_where = from;
    c.broker_suspend_max_time = Duration::from_secs(2);
    c.pull_time_delay_when_exception = Duration::from_millis(200);
    c
}

/// A concurrent listener recording what it sees under `name`.
fn recorder(
    name: &str,
    sink: &Received,
) -> impl Fn(&[MessageExt], &mut ConsumeConcurrentlyContext) -> ConsumeConcurrentlyStatus {
    let (name, sink) = (name.to_string(), Arc::clone(sink));
    move |msgs: &[MessageExt], ctx: &mut ConsumeConcurrentlyContext| {
        let mut s = sink.lock().unwrap();
        for m in msgs {
            s.push(Got::from(&name, m, &ctx.message_queue));
        }
        ConsumeConcurrentlyStatus::ConsumeSuccess
    }
}

async fn start_consumer(
    p: &Petrel,
    config: PushConsumerConfig,
    topic: &str,
    selector: Selector,
    name: &str,
    sink: &Received,
) -> PushConsumer {
    PushConsumer::builder(client(p), config)
        .subscribe(topic, selector)
        .listener_concurrently(recorder(name, sink))
        .start()
        .await
        .expect("consumer starts")
}

async fn producer(p: &Petrel) -> Producer {
    Producer::start(client(p), ProducerConfig::new(unique("pg")))
        .await
        .unwrap()
}

fn msg(topic: &str, seq: u64) -> Message {
    Message::new(topic, format!("body-{seq}")).with_property("seq", seq.to_string())
}

async fn send_seqs(p: &Producer, topic: &str, seqs: std::ops::Range<u64>) {
    for s in seqs {
        p.send(msg(topic, s)).await.expect("send");
    }
}

/// Waits until the broker shows `n` messages in `topic`'s queues (GET_MAX_OFFSET): stores are
/// acknowledged before the ConsumeQueue is written, and a test about where a new group starts
/// needs the backlog in place first.
async fn wait_visible(p: &Petrel, producer: &Producer, topic: &str, n: i64) {
    let route = producer.instance().route(topic).await.unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let mut sum = 0;
        for mq in &route.subscribe_queues {
            let h = GetMaxOffsetRequestHeader {
                topic: topic.into(),
                queue_id: mq.queue_id,
                committed: true,
                ..Default::default()
            };
            let r = producer
                .instance()
                .invoke_ok(
                    &p.broker,
                    RemotingCommand::request(rc::GET_MAX_OFFSET).with_header(&h),
                )
                .await
                .unwrap();
            sum += r
                .decode_header::<GetMaxOffsetResponseHeader>()
                .unwrap()
                .offset;
        }
        if sum >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{topic}: {sum} of {n} messages visible"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn topic_queues(c: &PushConsumer, topic: &str) -> usize {
    c.assigned_queues()
        .iter()
        .filter(|q| q.topic == topic)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clustering_consumer_receives_every_message_intact() {
    let petrel = serve_small(&[]);
    let p = producer(&petrel).await;
    let topic = unique("Intact");
    let group = unique("cg");
    create_topic(&petrel, &p, &topic, 4).await;

    // Varied messages: tags, keys, properties, a compressed body, UTF-8, a flag.
    let big = "petrel ".repeat(2_000);
    let mut sent: BTreeMap<u64, Message> = BTreeMap::new();
    for seq in 0..200u64 {
        let body = match seq % 4 {
            0 => big.clone(),
            1 => format!("héllo wörld {seq} ✓"),
            _ => format!("body-{seq}"),
        };
        let mut m = Message::new(&topic, body)
            .with_tags(if seq % 2 == 0 { "even" } else { "odd" })
            .with_keys([format!("k{seq}"), "shared".to_string()])
            .with_property("seq", seq.to_string())
            .with_property("color", "red");
        m.flag = (seq % 7) as i32;
        sent.insert(seq, m);
    }
    // Then a throughput run: 2,000 small messages in batches of 100.
    let bulk_from = 1_000u64;
    let bulk = 2_000u64;

    let got: Received = Arc::default();
    let c = start_consumer(
        &petrel,
        consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset),
        &topic,
        Selector::all(),
        "c",
        &got,
    )
    .await;
    for m in sent.values() {
        p.send(m.clone()).await.unwrap();
    }
    eventually("the first 200 messages", WAIT, || {
        got.lock().unwrap().len() >= 200
    })
    .await;

    let started = Instant::now();
    for chunk in 0..bulk / 100 {
        let batch: Vec<Message> = (0..100)
            .map(|i| msg(&topic, bulk_from + chunk * 100 + i))
            .collect();
        p.send_batch(batch).await.unwrap();
    }
    eventually("the bulk messages", WAIT, || {
        got.lock().unwrap().len() >= 200 + bulk as usize
    })
    .await;
    let elapsed = started.elapsed();
    eprintln!(
        "consume rate: {} messages produced and consumed in {:?} ({:.0} msg/s)",
        bulk,
        elapsed,
        bulk as f64 / elapsed.as_secs_f64()
    );

    let all = got.lock().unwrap().clone();
    assert_eq!(all.len(), 200 + bulk as usize, "every message exactly once");
    let by_seq: HashMap<u64, &Got> = all.iter().map(|g| (g.seq, g)).collect();
    assert_eq!(by_seq.len(), all.len(), "no duplicates");
    for (seq, m) in &sent {
        let g = by_seq
            .get(seq)
            .unwrap_or_else(|| panic!("message {seq} missing"));
        assert_eq!(g.body, m.body.to_vec(), "body of {seq}");
        assert_eq!(g.tags.as_deref(), m.tags(), "tags of {seq}");
        assert_eq!(g.key, format!("k{seq}"));
        assert_eq!(g.topic, topic);
    }
    assert!((bulk_from..bulk_from + bulk).all(|s| by_seq.contains_key(&s)));
    // Properties and flags as sent (checked on a few through a second listener view).
    let queues: HashSet<i32> = all.iter().map(|g| g.queue.queue_id).collect();
    assert_eq!(queues.len(), 4, "all queues consumed");

    // The running info admin tools read.
    let info = c.running_info();
    assert_eq!(info["properties"]["PROP_CONSUME_TYPE"], "CONSUME_PASSIVELY");
    assert_eq!(info["properties"]["PROP_CONSUMEORDERLY"], "false");
    let subs: Vec<&str> = info["subscriptionSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["topic"].as_str().unwrap())
        .collect();
    assert!(subs.contains(&topic.as_str()));
    assert!(subs.contains(&format!("%RETRY%{group}").as_str()));
    let mq_table = info["mqTable"].as_object().unwrap();
    assert!(mq_table.len() >= 4, "{mq_table:?}");
    let offsets_sum: i64 = mq_table
        .iter()
        .filter(|(k, _)| k.contains(&topic))
        .map(|(_, v)| v["commitOffset"].as_i64().unwrap())
        .sum();
    assert_eq!(offsets_sum, 200 + bulk as i64);
    assert!(
        info["statusTable"][&topic]["consumeOKTPS"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    c.shutdown().await;
    // A SQL92 subscription on a broker without enablePropertyFilter fails the start.
    let err = PushConsumer::builder(
        client(&petrel),
        consumer_config(&unique("sqlcg"), ConsumeFromWhere::ConsumeFromLastOffset),
    )
    .subscribe(&topic, Selector::sql92("a > 1"))
    .listener_concurrently(recorder("x", &Received::default()))
    .start()
    .await
    .expect_err("SQL92 needs enablePropertyFilter");
    // RocketMQ's answer: SYSTEM_ERROR with the remark that names the missing switch.
    assert!(err.to_string().contains("enablePropertyFilter"), "{err}");
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_group_starts_where_consume_from_where_says() {
    let petrel = serve_small(&[]);
    let p = producer(&petrel).await;
    let topic = unique("Where");
    create_topic(&petrel, &p, &topic, 4).await;

    send_seqs(&p, &topic, 0..20).await; // old
                                        // Separate the two halves in store time for the timestamp search.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t_mid = petrel_now_ms();
    tokio::time::sleep(Duration::from_millis(50)).await;
    send_seqs(&p, &topic, 20..40).await; // mid
    wait_visible(&petrel, &p, &topic, 40).await;

    // A retry message waiting for group "last" before it ever ran: a new group never skips
    // its retry topic.
    let last_group = unique("last");
    p.send(
        Message::new(format!("%RETRY%{last_group}"), "retried")
            .with_property("seq", "999")
            .with_property("RETRY_TOPIC", topic.clone()),
    )
    .await
    .unwrap();

    let (first, last, by_time) = (
        Received::default(),
        Received::default(),
        Received::default(),
    );
    let c_first = start_consumer(
        &petrel,
        consumer_config(&unique("first"), ConsumeFromWhere::ConsumeFromFirstOffset),
        &topic,
        Selector::all(),
        "first",
        &first,
    )
    .await;
    let c_last = start_consumer(
        &petrel,
        consumer_config(&last_group, ConsumeFromWhere::ConsumeFromLastOffset),
        &topic,
        Selector::all(),
        "last",
        &last,
    )
    .await;
    let mut ts_config = consumer_config(&unique("time"), ConsumeFromWhere::ConsumeFromTimestamp);
    ts_config.consume_timestamp_ms = Some(t_mid);
    let c_time = start_consumer(
        &petrel,
        ts_config,
        &topic,
        Selector::all(),
        "time",
        &by_time,
    )
    .await;
    for c in [&c_first, &c_last, &c_time] {
        eventually("queues assigned", WAIT, || topic_queues(c, &topic) == 4).await;
    }

    send_seqs(&p, &topic, 40..45).await; // new, after every consumer started
    eventually("first: everything", WAIT, || distinct(&first).len() >= 45).await;
    eventually("last: the new messages and the retry", WAIT, || {
        distinct(&last).len() >= 6
    })
    .await;
    eventually("timestamp: from the middle on", WAIT, || {
        distinct(&by_time).len() >= 25
    })
    .await;

    assert_eq!(distinct(&first), (0..45).collect());
    let mut want_last: BTreeSet<u64> = (40..45).collect();
    want_last.insert(999);
    assert_eq!(
        distinct(&last),
        want_last,
        "no backlog for a new group, but its retries"
    );
    let retried = last
        .lock()
        .unwrap()
        .iter()
        .find(|g| g.seq == 999)
        .cloned()
        .unwrap();
    assert_eq!(retried.topic, topic, "a retry shows its original topic");
    assert_eq!(retried.queue.topic, format!("%RETRY%{last_group}"));
    assert_eq!(distinct(&by_time), (20..45).collect());
    for c in [c_first, c_last, c_time] {
        c.shutdown().await;
    }
    p.shutdown().await;
}

fn petrel_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_are_not_consumed_again_after_a_restart() {
    let petrel = serve_small(&[]);
    let p = producer(&petrel).await;
    let (topic, group) = (unique("Restart"), unique("cg"));
    create_topic(&petrel, &p, &topic, 4).await;
    send_seqs(&p, &topic, 0..40).await;

    let got: Received = Arc::default();
    let c = start_consumer(
        &petrel,
        consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset),
        &topic,
        Selector::all(),
        "one",
        &got,
    )
    .await;
    eventually("40 messages", WAIT, || got.lock().unwrap().len() >= 40).await;
    // A second wave, consumed just before the shutdown: the pulls then waiting on the broker
    // were sent with the offsets of the first wave.
    send_seqs(&p, &topic, 40..60).await;
    eventually("60 messages", WAIT, || got.lock().unwrap().len() >= 60).await;
    c.shutdown().await;
    assert_eq!(distinct(&got), (0..60).collect());

    // The broker holds the group's offsets: every queue consumed to its end, and it stays so
    // after the pulls the consumer had waiting on the broker (which carry the offset as it was
    // when they were sent) have ended.
    let route = p.instance().route(&topic).await.unwrap();
    let committed_sum = || async {
        let mut sum = 0;
        for mq in &route.subscribe_queues {
            sum += committed(&petrel, &p, &group, mq).await.expect("committed");
        }
        sum
    };
    assert_eq!(committed_sum().await, 60, "offsets committed at shutdown");
    let long_polls_over = Instant::now() + Duration::from_secs(3);
    while Instant::now() < long_polls_over {
        assert_eq!(committed_sum().await, 60, "a committed offset went back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    send_seqs(&p, &topic, 60..80).await;
    let again: Received = Arc::default();
    let c = start_consumer(
        &petrel,
        consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset),
        &topic,
        Selector::all(),
        "two",
        &again,
    )
    .await;
    eventually("the 20 new messages", WAIT, || distinct(&again).len() >= 20).await;
    // Give a wrongly restarted queue time to show itself: one more long-poll round.
    let settled = Instant::now() + Duration::from_secs(2);
    eventually("settle", WAIT, || Instant::now() > settled).await;
    assert_eq!(
        distinct(&again),
        (60..80).collect(),
        "nothing consumed twice"
    );
    assert_eq!(again.lock().unwrap().len(), 20);
    c.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_joining_and_leaving_lose_nothing_and_duplicate_only_at_the_handover() {
    let petrel = serve_small(&[]);
    let p = producer(&petrel).await;
    let (topic, group) = (unique("Rebalance"), unique("cg"));
    create_topic(&petrel, &p, &topic, 8).await;
    let total: u64 = 1_500;

    let got: Received = Arc::default();
    let a = start_consumer(
        &petrel,
        consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset),
        &topic,
        Selector::all(),
        "a",
        &got,
    )
    .await;
    eventually("a owns every queue", WAIT, || topic_queues(&a, &topic) == 8).await;

    // A steady stream: ~300 messages a second.
    let sending = {
        let (p, topic) = (p.clone(), topic.clone());
        tokio::spawn(async move {
            for s in 0..total {
                p.send(msg(&topic, s)).await.expect("send");
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        })
    };
    let sent_at_least = |n: usize, got: &Received| got.lock().unwrap().len() >= n;
    eventually("a third consumed", WAIT, || {
        sent_at_least(total as usize / 3, &got)
    })
    .await;
    let t_join = petrel_now_ms();
    let b = start_consumer(
        &petrel,
        consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset),
        &topic,
        Selector::all(),
        "b",
        &got,
    )
    .await;
    eventually("queues shared", WAIT, || {
        topic_queues(&a, &topic) == 4 && topic_queues(&b, &topic) == 4
    })
    .await;
    eventually("two thirds consumed", WAIT, || {
        sent_at_least(2 * total as usize / 3, &got)
    })
    .await;
    let t_leave = petrel_now_ms();
    a.shutdown().await;
    eventually("b owns every queue", WAIT, || topic_queues(&b, &topic) == 8).await;
    sending.await.unwrap();
    eventually("every message", WAIT, || {
        distinct(&got).len() == total as usize
    })
    .await;
    b.shutdown().await;

    let all = got.lock().unwrap().clone();
    assert_eq!(distinct(&got), (0..total).collect(), "no message lost");
    let mut count: BTreeMap<u64, Vec<&Got>> = BTreeMap::new();
    for g in &all {
        count.entry(g.seq).or_default().push(g);
    }
    let dups: Vec<&Vec<&Got>> = count.values().filter(|v| v.len() > 1).collect();
    let duplicates: usize = dups.iter().map(|v| v.len() - 1).sum();
    eprintln!(
        "rebalance: {} deliveries of {total} messages, {duplicates} duplicates; a got {}, b got {}",
        all.len(),
        all.iter().filter(|g| g.consumer == "a").count(),
        all.iter().filter(|g| g.consumer == "b").count()
    );
    for v in &dups {
        // A duplicate is one message delivered once by each member, never twice by one...
        assert_eq!(v.len(), 2, "{v:?}");
        assert_ne!(v[0].consumer, v[1].consumer, "{v:?}");
        // ... and stored around a handover: at most the last offset-commit interval and the
        // rebalance before it, and the consumption in flight after it.
        let ts = v[0].store_timestamp;
        let near = |t: i64| ts >= t - 3_000 && ts <= t + 5_000;
        assert!(
            near(t_join) || near(t_leave),
            "duplicate far from a handover: {v:?} (join {t_join}, leave {t_leave})"
        );
    }
    // At ~300 messages/s, a handover window of a few hundred ms duplicates well under 300.
    assert!(duplicates <= 300, "{duplicates} duplicates");
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_members_each_get_everything_and_resume_from_their_offset_files() {
    let petrel = serve_small(&[]);
    let p = producer(&petrel).await;
    let (topic, group) = (unique("Broadcast"), unique("bg"));
    create_topic(&petrel, &p, &topic, 4).await;
    let dir = tempfile::tempdir().unwrap();
    let member = |name: &str| {
        let mut client = client(&petrel);
        // A stable instance name: the offset file is found again after a restart.
        client.instance_name = format!("{group}-{name}");
        let mut config = consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset);
        config.message_model = MessageModel::Broadcasting;
        config.offset_store_dir = Some(dir.path().to_path_buf());
        (client, config)
    };
    let start = |name: &'static str, sink: Received| {
        let (client, config) = member(name);
        let topic = topic.clone();
        async move {
            PushConsumer::builder(client, config)
                .subscribe(&topic, Selector::all())
                .listener_concurrently(recorder(name, &sink))
                .start()
                .await
                .unwrap()
        }
    };
    let (one, two) = (Received::default(), Received::default());
    let c1 = start("one", Arc::clone(&one)).await;
    let c2 = start("two", Arc::clone(&two)).await;
    // Broadcasting members own every queue and have no retry topic.
    for c in [&c1, &c2] {
        eventually("all queues", WAIT, || c.assigned_queues().len() == 4).await;
        assert!(c.assigned_queues().iter().all(|q| q.topic == topic));
    }
    send_seqs(&p, &topic, 0..40).await;
    eventually("both got everything", WAIT, || {
        distinct(&one).len() == 40 && distinct(&two).len() == 40
    })
    .await;
    let c1_id = c1.client_id().to_string();
    c1.shutdown().await;
    c2.shutdown().await;

    // The offsets are in each member's file.
    let file = dir.path().join(&c1_id).join(&group).join("offsets.json");
    let text = std::fs::read_to_string(&file).expect("offset file");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sum: i64 = v["offsetTable"]
        .as_object()
        .unwrap()
        .values()
        .map(|o| o.as_i64().unwrap())
        .sum();
    assert_eq!(sum, 40, "{text}");

    send_seqs(&p, &topic, 40..50).await;
    let one_again = Received::default();
    let c1 = start("one", Arc::clone(&one_again)).await;
    eventually("the 10 new messages", WAIT, || {
        distinct(&one_again).len() >= 10
    })
    .await;
    let settled = Instant::now() + Duration::from_secs(2);
    eventually("settle", WAIT, || Instant::now() > settled).await;
    assert_eq!(
        distinct(&one_again),
        (40..50).collect(),
        "resumed from the file"
    );
    assert_eq!(one_again.lock().unwrap().len(), 10);
    c1.shutdown().await;
    p.shutdown().await;
}

/// An orderly listener recording what it sees and checking that each queue is consumed by one
/// batch at a time.
fn orderly_recorder(
    name: &str,
    sink: &Received,
    busy: Arc<Mutex<HashSet<MessageQueue>>>,
    overlaps: Arc<AtomicUsize>,
) -> impl Fn(&[MessageExt], &mut ConsumeOrderlyContext) -> ConsumeOrderlyStatus {
    let (name, sink) = (name.to_string(), Arc::clone(sink));
    move |msgs: &[MessageExt], ctx: &mut ConsumeOrderlyContext| {
        if !busy.lock().unwrap().insert(ctx.message_queue.clone()) {
            overlaps.fetch_add(1, Ordering::SeqCst);
        }
        for m in msgs {
            sink.lock()
                .unwrap()
                .push(Got::from(&name, m, &ctx.message_queue));
        }
        std::thread::sleep(Duration::from_millis(1));
        busy.lock().unwrap().remove(&ctx.message_queue);
        ConsumeOrderlyStatus::Success
    }
}

/// Per key, the sequence numbers in the order they were consumed.
fn per_key(got: &[Got]) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for g in got {
        out.entry(g.key.clone()).or_default().push(g.seq);
    }
    out
}

async fn send_keyed(p: &Producer, topic: &str, keys: usize, seqs: std::ops::Range<u64>) {
    for s in seqs {
        for k in 0..keys {
            let key = format!("key{k}");
            p.send_orderly(
                Message::new(topic, format!("{key}:{s}"))
                    .with_keys([key.clone()])
                    .with_property("seq", s.to_string()),
                &key,
            )
            .await
            .expect("send");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orderly_consumers_keep_each_keys_order() {
    let petrel = serve_small(&[]);
    let p = producer(&petrel).await;
    let (topic, group) = (unique("Orderly"), unique("og"));
    create_topic(&petrel, &p, &topic, 4).await;
    let got: Received = Arc::default();
    let busy: Arc<Mutex<HashSet<MessageQueue>>> = Arc::default();
    let overlaps = Arc::new(AtomicUsize::new(0));
    let mut consumers = Vec::new();
    for name in ["a", "b"] {
        let mut config = consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset);
        config.consume_message_batch_max_size = 3;
        consumers.push(
            PushConsumer::builder(client(&petrel), config)
                .subscribe(&topic, Selector::all())
                .listener_orderly(orderly_recorder(
                    name,
                    &got,
                    Arc::clone(&busy),
                    Arc::clone(&overlaps),
                ))
                .start()
                .await
                .unwrap(),
        );
    }
    eventually("queues shared and locked", WAIT, || {
        consumers.iter().all(|c| topic_queues(c, &topic) == 2)
            && consumers.iter().all(|c| {
                c.process_queue_infos()
                    .iter()
                    .filter(|(q, _)| q.topic == topic)
                    .all(|(_, i)| i.locked)
            })
    })
    .await;
    let (keys, n) = (10usize, 30u64);
    send_keyed(&p, &topic, keys, 0..n).await;
    eventually("every message", WAIT, || {
        got.lock().unwrap().len() >= keys * n as usize
    })
    .await;
    let all = got.lock().unwrap().clone();
    assert_eq!(all.len(), keys * n as usize, "each message once");
    for (key, order) in per_key(&all) {
        assert_eq!(order, (0..n).collect::<Vec<_>>(), "order of {key}");
        let by: HashSet<&str> = all
            .iter()
            .filter(|g| g.key == key)
            .map(|g| g.consumer.as_str())
            .collect();
        assert_eq!(by.len(), 1, "{key} consumed by one member");
    }
    let members: HashSet<&str> = all.iter().map(|g| g.consumer.as_str()).collect();
    assert_eq!(members.len(), 2, "both members consumed");
    assert_eq!(
        overlaps.load(Ordering::SeqCst),
        0,
        "one batch at a time per queue"
    );
    for c in consumers {
        c.shutdown().await;
    }
    p.shutdown().await;
}

/// Not a test by itself: the orderly member `orderly_takeover_after_kill9` runs as a child
/// process (and kills). It prints `GOT key seq` per message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn orderly_consumer_child() {
    let (Ok(namesrv), Ok(topic), Ok(group)) = (
        std::env::var("PETREL_CHILD_NAMESRV"),
        std::env::var("PETREL_CHILD_TOPIC"),
        std::env::var("PETREL_CHILD_GROUP"),
    ) else {
        return;
    };
    let mut client = ClientConfig::new(&namesrv);
    client.rebalance_interval = Duration::from_millis(1_000);
    client.persist_consumer_offset_interval = Duration::from_millis(500);
    client.poll_name_server_interval = Duration::from_millis(1_000);
    let mut config = consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset);
    config.consume_message_batch_max_size = 1;
    let c = PushConsumer::builder(client, config)
        .subscribe(&topic, Selector::all())
        .listener_orderly(|msgs: &[MessageExt], _ctx: &mut ConsumeOrderlyContext| {
            for m in msgs {
                println!(
                    "GOT {} {}",
                    m.keys().next().unwrap_or(""),
                    m.property("seq").unwrap_or("")
                );
            }
            // Slow enough that a kill lands while messages are consumed but not committed.
            std::thread::sleep(Duration::from_millis(5));
            ConsumeOrderlyStatus::Success
        })
        .start()
        .await
        .expect("child consumer starts");
    println!("STARTED {}", c.client_id());
    tokio::time::sleep(Duration::from_secs(180)).await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orderly_takeover_after_kill9_keeps_each_keys_order() {
    use std::io::BufRead;
    let petrel = serve_small(&[]);
    let p = producer(&petrel).await;
    let (topic, group) = (unique("OrderlyKill"), unique("og"));
    create_topic(&petrel, &p, &topic, 4).await;

    // The member that will crash: its own process.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "orderly_consumer_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PETREL_CHILD_NAMESRV", &petrel.namesrv)
        .env("PETREL_CHILD_TOPIC", &topic)
        .env("PETREL_CHILD_GROUP", &group)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn child consumer");
    let child_got: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&child_got);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                // libtest prints "test orderly_consumer_child ... " before the child's first line.
                if line.contains("STARTED ") {
                    let _ = tx.send(());
                } else if let Some((_, rest)) = line.split_once("GOT ") {
                    let mut parts = rest.split_whitespace();
                    if let (Some(k), Some(s)) = (parts.next(), parts.next()) {
                        if let Ok(s) = s.parse() {
                            sink.lock().unwrap().push((k.to_string(), s));
                        }
                    }
                }
            }
        });
    }
    rx.recv_timeout(WAIT).expect("child consumer started");

    let got: Received = Arc::default();
    let busy: Arc<Mutex<HashSet<MessageQueue>>> = Arc::default();
    let overlaps = Arc::new(AtomicUsize::new(0));
    let mut config = consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset);
    config.consume_message_batch_max_size = 1;
    let survivor = PushConsumer::builder(client(&petrel), config)
        .subscribe(&topic, Selector::all())
        .listener_orderly(orderly_recorder(
            "survivor",
            &got,
            busy,
            Arc::clone(&overlaps),
        ))
        .start()
        .await
        .unwrap();
    eventually("queues shared", WAIT, || {
        topic_queues(&survivor, &topic) == 2
    })
    .await;

    let keys = 8usize;
    send_keyed(&p, &topic, keys, 0..40).await;
    let child_count = || child_got.lock().unwrap().len();
    eventually("the child consumes", WAIT, || child_count() >= 40).await;
    child.kill().unwrap();
    let _ = child.wait();
    let killed_at = Instant::now();
    let child_before_kill = child_got.lock().unwrap().clone();
    send_keyed(&p, &topic, keys, 40..60).await;

    // The survivor takes the dead member's queues once the broker lets their locks expire
    // (60 s after the last renewal; the lock is not released when a connection drops).
    let total = keys * 60;
    let deadline = Duration::from_secs(100);
    eventually(
        "the survivor consumes the dead member's queues",
        deadline,
        || {
            let mine: HashSet<(String, u64)> = got
                .lock()
                .unwrap()
                .iter()
                .map(|g| (g.key.clone(), g.seq))
                .collect();
            let theirs: HashSet<(String, u64)> = child_before_kill.iter().cloned().collect();
            mine.union(&theirs).count() == total && topic_queues(&survivor, &topic) == 4
        },
    )
    .await;
    eprintln!("orderly takeover: {:?} after the kill", killed_at.elapsed());

    let survivor_keys = per_key(&got.lock().unwrap());
    let mut child_keys: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (k, s) in &child_before_kill {
        child_keys.entry(k.clone()).or_default().push(*s);
    }
    let mut replayed = 0;
    for k in 0..keys {
        let key = format!("key{k}");
        let theirs = child_keys.get(&key).cloned().unwrap_or_default();
        let mine = survivor_keys.get(&key).cloned().unwrap_or_default();
        // The child consumed a prefix in order...
        assert_eq!(
            theirs,
            (0..theirs.len() as u64).collect::<Vec<_>>(),
            "child's order of {key}"
        );
        // ... and the survivor the rest, in order, starting at or before where the child
        // stopped: a duplicate can only be a replay of the child's last, uncommitted suffix.
        let start = mine.first().copied().unwrap_or(60);
        assert_eq!(
            mine,
            (start..60).collect::<Vec<_>>(),
            "survivor's order of {key}"
        );
        assert!(
            start <= theirs.len() as u64,
            "{key}: gap between {} and {start}",
            theirs.len()
        );
        replayed += theirs.len() as u64 - start.min(theirs.len() as u64);
    }
    eprintln!("orderly takeover: {replayed} messages replayed after the kill");
    assert_eq!(overlaps.load(Ordering::SeqCst), 0);
    survivor.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_messages_are_retried_with_growing_reconsume_times_then_dead_lettered() {
    let levels = ["1s"; 18].join(" ");
    let petrel = serve_small(&[&format!("messageDelayLevel={levels}")]);
    let p = producer(&petrel).await;
    let (topic, group) = (unique("Retry"), unique("rg"));
    create_topic(&petrel, &p, &topic, 2).await;
    let got: Received = Arc::default();
    let sink = Arc::clone(&got);
    let mut config = consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset);
    config.max_reconsume_times = 2;
    let c = PushConsumer::builder(client(&petrel), config)
        .subscribe(&topic, Selector::all())
        .listener_concurrently(
            move |msgs: &[MessageExt], ctx: &mut ConsumeConcurrentlyContext| {
                for m in msgs {
                    sink.lock()
                        .unwrap()
                        .push(Got::from("c", m, &ctx.message_queue));
                }
                // The first attempt panics, the next ones ask for a retry: both are failures.
                if msgs[0].reconsume_times == 0 && msgs[0].property("seq") == Some("0") {
                    panic!("listener failure (expected by the test)");
                }
                ConsumeConcurrentlyStatus::ReconsumeLater
            },
        )
        .start()
        .await
        .unwrap();
    send_seqs(&p, &topic, 0..3).await;

    // Each message: the first delivery and two retries (reconsume times 0, 1, 2), then the DLQ.
    let dlq = format!("%DLQ%{group}");
    let mut dead = Vec::new();
    let deadline = Instant::now() + WAIT;
    while dead.len() < 3 {
        assert!(Instant::now() < deadline, "DLQ has {} of 3", dead.len());
        dead = read_queue(&petrel, &p, &dlq, 0).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let settled = Instant::now() + Duration::from_secs(3);
    eventually("no further delivery", WAIT, || Instant::now() > settled).await;
    let all = got.lock().unwrap().clone();
    for seq in 0..3 {
        let tries: Vec<&Got> = all.iter().filter(|g| g.seq == seq).collect();
        assert_eq!(
            tries.iter().map(|g| g.reconsume_times).collect::<Vec<_>>(),
            vec![0, 1, 2],
            "deliveries of {seq}: {tries:?}"
        );
        assert!(
            tries.iter().all(|g| g.topic == topic),
            "retries show the original topic"
        );
        assert_eq!(tries[1].queue.topic, format!("%RETRY%{group}"));
        assert!(
            tries.iter().all(|g| g.msg_id == tries[0].msg_id),
            "one message id throughout"
        );
        assert!(tries
            .iter()
            .all(|g| g.body == format!("body-{seq}").into_bytes()));
    }
    assert_eq!(dead.len(), 3);
    for m in &dead {
        assert_eq!(m.property("DLQ_ORIGIN_TOPIC"), Some(topic.as_str()));
        let seq: u64 = m.property("seq").unwrap().parse().unwrap();
        assert_eq!(m.body.to_vec(), format!("body-{seq}").into_bytes());
    }
    c.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orderly_retries_in_place_then_dead_letters_and_moves_on() {
    let petrel = serve_small(&[]);
    let p = producer(&petrel).await;
    let (topic, group) = (unique("OrderlyRetry"), unique("org"));
    create_topic(&petrel, &p, &topic, 1).await;
    let got: Received = Arc::default();
    let sink = Arc::clone(&got);
    let mut config = consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset);
    config.max_reconsume_times = 2;
    config.suspend_current_queue_time = Duration::from_millis(100);
    let c = PushConsumer::builder(client(&petrel), config)
        .subscribe(&topic, Selector::all())
        .listener_orderly(
            move |msgs: &[MessageExt], ctx: &mut ConsumeOrderlyContext| {
                sink.lock()
                    .unwrap()
                    .push(Got::from("c", &msgs[0], &ctx.message_queue));
                if msgs[0].property("seq") == Some("1") {
                    ConsumeOrderlyStatus::SuspendCurrentQueueAMoment
                } else {
                    ConsumeOrderlyStatus::Success
                }
            },
        )
        .start()
        .await
        .unwrap();
    send_seqs(&p, &topic, 0..4).await;
    eventually("all four consumed", WAIT, || distinct(&got).len() == 4).await;
    let order: Vec<(u64, i32)> = got
        .lock()
        .unwrap()
        .iter()
        .map(|g| (g.seq, g.reconsume_times))
        .collect();
    // Message 1 is tried three times in place (order kept), then dead-lettered; 2 and 3 follow.
    assert_eq!(order, vec![(0, 0), (1, 0), (1, 1), (1, 2), (2, 0), (3, 0)]);
    let dlq = format!("%DLQ%{group}");
    let mut dead = Vec::new();
    let deadline = Instant::now() + WAIT;
    while dead.is_empty() {
        assert!(Instant::now() < deadline, "nothing in {dlq}");
        dead = read_queue(&petrel, &p, &dlq, 0).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].property("seq"), Some("1"));
    c.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_listener_holds_the_cache_at_the_flow_control_threshold() {
    let petrel = serve_small(&[]);
    let p = producer(&petrel).await;
    let (topic, group) = (unique("Flow"), unique("fg"));
    create_topic(&petrel, &p, &topic, 1).await;
    let total = 200u64;
    let batch: Vec<Message> = (0..total).map(|s| msg(&topic, s)).collect();
    for chunk in batch.chunks(100) {
        p.send_batch(chunk.to_vec()).await.unwrap();
    }
    let (threshold, pull_batch) = (20usize, 8i32);
    let mut config = consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset);
    config.pull_threshold_for_queue = threshold;
    config.pull_batch_size = pull_batch;
    config.consume_thread_max = 1;
    let consumed = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&consumed);
    let c = PushConsumer::builder(client(&petrel), config)
        .subscribe(&topic, Selector::all())
        .listener_concurrently(
            move |msgs: &[MessageExt], _ctx: &mut ConsumeConcurrentlyContext| {
                std::thread::sleep(Duration::from_millis(10));
                counter.fetch_add(msgs.len(), Ordering::SeqCst);
                ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .unwrap();
    let mut max_cached = 0;
    let deadline = Instant::now() + WAIT;
    while consumed.load(Ordering::SeqCst) < total as usize {
        assert!(
            Instant::now() < deadline,
            "consumed {}",
            consumed.load(Ordering::SeqCst)
        );
        for (q, info) in c.process_queue_infos() {
            if q.topic == topic {
                max_cached = max_cached.max(info.cached_msg_count);
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("flow control: at most {max_cached} messages cached (threshold {threshold}, pull batch {pull_batch})");
    assert!(
        max_cached <= threshold + pull_batch as usize,
        "cached {max_cached}"
    );
    assert!(
        max_cached >= threshold,
        "the cache filled up to the threshold: {max_cached}"
    );
    c.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_and_sql92_subscriptions_get_exactly_the_matching_messages() {
    let petrel = serve_small(&["enablePropertyFilter=true"]);
    let p = producer(&petrel).await;
    let topic = unique("Filter");
    create_topic(&petrel, &p, &topic, 2).await;
    let (tags, sql, collide) = (
        Received::default(),
        Received::default(),
        Received::default(),
    );
    let from = ConsumeFromWhere::ConsumeFromFirstOffset;
    let c_tags = start_consumer(
        &petrel,
        consumer_config(&unique("tg"), from),
        &topic,
        Selector::tags("A || C"),
        "tags",
        &tags,
    )
    .await;
    let c_sql = start_consumer(
        &petrel,
        consumer_config(&unique("sg"), from),
        &topic,
        Selector::sql92("n >= 30 AND color = 'red'"),
        "sql",
        &sql,
    )
    .await;
    // "Aa" and "BB" have the same Java hash code: the broker's hash filter lets both through
    // and the client must drop "BB".
    let c_collide = start_consumer(
        &petrel,
        consumer_config(&unique("hg"), from),
        &topic,
        Selector::tags("Aa"),
        "collide",
        &collide,
    )
    .await;

    let tag_of = |i: u64| ["A", "B", "C", "Aa", "BB"][(i % 5) as usize];
    let color_of = |i: u64| if i % 2 == 0 { "red" } else { "blue" };
    for i in 0..60u64 {
        p.send(
            msg(&topic, i)
                .with_tags(tag_of(i))
                .with_property("n", i.to_string())
                .with_property("color", color_of(i)),
        )
        .await
        .unwrap();
    }
    let want_tags: BTreeSet<u64> = (0..60)
        .filter(|i| matches!(tag_of(*i), "A" | "C"))
        .collect();
    let want_sql: BTreeSet<u64> = (30..60).filter(|i| color_of(*i) == "red").collect();
    let want_collide: BTreeSet<u64> = (0..60).filter(|i| tag_of(*i) == "Aa").collect();
    eventually("tag subscriber", WAIT, || {
        distinct(&tags).len() >= want_tags.len()
    })
    .await;
    eventually("sql subscriber", WAIT, || {
        distinct(&sql).len() >= want_sql.len()
    })
    .await;
    eventually("colliding tag subscriber", WAIT, || {
        distinct(&collide).len() >= want_collide.len()
    })
    .await;
    // A last marker every subscriber matches proves nothing else is still on its way.
    p.send(
        msg(&topic, 1_000)
            .with_tags("A")
            .with_property("n", "1000")
            .with_property("color", "red"),
    )
    .await
    .unwrap();
    p.send(msg(&topic, 1_001).with_tags("Aa")).await.unwrap();
    eventually("markers", WAIT, || {
        distinct(&tags).contains(&1_000)
            && distinct(&sql).contains(&1_000)
            && distinct(&collide).contains(&1_001)
    })
    .await;
    let strip = |r: &Received| -> BTreeSet<u64> {
        distinct(r).into_iter().filter(|s| *s < 1_000).collect()
    };
    assert_eq!(strip(&tags), want_tags);
    assert_eq!(strip(&sql), want_sql);
    assert_eq!(strip(&collide), want_collide);
    assert_eq!(tags.lock().unwrap().len(), want_tags.len() + 1, "each once");
    for c in [c_tags, c_sql, c_collide] {
        c.shutdown().await;
    }
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_listener_calls_in_progress_and_commits_them() {
    let petrel = serve_small(&[]);
    let p = producer(&petrel).await;
    let (topic, group) = (unique("Shutdown"), unique("cg"));
    create_topic(&petrel, &p, &topic, 1).await;
    send_seqs(&p, &topic, 0..5).await;
    let inside = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicUsize::new(0));
    let (flag, done) = (Arc::clone(&inside), Arc::clone(&finished));
    let mut config = consumer_config(&group, ConsumeFromWhere::ConsumeFromFirstOffset);
    config.consume_message_batch_max_size = 5;
    let c = PushConsumer::builder(client(&petrel), config)
        .subscribe(&topic, Selector::all())
        .listener_concurrently(
            move |msgs: &[MessageExt], _ctx: &mut ConsumeConcurrentlyContext| {
                flag.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(500));
                done.fetch_add(msgs.len(), Ordering::SeqCst);
                ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .unwrap();
    eventually("a listener call in progress", WAIT, || {
        inside.load(Ordering::SeqCst)
    })
    .await;
    c.shutdown().await;
    let n = finished.load(Ordering::SeqCst);
    assert!(
        n >= 1,
        "shutdown returned before the call in progress ended"
    );
    let mq = p.instance().route(&topic).await.unwrap().subscribe_queues[0].clone();
    assert_eq!(
        committed(&petrel, &p, &group, &mq).await,
        Some(n as i64),
        "what finished is committed"
    );
    p.shutdown().await;
}
