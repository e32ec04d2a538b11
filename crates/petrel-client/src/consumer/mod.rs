//! Consumers: the push consumer (RocketMQ's `DefaultMQPushConsumer`), the lite pull consumer
//! (`DefaultLitePullConsumer`), and what they share.
//!
//! - This module: subscriptions ([`Selector`] and the subscription data built from it),
//!   listeners and their contexts.
//! - [`push`] and [`lite_pull`]: each consumer in its own folder (lifecycle, settings, the pull
//!   loop of each queue, what it does on a rebalance or a reset).
//! - `core` (crate-private): what both share — the group's settings, the offset store, the
//!   subscriptions, where a new queue starts, their share of a topic's queues, periodic tasks,
//!   shutdown, and the one implementation of what the client instance asks of a consumer.
//! - [`allocate`]: how a group's queues are divided among its members (pure).
//! - [`offset_store`]: consumed offsets on brokers (clustering) or in a local file
//!   (broadcasting).
//! - `pull_api` (crate-private): what both ask brokers, on top of the client's request layer.
//! - [`running_info`]: what admin tools see of a running consumer.

pub mod allocate;
pub(crate) mod core;
pub mod lite_pull;
pub mod offset_store;
pub(crate) mod pull_api;
pub mod push;
pub mod running_info;

use std::sync::Arc;
use std::time::Duration;

use petrel_protocol::message::java_string_hash;
use petrel_protocol::remoting::body::SubscriptionData;
pub use petrel_protocol::remoting::body::{ConsumeFromWhere, MessageModel};

use crate::error::{ClientError, Result};
use crate::message::{now_ms, MessageExt, MessageQueue};
use crate::names::check_topic;
pub use allocate::AllocateStrategy;
pub use lite_pull::{LitePullConsumer, LitePullConsumerConfig};
pub use push::process_queue::ProcessQueueInfo;
pub use push::{PushConsumer, PushConsumerBuilder, PushConsumerConfig};

/// How a subscription selects messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// A tag expression: `*` or `TagA || TagB`.
    Tag(String),
    /// A SQL92 expression over message properties (brokers need `enablePropertyFilter`).
    Sql92(String),
}

impl Selector {
    pub fn all() -> Self {
        Selector::Tag("*".into())
    }

    pub fn tags(expr: impl Into<String>) -> Self {
        Selector::Tag(expr.into())
    }

    pub fn sql92(expr: impl Into<String>) -> Self {
        Selector::Sql92(expr.into())
    }
}

/// Java's `FilterAPI.buildSubscriptionData`: a tag expression becomes its tags and their hash
/// codes (`*` or empty: everything); SQL92 is kept as written for the broker to evaluate.
pub fn subscription_data(topic: &str, selector: &Selector) -> SubscriptionData {
    let mut sd = SubscriptionData {
        topic: topic.to_string(),
        sub_version: now_ms(),
        ..SubscriptionData::default()
    };
    match selector {
        Selector::Tag(expr) => {
            sd.expression_type = "TAG".into();
            let expr = expr.trim();
            if expr.is_empty() || expr == "*" {
                sd.sub_string = "*".into();
            } else {
                sd.sub_string = expr.to_string();
                for tag in expr.split("||").map(str::trim).filter(|t| !t.is_empty()) {
                    sd.tags_set.insert(tag.to_string());
                    sd.code_set.insert(java_string_hash(tag));
                }
            }
        }
        Selector::Sql92(expr) => {
            sd.expression_type = "SQL92".into();
            sd.sub_string = expr.trim().to_string();
        }
    }
    sd
}

/// A subscription a consumer accepts: a valid topic, and a SQL92 expression that says something.
pub(crate) fn check_subscription(topic: &str, selector: &Selector) -> Result<()> {
    check_topic(topic)?;
    if let Selector::Sql92(expr) = selector {
        if expr.trim().is_empty() {
            return Err(ClientError::InvalidArgument(format!(
                "the SQL92 expression for {topic} is empty"
            )));
        }
    }
    Ok(())
}

/// What a concurrent listener answers for a batch of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeConcurrentlyStatus {
    ConsumeSuccess,
    /// Consume these again later: sent back to the broker for a retry with a delay (after
    /// `max_reconsume_times` they go to the group's DLQ).
    ReconsumeLater,
}

/// What an orderly listener answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeOrderlyStatus {
    Success,
    /// Stop this queue for a moment and retry the same messages (order is kept).
    SuspendCurrentQueueAMoment,
}

/// Context of a concurrent consumption.
#[derive(Debug, Clone)]
pub struct ConsumeConcurrentlyContext {
    pub message_queue: MessageQueue,
    /// Delay level of the retry when the listener answers `ReconsumeLater`: 0 lets the broker
    /// choose (3 + reconsume times), -1 sends the messages straight to the DLQ.
    pub delay_level_when_next_consume: i32,
    /// With `ConsumeSuccess`, messages after this index in the batch are still retried.
    pub ack_index: i32,
}

/// Context of an orderly consumption.
#[derive(Debug, Clone)]
pub struct ConsumeOrderlyContext {
    pub message_queue: MessageQueue,
    /// Commit the offset after each successful batch (default true).
    pub auto_commit: bool,
    /// How long to suspend the queue on `SuspendCurrentQueueAMoment`; `None` uses the
    /// consumer's `suspend_current_queue_time`.
    pub suspend_current_queue_time: Option<Duration>,
}

/// A listener whose messages may be consumed in parallel. Runs on blocking threads: it may
/// block (database writes, HTTP calls); a panic counts as `ReconsumeLater`.
pub trait MessageListenerConcurrently: Send + Sync + 'static {
    fn consume_message(
        &self,
        msgs: &[MessageExt],
        ctx: &mut ConsumeConcurrentlyContext,
    ) -> ConsumeConcurrentlyStatus;
}

/// A listener that sees the messages of each queue one batch at a time, in queue order, while
/// this consumer holds the queue's lock on the broker.
pub trait MessageListenerOrderly: Send + Sync + 'static {
    fn consume_message(
        &self,
        msgs: &[MessageExt],
        ctx: &mut ConsumeOrderlyContext,
    ) -> ConsumeOrderlyStatus;
}

impl<F> MessageListenerConcurrently for F
where
    F: Fn(&[MessageExt], &mut ConsumeConcurrentlyContext) -> ConsumeConcurrentlyStatus
        + Send
        + Sync
        + 'static,
{
    fn consume_message(
        &self,
        msgs: &[MessageExt],
        ctx: &mut ConsumeConcurrentlyContext,
    ) -> ConsumeConcurrentlyStatus {
        self(msgs, ctx)
    }
}

impl<F> MessageListenerOrderly for F
where
    F: Fn(&[MessageExt], &mut ConsumeOrderlyContext) -> ConsumeOrderlyStatus
        + Send
        + Sync
        + 'static,
{
    fn consume_message(
        &self,
        msgs: &[MessageExt],
        ctx: &mut ConsumeOrderlyContext,
    ) -> ConsumeOrderlyStatus {
        self(msgs, ctx)
    }
}

/// The listener of a push consumer: one of the two kinds.
#[derive(Clone)]
pub enum MessageListener {
    Concurrently(Arc<dyn MessageListenerConcurrently>),
    Orderly(Arc<dyn MessageListenerOrderly>),
}

impl MessageListener {
    pub fn concurrently(listener: impl MessageListenerConcurrently) -> Self {
        MessageListener::Concurrently(Arc::new(listener))
    }

    pub fn orderly(listener: impl MessageListenerOrderly) -> Self {
        MessageListener::Orderly(Arc::new(listener))
    }

    pub fn is_orderly(&self) -> bool {
        matches!(self, MessageListener::Orderly(_))
    }
}

impl std::fmt::Debug for MessageListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MessageListener::Concurrently(_) => "MessageListener::Concurrently",
            MessageListener::Orderly(_) => "MessageListener::Orderly",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_expressions_become_tags_and_hash_codes() {
        let sd = subscription_data("T", &Selector::tags(" TagA || TagB ||  "));
        assert_eq!(sd.expression_type, "TAG");
        assert_eq!(sd.sub_string, "TagA || TagB ||");
        assert_eq!(
            sd.tags_set.iter().map(String::as_str).collect::<Vec<_>>(),
            ["TagA", "TagB"]
        );
        assert!(sd.code_set.contains(&2_598_919)); // "TagA".hashCode()
        let all = subscription_data("T", &Selector::all());
        assert_eq!(all.sub_string, "*");
        assert!(all.tags_set.is_empty());
        let sql = subscription_data("T", &Selector::sql92("a > 1"));
        assert_eq!(sql.expression_type, "SQL92");
        assert!(sql.tags_set.is_empty());
    }

    #[test]
    fn subscriptions_need_a_valid_topic_and_a_non_empty_sql_expression() {
        assert!(check_subscription("T", &Selector::sql92("a > 1")).is_ok());
        assert!(check_subscription("bad topic", &Selector::all()).is_err());
        let err = check_subscription("T", &Selector::sql92("  ")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid argument: the SQL92 expression for T is empty"
        );
    }
}
