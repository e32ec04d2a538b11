//! Consumers: the push consumer (RocketMQ's `DefaultMQPushConsumer`), the lite pull consumer
//! (`DefaultLitePullConsumer`), and what they share: subscriptions, listeners, settings.

use std::time::Duration;

pub use petrel_protocol::remoting::body::{ConsumeFromWhere, MessageModel};

use crate::message::{MessageExt, MessageQueue};

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

/// Push consumer settings; names follow `DefaultMQPushConsumer`'s.
#[derive(Debug, Clone)]
pub struct PushConsumerConfig {
    pub group: String,
    pub message_model: MessageModel,
    /// Where a new group starts on each queue (`consumeFromWhere`).
    pub consume_from_where: ConsumeFromWhere,
    /// For `ConsumeFromTimestamp`: epoch ms (`consumeTimestamp`; default half an hour ago).
    pub consume_timestamp_ms: Option<i64>,
    /// Queue allocation among the group's members.
    pub allocate_strategy: AllocateStrategy,
    /// Listener threads at most (`consumeThreadMax`).
    pub consume_thread_max: usize,
    /// Messages per listener call (`consumeMessageBatchMaxSize`).
    pub consume_message_batch_max_size: usize,
    /// Messages per pull (`pullBatchSize`).
    pub pull_batch_size: i32,
    /// Flow control: stop pulling a queue holding this many unconsumed messages
    /// (`pullThresholdForQueue`).
    pub pull_threshold_for_queue: usize,
    /// Flow control: ... or this many MiB (`pullThresholdSizeForQueue`).
    pub pull_threshold_size_for_queue_mib: usize,
    /// Flow control, concurrent mode: stop pulling a queue whose oldest and newest unconsumed
    /// offsets are this far apart (`consumeConcurrentlyMaxSpan`).
    pub consume_concurrently_max_span: i64,
    /// Retries before a message goes to the DLQ (`maxReconsumeTimes`; -1 = 16).
    pub max_reconsume_times: i32,
    /// Orderly mode: pause after `SuspendCurrentQueueAMoment` (`suspendCurrentQueueTimeMillis`).
    pub suspend_current_queue_time: Duration,
    /// A message taking longer than this is sent back for retry (`consumeTimeout`).
    pub consume_timeout: Duration,
    /// How long the broker holds a pull with no messages (`brokerSuspendMaxTimeMillis`).
    pub broker_suspend_max_time: Duration,
}

impl PushConsumerConfig {
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_timestamp_ms: None,
            allocate_strategy: AllocateStrategy::Average,
            consume_thread_max: 20,
            consume_message_batch_max_size: 1,
            pull_batch_size: 32,
            pull_threshold_for_queue: 1_000,
            pull_threshold_size_for_queue_mib: 100,
            consume_concurrently_max_span: 2_000,
            max_reconsume_times: -1,
            suspend_current_queue_time: Duration::from_millis(1_000),
            consume_timeout: Duration::from_secs(15 * 60),
            broker_suspend_max_time: Duration::from_secs(15),
        }
    }
}

/// How a group's queues are divided among its members (`AllocateMessageQueueStrategy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocateStrategy {
    /// Contiguous ranges of about equal size (`AllocateMessageQueueAveragely`).
    Average,
    /// Round-robin (`AllocateMessageQueueAveragelyByCircle`).
    AverageByCircle,
    /// Consistent hashing with `virtual_nodes` per member (`AllocateMessageQueueConsistentHash`):
    /// a member joining or leaving moves few queues.
    ConsistentHash { virtual_nodes: usize },
}
