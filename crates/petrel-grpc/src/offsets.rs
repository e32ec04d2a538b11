//! The v2.0.3 RPCs for clients that keep their own position: UpdateOffset, GetOffset,
//! QueryOffset and PullMessage (a server stream: status, messages, next offset), over the
//! same consumer offsets and store the remoting PULL and QUERY_CONSUMER_OFFSET use.

use std::time::Duration;

use petrel_auth::{Action, Need, Resource as AuthResource};
use petrel_broker::message::OwnedMessage;
use petrel_protocol::message::RecordView;
use petrel_store::{BoundaryType, GetMessageStatus};

use crate::auth;
use crate::consume::{checked_group, MAX_BATCH_SIZE, MAX_LONG_POLLING_MS};
use crate::message::{message_type_of, v2_message, Delivery};
use crate::metadata::Caller;
use crate::pb::{
    pull_message_response, Code, FilterType, GetOffsetRequest, GetOffsetResponse, MessageQueue,
    PullMessageRequest, PullMessageResponse, QueryOffsetPolicy, QueryOffsetRequest,
    QueryOffsetResponse, UpdateOffsetRequest, UpdateOffsetResponse,
};
use crate::route::{checked_topic, existing_topic};
use crate::server::Shared;
use crate::status::{ok, status, Failure};

/// The topic and queue id a request names, checked: the topic exists and has the queue.
fn checked_queue(shared: &Shared, queue: Option<&MessageQueue>) -> Result<(String, i32), Failure> {
    let topic = checked_topic(queue.and_then(|q| q.topic.as_ref()))?;
    let config = existing_topic(shared, topic)?;
    let id = queue.map_or(-1, |q| q.id);
    if id < 0 || id >= config.read_queue_nums {
        return Err(Failure::new(
            Code::BadRequest,
            format!(
                "queue {id} of topic {topic} does not exist (it has {} read queues)",
                config.read_queue_nums
            ),
        ));
    }
    Ok((topic.to_string(), id))
}

fn sub_needs(topic: &str, group: Option<&str>) -> Vec<Need> {
    let mut needs = vec![Need::new(AuthResource::topic(topic), &[Action::Sub])];
    if let Some(g) = group {
        needs.push(Need::new(AuthResource::group(g), &[Action::Sub]));
    }
    needs
}

pub fn update_offset(
    shared: &Shared,
    caller: &Caller,
    request: &UpdateOffsetRequest,
) -> UpdateOffsetResponse {
    let result = (|| {
        let group = checked_group(request.group.as_ref())?;
        let (topic, id) = checked_queue(shared, request.message_queue.as_ref())?;
        auth::check(shared, caller, &sub_needs(&topic, Some(group)))?;
        let max = shared.broker.store.get_max_offset_in_queue(&topic, id);
        if request.offset < 0 || request.offset > max {
            return Err(Failure::new(
                Code::IllegalOffset,
                format!(
                    "offset {} is outside queue {topic}/{id} (0 to {max})",
                    request.offset
                ),
            ));
        }
        shared
            .broker
            .offsets
            .commit(group, &topic, id, request.offset);
        Ok(())
    })();
    UpdateOffsetResponse {
        status: Some(result.map_or_else(|Failure(s)| s, |()| ok())),
    }
}

pub fn get_offset(
    shared: &Shared,
    caller: &Caller,
    request: &GetOffsetRequest,
) -> GetOffsetResponse {
    let result = (|| {
        let group = checked_group(request.group.as_ref())?;
        let (topic, id) = checked_queue(shared, request.message_queue.as_ref())?;
        auth::check(shared, caller, &sub_needs(&topic, Some(group)))?;
        shared
            .broker
            .offsets
            .query(group, &topic, id)
            .ok_or_else(|| {
                Failure::new(
                    Code::OffsetNotFound,
                    format!("group {group} has no offset for queue {topic}/{id}"),
                )
            })
    })();
    match result {
        Ok(offset) => GetOffsetResponse {
            status: Some(ok()),
            offset,
        },
        Err(Failure(s)) => GetOffsetResponse {
            status: Some(s),
            offset: 0,
        },
    }
}

/// QueryOffset. Like GET_MAX_OFFSET, it first lets the dispatcher catch up (at most 500 ms),
/// so that a message acknowledged just before counts.
pub async fn query_offset(
    shared: &Shared,
    caller: &Caller,
    request: &QueryOffsetRequest,
) -> QueryOffsetResponse {
    petrel_broker::processor::offset::dispatch_caught_up(&shared.broker).await;
    let result = (|| {
        let (topic, id) = checked_queue(shared, request.message_queue.as_ref())?;
        auth::check(shared, caller, &sub_needs(&topic, None))?;
        let store = &shared.broker.store;
        match QueryOffsetPolicy::try_from(request.query_offset_policy) {
            Ok(QueryOffsetPolicy::Beginning) => Ok(store.get_min_offset_in_queue(&topic, id)),
            Ok(QueryOffsetPolicy::End) => Ok(store.get_max_offset_in_queue(&topic, id)),
            Ok(QueryOffsetPolicy::Timestamp) => {
                let ts = request.timestamp.as_ref().ok_or_else(|| {
                    Failure::new(Code::BadRequest, "the TIMESTAMP policy needs a timestamp")
                })?;
                let ms = ts
                    .seconds
                    .saturating_mul(1000)
                    .saturating_add(i64::from(ts.nanos / 1_000_000));
                Ok(store.get_offset_in_queue_by_time(&topic, id, ms, BoundaryType::Lower))
            }
            Err(_) => Err(Failure::new(
                Code::BadRequest,
                format!(
                    "unknown query offset policy {}",
                    request.query_offset_policy
                ),
            )),
        }
    })();
    match result {
        Ok(offset) => QueryOffsetResponse {
            status: Some(ok()),
            offset,
        },
        Err(Failure(s)) => QueryOffsetResponse {
            status: Some(s),
            offset: 0,
        },
    }
}

/// PullMessage: up to `batch_size` messages of one queue from `offset`, waiting up to the
/// long-polling timeout for one to arrive. Responses: a status, the messages, then the next
/// offset (only the status when the request is refused).
pub async fn pull(
    shared: &Shared,
    caller: &Caller,
    request: &PullMessageRequest,
) -> Vec<PullMessageResponse> {
    let content = |c| PullMessageResponse { content: Some(c) };
    match pull_messages(shared, caller, request).await {
        Ok((messages, next)) => {
            let mut out = Vec::with_capacity(messages.len() + 2);
            out.push(content(pull_message_response::Content::Status(
                if messages.is_empty() {
                    status(Code::MessageNotFound, "no new message")
                } else {
                    ok()
                },
            )));
            out.extend(
                messages
                    .into_iter()
                    .map(|m| content(pull_message_response::Content::Message(m))),
            );
            out.push(content(pull_message_response::Content::NextOffset(next)));
            out
        }
        Err(Failure(s)) => vec![content(pull_message_response::Content::Status(s))],
    }
}

async fn pull_messages(
    shared: &Shared,
    caller: &Caller,
    request: &PullMessageRequest,
) -> Result<(Vec<crate::pb::Message>, i64), Failure> {
    let group = checked_group(request.group.as_ref())?;
    let (topic, id) = checked_queue(shared, request.message_queue.as_ref())?;
    auth::check(shared, caller, &sub_needs(&topic, Some(group)))?;
    let broker = &shared.broker;
    petrel_broker::processor::consume_checks::pop_checks(broker, group, &topic, id)?;
    if !(1..=MAX_BATCH_SIZE).contains(&request.batch_size) {
        return Err(Failure::new(
            Code::BadRequest,
            format!(
                "batch size {} is out of range: pull 1 to {MAX_BATCH_SIZE}",
                request.batch_size
            ),
        ));
    }
    if request.offset < 0 {
        return Err(Failure::new(
            Code::IllegalOffset,
            format!("offset {} is negative", request.offset),
        ));
    }
    let expression = request.filter_expression.as_ref();
    let exp_type = match expression.map(|e| FilterType::try_from(e.r#type)) {
        Some(Ok(FilterType::Sql)) => "SQL92",
        _ => "TAG",
    };
    let filter = petrel_broker::processor::consume_checks::pop_filter(
        broker,
        Some(exp_type),
        Some(expression.map_or("*", |e| e.expression.as_str())),
    )
    .map_err(|r| Failure::new(Code::IllegalFilterExpression, r.remark))?;
    let poll_ms = request
        .long_polling_timeout
        .as_ref()
        .map_or(0, |d| {
            d.seconds
                .saturating_mul(1000)
                .saturating_add(i64::from(d.nanos / 1_000_000))
        })
        .clamp(0, MAX_LONG_POLLING_MS);
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(u64::try_from(poll_ms).unwrap_or(0));
    let max_bytes = broker
        .live
        .get()
        .max_transfer_bytes_on_message_in_memory
        .max(1);
    let waker = broker.pop.waker(&topic);
    let result = loop {
        let woken = waker.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let result = broker.store.get_message(
            &topic,
            id,
            request.offset,
            usize::try_from(request.batch_size).unwrap_or(1),
            max_bytes,
            filter.as_ref(),
        );
        let empty = matches!(
            result.status,
            GetMessageStatus::OffsetOverflowOne
                | GetMessageStatus::NoMessageInQueue
                | GetMessageStatus::OffsetFoundNull
        );
        if !empty || tokio::time::Instant::now() >= deadline {
            break result;
        }
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    };
    let next = match result.status {
        GetMessageStatus::NoMessageInQueue | GetMessageStatus::NoMatchedLogicQueue => {
            request.offset
        }
        _ => result.next_begin_offset,
    };
    let namespace = request
        .message_queue
        .as_ref()
        .and_then(|q| q.topic.as_ref())
        .map(|t| t.resource_namespace.clone())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(result.messages.len());
    for (record, offset) in result.messages.iter().zip(&result.queue_offsets) {
        let (Ok(view), Ok(msg)) = (RecordView::parse(record), OwnedMessage::from_record(record))
        else {
            continue;
        };
        let delivery = Delivery {
            namespace: namespace.clone(),
            queue_offset: Some(*offset),
            store_timestamp_ms: Some(view.store_timestamp()),
            store_host: Some(view.store_host()),
            delivery_attempt: Some(msg.reconsume_times.saturating_add(1)),
            queue_id: Some(id),
            ..Delivery::default()
        };
        out.push(v2_message(&msg, &topic, message_type_of(&msg), &delivery));
    }
    broker.offsets.record_pull(group, &topic, id, next);
    Ok((out, next))
}
