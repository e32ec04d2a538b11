//! Well-known ids, groups and defaults that clients and brokers agree on (RocketMQ `MixAll`,
//! `TransactionalMessageUtil`, `NamesrvUtil`).

/// The broker id of a master; slaves have ids ≥ 1.
pub const MASTER_ID: i64 = 0;
/// Queues a topic auto-created by a client's first send asks for (`defaultTopicQueueNums`).
pub const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;
/// The default cluster name (`brokerClusterName`).
pub const DEFAULT_CLUSTER: &str = "DefaultCluster";

/// The group admin tools pull and query as.
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";
/// The group of the producer a push consumer uses to re-send failed messages.
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";
pub const DEFAULT_PRODUCER_GROUP: &str = "DEFAULT_PRODUCER";
pub const DEFAULT_CONSUMER_GROUP: &str = "DEFAULT_CONSUMER";
/// The broker's own group on the transaction half queue (`CID_SYS_RMQ_TRANS`).
pub const TRANSACTION_CHECK_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// Groups starting with this belong to the broker (`MixAll.CID_SYS_RMQ_PREFIX` family).
pub const SYSTEM_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

/// Groups a broker creates at start for its tools and internal clients
/// (`SubscriptionGroupManager.init`).
pub const SYSTEM_GROUPS: &[&str] = &[
    TOOLS_CONSUMER_GROUP,
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "CID_ONSAPI_PULL",
    TRANSACTION_CHECK_GROUP,
];

/// A consumer's failed message is retried with delay level `FIRST_RETRY_DELAY_LEVEL +
/// reconsumeTimes` when it names none (`SendMessageProcessor`: `3 + reconsumeTimes`, i.e. 10 s
/// first with the default `messageDelayLevel`).
pub const FIRST_RETRY_DELAY_LEVEL: i32 = 3;
/// Retries before a message goes to the DLQ when the group sets none (`retryMaxTimes`).
pub const DEFAULT_MAX_RECONSUME_TIMES: i32 = 16;

/// The name-server KV namespace that holds ordered topics' `broker:queues` lists
/// (`NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG`).
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// Broker statistics `VIEW_BROKER_STATS_DATA` (315) reads, by RocketMQ's names (`Stats.java`)
/// and with the keys RocketMQ's `BrokerStatsManager` counts them under.
pub mod stats {
    /// Messages stored per topic; key: the topic.
    pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
    /// Bytes stored per topic; key: the topic.
    pub const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
    /// Messages pulled per group; key: `topic@group`.
    pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
    /// Bytes pulled per group; key: `topic@group`.
    pub const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
    /// Messages consumers sent back; key: `topic@group` (the original topic).
    pub const SNDBCK_PUT_NUMS: &str = "SNDBCK_PUT_NUMS";
    /// Messages stored by the broker; key: the cluster name.
    pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
    /// Messages pulled from the broker; key: the cluster name.
    pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";

    /// The key of a per-group statistic: `topic@group` (`BrokerStatsManager.buildStatsKey`).
    pub fn group_key(topic: &str, group: &str) -> String {
        format!("{topic}@{group}")
    }
}
