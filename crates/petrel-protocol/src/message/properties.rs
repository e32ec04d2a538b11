//! The message properties string: `key\u{1}value\u{2}` repeated (RocketMQ `MessageDecoder`).
//!
//! Every pair, the last included, is followed by the property separator. The parser follows
//! Java's `string2messageProperties`: it skips segments shorter than three characters and pairs
//! with no name/value separator, an empty key or an empty value.

use super::DecodeError;

/// Separates a key from its value (char 1).
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Follows every key/value pair (char 2).
pub const PROPERTY_SEPARATOR: char = '\u{2}';

// Property names (RocketMQ `MessageConst`). Only the ones Petrel reads or writes are listed.
pub const KEYS: &str = "KEYS";
pub const TAGS: &str = "TAGS";
pub const WAIT_STORE_MSG_OK: &str = "WAIT";
pub const DELAY_TIME_LEVEL: &str = "DELAY";
pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
pub const REAL_TOPIC: &str = "REAL_TOPIC";
pub const REAL_QUEUE_ID: &str = "REAL_QID";
pub const TRANSACTION_PREPARED: &str = "TRAN_MSG";
pub const PRODUCER_GROUP: &str = "PGROUP";
pub const MIN_OFFSET: &str = "MIN_OFFSET";
pub const MAX_OFFSET: &str = "MAX_OFFSET";
pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
pub const MSG_REGION: &str = "MSG_REGION";
pub const TRACE_SWITCH: &str = "TRACE_ON";
pub const UNIQ_CLIENT_MESSAGE_ID_KEYIDX: &str = "UNIQ_KEY";
/// When a POP consumer first received the message (ms), kept across its retries.
pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
pub const CONSUME_START_TIMESTAMP: &str = "CONSUME_START_TIME";
pub const TRANSACTION_ID: &str = "__transactionId__";
pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
pub const CLUSTER: &str = "CLUSTER";
pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
/// The due time (ms since the epoch) the broker gives a timer message it parks in the timer
/// topic; the store reads it back as the ConsumeQueue tag code.
pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
pub const CRC32: &str = "__CRC32#";
// Request-reply (`DefaultMQProducer.request`).
pub const CORRELATION_ID: &str = "CORRELATION_ID";
pub const MESSAGE_REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
pub const MESSAGE_TTL: &str = "TTL";
pub const REPLY_MESSAGE_ARRIVE_TIME: &str = "ARRIVE_TIME";
pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
pub const MESSAGE_TYPE: &str = "MSG_TYPE";
/// [`MESSAGE_TYPE`] of a reply (`MixAll.REPLY_MESSAGE_FLAG`).
pub const REPLY_MESSAGE_FLAG: &str = "reply";
/// Properties with this prefix travel with a request but are never stored.
pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
// Timer bookkeeping a RocketMQ 5 broker adds to a timer message (`MessageConst`), besides
// `TIMER_OUT_MS`: tools that send a stored message again drop them with the rest.
/// When the message entered the timer wheel.
pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
/// When the wheel handed the message on.
pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
/// How many times the message went round the wheel (delays longer than the wheel).
pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
/// Marks the deletion of a pending timer, by the unique key of the timer message it cancels.
pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
/// A FIFO message's group (the gRPC `message_group`): its queue is chosen by it.
pub const SHARDING_KEY: &str = "__SHARDINGKEY";
/// The trace context (W3C/OpenTelemetry) 5.x gRPC clients attach.
pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";

/// Property names users may not set (RocketMQ's `MessageConst.STRING_HASH_SET`, which holds
/// every `PROPERTY_*` name; the gRPC front end refuses user properties with these names, as
/// Apache's proxy does with ILLEGAL_MESSAGE_PROPERTY_KEY).
pub const SYSTEM_NAMES: &[&str] = &[
    "TRACE_ON",
    "MSG_REGION",
    "KEYS",
    "TAGS",
    "WAIT",
    "DELAY",
    "RETRY_TOPIC",
    "REAL_TOPIC",
    "REAL_QID",
    "TRAN_MSG",
    "PGROUP",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "BUYER_ID",
    "ORIGIN_MESSAGE_ID",
    "TRANSFER_FLAG",
    "CORRECTION_FLAG",
    "MQ2_FLAG",
    "RECONSUME_TIME",
    "UNIQ_KEY",
    "MAX_RECONSUME_TIMES",
    "CONSUME_START_TIME",
    "POP_CK",
    "POP_CK_OFFSET",
    "1ST_POP_TIME",
    "__transactionId__",
    "TRANSACTION_CHECK_TIMES",
    "CHECK_IMMUNITY_TIME_IN_SECONDS",
    "INSTANCE_ID",
    "CORRELATION_ID",
    "REPLY_TO_CLIENT",
    "TTL",
    "ARRIVE_TIME",
    "PUSH_REPLY_TIME",
    "CLUSTER",
    "MSG_TYPE",
    "INNER_MULTI_QUEUE_OFFSET",
    "INNER_MULTI_DISPATCH",
    "INNER_NUM",
    "__SHARDINGKEY",
    "PROPERTY_FORWARD_QUEUE_ID",
    "REDIRECT",
    "TRACE_CONTEXT",
    "TIMER_DELAY_SEC",
    "TIMER_DELIVER_MS",
    "TIMER_DELAY_MS",
    "TIMER_OUT_MS",
    "TIMER_ENQUEUE_MS",
    "TIMER_DEQUEUE_MS",
    "TIMER_ROLL_TIMES",
    "TIMER_DEL_UNIQKEY",
    "DLQ_ORIGIN_TOPIC",
    "DLQ_ORIGIN_MESSAGE_ID",
    "__CRC32#",
];

/// Iterates the key/value pairs of a properties string, without allocating.
#[derive(Debug, Clone)]
pub struct PropertiesIter<'a> {
    rest: &'a str,
}

impl<'a> PropertiesIter<'a> {
    /// Parses `bytes` as a properties string; fails only if it is not UTF-8.
    pub fn new(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let rest = std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8("properties"))?;
        Ok(Self { rest })
    }

    /// Iterates an already validated string.
    pub fn from_validated(s: &'a str) -> Self {
        Self { rest: s }
    }
}

impl<'a> Iterator for PropertiesIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            let (segment, rest) = match self.rest.split_once(PROPERTY_SEPARATOR) {
                Some((segment, rest)) => (segment, rest),
                None => (self.rest, ""),
            };
            self.rest = rest;
            if segment.len() < 3 {
                continue;
            }
            if let Some((key, value)) = segment.split_once(NAME_VALUE_SEPARATOR) {
                if !key.is_empty() && !value.is_empty() {
                    return Some((key, value));
                }
            }
        }
        None
    }
}

/// Looks up one property in an encoded properties string (the first occurrence wins, as the
/// order of a Java `HashMap` is not defined and duplicates do not occur in practice).
pub fn find<'a>(bytes: &'a [u8], name: &str) -> Result<Option<&'a str>, DecodeError> {
    Ok(PropertiesIter::new(bytes)?
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v))
}

/// An ordered set of message properties, for building and editing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    pairs: Vec<(String, String)>,
}

impl Properties {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes a properties string.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut out = Self::new();
        for (k, v) in PropertiesIter::new(bytes)? {
            out.insert(k, v);
        }
        Ok(out)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a property, replacing an earlier value of the same name in place.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.pairs.iter_mut().find(|(k, _)| *k == name) {
            Some(pair) => pair.1 = value,
            None => self.pairs.push((name, value)),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        let at = self.pairs.iter().position(|(k, _)| k == name)?;
        Some(self.pairs.remove(at).1)
    }

    /// Removes every property whose name starts with `prefix`.
    pub fn remove_prefixed(&mut self, prefix: &str) {
        self.pairs.retain(|(k, _)| !k.starts_with(prefix));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Encodes to the wire/storage form. Empty keys or values are skipped, as Java skips nulls
    /// and its parser drops empty ones.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len());
        for (k, v) in &self.pairs {
            if k.is_empty() || v.is_empty() {
                continue;
            }
            out.push_str(k);
            out.push(NAME_VALUE_SEPARATOR);
            out.push_str(v);
            out.push(PROPERTY_SEPARATOR);
        }
        out
    }

    fn encoded_len(&self) -> usize {
        self.pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut out = Self::new();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_every_pair_with_a_trailing_separator() {
        let props: Properties = [("TAGS", "TagA"), ("KEYS", "k1 k2")].into_iter().collect();
        assert_eq!(props.encode(), "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}");
    }

    #[test]
    fn parser_skips_short_segments_and_empty_keys_or_values() {
        let raw = "A\u{1}B\u{2}\u{2}xy\u{2}\u{1}v\u{2}k\u{1}\u{2}key\u{1}value";
        let pairs: Vec<_> = PropertiesIter::new(raw.as_bytes()).unwrap().collect();
        assert_eq!(pairs, vec![("A", "B"), ("key", "value")]);
    }

    #[test]
    fn value_may_contain_the_name_separator_after_the_first() {
        let pairs: Vec<_> = PropertiesIter::new("k\u{1}a\u{1}b\u{2}".as_bytes())
            .unwrap()
            .collect();
        assert_eq!(pairs, vec![("k", "a\u{1}b")]);
    }

    #[test]
    fn rejects_non_utf8() {
        assert_eq!(
            PropertiesIter::new(&[0xff, 0xfe]).unwrap_err(),
            DecodeError::NotUtf8("properties")
        );
    }

    #[test]
    fn find_returns_a_single_property() {
        let raw = "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}ABC\u{2}";
        assert_eq!(
            find(raw.as_bytes(), UNIQ_CLIENT_MESSAGE_ID_KEYIDX).unwrap(),
            Some("ABC")
        );
        assert_eq!(find(raw.as_bytes(), KEYS).unwrap(), None);
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(pairs in proptest::collection::vec(("[a-zA-Z_]{1,12}", "[ -~]{1,20}"), 0..8)) {
            let props: Properties = pairs.into_iter().collect();
            let encoded = props.encode();
            prop_assert_eq!(Properties::decode(encoded.as_bytes()).unwrap(), props);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(iter) = PropertiesIter::new(&bytes) {
                for _ in iter {}
            }
        }
    }
}
