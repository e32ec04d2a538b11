//! A message's trace (mqadmin `queryMsgTraceById`, the console's trace view): the records
//! clients with trace on wrote about it to the trace topic, found with `QUERY_MESSAGE` by the
//! message's id (trace messages carry it as a key) and decoded.

use petrel_protocol::trace::{self, TraceRecord};
use serde::Serialize;

use super::{Admin, AdminError, Result};
use crate::message::MessageExt;

/// One trace record of a message, with the host of the client that wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceEvent {
    /// `Pub`, `SubBefore`, `SubAfter`, `EndTransaction`, ...
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The producer group (Pub) or consumer group (Sub*).
    pub group_name: String,
    pub client_host: String,
    /// When it happened (epoch ms).
    pub timestamp: i64,
    pub cost_time_ms: i64,
    pub success: bool,
    pub topic: String,
    pub tags: String,
    pub keys: String,
    pub store_host: String,
    pub retry_times: i32,
    pub request_id: String,
}

impl TraceEvent {
    /// The event a record of trace message `m` describes; `None` for an unknown record type.
    pub fn from_record(r: &TraceRecord, m: &MessageExt) -> Option<TraceEvent> {
        let kind = r.trace_type?;
        // Pub records of 5.x clients name their host; otherwise the trace message's sender.
        let client_host = if r.client_host.is_empty() {
            m.born_host.ip().to_string()
        } else {
            r.client_host.clone()
        };
        Some(TraceEvent {
            kind: kind.as_str(),
            group_name: r.group_name.clone(),
            client_host,
            timestamp: if r.timestamp > 0 {
                r.timestamp
            } else {
                m.store_timestamp
            },
            cost_time_ms: r.cost_time_ms,
            success: r.success,
            topic: r.topic.clone(),
            tags: r.tags.clone(),
            keys: r.keys.clone(),
            store_host: r.store_host.clone(),
            retry_times: r.retry_times,
            request_id: r.request_id.clone(),
        })
    }
}

impl Admin {
    /// The trace events of message `msg_id` recorded in `trace_topic` between `begin_ms`
    /// and `end_ms` (at most `max_num` trace messages read), oldest first. No trace
    /// message at all is an empty list, not an error.
    pub async fn message_trace(
        &self,
        msg_id: &str,
        trace_topic: &str,
        begin_ms: i64,
        end_ms: i64,
        max_num: i32,
    ) -> Result<Vec<TraceEvent>> {
        let messages = match self
            .query_message(trace_topic, msg_id, max_num, begin_ms, end_ms, false)
            .await
        {
            Ok(m) => m,
            Err(AdminError::MessageNotFound(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut events = Vec::new();
        for m in &messages {
            let body = String::from_utf8_lossy(&m.body);
            for r in trace::decode(&body) {
                if r.msg_id == msg_id {
                    events.extend(TraceEvent::from_record(&r, m));
                }
            }
        }
        events.sort_by_key(|e| e.timestamp);
        Ok(events)
    }
}
