//! JSON bodies: every type round-trips, Java's own output decodes, bad input is a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use std::collections::BTreeMap;

use petrel_protocol::remoting::body::*;
use petrel_protocol::remoting::LanguageCode;
use proptest::prelude::*;

fn round_trip<T: JsonBody + PartialEq + std::fmt::Debug>(value: &T) {
    let encoded = value.encode();
    let decoded = T::decode(&encoded).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\n{}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(&encoded)
        )
    });
    assert_eq!(&decoded, value);
    assert_eq!(
        decoded.encode(),
        encoded,
        "decode-then-encode changed the bytes"
    );
}

fn subscription(topic: &str) -> SubscriptionData {
    SubscriptionData {
        class_filter_mode: false,
        code_set: [2_598_919].into_iter().collect(),
        expression_type: "TAG".into(),
        sub_string: "TagA".into(),
        sub_version: 1_700_000_000_000,
        tags_set: ["TagA".to_string()].into_iter().collect(),
        topic: topic.into(),
    }
}

fn broker_data() -> BrokerData {
    BrokerData {
        broker_addrs: [
            (0, "10.0.0.1:10911".to_string()),
            (1, "10.0.0.2:10911".into()),
        ]
        .into_iter()
        .collect(),
        broker_name: "broker-a".into(),
        cluster: "DefaultCluster".into(),
        enable_acting_master: true,
        zone_name: Some("zone-1".into()),
    }
}

fn data_version() -> DataVersion {
    DataVersion {
        counter: 3,
        state_version: 0,
        timestamp: 1_635_732_910_223,
    }
}

fn topic_config() -> TopicConfig {
    TopicConfig {
        attributes: [("+message.type".to_string(), "NORMAL".to_string())]
            .into_iter()
            .collect(),
        order: true,
        perm: 6,
        read_queue_nums: 8,
        topic_filter_type: TopicFilterType::MultiTag,
        topic_name: "TopicTest".into(),
        topic_sys_flag: 0,
        write_queue_nums: 8,
    }
}

fn connection() -> Connection {
    Connection {
        client_addr: "127.0.0.1:50000".into(),
        client_id: "127.0.0.1@1".into(),
        language: LanguageCode::Cpp,
        version: 401,
    }
}

#[test]
fn every_body_type_round_trips() {
    round_trip(&HeartbeatData {
        client_id: "127.0.0.1@1".into(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: Some(ConsumeFromWhere::ConsumeFromTimestamp),
            consume_type: Some(ConsumeType::ConsumePop),
            group_name: "cg".into(),
            message_model: Some(MessageModel::Broadcasting),
            subscription_data_set: vec![subscription("t")],
            unit_mode: true,
        }],
        heartbeat_fingerprint: 17,
        producer_data_set: vec![ProducerData {
            group_name: "pg".into(),
        }],
        without_sub: true,
    });
    let lock = LockBatchRequestBody {
        client_id: "c".into(),
        consumer_group: "g".into(),
        mq_set: [
            MessageQueue::new("t", "b", 0),
            MessageQueue::new("t", "b", 1),
        ]
        .into_iter()
        .collect(),
        only_this_broker: true,
    };
    round_trip(&lock);
    round_trip::<UnlockBatchRequestBody>(&lock);
    round_trip(&LockBatchResponseBody {
        lock_ok_mq_set: lock.mq_set.clone(),
    });
    round_trip(&ConsumerListByGroupResponseBody {
        consumer_id_list: vec!["a".into(), "b".into()],
    });
    let route = TopicRouteData {
        broker_datas: vec![broker_data()],
        filter_server_table: BTreeMap::new(),
        order_topic_conf: Some("broker-a:4".into()),
        queue_datas: vec![QueueData {
            broker_name: "broker-a".into(),
            perm: 6,
            read_queue_nums: 4,
            topic_sys_flag: 0,
            write_queue_nums: 4,
        }],
        topic_queue_mapping_by_broker: Some(serde_json::json!({"broker-a": {"bname": "broker-a"}})),
    };
    round_trip(&route);
    assert_eq!(
        TopicRouteData::decode(&route.encode_legacy()).unwrap(),
        route
    );
    let cluster = ClusterInfo {
        broker_addr_table: [("broker-a".to_string(), broker_data())]
            .into_iter()
            .collect(),
        cluster_addr_table: [(
            "DefaultCluster".to_string(),
            ["broker-a".to_string()].into_iter().collect(),
        )]
        .into_iter()
        .collect(),
    };
    round_trip(&cluster);
    assert_eq!(
        ClusterInfo::decode(&cluster.encode_legacy()).unwrap(),
        cluster
    );
    round_trip(&TopicList {
        broker_addr: Some("10.0.0.1:10911".into()),
        topic_list: ["a".to_string(), "b".to_string()].into_iter().collect(),
    });
    let wrapper = TopicConfigSerializeWrapper {
        data_version: data_version(),
        mapping_data_version: Some(data_version()),
        topic_config_table: [("TopicTest".to_string(), topic_config())]
            .into_iter()
            .collect(),
        topic_queue_mapping_detail_map: Some(serde_json::json!({})),
        topic_queue_mapping_info_map: Some(serde_json::json!({})),
    };
    round_trip(&wrapper);
    round_trip(&RegisterBrokerBody {
        filter_server_list: vec!["10.0.0.3:30000".into()],
        topic_config_serialize_wrapper: wrapper,
    });
    round_trip(&topic_config());
    round_trip(&data_version());
    round_trip(&ConsumeStats {
        consume_tps: 12.25,
        offset_table: [
            (
                MessageQueue::new("t", "b", 0),
                OffsetWrapper {
                    broker_offset: 100,
                    consumer_offset: 90,
                    last_timestamp: 1_700_000_000_000,
                    pull_offset: 95,
                },
            ),
            (MessageQueue::new("t", "b", 1), OffsetWrapper::default()),
        ]
        .into_iter()
        .collect(),
    });
    round_trip(&TopicStatsTable {
        offset_table: [(
            MessageQueue::new("t", "b", 0),
            TopicOffset {
                last_update_timestamp: 1,
                max_offset: 10,
                min_offset: 2,
            },
        )]
        .into_iter()
        .collect(),
        topic_put_tps: 0.0,
    });
    round_trip(&ConsumerConnection {
        connection_set: vec![connection()],
        consume_from_where: Some(ConsumeFromWhere::ConsumeFromLastOffset),
        consume_type: Some(ConsumeType::ConsumePassively),
        message_model: Some(MessageModel::Clustering),
        subscription_table: [("t".to_string(), subscription("t"))].into_iter().collect(),
    });
    round_trip(&ProducerConnection {
        connection_set: vec![connection()],
    });
    round_trip(&KVTable {
        table: [("k".to_string(), "v".to_string())].into_iter().collect(),
    });
    round_trip(&SubscriptionGroupConfig {
        group_name: "cg".into(),
        group_retry_policy: Some(serde_json::json!({"type": "CUSTOMIZED"})),
        subscription_data_set: Some(vec![SimpleSubscriptionData {
            expression: "*".into(),
            expression_type: "TAG".into(),
            topic: "t".into(),
            version: 1,
        }]),
        ..SubscriptionGroupConfig::default()
    });
}

#[test]
fn kv_table_matches_java() {
    let table = KVTable {
        table: [("broker-a".to_string(), "4".to_string())]
            .into_iter()
            .collect(),
    };
    assert_eq!(table.encode(), br#"{"table":{"broker-a":"4"}}"#.to_vec());
}

#[test]
fn bad_bodies_are_typed_errors() {
    assert!(matches!(
        HeartbeatData::decode(b"{\"clientID\":"),
        Err(BodyError::Syntax(_))
    ));
    assert!(matches!(
        HeartbeatData::decode(b"\xff\xfe"),
        Err(BodyError::Syntax(_))
    ));
    assert!(matches!(
        HeartbeatData::decode(br#"{"consumerDataSet":"not a list"}"#),
        Err(BodyError::Shape { .. })
    ));
    assert!(matches!(
        ConsumeStats::decode(br#"{"offsetTable":{"not a queue":{}}}"#),
        Err(BodyError::Shape { .. })
    ));
    assert!(matches!(
        TopicRouteData::decode(br#"{"brokerDatas":[{"brokerAddrs":{x:"a"}}]}"#),
        Err(BodyError::Shape { .. })
    ));
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_%-]{0,12}"
}

proptest! {
    #[test]
    fn routes_round_trip_in_both_forms(
        addrs in prop::collection::btree_map(any::<i64>(), ".{0,20}", 0..4),
        broker_name in name(),
        cluster in name(),
        queues in prop::collection::vec((name(), any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()), 0..4),
        order_topic_conf in proptest::option::of(".{0,20}"),
    ) {
        let route = TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: addrs,
                broker_name,
                cluster,
                enable_acting_master: false,
                zone_name: None,
            }],
            order_topic_conf,
            queue_datas: queues
                .into_iter()
                .map(|(broker_name, perm, read_queue_nums, topic_sys_flag, write_queue_nums)| QueueData {
                    broker_name, perm, read_queue_nums, topic_sys_flag, write_queue_nums,
                })
                .collect(),
            ..TopicRouteData::default()
        };
        prop_assert_eq!(TopicRouteData::decode(&route.encode_standard()).unwrap(), route.clone());
        prop_assert_eq!(TopicRouteData::decode(&route.encode_legacy()).unwrap(), route);
    }

    #[test]
    fn stats_tables_round_trip(
        entries in prop::collection::vec((".{0,12}", ".{0,12}", any::<i32>(), any::<i64>(), any::<i64>(), any::<i64>()), 0..5),
        tps in -1.0e9f64..1.0e9,
    ) {
        let table = TopicStatsTable {
            offset_table: entries
                .into_iter()
                .map(|(topic, broker, queue_id, min_offset, max_offset, last_update_timestamp)| {
                    (MessageQueue::new(topic, broker, queue_id),
                     TopicOffset { last_update_timestamp, max_offset, min_offset })
                })
                .collect(),
            topic_put_tps: tps,
        };
        prop_assert_eq!(TopicStatsTable::decode(&table.encode()).unwrap(), table);
    }

    #[test]
    fn body_decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = HeartbeatData::decode(&bytes);
        let _ = TopicRouteData::decode(&bytes);
        let _ = ConsumeStats::decode(&bytes);
        let _ = RegisterBrokerBody::decode(&bytes);
    }

    #[test]
    fn fastjson_text_decoding_never_panics(text in r#"[{}\[\]:,"'0-9a-z \\-]{0,64}"#) {
        let _ = petrel_protocol::remoting::fastjson::parse(text.as_bytes());
        let _ = ClusterInfo::decode(text.as_bytes());
    }
}
