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

/// Topic attributes (`TopicAttributes.ALL`), their values and how a modification applies
/// (`AttributeParser`, `AttributeUtil`): `+key=value` adds or changes, `-key` removes; a topic
/// being created only takes `+`; attributes that are not changeable can only be set at creation.
pub mod attributes {
    use std::collections::BTreeMap;

    /// `queue.type`: the ConsumeQueue format.
    pub const QUEUE_TYPE: &str = "queue.type";
    /// `cleanup.policy`: how old messages go (deleted, or compacted by key).
    pub const CLEANUP_POLICY: &str = "cleanup.policy";
    /// `message.type`: the kind of messages the topic is for.
    pub const MESSAGE_TYPE: &str = "message.type";
    /// `reserve.time`: a per-topic retention (-1: the broker's).
    pub const RESERVE_TIME: &str = "reserve.time";
    /// The `message.type` brokers refuse unless `enableMixedMessageType`.
    pub const MIXED: &str = "MIXED";

    /// The values an attribute takes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Values {
        /// One of these names (`EnumAttribute`).
        OneOf(&'static [&'static str]),
        /// A whole number in this range (`LongRangeAttribute`).
        Range { min: i64, max: i64 },
    }

    /// One attribute RocketMQ knows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Attribute {
        pub name: &'static str,
        /// Whether an existing topic may change it.
        pub changeable: bool,
        pub values: Values,
        pub default: &'static str,
    }

    /// `TopicAttributes.ALL`.
    pub const ALL: &[Attribute] = &[
        Attribute {
            name: QUEUE_TYPE,
            changeable: false,
            values: Values::OneOf(&["BatchCQ", "SimpleCQ"]),
            default: "SimpleCQ",
        },
        Attribute {
            name: CLEANUP_POLICY,
            changeable: false,
            values: Values::OneOf(&["COMPACTION", "DELETE"]),
            default: "DELETE",
        },
        Attribute {
            name: MESSAGE_TYPE,
            changeable: true,
            values: Values::OneOf(&[
                "DELAY",
                "FIFO",
                "MIXED",
                "NORMAL",
                "TRANSACTION",
                "UNSPECIFIED",
            ]),
            default: "NORMAL",
        },
        Attribute {
            name: RESERVE_TIME,
            changeable: true,
            values: Values::Range {
                min: -1,
                max: i64::MAX,
            },
            default: "-1",
        },
    ];

    /// `SubscriptionGroupAttributes.ALL`: RocketMQ defines no subscription group attribute, so
    /// any one a group config carries is refused (`unsupported key`).
    pub const SUBSCRIPTION_GROUP_ALL: &[Attribute] = &[];

    /// Why a topic attribute modification is refused: RocketMQ's messages.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum AttributeError {
        #[error("add/alter attribute format is wrong: {0}")]
        AddFormat(String),
        #[error("delete attribute format is wrong: {0}")]
        DeleteFormat(String),
        #[error("key duplication: {0}")]
        Duplicate(String),
        #[error("kv string format wrong.")]
        KeyFormat,
        #[error("alter duplication key. key: {0}")]
        AlterDuplicate(String),
        #[error("only add attribute is supported while creating topic. key: {0}")]
        OnlyAddOnCreate(String),
        #[error("attempt to delete a nonexistent key: {0}")]
        DeleteMissing(String),
        #[error("wrong format key: {0}")]
        WrongFormat(String),
        #[error("unsupported key: {0}")]
        Unsupported(String),
        #[error("attempt to update an unchangeable attribute. key: {0}")]
        Unchangeable(String),
        #[error("value is not in set: [{}]", .0.join(", "))]
        NotInSet(&'static [&'static str]),
        #[error("value is not in range({min}, {max})")]
        NotInRange { min: i64, max: i64 },
        #[error("For input string: \"{0}\"")]
        NotANumber(String),
    }

    /// `AttributeParser.parseToMap`: `+key=value,-key,...` with each key keeping its sign.
    pub fn parse_modification(text: &str) -> Result<BTreeMap<String, String>, AttributeError> {
        let mut out = BTreeMap::new();
        if text.is_empty() {
            return Ok(out);
        }
        // Java's String.split drops trailing empty pieces.
        let pieces: Vec<&str> = text.split(',').collect();
        let used = pieces.len() - pieces.iter().rev().take_while(|p| p.is_empty()).count();
        for kv in &pieces[..used] {
            let (key, value) = match kv.split_once('=') {
                Some((key, rest)) => {
                    let value = rest.split('=').next().unwrap_or_default();
                    if value.is_empty() {
                        return Err(AttributeError::AddFormat(key.to_string()));
                    }
                    if !key.contains('+') {
                        return Err(AttributeError::AddFormat(key.to_string()));
                    }
                    (key, value)
                }
                None => {
                    if !kv.contains('-') {
                        return Err(AttributeError::DeleteFormat(kv.to_string()));
                    }
                    (*kv, "")
                }
            };
            if out.insert(key.to_string(), value.to_string()).is_some() {
                return Err(AttributeError::Duplicate(key.to_string()));
            }
        }
        Ok(out)
    }

    /// `AttributeUtil.alterCurrentAttributes`: the attributes a topic has after
    /// `modification` (from [`parse_modification`]) is applied to `current`; `create` when the
    /// topic does not exist yet.
    pub fn alter(
        create: bool,
        current: &BTreeMap<String, String>,
        modification: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, AttributeError> {
        alter_in(ALL, create, current, modification)
    }

    /// [`alter`] against another set of attributes (e.g. [`SUBSCRIPTION_GROUP_ALL`]).
    pub fn alter_in(
        all: &[Attribute],
        create: bool,
        current: &BTreeMap<String, String>,
        modification: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, AttributeError> {
        let mut result = current.clone();
        let mut seen = std::collections::BTreeSet::new();
        let mut changes = Vec::new();
        for (key, value) in modification {
            let real = key.get(1..).unwrap_or_default();
            if real.is_empty() || real.contains('+') || real.contains('-') {
                return Err(AttributeError::KeyFormat);
            }
            if !seen.insert(real) {
                return Err(AttributeError::AlterDuplicate(real.to_string()));
            }
            let delete = if create {
                if !key.starts_with('+') {
                    return Err(AttributeError::OnlyAddOnCreate(real.to_string()));
                }
                false
            } else if key.starts_with('+') {
                false
            } else if key.starts_with('-') {
                if !current.contains_key(real) {
                    return Err(AttributeError::DeleteMissing(real.to_string()));
                }
                true
            } else {
                return Err(AttributeError::WrongFormat(real.to_string()));
            };
            let attribute = all
                .iter()
                .find(|a| a.name == real)
                .ok_or_else(|| AttributeError::Unsupported(real.to_string()))?;
            if !create && !attribute.changeable {
                return Err(AttributeError::Unchangeable(real.to_string()));
            }
            if !delete {
                verify(attribute, value)?;
            }
            changes.push((real, value, delete));
        }
        for (real, value, delete) in changes {
            if delete {
                result.remove(real);
            } else {
                result.insert(real.to_string(), value.clone());
            }
        }
        Ok(result)
    }

    fn verify(attribute: &Attribute, value: &str) -> Result<(), AttributeError> {
        match attribute.values {
            Values::OneOf(names) if names.contains(&value) => Ok(()),
            Values::OneOf(names) => Err(AttributeError::NotInSet(names)),
            Values::Range { min, max } => {
                let n: i64 = value
                    .parse()
                    .map_err(|_| AttributeError::NotANumber(value.to_string()))?;
                if (min..=max).contains(&n) {
                    Ok(())
                } else {
                    Err(AttributeError::NotInRange { min, max })
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        }

        #[test]
        fn modifications_parse_as_rocketmq_parses_them() {
            assert_eq!(
                parse_modification("+message.type=FIFO,-reserve.time"),
                Ok(map(&[("+message.type", "FIFO"), ("-reserve.time", "")]))
            );
            assert_eq!(parse_modification(""), Ok(BTreeMap::new()));
            assert_eq!(
                parse_modification("message.type=FIFO"),
                Err(AttributeError::AddFormat("message.type".into()))
            );
            assert_eq!(
                parse_modification("reserve.time"),
                Err(AttributeError::DeleteFormat("reserve.time".into()))
            );
            assert_eq!(
                parse_modification("+a=1,+a=2"),
                Err(AttributeError::Duplicate("+a".into()))
            );
        }

        #[test]
        fn creation_takes_additions_and_updates_respect_changeability() {
            let created = alter(true, &BTreeMap::new(), &map(&[("+queue.type", "SimpleCQ")]));
            assert_eq!(created, Ok(map(&[("queue.type", "SimpleCQ")])));
            assert_eq!(
                alter(true, &BTreeMap::new(), &map(&[("-message.type", "")])),
                Err(AttributeError::OnlyAddOnCreate("message.type".into()))
            );
            let current = map(&[("queue.type", "SimpleCQ"), ("message.type", "FIFO")]);
            assert_eq!(
                alter(false, &current, &map(&[("+queue.type", "BatchCQ")])),
                Err(AttributeError::Unchangeable("queue.type".into()))
            );
            assert_eq!(
                alter(false, &current, &map(&[("-message.type", "")])),
                Ok(map(&[("queue.type", "SimpleCQ")]))
            );
            assert_eq!(
                alter(false, &current, &map(&[("-reserve.time", "")])),
                Err(AttributeError::DeleteMissing("reserve.time".into()))
            );
            assert_eq!(
                alter(false, &current, &map(&[("+color", "red")])),
                Err(AttributeError::Unsupported("color".into()))
            );
            assert_eq!(
                alter(false, &current, &map(&[("+message.type", "BIG")]))
                    .unwrap_err()
                    .to_string(),
                "value is not in set: [DELAY, FIFO, MIXED, NORMAL, TRANSACTION, UNSPECIFIED]"
            );
            assert_eq!(
                alter(false, &current, &map(&[("+reserve.time", "-2")])),
                Err(AttributeError::NotInRange {
                    min: -1,
                    max: i64::MAX
                })
            );
        }
    }
}
