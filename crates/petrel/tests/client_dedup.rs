//! Idempotent consumption against a real `petrel serve`: messages delivered again (the group's
//! offsets moved back, as after a consumer crash before its commit) reach the handler once,
//! with the in-memory store and with a real Redis; without the guard they arrive twice.

mod support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use petrel_client::consumer::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFromWhere,
    MessageListenerConcurrently, PushConsumer, PushConsumerConfig, Selector,
};
use petrel_client::dedup::{
    DedupConfig, DedupStore, IdempotentListener, MemoryDedupStore, RedisDedupStore,
};
use petrel_client::{ClientConfig, Message, MessageExt, Producer, ProducerConfig};
use petrel_protocol::remoting::header::ResetOffsetRequestHeader;
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
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

/// A redis-server on a unix socket in a temp dir, stopped on drop.
struct Redis {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(&sock)
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (.ci/run installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            child,
            url: format!("redis+unix://{}", sock.display()),
            _dir: dir,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_a_rewind_reaches_the_handler_once() {
    let redis = Redis::start();
    let store = Arc::new(RedisDedupStore::new(&redis.url, Duration::from_secs(2)).unwrap());
    redelivered_messages_reach_the_handler_once(store).await;
    drop(redis);
}
