//! The push consumer's side of message trace (`ConsumeMessageTraceHookImpl`): a SubBefore
//! record per message before the listener runs and a SubAfter record per message after it,
//! tied by one request id per listener call (concurrent and orderly listeners alike).

use petrel_protocol::trace::{TraceRecord, TraceType, DEFAULT_REGION};

use super::ConsumerInner;
use crate::message::{new_unique_key, now_ms, MessageExt};

/// `ConsumeReturnType` ordinals written as a SubAfter's context code.
const CONSUME_RETURN_SUCCESS: i32 = 0;
const CONSUME_RETURN_FAILED: i32 = 4;

fn keys(m: &MessageExt) -> String {
    m.keys().collect::<Vec<_>>().join(" ")
}

impl ConsumerInner {
    /// Records the start of a listener call; returns its request id (`None` without trace).
    pub(super) fn trace_before(&self, msgs: &[MessageExt]) -> Option<String> {
        let trace = self.trace.as_ref()?;
        let request_id = new_unique_key();
        let now = now_ms();
        for m in msgs {
            trace.record(TraceRecord {
                trace_type: Some(TraceType::SubBefore),
                timestamp: now,
                region_id: DEFAULT_REGION.to_string(),
                group_name: self.config.group.clone(),
                request_id: request_id.clone(),
                msg_id: m.msg_id().to_string(),
                retry_times: m.reconsume_times,
                keys: keys(m),
                ..Default::default()
            });
        }
        Some(request_id)
    }

    /// Records the end of the listener call `request_id`.
    pub(super) fn trace_after(
        &self,
        request_id: Option<String>,
        msgs: &[MessageExt],
        cost_ms: i64,
        success: bool,
    ) {
        let (Some(trace), Some(request_id)) = (self.trace.as_ref(), request_id) else {
            return;
        };
        let now = now_ms();
        for m in msgs {
            trace.record(TraceRecord {
                trace_type: Some(TraceType::SubAfter),
                timestamp: now,
                group_name: self.config.group.clone(),
                request_id: request_id.clone(),
                msg_id: m.msg_id().to_string(),
                cost_time_ms: cost_ms,
                success,
                keys: keys(m),
                context_code: if success {
                    CONSUME_RETURN_SUCCESS
                } else {
                    CONSUME_RETURN_FAILED
                },
                ..Default::default()
            });
        }
    }
}
