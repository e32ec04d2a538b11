//! Topic configuration and broker registration: `TopicConfig.java`, `DataVersion.java`,
//! `TopicConfigSerializeWrapper.java` (+ the 5.x `TopicConfigAndMappingSerializeWrapper`),
//! `RegisterBrokerBody.java`, `TopicList.java`, `KVTable.java`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{decode_json, encode_json, json_body, BodyError, JsonBody, TopicFilterType};

/// A topic's configuration on a broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    /// 5.x topic attributes, e.g. `message.type` → `NORMAL`.
    pub attributes: BTreeMap<String, String>,
    pub order: bool,
    /// `PermName` bits; Java's default is 6 (read + write).
    pub perm: i32,
    pub read_queue_nums: i32,
    pub topic_filter_type: TopicFilterType,
    pub topic_name: String,
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

impl Default for TopicConfig {
    /// Java's defaults: 16 read and 16 write queues, perm 6, single tag.
    fn default() -> Self {
        TopicConfig {
            attributes: BTreeMap::new(),
            order: false,
            perm: 6,
            read_queue_nums: 16,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: 16,
        }
    }
}

/// A version stamp for a broker's or name server's metadata. Java keeps `counter` in an
/// `AtomicLong`, which fastjson writes as a plain number (`{"counter":3,...}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    pub counter: i64,
    /// 5.x controller mode; 0 otherwise.
    pub state_version: i64,
    /// When the version was made, epoch ms.
    pub timestamp: i64,
}

/// A broker's topic table (`topics.json`, and the core of a registration). The 5.x static
/// topic mapping fields are carried through untouched when present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigSerializeWrapper {
    pub data_version: DataVersion,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping_data_version: Option<DataVersion>,
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_detail_map: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_info_map: Option<serde_json::Value>,
}

/// `REGISTER_BROKER` (103) body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    pub filter_server_list: Vec<String>,
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

impl RegisterBrokerBody {
    /// Decodes a body whose request header says whether it is `compressed`. The compressed
    /// form (a deflated binary layout 4.9.4+/5.x brokers send when `compressedRegister` is on)
    /// is not read by this codec.
    pub fn decode_with(bytes: &[u8], compressed: bool) -> Result<Self, BodyError> {
        if compressed {
            return Err(BodyError::Unsupported(
                "compressed RegisterBrokerBody (set compressedRegister=false on the broker)",
            ));
        }
        decode_json(bytes)
    }
}

/// Topic names (`GET_ALL_TOPIC_LIST_FROM_NAMESERVER`, `GET_TOPICS_BY_CLUSTER`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    pub topic_list: BTreeSet<String>,
}

/// A namespace of the name server's KV config (`GET_KVLIST_BY_NAMESPACE`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KVTable {
    pub table: BTreeMap<String, String>,
}

json_body!(
    TopicConfigSerializeWrapper,
    TopicList,
    KVTable,
    TopicConfig,
    DataVersion
);

/// Reads the JSON form; see [`RegisterBrokerBody::decode_with`] for compressed bodies.
impl JsonBody for RegisterBrokerBody {
    fn decode(bytes: &[u8]) -> Result<Self, BodyError> {
        RegisterBrokerBody::decode_with(bytes, false)
    }
    fn encode(&self) -> Vec<u8> {
        encode_json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_java_registration() {
        let body = br#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":3,"stateVersion":0,"timestamp":1635732910223},"topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}}}}"#;
        let registration = RegisterBrokerBody::decode(body).unwrap();
        let wrapper = &registration.topic_config_serialize_wrapper;
        assert_eq!(wrapper.data_version.counter, 3);
        assert_eq!(wrapper.topic_config_table["TopicTest"].read_queue_nums, 4);
        assert_eq!(registration.encode(), body.to_vec());
        assert!(matches!(
            RegisterBrokerBody::decode_with(body, true),
            Err(BodyError::Unsupported(_))
        ));
    }

    #[test]
    fn topic_config_defaults_match_java() {
        let config = TopicConfig::decode(br#"{"topicName":"t","topicFilterType":1}"#).unwrap();
        assert_eq!(config.perm, 6);
        assert_eq!(config.read_queue_nums, 16);
        assert_eq!(config.topic_filter_type, TopicFilterType::MultiTag);
    }

    #[test]
    fn topic_list_omits_a_null_broker_addr() {
        let list = TopicList {
            broker_addr: None,
            topic_list: ["a".to_string(), "b".to_string()].into_iter().collect(),
        };
        assert_eq!(list.encode(), br#"{"topicList":["a","b"]}"#.to_vec());
        assert_eq!(
            TopicList::decode(br#"{"brokerAddr":null,"topicList":["b","a"]}"#).unwrap(),
            list
        );
    }
}
