//! Admin bodies: consumer lag and queue stats (`ConsumeStats.java`, `OffsetWrapper.java`,
//! `TopicStatsTable.java`, `TopicOffset.java`), connections (`Connection.java`,
//! `ConsumerConnection.java`, `ProducerConnection.java`) and `SubscriptionGroupConfig.java`.
//!
//! The stats tables are maps keyed by `MessageQueue`; fastjson writes each key as an inline
//! JSON object (`{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{...}}}`), so
//! `encode` writes that form too, and `decode` reads it (or string keys holding the same JSON,
//! or Java's `toString` of the queue).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    decode_json, encode_fastjson, json_body, lenient_enum, mq_map, BodyError, ConsumeFromWhere,
    ConsumeType, JsonBody, MessageModel, MessageQueue, SubscriptionData,
};
use crate::remoting::codes::LanguageCode;

const OFFSET_TABLE: &[&str] = &["offsetTable"];

/// `GET_CONSUME_STATS` (208): a group's progress on each queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    pub consume_tps: f64,
    #[serde(with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// The queue's max offset on the broker.
    pub broker_offset: i64,
    /// The group's committed offset.
    pub consumer_offset: i64,
    /// Store time of the last consumed message, epoch ms.
    pub last_timestamp: i64,
    /// The offset the group has pulled up to (5.x).
    pub pull_offset: i64,
}

/// `GET_TOPIC_STATS_INFO` (202): each queue's offsets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    #[serde(with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    pub topic_put_tps: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// Store time of the last message, epoch ms.
    pub last_update_timestamp: i64,
    pub max_offset: i64,
    pub min_offset: i64,
}

macro_rules! mq_keyed_body {
    ($($ty:ty),*) => {$(
        /// `encode` writes fastjson's inline object keys, as a Java broker does.
        impl JsonBody for $ty {
            fn decode(bytes: &[u8]) -> Result<Self, BodyError> {
                decode_json(bytes)
            }
            fn encode(&self) -> Vec<u8> {
                encode_fastjson(self, OFFSET_TABLE)
            }
        }
    )*};
}

mq_keyed_body!(ConsumeStats, TopicStatsTable);

/// One client connection, as admin tools list them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    pub client_addr: String,
    pub client_id: String,
    pub language: LanguageCode,
    pub version: i32,
}

/// `GET_CONSUMER_CONNECTION_LIST` (203).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    #[serde(
        deserialize_with = "lenient_enum",
        skip_serializing_if = "Option::is_none"
    )]
    pub consume_from_where: Option<ConsumeFromWhere>,
    #[serde(
        deserialize_with = "lenient_enum",
        skip_serializing_if = "Option::is_none"
    )]
    pub consume_type: Option<ConsumeType>,
    #[serde(
        deserialize_with = "lenient_enum",
        skip_serializing_if = "Option::is_none"
    )]
    pub message_model: Option<MessageModel>,
    /// Topic → subscription.
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

/// `GET_PRODUCER_CONNECTION_LIST` (204).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    pub connection_set: Vec<Connection>,
}

/// A consumer group's configuration on a broker (`subscriptionGroup.json`, codes 200/352).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    pub attributes: BTreeMap<String, String>,
    pub broker_id: i64,
    pub consume_broadcast_enable: bool,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_message_orderly: bool,
    pub consume_timeout_minute: i32,
    pub group_name: String,
    /// 5.x retry policy object; passed through untouched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_retry_policy: Option<serde_json::Value>,
    pub group_sys_flag: i32,
    pub notify_consumer_ids_changed_enable: bool,
    /// Max redeliveries before the dead-letter queue.
    pub retry_max_times: i32,
    pub retry_queue_nums: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data_set: Option<Vec<SimpleSubscriptionData>>,
    pub which_broker_when_consume_slowly: i64,
}

impl Default for SubscriptionGroupConfig {
    /// Java's defaults.
    fn default() -> Self {
        SubscriptionGroupConfig {
            attributes: BTreeMap::new(),
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: String::new(),
            group_retry_policy: None,
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            subscription_data_set: None,
            which_broker_when_consume_slowly: 1,
        }
    }
}

/// `SimpleSubscriptionData.java` (5.x).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SimpleSubscriptionData {
    pub expression: String,
    pub expression_type: String,
    pub topic: String,
    pub version: i64,
}

json_body!(
    ConsumerConnection,
    ProducerConnection,
    SubscriptionGroupConfig
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_stats_use_fastjson_object_keys() {
        let stats = ConsumeStats {
            consume_tps: 1.5,
            offset_table: [(
                MessageQueue::new("t", "b", 0),
                OffsetWrapper {
                    broker_offset: 10,
                    consumer_offset: 7,
                    last_timestamp: 1,
                    pull_offset: 8,
                },
            )]
            .into_iter()
            .collect(),
        };
        let encoded = String::from_utf8(stats.encode()).unwrap();
        assert_eq!(
            encoded,
            r#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{"brokerOffset":10,"consumerOffset":7,"lastTimestamp":1,"pullOffset":8}}}"#
        );
        assert_eq!(ConsumeStats::decode(encoded.as_bytes()).unwrap(), stats);
    }

    #[test]
    fn reads_a_java_topic_stats_table() {
        let java = br#"{"offsetTable":{{"brokerName":"broker-a","queueId":3,"topic":"MyTopic"}:{"lastUpdateTimestamp":1700000000000,"maxOffset":500,"minOffset":0}},"topicPutTps":0.0}"#;
        let table = TopicStatsTable::decode(java).unwrap();
        let offset = table.offset_table[&MessageQueue::new("MyTopic", "broker-a", 3)];
        assert_eq!(offset.max_offset, 500);
        assert_eq!(table.encode(), java.to_vec());
    }

    #[test]
    fn connections_carry_language_names() {
        let connection = ProducerConnection {
            connection_set: vec![Connection {
                client_addr: "127.0.0.1:5555".into(),
                client_id: "c".into(),
                language: LanguageCode::Go,
                version: 317,
            }],
        };
        let encoded = connection.encode();
        assert_eq!(
            encoded,
            br#"{"connectionSet":[{"clientAddr":"127.0.0.1:5555","clientId":"c","language":"GO","version":317}]}"#.to_vec()
        );
        assert_eq!(ProducerConnection::decode(&encoded).unwrap(), connection);
    }

    #[test]
    fn subscription_group_defaults_match_java() {
        let config = SubscriptionGroupConfig::decode(br#"{"groupName":"g"}"#).unwrap();
        assert_eq!(config.retry_max_times, 16);
        assert!(config.consume_enable);
        assert_eq!(
            SubscriptionGroupConfig::decode(&config.encode()).unwrap(),
            config
        );
    }
}
