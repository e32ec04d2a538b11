//! `petrel-client` against a RocketMQ broker that is not Petrel: the crates.io Rust port
//! (`rocketmq-namesrv` / `rocketmq-broker` 1.0.0), which `shared/tools/reference-broker` builds
//! and starts. Ignored by default (the reference takes ~18 minutes to build); run with
//!
//! ```text
//! reference-broker build && reference-broker start /tmp/ref 19876 20911
//! PETREL_REF_NAMESRV=127.0.0.1:19876 PETREL_REF_BROKER=127.0.0.1:20911 \
//!   cargo test -p petrel --test client_against_reference -- --ignored
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use petrel_client::consumer::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFromWhere, LitePullConsumer,
    LitePullConsumerConfig, PushConsumer, PushConsumerConfig, Selector,
};
use petrel_client::{ClientConfig, Message, MessageExt, Producer, ProducerConfig};
use petrel_protocol::remoting::header::{
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use support::client::create_topic_at;
use support::unique;

const WAIT: Duration = Duration::from_secs(60);
const QUEUES: i32 = 4;

fn reference() -> (String, String) {
    let get = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set (see this file's header)"))
    };
    (get("PETREL_REF_NAMESRV"), get("PETREL_REF_BROKER"))
}

fn seq_of(m: &MessageExt) -> u64 {
    m.property("seq").and_then(|s| s.parse().ok()).unwrap()
}

fn msg(topic: &str, seq: u64) -> Message {
    Message::new(topic, format!("body-{seq}"))
        .with_tags(if seq % 2 == 0 { "even" } else { "odd" })
        .with_keys([format!("k{seq}")])
        .with_property("seq", seq.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a reference broker: see the file header"]
async fn produce_push_consume_and_lite_pull_against_the_reference_broker() {
    let (namesrv, broker) = reference();
    let producer = Producer::start(
        ClientConfig::new(&namesrv),
        ProducerConfig::new(unique("ref-pg")),
    )
    .await
    .expect("producer starts against the reference name server");
    let topic = unique("RefT");
    create_topic_at(&producer, &broker, &topic, QUEUES).await;

    // Sync sends, a batch, a send to a chosen queue, an ordered send and oneway sends.
    for s in 0..30 {
        let r = producer.send(msg(&topic, s)).await.expect("sync send");
        assert!(!r.msg_id.is_empty());
    }
    producer
        .send_batch((30..40).map(|s| msg(&topic, s)).collect())
        .await
        .expect("batch send");
    let route = producer.instance().route(&topic).await.unwrap();
    producer
        .send_to_queue(msg(&topic, 40), &route.subscribe_queues[1])
        .await
        .expect("send to a queue");
    producer
        .send_orderly(msg(&topic, 41), "order-7")
        .await
        .expect("ordered send");
    for s in 42..45 {
        producer.send_oneway(msg(&topic, s)).await.expect("oneway");
    }
    let all: BTreeSet<u64> = (0..45).collect();

    // A push consumer of the even tag from the first offset.
    let got: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sink = Arc::clone(&got);
    let mut cfg = PushConsumerConfig::new(unique("ref-push"));
    cfg.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    let push = PushConsumer::builder(ClientConfig::new(&namesrv), cfg)
        .subscribe(&topic, Selector::tags("even"))
        .listener_concurrently(
            move |msgs: &[MessageExt], _: &mut ConsumeConcurrentlyContext| {
                sink.lock().unwrap().extend(msgs.iter().map(seq_of));
                ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .expect("push consumer starts");
    let even: BTreeSet<u64> = all.iter().copied().filter(|s| s % 2 == 0).collect();
    let deadline = Instant::now() + WAIT;
    loop {
        let seen: BTreeSet<u64> = got.lock().unwrap().iter().copied().collect();
        if seen == even {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "push consumer saw {seen:?}, want {even:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    push.shutdown().await;

    // A lite pull consumer of everything, committing to the reference broker.
    let group = unique("ref-lite");
    let mut cfg = LitePullConsumerConfig::new(&group);
    cfg.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    cfg.auto_commit = false;
    let lite = LitePullConsumer::start(ClientConfig::new(&namesrv), cfg)
        .await
        .expect("lite pull consumer starts");
    lite.subscribe(&topic, Selector::all()).await.unwrap();
    let mut polled = Vec::new();
    let deadline = Instant::now() + WAIT;
    while polled.len() < all.len() {
        assert!(Instant::now() < deadline, "polled only {}", polled.len());
        polled.extend(lite.poll(Duration::from_millis(500)).await.unwrap());
    }
    let seen: Vec<u64> = polled.iter().map(seq_of).collect();
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), all);
    assert_eq!(seen.len(), all.len(), "no duplicates");
    lite.commit_sync()
        .await
        .expect("commit to the reference broker");
    let mut committed = 0;
    for mq in &route.subscribe_queues {
        let h = QueryConsumerOffsetRequestHeader {
            consumer_group: group.clone(),
            topic: topic.clone(),
            queue_id: mq.queue_id,
            ..Default::default()
        };
        let r = producer
            .instance()
            .invoke(
                &broker,
                RemotingCommand::request(rc::QUERY_CONSUMER_OFFSET).with_header(&h),
            )
            .await
            .unwrap();
        assert_eq!(r.code, code::SUCCESS, "{mq:?}: {:?}", r.remark);
        committed += r
            .decode_header::<QueryConsumerOffsetResponseHeader>()
            .unwrap()
            .offset;
    }
    assert_eq!(committed, all.len() as i64);
    lite.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a reference broker: see the file header"]
async fn request_reply_against_the_reference_broker() {
    let (namesrv, _) = reference();
    let requester = Producer::start(
        ClientConfig::new(&namesrv),
        ProducerConfig::new(unique("ref-rq")),
    )
    .await
    .unwrap();
    let replier = Arc::new(
        Producer::start(
            ClientConfig::new(&namesrv),
            ProducerConfig::new(unique("ref-rp")),
        )
        .await
        .unwrap(),
    );
    let topic = unique("RefReq");
    // Auto-created on the first send.
    requester
        .send(Message::new(&topic, "create"))
        .await
        .expect("auto-created");
    let mut cfg = PushConsumerConfig::new(unique("ref-replier"));
    cfg.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    let sender = Arc::clone(&replier);
    let rt = tokio::runtime::Handle::current();
    let consumer = PushConsumer::builder(ClientConfig::new(&namesrv), cfg)
        .subscribe(&topic, Selector::tags("ask"))
        .listener_concurrently(
            move |msgs: &[MessageExt], _: &mut ConsumeConcurrentlyContext| {
                for m in msgs {
                    let reply = petrel_client::message::create_reply_message(m, "answer")
                        .expect("a request");
                    let sender = Arc::clone(&sender);
                    rt.spawn(async move { sender.send(reply).await.expect("reply sent") });
                }
                ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .unwrap();
    let reply = requester
        .request(Message::new(&topic, "q").with_tags("ask"), WAIT)
        .await
        .expect("the reference broker pushes our reply");
    assert_eq!(&reply.body[..], b"answer");
    consumer.shutdown().await;
    replier.shutdown().await;
    requester.shutdown().await;
}
