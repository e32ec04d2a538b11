//! Admin requests (what mqadmin and the dashboard send) against a broker on 127.0.0.1: consumer
//! lag, queue stats, connections, subscription groups, runtime info and config.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use bytes::Bytes;
use petrel_protocol::remoting::body::{
    ConsumeFromWhere, ConsumeStats, ConsumeStatsList, ConsumeType, ConsumerConnection,
    ConsumerData, ConsumerOffsetSerializeWrapper, DataVersion, GroupList, HeartbeatData, JsonBody,
    KVTable, MessageModel, MessageQueue, ProducerConnection, ProducerData, SubscriptionData,
    SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicConfig, TopicList, TopicStatsTable,
};
use petrel_protocol::remoting::header::*;
use petrel_protocol::remoting::{
    request_code as rc, response_code as code, LanguageCode, RemotingCommand, CURRENT_VERSION,
};
use petrel_remoting::RemotingClient;
use support::{call, props, pull, running, send_v1, wait_visible, T};

/// A Java push consumer's heartbeat: it subscribes to its topic and to its retry topic.
fn heartbeat(client_id: &str, group: &str, producer_group: &str) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            consume_type: Some(ConsumeType::ConsumePassively),
            message_model: Some(MessageModel::Clustering),
            consume_from_where: Some(ConsumeFromWhere::ConsumeFromFirstOffset),
            subscription_data_set: ["Orders".to_string(), format!("%RETRY%{group}")]
                .into_iter()
                .map(|topic| SubscriptionData {
                    topic,
                    sub_string: "*".into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        producer_data_set: vec![ProducerData {
            group_name: producer_group.into(),
        }],
        ..Default::default()
    };
    RemotingCommand::request(rc::HEART_BEAT).with_body(data.encode())
}

fn commit(group: &str, topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        commit_offset: offset,
        ..Default::default()
    };
    RemotingCommand::request(rc::UPDATE_CONSUMER_OFFSET).with_header(&header)
}

async fn consume_stats(
    client: &RemotingClient,
    addr: &str,
    group: &str,
    topic: Option<&str>,
) -> ConsumeStats {
    let header = GetConsumeStatsRequestHeader {
        consumer_group: group.into(),
        topic: topic.map(str::to_string),
        ..Default::default()
    };
    let r = call(
        client,
        addr,
        RemotingCommand::request(rc::GET_CONSUME_STATS).with_header(&header),
    )
    .await;
    ConsumeStats::decode(&r.body).unwrap()
}

#[tokio::test]
async fn consume_stats_show_lag_before_and_after_a_commit() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    let before_send = petrel_broker::clock::now_ms();
    for i in 0..5 {
        call(
            &client,
            &addr,
            send_v1("Orders", 0, &format!("m{i}"), &props(&[("TAGS", "A")])),
        )
        .await;
    }
    call(
        &client,
        &addr,
        send_v1("Orders", 1, "other", &props(&[("TAGS", "A")])),
    )
    .await;
    wait_visible(&client, &addr, "Orders", 0, 5).await;
    wait_visible(&client, &addr, "Orders", 1, 1).await;
    call(&client, &addr, heartbeat("client-1", "cg", "pg")).await;
    let q0 = MessageQueue::new("Orders", "broker-a", 0);
    let q1 = MessageQueue::new("Orders", "broker-a", 1);

    // Nothing committed yet: the whole queue is lag.
    let stats = consume_stats(&client, &addr, "cg", Some("Orders")).await;
    assert_eq!(stats.offset_table.len(), 4, "{stats:?}");
    let o = stats.offset_table[&q0];
    assert_eq!(
        (o.broker_offset, o.consumer_offset, o.pull_offset),
        (5, 0, 0)
    );
    assert_eq!(o.last_timestamp, 0);
    assert_eq!(stats.consume_tps, 0.0, "nothing pulled yet");

    // A pull moves the pull offset; a commit moves the consumer offset.
    call(&client, &addr, pull("cg", "Orders", 0, 0, 0, "*")).await;
    call(&client, &addr, commit("cg", "Orders", 0, 2)).await;
    call(&client, &addr, commit("cg", "%RETRY%cg", 0, 0)).await;
    // Without a topic: every topic the group has offsets on, its retry topic included.
    let stats = consume_stats(&client, &addr, "cg", None).await;
    let o = stats.offset_table[&q0];
    assert_eq!(
        (o.broker_offset, o.consumer_offset, o.pull_offset),
        (5, 2, 5)
    );
    // The pull of 5 messages is the last minute's consume rate (GROUP_GET_NUMS).
    assert!(stats.consume_tps > 0.0, "{stats:?}");
    assert!(o.last_timestamp >= before_send, "{o:?}");
    assert_eq!(
        o.broker_offset - o.consumer_offset,
        3,
        "lag after committing 2 of 5"
    );
    let o1 = stats.offset_table[&q1];
    assert_eq!((o1.broker_offset, o1.consumer_offset), (1, 0));
    assert!(stats
        .offset_table
        .contains_key(&MessageQueue::new("%RETRY%cg", "broker-a", 0)));
    // Java's encoding of the body: queues as inline object keys.
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_CONSUME_STATS).with_header(
            &GetConsumeStatsRequestHeader {
                consumer_group: "cg".into(),
                topic_list: Some("Orders;".into()),
                ..Default::default()
            },
        ),
    )
    .await;
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(
        text.contains(r#"{"brokerName":"broker-a","queueId":0,"topic":"Orders"}:{"brokerOffset":5,"consumerOffset":2,"#),
        "{text}"
    );
    assert!(!text.contains("%RETRY%"), "topicList limits the topics");

    // Topic stats: min/max per queue and the newest message's store time.
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_TOPIC_STATS_INFO).with_header(
            &GetTopicStatsInfoRequestHeader {
                topic: "Orders".into(),
                ..Default::default()
            },
        ),
    )
    .await;
    let table = TopicStatsTable::decode(&r.body).unwrap();
    assert_eq!(table.offset_table.len(), 4);
    // 6 messages stored in the last minute (TOPIC_PUT_NUMS).
    assert!(table.topic_put_tps > 0.0, "{table:?}");
    let t0 = table.offset_table[&q0];
    assert_eq!((t0.min_offset, t0.max_offset), (0, 5));
    assert!(t0.last_update_timestamp >= before_send);
    assert_eq!(table.offset_table[&q1].max_offset, 1);
    let t3 = table.offset_table[&MessageQueue::new("Orders", "broker-a", 3)];
    assert_eq!(
        (t3.min_offset, t3.max_offset, t3.last_update_timestamp),
        (0, 0, 0)
    );
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::GET_TOPIC_STATS_INFO).with_header(
                &GetTopicStatsInfoRequestHeader {
                    topic: "NoSuchTopic".into(),
                    ..Default::default()
                },
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::TOPIC_NOT_EXIST);

    // Who consumes Orders, and what does cg consume.
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::QUERY_TOPIC_CONSUME_BY_WHO).with_header(
            &QueryTopicConsumeByWhoRequestHeader {
                topic: "Orders".into(),
                ..Default::default()
            },
        ),
    )
    .await;
    let groups = GroupList::decode(&r.body).unwrap().group_list;
    assert_eq!(
        groups.into_iter().collect::<Vec<_>>(),
        vec!["cg".to_string()]
    );
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::QUERY_TOPICS_BY_CONSUMER).with_header(
            &QueryTopicsByConsumerRequestHeader {
                group: "cg".into(),
                ..Default::default()
            },
        ),
    )
    .await;
    let topics = TopicList::decode(&r.body).unwrap();
    assert_eq!(topics.broker_addr.as_deref(), Some(addr.as_str()));
    assert_eq!(
        topics.topic_list.into_iter().collect::<Vec<_>>(),
        vec!["%RETRY%cg".to_string(), "Orders".to_string()]
    );

    // Every offset, with fastjson's bare queue ids.
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_ALL_CONSUMER_OFFSET),
    )
    .await;
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(text.contains(r#""Orders@cg":{0:2}"#), "{text}");
    let offsets = ConsumerOffsetSerializeWrapper::decode(&r.body).unwrap();
    assert_eq!(offsets.offset_table["Orders@cg"][&0], 2);

    // The whole broker's consumption.
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_BROKER_CONSUME_STATS)
            .with_header(&GetConsumeStatsInBrokerHeader { is_order: false }),
    )
    .await;
    let list = ConsumeStatsList::decode(&r.body).unwrap();
    assert_eq!(list.broker_addr.as_deref(), Some(addr.as_str()));
    let cg = list
        .consume_stats_list
        .iter()
        .find_map(|m| m.get("cg"))
        .expect("cg is listed");
    assert_eq!(cg.len(), 2, "Orders and %RETRY%cg");
    // Orders: 3 behind on queue 0, 1 on queue 1; the retry topic is empty.
    assert_eq!(list.total_diff, 4);
    assert_eq!(list.total_inflight_diff, 3);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn connection_lists_show_heartbeat_registered_clients() {
    let (broker, addr, client, _dir) = running(|_| {}).await;

    // Nobody yet.
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::GET_CONSUMER_CONNECTION_LIST).with_header(
                &GetConsumerConnectionListRequestHeader {
                    consumer_group: "cg".into(),
                    ..Default::default()
                },
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::CONSUMER_NOT_ONLINE);
    assert_eq!(
        r.remark.as_deref(),
        Some("the consumer group[cg] not online")
    );
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::GET_PRODUCER_CONNECTION_LIST).with_header(
                &GetProducerConnectionListRequestHeader {
                    producer_group: "pg".into(),
                    ..Default::default()
                },
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("the producer group[pg] not exist")
    );

    call(&client, &addr, heartbeat("10.0.0.7@4242", "cg", "pg")).await;

    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_CONSUMER_CONNECTION_LIST).with_header(
            &GetConsumerConnectionListRequestHeader {
                consumer_group: "cg".into(),
                ..Default::default()
            },
        ),
    )
    .await;
    let consumers = ConsumerConnection::decode(&r.body).unwrap();
    assert_eq!(consumers.connection_set.len(), 1);
    let c = &consumers.connection_set[0];
    assert_eq!(c.client_id, "10.0.0.7@4242");
    assert!(c.client_addr.starts_with("127.0.0.1:"), "{}", c.client_addr);
    assert_eq!(
        (c.language, c.version),
        (LanguageCode::Java, CURRENT_VERSION)
    );
    assert_eq!(consumers.consume_type, Some(ConsumeType::ConsumePassively));
    assert_eq!(consumers.message_model, Some(MessageModel::Clustering));
    assert_eq!(
        consumers.consume_from_where,
        Some(ConsumeFromWhere::ConsumeFromFirstOffset)
    );
    assert_eq!(
        consumers.subscription_table.keys().collect::<Vec<_>>(),
        vec!["%RETRY%cg", "Orders"]
    );
    assert_eq!(consumers.subscription_table["Orders"].sub_string, "*");
    // Enums travel by name, as Java writes them.
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(
        text.contains(r#""consumeType":"CONSUME_PASSIVELY""#),
        "{text}"
    );

    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_PRODUCER_CONNECTION_LIST).with_header(
            &GetProducerConnectionListRequestHeader {
                producer_group: "pg".into(),
                ..Default::default()
            },
        ),
    )
    .await;
    let producers = ProducerConnection::decode(&r.body).unwrap();
    assert_eq!(producers.connection_set.len(), 1);
    assert_eq!(producers.connection_set[0].client_id, "10.0.0.7@4242");
    assert_eq!(
        producers.connection_set[0].client_addr,
        consumers.connection_set[0].client_addr
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn subscription_groups_are_created_read_listed_and_deleted() {
    let (broker, addr, client, _dir) = running(|c| c.auto_create_subscription_group = false).await;
    let get = |group: &str| {
        RemotingCommand::request(rc::GET_SUBSCRIPTIONGROUP_CONFIG).with_header(
            &GetSubscriptionGroupConfigRequestHeader {
                group: group.into(),
                ..Default::default()
            },
        )
    };

    let r = client.invoke(&addr, get("billing"), T).await.unwrap();
    assert_eq!(r.code, code::SUBSCRIPTION_GROUP_NOT_EXIST);

    let config = SubscriptionGroupConfig {
        group_name: "billing".into(),
        retry_max_times: 3,
        consume_message_orderly: true,
        ..Default::default()
    };
    call(
        &client,
        &addr,
        RemotingCommand::request(rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(config.encode()),
    )
    .await;
    let r = call(&client, &addr, get("billing")).await;
    assert_eq!(SubscriptionGroupConfig::decode(&r.body).unwrap(), config);

    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
    )
    .await;
    let all = SubscriptionGroupWrapper::decode(&r.body).unwrap();
    assert_eq!(all.subscription_group_table["billing"], config);
    assert!(all.data_version.counter > 0);
    let total = r
        .decode_header::<GetAllSubscriptionGroupResponseHeader>()
        .unwrap()
        .total_group_num;
    assert_eq!(total as usize, all.subscription_group_table.len());

    // A bad name is refused, as RocketMQ 5.x refuses it.
    let bad = SubscriptionGroupConfig {
        group_name: "bad group".into(),
        ..Default::default()
    };
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(bad.encode()),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::INVALID_PARAMETER, "{:?}", r.remark);
    assert!(r.remark.unwrap().contains("bad group"));

    // Delete with cleanOffset: the config and the offsets go.
    call(
        &client,
        &addr,
        send_v1("Orders", 0, "m", &props(&[("TAGS", "A")])),
    )
    .await;
    call(&client, &addr, commit("billing", "Orders", 0, 1)).await;
    assert_eq!(
        broker.inner().offsets.query("billing", "Orders", 0),
        Some(1)
    );
    call(
        &client,
        &addr,
        RemotingCommand::request(rc::DELETE_SUBSCRIPTIONGROUP).with_header(
            &DeleteSubscriptionGroupRequestHeader {
                group_name: "billing".into(),
                clean_offset: true,
                ..Default::default()
            },
        ),
    )
    .await;
    let r = client.invoke(&addr, get("billing"), T).await.unwrap();
    assert_eq!(r.code, code::SUBSCRIPTION_GROUP_NOT_EXIST);
    assert_eq!(broker.inner().offsets.query("billing", "Orders", 0), None);
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
    )
    .await;
    let all = SubscriptionGroupWrapper::decode(&r.body).unwrap();
    assert!(!all.subscription_group_table.contains_key("billing"));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn runtime_info_config_and_topic_config_describe_the_broker() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    call(
        &client,
        &addr,
        send_v1("Orders", 0, "hello", &props(&[("TAGS", "A")])),
    )
    .await;
    wait_visible(&client, &addr, "Orders", 0, 1).await;

    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_BROKER_RUNTIME_INFO),
    )
    .await;
    let info = KVTable::decode(&r.body).unwrap().table;
    let num = |key: &str| -> i64 {
        info.get(key)
            .unwrap_or_else(|| panic!("{key} missing"))
            .parse()
            .unwrap()
    };
    assert!(num("commitLogMaxOffset") > 0);
    assert_eq!(num("commitLogMinOffset"), 0);
    assert_eq!(num("msgPutTotalTodayNow"), 1);
    assert_eq!(num("msgPutTotalTodayMorning"), 0);
    assert!(num("earliestMessageTimeStamp") > 0);
    assert_eq!(num("dispatchBehindBytes"), 0);
    // One token, as Apache's (`mqadmin clusterList` splits its rows by whitespace); Petrel's
    // own version has a key of its own.
    assert_eq!(info["brokerVersionDesc"], "V5_3_3");
    assert!(info["petrelVersion"].starts_with("Petrel "));
    assert_eq!(num("brokerVersion"), i64::from(CURRENT_VERSION));
    assert_eq!(info["brokerActive"], "true");
    // What `mqadmin clusterList` parses as numbers.
    for key in ["putTps", "getTransferredTps", "getTransferedTps"] {
        let tps: Vec<f64> = info[key].split(' ').map(|t| t.parse().unwrap()).collect();
        assert_eq!(tps.len(), 3, "{key}");
        assert!(tps.iter().all(|t| *t >= 0.0));
    }
    // The message stored moments ago is in every window's put rate.
    let put_tps: Vec<f64> = info["putTps"]
        .split(' ')
        .map(|t| t.parse().unwrap())
        .collect();
    assert!(put_tps.iter().all(|t| *t > 0.0), "{put_tps:?}");
    for key in ["timerEnqueueTps", "timerDequeueTps"] {
        let tps: f64 = info[key].parse().unwrap();
        assert!(tps >= 0.0, "{key}");
    }
    for key in [
        "timerOffsetBehind",
        "timerCongestNum",
        "msgPutTotalYesterdayMorning",
    ] {
        assert_eq!(num(key), 0, "{key}");
    }
    let ratio: f64 = info["commitLogDiskRatio"].parse().unwrap();
    assert!((0.0..=1.0).contains(&ratio));
    for key in [
        "sendThreadPoolQueueSize",
        "pullThreadPoolQueueSize",
        "pageCacheLockTimeMills",
        "timerReadBehind",
    ] {
        num(key);
    }
    assert!(info["runtime"].starts_with("[ 0 days, 0 hours, "));

    // Config as Java properties text, with the data version in the header.
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_BROKER_CONFIG),
    )
    .await;
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(
        text.lines()
            .any(|l| l == "brokerClusterName=DefaultCluster"),
        "{text}"
    );
    assert!(text.lines().any(|l| l == "brokerName=broker-a"));
    let version = r
        .decode_header::<GetBrokerConfigResponseHeader>()
        .unwrap()
        .version;
    assert!(DataVersion::decode(version.as_bytes()).unwrap().timestamp > 0);

    // A key read only at start cannot change at run time, clearly (tests/config_updates.rs
    // has the keys that can).
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(rc::UPDATE_BROKER_CONFIG)
                .with_body(Bytes::from_static(b"autoCreateTopicEnable=false\n")),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::INVALID_PARAMETER);
    let remark = r.remark.unwrap();
    assert!(
        remark.contains("autoCreateTopicEnable") && remark.contains("restart"),
        "{remark}"
    );
    assert!(broker.inner().live.get().auto_create_topic_enable);

    // One topic's config.
    let get_topic = |topic: &str| {
        RemotingCommand::request(rc::GET_TOPIC_CONFIG).with_header(&GetTopicConfigRequestHeader {
            topic: topic.into(),
            ..Default::default()
        })
    };
    let r = call(&client, &addr, get_topic("Orders")).await;
    let topic = TopicConfig::decode(&r.body).unwrap();
    assert_eq!(
        (topic.topic_name.as_str(), topic.write_queue_nums),
        ("Orders", 4)
    );
    let r = client.invoke(&addr, get_topic("Nope"), T).await.unwrap();
    assert_eq!(r.code, code::TOPIC_NOT_EXIST);

    // RocketMQ's system topics, plus this broker's own.
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_SYSTEM_TOPIC_LIST_FROM_BROKER),
    )
    .await;
    let system = TopicList::decode(&r.body).unwrap().topic_list;
    for t in [
        "TBW102",
        "SCHEDULE_TOPIC_XXXX",
        "DefaultCluster",
        "broker-a",
        "DefaultCluster_REPLY_TOPIC",
    ] {
        assert!(system.contains(t), "{t}: {system:?}");
    }
    assert!(!system.contains("Orders"));
    broker.shutdown().await.unwrap();
}
