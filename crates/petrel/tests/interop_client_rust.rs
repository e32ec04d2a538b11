//! Interop with a RocketMQ client nobody here wrote: the crates.io `rocketmq-client-rust`
//! 1.0.0, over real sockets, against a real `petrel serve` process.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run
#![recursion_limit = "512"]

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::time::Instant;

use cheetah_string::CheetahString;
use rocketmq_client_rust::{
    ClientConfig, ClientRuntime, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus,
    ConsumeOrderlyContext, ConsumeOrderlyStatus, DefaultMQProducer, DefaultMQPushConsumer,
    LocalTransactionState, MQPushConsumer, MessageSelector, TransactionListener,
    TransactionMQProducer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::common::message::MessageTrait;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;
use support::interop::{create_topic, producer, SEND_TIMEOUT_MS, WAIT};
use support::{client_runtime, eventually, unique, Petrel};

/// What a test remembers of a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    seq: u64,
    body: Vec<u8>,
    tags: Option<String>,
    keys: Option<String>,
    color: Option<String>,
    queue_id: i32,
    queue_offset: i64,
    msg_id: String,
}

fn got(m: &MessageExt) -> Got {
    let prop = |k: &str| {
        m.properties()
            .get(&CheetahString::from(k))
            .map(|v| v.to_string())
    };
    Got {
        seq: prop("seq").and_then(|s| s.parse().ok()).unwrap_or(u64::MAX),
        body: m.body().map(|b| b.to_vec()).unwrap_or_default(),
        tags: m.get_tags().map(|t| t.to_string()),
        keys: m.get_keys().map(|k| k.to_string()),
        color: prop("color"),
        queue_id: m.queue_id(),
        queue_offset: m.queue_offset(),
        msg_id: m.msg_id().to_string(),
    }
}

fn message(topic: &str, seq: u64) -> Message {
    Message::builder()
        .topic(topic)
        .tags(if seq % 2 == 0 { "TagA" } else { "TagB" })
        .key(format!("key-{seq}"))
        .body(format!("body of message {seq}: {}", "x".repeat((seq % 50) as usize)).into_bytes())
        .raw_property("seq", seq.to_string())
        .unwrap()
        .raw_property("color", if seq % 3 == 0 { "red" } else { "blue" })
        .unwrap()
        .build_unchecked()
}

fn expected_body(seq: u64) -> Vec<u8> {
    format!("body of message {seq}: {}", "x".repeat((seq % 50) as usize)).into_bytes()
}

type Received = Arc<Mutex<Vec<Got>>>;

async fn push_consumer(
    rt: Arc<ClientRuntime>,
    namesrv: &str,
    group: &str,
    topic: &str,
    model: MessageModel,
    received: Received,
) -> DefaultMQPushConsumer {
    // Consumers of one group in one process need their own instance names (as in Java), or the
    // client library merges them into one member.
    let client_config = ClientConfig::builder()
        .namesrv_addr(namesrv)
        .instance_name(unique("instance"))
        .build_unvalidated();
    let mut c = DefaultMQPushConsumer::builder(rt)
        .client_config(client_config)
        .consumer_group(group)
        .message_model(model)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    c.subscribe(topic, "TagA || TagB").await.expect("subscribe");
    c.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _ctx: &ConsumeConcurrentlyContext| {
            let mut r = received.lock().unwrap();
            r.extend(msgs.iter().map(|m| got(m)));
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    c.start().await.expect("consumer start");
    c
}

fn seqs(received: &Received) -> HashSet<u64> {
    received
        .lock()
        .unwrap()
        .iter()
        .map(|g| g.seq)
        .filter(|s| *s < 999_999_999)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_send_mode_is_delivered_intact_to_a_clustering_push_consumer() {
    let petrel = Petrel::start(&[]);
    let topic = unique("Interop");
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;

    // 400 sync, 300 async, 100 oneway, 200 in batches of 10 = 1,000 messages.
    let mut sync_ids = HashMap::new();
    for seq in 0..400u64 {
        let r = p
            .send_with_timeout(message(&topic, seq), SEND_TIMEOUT_MS)
            .await
            .expect("sync send")
            .expect("send result");
        sync_ids.insert(seq, r.offset_msg_id.clone().expect("offset msg id"));
    }
    let async_acks = Arc::new(Mutex::new(0usize));
    for seq in 400..700u64 {
        let acks = Arc::clone(&async_acks);
        p.send_with_callback(message(&topic, seq), move |res, err| {
            assert!(err.is_none(), "async send failed: {err:?}");
            assert!(res.is_some());
            *acks.lock().unwrap() += 1;
        })
        .await
        .expect("async send");
    }
    for seq in 700..800u64 {
        p.send_oneway(message(&topic, seq))
            .await
            .expect("oneway send");
    }
    for batch in 0..20u64 {
        let msgs: Vec<Message> = (0..10)
            .map(|i| message(&topic, 800 + batch * 10 + i))
            .collect();
        p.send_batch(msgs).await.expect("batch send");
    }
    eventually("async send callbacks", WAIT, || {
        *async_acks.lock().unwrap() == 300
    })
    .await;

    let received: Received = Arc::default();
    let mut c = push_consumer(
        client_runtime("consumer"),
        &petrel.namesrv,
        &unique("cg"),
        &topic,
        MessageModel::Clustering,
        received.clone(),
    )
    .await;
    eventually("all 1,000 messages", WAIT, || seqs(&received).len() == 1000).await;
    c.shutdown().await;
    p.shutdown().await;

    let all = received.lock().unwrap().clone();
    for g in all.iter().filter(|g| g.seq < 1000) {
        assert_eq!(g.body, expected_body(g.seq), "body of {}", g.seq);
        assert_eq!(
            g.tags.as_deref(),
            Some(if g.seq % 2 == 0 { "TagA" } else { "TagB" }),
            "tags of {}",
            g.seq
        );
        assert_eq!(
            g.keys.as_deref(),
            Some(format!("key-{}", g.seq).as_str()),
            "keys of {}",
            g.seq
        );
        assert_eq!(
            g.color.as_deref(),
            Some(if g.seq % 3 == 0 { "red" } else { "blue" }),
            "user property of {}",
            g.seq
        );
    }
    // The ids a sync send reported are the ids the consumer sees.
    for g in all.iter().filter(|g| g.seq < 400) {
        assert_eq!(
            Some(&g.msg_id),
            sync_ids.get(&g.seq).map(|s| s.to_string()).as_ref(),
            "offset msg id of {}",
            g.seq
        );
    }
}

/// Sends `seqs` synchronously.
async fn send_all(p: &mut DefaultMQProducer, topic: &str, seqs: std::ops::Range<u64>) {
    for seq in seqs {
        p.send_with_timeout(message(topic, seq), SEND_TIMEOUT_MS)
            .await
            .expect("send")
            .expect("send result");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_consumer_does_not_receive_committed_messages_again() {
    let petrel = Petrel::start(&[]);
    let (topic, group) = (unique("Restart"), unique("cg"));
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    send_all(&mut p, &topic, 0..100).await;

    let first: Received = Arc::default();
    let mut c = push_consumer(
        client_runtime("consumer-1"),
        &petrel.namesrv,
        &group,
        &topic,
        MessageModel::Clustering,
        first.clone(),
    )
    .await;
    eventually("the first 100", WAIT, || seqs(&first).len() == 100).await;
    c.shutdown().await; // commits offsets to the broker

    send_all(&mut p, &topic, 100..150).await;
    let second: Received = Arc::default();
    let mut c = push_consumer(
        client_runtime("consumer-2"),
        &petrel.namesrv,
        &group,
        &topic,
        MessageModel::Clustering,
        second.clone(),
    )
    .await;
    eventually("the next 50", WAIT, || seqs(&second).len() == 50).await;
    // Give stray redeliveries a moment to show up, then check there were none.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again: HashSet<u64> = seqs(&second).into_iter().filter(|s| *s < 100).collect();
    assert!(
        again.is_empty(),
        "redelivered after a clean restart: {again:?}"
    );
    c.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_in_one_group_split_the_queues() {
    let petrel = Petrel::start(&[]);
    let (topic, group) = (unique("Split"), unique("cg"));
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    let (a, b): (Received, Received) = (Arc::default(), Arc::default());
    let mut ca = push_consumer(
        client_runtime("consumer-a"),
        &petrel.namesrv,
        &group,
        &topic,
        MessageModel::Clustering,
        a.clone(),
    )
    .await;
    let mut cb = push_consumer(
        client_runtime("consumer-b"),
        &petrel.namesrv,
        &group,
        &topic,
        MessageModel::Clustering,
        b.clone(),
    )
    .await;
    // Send in rounds until the rebalance has given both members queues.
    let mut next = 0u64;
    let deadline = Instant::now() + WAIT;
    while seqs(&a).iter().filter(|s| **s >= 1000).count() == 0
        || seqs(&b).iter().filter(|s| **s >= 1000).count() == 0
    {
        assert!(
            Instant::now() < deadline,
            "the queues were never split: a={} b={}",
            seqs(&a).len(),
            seqs(&b).len()
        );
        send_all(&mut p, &topic, 1000 + next..1000 + next + 16).await;
        next += 16;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Then a final round that both must share without loss.
    send_all(&mut p, &topic, 5000..5200).await;
    eventually("the final 200", WAIT, || {
        seqs(&a)
            .union(&seqs(&b))
            .filter(|s| (5000..5200).contains(*s))
            .count()
            == 200
    })
    .await;
    let (sa, sb) = (seqs(&a), seqs(&b));
    let (in_a, in_b) = (
        sa.iter().filter(|s| **s >= 5000).count(),
        sb.iter().filter(|s| **s >= 5000).count(),
    );
    assert!(
        in_a > 0 && in_b > 0,
        "one member got nothing: {in_a} / {in_b}"
    );
    // Clustering: no message of the final round went to both.
    let both: Vec<_> = sa.intersection(&sb).filter(|s| **s >= 5000).collect();
    assert!(both.is_empty(), "delivered to both members: {both:?}");
    // And the two members consume disjoint queues.
    let queues = |r: &Received| {
        r.lock()
            .unwrap()
            .iter()
            .filter(|g| g.seq >= 5000 && g.seq < 5200)
            .map(|g| g.queue_id)
            .collect::<HashSet<_>>()
    };
    assert!(queues(&a).is_disjoint(&queues(&b)));
    ca.shutdown().await;
    cb.shutdown().await;
    p.shutdown().await;
}

/// A broadcasting consumer in a child process (spawned by the test below): prints
/// `STARTED`, then `GOT <seq>` per message. Does nothing unless the parent set its variables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs only as a child process of broadcasting_consumers_each_get_everything"]
async fn broadcast_consumer_child() {
    let (Ok(namesrv), Ok(topic), Ok(group)) = (
        std::env::var("PETREL_CHILD_NAMESRV"),
        std::env::var("PETREL_CHILD_TOPIC"),
        std::env::var("PETREL_CHILD_GROUP"),
    ) else {
        return;
    };
    let received: Received = Arc::default();
    let sink = received.clone();
    let mut c = DefaultMQPushConsumer::builder(client_runtime("broadcast-child"))
        .name_server_addr(namesrv.as_str())
        .consumer_group(group.as_str())
        .message_model(MessageModel::Broadcasting)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        // rocketmq-client-rust 1.0.0 runs each consume request on a bounded blocking pool; a burst
        // of one-message requests can exhaust it ("runtime.capacity.exhausted"), and in
        // broadcasting mode the client then drops those messages (the broker did serve them:
        // verified with broker traces). Batching consumption keeps the burst small.
        .consume_message_batch_max_size(32)
        .build();
    c.subscribe(&topic, "*").await.expect("subscribe");
    c.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _ctx: &ConsumeConcurrentlyContext| {
            for m in msgs {
                let g = got(m);
                println!("GOT {}", g.seq);
                sink.lock().unwrap().push(g);
            }
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    c.start().await.expect("start");
    println!("STARTED");
    // The parent kills this process when it has seen enough.
    tokio::time::sleep(WAIT).await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_consumers_each_get_everything() {
    use std::io::BufRead;
    let petrel = Petrel::start(&[]);
    let (topic, group) = (unique("Broadcast"), unique("bg"));
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    // Two members of one broadcasting group, each its own process (as in production), each
    // with its own HOME for the client's local offset file.
    let mut children = Vec::new();
    let mut seen: Vec<Arc<Mutex<HashSet<u64>>>> = Vec::new();
    let homes = tempfile::tempdir().unwrap();
    for i in 0..2 {
        let home = homes.path().join(format!("home{i}"));
        std::fs::create_dir_all(&home).unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "broadcast_consumer_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("PETREL_CHILD_NAMESRV", &petrel.namesrv)
            .env("PETREL_CHILD_TOPIC", &topic)
            .env("PETREL_CHILD_GROUP", &group)
            .env("HOME", &home)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn child consumer");
        let stdout = child.stdout.take().unwrap();
        let set: Arc<Mutex<HashSet<u64>>> = Arc::default();
        let (sink, (tx, rx)) = (set.clone(), std::sync::mpsc::channel());
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line.ends_with("STARTED") {
                    let _ = tx.send(());
                } else if let Some(seq) = line
                    .strip_prefix("GOT ")
                    .and_then(|s| s.trim().parse::<u64>().ok())
                {
                    sink.lock().unwrap().insert(seq);
                }
            }
        });
        rx.recv_timeout(WAIT).expect("child consumer started");
        children.push(child);
        seen.push(set);
    }
    send_all(&mut p, &topic, 0..100).await;
    let count =
        |s: &Arc<Mutex<HashSet<u64>>>| s.lock().unwrap().iter().filter(|q| **q < 100).count();
    let deadline = Instant::now() + WAIT;
    while !(count(&seen[0]) == 100 && count(&seen[1]) == 100) {
        assert!(
            Instant::now() < deadline,
            "member 1 got {}, member 2 got {}",
            count(&seen[0]),
            count(&seen[1])
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_messages_by_queue_selector_come_back_in_order() {
    let petrel = Petrel::start(&[]);
    let (topic, group) = (unique("Ordered"), unique("og"));
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    // 8 orders, 30 steps each; every step of an order goes to the queue its id selects.
    let orders = 8u64;
    let steps = 30u64;
    for step in 0..steps {
        for order in 0..orders {
            let seq = order * 1000 + step;
            let msg = message(&topic, seq);
            p.send_with_selector(
                msg,
                |mqs: &[MessageQueue], _m: &Message, order: &u64| {
                    Some(mqs[(*order as usize) % mqs.len()].clone())
                },
                order,
            )
            .await
            .expect("selector send")
            .expect("send result");
        }
    }
    let received: Received = Arc::default();
    let sink = received.clone();
    let mut c = DefaultMQPushConsumer::builder(client_runtime("orderly"))
        .consumer_group(group.as_str())
        .name_server_addr(petrel.namesrv.as_str())
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    c.subscribe(&topic, "*").await.expect("subscribe");
    c.register_message_listener_orderly(
        move |msgs: &[&MessageExt], ctx: &mut ConsumeOrderlyContext| {
            ctx.set_auto_commit(true);
            sink.lock().unwrap().extend(msgs.iter().map(|m| got(m)));
            Ok(ConsumeOrderlyStatus::Success)
        },
    );
    c.start().await.expect("orderly start");
    eventually("all ordered messages", WAIT, || {
        seqs(&received).len() == (orders * steps) as usize
    })
    .await;
    c.shutdown().await;
    p.shutdown().await;
    let mut per_order: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for g in received
        .lock()
        .unwrap()
        .iter()
        .filter(|g| g.seq < 999_999_999)
    {
        per_order
            .entry(g.seq / 1000)
            .or_default()
            .push(g.seq % 1000);
    }
    for (order, seen) in per_order {
        let mut dedup = seen.clone();
        dedup.dedup();
        assert_eq!(
            dedup,
            (0..steps).collect::<Vec<_>>(),
            "order {order} out of order: {seen:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_found_by_id_and_by_key() {
    let petrel = Petrel::start(&[]);
    let topic = unique("Lookup");
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    let r = p
        .send_with_timeout(message(&topic, 42), SEND_TIMEOUT_MS)
        .await
        .expect("send")
        .expect("result");
    let offset_id = r.offset_msg_id.clone().expect("offset msg id").to_string();
    let viewed = p
        .view_message(&topic, &offset_id)
        .await
        .unwrap_or_else(|e| panic!("view by id {offset_id}: {e}"));
    assert_eq!(got(&viewed).body, expected_body(42));
    assert_eq!(got(&viewed).seq, 42);
    // The index is built asynchronously right after the send: allow a moment.
    let deadline = Instant::now() + WAIT;
    let found = loop {
        match p.query_message(&topic, "key-42", 32, 0, u64::MAX / 2).await {
            Ok(result) if !result.message_list().is_empty() => break result,
            other => assert!(
                Instant::now() < deadline,
                "not found by key: {:?}",
                other.err()
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(found.message_list().len(), 1);
    assert_eq!(got(&found.message_list()[0]).seq, 42);
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_and_offsets_survive_a_server_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (topic, group) = (unique("Durable"), unique("cg"));
    let mut petrel = Petrel::start_in(&data, &["flushDiskType=SYNC_FLUSH"]);
    let mut p = producer(client_runtime("producer-1"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    send_all(&mut p, &topic, 0..60).await;
    let first: Received = Arc::default();
    let mut c = push_consumer(
        client_runtime("consumer-1"),
        &petrel.namesrv,
        &group,
        &topic,
        MessageModel::Clustering,
        first.clone(),
    )
    .await;
    eventually("the first 60", WAIT, || seqs(&first).len() == 60).await;
    c.shutdown().await;
    p.shutdown().await;
    assert!(petrel.stop().success(), "petrel did not stop cleanly");

    // Same data directory, new ports.
    let petrel = Petrel::start_in(&data, &["flushDiskType=SYNC_FLUSH"]);
    let mut p = producer(client_runtime("producer-2"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    send_all(&mut p, &topic, 60..80).await;
    let second: Received = Arc::default();
    let mut c = push_consumer(
        client_runtime("consumer-2"),
        &petrel.namesrv,
        &group,
        &topic,
        MessageModel::Clustering,
        second.clone(),
    )
    .await;
    eventually("the 20 new ones", WAIT, || seqs(&second).len() == 20).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        seqs(&second).iter().all(|s| *s >= 60),
        "old messages redelivered after a server restart"
    );
    // And the old ones are still stored: a new group from the first offset sees all 80.
    let all: Received = Arc::default();
    let mut c2 = push_consumer(
        client_runtime("consumer-3"),
        &petrel.namesrv,
        &unique("cg"),
        &topic,
        MessageModel::Clustering,
        all.clone(),
    )
    .await;
    eventually("all 80 for a new group", WAIT, || seqs(&all).len() == 80).await;
    c.shutdown().await;
    c2.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_message_arrives_no_earlier_than_its_level_and_at_most_100ms_late() {
    let petrel = Petrel::start(&[]);
    let topic = unique("Delay");
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    let received: Received = Arc::default();
    let arrivals: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let sink = arrivals.clone();
    let mut c = DefaultMQPushConsumer::builder(client_runtime("consumer"))
        .consumer_group(unique("cg").as_str())
        .name_server_addr(petrel.namesrv.as_str())
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    c.subscribe(&topic, "*").await.expect("subscribe");
    let rec = received.clone();
    c.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _ctx: &ConsumeConcurrentlyContext| {
            for m in msgs {
                let g = got(m);
                sink.lock().unwrap().push((g.seq, Instant::now()));
                rec.lock().unwrap().push(g);
            }
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    c.start().await.expect("start");
    eventually("the warm-up message", WAIT, || {
        !received.lock().unwrap().is_empty()
    })
    .await;
    // Level 2 = 5 s by default.
    let delayed = Message::builder()
        .topic(topic.as_str())
        .tags("TagA")
        .key("delayed-key")
        .body(expected_body(7))
        .raw_property("seq", "7")
        .unwrap()
        .raw_property("color", "red")
        .unwrap()
        .delay_level(2)
        .build_unchecked();
    let sent_at = Instant::now();
    p.send_with_timeout(delayed, SEND_TIMEOUT_MS)
        .await
        .expect("send")
        .expect("result");
    eventually("the delayed message", WAIT, || {
        arrivals.lock().unwrap().iter().any(|(s, _)| *s == 7)
    })
    .await;
    let at = arrivals
        .lock()
        .unwrap()
        .iter()
        .find(|(s, _)| *s == 7)
        .unwrap()
        .1;
    let waited = at - sent_at;
    assert!(
        waited >= Duration::from_millis(5000),
        "delivered early: {waited:?}"
    );
    // Consumer-side latency (push consumer wake-up) is included; the broker's part is tighter.
    assert!(
        waited <= Duration::from_millis(5100),
        "delivered late: {waited:?}"
    );
    let g = received
        .lock()
        .unwrap()
        .iter()
        .find(|g| g.seq == 7)
        .cloned()
        .unwrap();
    assert_eq!(
        (
            g.body,
            g.tags.as_deref(),
            g.keys.as_deref(),
            g.color.as_deref()
        ),
        (
            expected_body(7),
            Some("TagA"),
            Some("delayed-key"),
            Some("red")
        )
    );
    c.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_keeps_failing_ends_in_the_dlq_after_its_max_reconsume_times() {
    // One-second levels so that retries come quickly.
    let levels = format!("messageDelayLevel={}", vec!["1s"; 18].join(" "));
    let petrel = Petrel::start(&[&levels]);
    let (topic, group) = (unique("Failing"), unique("cg"));
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    send_all(&mut p, &topic, 0..5).await;

    // Messages 0..5 always fail; everything is counted per seq (attempts and reconsume times).
    let attempts: Arc<Mutex<BTreeMap<u64, Vec<i32>>>> = Arc::default();
    let sink = attempts.clone();
    let mut c = DefaultMQPushConsumer::builder(client_runtime("failing"))
        .consumer_group(group.as_str())
        .name_server_addr(petrel.namesrv.as_str())
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .max_reconsume_times(2)
        .build();
    c.subscribe(&topic, "*").await.expect("subscribe");
    c.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _ctx: &ConsumeConcurrentlyContext| {
            let mut a = sink.lock().unwrap();
            let mut status = ConsumeConcurrentlyStatus::ConsumeSuccess;
            for m in msgs {
                let g = got(m);
                if g.seq < 5 {
                    a.entry(g.seq).or_default().push(m.reconsume_times());
                    status = ConsumeConcurrentlyStatus::ReconsumeLater;
                }
            }
            Ok(status)
        },
    );
    c.start().await.expect("start");

    // The DLQ, read by another group.
    let dead: Received = Arc::default();
    let dlq = format!("%DLQ%{group}");
    eventually("every message tried 3 times", WAIT, || {
        let a = attempts.lock().unwrap();
        (0..5).all(|s| a.get(&s).map(|v| v.len()).unwrap_or(0) >= 3)
    })
    .await;
    let mut d = push_consumer(
        client_runtime("dlq-reader"),
        &petrel.namesrv,
        &unique("dlq_reader"),
        &dlq,
        MessageModel::Clustering,
        dead.clone(),
    )
    .await;
    eventually("all 5 in the DLQ", WAIT, || {
        (0..5).all(|s| seqs(&dead).contains(&s))
    })
    .await;
    let a = attempts.lock().unwrap().clone();
    for s in 0..5 {
        // First delivery, then two retries with growing reconsume times, then no more.
        assert_eq!(a[&s], vec![0, 1, 2], "attempts of {s}");
    }
    for g in dead.lock().unwrap().iter().filter(|g| g.seq < 5) {
        assert_eq!(g.body, expected_body(g.seq));
    }
    c.shutdown().await;
    d.shutdown().await;
    p.shutdown().await;
}

/// Decides a local transaction by the message's `outcome` property; "unknown" transactions
/// commit when the broker checks back.
struct OutcomeListener {
    checks: Arc<Mutex<Vec<u64>>>,
}

impl TransactionListener for OutcomeListener {
    fn execute_local_transaction(
        &self,
        msg: &dyn MessageTrait,
        _arg: Option<&(dyn std::any::Any + Send + Sync)>,
    ) -> LocalTransactionState {
        match msg.property(&CheetahString::from("outcome")).as_deref() {
            Some("commit") => LocalTransactionState::CommitMessage,
            Some("rollback") => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknown,
        }
    }

    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        let seq = got(msg).seq;
        self.checks.lock().unwrap().push(seq);
        LocalTransactionState::CommitMessage
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_roll_back_and_resolve_unknown_states_by_check_back() {
    let petrel = Petrel::start(&["transactionTimeOut=1000", "transactionCheckInterval=500"]);
    let topic = unique("Tx");
    let mut plain = producer(client_runtime("plain"), &petrel.namesrv).await;
    create_topic(&mut plain, &topic).await;
    let checks: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut tx = TransactionMQProducer::builder(client_runtime("tx-producer"))
        .producer_group(unique("tx_pg").as_str())
        .name_server_addr(petrel.namesrv.as_str())
        .transaction_listener(OutcomeListener {
            checks: checks.clone(),
        })
        .build();
    tx.start().await.expect("transaction producer start");
    let outcome = |seq: u64| match seq % 3 {
        0 => "commit",
        1 => "rollback",
        _ => "unknown",
    };
    for seq in 0..9u64 {
        let msg = Message::builder()
            .topic(topic.as_str())
            .tags("TagA")
            .key(format!("key-{seq}"))
            .body(expected_body(seq))
            .raw_property("seq", seq.to_string())
            .unwrap()
            .raw_property("outcome", outcome(seq))
            .unwrap()
            .build_unchecked();
        tx.send_message_in_transaction::<(), _>(msg, None)
            .await
            .expect("half message sent");
    }
    let received: Received = Arc::default();
    let mut c = push_consumer(
        client_runtime("consumer"),
        &petrel.namesrv,
        &unique("cg"),
        &topic,
        MessageModel::Clustering,
        received.clone(),
    )
    .await;
    let expected: HashSet<u64> = (0..9).filter(|s| outcome(*s) != "rollback").collect();
    eventually("the committed and checked-back messages", WAIT, || {
        seqs(&received) == expected
    })
    .await;
    // Unknown transactions were checked back; committed ones were not.
    let checked: HashSet<u64> = checks.lock().unwrap().iter().copied().collect();
    assert!(
        checked.iter().all(|s| outcome(*s) == "unknown"),
        "checked {checked:?}"
    );
    assert_eq!(
        checked,
        (0..9).filter(|s| outcome(*s) == "unknown").collect()
    );
    // Nothing arrives twice, and nothing rolled back arrives late: give the check task rounds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all: Vec<u64> = received
        .lock()
        .unwrap()
        .iter()
        .map(|g| g.seq)
        .filter(|s| *s < 100)
        .collect();
    assert_eq!(all.len(), expected.len(), "duplicates or extras: {all:?}");
    for g in received.lock().unwrap().iter().filter(|g| g.seq < 100) {
        assert_eq!(g.body, expected_body(g.seq));
        assert_eq!(g.keys.as_deref(), Some(format!("key-{}", g.seq).as_str()));
    }
    c.shutdown().await;
    tx.shutdown().await;
    plain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_and_sql92_consumers_receive_exactly_the_matching_messages() {
    let petrel = Petrel::start(&["enablePropertyFilter=true"]);
    let topic = unique("Filter");
    let mut p = producer(client_runtime("producer"), &petrel.namesrv).await;
    create_topic(&mut p, &topic).await;
    let tag_of = |seq: u64| ["TagA", "TagB", "TagC"][(seq % 3) as usize];
    let color_of = |seq: u64| if seq % 4 == 0 { "red" } else { "blue" };
    for seq in 0..60u64 {
        let msg = Message::builder()
            .topic(topic.as_str())
            .tags(tag_of(seq))
            .body(expected_body(seq))
            .raw_property("seq", seq.to_string())
            .unwrap()
            .raw_property("n", seq.to_string())
            .unwrap()
            .raw_property("color", color_of(seq))
            .unwrap()
            .build_unchecked();
        p.send_with_timeout(msg, SEND_TIMEOUT_MS)
            .await
            .expect("send")
            .expect("result");
    }
    let start = |name: &'static str, selector: MessageSelector, received: Received| {
        let namesrv = petrel.namesrv.clone();
        let topic = topic.clone();
        async move {
            let mut c = DefaultMQPushConsumer::builder(client_runtime(name))
                .consumer_group(unique("fg").as_str())
                .name_server_addr(namesrv.as_str())
                .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
                .build();
            c.subscribe_with_selector(&topic, Some(selector))
                .await
                .expect("subscribe");
            c.register_message_listener_concurrently(
                move |msgs: &[&MessageExt], _ctx: &ConsumeConcurrentlyContext| {
                    received.lock().unwrap().extend(msgs.iter().map(|m| got(m)));
                    Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
                },
            );
            c.start().await.expect("start");
            c
        }
    };
    let (tags, sql, sql_or): (Received, Received, Received) =
        (Arc::default(), Arc::default(), Arc::default());
    let mut c1 = start(
        "tags",
        MessageSelector::by_tag("TagA || TagC"),
        tags.clone(),
    )
    .await;
    let mut c2 = start(
        "sql",
        MessageSelector::by_sql("n >= 10 AND n < 30 AND color = 'blue'"),
        sql.clone(),
    )
    .await;
    let mut c3 = start(
        "sql-or",
        MessageSelector::by_sql("color IN ('red') OR TAGS = 'TagB'"),
        sql_or.clone(),
    )
    .await;
    let want_tags: HashSet<u64> = (0..60)
        .filter(|s| matches!(tag_of(*s), "TagA" | "TagC"))
        .collect();
    let want_sql: HashSet<u64> = (10..30).filter(|s| color_of(*s) == "blue").collect();
    let want_or: HashSet<u64> = (0..60)
        .filter(|s| color_of(*s) == "red" || tag_of(*s) == "TagB")
        .collect();
    eventually("the tag subscriber's messages", WAIT, || {
        seqs(&tags) == want_tags
    })
    .await;
    eventually("the SQL92 subscriber's messages", WAIT, || {
        seqs(&sql) == want_sql
    })
    .await;
    eventually("the second SQL92 subscriber's messages", WAIT, || {
        seqs(&sql_or) == want_or
    })
    .await;
    // Nothing else arrives later.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        (seqs(&tags), seqs(&sql), seqs(&sql_or)),
        (want_tags, want_sql, want_or)
    );
    for c in [&mut c1, &mut c2, &mut c3] {
        c.shutdown().await;
    }
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_spread_over_time_fire_in_due_order_across_a_kill_9() {
    // The scenario is 100,000 timers over a minute (PETREL_TIMER_FULL=1); CI runs a
    // fifth of it.
    let full = std::env::var("PETREL_TIMER_FULL").is_ok();
    let (n, spread_ms): (u64, i64) = if full {
        (100_000, 60_000)
    } else {
        (20_000, 20_000)
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut petrel = Petrel::start_in(&data, &["flushDiskType=SYNC_FLUSH"]);
    let topic = unique("Timers");
    let p = Arc::new(producer(client_runtime("timer-producer"), &petrel.namesrv).await);
    {
        let mut warm = DefaultMQProducer::builder(client_runtime("warm"))
            .producer_group(unique("pg").as_str())
            .name_server_addr(petrel.namesrv.as_str())
            .build();
        warm.start().await.unwrap();
        create_topic(&mut warm, &topic).await;
        warm.shutdown().await;
    }
    // Due times spread evenly over the window, sent in a scrambled order by 32 senders.
    let start = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64)
        + 10_000;
    let due_of = move |seq: u64| start + (seq as i64 * spread_ms) / n as i64;
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let senders: Vec<_> = (0..32)
        .map(|_| {
            let (p, next, topic) = (p.clone(), next.clone(), topic.clone());
            tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if k >= n {
                        break;
                    }
                    let seq = (k * 7_919) % n; // a permutation of 0..n (7919 is prime, n not a multiple)
                    let msg = Message::builder()
                        .topic(topic.as_str())
                        .body(seq.to_string().into_bytes())
                        .raw_property("seq", seq.to_string())
                        .unwrap()
                        .deliver_time_ms(due_of(seq) as u64)
                        .build_unchecked();
                    let queue = |mqs: &[MessageQueue], _m: &Message, _a: &()| mqs.first().cloned();
                    p.send_with_selector(msg, queue, ())
                        .await
                        .expect("timer send")
                        .expect("result");
                }
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    let sent_all_at = now();
    // Timers due before every send was done may rightly fire on arrival; order is checked
    // for the others. The crash must come after the last send.
    let mid = start + spread_ms / 2;
    assert!(
        sent_all_at < mid - 2_000,
        "sending took {} ms, too long to test anything",
        sent_all_at - (start - 10_000)
    );
    // Crash in the middle of the window, then start again on the same data.
    tokio::time::sleep(Duration::from_millis((mid - now()).max(0) as u64)).await;
    petrel.kill9();
    let petrel = Petrel::start_in(&data, &["flushDiskType=SYNC_FLUSH"]);

    // Read the topic's queue in order with a consumer that records what it sees.
    let received: Received = Arc::default();
    let order: Arc<Mutex<Vec<(u64, i64)>>> = Arc::default();
    let sink = order.clone();
    let rec = received.clone();
    let mut c = DefaultMQPushConsumer::builder(client_runtime("timer-consumer"))
        .consumer_group(unique("tg").as_str())
        .name_server_addr(petrel.namesrv.as_str())
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .consume_message_batch_max_size(32)
        .build();
    c.subscribe(&topic, "*").await.expect("subscribe");
    c.register_message_listener_orderly(
        move |msgs: &[&MessageExt], ctx: &mut ConsumeOrderlyContext| {
            ctx.set_auto_commit(true);
            for m in msgs {
                let g = got(m);
                sink.lock().unwrap().push((g.seq, m.store_timestamp()));
                rec.lock().unwrap().push(g);
            }
            Ok(ConsumeOrderlyStatus::Success)
        },
    );
    c.start().await.expect("start");
    let deadline = Instant::now() + Duration::from_millis(spread_ms as u64) + WAIT;
    while seqs(&received).iter().filter(|s| **s < n).count() < n as usize {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} timers fired",
            seqs(&received).len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.shutdown().await;
    let order = order.lock().unwrap().clone();
    let mut first_seen = HashSet::new();
    let mut last_due = i64::MIN;
    let mut late = Vec::new();
    for (seq, stored_at) in &order {
        if *seq >= n {
            continue; // the warm-up message
        }
        let due = due_of(*seq);
        assert!(
            *stored_at >= due,
            "timer {seq} fired {} ms early",
            due - stored_at
        );
        if first_seen.insert(*seq) && due > sent_all_at + 200 {
            // Due order, except around the crash (the window in progress is redelivered).
            assert!(
                due + 1_000 >= last_due,
                "timer {seq} (due {due}) after one due {last_due}"
            );
            last_due = last_due.max(due);
            // Before the crash a timer fires within a second of its due time.
            if due < mid - 1_000 && stored_at - due > 1_000 {
                late.push((*seq, stored_at - due));
            }
        }
    }
    assert_eq!(
        order
            .iter()
            .filter(|(s, _)| *s < n)
            .map(|(s, _)| *s)
            .collect::<HashSet<_>>()
            .len(),
        n as usize
    );
    assert!(
        late.is_empty(),
        "fired late before the crash: {:?}",
        &late[..late.len().min(10)]
    );
    println!(
        "timers: {n} fired, {} deliveries in all",
        order.iter().filter(|(s, _)| *s < n).count()
    );
}

/// Request-reply across clients: the third-party client's `request` is answered by a
/// petrel-client replier, and a petrel-client request is answered by the third-party client's
/// `MessageUtil::create_reply_message` + `send`. Both go through Petrel's
/// SEND_REPLY_MESSAGE → PUSH_REPLY_MESSAGE_TO_CLIENT path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_reply_works_in_both_directions_with_the_third_party_client() {
    use petrel_client::consumer as pc;
    let p = Petrel::start(&[]);
    let topic = unique("IReq");
    let mut theirs = producer(client_runtime("req"), &p.namesrv).await;
    create_topic(&mut theirs, &topic).await;
    let handle = tokio::runtime::Handle::current();

    // Their request, our reply.
    let our_replier = Arc::new(
        petrel_client::Producer::start(
            petrel_client::ClientConfig::new(&p.namesrv),
            petrel_client::ProducerConfig::new(unique("our-replier")),
        )
        .await
        .unwrap(),
    );
    let mut cfg = pc::PushConsumerConfig::new(unique("our-replier-cg"));
    cfg.consume_from_where = pc::ConsumeFromWhere::ConsumeFromFirstOffset;
    let sender = Arc::clone(&our_replier);
    let h = handle.clone();
    let our_consumer = pc::PushConsumer::builder(petrel_client::ClientConfig::new(&p.namesrv), cfg)
        .subscribe(&topic, pc::Selector::tags("ping"))
        .listener_concurrently(
            move |msgs: &[petrel_client::MessageExt], _: &mut pc::ConsumeConcurrentlyContext| {
                for m in msgs {
                    let mut body = b"ours:".to_vec();
                    body.extend_from_slice(&m.body);
                    let reply =
                        petrel_client::message::create_reply_message(m, body).expect("a request");
                    let sender = Arc::clone(&sender);
                    h.spawn(async move { sender.send(reply).await.expect("reply sent") });
                }
                pc::ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .unwrap();
    let request = Message::builder()
        .topic(&topic)
        .tags("ping")
        .body_slice(b"from-them")
        .build_unchecked();
    let reply = theirs
        .request(request, 15_000)
        .await
        .expect("their request gets our reply");
    assert_eq!(
        reply.get_body().map(|b| b.to_vec()),
        Some(b"ours:from-them".to_vec())
    );

    // Our request, their reply.
    let their_replier = Arc::new(producer(client_runtime("rep"), &p.namesrv).await);
    let client_config = ClientConfig::builder()
        .namesrv_addr(&p.namesrv)
        .instance_name(unique("instance"))
        .build_unvalidated();
    let mut their_consumer = DefaultMQPushConsumer::builder(client_runtime("rep-c"))
        .client_config(client_config)
        .consumer_group(unique("their-replier-cg"))
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    their_consumer
        .subscribe(&topic, "pong")
        .await
        .expect("subscribe");
    let sender = Arc::clone(&their_replier);
    let h = handle.clone();
    their_consumer.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _ctx: &ConsumeConcurrentlyContext| {
            for m in msgs {
                let mut body = b"theirs:".to_vec();
                body.extend_from_slice(m.message.body().as_deref().unwrap_or_default());
                let reply =
                    rocketmq_client_rust::MessageUtil::create_reply_message(&m.message, &body)
                        .expect("a request");
                let sender = Arc::clone(&sender);
                h.spawn(async move { sender.send(reply).await.expect("reply sent") });
            }
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    their_consumer.start().await.expect("consumer start");
    let our_requester = petrel_client::Producer::start(
        petrel_client::ClientConfig::new(&p.namesrv),
        petrel_client::ProducerConfig::new(unique("our-req")),
    )
    .await
    .unwrap();
    let reply = our_requester
        .request(
            petrel_client::Message::new(&topic, "from-us").with_tags("pong"),
            Duration::from_secs(15),
        )
        .await
        .expect("our request gets their reply");
    assert_eq!(&reply.body[..], b"theirs:from-us");

    our_requester.shutdown().await;
    our_consumer.shutdown().await;
    our_replier.shutdown().await;
    their_consumer.shutdown().await;
}
