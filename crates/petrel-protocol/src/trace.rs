//! Message trace records as RocketMQ's remoting clients write them to `RMQ_SYS_TRACE_TOPIC`
//! (`TraceDataEncoder`, `TraceType`, `TraceConstants`): one trace message's body is records
//! back to back, fields separated by [`CONTENT_SEPARATOR`] (char 1), each record ended by
//! [`FIELD_SEPARATOR`] (char 2). The trace message's keys are the traced messages' ids and
//! keys, which the broker's index makes queryable (`queryMsgTraceById`).

/// Between the fields of a record (`TraceConstants.CONTENT_SPLITOR`).
pub const CONTENT_SEPARATOR: char = '\u{1}';
/// After each record (`TraceConstants.FIELD_SPLITOR`).
pub const FIELD_SEPARATOR: char = '\u{2}';
/// The producer group of a client's inner trace producer is this prefix plus the traced
/// client's group (`TraceConstants.GROUP_NAME_PREFIX`).
pub const TRACE_PRODUCER_GROUP_PREFIX: &str = "_INNER_TRACE_PRODUCER-";
/// Largest trace message body a client sends (`TraceConstants`' 128,000 bytes).
pub const TRACE_MESSAGE_BYTES_MAX: usize = 128_000;
/// The region clients write into records unless configured (`TraceConstants`'
/// `DEFAULT_REDION`, sic).
pub const DEFAULT_REGION: &str = "DefaultRegion";
/// Most records a client puts in one trace message (`AsyncTraceDispatcher`'s batch).
pub const TRACE_BATCH_RECORDS_MAX: usize = 20;

/// `TraceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceType {
    Pub,
    SubBefore,
    SubAfter,
    EndTransaction,
    Recall,
}

impl TraceType {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceType::Pub => "Pub",
            TraceType::SubBefore => "SubBefore",
            TraceType::SubAfter => "SubAfter",
            TraceType::EndTransaction => "EndTransaction",
            TraceType::Recall => "Recall",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "Pub" => TraceType::Pub,
            "SubBefore" => TraceType::SubBefore,
            "SubAfter" => TraceType::SubAfter,
            "EndTransaction" => TraceType::EndTransaction,
            "Recall" => TraceType::Recall,
            _ => return None,
        })
    }
}

/// `MessageType` ordinals in a Pub record.
pub mod msg_type {
    pub const NORMAL: i32 = 0;
    pub const TRANS_HALF: i32 = 1;
    pub const TRANS_COMMIT: i32 = 2;
    pub const DELAY: i32 = 3;
    pub const ORDER: i32 = 4;
}

/// One decoded record; fields a type does not carry are left empty or 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceRecord {
    pub trace_type: Option<TraceType>,
    /// Epoch ms (send time for Pub, consume start for SubBefore, end for SubAfter).
    pub timestamp: i64,
    pub region_id: String,
    /// Producer group (Pub, EndTransaction) or consumer group (SubBefore, SubAfter).
    pub group_name: String,
    pub topic: String,
    /// The client's message id (unique key).
    pub msg_id: String,
    pub tags: String,
    pub keys: String,
    pub store_host: String,
    pub body_length: i32,
    pub cost_time_ms: i64,
    pub msg_type: i32,
    pub offset_msg_id: String,
    pub success: bool,
    /// Ties a SubBefore to its SubAfter (one consume call).
    pub request_id: String,
    pub retry_times: i32,
    /// `ConsumeReturnType` ordinal (SubAfter).
    pub context_code: i32,
    pub client_host: String,
    pub transaction_id: String,
    pub transaction_state: String,
    pub from_transaction_check: bool,
}

fn push(out: &mut String, field: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(out, "{field}");
    out.push(CONTENT_SEPARATOR);
}

impl TraceRecord {
    /// Appends the record in `TraceDataEncoder.encoderFromContextBean`'s layout (non-cloud).
    pub fn encode_into(&self, out: &mut String) {
        let Some(kind) = self.trace_type else {
            return;
        };
        push(out, kind.as_str());
        match kind {
            TraceType::Pub => {
                push(out, self.timestamp);
                push(out, &self.region_id);
                push(out, &self.group_name);
                push(out, &self.topic);
                push(out, &self.msg_id);
                push(out, &self.tags);
                push(out, &self.keys);
                push(out, &self.store_host);
                push(out, self.body_length);
                push(out, self.cost_time_ms);
                push(out, self.msg_type);
                push(out, &self.offset_msg_id);
                out.push_str(if self.success { "true" } else { "false" });
            }
            TraceType::SubBefore => {
                push(out, self.timestamp);
                push(out, &self.region_id);
                push(out, &self.group_name);
                push(out, &self.request_id);
                push(out, &self.msg_id);
                push(out, self.retry_times);
                out.push_str(&self.keys);
            }
            TraceType::SubAfter => {
                push(out, &self.request_id);
                push(out, &self.msg_id);
                push(out, self.cost_time_ms);
                push(out, self.success);
                push(out, &self.keys);
                push(out, self.context_code);
                push(out, self.timestamp);
                out.push_str(&self.group_name);
            }
            TraceType::EndTransaction => {
                push(out, self.timestamp);
                push(out, &self.region_id);
                push(out, &self.group_name);
                push(out, &self.topic);
                push(out, &self.msg_id);
                push(out, &self.tags);
                push(out, &self.keys);
                push(out, &self.store_host);
                push(out, self.msg_type);
                push(out, &self.transaction_id);
                push(out, &self.transaction_state);
                out.push_str(if self.from_transaction_check {
                    "true"
                } else {
                    "false"
                });
            }
            TraceType::Recall => {
                push(out, self.timestamp);
                push(out, &self.region_id);
                push(out, &self.group_name);
                push(out, &self.topic);
                push(out, &self.msg_id);
                out.push_str(if self.success { "true" } else { "false" });
            }
        }
        out.push(FIELD_SEPARATOR);
    }
}

/// Decodes a trace message body (`TraceDataEncoder.decoderFromTraceDataString`), leniently:
/// records of unknown types or with too few fields are skipped, numbers that do not parse
/// read as 0.
pub fn decode(body: &str) -> Vec<TraceRecord> {
    let mut out = Vec::new();
    for record in body.split(FIELD_SEPARATOR) {
        let f: Vec<&str> = record.split(CONTENT_SEPARATOR).collect();
        let Some(kind) = f.first().and_then(|t| TraceType::parse(t)) else {
            continue;
        };
        let s = |i: usize| f.get(i).map_or(String::new(), |v| v.to_string());
        let n = |i: usize| {
            f.get(i)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(0)
        };
        let b = |i: usize| {
            f.get(i)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let mut r = TraceRecord {
            trace_type: Some(kind),
            ..Default::default()
        };
        match kind {
            TraceType::Pub if f.len() >= 13 => {
                r.timestamp = n(1);
                r.region_id = s(2);
                r.group_name = s(3);
                r.topic = s(4);
                r.msg_id = s(5);
                r.tags = s(6);
                r.keys = s(7);
                r.store_host = s(8);
                r.body_length = n(9) as i32;
                r.cost_time_ms = n(10);
                r.msg_type = n(11) as i32;
                if f.len() == 13 {
                    r.success = b(12);
                } else {
                    r.offset_msg_id = s(12);
                    r.success = b(13);
                    if f.len() >= 15 {
                        r.client_host = s(14);
                    }
                }
            }
            TraceType::SubBefore if f.len() >= 8 => {
                r.timestamp = n(1);
                r.region_id = s(2);
                r.group_name = s(3);
                r.request_id = s(4);
                r.msg_id = s(5);
                r.retry_times = n(6) as i32;
                r.keys = s(7);
            }
            TraceType::SubAfter if f.len() >= 6 => {
                r.request_id = s(1);
                r.msg_id = s(2);
                r.cost_time_ms = n(3);
                r.success = b(4);
                r.keys = s(5);
                r.context_code = n(6) as i32;
                if f.len() >= 9 {
                    r.timestamp = n(7);
                    r.group_name = s(8);
                }
            }
            TraceType::EndTransaction if f.len() >= 13 => {
                r.timestamp = n(1);
                r.region_id = s(2);
                r.group_name = s(3);
                r.topic = s(4);
                r.msg_id = s(5);
                r.tags = s(6);
                r.keys = s(7);
                r.store_host = s(8);
                r.msg_type = n(9) as i32;
                r.transaction_id = s(10);
                r.transaction_state = s(11);
                r.from_transaction_check = b(12);
            }
            TraceType::Recall if f.len() >= 7 => {
                r.timestamp = n(1);
                r.region_id = s(2);
                r.group_name = s(3);
                r.topic = s(4);
                r.msg_id = s(5);
                r.success = b(6);
            }
            _ => continue,
        }
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_java_clients_write() {
        // A Pub and a SubBefore/SubAfter pair, as a 4.9/5.x Java client writes them.
        let body = "Pub\u{1}1700000000000\u{1}DefaultRegion\u{1}pg\u{1}T\u{1}MSGID\u{1}TagA\u{1}k1\u{1}10.0.0.1:10911\u{1}5\u{1}3\u{1}0\u{1}OFFSETID\u{1}true\u{2}\
SubBefore\u{1}1700000000100\u{1}DefaultRegion\u{1}cg\u{1}REQ\u{1}MSGID\u{1}0\u{1}k1\u{2}\
SubAfter\u{1}REQ\u{1}MSGID\u{1}7\u{1}true\u{1}k1\u{1}0\u{1}1700000000107\u{1}cg\u{2}";
        let records = decode(body);
        assert_eq!(records.len(), 3);
        let p = &records[0];
        assert_eq!(p.trace_type, Some(TraceType::Pub));
        assert_eq!((p.group_name.as_str(), p.msg_id.as_str()), ("pg", "MSGID"));
        assert_eq!((p.cost_time_ms, p.success), (3, true));
        assert_eq!(p.offset_msg_id, "OFFSETID");
        assert_eq!(records[2].group_name, "cg");
        assert_eq!(records[2].timestamp, 1_700_000_000_107);
        // Encoding gives the same bytes back.
        let mut again = String::new();
        for r in &records {
            r.encode_into(&mut again);
        }
        assert_eq!(again, body);
    }

    #[test]
    fn skips_what_it_cannot_read() {
        assert!(decode("").is_empty());
        assert!(decode("Nope\u{1}1\u{2}Pub\u{1}1\u{2}").is_empty());
    }
}
