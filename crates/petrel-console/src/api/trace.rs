//! `GET /api/trace?msgId=ID[&traceTopic=T]`: a message's trace events, oldest first (mqadmin
//! `queryMsgTraceById`): sent and stored (Pub), delivered (SubBefore), consumed or failed
//! (SubAfter). Empty when no client with trace on handled it.

use axum::extract::{Query, State};
use axum::Json;
use petrel_client::admin::TraceEvent;
use petrel_protocol::topic::TRACE_TOPIC;
use serde::{Deserialize, Serialize};

use super::{required, ApiResult, AppState};

/// Trace messages read per lookup (the broker's `QUERY_MESSAGE` batch).
const TRACE_MESSAGES_MAX: i32 = 64;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceQuery {
    msg_id: Option<String>,
    trace_topic: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceView {
    msg_id: String,
    trace_topic: String,
    events: Vec<TraceEvent>,
}

pub async fn by_msg_id(
    State(s): State<AppState>,
    Query(q): Query<TraceQuery>,
) -> ApiResult<TraceView> {
    let msg_id = required(&q.msg_id, "msgId")?.to_string();
    let trace_topic = q
        .trace_topic
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(TRACE_TOPIC)
        .to_string();
    let events = s
        .admin
        .message_trace(&msg_id, &trace_topic, 0, i64::MAX, TRACE_MESSAGES_MAX)
        .await?;
    Ok(Json(TraceView {
        msg_id,
        trace_topic,
        events,
    }))
}
