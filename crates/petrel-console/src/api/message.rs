//! Messages: `GET /api/messages?topic&begin&end[&limit]` (stored in a time range, newest
//! first), `GET /api/messages/by-key?topic&key` (mqadmin `queryMsgByKey`),
//! `GET /api/messages/by-id?topic&id` (offset msgId or unique key, mqadmin `queryMsgById`),
//! `POST /api/messages/resend` (give a message to one consumer group again; from a DLQ, this
//! is how a dead message is retried). A DLQ is searched like any topic: `%DLQ%{group}`.

use axum::extract::{Query, State};
use axum::Json;
use petrel_client::admin::{message_for_group, MessageJson};
use petrel_client::{Producer, ProducerConfig};
use petrel_protocol::topic::{group_of_retry_or_dlq, is_dlq_topic};
use serde::{Deserialize, Serialize};

use super::{now_ms, required, ApiError, ApiResult, AppState};

/// Messages one time-range search returns by default, and at most.
const SEARCH_DEFAULT: usize = 64;
const SEARCH_MAX: usize = 512;
/// Messages one key lookup returns at most (the broker's `QUERY_MESSAGE` batch).
const BY_KEY_MAX: i32 = 64;
/// The producer group of the console's resends.
const CONSOLE_PRODUCER_GROUP: &str = "PETREL_CONSOLE_PRODUCER";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    messages: Vec<MessageJson>,
    /// More messages matched than were returned.
    truncated: bool,
}

#[derive(Deserialize)]
pub struct TimeQuery {
    topic: Option<String>,
    /// Epoch ms; default: an hour before `end`.
    begin: Option<i64>,
    /// Epoch ms; default: now.
    end: Option<i64>,
    limit: Option<usize>,
}

pub async fn by_time(State(s): State<AppState>, Query(q): Query<TimeQuery>) -> ApiResult<Found> {
    let topic = required(&q.topic, "topic")?;
    let end = q.end.unwrap_or_else(|| now_ms().saturating_add(1));
    let begin = q.begin.unwrap_or(end.saturating_sub(3_600_000));
    if begin > end {
        return Err(ApiError::BadRequest(
            "begin is after end; give the range oldest time first".into(),
        ));
    }
    let limit = q.limit.unwrap_or(SEARCH_DEFAULT);
    if !(1..=SEARCH_MAX).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {SEARCH_MAX}, not {limit}"
        )));
    }
    let (messages, truncated) = s.admin.messages_between(topic, begin, end, limit).await?;
    Ok(Json(Found {
        messages: messages.iter().map(MessageJson::from).collect(),
        truncated,
    }))
}

#[derive(Deserialize)]
pub struct KeyQuery {
    topic: Option<String>,
    key: Option<String>,
}

pub async fn by_key(State(s): State<AppState>, Query(q): Query<KeyQuery>) -> ApiResult<Found> {
    let topic = required(&q.topic, "topic")?;
    let key = required(&q.key, "key")?;
    let found = s
        .admin
        .query_message(topic, key, BY_KEY_MAX, 0, i64::MAX, false)
        .await?;
    Ok(Json(Found {
        truncated: found.len() >= BY_KEY_MAX as usize,
        messages: found.iter().map(MessageJson::from).collect(),
    }))
}

#[derive(Deserialize)]
pub struct IdQuery {
    topic: Option<String>,
    id: Option<String>,
}

pub async fn by_id(State(s): State<AppState>, Query(q): Query<IdQuery>) -> ApiResult<MessageJson> {
    let topic = required(&q.topic, "topic")?;
    let id = required(&q.id, "id")?;
    let m = s.admin.query_message_by_id(topic, id).await?;
    Ok(Json(MessageJson::from(&m)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resend {
    /// Where the message is now (a topic, or `%DLQ%{group}`).
    topic: Option<String>,
    msg_id: Option<String>,
    /// The consumer group to give it to; for a DLQ message, the DLQ's group by default.
    group: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resent {
    group: String,
    /// The retry topic it was sent to.
    topic: String,
    msg_id: String,
    broker_name: String,
    queue_id: i32,
    queue_offset: i64,
}

pub async fn resend(State(s): State<AppState>, Json(req): Json<Resend>) -> ApiResult<Resent> {
    let topic = required(&req.topic, "topic")?;
    let msg_id = required(&req.msg_id, "msgId")?;
    let group = match req
        .group
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
    {
        Some(g) => g.to_string(),
        None if is_dlq_topic(topic) => group_of_retry_or_dlq(topic).unwrap_or_default().to_string(),
        None => {
            return Err(ApiError::BadRequest(
                "group is required: name the consumer group that should receive the message".into(),
            ))
        }
    };
    let found = s.admin.query_message_by_id(topic, msg_id).await?;
    let msg = message_for_group(&found, &group)?;
    let producer = Producer::start_on(
        s.admin.instance().clone(),
        ProducerConfig::new(CONSOLE_PRODUCER_GROUP),
    )
    .await
    .map_err(|e| ApiError::from(petrel_client::admin::AdminError::from(e)))?;
    let sent = producer.send(msg).await;
    producer.shutdown().await;
    let sent = sent.map_err(|e| ApiError::from(petrel_client::admin::AdminError::from(e)))?;
    Ok(Json(Resent {
        topic: sent.message_queue.topic.clone(),
        msg_id: sent.msg_id.clone(),
        broker_name: sent.message_queue.broker_name.clone(),
        queue_id: sent.message_queue.queue_id,
        queue_offset: sent.queue_offset,
        group,
    }))
}
