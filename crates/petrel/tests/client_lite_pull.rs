//! `petrel-client`'s lite pull consumer against a real `petrel serve`: subscribe and poll,
//! commits that a restarted consumer resumes from, two members splitting a topic's queues,
//! assigned queues with seek / seek-to-end / offset-for-timestamp, pause and resume, and
//! broadcasting with local offsets.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use petrel_client::consumer::{
    ConsumeFromWhere, LitePullConsumer, LitePullConsumerConfig, MessageModel, Selector,
};
use petrel_client::{ClientConfig, Message, MessageExt, MessageQueue, Producer, ProducerConfig};
use support::client::{committed_offset, create_topic, serve_small};
use support::{unique, Petrel};

/// Upper bound of any wait in these tests.
const WAIT: Duration = Duration::from_secs(30);

/// Rebalance every second so that membership changes show quickly.
fn client(p: &Petrel) -> ClientConfig {
    let mut c = ClientConfig::new(&p.namesrv);
    c.rebalance_interval = Duration::from_millis(1_000);
    c.persist_consumer_offset_interval = Duration::from_millis(500);
    c.poll_name_server_interval = Duration::from_millis(1_000);
    c
}

fn config(group: &str) -> LitePullConsumerConfig {
    let mut c = LitePullConsumerConfig::new(group);
    c.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    c.auto_commit = false;
    c.broker_suspend_max_time = Duration::from_secs(2);
    c.consumer_timeout_when_suspend = Duration::from_secs(5);
    c.pull_time_delay_when_exception = Duration::from_millis(200);
    c
}

async fn producer(p: &Petrel) -> Producer {
    Producer::start(client(p), ProducerConfig::new(unique("pg")))
        .await
        .unwrap()
}

fn seq_of(m: &MessageExt) -> u64 {
    m.property("seq").and_then(|s| s.parse().ok()).unwrap()
}

/// Sends `seqs` to whatever queues the producer picks.
async fn send_seqs(p: &Producer, topic: &str, seqs: std::ops::Range<u64>) {
    for s in seqs {
        let m = Message::new(topic, format!("body-{s}")).with_property("seq", s.to_string());
        p.send(m).await.expect("send");
    }
}

/// Polls `c` until `want` messages arrived (or `WAIT` passed); returns them in poll order.
async fn poll_n(c: &LitePullConsumer, want: usize) -> Vec<MessageExt> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    while got.len() < want {
        assert!(
            Instant::now() < deadline,
            "only {} of {want} messages polled",
            got.len()
        );
        got.extend(c.poll(Duration::from_millis(500)).await.unwrap());
    }
    got
}

/// What the next polls return within `quiet` (to show nothing more comes).
async fn poll_quiet(c: &LitePullConsumer, quiet: Duration) -> Vec<MessageExt> {
    let deadline = Instant::now() + quiet;
    let mut got = Vec::new();
    while Instant::now() < deadline {
        got.extend(c.poll(Duration::from_millis(200)).await.unwrap());
    }
    got
}

/// Every sequence number exactly once, and within each queue in offset order.
fn assert_exactly_once_in_order(got: &[MessageExt], seqs: std::ops::Range<u64>) {
    let mut seen: Vec<u64> = got.iter().map(seq_of).collect();
    seen.sort_unstable();
    assert_eq!(seen, seqs.collect::<Vec<_>>(), "each message exactly once");
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for m in got {
        let prev = last.insert(m.queue_id, m.queue_offset);
        assert!(
            prev.is_none_or(|p| p < m.queue_offset),
            "queue {} went from offset {prev:?} to {}",
            m.queue_id,
            m.queue_offset
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_polls_everything_and_a_restart_resumes_from_the_commit() {
    let p = serve_small(&[]);
    let producer = producer(&p).await;
    let topic = unique("LiteSub");
    let group = unique("lite-cg");
    create_topic(&p, &producer, &topic, 4).await;
    send_seqs(&producer, &topic, 0..60).await;

    let c = LitePullConsumer::start(client(&p), config(&group))
        .await
        .unwrap();
    c.subscribe(&topic, Selector::all()).await.unwrap();
    let got = poll_n(&c, 60).await;
    assert_exactly_once_in_order(&got, 0..60);
    assert!(poll_quiet(&c, Duration::from_millis(600)).await.is_empty());

    // Without auto-commit nothing reached the broker until commit_sync.
    let queues: Vec<MessageQueue> = c.fetch_message_queues(&topic).await.unwrap();
    assert_eq!(queues.len(), 4);
    for mq in &queues {
        assert_eq!(
            committed_offset(&p, &producer, &group, mq).await,
            None,
            "{mq:?}"
        );
    }
    c.commit_sync().await.unwrap();
    let mut committed_total = 0;
    for mq in &queues {
        let o = committed_offset(&p, &producer, &group, mq).await.unwrap();
        assert_eq!(c.committed(mq).await.unwrap(), Some(o));
        committed_total += o;
    }
    assert_eq!(
        committed_total, 60,
        "the commit covers every polled message"
    );
    c.shutdown().await;
    assert!(
        c.poll(Duration::from_millis(10)).await.is_err(),
        "poll after shutdown"
    );

    // A new member of the group starts where the commit left off.
    send_seqs(&producer, &topic, 60..80).await;
    let c = LitePullConsumer::start(client(&p), config(&group))
        .await
        .unwrap();
    c.subscribe(&topic, Selector::all()).await.unwrap();
    let got = poll_n(&c, 20).await;
    assert_exactly_once_in_order(&got, 60..80);
    assert!(poll_quiet(&c, Duration::from_millis(600)).await.is_empty());
    c.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_commit_and_tag_filter() {
    let p = serve_small(&[]);
    let producer = producer(&p).await;
    let topic = unique("LiteTag");
    let group = unique("lite-cg");
    create_topic(&p, &producer, &topic, 2).await;
    for s in 0..40u64 {
        let tag = if s % 2 == 0 { "even" } else { "odd" };
        let m = Message::new(&topic, format!("b{s}"))
            .with_tags(tag)
            .with_property("seq", s.to_string());
        producer.send(m).await.unwrap();
    }
    let mut cfg = config(&group);
    cfg.auto_commit = true;
    cfg.auto_commit_interval = Duration::from_millis(100);
    let c = LitePullConsumer::start(client(&p), cfg).await.unwrap();
    c.subscribe(&topic, Selector::tags("even")).await.unwrap();
    let got = poll_n(&c, 20).await;
    assert!(got.iter().all(|m| m.tags() == Some("even")));
    let seqs: BTreeSet<u64> = got.iter().map(seq_of).collect();
    assert_eq!(seqs, (0..40).step_by(2).collect());
    // Later polls commit what earlier ones returned: all 40 offsets (filtered ones included).
    let queues = c.fetch_message_queues(&topic).await.unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let _ = c.poll(Duration::from_millis(150)).await.unwrap();
        let mut total = 0;
        for mq in &queues {
            total += committed_offset(&p, &producer, &group, mq)
                .await
                .unwrap_or(0);
        }
        if total == 40 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "auto-commit reached {total} of 40"
        );
    }
    c.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_split_the_queues_and_one_takes_over_when_the_other_leaves() {
    let p = serve_small(&[]);
    let producer = producer(&p).await;
    let topic = unique("LiteSplit");
    let group = unique("lite-cg");
    create_topic(&p, &producer, &topic, 4).await;

    let mut cfg = config(&group);
    cfg.auto_commit = true;
    cfg.auto_commit_interval = Duration::from_millis(100);
    let a = LitePullConsumer::start(client(&p), cfg.clone())
        .await
        .unwrap();
    a.subscribe(&topic, Selector::all()).await.unwrap();
    let b = LitePullConsumer::start(client(&p), cfg.clone())
        .await
        .unwrap();
    b.subscribe(&topic, Selector::all()).await.unwrap();

    // Both see each other and split the four queues two and two, without overlap.
    let deadline = Instant::now() + WAIT;
    loop {
        a.rebalance_now().await;
        b.rebalance_now().await;
        let (qa, qb) = (a.assignment(), b.assignment());
        let union: BTreeSet<_> = qa.iter().chain(&qb).cloned().collect();
        if qa.len() == 2 && qb.len() == 2 && union.len() == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "no even split: {qa:?} / {qb:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    send_seqs(&producer, &topic, 0..80).await;
    let deadline = Instant::now() + WAIT;
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    while got_a.len() + got_b.len() < 80 {
        assert!(
            Instant::now() < deadline,
            "only {} polled",
            got_a.len() + got_b.len()
        );
        got_a.extend(a.poll(Duration::from_millis(100)).await.unwrap());
        got_b.extend(b.poll(Duration::from_millis(100)).await.unwrap());
    }
    let queues_of =
        |got: &[MessageExt]| -> BTreeSet<i32> { got.iter().map(|m| m.queue_id).collect() };
    assert!(
        queues_of(&got_a).is_disjoint(&queues_of(&got_b)),
        "a queue was consumed by both members"
    );
    assert!(
        !got_a.is_empty() && !got_b.is_empty(),
        "both members consume"
    );
    let all: Vec<MessageExt> = got_a.iter().chain(&got_b).cloned().collect();
    assert_exactly_once_in_order(&all, 0..80);

    // b leaves (shutdown commits what it polled); a takes over all four queues and gets the
    // next messages, with none of the first 80 again.
    b.shutdown().await;
    let deadline = Instant::now() + WAIT;
    while a.assignment().len() != 4 {
        assert!(
            Instant::now() < deadline,
            "a never took over: {:?}",
            a.assignment()
        );
        a.rebalance_now().await;
        let _ = a.poll(Duration::from_millis(100)).await.unwrap();
    }
    send_seqs(&producer, &topic, 80..120).await;
    let got = poll_n(&a, 40).await;
    let mut seqs: Vec<u64> = got.iter().map(seq_of).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (80..120).collect::<Vec<_>>());
    a.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assigned_queues_seek_pause_and_resume() {
    let p = serve_small(&[]);
    let producer = producer(&p).await;
    let topic = unique("LiteAssign");
    create_topic(&p, &producer, &topic, 2).await;
    let c = LitePullConsumer::start(client(&p), config(&unique("lite-cg")))
        .await
        .unwrap();
    let queues = c.fetch_message_queues(&topic).await.unwrap();
    let (q0, q1) = (queues[0].clone(), queues[1].clone());
    let before = chrono_ms();
    send_alternating(&producer, &queues, 0..20).await; // 10 per queue
    tokio::time::sleep(Duration::from_millis(20)).await;
    let middle = chrono_ms();
    send_alternating(&producer, &queues, 20..40).await;

    // Subscribe after assign is refused: the two modes do not mix.
    c.assign(vec![q0.clone()]).await.unwrap();
    assert!(c.subscribe(&topic, Selector::all()).await.is_err());
    assert_eq!(c.assignment(), vec![q0.clone()]);
    let got = poll_n(&c, 20).await;
    assert!(got.iter().all(|m| m.queue_id == q0.queue_id));
    assert_eq!(
        got.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );

    // Seek back: the queue is read again from there.
    c.seek(&q0, 15).await.unwrap();
    let again = poll_n(&c, 5).await;
    assert_eq!(
        again.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
        (15..20).collect::<Vec<_>>()
    );
    assert!(c.seek(&q0, 21).await.is_err(), "past the max offset");
    assert!(c.seek(&q1, 0).await.is_err(), "a queue not assigned");

    // Offset for a timestamp: the first message stored at or after it.
    assert_eq!(c.offset_for_timestamp(&q0, before).await.unwrap(), 0);
    let mid = c.offset_for_timestamp(&q0, middle).await.unwrap();
    assert_eq!(mid, 10, "messages 20.. start at offset 10 of each queue");
    c.seek(&q0, mid).await.unwrap();
    let from_mid = poll_n(&c, 10).await;
    assert!(from_mid.iter().all(|m| seq_of(m) >= 20));

    // Seek to end: only new messages.
    c.seek_to_end(&q0).await.unwrap();
    assert!(poll_quiet(&c, Duration::from_millis(500)).await.is_empty());

    // Assign both queues; pause q1: its messages are held back until resume.
    c.assign(vec![q0.clone(), q1.clone()]).await.unwrap();
    c.pause(std::slice::from_ref(&q1));
    send_alternating(&producer, &queues, 40..44).await;
    let got = poll_n(&c, 2).await;
    assert!(
        got.iter().all(|m| m.queue_id == q0.queue_id),
        "only q0 while q1 is paused"
    );
    assert!(poll_quiet(&c, Duration::from_millis(500))
        .await
        .iter()
        .all(|m| m.queue_id == q0.queue_id));
    c.resume(std::slice::from_ref(&q1));
    let got = poll_n(&c, 22).await;
    assert!(got.iter().all(|m| m.queue_id == q1.queue_id));
    assert_eq!(got.last().map(|m| m.queue_offset), Some(21));
    c.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_members_each_get_everything_and_keep_local_offsets() {
    let p = serve_small(&[]);
    let producer = producer(&p).await;
    let topic = unique("LiteBc");
    let group = unique("lite-bc");
    create_topic(&p, &producer, &topic, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&group);
    cfg.message_model = MessageModel::Broadcasting;
    cfg.offset_store_dir = Some(dir.path().join("a"));
    // The local offset file is per client id (ip@instance_name, as in Java): a restart that
    // should resume keeps its instance name.
    let named = |name: &str| {
        let mut c = client(&p);
        c.instance_name = name.to_string();
        c
    };
    let a = LitePullConsumer::start(named("lite-a"), cfg.clone())
        .await
        .unwrap();
    cfg.offset_store_dir = Some(dir.path().join("b"));
    let b = LitePullConsumer::start(named("lite-b"), cfg.clone())
        .await
        .unwrap();
    a.subscribe(&topic, Selector::all()).await.unwrap();
    b.subscribe(&topic, Selector::all()).await.unwrap();
    send_seqs(&producer, &topic, 0..30).await;
    assert_exactly_once_in_order(&poll_n(&a, 30).await, 0..30);
    assert_exactly_once_in_order(&poll_n(&b, 30).await, 0..30);
    a.commit_sync().await.unwrap();
    a.shutdown().await;
    b.shutdown().await;
    let queues = producer
        .instance()
        .route(&topic)
        .await
        .unwrap()
        .subscribe_queues
        .clone();
    assert_eq!(queues.len(), 2);
    for mq in &queues {
        assert_eq!(
            committed_offset(&p, &producer, &group, mq).await,
            None,
            "broadcasting commits locally"
        );
    }

    // a restarts from its local file: only what came after.
    send_seqs(&producer, &topic, 30..36).await;
    cfg.offset_store_dir = Some(dir.path().join("a"));
    let a = LitePullConsumer::start(named("lite-a"), cfg).await.unwrap();
    a.subscribe(&topic, Selector::all()).await.unwrap();
    assert_exactly_once_in_order(&poll_n(&a, 6).await, 30..36);
    assert!(poll_quiet(&a, Duration::from_millis(500)).await.is_empty());
    a.shutdown().await;
    producer.shutdown().await;
}

/// Sends `seqs` alternately to `queues[0]` and `queues[1]`.
async fn send_alternating(p: &Producer, queues: &[MessageQueue], seqs: std::ops::Range<u64>) {
    for s in seqs {
        let m =
            Message::new(&queues[0].topic, format!("body-{s}")).with_property("seq", s.to_string());
        p.send_to_queue(m, &queues[(s % 2) as usize])
            .await
            .expect("send");
    }
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_group_starts_at_the_end_or_at_a_timestamp() {
    let p = serve_small(&[]);
    let producer = producer(&p).await;
    let topic = unique("LiteFrom");
    create_topic(&p, &producer, &topic, 2).await;
    send_seqs(&producer, &topic, 0..10).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let middle = chrono_ms();
    send_seqs(&producer, &topic, 10..20).await;

    // From a timestamp: exactly what was stored from then on.
    let mut cfg = config(&unique("lite-ts"));
    cfg.consume_from_where = ConsumeFromWhere::ConsumeFromTimestamp;
    cfg.consume_timestamp_ms = Some(middle);
    let c = LitePullConsumer::start(client(&p), cfg).await.unwrap();
    c.subscribe(&topic, Selector::all()).await.unwrap();
    assert_exactly_once_in_order(&poll_n(&c, 10).await, 10..20);
    assert!(poll_quiet(&c, Duration::from_millis(500)).await.is_empty());
    c.shutdown().await;

    // From the last offset: nothing of the backlog, then what is sent once the queues'
    // pull offsets are known.
    let mut cfg = config(&unique("lite-last"));
    cfg.consume_from_where = ConsumeFromWhere::ConsumeFromLastOffset;
    let c = LitePullConsumer::start(client(&p), cfg).await.unwrap();
    c.subscribe(&topic, Selector::all()).await.unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let info = c.running_info();
        let table = info["mqTable"].as_object().cloned().unwrap_or_default();
        if table.len() == 2 && table.values().all(|q| q["pullOffset"].as_i64() >= Some(0)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pull offsets never resolved: {info}"
        );
        assert!(c.poll(Duration::from_millis(50)).await.unwrap().is_empty());
    }
    send_seqs(&producer, &topic, 20..26).await;
    assert_exactly_once_in_order(&poll_n(&c, 6).await, 20..26);
    c.shutdown().await;
    producer.shutdown().await;
}
