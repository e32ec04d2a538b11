//! Idempotent consumption against a real `petrel serve`: messages delivered again (the group's
//! offsets moved back, as after a consumer crash before its commit) reach the handler once,
//! with the in-memory store and with a real Redis; without the guard they arrive twice. And the
//! Redis store's own contract against a real `redis-server`: records shared by every consumer,
//! one winner per claim, expiry.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use petrel_client::consumer::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFromWhere,
    MessageListenerConcurrently, PushConsumer, PushConsumerConfig, Selector,
};
use petrel_client::dedup::Claim;
use petrel_client::dedup::{
    DedupConfig, DedupStore, IdempotentListener, MemoryDedupStore, RedisDedupStore,
};
use petrel_client::{ClientConfig, Message, MessageExt, Producer, ProducerConfig};
use petrel_protocol::remoting::header::ResetOffsetRequestHeader;
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use support::redis::Redis;
use support::{eventually, unique, Petrel};

/// Handler calls per message body, and deliveries seen by the consumer (before the guard).
#[derive(Clone, Default)]
struct Seen {
    handled: Arc<Mutex<HashMap<String, u32>>>,
}

impl Seen {
    fn total(&self) -> u32 {
        self.handled.lock().unwrap().values().sum()
    }
    fn distinct(&self) -> usize {
        self.handled.lock().unwrap().len()
    }
    fn min_per_message(&self) -> u32 {
        self.handled
            .lock()
            .unwrap()
            .values()
            .copied()
            .min()
            .unwrap_or(0)
    }
    fn max_per_message(&self) -> u32 {
        self.handled
            .lock()
            .unwrap()
            .values()
            .copied()
            .max()
            .unwrap_or(0)
    }
}

struct Handler(Seen);

impl MessageListenerConcurrently for Handler {
    fn consume_message(
        &self,
        msgs: &[MessageExt],
        _ctx: &mut ConsumeConcurrentlyContext,
    ) -> ConsumeConcurrentlyStatus {
        for m in msgs {
            *self
                .0
                .handled
                .lock()
                .unwrap()
                .entry(String::from_utf8(m.body.to_vec()).unwrap())
                .or_default() += 1;
        }
        ConsumeConcurrentlyStatus::ConsumeSuccess
    }
}

async fn consumer(
    petrel: &Petrel,
    group: &str,
    topic: &str,
    listener: impl MessageListenerConcurrently,
) -> PushConsumer {
    let mut config = PushConsumerConfig::new(group);
    config.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    config.broker_suspend_max_time = Duration::from_secs(2);
    PushConsumer::builder(ClientConfig::new(&petrel.namesrv), config)
        .subscribe(topic, Selector::all())
        .listener_concurrently(listener)
        .start()
        .await
        .unwrap()
}

/// Moves `group`'s offsets on `topic` back to the first message (INVOKE_BROKER_TO_RESET_OFFSET).
async fn rewind(producer: &Producer, broker: &str, topic: &str, group: &str) {
    let header = ResetOffsetRequestHeader {
        topic: topic.into(),
        group: group.into(),
        timestamp: 0,
        is_force: true,
        ..Default::default()
    };
    let r = producer
        .instance()
        .invoke(
            broker,
            RemotingCommand::request(rc::INVOKE_BROKER_TO_RESET_OFFSET).with_header(&header),
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
}

/// Counts deliveries outside the guard, then hands them on.
struct Deliveries {
    inner: Arc<dyn MessageListenerConcurrently>,
    count: Arc<AtomicU32>,
}

impl MessageListenerConcurrently for Deliveries {
    fn consume_message(
        &self,
        msgs: &[MessageExt],
        ctx: &mut ConsumeConcurrentlyContext,
    ) -> ConsumeConcurrentlyStatus {
        let status = self.inner.consume_message(msgs, ctx);
        self.count.fetch_add(msgs.len() as u32, Ordering::SeqCst);
        status
    }
}

/// Sends 100 messages; a consumer takes them all and stops; the group is rewound to the start
/// (what a crash before the offset commit looks like to the next consumer); a new consumer of
/// the group is given all 100 again. `listener` builds each consumer's listener.
async fn consume_rewind_consume(listener: impl Fn() -> Arc<dyn MessageListenerConcurrently>) {
    let petrel = Petrel::start(&[]);
    let producer = Producer::start(
        ClientConfig::new(&petrel.namesrv),
        ProducerConfig::new(unique("pg")),
    )
    .await
    .unwrap();
    let topic = unique("Dedup");
    let group = unique("g");
    for i in 0..100 {
        producer
            .send(Message::new(&topic, format!("m-{i}")))
            .await
            .unwrap();
    }
    let deliveries = Arc::new(AtomicU32::new(0));
    for round in 1..=2u32 {
        let c = consumer(
            &petrel,
            &group,
            &topic,
            Deliveries {
                inner: listener(),
                count: Arc::clone(&deliveries),
            },
        )
        .await;
        eventually(
            &format!("round {round}: 100 more deliveries"),
            Duration::from_secs(30),
            || deliveries.load(Ordering::SeqCst) >= 100 * round,
        )
        .await;
        c.shutdown().await;
        if round == 1 {
            rewind(&producer, &petrel.broker, &topic, &group).await;
        }
    }
    producer.shutdown().await;
}

async fn redelivered_messages_reach_the_handler_once(store: Arc<dyn DedupStore>) {
    let seen = Seen::default();
    consume_rewind_consume(|| {
        Arc::new(IdempotentListener::new(
            Handler(seen.clone()),
            Arc::clone(&store),
            DedupConfig::new("dedup-test"),
        ))
    })
    .await;
    assert_eq!(seen.distinct(), 100);
    assert_eq!(seen.total(), 100, "each message handled once");
    assert_eq!(seen.max_per_message(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_guard_a_rewind_delivers_twice() {
    let seen = Seen::default();
    consume_rewind_consume(|| Arc::new(Handler(seen.clone()))).await;
    assert_eq!(seen.distinct(), 100);
    assert!(seen.min_per_message() >= 2, "every message handled twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_memory_store_a_rewind_reaches_the_handler_once() {
    redelivered_messages_reach_the_handler_once(Arc::new(MemoryDedupStore::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_a_rewind_reaches_the_handler_once() {
    let redis = Redis::start();
    let store = Arc::new(RedisDedupStore::new(&redis.url, Duration::from_secs(2)).unwrap());
    redelivered_messages_reach_the_handler_once(store).await;
    drop(redis);
}

#[test]
fn redis_records_are_shared_by_every_consumer_of_the_store() {
    let redis = Redis::start();
    let timeout = Duration::from_secs(2);
    let ttl = Duration::from_secs(30);
    let a = RedisDedupStore::new(&redis.url, timeout).unwrap();
    // Another consumer (another process would use its own store object).
    let b = RedisDedupStore::new(&redis.url, timeout).unwrap();
    assert_eq!(a.try_claim("k1", ttl).unwrap(), Claim::Acquired);
    assert_eq!(b.try_claim("k1", ttl).unwrap(), Claim::InProgress);
    a.mark_consumed("k1", ttl).unwrap();
    assert_eq!(b.try_claim("k1", ttl).unwrap(), Claim::Consumed);
    // A release only drops a claim in progress, never a consumed record.
    b.release("k1").unwrap();
    assert_eq!(a.try_claim("k1", ttl).unwrap(), Claim::Consumed);
    // A failed handler releases its claim: the retry, wherever it runs, may claim it again.
    assert_eq!(a.try_claim("k2", ttl).unwrap(), Claim::Acquired);
    a.release("k2").unwrap();
    assert_eq!(b.try_claim("k2", ttl).unwrap(), Claim::Acquired);
}

#[test]
fn redis_claims_race_to_exactly_one_winner_and_expire() {
    let redis = Redis::start();
    let wins = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let url = redis.url.clone();
            let wins = Arc::clone(&wins);
            std::thread::spawn(move || {
                let s = RedisDedupStore::new(&url, Duration::from_secs(2)).unwrap();
                for i in 0..50 {
                    if s.try_claim(&format!("race-{i}"), Duration::from_secs(30))
                        .unwrap()
                        == Claim::Acquired
                    {
                        wins.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(wins.load(Ordering::SeqCst), 50, "one winner per key");

    let s = RedisDedupStore::new(&redis.url, Duration::from_secs(2)).unwrap();
    assert_eq!(
        s.try_claim("short", Duration::from_millis(1)).unwrap(),
        Claim::Acquired
    );
    // EX rounds up to one second.
    std::thread::sleep(Duration::from_millis(1_100));
    assert_eq!(
        s.try_claim("short", Duration::from_secs(5)).unwrap(),
        Claim::Acquired
    );
}
