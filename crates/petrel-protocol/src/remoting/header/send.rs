//! `SEND_MESSAGE` (10), `SEND_MESSAGE_V2` (310), `SEND_BATCH_MESSAGE` (320) and the reply
//! variants (324, 325): `SendMessageRequestHeader(V2).java`, `SendMessageResponseHeader.java`.

use super::{command_header, optional, put, put_opt, required, CommandHeader, FieldKind};
use super::{HeaderError, RpcFields};
use crate::remoting::codes::request_code;
use crate::remoting::ExtFields;

/// The send request header. V1 (codes 10, 324) uses long field names; V2 (codes 310, 320,
/// 325) uses the one-letter names `a`..`n`, which is what the Java producer sends by default.
/// Both decode into this one struct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendMessageRequestHeader {
    /// `producerGroup` / `a`.
    pub producer_group: String,
    /// `topic` / `b`.
    pub topic: String,
    /// `defaultTopic` / `c`: the auto-create template topic, normally `TBW102`.
    pub default_topic: String,
    /// `defaultTopicQueueNums` / `d`.
    pub default_topic_queue_nums: i32,
    /// `queueId` / `e`.
    pub queue_id: i32,
    /// `sysFlag` / `f`.
    pub sys_flag: i32,
    /// `bornTimestamp` / `g`, ms.
    pub born_timestamp: i64,
    /// `flag` / `h`: the user's message flag.
    pub flag: i32,
    /// `properties` / `i`: the properties string.
    pub properties: Option<String>,
    /// `reconsumeTimes` / `j`.
    pub reconsume_times: Option<i32>,
    /// `unitMode` / `k`.
    pub unit_mode: Option<bool>,
    /// `batch` / `m`.
    pub batch: Option<bool>,
    /// `maxReconsumeTimes` / `l` (Java calls it `consumeRetryTimes` in V2).
    pub max_reconsume_times: Option<i32>,
    /// Optional RPC fields; `broker_name` is `bname` in V1 and `n` in V2.
    pub rpc: RpcFields,
}

/// (V1 name, V2 name, kind) for every send field, in V2 letter order.
const SEND_FIELDS: [(&str, &str, FieldKind); 13] = [
    ("producerGroup", "a", FieldKind::String),
    ("topic", "b", FieldKind::String),
    ("defaultTopic", "c", FieldKind::String),
    ("defaultTopicQueueNums", "d", FieldKind::Int),
    ("queueId", "e", FieldKind::Int),
    ("sysFlag", "f", FieldKind::Int),
    ("bornTimestamp", "g", FieldKind::Long),
    ("flag", "h", FieldKind::Int),
    ("properties", "i", FieldKind::String),
    ("reconsumeTimes", "j", FieldKind::Int),
    ("unitMode", "k", FieldKind::Bool),
    ("maxReconsumeTimes", "l", FieldKind::Int),
    ("batch", "m", FieldKind::Bool),
];

impl SendMessageRequestHeader {
    /// Reads the long-name form (`SEND_MESSAGE`, `SEND_REPLY_MESSAGE`).
    pub fn decode_v1(fields: &ExtFields) -> Result<Self, HeaderError> {
        Self::decode_with(fields, |(v1, _)| v1)
    }

    /// Reads the one-letter form (`SEND_MESSAGE_V2`, `SEND_BATCH_MESSAGE`,
    /// `SEND_REPLY_MESSAGE_V2`).
    pub fn decode_v2(fields: &ExtFields) -> Result<Self, HeaderError> {
        let mut header = Self::decode_with(fields, |(_, v2)| v2)?;
        if let Some(broker_name) = fields.get("n") {
            header.rpc.broker_name = Some(broker_name.to_owned());
        }
        Ok(header)
    }

    /// Reads the form that `code` implies, as the Java broker does.
    pub fn decode_for_code(code: i32, fields: &ExtFields) -> Result<Self, HeaderError> {
        match code {
            request_code::SEND_MESSAGE_V2
            | request_code::SEND_BATCH_MESSAGE
            | request_code::SEND_REPLY_MESSAGE_V2 => Self::decode_v2(fields),
            _ => Self::decode_v1(fields),
        }
    }

    fn decode_with(
        fields: &ExtFields,
        pick: impl Fn((&'static str, &'static str)) -> &'static str,
    ) -> Result<Self, HeaderError> {
        let name = |i: usize| pick((SEND_FIELDS[i].0, SEND_FIELDS[i].1));
        Ok(SendMessageRequestHeader {
            producer_group: required(fields, name(0))?,
            topic: required(fields, name(1))?,
            default_topic: required(fields, name(2))?,
            default_topic_queue_nums: required(fields, name(3))?,
            queue_id: required(fields, name(4))?,
            sys_flag: required(fields, name(5))?,
            born_timestamp: required(fields, name(6))?,
            flag: required(fields, name(7))?,
            properties: optional(fields, name(8))?,
            reconsume_times: optional(fields, name(9))?,
            unit_mode: optional(fields, name(10))?,
            max_reconsume_times: optional(fields, name(11))?,
            batch: optional(fields, name(12))?,
            rpc: RpcFields::decode(fields),
        })
    }

    /// Writes the long-name form.
    pub fn encode_v1(&self, fields: &mut ExtFields) {
        self.encode_with(fields, |(v1, _)| v1);
        self.rpc.encode(fields);
    }

    /// Writes the one-letter form, with the broker name as `n`.
    pub fn encode_v2(&self, fields: &mut ExtFields) {
        self.encode_with(fields, |(_, v2)| v2);
        let rpc = RpcFields {
            broker_name: None,
            ..self.rpc.clone()
        };
        rpc.encode(fields);
        put_opt(fields, "n", &self.rpc.broker_name);
    }

    fn encode_with(
        &self,
        fields: &mut ExtFields,
        pick: impl Fn((&'static str, &'static str)) -> &'static str,
    ) {
        let name = |i: usize| pick((SEND_FIELDS[i].0, SEND_FIELDS[i].1));
        put(fields, name(0), &self.producer_group);
        put(fields, name(1), &self.topic);
        put(fields, name(2), &self.default_topic);
        put(fields, name(3), &self.default_topic_queue_nums);
        put(fields, name(4), &self.queue_id);
        put(fields, name(5), &self.sys_flag);
        put(fields, name(6), &self.born_timestamp);
        put(fields, name(7), &self.flag);
        put_opt(fields, name(8), &self.properties);
        put_opt(fields, name(9), &self.reconsume_times);
        put_opt(fields, name(10), &self.unit_mode);
        put_opt(fields, name(11), &self.max_reconsume_times);
        put_opt(fields, name(12), &self.batch);
    }

    /// Whether the request carries a batch body (`batch` / `m` is true).
    pub fn is_batch(&self) -> bool {
        self.batch == Some(true)
    }
}

/// Decoding picks the form by the fields present (long names when `producerGroup` or `topic`
/// is there, one-letter names otherwise); encoding writes the long-name form. Prefer
/// [`SendMessageRequestHeader::decode_for_code`] when the request code is at hand.
impl CommandHeader for SendMessageRequestHeader {
    const FIELDS: &'static [(&'static str, FieldKind)] = &[
        ("producerGroup", FieldKind::String),
        ("topic", FieldKind::String),
        ("defaultTopic", FieldKind::String),
        ("defaultTopicQueueNums", FieldKind::Int),
        ("queueId", FieldKind::Int),
        ("sysFlag", FieldKind::Int),
        ("bornTimestamp", FieldKind::Long),
        ("flag", FieldKind::Int),
        ("properties", FieldKind::String),
        ("reconsumeTimes", FieldKind::Int),
        ("unitMode", FieldKind::Bool),
        ("maxReconsumeTimes", FieldKind::Int),
        ("batch", FieldKind::Bool),
    ];

    fn decode(fields: &ExtFields) -> Result<Self, HeaderError> {
        if fields.contains_key("producerGroup") || fields.contains_key("topic") {
            Self::decode_v1(fields)
        } else {
            Self::decode_v2(fields)
        }
    }

    fn encode(&self, fields: &mut ExtFields) {
        self.encode_v1(fields);
    }
}

command_header! {
    /// Response to a send. `msg_id` is the offset message id (comma-separated for a batch).
    pub struct SendMessageResponseHeader {
        msg_id: String = "msgId" required,
        queue_id: i32 = "queueId" required,
        queue_offset: i64 = "queueOffset" required,
        transaction_id: String = "transactionId" optional,
        batch_uniq_id: String = "batchUniqId" optional,
        /// 5.x: handle to recall a delayed message.
        recall_handle: String = "recallHandle" optional,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_fields() -> ExtFields {
        [
            ("a", "pg"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "1"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "TAGS\u{1}a\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("l", "16"),
            ("m", "false"),
            ("n", "broker-a"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn v2_and_v1_decode_to_the_same_header() {
        let v2 = SendMessageRequestHeader::decode_v2(&v2_fields()).unwrap();
        assert_eq!(v2.topic, "TopicTest");
        assert_eq!(v2.max_reconsume_times, Some(16));
        assert_eq!(v2.rpc.broker_name.as_deref(), Some("broker-a"));

        let mut v1_fields = ExtFields::new();
        v2.encode_v1(&mut v1_fields);
        assert_eq!(v1_fields.get("bname"), Some("broker-a"));
        assert_eq!(SendMessageRequestHeader::decode(&v1_fields).unwrap(), v2);

        let mut again = ExtFields::new();
        v2.encode_v2(&mut again);
        assert_eq!(again, v2_fields());
        assert_eq!(SendMessageRequestHeader::decode(&again).unwrap(), v2);
    }

    #[test]
    fn picks_the_form_by_code() {
        let header = SendMessageRequestHeader::decode_for_code(
            request_code::SEND_BATCH_MESSAGE,
            &v2_fields(),
        )
        .unwrap();
        assert_eq!(header.producer_group, "pg");
        assert_eq!(
            SendMessageRequestHeader::decode_for_code(request_code::SEND_MESSAGE, &v2_fields()),
            Err(HeaderError::MissingField("producerGroup"))
        );
    }

    #[test]
    fn requires_the_not_null_fields() {
        let mut fields = v2_fields();
        fields.remove("g");
        assert_eq!(
            SendMessageRequestHeader::decode_v2(&fields),
            Err(HeaderError::MissingField("g"))
        );
    }
}
