//! POP consumption's wire facts (sans-IO): the receipt handle (`extraInfo`, the `POP_CK`
//! property), the offset infos of a POP response, the POP retry topics and the batch-ack
//! body. From `ExtraInfoUtil.java`, `KeyBuilder.java`, `BatchAck.java` in Apache RocketMQ 5.x.
//!
//! A receipt handle is `ckQueueOffset popTime invisibleTime reviveQid retryFlag brokerName
//! queueId [queueOffset]`, space-separated. The client builds it from the POP response
//! header; the broker reads it back on ACK and CHANGE_MESSAGE_INVISIBLETIME. The gRPC
//! receipt handle is the same text followed by `" " + commitLogOffset`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::topic::RETRY_GROUP_TOPIC_PREFIX;

/// `KeyBuilder.POP_ORDER_REVIVE_QUEUE`: the `reviveQid` of FIFO (orderly) pops.
pub const POP_ORDER_REVIVE_QUEUE: i32 = 999;

/// Which topic a handle's message was popped from (`retryFlag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryFlag {
    /// `0`: the topic itself.
    Normal,
    /// `1`: `%RETRY%{group}_{topic}`.
    RetryV1,
    /// `2`: `%RETRY%{group}+{topic}`.
    RetryV2,
}

impl RetryFlag {
    pub fn as_str(self) -> &'static str {
        match self {
            RetryFlag::Normal => "0",
            RetryFlag::RetryV1 => "1",
            RetryFlag::RetryV2 => "2",
        }
    }

    pub fn parse(text: &str) -> Option<RetryFlag> {
        match text {
            "0" => Some(RetryFlag::Normal),
            "1" => Some(RetryFlag::RetryV1),
            "2" => Some(RetryFlag::RetryV2),
            _ => None,
        }
    }

    /// The flag of the topic a message was stored in (`ExtraInfoUtil.getRetry`).
    pub fn of_topic(topic: &str) -> RetryFlag {
        match topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) {
            Some(rest) if rest.contains('+') => RetryFlag::RetryV2,
            Some(_) => RetryFlag::RetryV1,
            None => RetryFlag::Normal,
        }
    }

    /// The topic a handle with this flag names (`ExtraInfoUtil.getRealTopic`).
    pub fn real_topic(self, topic: &str, group: &str) -> String {
        match self {
            RetryFlag::Normal => topic.to_string(),
            RetryFlag::RetryV1 => pop_retry_topic_v1(topic, group),
            RetryFlag::RetryV2 => pop_retry_topic_v2(topic, group),
        }
    }
}

/// `KeyBuilder.buildPopRetryTopicV1`: `%RETRY%{group}_{topic}`, where un-acked POP messages
/// come back (RocketMQ's default, `enableRetryTopicV2=false`).
pub fn pop_retry_topic_v1(topic: &str, group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}_{topic}")
}

/// `KeyBuilder.buildPopRetryTopicV2`: `%RETRY%{group}+{topic}`.
pub fn pop_retry_topic_v2(topic: &str, group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}+{topic}")
}

/// The original topic of `group`'s POP retry topic `retry_topic`, if it is one.
pub fn topic_of_pop_retry<'a>(retry_topic: &'a str, group: &str) -> Option<&'a str> {
    let rest = retry_topic
        .strip_prefix(RETRY_GROUP_TOPIC_PREFIX)?
        .strip_prefix(group)?;
    rest.strip_prefix('_').or_else(|| rest.strip_prefix('+'))
}

/// Why a receipt handle could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the receipt handle {handle:?} is malformed: {reason}")]
pub struct ExtraInfoError {
    pub handle: String,
    pub reason: &'static str,
}

/// A parsed receipt handle (`extraInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraInfo {
    pub ck_queue_offset: i64,
    /// When the message was popped, ms since the epoch.
    pub pop_time: i64,
    /// How long it stays invisible from `pop_time`, ms.
    pub invisible_time: i64,
    pub revive_qid: i32,
    pub retry: RetryFlag,
    pub broker_name: String,
    pub queue_id: i32,
    /// The message's own queue offset (absent in the 7-field form).
    pub queue_offset: Option<i64>,
}

impl ExtraInfo {
    /// Reads the 7- or 8-field form; a gRPC handle's trailing commit-log offset (9th field)
    /// is accepted and ignored.
    pub fn parse(text: &str) -> Result<ExtraInfo, ExtraInfoError> {
        let bad = |reason| ExtraInfoError {
            handle: text.chars().take(200).collect(),
            reason,
        };
        let fields: Vec<&str> = text.split(' ').collect();
        if fields.len() < 7 || fields.len() > 9 {
            return Err(bad("it does not have 7 to 9 space-separated fields"));
        }
        let int = |i: usize, what| fields[i].parse::<i64>().map_err(|_| bad(what));
        let queue_id = fields[6]
            .parse::<i32>()
            .map_err(|_| bad("the queue id is not a number"))?;
        Ok(ExtraInfo {
            ck_queue_offset: int(0, "the checkpoint offset is not a number")?,
            pop_time: int(1, "the pop time is not a number")?,
            invisible_time: int(2, "the invisible time is not a number")?,
            revive_qid: fields[3]
                .parse::<i32>()
                .map_err(|_| bad("the revive queue id is not a number"))?,
            retry: RetryFlag::parse(fields[4])
                .ok_or_else(|| bad("the retry flag is not 0, 1 or 2"))?,
            broker_name: fields[5].to_string(),
            queue_id,
            queue_offset: match fields.get(7) {
                Some(_) => Some(int(7, "the queue offset is not a number")?),
                None => None,
            },
        })
    }

    /// True for a FIFO pop's handle.
    pub fn is_order(&self) -> bool {
        self.revive_qid == POP_ORDER_REVIVE_QUEUE
    }

    /// When the message becomes visible again, ms since the epoch.
    pub fn visible_at(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible_time)
    }
}

impl fmt::Display for ExtraInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {}",
            self.ck_queue_offset,
            self.pop_time,
            self.invisible_time,
            self.revive_qid,
            self.retry.as_str(),
            self.broker_name,
            self.queue_id
        )?;
        if let Some(offset) = self.queue_offset {
            write!(f, " {offset}")?;
        }
        Ok(())
    }
}

/// Builds the `startOffsetInfo`, `msgOffsetInfo` and `orderCountInfo` strings of a POP
/// response, one queue at a time.
#[derive(Debug, Default, Clone)]
pub struct OffsetInfos {
    pub start_offset_info: String,
    pub msg_offset_info: String,
    pub order_count_info: String,
}

impl OffsetInfos {
    /// One queue's popped messages (`offsets` in queue order, not empty) from `topic` (its
    /// stored name: a retry topic yields flag 1 or 2).
    pub fn add_queue(&mut self, topic: &str, queue_id: i32, start_offset: i64, offsets: &[i64]) {
        let flag = RetryFlag::of_topic(topic).as_str();
        sep(&mut self.start_offset_info);
        self.start_offset_info
            .push_str(&format!("{flag} {queue_id} {start_offset}"));
        sep(&mut self.msg_offset_info);
        let list: Vec<String> = offsets.iter().map(i64::to_string).collect();
        self.msg_offset_info
            .push_str(&format!("{flag} {queue_id} {}", list.join(",")));
    }

    /// A FIFO message delivered `count` times before (`buildQueueOffsetOrderCountInfo`).
    pub fn add_order_count(&mut self, topic: &str, queue_id: i32, offset: i64, count: i32) {
        let flag = RetryFlag::of_topic(topic).as_str();
        sep(&mut self.order_count_info);
        self.order_count_info
            .push_str(&format!("{flag} qo{queue_id}%{offset} {count}"));
    }
}

fn sep(s: &mut String) {
    if !s.is_empty() {
        s.push(';');
    }
}

/// One entry of a BATCH_ACK_MESSAGE body (`BatchAck.java`): acks of the offsets
/// `start_offset + i` for every bit `i` set in `bit_set`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchAck {
    #[serde(rename = "c", alias = "consumerGroup")]
    pub consumer_group: String,
    #[serde(rename = "t", alias = "topic")]
    pub topic: String,
    /// `"0"`, `"1"` or `"2"` as [`RetryFlag`].
    #[serde(rename = "r", alias = "retry")]
    pub retry: String,
    #[serde(rename = "so", alias = "startOffset")]
    pub start_offset: i64,
    #[serde(rename = "q", alias = "queueId")]
    pub queue_id: i32,
    #[serde(rename = "rq", alias = "reviveQueueId")]
    pub revive_queue_id: i32,
    #[serde(rename = "pt", alias = "popTime")]
    pub pop_time: i64,
    #[serde(rename = "it", alias = "invisibleTime")]
    pub invisible_time: i64,
    /// Java's `BitSet.toByteArray()` (little-endian bytes), base64 as fastjson writes
    /// `byte[]`.
    #[serde(rename = "b", alias = "bitSet")]
    pub bit_set: String,
}

impl BatchAck {
    /// The acked offsets; `None` if the bit set is not base64. At most `max_offsets` are
    /// returned (a bit set is client input).
    pub fn offsets(&self, max_offsets: usize) -> Option<Vec<i64>> {
        let bytes = base64_decode(&self.bit_set)?;
        let mut out = Vec::new();
        for (i, byte) in bytes.iter().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) != 0 {
                    if out.len() >= max_offsets {
                        return Some(out);
                    }
                    let index = i64::try_from(i * 8 + bit).ok()?;
                    out.push(self.start_offset.checked_add(index)?);
                }
            }
        }
        Some(out)
    }
}

/// `BatchAckMessageRequestBody.java`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchAckMessageRequestBody {
    pub broker_name: String,
    pub acks: Vec<BatchAck>,
}

/// Standard base64 (what fastjson writes for `byte[]`), without a dependency for 20 lines.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let trimmed = text.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in trimmed.bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_reads_back_what_java_builds() {
        let text = "12 1700000000000 60000 0 1 broker-a 3 14";
        let info = ExtraInfo::parse(text).unwrap();
        assert_eq!(info.ck_queue_offset, 12);
        assert_eq!(info.pop_time, 1_700_000_000_000);
        assert_eq!(info.invisible_time, 60_000);
        assert_eq!(info.retry, RetryFlag::RetryV1);
        assert_eq!(info.broker_name, "broker-a");
        assert_eq!((info.queue_id, info.queue_offset), (3, Some(14)));
        assert_eq!(info.visible_at(), 1_700_000_060_000);
        assert_eq!(info.to_string(), text);
        // A gRPC handle carries the commit-log offset after it.
        assert_eq!(ExtraInfo::parse(&format!("{text} 4096")).unwrap(), info);
        assert!(ExtraInfo::parse("12 1 2 999 0 b 0").unwrap().is_order());
    }

    #[test]
    fn malformed_handles_are_errors() {
        for bad in [
            "",
            "1 2 3",
            "x 1 2 0 0 b 0 1",
            "1 2 3 0 7 b 0 1",
            "1 2 3 0 0 b q 1",
            "1 2 3 0 0 b 0 1 2 3",
        ] {
            assert!(ExtraInfo::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn retry_topics_and_flags() {
        assert_eq!(pop_retry_topic_v1("T", "G"), "%RETRY%G_T");
        assert_eq!(RetryFlag::of_topic("%RETRY%G_T"), RetryFlag::RetryV1);
        assert_eq!(RetryFlag::of_topic("%RETRY%G+T"), RetryFlag::RetryV2);
        assert_eq!(RetryFlag::of_topic("T"), RetryFlag::Normal);
        assert_eq!(topic_of_pop_retry("%RETRY%G_T", "G"), Some("T"));
        assert_eq!(topic_of_pop_retry("%RETRY%G+T", "G"), Some("T"));
        assert_eq!(topic_of_pop_retry("%RETRY%H_T", "G"), None);
        assert_eq!(RetryFlag::RetryV1.real_topic("T", "G"), "%RETRY%G_T");
    }

    #[test]
    fn offset_infos_are_built_as_java_parses_them() {
        let mut infos = OffsetInfos::default();
        infos.add_queue("T", 0, 5, &[5, 6, 7]);
        infos.add_queue("%RETRY%G_T", 1, 0, &[0]);
        infos.add_order_count("T", 0, 6, 2);
        assert_eq!(infos.start_offset_info, "0 0 5;1 1 0");
        assert_eq!(infos.msg_offset_info, "0 0 5,6,7;1 1 0");
        assert_eq!(infos.order_count_info, "0 qo0%6 2");
    }

    #[test]
    fn batch_ack_bits_are_offsets() {
        // BitSet {0, 2, 9} → toByteArray [0b0000_0101, 0b0000_0010] → "BQI=".
        let ack = BatchAck {
            start_offset: 100,
            bit_set: "BQI=".into(),
            ..Default::default()
        };
        assert_eq!(ack.offsets(64), Some(vec![100, 102, 109]));
        assert_eq!(ack.offsets(2), Some(vec![100, 102]));
        let bad = BatchAck {
            bit_set: "*".into(),
            ..Default::default()
        };
        assert_eq!(bad.offsets(64), None);
        let body: BatchAckMessageRequestBody = serde_json::from_str(
            r#"{"brokerName":"b","acks":[{"c":"G","t":"T","r":"0","so":1,"q":0,"rq":0,"pt":5,"it":6,"b":"AQ=="}]}"#,
        )
        .unwrap();
        assert_eq!(body.acks[0].offsets(8), Some(vec![1]));
    }
}
