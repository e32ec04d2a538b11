//! Requests an admin tool sends to the broker for a consumer, which the broker passes on over
//! that consumer's own connection and answers with what the consumer said (RocketMQ's
//! `AdminBrokerProcessor.callConsumer` and `Broker2Client.getConsumeStatus`):
//!
//! - GET_CONSUMER_RUNNING_INFO (307, `mqadmin consumerStatus`): forwarded unchanged; the answer
//!   is the client's `ConsumerRunningInfo`.
//! - CONSUME_MESSAGE_DIRECTLY (309, `mqadmin consumeMessage`): forwarded with `brokerName`,
//!   `topicSysFlag` and `groupSysFlag` added and the stored message (found by its offset msgId)
//!   as the body; the answer is the client's `ConsumeMessageDirectlyResult`.
//! - INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223, `mqadmin getConsumerStatus`): every member of
//!   the group (or the one named) is asked GET_CONSUMER_STATUS_FROM_CLIENT (221) for its
//!   offsets; the answer collects them per client id.
//!
//! The broker only relays: the bodies are the clients', passed through untouched.

use std::time::Duration;

use petrel_protocol::message::decode_offset_msg_id;
use petrel_protocol::remoting::body::{GetConsumerStatusBody, JsonBody, MqOffsets};
use petrel_protocol::remoting::header::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader,
};
use petrel_protocol::remoting::{
    request_code, response_code, RemotingCommand, RESPONSE_FLAG, VERSION_V3_0_7_SNAPSHOT,
    VERSION_V3_1_8_SNAPSHOT,
};
use petrel_remoting::RemotingError;

use crate::broker::BrokerInner;
use crate::response::{self, Refusal};
use crate::state::client_registry::ClientChannel;

/// How long a consumer has to answer a forwarded request (`Broker2Client.callClient`).
const CALL_CONSUMER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long each member has to report its offsets (`Broker2Client.getConsumeStatus`).
const CONSUMER_STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// GET_CONSUMER_RUNNING_INFO: forwarded to the consumer as it came.
pub async fn running_info(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetConsumerRunningInfoRequestHeader = response::header(request)?;
    call_consumer(
        broker,
        request_code::GET_CONSUMER_RUNNING_INFO,
        request,
        &h.consumer_group,
        &h.client_id,
    )
    .await
}

/// CONSUME_MESSAGE_DIRECTLY: the stored message, with the broker's name and the topic's and
/// group's sys flags, forwarded to the consumer.
pub async fn consume_message_directly(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: ConsumeMessageDirectlyResultRequestHeader = response::header(request)?;
    let mut forward = request.clone();
    forward
        .ext_fields
        .insert("brokerName", broker.config.broker_name.clone());
    if let Some(topic) = h.topic.as_deref().filter(|t| !t.is_empty()) {
        if let Some(config) = broker.topics.get(topic) {
            forward
                .ext_fields
                .insert("topicSysFlag", config.topic_sys_flag.to_string());
        }
    }
    if let Some(group) = broker.groups.get(&h.consumer_group) {
        forward
            .ext_fields
            .insert("groupSysFlag", group.group_sys_flag.to_string());
    }
    let msg_id = h.msg_id.as_deref().unwrap_or_default();
    let (_, offset) = decode_offset_msg_id(msg_id).map_err(|e| {
        Refusal::new(
            response_code::SYSTEM_ERROR,
            format!("msgId {msg_id:?} is not an offset message id: {e}"),
        )
    })?;
    forward.body = broker.store.look_message_by_offset(offset).ok_or_else(|| {
        Refusal::new(
            response_code::SYSTEM_ERROR,
            format!("no message at CommitLog offset {offset} (msgId {msg_id})"),
        )
    })?;
    let client_id = h.client_id.as_deref().unwrap_or_default();
    call_consumer(
        broker,
        request_code::CONSUME_MESSAGE_DIRECTLY,
        &forward,
        &h.consumer_group,
        client_id,
    )
    .await
}

/// INVOKE_BROKER_TO_GET_CONSUMER_STATUS: each member's offsets on `topic`, by client id. A
/// member that does not answer in time is left out, as in RocketMQ.
pub async fn consumer_status(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetConsumerStatusRequestHeader = response::header(request)?;
    let members: Vec<ClientChannel> = broker
        .clients
        .consumer_group(&h.group)
        .map(|info| info.clients.into_values().collect())
        .unwrap_or_default();
    if members.is_empty() {
        return Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            format!(
                "No Any Consumer online in the consumer group: [{}]",
                h.group
            ),
        ));
    }
    if let Some(old) = members.iter().find(|c| c.version < VERSION_V3_0_7_SNAPSHOT) {
        return Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            format!(
                "the client does not support this feature. version={}",
                old.version
            ),
        ));
    }
    let only = h.client_addr.as_deref().filter(|c| !c.trim().is_empty());
    let ask = GetConsumerStatusRequestHeader {
        topic: h.topic.clone(),
        group: h.group.clone(),
        ..Default::default()
    };
    let mut calls = tokio::task::JoinSet::new();
    for member in members
        .into_iter()
        .filter(|c| only.is_none_or(|id| id == c.client_id))
    {
        let asking = RemotingCommand::request(request_code::GET_CONSUMER_STATUS_FROM_CLIENT)
            .with_header(&ask);
        calls.spawn(async move {
            let answer = member
                .connection
                .invoke(asking, CONSUMER_STATUS_TIMEOUT)
                .await;
            (member.client_id, answer)
        });
    }
    let mut body = GetConsumerStatusBody::default();
    while let Some(joined) = calls.join_next().await {
        let Ok((client_id, answer)) = joined else {
            continue;
        };
        match answer {
            Ok(r) if r.code == response_code::SUCCESS && !r.body.is_empty() => {
                match GetConsumerStatusBody::decode(&r.body) {
                    Ok(status) => {
                        body.consumer_table
                            .insert(client_id, MqOffsets(status.message_queue_table));
                    }
                    Err(e) => {
                        tracing::warn!(%client_id, error = %e, "unreadable consumer status")
                    }
                }
            }
            Ok(r) => {
                tracing::debug!(%client_id, code = r.code, remark = ?r.remark, "no consumer status")
            }
            Err(e) => tracing::warn!(%client_id, error = %e, "cannot get consumer status"),
        }
    }
    Ok(response::json(request, body.encode()))
}

/// Forwards `request` (its fields and body) as a `code` request to the consumer `client_id`
/// of `group`, and answers with the consumer's response.
async fn call_consumer(
    broker: &BrokerInner,
    code: i32,
    request: &RemotingCommand,
    group: &str,
    client_id: &str,
) -> Result<RemotingCommand, Refusal> {
    let channel = broker
        .clients
        .consumer_group(group)
        .and_then(|info| {
            info.clients
                .into_values()
                .filter(|c| !c.connection.is_closed())
                .find(|c| c.client_id == client_id)
        })
        .ok_or_else(|| {
            Refusal::new(
                response_code::SYSTEM_ERROR,
                format!("The Consumer <{group}> <{client_id}> not online"),
            )
        })?;
    if channel.version < VERSION_V3_1_8_SNAPSHOT {
        return Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            format!(
                "The Consumer <{client_id}> Version <{}> too low to finish, please upgrade it to \
                 V3_1_8_SNAPSHOT",
                channel.version
            ),
        ));
    }
    let mut forward = RemotingCommand::request(code);
    forward.ext_fields = request.ext_fields.clone();
    forward.body = request.body.clone();
    match channel
        .connection
        .invoke(forward, CALL_CONSUMER_TIMEOUT)
        .await
    {
        Ok(answer) => Ok(RemotingCommand {
            opaque: request.opaque,
            flag: RESPONSE_FLAG,
            serialize_type: request.serialize_type,
            ..answer
        }),
        Err(e @ RemotingError::Timeout { .. }) => Err(Refusal::new(
            response_code::CONSUME_MSG_TIMEOUT,
            format!("consumer <{group}> <{client_id}> Timeout: {e}"),
        )),
        Err(e) => Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
        )),
    }
}
