//! Group membership and queue locks: `HEART_BEAT` (34), `UNREGISTER_CLIENT` (35),
//! `GET_CONSUMER_LIST_BY_GROUP` (38), `CHECK_CLIENT_CONFIG` (46), `CONSUMER_SEND_MSG_BACK`
//! (36), `LOCK_BATCH_MQ` (41) and `UNLOCK_BATCH_MQ` (42).

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use petrel_protocol::remoting::body::{
    ConsumerListByGroupResponseBody, JsonBody, LockBatchRequestBody, LockBatchResponseBody,
    SubscriptionData,
};
use petrel_protocol::remoting::header::{
    ConsumerSendMsgBackRequestHeader, GetConsumerListByGroupRequestHeader,
    UnregisterClientRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, RemotingCommand};

use super::call_ok;
use crate::error::Result;
use crate::instance::ClientInstance;
use crate::message::MessageQueue;
use crate::response::body;

/// `HEART_BEAT`: the encoded `HeartbeatData` of every group of this client (encoded once by the
/// caller for all brokers).
pub(crate) async fn heart_beat(
    instance: &ClientInstance,
    addr: &str,
    heartbeat_data: Bytes,
) -> Result<()> {
    let request = RemotingCommand::request(rc::HEART_BEAT).with_body(heartbeat_data);
    call_ok(instance, addr, request, None).await?;
    Ok(())
}

/// `UNREGISTER_CLIENT`: this client leaves a producer and/or consumer group on one broker.
pub(crate) async fn unregister_client(
    instance: &ClientInstance,
    addr: &str,
    producer_group: Option<&str>,
    consumer_group: Option<&str>,
) -> Result<()> {
    let h = UnregisterClientRequestHeader {
        client_id: instance.client_id().to_string(),
        producer_group: producer_group.map(String::from),
        consumer_group: consumer_group.map(String::from),
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::UNREGISTER_CLIENT).with_header(&h);
    call_ok(instance, addr, request, None).await?;
    Ok(())
}

/// `GET_CONSUMER_LIST_BY_GROUP`: the client ids of `group`'s live members on one broker.
pub(crate) async fn get_consumer_list_by_group(
    instance: &ClientInstance,
    addr: &str,
    group: &str,
) -> Result<Vec<String>> {
    let h = GetConsumerListByGroupRequestHeader {
        consumer_group: group.to_string(),
        ..Default::default()
    };
    let request = RemotingCommand::request(rc::GET_CONSUMER_LIST_BY_GROUP).with_header(&h);
    let response = call_ok(instance, addr, request, None).await?;
    let list: ConsumerListByGroupResponseBody = body(addr, "consumer list", &response.body)?;
    Ok(list.consumer_id_list)
}

/// `CHECK_CLIENT_CONFIG`: whether the broker can evaluate `subscription` (a SQL92 expression
/// needs `enablePropertyFilter`); a refusal is the broker's error.
pub(crate) async fn check_client_config(
    instance: &ClientInstance,
    addr: &str,
    group: &str,
    subscription: &SubscriptionData,
) -> Result<()> {
    let config = serde_json::json!({
        "clientId": instance.client_id(),
        "group": group,
        "subscriptionData": subscription,
    });
    let request = RemotingCommand::request(rc::CHECK_CLIENT_CONFIG)
        .with_body(serde_json::to_vec(&config).unwrap_or_default());
    call_ok(instance, addr, request, None).await?;
    Ok(())
}

/// `CONSUMER_SEND_MSG_BACK`: the broker re-stores a message a listener failed on (found by its
/// CommitLog offset) in the group's retry topic with a delay, or in its DLQ.
pub(crate) async fn consumer_send_msg_back(
    instance: &ClientInstance,
    addr: &str,
    h: &ConsumerSendMsgBackRequestHeader,
    timeout: Duration,
) -> Result<()> {
    let request = RemotingCommand::request(rc::CONSUMER_SEND_MSG_BACK).with_header(h);
    call_ok(instance, addr, request, Some(timeout)).await?;
    Ok(())
}

/// `LOCK_BATCH_MQ`: locks the queues of `body` for its client on one broker; returns the ones
/// this client holds now.
pub(crate) async fn lock_batch_mq(
    instance: &ClientInstance,
    addr: &str,
    locks: &LockBatchRequestBody,
    timeout: Duration,
) -> Result<BTreeSet<MessageQueue>> {
    let request = RemotingCommand::request(rc::LOCK_BATCH_MQ).with_body(locks.encode());
    let response = call_ok(instance, addr, request, Some(timeout)).await?;
    let locked: LockBatchResponseBody = body(addr, "lock response", &response.body)?;
    Ok(locked.lock_ok_mq_set)
}

/// `UNLOCK_BATCH_MQ`: releases the queues of `body` on one broker.
pub(crate) async fn unlock_batch_mq(
    instance: &ClientInstance,
    addr: &str,
    locks: &LockBatchRequestBody,
    timeout: Duration,
) -> Result<()> {
    let request = RemotingCommand::request(rc::UNLOCK_BATCH_MQ).with_body(locks.encode());
    call_ok(instance, addr, request, Some(timeout)).await?;
    Ok(())
}
