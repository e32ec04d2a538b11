//! SEND_REPLY_MESSAGE (324), SEND_REPLY_MESSAGE_V2 (325): the replier's half of request-reply
//! (RocketMQ's `ReplyMessageProcessor`).
//!
//! A consumer that got a request message (with `CORRELATION_ID`, `REPLY_TO_CLIENT` and `TTL`
//! properties) sends its reply to `{cluster}_REPLY_TOPIC`. The broker pushes the reply straight
//! to the requesting client's connection (PUSH_REPLY_MESSAGE_TO_CLIENT, found by the client id
//! in `REPLY_TO_CLIENT` among the producers that heartbeat here) and answers the replier with
//! the outcome of that push: SUCCESS only if the requester took it. With
//! `storeReplyMessageEnable` the reply is also stored in the topic (for lookup and audit).

use std::sync::atomic::Ordering;
use std::time::Duration;

use petrel_protocol::message::{
    properties, MessageToStore, Properties, PropertiesIter, MAX_PROPERTIES_LEN_BYTES,
};
use petrel_protocol::remoting::header::{
    ReplyMessageRequestHeader, SendMessageRequestHeader, SendMessageResponseHeader,
};
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand};
use petrel_protocol::topic::reply_topic;
use petrel_remoting::RequestContext;

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::processor::send_checks;
use crate::response::{self, Refusal};

/// How long the requester may take to accept a pushed reply (Java's `callClient` waits 10 s;
/// a requester that is alive answers at once, so a shorter bound frees the replier sooner).
const PUSH_REPLY_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn process(
    broker: &BrokerInner,
    ctx: &RequestContext,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let header = SendMessageRequestHeader::decode_for_code(request.code, &request.ext_fields)
        .map_err(|e| Refusal::bad_header(request, e))?;
    let topic = header.topic.as_str();
    send_checks::refuse_send(broker, topic)?;
    let topic_config = broker.topics.get(topic).ok_or_else(|| {
        Refusal::new(
            response_code::TOPIC_NOT_EXIST,
            format!(
                "reply topic[{topic}] not exist on this broker (replies go to {})",
                reply_topic(&broker.config.broker_cluster_name)
            ),
        )
    })?;
    let queue_id = send_checks::writable_queue(&topic_config, header.queue_id, ctx.remote_addr())?;
    send_checks::body_fits(request.body.len(), broker.config.max_message_size_bytes)?;
    push(broker, ctx, request, &header, queue_id).await?;
    let response_header = store(broker, ctx, request, &header, queue_id).await;
    Ok(response::send_result(
        request,
        response_code::SUCCESS,
        &response_header,
    ))
}

/// Pushes the reply to the requester's connection (PUSH_REPLY_MESSAGE_TO_CLIENT); `Ok` only if
/// the requester took it.
async fn push(
    broker: &BrokerInner,
    ctx: &RequestContext,
    request: &RemotingCommand,
    header: &SendMessageRequestHeader,
    queue_id: i32,
) -> Result<(), Refusal> {
    let client_props = header.properties.as_deref().unwrap_or("");
    let mut props: Properties = PropertiesIter::from_validated(client_props).collect();
    let reply_to = props
        .get(properties::MESSAGE_REPLY_TO_CLIENT)
        .map(String::from)
        .ok_or_else(|| {
            Refusal::new(
                response_code::SYSTEM_ERROR,
                format!(
                    "reply message properties[{}] is null: only a reply made from a request \
                     message can be sent as a reply",
                    properties::MESSAGE_REPLY_TO_CLIENT
                ),
            )
        })?;

    // Push to the requester.
    let store_timestamp = now_ms();
    props.insert(properties::PUSH_REPLY_TIME, store_timestamp.to_string());
    let pushed_props = props.encode();
    if pushed_props.len() > MAX_PROPERTIES_LEN_BYTES {
        return Err(Refusal::new(
            response_code::MESSAGE_ILLEGAL,
            format!("the message properties are over {MAX_PROPERTIES_LEN_BYTES} bytes"),
        ));
    }
    let push_header = ReplyMessageRequestHeader {
        producer_group: header.producer_group.clone(),
        topic: header.topic.clone(),
        default_topic: header.default_topic.clone(),
        default_topic_queue_nums: header.default_topic_queue_nums,
        queue_id,
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        flag: header.flag,
        properties: Some(pushed_props),
        reconsume_times: header.reconsume_times,
        unit_mode: header.unit_mode.unwrap_or(false),
        born_host: ctx.remote_addr().to_string(),
        store_host: broker.store_host.to_string(),
        store_timestamp,
    };
    let connection = broker
        .clients
        .producer_connection_by_client_id(&reply_to)
        .ok_or_else(|| {
            Refusal::new(
                response_code::SYSTEM_ERROR,
                format!(
                    "push reply message fail, channel of <{reply_to}> not found (the requester \
                     is not connected to this broker, or its request timed out and it left)"
                ),
            )
        })?;
    let push = RemotingCommand::request(request_code::PUSH_REPLY_MESSAGE_TO_CLIENT)
        .with_header(&push_header)
        .with_body(request.body.clone());
    match connection.invoke(push, PUSH_REPLY_TIMEOUT).await {
        Ok(r) if r.code == response_code::SUCCESS => Ok(()),
        Ok(r) => {
            tracing::warn!(%reply_to, code = r.code, remark = ?r.remark, "the requester refused a reply");
            Err(Refusal::new(
                response_code::SYSTEM_ERROR,
                format!(
                    "push reply message to {reply_to} fail: {}",
                    r.remark.unwrap_or_default()
                ),
            ))
        }
        Err(e) => {
            tracing::warn!(%reply_to, error = %e, "pushing a reply failed");
            Err(Refusal::new(
                response_code::SYSTEM_ERROR,
                format!("push reply message to {reply_to} fail: {e}"),
            ))
        }
    }
}

/// Stores the reply in its topic when `storeReplyMessageEnable`, and returns the answer's
/// header. A failure to store is only logged: the requester already has the reply.
async fn store(
    broker: &BrokerInner,
    ctx: &RequestContext,
    request: &RemotingCommand,
    header: &SendMessageRequestHeader,
    queue_id: i32,
) -> SendMessageResponseHeader {
    let topic = header.topic.as_str();
    let client_props = header.properties.as_deref().unwrap_or("");
    let mut response_header = SendMessageResponseHeader {
        msg_id: "0".to_string(),
        queue_id,
        queue_offset: 0,
        ..Default::default()
    };
    if broker.live.get().store_reply_message_enable {
        if client_props.len() > MAX_PROPERTIES_LEN_BYTES {
            tracing::warn!(
                topic,
                "reply not stored: properties over {MAX_PROPERTIES_LEN_BYTES} bytes"
            );
        } else {
            let msg = MessageToStore {
                topic,
                queue_id,
                flag: header.flag,
                body: &request.body,
                properties: client_props.as_bytes(),
                sys_flag: header.sys_flag,
                born_timestamp: header.born_timestamp,
                born_host: ctx.remote_addr(),
                store_host: broker.store_host,
                reconsume_times: header.reconsume_times.unwrap_or(0),
                prepared_transaction_offset: 0,
            };
            match broker.store.put_messages(&[msg], true).await {
                Ok(r) => {
                    if let crate::replica::Replication::Master(m) = &broker.replication {
                        m.notify_data();
                    }
                    broker.stats.messages_put.fetch_add(1, Ordering::Relaxed);
                    response_header.msg_id = r.append.msg_ids.join(",");
                    response_header.queue_offset = r.append.queue_offset;
                }
                Err(e) => tracing::warn!(topic, error = %e, "storing a pushed reply failed"),
            }
        }
    }
    response_header
}
