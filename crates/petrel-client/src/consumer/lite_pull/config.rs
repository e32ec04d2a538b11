//! The lite pull consumer's settings ([`LitePullConsumerConfig`], named as
//! `DefaultLitePullConsumer`'s fields, with its defaults) and their checks (Java's
//! `checkConfig`, plus the limits that would otherwise misbehave).

use std::path::PathBuf;
use std::time::Duration;

use petrel_protocol::mix_all::DEFAULT_CONSUMER_GROUP;

use super::queues::Limits;
use crate::consumer::allocate::AllocateStrategy;
use crate::consumer::core::CoreSettings;
use crate::consumer::{ConsumeFromWhere, MessageModel};
use crate::error::{ClientError, Result};
use crate::names::check_group;

/// Lite pull consumer settings; names follow `DefaultLitePullConsumer`'s, and so do the
/// defaults.
#[derive(Debug, Clone)]
pub struct LitePullConsumerConfig {
    pub group: String,
    pub message_model: MessageModel,
    /// Where a new group starts on each queue (`consumeFromWhere`).
    pub consume_from_where: ConsumeFromWhere,
    /// For `ConsumeFromTimestamp`: epoch ms (`consumeTimestamp`; default half an hour before
    /// the start).
    pub consume_timestamp_ms: Option<i64>,
    /// Queue allocation among the group's members (subscribe mode, clustering).
    pub allocate_strategy: AllocateStrategy,
    /// Messages per pull (`pullBatchSize`, 10).
    pub pull_batch_size: i32,
    /// Pulling stops while this many messages are buffered across all queues
    /// (`pullThresholdForAll`, 10 000).
    pub pull_threshold_for_all: usize,
    /// ... or this many of one queue (`pullThresholdForQueue`, 1 000).
    pub pull_threshold_for_queue: usize,
    /// ... or this many MiB of one queue's bodies (`pullThresholdSizeForQueue`, 100).
    pub pull_threshold_size_for_queue_mib: usize,
    /// Most messages one `poll` returns (Java returns one pull batch per poll).
    pub max_poll_messages: usize,
    /// Commit what earlier polls returned, from within `poll` (`autoCommit`, true).
    pub auto_commit: bool,
    /// Least time between two automatic commits (`autoCommitIntervalMillis`, 5 s).
    pub auto_commit_interval: Duration,
    /// The timeout of [`LitePullConsumer::poll_default`](super::LitePullConsumer::poll_default) (`pollTimeoutMillis`, 5 s).
    pub poll_timeout: Duration,
    /// How long the broker holds a pull with no messages (`brokerSuspendMaxTimeMillis`, 20 s).
    pub broker_suspend_max_time: Duration,
    /// How long a held pull may take before it counts as failed
    /// (`consumerTimeoutMillisWhenSuspend`, 30 s; more than `broker_suspend_max_time`).
    pub consumer_timeout_when_suspend: Duration,
    /// Pause of a queue's pulling after a failed pull (`pullTimeDelayMillsWhenException`, 1 s).
    pub pull_time_delay_when_exception: Duration,
    /// Broadcasting: the directory of the local offset files, as
    /// [`PushConsumerConfig::offset_store_dir`](crate::consumer::PushConsumerConfig::offset_store_dir) (`None`: `$HOME/.petrel_offsets`).
    pub offset_store_dir: Option<PathBuf>,
}

impl LitePullConsumerConfig {
    /// The settings the consumer core keeps.
    pub(crate) fn core_settings(&self) -> CoreSettings {
        CoreSettings {
            group: self.group.clone(),
            message_model: self.message_model,
            consume_from_where: self.consume_from_where,
            consume_timestamp_ms: self.consume_timestamp_ms,
            allocate_strategy: self.allocate_strategy.clone(),
            offset_store_dir: self.offset_store_dir.clone(),
        }
    }

    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_timestamp_ms: None,
            allocate_strategy: AllocateStrategy::Average,
            pull_batch_size: 10,
            pull_threshold_for_all: 10_000,
            pull_threshold_for_queue: 1_000,
            pull_threshold_size_for_queue_mib: 100,
            max_poll_messages: 500,
            auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            poll_timeout: Duration::from_secs(5),
            broker_suspend_max_time: Duration::from_secs(20),
            consumer_timeout_when_suspend: Duration::from_secs(30),
            pull_time_delay_when_exception: Duration::from_secs(1),
            offset_store_dir: None,
        }
    }

    pub(super) fn limits(&self) -> Limits {
        Limits {
            for_all: self.pull_threshold_for_all,
            for_queue: self.pull_threshold_for_queue,
            size_for_queue_bytes: self.pull_threshold_size_for_queue_mib * 1024 * 1024,
        }
    }

    /// Java's `checkConfig`, plus the limits that would otherwise misbehave.
    pub(super) fn validate(&self) -> Result<()> {
        check_group(&self.group)?;
        let bad = |what: &str| Err(ClientError::InvalidArgument(what.to_string()));
        if self.group == DEFAULT_CONSUMER_GROUP {
            return bad("DEFAULT_CONSUMER is a reserved group name; choose another consumer group");
        }
        if !(1..=1024).contains(&self.pull_batch_size) {
            return bad("pull_batch_size must be 1..=1024");
        }
        if self.pull_threshold_for_all == 0 {
            return bad("pull_threshold_for_all must be at least 1");
        }
        if !(1..=65_535).contains(&self.pull_threshold_for_queue) {
            return bad("pull_threshold_for_queue must be 1..=65535");
        }
        if !(1..=1024).contains(&self.pull_threshold_size_for_queue_mib) {
            return bad("pull_threshold_size_for_queue_mib must be 1..=1024");
        }
        if self.max_poll_messages == 0 {
            return bad("max_poll_messages must be at least 1");
        }
        if self.auto_commit_interval.is_zero() {
            return bad("auto_commit_interval must be positive");
        }
        if self.broker_suspend_max_time.is_zero() {
            return bad("broker_suspend_max_time must be positive");
        }
        if self.consumer_timeout_when_suspend <= self.broker_suspend_max_time {
            return bad(
                "consumer_timeout_when_suspend must be longer than broker_suspend_max_time",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_java_s_and_bad_settings_are_refused() {
        let c = LitePullConsumerConfig::new("g");
        assert!(c.validate().is_ok());
        assert_eq!(c.pull_batch_size, 10);
        assert_eq!(c.pull_threshold_for_all, 10_000);
        assert!(c.auto_commit);
        assert_eq!(c.limits().size_for_queue_bytes, 100 * 1024 * 1024);
        let refused = |f: &dyn Fn(&mut LitePullConsumerConfig)| {
            let mut bad = LitePullConsumerConfig::new("g");
            f(&mut bad);
            assert!(
                matches!(bad.validate(), Err(ClientError::InvalidArgument(_))),
                "{bad:?}"
            );
        };
        refused(&|c| c.group = "DEFAULT_CONSUMER".into());
        refused(&|c| c.group = "bad group".into());
        refused(&|c| c.pull_batch_size = 0);
        refused(&|c| c.pull_threshold_for_all = 0);
        refused(&|c| c.pull_threshold_for_queue = 0);
        refused(&|c| c.max_poll_messages = 0);
        refused(&|c| c.auto_commit_interval = Duration::ZERO);
        refused(&|c| c.consumer_timeout_when_suspend = c.broker_suspend_max_time);
    }
}
