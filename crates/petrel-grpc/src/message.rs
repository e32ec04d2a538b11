//! Stored messages as the v2 `Message` the clients decode (`MessageViewImpl.fromProtobuf`:
//! the body digest is checked). The digest is MD5 in upper-case hex, as Apache's proxy sends
//! it (`GrpcConverter`): a CRC32 would not do, since the Java client writes it without leading
//! zeros and the Python client with them.

use std::collections::HashMap;
use std::net::SocketAddr;

use petrel_broker::message::OwnedMessage;
use petrel_protocol::message::properties::{self as props, SYSTEM_NAMES};
use petrel_protocol::message::sys_flag;

use crate::pb::{Digest, DigestType, Encoding, Message, MessageType, Resource, SystemProperties};

/// What a delivery adds to a message (none of it for a transaction check-back).
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    pub namespace: String,
    pub receipt_handle: Option<String>,
    pub queue_offset: Option<i64>,
    pub store_timestamp_ms: Option<i64>,
    pub store_host: Option<SocketAddr>,
    pub invisible_ms: Option<i64>,
    pub delivery_attempt: Option<i32>,
    pub delivery_timestamp_ms: Option<i64>,
    pub queue_id: Option<i32>,
}

pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub fn duration(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// MD5 of the body, upper-case hex.
pub fn body_digest(body: &[u8]) -> Digest {
    use md5::Digest as _;
    let sum = md5::Md5::digest(body);
    Digest {
        r#type: DigestType::Md5 as i32,
        checksum: sum.iter().map(|b| format!("{b:02X}")).collect(),
    }
}

fn host(addr: SocketAddr) -> String {
    addr.ip().to_string()
}

/// The type a stored message is delivered as (the proxy's `buildMessageType`).
pub fn message_type_of(msg: &OwnedMessage) -> MessageType {
    let p = &msg.properties;
    if p.get(props::TRANSACTION_PREPARED) == Some("true") {
        MessageType::Transaction
    } else if p.get(props::DELAY_TIME_LEVEL).is_some()
        || p.get(props::TIMER_DELIVER_MS).is_some()
        || p.get(props::TIMER_DELAY_SEC).is_some()
        || p.get(props::TIMER_DELAY_MS).is_some()
    {
        MessageType::Delay
    } else if p.get(props::SHARDING_KEY).is_some() {
        MessageType::Fifo
    } else {
        MessageType::Normal
    }
}

/// `msg` as a v2 message of `topic`.
pub fn v2_message(
    msg: &OwnedMessage,
    topic: &str,
    message_type: MessageType,
    delivery: &Delivery,
) -> Message {
    let p = &msg.properties;
    let user_properties: HashMap<String, String> = p
        .iter()
        .filter(|(k, _)| !SYSTEM_NAMES.contains(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let keys = p
        .get(props::KEYS)
        .map(|k| {
            k.split(' ')
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let encoding = if msg.sys_flag & sys_flag::COMPRESSED != 0 {
        Encoding::Gzip
    } else {
        Encoding::Identity
    };
    Message {
        topic: Some(Resource {
            resource_namespace: delivery.namespace.clone(),
            name: topic.to_string(),
        }),
        user_properties,
        system_properties: Some(SystemProperties {
            tag: p.get(props::TAGS).map(str::to_string),
            keys,
            message_id: p
                .get(props::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
                .unwrap_or_default()
                .to_string(),
            body_digest: Some(body_digest(&msg.body)),
            body_encoding: encoding as i32,
            message_type: message_type as i32,
            born_timestamp: Some(timestamp(msg.born_timestamp)),
            born_host: host(msg.born_host),
            store_timestamp: delivery.store_timestamp_ms.map(timestamp),
            store_host: delivery.store_host.map(host).unwrap_or_default(),
            delivery_timestamp: delivery.delivery_timestamp_ms.map(timestamp),
            receipt_handle: delivery.receipt_handle.clone(),
            queue_id: delivery.queue_id.unwrap_or_else(|| {
                p.get(props::REAL_QUEUE_ID)
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(0)
            }),
            queue_offset: delivery.queue_offset,
            invisible_duration: delivery.invisible_ms.map(duration),
            delivery_attempt: delivery.delivery_attempt,
            message_group: p.get(props::SHARDING_KEY).map(str::to_string),
            trace_context: p.get(props::TRACE_CONTEXT).map(str::to_string),
            ..SystemProperties::default()
        }),
        body: msg.body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_digest_is_upper_case_md5() {
        // Python: hashlib.md5(b"hello").hexdigest().upper()
        let d = body_digest(b"hello");
        assert_eq!(d.r#type, DigestType::Md5 as i32);
        assert_eq!(d.checksum, "5D41402ABC4B2A76B9719D911017C592");
    }
}
