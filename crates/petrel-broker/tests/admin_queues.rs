//! Admin requests about queues, groups' progress and the broker's statistics, over real sockets:
//! QUERY_CONSUME_QUEUE (321), QUERY_CONSUME_TIME_SPAN (303), CLONE_GROUP_OFFSET (314),
//! VIEW_BROKER_STATS_DATA (315), QUERY_SUBSCRIPTION_BY_CONSUMER (345) and GET_ALL_PRODUCER_INFO
//! (328), answered as RocketMQ's `AdminBrokerProcessor` answers them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use petrel_protocol::remoting::body::{
    BrokerStatsData, ConsumerData, HeartbeatData, JsonBody, MessageModel, ProducerData,
    ProducerTableInfo, QueryConsumeQueueResponseBody, QueryConsumeTimeSpanBody,
    QuerySubscriptionResponseBody, SubscriptionData,
};
use petrel_protocol::remoting::header::{
    CloneGroupOffsetRequestHeader, QueryConsumeQueueRequestHeader,
    QueryConsumeTimeSpanRequestHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, QuerySubscriptionByConsumerRequestHeader,
    UpdateConsumerOffsetRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use support::{call, create_topic, props, pull, running, send_v1, wait_visible, T};

const TOPIC: &str = "Orders";

/// Java's `String.hashCode`, the tag code of a single-character tag.
const TAG_A_CODE: i64 = 'a' as i64;

fn query_cq(queue_id: i32, index: i64, count: i32, group: Option<&str>) -> RemotingCommand {
    RemotingCommand::request(rc::QUERY_CONSUME_QUEUE).with_header(&QueryConsumeQueueRequestHeader {
        topic: TOPIC.into(),
        queue_id,
        index,
        count,
        consumer_group: group.map(str::to_string),
        ..Default::default()
    })
}

fn commit(group: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    RemotingCommand::request(rc::UPDATE_CONSUMER_OFFSET).with_header(
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: TOPIC.into(),
            queue_id,
            commit_offset: offset,
            ..Default::default()
        },
    )
}

#[tokio::test]
async fn query_cq_lists_consume_queue_entries() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, TOPIC, 4, 6).await;
    for i in 0..3 {
        call(
            &client,
            &addr,
            send_v1(TOPIC, 0, &format!("m{i}"), &props(&[("TAGS", "a")])),
        )
        .await;
    }
    wait_visible(&client, &addr, TOPIC, 0, 3).await;

    let r = call(&client, &addr, query_cq(0, 1, 5, Some("nobody"))).await;
    let body = QueryConsumeQueueResponseBody::decode(&r.body).unwrap();
    assert_eq!((body.min_queue_index, body.max_queue_index), (0, 3));
    assert_eq!(
        body.filter_data.as_deref(),
        Some("nobody@Orders is not online!")
    );
    let entries = body.queue_data.unwrap();
    assert_eq!(entries.len(), 2, "entries 1 and 2");
    assert!(entries.iter().all(|e| e.tags_code == TAG_A_CODE));
    assert!(entries[0].physic_offset < entries[1].physic_offset);
    assert_eq!(
        entries[0].physic_offset + i64::from(entries[0].physic_size),
        entries[1].physic_offset,
        "back to back in the CommitLog"
    );

    // An index past the end: RocketMQ's remark, and the queue's bounds.
    let r = call(&client, &addr, query_cq(0, 3, 5, None)).await;
    assert_eq!(
        r.remark.as_deref(),
        Some("Index 3 of 0@Orders is not exist!")
    );
    let body = QueryConsumeQueueResponseBody::decode(&r.body).unwrap();
    assert_eq!(body.max_queue_index, 3);
    assert_eq!(body.queue_data, None);

    // A queue without a ConsumeQueue.
    let r = client
        .invoke(&addr, query_cq(9, 0, 1, None), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);
    assert_eq!(r.remark.as_deref(), Some("9@Orders is not exist!"));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn consume_time_span_shows_where_a_group_is_in_time() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, TOPIC, 2, 6).await;
    for i in 0..2 {
        call(&client, &addr, send_v1(TOPIC, 0, &format!("m{i}"), "")).await;
    }
    wait_visible(&client, &addr, TOPIC, 0, 2).await;
    call(&client, &addr, commit("cg", 0, 1)).await;

    let request = RemotingCommand::request(rc::QUERY_CONSUME_TIME_SPAN).with_header(
        &QueryConsumeTimeSpanRequestHeader {
            topic: TOPIC.into(),
            group: "cg".into(),
            ..Default::default()
        },
    );
    let r = call(&client, &addr, request).await;
    let spans = QueryConsumeTimeSpanBody::decode(&r.body)
        .unwrap()
        .consume_time_span_set;
    assert_eq!(spans.len(), 2, "one per write queue");
    let q0 = &spans[0];
    assert_eq!(q0.message_queue.queue_id, 0);
    assert!(q0.min_time_stamp > 0);
    assert!(q0.max_time_stamp >= q0.min_time_stamp);
    assert_eq!(
        q0.consume_time_stamp, q0.min_time_stamp,
        "message 0 consumed"
    );
    assert!(q0.delay_time >= 0, "message 1 waits");
    let q1 = &spans[1];
    assert_eq!((q1.min_time_stamp, q1.max_time_stamp), (-1, -1));
    assert_eq!(q1.delay_time, 0);

    let mut unknown = RemotingCommand::request(rc::QUERY_CONSUME_TIME_SPAN);
    unknown.ext_fields.insert("topic", "Nope");
    unknown.ext_fields.insert("group", "cg");
    let r = client.invoke(&addr, unknown, T).await.unwrap();
    assert_eq!(r.code, code::TOPIC_NOT_EXIST);
    assert_eq!(r.remark.as_deref(), Some("topic[Nope] not exist"));
    broker.shutdown().await.unwrap();
}

fn committed(group: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request(rc::QUERY_CONSUMER_OFFSET).with_header(
        &QueryConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: TOPIC.into(),
            queue_id,
            ..Default::default()
        },
    )
}

fn clone_offsets(src: &str, dest: &str, offline: bool) -> RemotingCommand {
    RemotingCommand::request(rc::CLONE_GROUP_OFFSET).with_header(&CloneGroupOffsetRequestHeader {
        src_group: src.into(),
        dest_group: dest.into(),
        topic: Some(TOPIC.into()),
        offline,
        ..Default::default()
    })
}

/// A heartbeat of client `id`: producer group `pg`, and consumer group `group` subscribing to
/// `topic`.
fn heartbeat(id: &str, group: &str, topic: &str) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: id.into(),
        producer_data_set: vec![ProducerData {
            group_name: "pg".into(),
        }],
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            message_model: Some(MessageModel::Clustering),
            subscription_data_set: vec![SubscriptionData {
                topic: topic.into(),
                sub_string: "*".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    RemotingCommand::request(rc::HEART_BEAT).with_body(data.encode())
}

#[tokio::test]
async fn clone_group_offset_copies_committed_offsets() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, TOPIC, 2, 6).await;
    call(&client, &addr, commit("src", 0, 5)).await;
    call(&client, &addr, commit("src", 1, 3)).await;

    call(&client, &addr, clone_offsets("src", "dest", false)).await;
    for (queue_id, offset) in [(0, 5), (1, 3)] {
        let r = call(&client, &addr, committed("dest", queue_id)).await;
        let h: QueryConsumerOffsetResponseHeader = r.decode_header().unwrap();
        assert_eq!(h.offset, offset);
    }

    // A live source group that does not subscribe to the topic is skipped unless offline.
    call(&client, &addr, heartbeat("c1", "src", "Elsewhere")).await;
    call(&client, &addr, clone_offsets("src", "other", false)).await;
    let r = client
        .invoke(&addr, committed("other", 0), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::QUERY_NOT_FOUND);
    call(&client, &addr, clone_offsets("src", "other", true)).await;
    let r = call(&client, &addr, committed("other", 0)).await;
    assert_eq!(
        r.decode_header::<QueryConsumerOffsetResponseHeader>()
            .unwrap()
            .offset,
        5
    );
    broker.shutdown().await.unwrap();
}

fn stats(name: &str, key: &str) -> RemotingCommand {
    RemotingCommand::request(rc::VIEW_BROKER_STATS_DATA).with_header(
        &ViewBrokerStatsDataRequestHeader {
            stats_name: name.into(),
            stats_key: key.into(),
        },
    )
}

#[tokio::test]
async fn broker_stats_count_puts_and_gets_per_topic_and_group() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    create_topic(&client, &addr, TOPIC, 1, 6).await;
    let r = client
        .invoke(&addr, stats("TOPIC_PUT_NUMS", TOPIC), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR, "nothing counted yet");
    assert_eq!(
        r.remark.as_deref(),
        Some("The stats <TOPIC_PUT_NUMS> <Orders> not exist")
    );

    for i in 0..3 {
        call(&client, &addr, send_v1(TOPIC, 0, &format!("m{i}"), "")).await;
    }
    wait_visible(&client, &addr, TOPIC, 0, 3).await;
    call(&client, &addr, pull("cg", TOPIC, 0, 0, 0, "*")).await;

    let data = |r: RemotingCommand| BrokerStatsData::decode(&r.body).unwrap();
    let puts = data(call(&client, &addr, stats("TOPIC_PUT_NUMS", TOPIC)).await);
    assert_eq!(puts.stats_minute.sum, 3);
    assert_eq!(puts.stats_hour.sum, 3);
    assert_eq!(puts.stats_day.sum, 3);
    let bytes = data(call(&client, &addr, stats("TOPIC_PUT_SIZE", TOPIC)).await);
    assert!(bytes.stats_minute.sum > 3 * 2, "whole records");
    let gets = data(call(&client, &addr, stats("GROUP_GET_NUMS", "Orders@cg")).await);
    assert_eq!(gets.stats_minute.sum, 3);
    let cluster = data(call(&client, &addr, stats("BROKER_PUT_NUMS", "DefaultCluster")).await);
    assert_eq!(cluster.stats_minute.sum, 3);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn subscriptions_and_producers_are_listed_for_tools() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    call(&client, &addr, heartbeat("10.0.0.1@1", "cg", TOPIC)).await;

    let query = |topic: &str| {
        RemotingCommand::request(rc::QUERY_SUBSCRIPTION_BY_CONSUMER).with_header(
            &QuerySubscriptionByConsumerRequestHeader {
                group: "cg".into(),
                topic: Some(topic.into()),
                ..Default::default()
            },
        )
    };
    let r = call(&client, &addr, query(TOPIC)).await;
    let body = QuerySubscriptionResponseBody::decode(&r.body).unwrap();
    assert_eq!((body.group.as_str(), body.topic.as_str()), ("cg", TOPIC));
    assert_eq!(body.subscription_data.unwrap().sub_string, "*");
    let r = call(&client, &addr, query("Elsewhere")).await;
    assert_eq!(
        QuerySubscriptionResponseBody::decode(&r.body)
            .unwrap()
            .subscription_data,
        None
    );

    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_ALL_PRODUCER_INFO),
    )
    .await;
    let table = ProducerTableInfo::decode(&r.body).unwrap();
    let producers = &table.data["pg"];
    assert_eq!(producers.len(), 1);
    assert_eq!(producers[0].client_id, "10.0.0.1@1");
    assert!(producers[0].remote_ip.starts_with("/127.0.0.1:"));
    broker.shutdown().await.unwrap();
}
