//! What the broker checks of a consumer before serving it, over real sockets: CHECK_CLIENT_CONFIG
//! (46) answers as RocketMQ's `ClientManageProcessor` does and refuses a body it cannot read;
//! a group with `consumeBroadcastEnable=false` may not consume by broadcasting.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use bytes::Bytes;
use petrel_protocol::pull_sys_flag;
use petrel_protocol::remoting::body::{
    CheckClientRequestBody, ConsumerData, HeartbeatData, JsonBody, MessageModel, SubscriptionData,
    SubscriptionGroupConfig,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_remoting::RemotingClient;
use support::{call, pull_header, pull_with, running, send_v1, wait_visible, T};

fn check(expression_type: &str, expression: &str) -> RemotingCommand {
    let body = CheckClientRequestBody {
        client_id: "c".into(),
        group: "cg".into(),
        subscription_data: Some(SubscriptionData {
            topic: "Orders".into(),
            expression_type: expression_type.into(),
            sub_string: expression.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    RemotingCommand::request(rc::CHECK_CLIENT_CONFIG).with_body(body.encode())
}

async fn answer(client: &RemotingClient, addr: &str, request: RemotingCommand) -> (i32, String) {
    let r = client.invoke(addr, request, T).await.unwrap();
    (r.code, r.remark.unwrap_or_default())
}

#[tokio::test]
async fn check_client_config_answers_as_rocketmq_and_refuses_unreadable_bodies() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    call(&client, &addr, check("TAG", "a || b")).await;
    // enablePropertyFilter is off: RocketMQ's code and remark.
    let (c, remark) = answer(&client, &addr, check("SQL92", "a > 1")).await;
    assert_eq!(c, code::SYSTEM_ERROR);
    assert!(
        remark.starts_with("The broker does not support consumer to filter message by SQL92"),
        "{remark}"
    );
    for body in [&b"not json"[..], b""] {
        let request = RemotingCommand::request(rc::CHECK_CLIENT_CONFIG)
            .with_body(Bytes::copy_from_slice(body));
        let (c, remark) = answer(&client, &addr, request).await;
        assert_eq!(c, code::SYSTEM_ERROR, "{body:?}");
        assert!(remark.starts_with("bad request body"), "{remark}");
    }
    broker.shutdown().await.unwrap();

    let (broker, addr, client, _dir) = running(|c| c.enable_property_filter = true).await;
    call(&client, &addr, check("SQL92", "a > 1 AND b = 'x'")).await;
    let (c, remark) = answer(&client, &addr, check("SQL92", "a >")).await;
    assert_eq!(c, code::SUBSCRIPTION_PARSE_FAILED);
    assert!(remark.contains("a >"), "{remark}");
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_group_without_consume_broadcast_may_not_consume_by_broadcast() {
    let (broker, addr, client, _dir) = running(|_| {}).await;
    let group = SubscriptionGroupConfig {
        group_name: "cg".into(),
        consume_broadcast_enable: false,
        ..Default::default()
    };
    call(
        &client,
        &addr,
        RemotingCommand::request(rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).with_body(group.encode()),
    )
    .await;
    let heartbeat = HeartbeatData {
        client_id: "10.0.0.1@1".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: "cg".into(),
            message_model: Some(MessageModel::Broadcasting),
            subscription_data_set: vec![SubscriptionData {
                topic: "Orders".into(),
                sub_string: "*".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    call(
        &client,
        &addr,
        RemotingCommand::request(rc::HEART_BEAT).with_body(heartbeat.encode()),
    )
    .await;
    call(&client, &addr, send_v1("Orders", 0, "m", "")).await;
    wait_visible(&client, &addr, "Orders", 0, 1).await;

    // A push consumer's pull relies on the registered subscription: refused, as in RocketMQ.
    let mut header = pull_header("cg", "Orders", 0, 0, "*");
    header.sys_flag &= !pull_sys_flag::FLAG_SUBSCRIPTION;
    header.subscription = None;
    assert_eq!(
        answer(&client, &addr, pull_with(&header)).await,
        (
            code::NO_PERMISSION,
            "the consumer group[cg] can not consume by broadcast way".to_string()
        )
    );
    broker.shutdown().await.unwrap();
}
