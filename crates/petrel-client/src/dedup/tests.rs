//! Unit tests of the dedup guard: the listener's rules with any store (exercised on the
//! in-memory store), the memory store's expiry and bound, and what an unreachable store does
//! under each failure policy.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::message::{test_message, MessageQueue};

fn msg(id: &str, key: Option<&str>) -> MessageExt {
    let mut m = test_message("T", 0);
    m.properties.insert("UNIQ_KEY", id);
    if let Some(k) = key {
        m.properties.insert("KEYS", k);
    }
    m
}

fn ctx() -> ConsumeConcurrentlyContext {
    ConsumeConcurrentlyContext {
        message_queue: MessageQueue::new("T", "b", 0),
        delay_level_when_next_consume: 0,
        ack_index: i32::MAX,
    }
}

/// Counts calls per message id; fails the ids in `fail`.
struct Counting {
    calls: Arc<std::sync::Mutex<Vec<String>>>,
    fail: Vec<String>,
}

impl MessageListenerConcurrently for Counting {
    fn consume_message(
        &self,
        msgs: &[MessageExt],
        _ctx: &mut ConsumeConcurrentlyContext,
    ) -> ConsumeConcurrentlyStatus {
        for m in msgs {
            self.calls.lock().unwrap().push(m.msg_id().to_string());
            if self.fail.iter().any(|f| f == m.msg_id()) {
                return ConsumeConcurrentlyStatus::ReconsumeLater;
            }
        }
        ConsumeConcurrentlyStatus::ConsumeSuccess
    }
}

fn guard(
    store: Arc<dyn DedupStore>,
    fail: &[&str],
    key: DedupKey,
) -> (
    IdempotentListener<Counting>,
    Arc<std::sync::Mutex<Vec<String>>>,
) {
    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut config = DedupConfig::new("g");
    config.key = key;
    let listener = IdempotentListener::new(
        Counting {
            calls: Arc::clone(&calls),
            fail: fail.iter().map(|s| s.to_string()).collect(),
        },
        store,
        config,
    );
    (listener, calls)
}

/// The behaviour every store must give the listener.
fn exercise(store: Arc<dyn DedupStore>) {
    let (l, calls) = guard(Arc::clone(&store), &["bad"], DedupKey::MessageId);
    let batch = [msg("a", None), msg("b", None)];
    assert_eq!(
        l.consume_message(&batch, &mut ctx()),
        ConsumeConcurrentlyStatus::ConsumeSuccess
    );
    // Redelivered: acknowledged without reaching the handler.
    assert_eq!(
        l.consume_message(&batch, &mut ctx()),
        ConsumeConcurrentlyStatus::ConsumeSuccess
    );
    assert_eq!(*calls.lock().unwrap(), ["a", "b"]);

    // A failure releases the claim: the retry reaches the handler again.
    assert_eq!(
        l.consume_message(&[msg("bad", None)], &mut ctx()),
        ConsumeConcurrentlyStatus::ReconsumeLater
    );
    assert_eq!(
        l.consume_message(&[msg("bad", None)], &mut ctx()),
        ConsumeConcurrentlyStatus::ReconsumeLater
    );
    assert_eq!(calls.lock().unwrap().len(), 4);

    // A failure inside a batch: the ones before it are acknowledged (ack_index).
    let mut c = ctx();
    assert_eq!(
        l.consume_message(&[msg("c", None), msg("bad", None), msg("d", None)], &mut c),
        ConsumeConcurrentlyStatus::ConsumeSuccess
    );
    assert_eq!(c.ack_index, 0);

    // Claimed by someone else and not finished: retried later, handler not called.
    assert_eq!(
        store
            .try_claim("petrel:dedup:g:busy", Duration::from_secs(30))
            .unwrap(),
        Claim::Acquired
    );
    let before = calls.lock().unwrap().len();
    assert_eq!(
        l.consume_message(&[msg("busy", None)], &mut ctx()),
        ConsumeConcurrentlyStatus::ReconsumeLater
    );
    assert_eq!(calls.lock().unwrap().len(), before);

    // Business keys: two sends of one order are one consumption.
    let (l2, calls2) = guard(Arc::clone(&store), &[], DedupKey::FirstKey);
    l2.consume_message(&[msg("id-1", Some("order-7"))], &mut ctx());
    l2.consume_message(&[msg("id-2", Some("order-7"))], &mut ctx());
    assert_eq!(*calls2.lock().unwrap(), ["id-1"]);
}

#[test]
fn memory_store_guards_redeliveries() {
    exercise(Arc::new(MemoryDedupStore::default()));
}

#[test]
fn memory_store_records_expire_and_stay_bounded() {
    let s = MemoryDedupStore::new(3);
    assert_eq!(
        s.try_claim("k", Duration::from_millis(20)).unwrap(),
        Claim::Acquired
    );
    assert_eq!(
        s.try_claim("k", Duration::from_millis(20)).unwrap(),
        Claim::InProgress
    );
    std::thread::sleep(Duration::from_millis(30));
    // An abandoned claim (consumer crashed mid-handler) expires: the message can run again.
    assert_eq!(
        s.try_claim("k", Duration::from_secs(10)).unwrap(),
        Claim::Acquired
    );
    s.mark_consumed("k", Duration::from_secs(10)).unwrap();
    assert_eq!(
        s.try_claim("k", Duration::from_secs(10)).unwrap(),
        Claim::Consumed
    );
    // A release never removes a consumed record.
    s.release("k").unwrap();
    assert_eq!(
        s.try_claim("k", Duration::from_secs(10)).unwrap(),
        Claim::Consumed
    );
    for k in ["a", "b", "c", "d", "e"] {
        s.mark_consumed(k, Duration::from_secs(10)).unwrap();
    }
    assert!(s.len() <= 3, "{}", s.len());
}

// The Redis store against a real redis-server is tested in crates/petrel/tests/client_dedup.rs,
// beside the one redis-server launcher (crates/petrel/tests/support/redis.rs).

#[test]
fn an_unreachable_redis_follows_the_store_failure_policy() {
    let store: Arc<dyn DedupStore> = Arc::new(
        RedisDedupStore::new(
            "redis+unix:///nonexistent/redis.sock",
            Duration::from_secs(1),
        )
        .unwrap(),
    );
    let (l, calls) = guard(Arc::clone(&store), &[], DedupKey::MessageId);
    assert_eq!(
        l.consume_message(&[msg("a", None)], &mut ctx()),
        ConsumeConcurrentlyStatus::ConsumeSuccess
    );
    assert_eq!(calls.lock().unwrap().len(), 1, "consumed without the guard");

    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut config = DedupConfig::new("g");
    config.on_store_failure = StoreFailure::RetryLater;
    let strict = IdempotentListener::new(
        Counting {
            calls: Arc::clone(&calls),
            fail: vec![],
        },
        store,
        config,
    );
    assert_eq!(
        strict.consume_message(&[msg("a", None)], &mut ctx()),
        ConsumeConcurrentlyStatus::ReconsumeLater
    );
    assert!(calls.lock().unwrap().is_empty());
}
