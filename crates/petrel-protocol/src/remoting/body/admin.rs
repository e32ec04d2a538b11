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

/// `QUERY_TOPIC_CONSUME_BY_WHO` (300): the groups consuming a topic (`GroupList.java`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    pub group_list: std::collections::BTreeSet<String>,
}

/// `GET_ALL_SUBSCRIPTIONGROUP_CONFIG` (201): every group config of a broker
/// (`SubscriptionGroupWrapper.java`). `forbiddenTable` (5.x) is group → topic → forbidden bits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    pub data_version: super::DataVersion,
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

/// `GET_ALL_CONSUMER_OFFSET` (43): every committed offset, `topic@group` → queue id → offset
/// (`ConsumerOffsetSerializeWrapper.java`). `encode` writes the queue ids as fastjson does,
/// bare (`{"offsetTable":{"t@g":{0:12}}}`); `decode` reads that or standard JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerOffsetSerializeWrapper {
    /// 5.x; absent from 4.x brokers' answers (and from Petrel's: it keeps no offsets version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_version: Option<super::DataVersion>,
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl JsonBody for ConsumerOffsetSerializeWrapper {
    fn decode(bytes: &[u8]) -> Result<Self, BodyError> {
        decode_json(bytes)
    }

    fn encode(&self) -> Vec<u8> {
        use bytes::BufMut;
        let mut out = Vec::new();
        out.put_u8(b'{');
        if let Some(version) = &self.data_version {
            out.put_slice(b"\"dataVersion\":");
            out.put_slice(&super::encode_json(version));
            out.put_u8(b',');
        }
        out.put_slice(b"\"offsetTable\":{");
        for (i, (topic_at_group, queues)) in self.offset_table.iter().enumerate() {
            if i > 0 {
                out.put_u8(b',');
            }
            crate::remoting::fastjson::put_str(&mut out, topic_at_group);
            out.put_slice(b":{");
            for (j, (queue_id, offset)) in queues.iter().enumerate() {
                if j > 0 {
                    out.put_u8(b',');
                }
                out.put_slice(format!("{queue_id}:{offset}").as_bytes());
            }
            out.put_u8(b'}');
        }
        out.put_slice(b"}}");
        out
    }
}

/// `GET_BROKER_CONSUME_STATS` (317): every group's progress on a broker (`ConsumeStatsList.java`).
/// Each list element maps one group to its per-topic stats.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStatsList {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    pub consume_stats_list: Vec<BTreeMap<String, Vec<ConsumeStats>>>,
    /// Sum of broker offset − consumer offset.
    pub total_diff: i64,
    /// Sum of pull offset − consumer offset (5.x).
    pub total_inflight_diff: i64,
}

/// `encode` writes fastjson's inline object keys in the nested `offsetTable`s.
impl JsonBody for ConsumeStatsList {
    fn decode(bytes: &[u8]) -> Result<Self, BodyError> {
        decode_json(bytes)
    }
    fn encode(&self) -> Vec<u8> {
        encode_fastjson(self, OFFSET_TABLE)
    }
}

json_body!(GroupList, SubscriptionGroupWrapper);

/// `INVOKE_BROKER_TO_RESET_OFFSET` (222) response and `RESET_CONSUMER_CLIENT_OFFSET` (220)
/// body: each queue's new offset (`ResetOffsetBody.java`), keyed by fastjson's inline queue
/// objects (`{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:12}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBody {
    #[serde(with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

mq_keyed_body!(ResetOffsetBody);

/// The `RESET_CONSUMER_CLIENT_OFFSET` body C++ clients read (`ResetOffsetBodyForC.java`): a
/// list of queues, each carrying its offset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBodyForC {
    pub offset_table: Vec<MessageQueueForC>,
}

/// `MessageQueueForC.java`; fields in fastjson's (alphabetical) order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueueForC {
    pub broker_name: String,
    pub offset: i64,
    pub queue_id: i32,
    pub topic: String,
}

impl From<&ResetOffsetBody> for ResetOffsetBodyForC {
    fn from(body: &ResetOffsetBody) -> Self {
        ResetOffsetBodyForC {
            offset_table: body
                .offset_table
                .iter()
                .map(|(mq, &offset)| MessageQueueForC {
                    broker_name: mq.broker_name.clone(),
                    offset,
                    queue_id: mq.queue_id,
                    topic: mq.topic.clone(),
                })
                .collect(),
        }
    }
}

json_body!(ResetOffsetBodyForC);

#[cfg(test)]
mod reset_offset_tests {
    use super::*;

    #[test]
    fn reset_offset_bodies_are_written_as_java_writes_them() {
        let body = ResetOffsetBody {
            offset_table: [
                (MessageQueue::new("t", "b", 0), 12),
                (MessageQueue::new("t", "b", 1), 0),
            ]
            .into_iter()
            .collect(),
        };
        let encoded = body.encode();
        assert_eq!(
            String::from_utf8(encoded.clone()).unwrap(),
            r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:12,{"brokerName":"b","queueId":1,"topic":"t"}:0}}"#
        );
        assert_eq!(ResetOffsetBody::decode(&encoded).unwrap(), body);
        // Java's toString keys, as some tools write them, read too.
        let legacy = br#"{"offsetTable":{"MessageQueue [topic=t, brokerName=b, queueId=1]":0,"MessageQueue [topic=t, brokerName=b, queueId=0]":12}}"#;
        assert_eq!(ResetOffsetBody::decode(legacy).unwrap(), body);

        let for_c = ResetOffsetBodyForC::from(&body);
        assert_eq!(
            String::from_utf8(for_c.encode()).unwrap(),
            r#"{"offsetTable":[{"brokerName":"b","offset":12,"queueId":0,"topic":"t"},{"brokerName":"b","offset":0,"queueId":1,"topic":"t"}]}"#
        );
        assert_eq!(ResetOffsetBodyForC::decode(&for_c.encode()).unwrap(), for_c);
    }
}

#[cfg(test)]
mod wrapper_tests {
    use super::*;

    #[test]
    fn consumer_offsets_use_bare_queue_ids_like_fastjson() {
        let wrapper = ConsumerOffsetSerializeWrapper {
            data_version: None,
            offset_table: [
                ("t@g".to_string(), [(0, 12), (1, 7)].into_iter().collect()),
                ("%RETRY%g@g".to_string(), [(0, 0)].into_iter().collect()),
            ]
            .into_iter()
            .collect(),
        };
        let encoded = wrapper.encode();
        assert_eq!(
            encoded,
            br#"{"offsetTable":{"%RETRY%g@g":{0:0},"t@g":{0:12,1:7}}}"#.to_vec()
        );
        assert_eq!(
            ConsumerOffsetSerializeWrapper::decode(&encoded).unwrap(),
            wrapper
        );
        let java = br#"{"dataVersion":{"counter":2,"stateVersion":0,"timestamp":1},"groupTopicMap":{"g":["t"]},"offsetTable":{"t@g":{0:5}}}"#;
        let read = ConsumerOffsetSerializeWrapper::decode(java).unwrap();
        assert_eq!(read.data_version.unwrap().counter, 2);
        assert_eq!(read.offset_table["t@g"][&0], 5);
    }

    #[test]
    fn group_wrappers_are_standard_json() {
        let wrapper = SubscriptionGroupWrapper {
            subscription_group_table: [(
                "g".to_string(),
                SubscriptionGroupConfig {
                    group_name: "g".into(),
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let text = String::from_utf8(wrapper.encode()).unwrap();
        assert!(
            text.starts_with(r#"{"dataVersion":{"counter":0,"#),
            "{text}"
        );
        assert!(text.contains(r#""forbiddenTable":{},"subscriptionGroupTable":{"g":{"#));
        assert_eq!(
            SubscriptionGroupWrapper::decode(text.as_bytes()).unwrap(),
            wrapper
        );
        let groups = GroupList {
            group_list: ["b".to_string(), "a".to_string()].into_iter().collect(),
        };
        assert_eq!(groups.encode(), br#"{"groupList":["a","b"]}"#.to_vec());
    }

    #[test]
    fn broker_consume_stats_nest_fastjson_queue_keys() {
        let stats = ConsumeStats {
            consume_tps: 0.0,
            offset_table: [(MessageQueue::new("t", "b", 0), OffsetWrapper::default())]
                .into_iter()
                .collect(),
        };
        let list = ConsumeStatsList {
            broker_addr: Some("127.0.0.1:10911".into()),
            consume_stats_list: vec![[("g".to_string(), vec![stats])].into_iter().collect()],
            total_diff: 0,
            total_inflight_diff: 0,
        };
        let text = String::from_utf8(list.encode()).unwrap();
        assert!(
            text.contains(r#""offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{"#),
            "{text}"
        );
        assert_eq!(ConsumeStatsList::decode(text.as_bytes()).unwrap(), list);
    }
}

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

/// One ConsumeQueue entry as `QUERY_CONSUME_QUEUE` (321) shows it (`ConsumeQueueData.java`;
/// the extension fields are absent for a ConsumeQueue without extension units, as here).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeQueueData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_map: Option<String>,
    /// Whether the group's filter matches (only computed from extension units).
    pub eval: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend_data_json: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// CommitLog offset of the message.
    pub physic_offset: i64,
    /// Size of the stored message, bytes.
    pub physic_size: i32,
    /// Tag hash (or, in the delay and timer topics, the delivery time).
    pub tags_code: i64,
}

/// `QUERY_CONSUME_QUEUE` (321) response (`QueryConsumeQueueResponseBody.java`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryConsumeQueueResponseBody {
    /// The group's filter, as JSON, or why there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_data: Option<String>,
    /// One past the queue's newest entry.
    pub max_queue_index: i64,
    pub min_queue_index: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_data: Option<Vec<ConsumeQueueData>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
}

/// One queue's time span for a group (`QueueTimeSpan.java`), epoch ms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueTimeSpan {
    /// Store time of the last consumed message (the oldest message's if none was consumed).
    pub consume_time_stamp: i64,
    /// How long the next message to consume has waited, ms (0 when the group is caught up).
    pub delay_time: i64,
    pub max_time_stamp: i64,
    pub message_queue: MessageQueue,
    pub min_time_stamp: i64,
}

/// `QUERY_CONSUME_TIME_SPAN` (303) response (`QueryConsumeTimeSpanBody.java`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryConsumeTimeSpanBody {
    pub consume_time_span_set: Vec<QueueTimeSpan>,
}

/// One window of a broker statistic (`BrokerStatsItem.java`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsItem {
    /// Average value per increment (e.g. bytes per message).
    pub avgpt: f64,
    /// The total counted in the window.
    pub sum: i64,
    /// Per second over the window.
    pub tps: f64,
}

/// `VIEW_BROKER_STATS_DATA` (315) response (`BrokerStatsData.java`): a statistic over the last
/// minute, hour and day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsData {
    pub stats_day: BrokerStatsItem,
    pub stats_hour: BrokerStatsItem,
    pub stats_minute: BrokerStatsItem,
}

/// `QUERY_SUBSCRIPTION_BY_CONSUMER` (345) response (`QuerySubscriptionResponseBody.java`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QuerySubscriptionResponseBody {
    pub group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
    pub topic: String,
}

/// A producer as `GET_ALL_PRODUCER_INFO` (328) lists it (`ProducerInfo.java`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerInfo {
    pub client_id: String,
    pub language: LanguageCode,
    pub last_update_timestamp: i64,
    /// Java's spelling: `remoteIP`.
    #[serde(rename = "remoteIP")]
    pub remote_ip: String,
    pub version: i32,
}

/// `GET_ALL_PRODUCER_INFO` (328) response (`ProducerTableInfo.java`): group → producers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerTableInfo {
    pub data: BTreeMap<String, Vec<ProducerInfo>>,
}

json_body!(
    QueryConsumeQueueResponseBody,
    QueryConsumeTimeSpanBody,
    BrokerStatsData,
    QuerySubscriptionResponseBody,
    ProducerTableInfo
);

/// `GET_CONSUMER_STATUS_FROM_CLIENT` (221) response and `INVOKE_BROKER_TO_GET_CONSUMER_STATUS`
/// (223) response (`GetConsumerStatusBody.java`): a client's offsets per queue
/// (`messageQueueTable`), or, in the broker's answer, each client's (`consumerTable`). Queue
/// keys are written as fastjson writes them, inline objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetConsumerStatusBody {
    /// Client id → queue → offset.
    pub consumer_table: BTreeMap<String, MqOffsets>,
    #[serde(with = "mq_map")]
    pub message_queue_table: BTreeMap<MessageQueue, i64>,
}

/// Queue → offset, keyed by fastjson's queue objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MqOffsets(#[serde(with = "mq_map")] pub BTreeMap<MessageQueue, i64>);

impl JsonBody for GetConsumerStatusBody {
    fn decode(bytes: &[u8]) -> Result<Self, BodyError> {
        decode_json(bytes)
    }

    fn encode(&self) -> Vec<u8> {
        use bytes::BufMut;
        fn put_mq_map(out: &mut Vec<u8>, map: &BTreeMap<MessageQueue, i64>) {
            out.put_u8(b'{');
            for (i, (mq, offset)) in map.iter().enumerate() {
                if i > 0 {
                    out.put_u8(b',');
                }
                out.put_slice(mq.to_key().as_bytes());
                out.put_slice(format!(":{offset}").as_bytes());
            }
            out.put_u8(b'}');
        }
        let mut out = b"{\"consumerTable\":{".to_vec();
        for (i, (client, table)) in self.consumer_table.iter().enumerate() {
            if i > 0 {
                out.put_u8(b',');
            }
            crate::remoting::fastjson::put_str(&mut out, client);
            out.put_u8(b':');
            put_mq_map(&mut out, &table.0);
        }
        out.put_slice(b"},\"messageQueueTable\":");
        put_mq_map(&mut out, &self.message_queue_table);
        out.put_u8(b'}');
        out
    }
}

#[cfg(test)]
mod queue_and_stats_body_tests {
    use super::*;

    #[test]
    fn consume_queue_answers_read_like_java() {
        let body = QueryConsumeQueueResponseBody {
            max_queue_index: 3,
            queue_data: Some(vec![ConsumeQueueData {
                physic_offset: 0,
                physic_size: 180,
                tags_code: 2_017,
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(body.encode()).unwrap(),
            r#"{"maxQueueIndex":3,"minQueueIndex":0,"queueData":[{"eval":false,"physicOffset":0,"physicSize":180,"tagsCode":2017}]}"#
        );
        assert_eq!(
            QueryConsumeQueueResponseBody::decode(&body.encode()).unwrap(),
            body
        );
    }

    #[test]
    fn stats_data_and_time_spans_use_java_names() {
        let data = BrokerStatsData {
            stats_minute: BrokerStatsItem {
                sum: 6,
                tps: 0.1,
                avgpt: 1.0,
            },
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(data.encode()).unwrap(),
            r#"{"statsDay":{"avgpt":0.0,"sum":0,"tps":0.0},"statsHour":{"avgpt":0.0,"sum":0,"tps":0.0},"statsMinute":{"avgpt":1.0,"sum":6,"tps":0.1}}"#
        );
        let span = QueryConsumeTimeSpanBody {
            consume_time_span_set: vec![QueueTimeSpan {
                message_queue: MessageQueue::new("t", "b", 0),
                ..Default::default()
            }],
        };
        assert!(String::from_utf8(span.encode())
            .unwrap()
            .contains(r#""messageQueue":{"brokerName":"b","queueId":0,"topic":"t"}"#));
        let producers = ProducerTableInfo {
            data: [(
                "pg".to_string(),
                vec![ProducerInfo {
                    client_id: "c".into(),
                    remote_ip: "127.0.0.1:1".into(),
                    ..Default::default()
                }],
            )]
            .into_iter()
            .collect(),
        };
        assert!(String::from_utf8(producers.encode())
            .unwrap()
            .contains(r#""remoteIP":"127.0.0.1:1""#));
    }

    #[test]
    fn consumer_status_keys_queues_as_fastjson_does() {
        let mq = MessageQueue::new("t", "b", 1);
        let body = GetConsumerStatusBody {
            consumer_table: [(
                "c1".to_string(),
                MqOffsets([(mq.clone(), 7)].into_iter().collect()),
            )]
            .into_iter()
            .collect(),
            message_queue_table: [(mq, 7)].into_iter().collect(),
        };
        let text = String::from_utf8(body.encode()).unwrap();
        assert_eq!(
            text,
            r#"{"consumerTable":{"c1":{{"brokerName":"b","queueId":1,"topic":"t"}:7}},"messageQueueTable":{{"brokerName":"b","queueId":1,"topic":"t"}:7}}"#
        );
        assert_eq!(
            GetConsumerStatusBody::decode(text.as_bytes()).unwrap(),
            body
        );
    }
}

use super::GroupRetryPolicyType;

/// A group's retry policy (`GroupRetryPolicy.java`, `SubscriptionGroupConfig.groupRetryPolicy`):
/// how long a message a consumer sent back waits before its next delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupRetryPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customized_retry_policy: Option<CustomizedRetryPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exponential_retry_policy: Option<ExponentialRetryPolicy>,
    /// Java's default is `CUSTOMIZED`.
    #[serde(
        rename = "type",
        deserialize_with = "lenient_enum",
        skip_serializing_if = "Option::is_none"
    )]
    pub policy_type: Option<GroupRetryPolicyType>,
}

/// `ExponentialRetryPolicy.java`: `min(max, initial * multiplier^reconsumeTimes)`, ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExponentialRetryPolicy {
    pub initial: i64,
    pub max: i64,
    pub multiplier: i64,
}

impl Default for ExponentialRetryPolicy {
    /// Java's: 5 s, doubling, at most 2 h.
    fn default() -> Self {
        Self {
            initial: 5_000,
            max: 7_200_000,
            multiplier: 2,
        }
    }
}

/// `CustomizedRetryPolicy.java`: the delay of each retry, ms; retry n waits `next[n + 2]`
/// (the last entry beyond the end), matching the delay levels `3 + reconsumeTimes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomizedRetryPolicy {
    pub next: Vec<i64>,
}

impl Default for CustomizedRetryPolicy {
    /// Java's: the default delay levels, 1 s 5 s 10 s 30 s 1 m ... 2 h.
    fn default() -> Self {
        const S: i64 = 1_000;
        const M: i64 = 60 * S;
        Self {
            next: vec![
                S,
                5 * S,
                10 * S,
                30 * S,
                M,
                2 * M,
                3 * M,
                4 * M,
                5 * M,
                6 * M,
                7 * M,
                8 * M,
                9 * M,
                10 * M,
                20 * M,
                30 * M,
                60 * M,
                120 * M,
            ],
        }
    }
}

/// A retry policy that computes delays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryPolicy {
    Exponential(ExponentialRetryPolicy),
    Customized(CustomizedRetryPolicy),
}

impl RetryPolicy {
    /// `RetryPolicy.nextDelayDuration`: how long the message waits after `reconsume_times`
    /// failed deliveries, ms (never negative; Java's exponential overflow saturates here).
    pub fn next_delay_ms(&self, reconsume_times: i32) -> i64 {
        let times = reconsume_times.max(0);
        let delay = match self {
            RetryPolicy::Exponential(p) => {
                let times = u32::try_from(times.min(32)).unwrap_or(32);
                p.max
                    .min(p.initial.saturating_mul(p.multiplier.saturating_pow(times)))
            }
            RetryPolicy::Customized(p) => {
                let index = usize::try_from(times)
                    .unwrap_or(0)
                    .saturating_add(2)
                    .min(p.next.len().saturating_sub(1));
                p.next.get(index).copied().unwrap_or(0)
            }
        };
        delay.max(0)
    }
}

impl GroupRetryPolicy {
    /// `GroupRetryPolicy.getRetryPolicy` when the group names a policy of its own; `None` when
    /// it falls back to RocketMQ's default (the customized default, which is the default delay
    /// levels), including a customized policy with no delays.
    pub fn explicit_policy(&self) -> Option<RetryPolicy> {
        match self.policy_type.unwrap_or(GroupRetryPolicyType::Customized) {
            GroupRetryPolicyType::Exponential => {
                self.exponential_retry_policy.map(RetryPolicy::Exponential)
            }
            GroupRetryPolicyType::Customized => self
                .customized_retry_policy
                .clone()
                .filter(|p| !p.next.is_empty())
                .map(RetryPolicy::Customized),
        }
    }
}

impl SubscriptionGroupConfig {
    /// The group's own retry policy, if it names one (see [`GroupRetryPolicy::explicit_policy`]);
    /// an error if `groupRetryPolicy` does not have the policy's shape.
    pub fn retry_policy(&self) -> Result<Option<RetryPolicy>, BodyError> {
        match &self.group_retry_policy {
            None => Ok(None),
            Some(value) => {
                Ok(super::decode_value::<GroupRetryPolicy>(value.clone())?.explicit_policy())
            }
        }
    }
}

#[cfg(test)]
mod retry_policy_tests {
    use super::*;

    fn policy(json: &str) -> Result<Option<RetryPolicy>, BodyError> {
        SubscriptionGroupConfig::decode(
            format!(r#"{{"groupName":"g","groupRetryPolicy":{json}}}"#).as_bytes(),
        )
        .unwrap()
        .retry_policy()
    }

    #[test]
    fn delays_are_computed_as_java_computes_them() {
        let exp = RetryPolicy::Exponential(ExponentialRetryPolicy::default());
        assert_eq!(exp.next_delay_ms(0), 5_000);
        assert_eq!(exp.next_delay_ms(3), 40_000);
        assert_eq!(exp.next_delay_ms(20), 7_200_000);
        assert_eq!(exp.next_delay_ms(-1), 5_000);
        let huge = RetryPolicy::Exponential(ExponentialRetryPolicy {
            initial: 1_000,
            max: i64::MAX,
            multiplier: 10,
        });
        assert_eq!(huge.next_delay_ms(40), i64::MAX, "saturates");
        let custom = RetryPolicy::Customized(CustomizedRetryPolicy::default());
        assert_eq!(custom.next_delay_ms(0), 10_000, "level 3");
        assert_eq!(custom.next_delay_ms(1), 30_000);
        assert_eq!(custom.next_delay_ms(100), 7_200_000);
        let short = RetryPolicy::Customized(CustomizedRetryPolicy { next: vec![7] });
        assert_eq!(short.next_delay_ms(0), 7);
    }

    #[test]
    fn only_a_policy_the_group_names_is_explicit() {
        assert_eq!(policy(r#"{"type":"CUSTOMIZED"}"#).unwrap(), None);
        assert_eq!(policy(r#"{"type":"EXPONENTIAL"}"#).unwrap(), None);
        assert_eq!(
            policy(r#"{"type":"EXPONENTIAL","exponentialRetryPolicy":{"initial":"100","max":1000,"multiplier":3}}"#)
                .unwrap(),
            Some(RetryPolicy::Exponential(ExponentialRetryPolicy {
                initial: 100,
                max: 1_000,
                multiplier: 3
            }))
        );
        assert_eq!(
            policy(r#"{"type":1,"customizedRetryPolicy":{"next":[1,2,3]}}"#).unwrap(),
            Some(RetryPolicy::Customized(CustomizedRetryPolicy {
                next: vec![1, 2, 3]
            }))
        );
        assert!(policy(r#"{"customizedRetryPolicy":{"next":"soon"}}"#).is_err());
    }
}

/// `UPDATE_AND_CREATE_TOPIC_LIST` (18) body (`CreateTopicListRequestBody.java`). Each topic's
/// `attributes` are a modification, keys signed as in `+key=value` / `-key`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateTopicListRequestBody {
    pub topic_config_list: Vec<super::TopicConfig>,
}

/// `UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST` (225) body (`SubscriptionGroupList.java`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupList {
    pub group_config_list: Vec<SubscriptionGroupConfig>,
}

json_body!(CreateTopicListRequestBody, SubscriptionGroupList);

/// `GET_ALL_DELAY_OFFSET` (45): the delay service's progress, delay level → queue offset
/// (`ScheduleMessageService.encode()`: `offsetTable` with fastjson's bare integer keys, and 5.x's
/// `dataVersion`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DelayOffsetSerializeWrapper {
    pub offset_table: BTreeMap<i32, i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_version: Option<super::DataVersion>,
}

impl JsonBody for DelayOffsetSerializeWrapper {
    fn decode(bytes: &[u8]) -> Result<Self, BodyError> {
        decode_json(bytes)
    }
    fn encode(&self) -> Vec<u8> {
        encode_fastjson(self, OFFSET_TABLE)
    }
}

/// `GET_BROKER_HA_STATUS` (907): a broker's replication state (`HARuntimeInfo.java`). A master
/// fills `haConnectionInfo` (one per slave); a slave fills `haClientRuntimeInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HaRuntimeInfo {
    pub master: bool,
    pub master_commit_log_max_offset: i64,
    pub in_sync_slave_nums: i32,
    pub ha_connection_info: Vec<HaConnectionRuntimeInfo>,
    pub ha_client_runtime_info: HaClientRuntimeInfo,
}

/// One slave connection on a master (`HARuntimeInfo.HAConnectionRuntimeInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HaConnectionRuntimeInfo {
    pub addr: String,
    pub slave_ack_offset: i64,
    /// Master max offset − slave ack offset (bytes behind).
    pub diff: i64,
    pub in_sync: bool,
    pub transferred_byte_in_second: i64,
    pub transfer_from_where: i64,
    /// Petrel's addition (absent from RocketMQ's, read as 0): age in ms of the oldest message
    /// the slave has not acknowledged (0 when it holds everything).
    pub behind_millis: i64,
}

/// A slave's connection to its master (`HARuntimeInfo.HAClientRuntimeInfo`; fastjson writes
/// `isActivated()` as `activated`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HaClientRuntimeInfo {
    pub master_addr: String,
    pub transferred_byte_in_second: i64,
    pub max_offset: i64,
    pub last_read_timestamp: i64,
    pub last_write_timestamp: i64,
    pub master_flush_offset: i64,
    pub activated: bool,
}

json_body!(HaRuntimeInfo);

#[cfg(test)]
mod replication_body_tests {
    use super::*;

    #[test]
    fn delay_offsets_are_written_with_bare_keys_and_read_back() {
        let body = DelayOffsetSerializeWrapper {
            offset_table: BTreeMap::from([(1, 250), (3, 7)]),
            data_version: None,
        };
        let bytes = body.encode();
        assert_eq!(bytes, br#"{"offsetTable":{1:250,3:7}}"#.to_vec());
        assert_eq!(DelayOffsetSerializeWrapper::decode(&bytes).unwrap(), body);
    }

    #[test]
    fn ha_runtime_info_reads_apache_field_names() {
        let json = br#"{"master":false,"masterCommitLogMaxOffset":0,"inSyncSlaveNums":0,
            "haConnectionInfo":[],"haClientRuntimeInfo":{"masterAddr":"10.0.0.1:10912",
            "maxOffset":4096,"lastReadTimestamp":1,"lastWriteTimestamp":2,"masterFlushOffset":4096,
            "activated":true,"transferredByteInSecond":0}}"#;
        let info = HaRuntimeInfo::decode(json).unwrap();
        assert!(info.ha_client_runtime_info.activated);
        assert_eq!(info.ha_client_runtime_info.max_offset, 4096);
    }
}
