//! A group's committed offsets: `QUERY_CONSUMER_OFFSET` (14), `UPDATE_CONSUMER_OFFSET` (15)
//! and `INVOKE_BROKER_TO_RESET_OFFSET` (222).

use std::collections::BTreeMap;

use petrel_protocol::remoting::body::ResetOffsetBody;
use petrel_protocol::remoting::header::{
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader, ResetOffsetRequestHeader,
    RpcFields, UpdateConsumerOffsetRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};

use super::{call, call_ok};
use crate::error::Result;
use crate::instance::ClientInstance;
use crate::message::MessageQueue;
use crate::response::{body, header, refused};

/// The `bname` field Java's client adds to queue requests (brokers use it for static topics).
fn rpc_of(mq: &MessageQueue) -> RpcFields {
    RpcFields {
        broker_name: Some(mq.broker_name.clone()),
        ..Default::default()
    }
}

/// `QUERY_CONSUMER_OFFSET`: `group`'s committed offset of `mq`, `None` when it never committed
/// one (`setZeroIfNotFound=false`, so that a RocketMQ broker does not answer 0 instead).
pub(crate) async fn query_consumer_offset(
    instance: &ClientInstance,
    addr: &str,
    group: &str,
    mq: &MessageQueue,
) -> Result<Option<i64>> {
    let h = QueryConsumerOffsetRequestHeader {
        consumer_group: group.to_string(),
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        set_zero_if_not_found: Some(false),
        rpc: rpc_of(mq),
    };
    let request = RemotingCommand::request(rc::QUERY_CONSUMER_OFFSET).with_header(&h);
    let response = call(instance, addr, request, None).await?;
    match response.code {
        code::SUCCESS => {
            let h: QueryConsumerOffsetResponseHeader =
                header(addr, "offset query response", &response)?;
            Ok(Some(h.offset))
        }
        code::QUERY_NOT_FOUND => Ok(None),
        _ => Err(refused(addr, response)),
    }
}

/// `UPDATE_CONSUMER_OFFSET`: commits `offset` as `group`'s offset of `mq`.
pub(crate) async fn update_consumer_offset(
    instance: &ClientInstance,
    addr: &str,
    group: &str,
    mq: &MessageQueue,
    offset: i64,
) -> Result<()> {
    let h = UpdateConsumerOffsetRequestHeader {
        consumer_group: group.to_string(),
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        commit_offset: offset,
        rpc: rpc_of(mq),
    };
    let request = RemotingCommand::request(rc::UPDATE_CONSUMER_OFFSET).with_header(&h);
    call_ok(instance, addr, request, None).await?;
    Ok(())
}

/// `INVOKE_BROKER_TO_RESET_OFFSET`: the broker moves the group's offsets (by time, or one queue
/// to an explicit offset) and tells its live members; returns each queue's new offset. Codes
/// other than SUCCESS (CONSUMER_NOT_ONLINE from RocketMQ up to 5.1, TOPIC_NOT_EXIST,
/// SUBSCRIPTION_GROUP_NOT_EXIST) are errors the caller reads with `response_code()`.
pub(crate) async fn invoke_broker_to_reset_offset(
    instance: &ClientInstance,
    addr: &str,
    h: &ResetOffsetRequestHeader,
) -> Result<BTreeMap<MessageQueue, i64>> {
    let request = RemotingCommand::request(rc::INVOKE_BROKER_TO_RESET_OFFSET).with_header(h);
    let response = call_ok(instance, addr, request, None).await?;
    let reset: ResetOffsetBody = body(addr, "reset offsets", &response.body)?;
    Ok(reset.offset_table)
}
