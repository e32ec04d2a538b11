//! UPDATE_AND_CREATE_TOPIC (17) and DELETE_TOPIC_IN_BROKER (215) over real sockets: system
//! topics are protected as in RocketMQ 5.x, and topic attributes are validated and applied as
//! RocketMQ does, or refused when Petrel cannot honour them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::collections::BTreeMap;

use petrel_protocol::remoting::body::{JsonBody, TopicConfig};
use petrel_protocol::remoting::header::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, GetTopicConfigRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_remoting::RemotingClient;
use support::{call, running, T};

fn create(topic: &str, attributes: Option<&str>) -> RemotingCommand {
    RemotingCommand::request(rc::UPDATE_AND_CREATE_TOPIC).with_header(&CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 4,
        write_queue_nums: 4,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        attributes: attributes.map(str::to_string),
        ..Default::default()
    })
}

fn delete(topic: &str) -> RemotingCommand {
    RemotingCommand::request(rc::DELETE_TOPIC_IN_BROKER).with_header(&DeleteTopicRequestHeader {
        topic: topic.into(),
        ..Default::default()
    })
}

async fn topic_config(client: &RemotingClient, addr: &str, topic: &str) -> Option<TopicConfig> {
    let request =
        RemotingCommand::request(rc::GET_TOPIC_CONFIG).with_header(&GetTopicConfigRequestHeader {
            topic: topic.into(),
            ..Default::default()
        });
    let r = client.invoke(addr, request, T).await.unwrap();
    (r.code == code::SUCCESS).then(|| TopicConfig::decode(&r.body).unwrap())
}

/// The answer's code and remark.
async fn answer(client: &RemotingClient, addr: &str, request: RemotingCommand) -> (i32, String) {
    let r = client.invoke(addr, request, T).await.unwrap();
    (r.code, r.remark.unwrap_or_default())
}

#[tokio::test]
async fn system_topics_can_be_neither_deleted_nor_recreated() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    for topic in [
        "SCHEDULE_TOPIC_XXXX",
        "rmq_sys_wheel_timer",
        "RMQ_SYS_TRANS_HALF_TOPIC",
        "RMQ_SYS_TRANS_OP_HALF_TOPIC",
        "TBW102",
        "DefaultCluster",
        "broker-a",
        "DefaultCluster_REPLY_TOPIC",
    ] {
        let conflict = (
            code::INVALID_PARAMETER,
            format!("The topic[{topic}] is conflict with system topic."),
        );
        assert_eq!(answer(&client, &addr, delete(topic)).await, conflict);
        assert_eq!(answer(&client, &addr, create(topic, None)).await, conflict);
    }
    assert!(topic_config(&client, &addr, "SCHEDULE_TOPIC_XXXX")
        .await
        .is_some());
    assert_eq!(
        answer(&client, &addr, delete(" ")).await,
        (
            code::INVALID_PARAMETER,
            "The specified topic is blank.".to_string()
        )
    );
    // Retry and dead-letter topics are not system topics.
    call(&client, &addr, create("%DLQ%cg", None)).await;
    call(&client, &addr, delete("%DLQ%cg")).await;
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn topic_attributes_are_validated_and_applied_as_rocketmq_does() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    call(&client, &addr, create("Orders", Some("+message.type=FIFO"))).await;
    let attributes = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        topic_config(&client, &addr, "Orders")
            .await
            .unwrap()
            .attributes,
        attributes(&[("message.type", "FIFO")])
    );

    // RocketMQ's refusals, with RocketMQ's remarks.
    for (modification, expected) in [
        (
            "+queue.type=SimpleCQ",
            (
                code::SYSTEM_ERROR,
                "attempt to update an unchangeable attribute. key: queue.type",
            ),
        ),
        (
            "message.type=NORMAL",
            (
                code::SYSTEM_ERROR,
                "add/alter attribute format is wrong: message.type",
            ),
        ),
        (
            "+message.type=MIXED",
            (
                code::INVALID_PARAMETER,
                "MIXED message type is not supported.",
            ),
        ),
        (
            "+colour=red",
            (code::SYSTEM_ERROR, "unsupported key: colour"),
        ),
    ] {
        assert_eq!(
            answer(&client, &addr, create("Orders", Some(modification))).await,
            (expected.0, expected.1.to_string()),
            "{modification}"
        );
    }
    // What Petrel cannot honour is refused, not stored and ignored.
    let (c, remark) = answer(
        &client,
        &addr,
        create("Batched", Some("+queue.type=BatchCQ")),
    )
    .await;
    assert_eq!(c, code::INVALID_PARAMETER);
    assert!(
        remark.contains("queue.type=BatchCQ is not supported by Petrel"),
        "{remark}"
    );
    assert!(topic_config(&client, &addr, "Batched").await.is_none());
    let (c, remark) = answer(
        &client,
        &addr,
        create("Compacted", Some("+cleanup.policy=COMPACTION")),
    )
    .await;
    assert_eq!(c, code::INVALID_PARAMETER);
    assert!(remark.contains("cleanup.policy=COMPACTION"), "{remark}");

    // Removing an attribute; an update without attributes keeps them.
    call(
        &client,
        &addr,
        create("Orders", Some("+message.type=NORMAL")),
    )
    .await;
    call(&client, &addr, create("Orders", None)).await;
    assert_eq!(
        topic_config(&client, &addr, "Orders")
            .await
            .unwrap()
            .attributes,
        attributes(&[("message.type", "NORMAL")])
    );
    call(&client, &addr, create("Orders", Some("-message.type"))).await;
    assert!(topic_config(&client, &addr, "Orders")
        .await
        .unwrap()
        .attributes
        .is_empty());
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn topic_and_group_lists_are_applied_whole_or_not_at_all() {
    use petrel_protocol::remoting::body::{
        CreateTopicListRequestBody, SubscriptionGroupConfig, SubscriptionGroupList,
    };
    let (broker, addr, client, _dir) = running(|_| {}).await;
    let topic = |name: &str, attributes: &[(&str, &str)]| TopicConfig {
        topic_name: name.into(),
        read_queue_nums: 2,
        write_queue_nums: 2,
        attributes: attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let topics = |list: Vec<TopicConfig>| {
        RemotingCommand::request(rc::UPDATE_AND_CREATE_TOPIC_LIST).with_body(
            CreateTopicListRequestBody {
                topic_config_list: list,
            }
            .encode(),
        )
    };
    let (c, remark) = answer(
        &client,
        &addr,
        topics(vec![topic("A1", &[]), topic("SCHEDULE_TOPIC_XXXX", &[])]),
    )
    .await;
    assert_eq!(c, code::INVALID_PARAMETER, "{remark}");
    assert!(
        topic_config(&client, &addr, "A1").await.is_none(),
        "none stored"
    );
    call(
        &client,
        &addr,
        topics(vec![
            topic("A1", &[("+message.type", "FIFO")]),
            topic("A2", &[]),
        ]),
    )
    .await;
    let a1 = topic_config(&client, &addr, "A1").await.unwrap();
    assert_eq!(a1.attributes["message.type"], "FIFO");
    assert_eq!(a1.write_queue_nums, 2);
    assert!(topic_config(&client, &addr, "A2").await.is_some());

    let group = |name: &str, attributes: &[(&str, &str)]| SubscriptionGroupConfig {
        group_name: name.into(),
        attributes: attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let groups = |list: Vec<SubscriptionGroupConfig>| {
        RemotingCommand::request(rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST).with_body(
            SubscriptionGroupList {
                group_config_list: list,
            }
            .encode(),
        )
    };
    // RocketMQ defines no group attribute.
    assert_eq!(
        answer(
            &client,
            &addr,
            groups(vec![group("g1", &[]), group("g2", &[("+colour", "red")])])
        )
        .await,
        (code::SYSTEM_ERROR, "unsupported key: colour".to_string())
    );
    call(
        &client,
        &addr,
        groups(vec![group("g1", &[]), group("g2", &[])]),
    )
    .await;
    let r = call(
        &client,
        &addr,
        RemotingCommand::request(rc::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
    )
    .await;
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(text.contains(r#""g1":{"#) && text.contains(r#""g2":{"#));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn store_maintenance_keeps_what_topics_and_features_still_need() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    call(&client, &addr, support::send_v1("Orders", 0, "m", "")).await;
    let delayed = support::props(&[("DELAY", "3")]);
    call(
        &client,
        &addr,
        support::send_v1("Orders", 0, "later", &delayed),
    )
    .await;
    support::wait_visible(&client, &addr, "SCHEDULE_TOPIC_XXXX", 2, 1).await;
    call(
        &client,
        &addr,
        RemotingCommand::request(rc::CLEAN_UNUSED_TOPIC),
    )
    .await;
    call(
        &client,
        &addr,
        RemotingCommand::request(rc::DELETE_EXPIRED_COMMITLOG),
    )
    .await;
    assert_eq!(support::max_offset(&client, &addr, "Orders", 0).await, 1);
    assert_eq!(
        support::max_offset(&client, &addr, "SCHEDULE_TOPIC_XXXX", 2).await,
        1,
        "a pending delayed message is kept"
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn trace_topic_enable_creates_the_named_trace_topic() {
    let (broker, _addr, _client, _dir) = support::running(|c| {
        c.trace_topic_enable = true;
        c.msg_trace_topic_name = "MyTraceTopic".into();
    })
    .await;
    let topics = &broker.inner().topics;
    let created = topics.get("MyTraceTopic").expect("trace topic created");
    assert_eq!((created.read_queue_nums, created.write_queue_nums), (1, 1));
    // RocketMQ's default trace topic is there in any case.
    assert!(topics.contains("RMQ_SYS_TRACE_TOPIC"));
    broker.shutdown().await.unwrap();
}
