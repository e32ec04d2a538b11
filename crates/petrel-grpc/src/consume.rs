//! The consumer side: QueryAssignment (push consumers learn which queues to receive from) and
//! ReceiveMessage (POP with long polling), on the broker's POP state (`petrel_broker::pop`),
//! so gRPC and remoting POP consumers of one group share in-flight messages, offsets, retries
//! and the DLQ. As Apache's proxy: a receive pops from every queue of the broker (the queue
//! a client names only selects the broker), a group with `consumeMessageOrderly` receives
//! FIFO, and the receipt handle is the POP handle followed by the CommitLog offset.

use std::sync::Arc;

use petrel_auth::{Action, Need, Resource as AuthResource};
use petrel_broker::message::OwnedMessage;
use petrel_broker::pop::take::{self, InitMode, PopRequest, PopWait, PoppedMessage};
use petrel_broker::processor::consume_checks::{pop_checks, pop_filter};
use petrel_protocol::message::RecordView;
use petrel_protocol::pop::{topic_of_pop_retry, ExtraInfo, RetryFlag};

use crate::auth;
use crate::message::{message_type_of, v2_message, Delivery};
use crate::metadata::Caller;
use crate::pb::{
    receive_message_response, Assignment, Broker, Code, FilterType, MessageQueue, Permission,
    QueryAssignmentRequest, QueryAssignmentResponse, ReceiveMessageRequest, ReceiveMessageResponse,
    Resource,
};
use crate::route::{accepted_types, checked_topic, existing_topic, topic_message_type};
use crate::server::Shared;
use crate::status::{ok, status, Failure};

/// Invisible time of a push consumer's messages (it asks for none; Apache's proxy uses its
/// `defaultInvisibleTimeMills`).
pub const DEFAULT_INVISIBLE_MS: i64 = 60_000;
/// Longest a receive is held (the proxy's `grpcClientConsumerMaxLongPollingTimeoutMillis`).
pub const MAX_LONG_POLLING_MS: i64 = 20_000;
/// Answer this much before the client's own deadline (long-polling timeout plus its request
/// timeout) so the answer is not lost to it.
const LONG_POLLING_MARGIN_MS: i64 = 200;
/// Most messages one receive returns.
pub const MAX_BATCH_SIZE: i32 = 32;

pub fn checked_group(resource: Option<&Resource>) -> Result<&str, Failure> {
    let group = resource.map(|r| r.name.as_str()).unwrap_or("");
    petrel_protocol::name::check_group(group)
        .map_err(|e| Failure::new(Code::IllegalConsumerGroup, e.to_string()))?;
    Ok(group)
}

pub fn query_assignment(
    shared: &Shared,
    caller: &Caller,
    request: &QueryAssignmentRequest,
) -> QueryAssignmentResponse {
    match assignment(shared, caller, request) {
        Ok(assignments) => QueryAssignmentResponse {
            status: Some(ok()),
            assignments,
        },
        Err(Failure(s)) => QueryAssignmentResponse {
            status: Some(s),
            assignments: Vec::new(),
        },
    }
}

/// Every consumer of the group receives from every queue of the broker: one assignment with
/// queue id −1, as the proxy assigns POP consumers.
fn assignment(
    shared: &Shared,
    caller: &Caller,
    request: &QueryAssignmentRequest,
) -> Result<Vec<Assignment>, Failure> {
    let topic = checked_topic(request.topic.as_ref())?;
    let group = checked_group(request.group.as_ref())?;
    auth::check(shared, caller, &needs(topic, group))?;
    let config = existing_topic(shared, topic)?;
    if config.read_queue_nums <= 0 || !petrel_protocol::perm::is_readable(config.perm) {
        return Ok(Vec::new());
    }
    Ok(vec![Assignment {
        message_queue: Some(MessageQueue {
            topic: request.topic.clone(),
            id: -1,
            permission: Permission::ReadWrite as i32,
            broker: Some(Broker {
                name: shared.broker.config.broker_name.clone(),
                id: 0,
                endpoints: request.endpoints.clone(),
            }),
            accept_message_types: accepted_types(topic_message_type(&config)),
        }),
    }])
}

fn needs(topic: &str, group: &str) -> Vec<Need> {
    vec![
        Need::new(AuthResource::topic(topic), &[Action::Sub]),
        Need::new(AuthResource::group(group), &[Action::Sub]),
    ]
}

fn one_status(s: crate::pb::Status) -> Vec<ReceiveMessageResponse> {
    vec![ReceiveMessageResponse {
        content: Some(receive_message_response::Content::Status(s)),
    }]
}

fn millis(d: Option<&prost_types::Duration>) -> Option<i64> {
    d.map(|d| {
        d.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(d.nanos / 1_000_000))
    })
}

/// The responses of one ReceiveMessage, as Apache's proxy writes them: a status (`OK` and
/// then the messages, or the one status that says why none), and last the delivery
/// timestamp (clients measure their receive latency from it; the Python client needs it).
pub async fn receive(
    shared: &Shared,
    caller: &Caller,
    request: &ReceiveMessageRequest,
) -> Vec<ReceiveMessageResponse> {
    let mut responses = receive_responses(shared, caller, request).await;
    responses.push(ReceiveMessageResponse {
        content: Some(receive_message_response::Content::DeliveryTimestamp(
            crate::message::timestamp(petrel_broker::clock::now_ms()),
        )),
    });
    responses
}

async fn receive_responses(
    shared: &Shared,
    caller: &Caller,
    request: &ReceiveMessageRequest,
) -> Vec<ReceiveMessageResponse> {
    match receive_messages(shared, caller, request).await {
        Ok(messages) if messages.is_empty() => {
            one_status(status(Code::MessageNotFound, "no new message"))
        }
        Ok(messages) => {
            let mut out = Vec::with_capacity(messages.len() + 1);
            out.push(ReceiveMessageResponse {
                content: Some(receive_message_response::Content::Status(ok())),
            });
            out.extend(messages.into_iter().map(|m| ReceiveMessageResponse {
                content: Some(receive_message_response::Content::Message(m)),
            }));
            out
        }
        Err(Failure(s)) => one_status(s),
    }
}

async fn receive_messages(
    shared: &Shared,
    caller: &Caller,
    request: &ReceiveMessageRequest,
) -> Result<Vec<crate::pb::Message>, Failure> {
    let queue = request.message_queue.as_ref();
    let topic = checked_topic(queue.and_then(|q| q.topic.as_ref()))?;
    let group = checked_group(request.group.as_ref())?;
    auth::check(shared, caller, &needs(topic, group))?;
    let broker = &shared.broker;
    let (_, group_config) = pop_checks(broker, group, topic, -1)?;
    if !(1..=MAX_BATCH_SIZE).contains(&request.batch_size) {
        return Err(Failure::new(
            Code::BadRequest,
            format!(
                "batch size {} is out of range: receive 1 to {MAX_BATCH_SIZE} messages at a time",
                request.batch_size
            ),
        ));
    }
    let invisible = match millis(request.invisible_duration.as_ref()) {
        Some(ms)
            if !(petrel_broker::pop::MIN_INVISIBLE_MS..=petrel_broker::pop::MAX_INVISIBLE_MS)
                .contains(&ms) =>
        {
            return Err(Failure::new(
                Code::IllegalInvisibleTime,
                format!(
                    "the invisible duration {ms} ms is out of range: use {} ms to {} ms",
                    petrel_broker::pop::MIN_INVISIBLE_MS,
                    petrel_broker::pop::MAX_INVISIBLE_MS
                ),
            ))
        }
        Some(ms) => ms,
        None => DEFAULT_INVISIBLE_MS,
    };
    let poll_ms = millis(request.long_polling_timeout.as_ref())
        .unwrap_or(MAX_LONG_POLLING_MS)
        .clamp(0, MAX_LONG_POLLING_MS)
        .saturating_sub(LONG_POLLING_MARGIN_MS)
        .max(0);
    let expression = request.filter_expression.as_ref();
    let exp_type = match expression.map(|e| FilterType::try_from(e.r#type)) {
        Some(Ok(FilterType::Sql)) => "SQL92",
        _ => "TAG",
    };
    let filter = pop_filter(
        broker,
        Some(exp_type),
        Some(expression.map_or("*", |e| e.expression.as_str())),
    )
    .map_err(|r| Failure::new(Code::IllegalFilterExpression, r.remark))?;
    let order = group_config.consume_message_orderly;
    let req = PopRequest {
        group: group.to_string(),
        topic: topic.to_string(),
        queue_id: -1,
        max_msgs: usize::try_from(request.batch_size).unwrap_or(1),
        invisible_ms: invisible,
        order,
        init_mode: InitMode::Max,
        filter: Arc::clone(&filter),
        poll_ms,
        max_bytes: broker
            .live
            .get()
            .max_transfer_bytes_on_message_in_memory
            .max(1),
    };
    let popped = take::pop(broker, &req)
        .await
        .map_err(|PopWait::PollingFull| {
            Failure::new(
                Code::TooManyRequests,
                "too many receive requests are waiting; retry later",
            )
        })?;
    let namespace = queue
        .and_then(|q| q.topic.as_ref())
        .map(|t| t.resource_namespace.clone())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(popped.messages.len());
    for m in &popped.messages {
        match delivered(shared, topic, group, &namespace, &popped, m) {
            Some(message) => out.push(message),
            None => tracing::warn!(
                topic = m.topic,
                queue_id = m.queue_id,
                offset = m.queue_offset,
                "unreadable stored message skipped"
            ),
        }
    }
    Ok(out)
}

/// One popped record as the client receives it.
fn delivered(
    shared: &Shared,
    topic: &str,
    group: &str,
    namespace: &str,
    popped: &take::Popped,
    m: &PoppedMessage,
) -> Option<crate::pb::Message> {
    let view = RecordView::parse(&m.record).ok()?;
    let msg = OwnedMessage::from_record(&m.record).ok()?;
    let handle = ExtraInfo {
        ck_queue_offset: m.start_offset,
        pop_time: popped.pop_time,
        invisible_time: popped.invisible_ms,
        revive_qid: popped.revive_qid,
        retry: RetryFlag::of_topic(&m.topic),
        broker_name: shared.broker.config.broker_name.clone(),
        queue_id: m.queue_id,
        queue_offset: Some(m.queue_offset),
    };
    let attempts_before =
        if topic_of_pop_retry(&m.topic, group).is_some() || m.delivered_before == 0 {
            msg.reconsume_times
        } else {
            m.delivered_before
        };
    let delivery = Delivery {
        namespace: namespace.to_string(),
        receipt_handle: Some(format!("{handle} {}", view.physical_offset())),
        queue_offset: Some(m.queue_offset),
        store_timestamp_ms: Some(view.store_timestamp()),
        store_host: Some(view.store_host()),
        invisible_ms: Some(popped.invisible_ms),
        delivery_attempt: Some(attempts_before.saturating_add(1)),
        delivery_timestamp_ms: None,
        queue_id: Some(m.queue_id),
    };
    Some(v2_message(&msg, topic, message_type_of(&msg), &delivery))
}
