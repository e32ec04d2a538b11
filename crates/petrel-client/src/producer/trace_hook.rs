//! The producer's side of message trace: a Pub record per send (`SendMessageTraceHookImpl`),
//! handed to the producer's [`TraceDispatcher`](crate::trace::TraceDispatcher).

use petrel_protocol::message::properties as prop;
use petrel_protocol::trace::{msg_type, TraceRecord, TraceType, DEFAULT_REGION};

use super::{Inner, SendResult};
use crate::error::Result;
use crate::message::Message;

/// What a Pub record needs from the message before the send consumes it.
pub(super) struct PubTrace {
    started_ms: i64,
    tags: String,
    keys: String,
    body_length: i32,
    msg_type: i32,
}

impl PubTrace {
    pub(super) fn of(msg: &Message) -> Self {
        let msg_type = if msg.property(prop::TRANSACTION_PREPARED) == Some("true") {
            msg_type::TRANS_HALF
        } else if msg.property(prop::DELAY_TIME_LEVEL).is_some() {
            msg_type::DELAY
        } else {
            msg_type::NORMAL
        };
        Self {
            started_ms: crate::message::now_ms(),
            tags: msg.tags().unwrap_or("").to_string(),
            keys: msg.keys().collect::<Vec<_>>().join(" "),
            body_length: i32::try_from(msg.body.len()).unwrap_or(i32::MAX),
            msg_type,
        }
    }
}

impl Inner {
    /// Records the send's outcome (success, where it was stored, how long it took).
    pub(super) async fn trace_pub(
        &self,
        pub_trace: PubTrace,
        topic: &str,
        unique_key: &str,
        result: &Result<SendResult>,
    ) {
        let Some(trace) = &self.trace else {
            return;
        };
        let (store_host, offset_msg_id, success) = match result {
            Ok(r) => (
                self.instance
                    .master_addr(&r.message_queue.broker_name, topic)
                    .await
                    .unwrap_or_default(),
                r.offset_msg_id.clone(),
                true,
            ),
            Err(_) => (String::new(), String::new(), false),
        };
        trace.record(TraceRecord {
            trace_type: Some(TraceType::Pub),
            timestamp: pub_trace.started_ms,
            region_id: DEFAULT_REGION.to_string(),
            group_name: self.config.group.clone(),
            topic: topic.to_string(),
            msg_id: unique_key.to_string(),
            tags: pub_trace.tags,
            keys: pub_trace.keys,
            store_host,
            body_length: pub_trace.body_length,
            cost_time_ms: (crate::message::now_ms() - pub_trace.started_ms).max(0),
            msg_type: pub_trace.msg_type,
            offset_msg_id,
            success,
            ..Default::default()
        });
    }
}
