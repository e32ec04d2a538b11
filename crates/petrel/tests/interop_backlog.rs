//! Backlogs with rocketmq-client-rust 1.0.0 against a real `petrel serve`: consumers added to
//! a group drain a backlog together, and an operator's reset of the group's offsets by time
//! (INVOKE_BROKER_TO_RESET_OFFSET, as mqadmin `resetOffsetByTime` sends it) reaches a live
//! consumer through RESET_CONSUMER_CLIENT_OFFSET, or a consumer that starts afterwards through
//! the committed offsets.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run
#![recursion_limit = "512"]

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cheetah_string::CheetahString;
use rocketmq_client_rust::{
    ClientConfig, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQAdminExt,
    DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer, OffsetAdmin,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;
use support::interop::{create_topic, producer, SEND_TIMEOUT_MS, WAIT};
use support::{client_runtime, eventually, unique, Petrel};

/// rocketmq-client-rust, like the Java client, waits 10 s after RESET_CONSUMER_CLIENT_OFFSET
/// for in-flight consumption before it moves to the new offsets.
const RESET_WAIT: Duration = Duration::from_secs(90);

/// One delivery: the message's sequence number and queue.
#[derive(Debug, Clone, Copy)]
struct Delivery {
    seq: u64,
    queue_id: i32,
}

type Deliveries = Arc<Mutex<Vec<Delivery>>>;

fn message(topic: &str, seq: u64) -> Message {
    Message::builder()
        .topic(topic)
        .tags("TagA")
        .body(format!("message {seq}").into_bytes())
        .raw_property("seq", seq.to_string())
        .unwrap()
        .build_unchecked()
}

fn seq_of(m: &MessageExt) -> Option<u64> {
    m.properties()
        .get(&CheetahString::from("seq"))
        .and_then(|v| v.parse().ok())
}

/// A clustering push consumer from the first offset, with its own instance name (consumers of
/// one group in one process must not share a client instance). Its listener sleeps
/// `per_message` per message on `threads` consume threads.
async fn consumer(
    namesrv: &str,
    group: &str,
    topic: &str,
    per_message: Duration,
    threads: u32,
    deliveries: Deliveries,
) -> DefaultMQPushConsumer {
    let client_config = ClientConfig::builder()
        .namesrv_addr(namesrv)
        .instance_name(unique("instance"))
        .build_unvalidated();
    let mut c = DefaultMQPushConsumer::builder(client_runtime("consumer"))
        .client_config(client_config)
        .consumer_group(group)
        .message_model(MessageModel::Clustering)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .consume_thread_min(threads)
        .consume_thread_max(threads)
        .build();
    c.subscribe(topic, "*").await.expect("subscribe");
    c.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _ctx: &ConsumeConcurrentlyContext| {
            for m in msgs {
                if !per_message.is_zero() {
                    std::thread::sleep(per_message);
                }
                if let Some(seq) = seq_of(m) {
                    deliveries.lock().unwrap().push(Delivery {
                        seq,
                        queue_id: m.queue_id(),
                    });
                }
            }
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    c.start().await.expect("consumer start");
    c
}

fn seqs(d: &Deliveries) -> HashSet<u64> {
    d.lock().unwrap().iter().map(|d| d.seq).collect()
}

fn count(d: &Deliveries) -> usize {
    d.lock().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_added_to_a_group_drain_its_backlog_together() {
    const TOTAL: u64 = 3_000;
    const BATCH: u64 = 50;
    let petrel = Petrel::start(&[]);
    let (topic, group) = (unique("Backlog"), unique("cg"));
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;

    // The backlog builds up while nobody consumes.
    for first in (0..TOTAL).step_by(BATCH as usize) {
        let batch: Vec<Message> = (first..first + BATCH).map(|s| message(&topic, s)).collect();
        p.send_batch(batch).await.expect("batch send");
    }

    // One slow consumer (one thread, 5 ms a message: ~200 messages/s, 15 s for everything
    // alone) starts on it...
    let slow = Duration::from_millis(5);
    let members: Vec<Deliveries> = (0..3).map(|_| Deliveries::default()).collect();
    let mut consumers =
        vec![consumer(&petrel.namesrv, &group, &topic, slow, 1, members[0].clone()).await];
    eventually("the first consumer to make progress", WAIT, || {
        count(&members[0]) >= 300
    })
    .await;

    // ...and two more join while most of the backlog is still there.
    for m in &members[1..] {
        consumers.push(consumer(&petrel.namesrv, &group, &topic, slow, 1, m.clone()).await);
    }
    eventually("the new members to receive messages", WAIT, || {
        count(&members[1]) > 0 && count(&members[2]) > 0
    })
    .await;
    // Everything consumed before this point may be consumed again by a queue's new owner
    // (its old owner had not committed it yet); nothing after it may.
    let delivered_at_rebalance: usize = members.iter().map(count).sum();

    eventually("the whole backlog", Duration::from_secs(120), || {
        members
            .iter()
            .fold(HashSet::new(), |all, m| &all | &seqs(m))
            .len()
            == TOTAL as usize
    })
    .await;
    for c in &mut consumers {
        c.shutdown().await;
    }
    p.shutdown().await;

    let per_member: Vec<usize> = members.iter().map(|m| seqs(m).len()).collect();
    assert!(
        per_member[1] > 0 && per_member[2] > 0,
        "the added members took no share: {per_member:?}"
    );
    assert!(
        per_member[0] < TOTAL as usize,
        "the first member consumed everything alone: {per_member:?}"
    );

    // Duplicates come only from queues that changed hands, and only around the rebalance.
    let mut times: HashMap<u64, usize> = HashMap::new();
    let mut owners: BTreeMap<i32, HashSet<usize>> = BTreeMap::new();
    for (member, d) in members.iter().enumerate() {
        for delivery in d.lock().unwrap().iter() {
            *times.entry(delivery.seq).or_default() += 1;
            owners.entry(delivery.queue_id).or_default().insert(member);
        }
    }
    let duplicates: usize = times.values().map(|n| n - 1).sum();
    // Slack for the batches in flight when a queue moved (one pull of 32 per queue).
    let in_flight = 4 * 32;
    assert!(
        duplicates <= delivered_at_rebalance + in_flight,
        "{duplicates} duplicates, but only {delivered_at_rebalance} deliveries before the rebalance"
    );
    for (member, d) in members.iter().enumerate() {
        for delivery in d.lock().unwrap().iter() {
            if times[&delivery.seq] > 1 {
                assert!(
                    owners[&delivery.queue_id].len() > 1,
                    "message {} of queue {} was delivered twice though only member {member} \
                     consumed that queue",
                    delivery.seq,
                    delivery.queue_id
                );
            }
        }
    }
    eprintln!(
        "backlog of {TOTAL}: distinct per member {per_member:?}, {duplicates} duplicates, \
         queue owners {owners:?}"
    );
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Sends `seqs` one by one; returns each message's queue and queue offset.
async fn send_recording(
    p: &mut DefaultMQProducer,
    topic: &str,
    seqs: std::ops::Range<u64>,
) -> Vec<(i32, i64)> {
    let mut stored = Vec::new();
    for seq in seqs {
        let r = p
            .send_with_timeout(message(topic, seq), SEND_TIMEOUT_MS)
            .await
            .expect("send")
            .expect("send result");
        stored.push((
            r.message_queue.expect("queue").queue_id(),
            r.queue_offset as i64,
        ));
    }
    stored
}

/// Messages `0..40` stored before the returned time and `100..140` after it; also returns,
/// per queue, the offset of the first message stored after the time (where a reset to that
/// time must put the group).
async fn two_batches_around_a_cut(
    p: &mut DefaultMQProducer,
    topic: &str,
) -> (i64, BTreeMap<i32, i64>) {
    let before = send_recording(p, topic, 0..40).await;
    // Store times come from the broker's clock (this host's); leave clear gaps around the cut.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let cut_ms = now_ms();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after = send_recording(p, topic, 100..140).await;
    let mut first_after: BTreeMap<i32, i64> = BTreeMap::new();
    for (queue_id, offset) in after {
        let e = first_after.entry(queue_id).or_insert(offset);
        *e = (*e).min(offset);
    }
    for (queue_id, offset) in before {
        first_after.entry(queue_id).or_insert(offset + 1);
    }
    (cut_ms, first_after)
}

const BEFORE_CUT: std::ops::Range<u64> = 0..40;
const AFTER_CUT: std::ops::Range<u64> = 100..140;

async fn admin(namesrv: &str) -> DefaultMQAdminExt {
    let mut admin = DefaultMQAdminExt::new(client_runtime("admin"));
    admin.set_namesrv_addr(namesrv);
    admin
        .client_config_mut()
        .set_instance_name(CheetahString::from(unique("admin")));
    admin.start().await.expect("admin start");
    admin
}

/// What mqadmin `resetOffsetByTime -f true` does first: INVOKE_BROKER_TO_RESET_OFFSET to the
/// master of every broker of the topic. Returns queue id → new offset.
async fn reset_by_time(
    admin: &DefaultMQAdminExt,
    topic: &str,
    group: &str,
    timestamp_ms: i64,
) -> BTreeMap<i32, i64> {
    let table = admin
        .reset_offset_by_timestamp(
            None,
            CheetahString::from(topic),
            CheetahString::from(group),
            timestamp_ms as u64,
            true,
        )
        .await
        .expect("reset offsets by time");
    table
        .into_iter()
        .map(|(mq, offset)| {
            assert_eq!(mq.topic().as_str(), topic);
            (mq.queue_id(), offset as i64)
        })
        .collect()
}

/// How many times each message was delivered.
fn times(d: &Deliveries) -> HashMap<u64, usize> {
    let mut times = HashMap::new();
    for delivery in d.lock().unwrap().iter() {
        *times.entry(delivery.seq).or_default() += 1;
    }
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_by_time_makes_a_live_consumer_consume_again_from_that_time() {
    let petrel = Petrel::start(&[]);
    let (topic, group) = (unique("ResetLive"), unique("cg"));
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    let (cut_ms, first_after) = two_batches_around_a_cut(&mut p, &topic).await;
    let deliveries = Deliveries::default();
    let mut c = consumer(
        &petrel.namesrv,
        &group,
        &topic,
        Duration::ZERO,
        4,
        deliveries.clone(),
    )
    .await;
    eventually("all 80 messages", WAIT, || seqs(&deliveries).len() == 80).await;

    let admin = admin(&petrel.namesrv).await;
    let table = reset_by_time(&admin, &topic, &group, cut_ms).await;
    assert_eq!(table.len(), 4, "{table:?}");
    for (queue_id, offset) in &first_after {
        assert_eq!(
            table.get(queue_id),
            Some(offset),
            "queue {queue_id}: {table:?}"
        );
    }

    // The broker told the consumer (RESET_CONSUMER_CLIENT_OFFSET); it drops what it holds,
    // waits 10 s, moves to the new offsets and consumes from there again.
    let deadline = Instant::now() + RESET_WAIT;
    loop {
        let t = times(&deliveries);
        if AFTER_CUT.clone().all(|s| t.get(&s) == Some(&2)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "messages after the cut consumed again: {} of 40",
            AFTER_CUT.clone().filter(|s| t.get(s) == Some(&2)).count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give stray redeliveries a moment, then check that nothing before the cut came back.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let t = times(&deliveries);
    let again: Vec<u64> = BEFORE_CUT.clone().filter(|s| t[s] != 1).collect();
    assert!(
        again.is_empty(),
        "delivered again though before the cut: {again:?}"
    );
    let thrice: Vec<u64> = AFTER_CUT.clone().filter(|s| t[s] != 2).collect();
    assert!(thrice.is_empty(), "delivered more than twice: {thrice:?}");

    c.shutdown().await;
    let mut admin = admin;
    admin.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_started_after_a_reset_begins_at_the_reset_offsets() {
    let petrel = Petrel::start(&[]);
    let (topic, group) = (unique("ResetOffline"), unique("cg"));
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    let (cut_ms, first_after) = two_batches_around_a_cut(&mut p, &topic).await;
    let first = Deliveries::default();
    let mut c = consumer(
        &petrel.namesrv,
        &group,
        &topic,
        Duration::ZERO,
        4,
        first.clone(),
    )
    .await;
    eventually("all 80 messages", WAIT, || seqs(&first).len() == 80).await;
    c.shutdown().await; // commits its offsets and leaves the group

    // No member is online. A Java broker up to 5.1 answers CONSUMER_NOT_ONLINE here (mqadmin
    // then commits the offsets itself); Petrel, like 5.2+, commits them and answers SUCCESS.
    let mut admin = admin(&petrel.namesrv).await;
    let table = reset_by_time(&admin, &topic, &group, cut_ms).await;
    for (queue_id, offset) in &first_after {
        assert_eq!(
            table.get(queue_id),
            Some(offset),
            "queue {queue_id}: {table:?}"
        );
    }
    admin.shutdown().await;

    let second = Deliveries::default();
    let mut c = consumer(
        &petrel.namesrv,
        &group,
        &topic,
        Duration::ZERO,
        4,
        second.clone(),
    )
    .await;
    eventually("the 40 messages after the cut", WAIT, || {
        AFTER_CUT.clone().all(|s| seqs(&second).contains(&s))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let early: Vec<u64> = seqs(&second)
        .into_iter()
        .filter(|s| BEFORE_CUT.contains(s))
        .collect();
    assert!(
        early.is_empty(),
        "delivered though before the cut: {early:?}"
    );
    c.shutdown().await;
    p.shutdown().await;
}
