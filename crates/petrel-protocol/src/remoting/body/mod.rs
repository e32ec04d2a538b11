//! JSON bodies exchanged with clients, brokers and admin tools.
//!
//! Field names are Java's getter names as fastjson writes them (checked against Apache
//! RocketMQ 5.x: `heartbeat/`, `body/`, `route/`, `admin/`, `subscription/`, `common/`), so
//! some are irregular: `clientID` in `HeartbeatData`, `lockOKMQSet`. Fields are declared in the
//! alphabetical order fastjson writes them, so encoding gives the bytes a Java peer would.
//!
//! Decoding is lenient like fastjson: unknown fields are ignored, missing or `null` fields take
//! their defaults, Java enums are accepted by name or by ordinal (C++ clients send ordinals)
//! and an unknown enum value reads as `None`, the non-standard text fastjson itself writes
//! (bare integer and inline object map keys) is understood, and scalars are converted as
//! fastjson converts them (`lenient.rs`): the C++ client family writes numbers as strings
//! (`"subVersion":"1795500287276"`), the Go client writes `codeSet` as strings, and booleans
//! come as `true`, `"true"` or `1`.

mod admin;
mod assignment;
mod controller;
mod heartbeat;
mod lenient;
mod lock;
mod route;
mod topic;

pub use admin::*;
pub use assignment::*;
pub use controller::*;
pub use heartbeat::*;
pub use lock::*;
pub use route::*;
pub use topic::*;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use super::fastjson;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The bytes are not JSON, not even fastjson's dialect of it.
    #[error("body is not JSON: {0}")]
    Syntax(#[from] fastjson::ParseError),
    /// The JSON does not have the expected shape (e.g. a string where a list belongs).
    #[error("body does not match {type_name}: {reason}")]
    Shape {
        type_name: &'static str,
        reason: String,
    },
    /// A form of the body this codec does not read.
    #[error("unsupported body: {0}")]
    Unsupported(&'static str),
}

/// A body that travels as JSON.
pub trait JsonBody: Sized {
    fn decode(bytes: &[u8]) -> Result<Self, BodyError>;
    /// The body as Java writes it.
    fn encode(&self) -> Vec<u8>;
}

/// Implements [`JsonBody`] with plain serde for types whose JSON is standard.
macro_rules! json_body {
    ($($ty:ty),* $(,)?) => {
        $(impl $crate::remoting::body::JsonBody for $ty {
            fn decode(bytes: &[u8]) -> Result<Self, $crate::remoting::body::BodyError> {
                $crate::remoting::body::decode_json(bytes)
            }
            fn encode(&self) -> Vec<u8> {
                $crate::remoting::body::encode_json(self)
            }
        })*
    };
}
pub(crate) use json_body;

/// Decodes `bytes` into `T`: strict JSON first (fast), then fastjson's dialect.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    if let Ok(value) = serde_json::from_slice::<T>(bytes) {
        return Ok(value);
    }
    decode_value(fastjson::parse(bytes)?)
}

/// Converts an already parsed value into `T`, treating `null` members as absent.
pub fn decode_value<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, BodyError> {
    fastjson::strip_nulls(&mut value);
    lenient::from_value(value).map_err(|e| BodyError::Shape {
        type_name: std::any::type_name::<T>(),
        reason: e.to_string(),
    })
}

/// Standard JSON for `value`.
///
/// serde_json fails only on maps whose keys are not strings or integers and on `Serialize`
/// impls that return errors; body types have neither (every one round-trips in the tests), so
/// the empty-object fallback is never taken. It is there so that encoding cannot panic.
pub fn encode_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// Writes `value` with fastjson's bare keys for the maps named in `raw_key_maps`.
pub fn encode_fastjson<T: Serialize>(value: &T, raw_key_maps: &[&str]) -> Vec<u8> {
    // As above: cannot fail for body types; the fallback only keeps this panic-free.
    let value = serde_json::to_value(value).unwrap_or_default();
    let mut out = Vec::new();
    fastjson::write(&value, raw_key_maps, &mut out);
    out
}

/// A Java enum carried in JSON: written by name, read by name or ordinal.
pub trait JavaEnum: Sized + Copy + 'static {
    /// `(variant, Java name)` in ordinal order.
    const VARIANTS: &'static [(Self, &'static str)];

    fn name(self) -> &'static str;

    fn from_name(name: &str) -> Option<Self> {
        Self::VARIANTS
            .iter()
            .find(|(_, n)| *n == name.trim())
            .map(|(v, _)| *v)
    }

    fn from_ordinal(ordinal: u64) -> Option<Self> {
        Self::VARIANTS
            .get(usize::try_from(ordinal).ok()?)
            .map(|(v, _)| *v)
    }

    /// A name, an ordinal, or an ordinal in a string.
    fn from_json(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::String(s) => {
                Self::from_name(s).or_else(|| s.trim().parse().ok().and_then(Self::from_ordinal))
            }
            serde_json::Value::Number(n) => n.as_u64().and_then(Self::from_ordinal),
            _ => None,
        }
    }
}

/// Declares a Java enum: variants in ordinal order with their Java names.
macro_rules! java_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $java:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $crate::remoting::body::JavaEnum for $name {
            const VARIANTS: &'static [(Self, &'static str)] = &[$(($name::$variant, $java),)*];

            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $java,)*
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($crate::remoting::body::JavaEnum::name(*self))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = serde_json::Value::deserialize(deserializer)?;
                <$name as $crate::remoting::body::JavaEnum>::from_json(&value).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        concat!("{} is not a ", stringify!($name)),
                        value
                    ))
                })
            }
        }
    };
}

/// For `Option<JavaEnum>` fields: an unknown name or ordinal reads as `None` (fastjson reads
/// an unknown enum constant as null) instead of failing the whole body.
pub fn lenient_enum<'de, D: Deserializer<'de>, E: JavaEnum>(
    deserializer: D,
) -> Result<Option<E>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(E::from_json(&value))
}

java_enum! {
    /// `ConsumeType.java`.
    pub enum ConsumeType {
        /// Pull consumer.
        ConsumeActively = "CONSUME_ACTIVELY",
        /// Push consumer.
        ConsumePassively = "CONSUME_PASSIVELY",
        /// POP consumer (5.x).
        ConsumePop = "CONSUME_POP",
    }
}

java_enum! {
    /// `MessageModel.java`.
    pub enum MessageModel {
        Broadcasting = "BROADCASTING",
        Clustering = "CLUSTERING",
    }
}

java_enum! {
    /// `ConsumeFromWhere.java`; the three middle constants are deprecated in Java but still
    /// sent by old clients, and their ordinals matter.
    pub enum ConsumeFromWhere {
        ConsumeFromLastOffset = "CONSUME_FROM_LAST_OFFSET",
        ConsumeFromLastOffsetAndFromMinWhenBootFirst = "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
        ConsumeFromMinOffset = "CONSUME_FROM_MIN_OFFSET",
        ConsumeFromMaxOffset = "CONSUME_FROM_MAX_OFFSET",
        ConsumeFromFirstOffset = "CONSUME_FROM_FIRST_OFFSET",
        ConsumeFromTimestamp = "CONSUME_FROM_TIMESTAMP",
    }
}

java_enum! {
    /// `TopicFilterType.java`.
    pub enum TopicFilterType {
        SingleTag = "SINGLE_TAG",
        MultiTag = "MULTI_TAG",
    }
}

// The enum comes from `java_enum!`, which derives no `Default`.
#[allow(clippy::derivable_impls)]
impl Default for TopicFilterType {
    fn default() -> Self {
        TopicFilterType::SingleTag
    }
}

/// A queue of a topic on a broker (`MessageQueue.java`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    pub broker_name: String,
    pub queue_id: i32,
    pub topic: String,
}

impl MessageQueue {
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        MessageQueue {
            broker_name: broker_name.into(),
            queue_id,
            topic: topic.into(),
        }
    }

    /// Reads a map key: the JSON text of a queue (what fastjson writes, after
    /// [`fastjson::parse`]) or Java's `toString` form
    /// `MessageQueue [topic=t, brokerName=b, queueId=0]`.
    pub fn from_key(key: &str) -> Option<MessageQueue> {
        if let Ok(mq) = serde_json::from_str::<MessageQueue>(key) {
            return Some(mq);
        }
        let inner = key
            .trim()
            .strip_prefix("MessageQueue [")?
            .strip_suffix(']')?;
        let mut mq = MessageQueue::default();
        for part in inner.split(", ") {
            let (name, value) = part.split_once('=')?;
            match name {
                "topic" => mq.topic = value.to_owned(),
                "brokerName" => mq.broker_name = value.to_owned(),
                "queueId" => mq.queue_id = value.parse().ok()?,
                _ => {}
            }
        }
        Some(mq)
    }

    /// The JSON text used as this queue's key in fastjson maps.
    pub fn to_key(&self) -> String {
        String::from_utf8(encode_json(self)).unwrap_or_default()
    }
}

/// Serde for `BTreeMap<MessageQueue, V>`, keyed as fastjson keys it (by the queue's JSON).
pub mod mq_map {
    use std::collections::BTreeMap;

    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::MessageQueue;

    pub fn serialize<S: Serializer, V: Serialize>(
        map: &BTreeMap<MessageQueue, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(map.iter().map(|(mq, v)| (mq.to_key(), v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<MessageQueue, V>, D::Error> {
        let raw = BTreeMap::<String, V>::deserialize(deserializer)?;
        raw.into_iter()
            .map(|(key, v)| {
                MessageQueue::from_key(&key)
                    .map(|mq| (mq, v))
                    .ok_or_else(|| D::Error::custom(format!("{key:?} is not a message queue")))
            })
            .collect()
    }
}

java_enum! {
    /// `GroupRetryPolicyType.java` (`groupRetryPolicy.type` of a subscription group).
    pub enum GroupRetryPolicyType {
        Exponential = "EXPONENTIAL",
        Customized = "CUSTOMIZED",
    }
}

java_enum! {
    /// `MessageRequestMode.java`: how a consumer group reads a topic (5.x).
    pub enum MessageRequestMode {
        Pull = "PULL",
        Pop = "POP",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_enums_read_names_and_ordinals() {
        let v = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(
            ConsumeType::from_json(&v("1")),
            Some(ConsumeType::ConsumePassively)
        );
        assert_eq!(
            ConsumeType::from_json(&v("\"CONSUME_POP\"")),
            Some(ConsumeType::ConsumePop)
        );
        assert_eq!(
            ConsumeFromWhere::from_json(&v("5")),
            Some(ConsumeFromWhere::ConsumeFromTimestamp)
        );
        assert_eq!(
            MessageModel::from_json(&v("\"1\"")),
            Some(MessageModel::Clustering)
        );
        assert_eq!(MessageModel::from_json(&v("2")), None);
        assert_eq!(
            serde_json::to_string(&MessageModel::Broadcasting).unwrap(),
            "\"BROADCASTING\""
        );
    }

    #[test]
    fn message_queue_keys_read_both_forms() {
        let mq = MessageQueue::new("t", "b", 3);
        assert_eq!(mq.to_key(), r#"{"brokerName":"b","queueId":3,"topic":"t"}"#);
        assert_eq!(MessageQueue::from_key(&mq.to_key()), Some(mq.clone()));
        assert_eq!(
            MessageQueue::from_key("MessageQueue [topic=t, brokerName=b, queueId=3]"),
            Some(mq)
        );
        assert_eq!(MessageQueue::from_key("nonsense"), None);
    }
}
