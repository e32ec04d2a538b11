//! Requests the broker relays to a consumer over the consumer's own connection, over real
//! sockets: GET_CONSUMER_RUNNING_INFO (307), CONSUME_MESSAGE_DIRECTLY (309) and
//! INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223, which asks each member
//! GET_CONSUMER_STATUS_FROM_CLIENT, 221).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::sync::Arc;

use parking_lot::Mutex;
use petrel_protocol::remoting::body::{
    ConsumerData, GetConsumerStatusBody, HeartbeatData, JsonBody, MessageModel, MessageQueue,
    SubscriptionData,
};
use petrel_protocol::remoting::header::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader, SendMessageResponseHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_remoting::{
    BoxFuture, RemotingClient, RemotingConfig, Reply, RequestContext, RequestHandler,
};
use support::{body_text, call, props, records, running, send_v1, T};

const TOPIC: &str = "Orders";
const GROUP: &str = "cg";

/// A consumer that answers the broker's requests as a Java client does, and keeps them.
#[derive(Default)]
struct Consumer {
    client_id: String,
    seen: Mutex<Vec<RemotingCommand>>,
}

impl RequestHandler for Consumer {
    fn handle(&self, _ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        self.seen.lock().push(request.clone());
        let mut answer = RemotingCommand::response_to(&request, code::SUCCESS, None);
        answer.body = match request.code {
            rc::GET_CONSUMER_RUNNING_INFO => {
                format!(r#"{{"properties":{{"clientId":"{}"}}}}"#, self.client_id).into()
            }
            rc::CONSUME_MESSAGE_DIRECTLY => {
                br#"{"autoCommit":true,"consumeResult":"CR_SUCCESS","order":false,"spentTimeMills":1}"#
                    .to_vec()
                    .into()
            }
            rc::GET_CONSUMER_STATUS_FROM_CLIENT => GetConsumerStatusBody {
                message_queue_table: [(MessageQueue::new(TOPIC, "broker-a", 0), 7)]
                    .into_iter()
                    .collect(),
                ..Default::default()
            }
            .encode()
            .into(),
            _ => return Box::pin(async { None }),
        };
        Box::pin(async move { Some(answer.into()) })
    }
}

/// A consumer of `GROUP` registered with the broker at `addr`.
async fn consumer(addr: &str, client_id: &str) -> (RemotingClient, Arc<Consumer>) {
    let handler = Arc::new(Consumer {
        client_id: client_id.into(),
        ..Default::default()
    });
    let client = RemotingClient::new(RemotingConfig::default(), Some(handler.clone()));
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: GROUP.into(),
            message_model: Some(MessageModel::Clustering),
            subscription_data_set: vec![SubscriptionData {
                topic: TOPIC.into(),
                sub_string: "*".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    call(
        &client,
        addr,
        RemotingCommand::request(rc::HEART_BEAT).with_body(data.encode()),
    )
    .await;
    (client, handler)
}

fn running_info(client_id: &str) -> RemotingCommand {
    RemotingCommand::request(rc::GET_CONSUMER_RUNNING_INFO).with_header(
        &GetConsumerRunningInfoRequestHeader {
            consumer_group: GROUP.into(),
            client_id: client_id.into(),
            jstack_enable: true,
            ..Default::default()
        },
    )
}

#[tokio::test]
async fn running_info_is_asked_of_the_consumer_and_its_answer_returned() {
    let (broker, addr, admin, _dir) = running(|_| {}).await;
    let (_c, consumer) = consumer(&addr, "10.0.0.1@1").await;

    let r = call(&admin, &addr, running_info("10.0.0.1@1")).await;
    assert_eq!(
        r.body.as_ref(),
        br#"{"properties":{"clientId":"10.0.0.1@1"}}"#
    );
    let seen = consumer.seen.lock().clone();
    let asked = seen
        .iter()
        .find(|r| r.code == rc::GET_CONSUMER_RUNNING_INFO)
        .expect("the consumer was asked");
    assert_eq!(asked.ext_fields.get("consumerGroup"), Some(GROUP));
    assert_eq!(asked.ext_fields.get("jstackEnable"), Some("true"));

    // A client id that is not a member: RocketMQ's answer.
    let r = admin
        .invoke(&addr, running_info("10.0.0.9@9"), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("The Consumer <cg> <10.0.0.9@9> not online")
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_message_is_consumed_directly_by_the_named_consumer() {
    let (broker, addr, admin, _dir) = running(|_| {}).await;
    let (_c, consumer) = consumer(&addr, "10.0.0.1@1").await;
    let sent = call(
        &admin,
        &addr,
        send_v1(TOPIC, 0, "direct", &props(&[("TAGS", "a")])),
    )
    .await;
    let msg_id = sent
        .decode_header::<SendMessageResponseHeader>()
        .unwrap()
        .msg_id;

    let request = RemotingCommand::request(rc::CONSUME_MESSAGE_DIRECTLY).with_header(
        &ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: GROUP.into(),
            client_id: Some("10.0.0.1@1".into()),
            msg_id: Some(msg_id.clone()),
            topic: Some(TOPIC.into()),
            ..Default::default()
        },
    );
    let r = call(&admin, &addr, request).await;
    assert!(String::from_utf8_lossy(&r.body).contains("CR_SUCCESS"));

    let seen = consumer.seen.lock().clone();
    let asked = seen
        .iter()
        .find(|r| r.code == rc::CONSUME_MESSAGE_DIRECTLY)
        .expect("the consumer was asked");
    assert_eq!(asked.ext_fields.get("brokerName"), Some("broker-a"));
    assert_eq!(asked.ext_fields.get("topicSysFlag"), Some("0"));
    assert_eq!(asked.ext_fields.get("msgId"), Some(msg_id.as_str()));
    let stored = records(&asked.body);
    assert_eq!(stored.len(), 1);
    assert_eq!(body_text(&stored[0]), "direct");
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn consumer_status_collects_every_members_offsets() {
    let (broker, addr, admin, _dir) = running(|_| {}).await;
    let (_c1, _) = consumer(&addr, "10.0.0.1@1").await;
    let (_c2, _) = consumer(&addr, "10.0.0.2@2").await;
    let status = |only: Option<&str>| {
        RemotingCommand::request(rc::INVOKE_BROKER_TO_GET_CONSUMER_STATUS).with_header(
            &GetConsumerStatusRequestHeader {
                topic: TOPIC.into(),
                group: GROUP.into(),
                client_addr: only.map(str::to_string),
                ..Default::default()
            },
        )
    };

    let r = call(&admin, &addr, status(None)).await;
    let body = GetConsumerStatusBody::decode(&r.body).unwrap();
    let clients: Vec<&String> = body.consumer_table.keys().collect();
    assert_eq!(clients, ["10.0.0.1@1", "10.0.0.2@2"]);
    assert_eq!(
        body.consumer_table["10.0.0.1@1"].0[&MessageQueue::new(TOPIC, "broker-a", 0)],
        7
    );

    let r = call(&admin, &addr, status(Some("10.0.0.2@2"))).await;
    let body = GetConsumerStatusBody::decode(&r.body).unwrap();
    assert_eq!(
        body.consumer_table.keys().collect::<Vec<_>>(),
        ["10.0.0.2@2"]
    );

    // A group nobody is in.
    let mut nobody = status(None);
    nobody.ext_fields.insert("group", "nobody");
    let r = admin.invoke(&addr, nobody, T).await.unwrap();
    assert_eq!(r.code, code::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("No Any Consumer online in the consumer group: [nobody]")
    );
    broker.shutdown().await.unwrap();
}
