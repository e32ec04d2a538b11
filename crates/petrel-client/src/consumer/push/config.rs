//! The push consumer's settings ([`PushConsumerConfig`], named as `DefaultMQPushConsumer`'s
//! fields), the checks that refuse settings that would misbehave (Java's `checkConfig`), and
//! the subscriptions a start builds (the group's retry topic added in clustering).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use petrel_protocol::mix_all::DEFAULT_CONSUMER_GROUP;
use petrel_protocol::remoting::body::SubscriptionData;
use petrel_protocol::topic::retry_topic;

use crate::consumer::allocate::AllocateStrategy;
use crate::consumer::core::CoreSettings;
use crate::consumer::{
    check_subscription, subscription_data, ConsumeFromWhere, MessageModel, Selector,
};
use crate::error::{ClientError, Result};
use crate::names::check_group;

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
    /// Write SubBefore/SubAfter trace records for each message consumed (`enableMsgTrace`).
    pub enable_msg_trace: bool,
    /// The trace topic (`customizedTraceTopic`); `None`: `RMQ_SYS_TRACE_TOPIC`.
    pub trace_topic: Option<String>,
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
            enable_msg_trace: false,
            trace_topic: None,
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

impl PushConsumerConfig {
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
}

/// Java's `checkConfig`, for the settings that would otherwise misbehave.
pub(super) fn check_config(c: &PushConsumerConfig) -> Result<()> {
    check_group(&c.group)?;
    let bad = |what: &str| Err(ClientError::InvalidArgument(what.to_string()));
    if c.group == DEFAULT_CONSUMER_GROUP {
        return bad("DEFAULT_CONSUMER is a reserved group name; choose another consumer group");
    }
    if c.consume_thread_max == 0 || c.consume_thread_max > 1000 {
        return bad("consume_thread_max must be 1..=1000");
    }
    if c.consume_message_batch_max_size == 0 || c.consume_message_batch_max_size > 1024 {
        return bad("consume_message_batch_max_size must be 1..=1024");
    }
    if c.pull_batch_size < 1 || c.pull_batch_size > 1024 {
        return bad("pull_batch_size must be 1..=1024");
    }
    if c.pull_threshold_for_queue == 0 || c.pull_threshold_for_queue > 65_535 {
        return bad("pull_threshold_for_queue must be 1..=65535");
    }
    if c.pull_threshold_size_for_queue_mib == 0 || c.pull_threshold_size_for_queue_mib > 1024 {
        return bad("pull_threshold_size_for_queue_mib must be 1..=1024");
    }
    if c.consume_concurrently_max_span < 1 || c.consume_concurrently_max_span > 65_535 {
        return bad("consume_concurrently_max_span must be 1..=65535");
    }
    if c.max_reconsume_times < -1 {
        return bad("max_reconsume_times must be -1 (default) or more");
    }
    if c.broker_suspend_max_time.is_zero() {
        return bad("broker_suspend_max_time must be positive");
    }
    if c.consume_timeout.is_zero() {
        return bad("consume_timeout must be positive");
    }
    Ok(())
}

/// The subscriptions of a start: each topic once, checked, and (clustering) the group's retry
/// topic.
pub(super) fn build_subscriptions(
    config: &PushConsumerConfig,
    subscriptions: &[(String, Selector)],
) -> Result<BTreeMap<String, SubscriptionData>> {
    if subscriptions.is_empty() {
        return Err(ClientError::InvalidArgument(
            "a push consumer needs at least one subscription".into(),
        ));
    }
    let mut out = BTreeMap::new();
    for (topic, selector) in subscriptions {
        check_subscription(topic, selector)?;
        if out
            .insert(topic.clone(), subscription_data(topic, selector))
            .is_some()
        {
            return Err(ClientError::InvalidArgument(format!(
                "{topic} is subscribed twice; combine the expressions"
            )));
        }
    }
    if config.message_model == MessageModel::Clustering {
        // Clustering members get their failed messages back through the group's retry topic.
        let retry = retry_topic(&config.group);
        out.entry(retry.clone())
            .or_insert_with(|| subscription_data(&retry, &Selector::all()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clustering_subscribes_the_retry_topic_and_broadcasting_does_not() {
        let subs = vec![("T".to_string(), Selector::all())];
        let clustering = PushConsumerConfig::new("g1");
        let got = build_subscriptions(&clustering, &subs).unwrap();
        assert!(got.contains_key("%RETRY%g1"));
        assert_eq!(got["%RETRY%g1"].sub_string, "*");
        let mut broadcasting = PushConsumerConfig::new("g1");
        broadcasting.message_model = MessageModel::Broadcasting;
        let got = build_subscriptions(&broadcasting, &subs).unwrap();
        assert_eq!(got.keys().collect::<Vec<_>>(), ["T"]);
    }

    #[test]
    fn bad_subscriptions_and_settings_are_refused() {
        let c = PushConsumerConfig::new("g");
        assert!(build_subscriptions(&c, &[]).is_err());
        assert!(build_subscriptions(&c, &[("bad topic".into(), Selector::all())]).is_err());
        assert!(build_subscriptions(
            &c,
            &[
                ("T".into(), Selector::all()),
                ("T".into(), Selector::tags("a"))
            ]
        )
        .is_err());
        assert!(build_subscriptions(&c, &[("T".into(), Selector::sql92("  "))]).is_err());
        assert!(check_config(&c).is_ok());
        let mut bad = c.clone();
        bad.consume_thread_max = 0;
        assert!(check_config(&bad).is_err());
        let mut bad = c.clone();
        bad.pull_batch_size = 0;
        assert!(check_config(&bad).is_err());
        let mut bad = c;
        bad.group = "DEFAULT_CONSUMER".into();
        assert!(check_config(&bad).is_err());
    }
}
