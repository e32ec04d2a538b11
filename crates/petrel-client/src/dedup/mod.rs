//! Idempotent consumption: a guard that lets each message reach the handler once even when the
//! broker delivers it again (a consumer crashed before committing its offset, a rebalance
//! moved the queue, a producer retried a send).
//!
//! RocketMQ delivers at least once; the usual advice is "make consumption idempotent". This is
//! that advice as a library feature, after Apache RocketMQ's `rocketmq-dedup-listener`: before
//! the handler runs, the message's dedup key (its unique id, or a business key) is claimed in a
//! [`DedupStore`] as *consuming* for a short time; after success it is marked *consumed* for a
//! long time; after a failure the claim is released so a retry can run.
//!
//! - Already *consumed*: the message is acknowledged without calling the handler.
//! - Being *consumed* elsewhere (another consumer claimed it, e.g. during a rebalance): the
//!   message is retried later, so two handlers never run it at once.
//! - The store fails: by default the handler runs anyway (at least once, as without the guard)
//!   and the failure is logged; [`StoreFailure::RetryLater`] makes it wait for the store.
//!
//! Keys are namespaced by consumer group: two groups each get every message once.
//! The guarantee lasts while the record lives (`consumed_ttl`); choose it longer than any
//! redelivery you expect (retries last up to ~2 h with the default delay levels).

mod memory;
mod redis_store;

use std::sync::Arc;
use std::time::Duration;

pub use memory::MemoryDedupStore;
pub use redis_store::RedisDedupStore;

use crate::consumer::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, MessageListenerConcurrently,
};
use crate::message::MessageExt;

/// What [`DedupStore::try_claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The key was free: this consumer may process the message now.
    Acquired,
    /// The message was consumed already.
    Consumed,
    /// Another consumer is processing it right now.
    InProgress,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
#[error("dedup store: {0}")]
pub struct DedupError(pub String);

/// Where dedup records live. Calls run on the listener's blocking thread.
pub trait DedupStore: Send + Sync + 'static {
    /// Atomically: if `key` has no record, records it as *consuming* for `consuming_ttl` and
    /// answers `Acquired`; otherwise answers what the record says.
    fn try_claim(&self, key: &str, consuming_ttl: Duration) -> Result<Claim, DedupError>;
    /// Records `key` as *consumed* for `consumed_ttl`.
    fn mark_consumed(&self, key: &str, consumed_ttl: Duration) -> Result<(), DedupError>;
    /// Drops a *consuming* claim (the handler failed; a retry must be able to claim it).
    fn release(&self, key: &str) -> Result<(), DedupError>;
}

/// Which key identifies "the same message".
#[derive(Clone)]
pub enum DedupKey {
    /// The client's unique id (`UNIQ_KEY`, what `msg_id()` returns): catches redeliveries of
    /// one send. The default.
    MessageId,
    /// The first business key (`KEYS`), e.g. an order id: also catches a producer that sent
    /// the same business message twice. Messages without keys fall back to the message id.
    FirstKey,
    /// A property of your choice (falls back to the message id when absent).
    Property(String),
    /// Anything computed from the message.
    Custom(Arc<dyn Fn(&MessageExt) -> String + Send + Sync>),
}

impl std::fmt::Debug for DedupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DedupKey::MessageId => f.write_str("MessageId"),
            DedupKey::FirstKey => f.write_str("FirstKey"),
            DedupKey::Property(p) => write!(f, "Property({p})"),
            DedupKey::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl DedupKey {
    fn of(&self, msg: &MessageExt) -> String {
        match self {
            DedupKey::MessageId => msg.msg_id().to_string(),
            DedupKey::FirstKey => msg
                .keys()
                .next()
                .map(String::from)
                .unwrap_or_else(|| msg.msg_id().to_string()),
            DedupKey::Property(name) => msg
                .property(name)
                .map(String::from)
                .unwrap_or_else(|| msg.msg_id().to_string()),
            DedupKey::Custom(f) => f(msg),
        }
    }
}

/// What to do when the store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFailure {
    /// Run the handler anyway (at least once, as without dedup). The default.
    ConsumeAnyway,
    /// Retry the message later, when the store may be back.
    RetryLater,
}

/// Settings of an [`IdempotentListener`].
#[derive(Debug, Clone)]
pub struct DedupConfig {
    /// Namespaces the keys (normally the consumer group).
    pub namespace: String,
    pub key: DedupKey,
    /// How long a claim protects a message being processed; longer than the handler takes.
    pub consuming_ttl: Duration,
    /// How long a consumed record is kept.
    pub consumed_ttl: Duration,
    pub on_store_failure: StoreFailure,
}

impl DedupConfig {
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            key: DedupKey::MessageId,
            consuming_ttl: Duration::from_secs(60),
            consumed_ttl: Duration::from_secs(24 * 3600),
            on_store_failure: StoreFailure::ConsumeAnyway,
        }
    }
}

/// Wraps a concurrent listener so that each message reaches it at most once while its dedup
/// record lives. Messages are handed to the inner listener one at a time.
pub struct IdempotentListener<L> {
    inner: L,
    store: Arc<dyn DedupStore>,
    config: DedupConfig,
}

impl<L: MessageListenerConcurrently> IdempotentListener<L> {
    pub fn new(inner: L, store: Arc<dyn DedupStore>, config: DedupConfig) -> Self {
        Self {
            inner,
            store,
            config,
        }
    }

    fn full_key(&self, msg: &MessageExt) -> String {
        format!(
            "petrel:dedup:{}:{}",
            self.config.namespace,
            self.config.key.of(msg)
        )
    }

    /// One message through the guard; true when it may be acknowledged.
    fn consume_one(&self, msg: &MessageExt, ctx: &mut ConsumeConcurrentlyContext) -> bool {
        let key = self.full_key(msg);
        match self.store.try_claim(&key, self.config.consuming_ttl) {
            Ok(Claim::Consumed) => {
                tracing::debug!(%key, "duplicate delivery skipped");
                true
            }
            Ok(Claim::InProgress) => {
                tracing::debug!(%key, "being consumed elsewhere; retrying later");
                false
            }
            Ok(Claim::Acquired) => {
                let ok = self.run_inner(msg, ctx);
                let recorded = if ok {
                    self.store.mark_consumed(&key, self.config.consumed_ttl)
                } else {
                    self.store.release(&key)
                };
                if let Err(e) = recorded {
                    tracing::warn!(%key, error = %e, "could not update the dedup record");
                }
                ok
            }
            Err(e) => match self.config.on_store_failure {
                StoreFailure::ConsumeAnyway => {
                    tracing::warn!(%key, error = %e, "dedup store unavailable; consuming without the guard");
                    self.run_inner(msg, ctx)
                }
                StoreFailure::RetryLater => {
                    tracing::warn!(%key, error = %e, "dedup store unavailable; retrying later");
                    false
                }
            },
        }
    }

    fn run_inner(&self, msg: &MessageExt, ctx: &mut ConsumeConcurrentlyContext) -> bool {
        let mut one = ctx.clone();
        one.ack_index = i32::MAX;
        let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.inner
                .consume_message(std::slice::from_ref(msg), &mut one)
        }))
        .unwrap_or(ConsumeConcurrentlyStatus::ReconsumeLater);
        ctx.delay_level_when_next_consume = one.delay_level_when_next_consume;
        status == ConsumeConcurrentlyStatus::ConsumeSuccess && one.ack_index >= 0
    }
}

impl<L: MessageListenerConcurrently> MessageListenerConcurrently for IdempotentListener<L> {
    fn consume_message(
        &self,
        msgs: &[MessageExt],
        ctx: &mut ConsumeConcurrentlyContext,
    ) -> ConsumeConcurrentlyStatus {
        for (i, msg) in msgs.iter().enumerate() {
            if !self.consume_one(msg, ctx) {
                if i == 0 {
                    return ConsumeConcurrentlyStatus::ReconsumeLater;
                }
                // The first i are done; the rest go back for a retry.
                ctx.ack_index = i as i32 - 1;
                return ConsumeConcurrentlyStatus::ConsumeSuccess;
            }
        }
        ConsumeConcurrentlyStatus::ConsumeSuccess
    }
}

#[cfg(test)]
mod tests;
