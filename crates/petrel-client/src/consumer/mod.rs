//! Consumers: the push consumer (RocketMQ's `DefaultMQPushConsumer`), the lite pull consumer
//! (`DefaultLitePullConsumer`), and what they share: subscriptions, listeners, settings.
//!
//! The push consumer is split by concern:
//! - [`push`]: the consumer's lifecycle and the pull loop of each queue (long polling, flow
//!   control, filtering);
//! - [`rebalance`]: how the group's queues are divided (pure allocation functions) and the
//!   per-group rebalance that adds and removes queues, with each new queue's start offset;
//! - [`process_queue`]: the per-queue cache of pulled, unconsumed messages;
//! - [`offset_store`]: consumed offsets on brokers (clustering) or in a local file
//!   (broadcasting);
//! - [`consume_concurrently`] / [`consume_orderly`]: running listeners, retries, the DLQ and
//!   (orderly) queue locks;
//! - [`running_info`]: what admin tools see of a running consumer.

pub mod consume_concurrently;
pub mod consume_orderly;
pub mod lite_pull;
mod lite_pull_queue;
pub mod offset_store;
pub mod process_queue;
pub(crate) mod pull_api;
pub mod push;
pub mod rebalance;
pub mod running_info;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use petrel_protocol::remoting::body::{ConsumeFromWhere, MessageModel};

use crate::message::{MessageExt, MessageQueue};
pub use lite_pull::{LitePullConsumer, LitePullConsumerConfig};
pub use push::{PushConsumer, PushConsumerBuilder};

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
    /// How long the broker holds a pull with no messages (`brokerSuspendMaxTimeMillis`). The
    /// pull's own timeout is this plus `max(request_timeout, this)` (30 s for the default 15 s,
    /// as in the Java client).
    pub broker_suspend_max_time: Duration,
    /// Pause of a queue's pulling after a failed pull (`pullTimeDelayMillsWhenException`).
    pub pull_time_delay_when_exception: Duration,
    /// Shutdown waits this long at most for listener calls in progress
    /// (`awaitTerminationMillisWhenShutdown`); their offsets are committed if they finish.
    pub await_termination_when_shutdown: Duration,
    /// Orderly clustering: how often the queue locks are renewed on the brokers
    /// (`rocketmq.client.rebalance.lockInterval`). The broker lets a lock expire after 60 s;
    /// this consumer stops consuming a queue whose lock it has not renewed for 30 s.
    pub lock_interval: Duration,
    /// Broadcasting: the directory of the local offset files; each group's offsets are kept in
    /// `{dir}/{client_id}/{group}/offsets.json`. `None` means `$HOME/.petrel_offsets`. The client
    /// id contains `ClientConfig::instance_name`, so a consumer that must find its offsets after a
    /// restart needs a stable instance name (the default one is unique per process).
    pub offset_store_dir: Option<PathBuf>,
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
            pull_time_delay_when_exception: Duration::from_millis(3_000),
            await_termination_when_shutdown: Duration::from_secs(5),
            lock_interval: Duration::from_secs(20),
            offset_store_dir: None,
        }
    }

    /// `max_reconsume_times` as the concurrent consumer applies it: -1 means 16.
    pub fn max_reconsume_times_concurrently(&self) -> i32 {
        if self.max_reconsume_times == -1 {
            16
        } else {
            self.max_reconsume_times
        }
    }

    /// `max_reconsume_times` as the orderly consumer applies it: -1 means no limit.
    pub fn max_reconsume_times_orderly(&self) -> i32 {
        if self.max_reconsume_times == -1 {
            i32::MAX
        } else {
            self.max_reconsume_times
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
    /// a member joining or leaving moves few queues. Java's default is 10 virtual nodes.
    ConsistentHash { virtual_nodes: usize },
}

impl AllocateStrategy {
    /// The strategy's name in Java (`getName()`), shown by admin tools.
    pub fn name(&self) -> &'static str {
        match self {
            AllocateStrategy::Average => "AVG",
            AllocateStrategy::AverageByCircle => "AVG_BY_CIRCLE",
            AllocateStrategy::ConsistentHash { .. } => "CONSISTENT_HASH",
        }
    }
}
