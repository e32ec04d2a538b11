//! Topic names RocketMQ reserves or derives (`TopicValidator`, `MixAll`, `TopicSysFlag`).
//!
//! The broker creates the system topics at start and refuses sends to the internal ones; the
//! client routes unknown topics through [`AUTO_CREATE_TOPIC_KEY_TOPIC`]; both derive a consumer
//! group's retry and dead-letter topics with [`retry_topic`] and [`dlq_topic`].

/// The auto-create template topic (`TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`): a client
/// sending to an unknown topic borrows its route, and a broker with `autoCreateTopicEnable`
/// creates the topic from its config.
pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
/// Delay-level messages wait here, one queue per level.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Timer messages (`TIMER_DELIVER_MS` and friends) wait here (`TimerMessageStore.TIMER_TOPIC`).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
pub const BENCHMARK_TOPIC: &str = "BenchmarkTest";
/// Half (prepared) transaction messages.
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Commit/rollback op records of half messages.
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Half messages checked `transactionCheckMax` times without an answer.
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Message trace records (the default `traceTopicName`).
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
/// RocksDB offset checkpoints (`RMQ_SYS_ROCKSDB_OFFSET_TOPIC`); listed, never used by Petrel.
pub const ROCKSDB_OFFSET_TOPIC: &str = "CHECKPOINT_TOPIC";
/// Topics starting with this are system topics (`TopicValidator.SYSTEM_TOPIC_PREFIX`).
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";
/// Name-server sync topics of a broker group (`TopicValidator.SYNC_BROKER_MEMBER_GROUP_PREFIX`).
pub const SYNC_BROKER_MEMBER_GROUP_PREFIX: &str = "rmq_sys_SYNC_BROKER_MEMBER_";

/// A consumer group's retry topic is this prefix + the group (`MixAll.RETRY_GROUP_TOPIC_PREFIX`).
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// A consumer group's dead-letter topic is this prefix + the group.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
/// Reply topics are `{cluster}` + `_` + this (`MixAll.REPLY_TOPIC_POSTFIX`).
pub const REPLY_TOPIC_POSTFIX: &str = "REPLY_TOPIC";

/// `TopicSysFlag.FLAG_UNIT`: a unit topic (unit mode, unused by 5.x clients).
pub const TOPIC_SYS_FLAG_UNIT: i32 = 0x1;
/// `TopicSysFlag.FLAG_UNIT_SUB`: a unit subscription.
pub const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 0x2;

/// `TopicValidator.SYSTEM_TOPIC_SET` (4.9/5.x), plus the timer topic 5.x adds at start.
pub const SYSTEM_TOPICS: &[&str] = &[
    AUTO_CREATE_TOPIC_KEY_TOPIC,
    SCHEDULE_TOPIC,
    BENCHMARK_TOPIC,
    TRANS_HALF_TOPIC,
    TRACE_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT,
    ROCKSDB_OFFSET_TOPIC,
    TIMER_TOPIC,
];

/// Topics clients may not send to (`TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`, plus the
/// timer topic): messages get there only through the broker's own features.
pub const NOT_ALLOWED_SEND_TOPICS: &[&str] = &[
    SCHEDULE_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT,
    TIMER_TOPIC,
];

/// `TopicValidator.isSystemTopic`: one of [`SYSTEM_TOPICS`] or named with
/// [`SYSTEM_TOPIC_PREFIX`].
pub fn is_system_topic(topic: &str) -> bool {
    SYSTEM_TOPICS.contains(&topic) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
}

/// `TopicValidator.isNotAllowedSendTopic`.
pub fn is_not_allowed_send_topic(topic: &str) -> bool {
    NOT_ALLOWED_SEND_TOPICS.contains(&topic)
}

/// `MixAll.getRetryTopic`: `%RETRY%{group}`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// `MixAll.getDLQTopic`: `%DLQ%{group}`.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

/// `MixAll.isRetryTopic`.
pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
}

/// True for `%DLQ%{group}` (Java tests the prefix inline).
pub fn is_dlq_topic(topic: &str) -> bool {
    topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
}

/// The group a retry or dead-letter topic belongs to, if `topic` is one.
pub fn group_of_retry_or_dlq(topic: &str) -> Option<&str> {
    topic
        .strip_prefix(RETRY_GROUP_TOPIC_PREFIX)
        .or_else(|| topic.strip_prefix(DLQ_GROUP_TOPIC_PREFIX))
}

/// The reply topic of a cluster (`MixAll.getReplyTopic`): `{cluster}_REPLY_TOPIC`.
pub fn reply_topic(cluster: &str) -> String {
    format!("{cluster}_{REPLY_TOPIC_POSTFIX}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_and_recognises_topics() {
        assert_eq!(retry_topic("cg"), "%RETRY%cg");
        assert_eq!(dlq_topic("cg"), "%DLQ%cg");
        assert!(is_retry_topic("%RETRY%cg") && !is_retry_topic("%DLQ%cg"));
        assert!(is_dlq_topic("%DLQ%cg"));
        assert_eq!(group_of_retry_or_dlq("%DLQ%cg"), Some("cg"));
        assert_eq!(group_of_retry_or_dlq("orders"), None);
        assert_eq!(reply_topic("DefaultCluster"), "DefaultCluster_REPLY_TOPIC");
        assert!(is_system_topic(SCHEDULE_TOPIC) && is_system_topic("rmq_sys_anything"));
        assert!(!is_system_topic("orders"));
        assert!(is_not_allowed_send_topic(TIMER_TOPIC) && !is_not_allowed_send_topic(TRACE_TOPIC));
    }
}
