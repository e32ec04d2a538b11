//! `petrel-client`'s producer against a real `petrel serve`: every send mode, batches,
//! selectors, compression, retries on a dead broker, transactions with check-back, and the
//! group-name limit producers and consumers share.
//! Messages are read back with raw PULL_MESSAGE requests, so these tests do not depend on the
//! client's consumer.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use petrel_client::consumer::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFromWhere, LitePullConsumer,
    LitePullConsumerConfig, PushConsumer, PushConsumerConfig, Selector,
};
use petrel_client::{
    ClientConfig, ClientError, LocalTransactionState, Message, MessageExt, Producer,
    ProducerConfig, SendStatus, TransactionListener, TransactionProducer,
};
use petrel_protocol::remoting::response_code as code;
use support::client::{producer, read_queue_at};
use support::{unique, Petrel};

/// Every message of `topic` on every queue of the (single) broker, by queue then offset.
async fn read_topic(producer: &Producer, broker: &str, topic: &str) -> Vec<MessageExt> {
    let route = producer.instance().route(topic).await.unwrap();
    let mut out = Vec::new();
    for mq in &route.subscribe_queues {
        out.extend(read_queue_at(producer, broker, mq).await);
    }
    out
}

/// Reads until `n` messages are visible (dispatch is asynchronous) or 10 s pass.
async fn read_n(producer: &Producer, broker: &str, topic: &str, n: usize) -> Vec<MessageExt> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = read_topic(producer, broker, topic).await;
        if got.len() >= n || std::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn bodies(msgs: &[MessageExt]) -> HashSet<String> {
    msgs.iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_async_oneway_and_batch_sends_are_stored_intact() {
    let petrel = Petrel::start(&[]);
    let p = producer(&petrel).await;
    let topic = unique("Sends");

    let r = p
        .send(
            Message::new(&topic, "sync-0")
                .with_tags("TagA")
                .with_keys(["order-1", "user-9"])
                .with_property("color", "red"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    assert_eq!(r.msg_id.len(), 32);
    assert!(!r.offset_msg_id.is_empty());

    let handles: Vec<_> = (0..20)
        .map(|i| p.send_async(Message::new(&topic, format!("async-{i}"))))
        .collect();
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap().status, SendStatus::SendOk);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    p.send_with_callback(Message::new(&topic, "callback-0"), move |r| {
        let _ = tx.send(r.map(|r| r.status));
    });
    assert_eq!(rx.await.unwrap().unwrap(), SendStatus::SendOk);
    for i in 0..5 {
        p.send_oneway(Message::new(&topic, format!("oneway-{i}")))
            .await
            .unwrap();
    }
    let batch: Vec<Message> = (0..10)
        .map(|i| Message::new(&topic, format!("batch-{i}")).with_tags("B"))
        .collect();
    let r = p.send_batch(batch).await.unwrap();
    assert_eq!(r.msg_id.split(',').count(), 10);

    let got = read_n(&p, &petrel.broker, &topic, 37).await;
    let mut want: HashSet<String> = HashSet::new();
    want.insert("sync-0".into());
    want.insert("callback-0".into());
    want.extend((0..20).map(|i| format!("async-{i}")));
    want.extend((0..5).map(|i| format!("oneway-{i}")));
    want.extend((0..10).map(|i| format!("batch-{i}")));
    assert_eq!(got.len(), 37, "every message once");
    assert_eq!(bodies(&got), want);

    let first = got
        .iter()
        .find(|m| &m.body[..] == b"sync-0")
        .expect("sync message");
    assert_eq!(first.tags(), Some("TagA"));
    assert_eq!(first.keys().collect::<Vec<_>>(), vec!["order-1", "user-9"]);
    assert_eq!(first.property("color"), Some("red"));
    // The id the send returned is the id the consumer sees.
    assert!(got
        .iter()
        .any(|m| m.msg_id() == r.msg_id.split(',').next().unwrap()));
    // A batch lands in one queue with consecutive offsets.
    let batch: Vec<&MessageExt> = got.iter().filter(|m| m.tags() == Some("B")).collect();
    assert!(batch.iter().all(|m| m.queue_id == batch[0].queue_id));
    let offsets: Vec<i64> = batch.iter().map(|m| m.queue_offset).collect();
    assert_eq!(
        offsets,
        (offsets[0]..offsets[0] + 10).collect::<Vec<_>>(),
        "consecutive"
    );
    // Sends spread over the topic's queues.
    let queues: HashSet<i32> = got.iter().map(|m| m.queue_id).collect();
    assert!(queues.len() > 1, "round-robin over queues: {queues:?}");
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_keeps_each_key_in_one_queue_in_order_and_big_bodies_are_compressed() {
    let petrel = Petrel::start(&[]);
    let p = producer(&petrel).await;
    let topic = unique("Orders");
    for seq in 0..30 {
        for order in ["o-1", "o-2", "o-3"] {
            p.send_orderly(
                Message::new(&topic, format!("{order}:{seq}")).with_keys([order]),
                order,
            )
            .await
            .unwrap();
        }
    }
    let big = "petrel ".repeat(4_000); // 28 KB, compresses well
    let r = p
        .send(Message::new(&topic, big.clone()).with_keys(["big"]))
        .await
        .unwrap();
    assert_eq!(r.status, SendStatus::SendOk);

    let got = read_n(&p, &petrel.broker, &topic, 91).await;
    assert_eq!(got.len(), 91);
    let mut by_order: BTreeMap<String, Vec<(i32, i64, u32)>> = BTreeMap::new();
    for m in got.iter().filter(|m| m.keys().next() != Some("big")) {
        let body = String::from_utf8(m.body.to_vec()).unwrap();
        let (order, seq) = body.split_once(':').unwrap();
        by_order.entry(order.to_string()).or_default().push((
            m.queue_id,
            m.queue_offset,
            seq.parse().unwrap(),
        ));
    }
    for (order, mut entries) in by_order {
        entries.sort_by_key(|e| e.1);
        assert!(
            entries.iter().all(|e| e.0 == entries[0].0),
            "{order} in one queue"
        );
        let seqs: Vec<u32> = entries.iter().map(|e| e.2).collect();
        assert_eq!(seqs, (0..30).collect::<Vec<_>>(), "{order} in send order");
    }
    let stored_big = got.iter().find(|m| m.keys().next() == Some("big")).unwrap();
    assert_eq!(stored_big.body, big.as_bytes(), "decompressed on read");
    assert!(
        (stored_big.store_size as usize) < big.len() / 4,
        "stored compressed ({} bytes)",
        stored_big.store_size
    );
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_get_clear_errors_and_a_dead_broker_fails_the_send_after_retries() {
    let petrel = Petrel::start(&["maxMessageSize=2048"]);
    let p = producer(&petrel).await;
    let err = p.send(Message::new("bad topic", "x")).await.unwrap_err();
    assert!(
        matches!(err, ClientError::InvalidArgument(ref s) if s.contains("' '")),
        "{err}"
    );
    let err = p.send(Message::new("T", "")).await.unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    // The broker's own limit: MESSAGE_ILLEGAL, not retried.
    let topic = unique("Big");
    let mut cfg = ProducerConfig::new(unique("pg"));
    cfg.compress_over_bytes = usize::MAX;
    let p2 = Producer::start(ClientConfig::new(&petrel.namesrv), cfg)
        .await
        .unwrap();
    let err = p2
        .send(Message::new(&topic, vec![b'x'; 4096]))
        .await
        .unwrap_err();
    assert_eq!(err.response_code(), Some(code::MESSAGE_ILLEGAL), "{err}");

    // Kill the server: the send fails (after its retries), within the send timeout.
    p2.send(Message::new(&topic, "warm the route"))
        .await
        .unwrap();
    let mut petrel = petrel;
    petrel.kill9();
    let started = std::time::Instant::now();
    let err = p2.send(Message::new(&topic, "lost")).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, ClientError::SendFailed { attempts: 3, .. }),
        "{err}"
    );
    p.shutdown().await;
    p2.shutdown().await;
}

/// The client applies the broker's group limit, 120 characters: a producer or consumer with a
/// longer group fails to start with the rule in its error (it accepted up to 255 before), and a
/// group of exactly 120 characters sends and consumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_over_120_characters_fails_to_start_and_120_work() {
    let petrel = support::client::serve_small(&[]);
    let client = || ClientConfig::new(&petrel.namesrv);
    let group_of = |length: usize| {
        let base = unique("g");
        format!("{base}{}", "x".repeat(length - base.len()))
    };
    let rule = "the group name is 121 characters; at most 120 are allowed";
    let refused = |err: ClientError| {
        assert!(
            matches!(err, ClientError::InvalidArgument(ref s) if s == rule),
            "{err}"
        );
    };
    let too_long = group_of(121);
    refused(
        Producer::start(client(), ProducerConfig::new(&too_long))
            .await
            .unwrap_err(),
    );
    let listener = |_: &[MessageExt], _: &mut ConsumeConcurrentlyContext| {
        ConsumeConcurrentlyStatus::ConsumeSuccess
    };
    refused(
        PushConsumer::builder(client(), PushConsumerConfig::new(&too_long))
            .subscribe("T", Selector::all())
            .listener_concurrently(listener)
            .start()
            .await
            .unwrap_err(),
    );
    refused(
        LitePullConsumer::start(client(), LitePullConsumerConfig::new(&too_long))
            .await
            .unwrap_err(),
    );

    let group = group_of(120);
    let topic = unique("Long");
    let producer = Producer::start(client(), ProducerConfig::new(&group))
        .await
        .expect("a 120-character producer group starts");
    support::client::create_topic(&petrel, &producer, &topic, 1).await;
    producer
        .send(Message::new(&topic, "to a long group"))
        .await
        .unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&received);
    let mut config = PushConsumerConfig::new(&group);
    config.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    let consumer = PushConsumer::builder(client(), config)
        .subscribe(&topic, Selector::all())
        .listener_concurrently(
            move |msgs: &[MessageExt], _: &mut ConsumeConcurrentlyContext| {
                sink.lock()
                    .unwrap()
                    .extend(msgs.iter().map(|m| m.body.clone()));
                ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .expect("a 120-character consumer group starts");
    support::eventually("the message", Duration::from_secs(30), || {
        !received.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(&received.lock().unwrap()[0][..], b"to a long group");
    consumer.shutdown().await;
    producer.shutdown().await;
}

struct Local {
    executed: AtomicUsize,
    checked: Mutex<Vec<String>>,
}

impl TransactionListener for Local {
    fn execute_local_transaction(&self, msg: &Message) -> LocalTransactionState {
        self.executed.fetch_add(1, Ordering::SeqCst);
        match &msg.body[..] {
            b"commit" => LocalTransactionState::CommitMessage,
            b"rollback" => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknown,
        }
    }

    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        self.checked
            .lock()
            .unwrap()
            .push(String::from_utf8(msg.body.to_vec()).unwrap());
        LocalTransactionState::CommitMessage
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_roll_back_and_unknown_is_resolved_by_check_back() {
    let petrel = Petrel::start(&["transactionTimeOut=1000", "transactionCheckInterval=500"]);
    let listener = Arc::new(Local {
        executed: AtomicUsize::new(0),
        checked: Mutex::new(Vec::new()),
    });
    let tp = TransactionProducer::start(
        ClientConfig::new(&petrel.namesrv),
        ProducerConfig::new(unique("txpg")),
        listener.clone(),
        4,
    )
    .await
    .unwrap();
    let topic = unique("Tx");
    for body in ["commit", "rollback", "unknown"] {
        let r = tp
            .send_message_in_transaction(Message::new(&topic, body))
            .await
            .unwrap();
        assert_eq!(r.send_result.status, SendStatus::SendOk);
    }
    assert_eq!(listener.executed.load(Ordering::SeqCst), 3);
    // Committed at once; the unknown one after the broker's check-back.
    let got = read_n(tp.producer(), &petrel.broker, &topic, 2).await;
    let want: HashSet<String> = ["commit", "unknown"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(bodies(&got), want);
    assert_eq!(
        got.len(),
        2,
        "each committed message once: {:?}",
        bodies(&got)
    );
    assert_eq!(
        listener.checked.lock().unwrap().as_slice(),
        ["unknown".to_string()]
    );
    // Nothing more appears (the rollback stays invisible).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        read_topic(tp.producer(), &petrel.broker, &topic)
            .await
            .len(),
        2
    );
    tp.shutdown().await;
}
