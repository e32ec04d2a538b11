//! Routes: `GET_ROUTEINFO_BY_TOPIC` (105), `GET_BROKER_CLUSTER_INFO` (106) and
//! `GET_BROKER_MEMBER_GROUP` (901) bodies (`TopicRouteData.java`, `QueueData.java`,
//! `BrokerData.java`, `ClusterInfo.java`, `BrokerMemberGroup.java`,
//! `GetBrokerMemberGroupResponseBody.java`).
//!
//! `brokerAddrs` maps broker ids (0 = master) to addresses. fastjson writes those integer keys
//! bare (`{0:"10.0.0.1:10911"}`), which is not JSON; the name server sends that legacy form to
//! clients older than 4.9.4 that did not ask for standard JSON, and standard JSON to the rest
//! (§2.1). Both `encode_*` forms are provided; `decode` reads either.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{decode_json, encode_fastjson, encode_json, BodyError, JsonBody};

/// The maps whose keys fastjson writes bare.
const BROKER_ADDRS: &[&str] = &["brokerAddrs"];

/// Where a topic lives: its queues per broker and the brokers' addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    pub broker_datas: Vec<BrokerData>,
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `brokerName:queueNum;...` for ordered topics, from the name server's KV config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    pub queue_datas: Vec<QueueData>,
    /// 5.x static topics; passed through untouched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_by_broker: Option<serde_json::Value>,
}

/// A topic's queues on one broker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    pub broker_name: String,
    /// `PermName` bits: 4 read, 2 write, 1 inherit, 8 priority.
    pub perm: i32,
    pub read_queue_nums: i32,
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

/// One broker group (a master and its slaves).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// Broker id (0 = master, ≥ 1 slaves) → `ip:port`.
    pub broker_addrs: BTreeMap<i64, String>,
    pub broker_name: String,
    pub cluster: String,
    pub enable_acting_master: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// The master's address, if the master is registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&0).map(String::as_str)
    }
}

/// `GET_BROKER_CLUSTER_INFO`: every broker group and which cluster holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

/// The brokers of one broker name (a master and its slaves), as the name server knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerMemberGroup {
    /// Broker id (0 = master) → `ip:port`.
    pub broker_addrs: BTreeMap<i64, String>,
    pub broker_name: String,
    pub cluster: String,
}

/// `GET_BROKER_MEMBER_GROUP`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetBrokerMemberGroupResponseBody {
    pub broker_member_group: BrokerMemberGroup,
}

macro_rules! route_body {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// Standard JSON (`"0":"addr"`), for clients ≥ 4.9.4 or that asked for it.
            pub fn encode_standard(&self) -> Vec<u8> {
                encode_json(self)
            }

            /// fastjson's default form (`0:"addr"`), for older clients.
            pub fn encode_legacy(&self) -> Vec<u8> {
                encode_fastjson(self, BROKER_ADDRS)
            }
        }

        /// `decode` accepts both forms; `encode` is the standard form.
        impl JsonBody for $ty {
            fn decode(bytes: &[u8]) -> Result<Self, BodyError> {
                decode_json(bytes)
            }
            fn encode(&self) -> Vec<u8> {
                self.encode_standard()
            }
        }
    )*};
}

route_body!(
    TopicRouteData,
    ClusterInfo,
    GetBrokerMemberGroupResponseBody
);

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> TopicRouteData {
        TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: [
                    (0, "127.0.0.1:10911".to_string()),
                    (1, "127.0.0.2:10911".into()),
                ]
                .into_iter()
                .collect(),
                broker_name: "broker-a".into(),
                cluster: "DefaultCluster".into(),
                enable_acting_master: false,
                zone_name: None,
            }],
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 4,
                topic_sys_flag: 0,
                write_queue_nums: 4,
            }],
            ..TopicRouteData::default()
        }
    }

    #[test]
    fn writes_both_route_forms() {
        let standard = String::from_utf8(route().encode_standard()).unwrap();
        assert_eq!(
            standard,
            r#"{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911","1":"127.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
        let legacy = String::from_utf8(route().encode_legacy()).unwrap();
        assert_eq!(
            legacy,
            standard.replace("\"0\":", "0:").replace("\"1\":", "1:")
        );
        assert_eq!(
            TopicRouteData::decode(standard.as_bytes()).unwrap(),
            route()
        );
        assert_eq!(TopicRouteData::decode(legacy.as_bytes()).unwrap(), route());
    }

    #[test]
    fn reads_a_java_legacy_route_with_nulls() {
        let java = br#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"b","cluster":"c","zoneName":null}],"orderTopicConf":null,"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#;
        let route = TopicRouteData::decode(java).unwrap();
        assert_eq!(route.broker_datas[0].master_addr(), Some("10.0.0.1:10911"));
        assert_eq!(route.order_topic_conf, None);
    }

    #[test]
    fn cluster_info_round_trips_in_both_forms() {
        let info = ClusterInfo {
            broker_addr_table: [("broker-a".to_string(), route().broker_datas[0].clone())]
                .into_iter()
                .collect(),
            cluster_addr_table: [(
                "DefaultCluster".to_string(),
                ["broker-a".to_string()].into_iter().collect(),
            )]
            .into_iter()
            .collect(),
        };
        assert_eq!(ClusterInfo::decode(&info.encode_legacy()).unwrap(), info);
        assert_eq!(ClusterInfo::decode(&info.encode_standard()).unwrap(), info);
    }
}
