//! Transaction check-back for gRPC producers: when the broker's check task finds a half message
//! unresolved past its immunity time and no remoting producer of its group is connected, it
//! asks here (`petrel_broker::system_topic::transaction::OtherProducers`). The half goes, as a
//! v2 `Message`, in a `RecoverOrphanedTransactionCommand` down the Telemetry stream of a
//! producer that publishes to its topic (the producer group of a gRPC send is its topic, as
//! with Apache's proxy); the client's checker answers with an EndTransaction
//! (`SOURCE_SERVER_CHECK`), which resolves the put-back copy the check named.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Weak;

use petrel_broker::message::OwnedMessage;
use petrel_broker::system_topic::transaction::OtherProducers;
use petrel_protocol::message::properties::{self as props, SYSTEM_NAMES};
use petrel_protocol::message::sys_flag;

use crate::pb::telemetry_command::Command;
use crate::pb::{
    Digest, DigestType, Encoding, Message, MessageType, RecoverOrphanedTransactionCommand,
    Resource, SystemProperties, TelemetryCommand,
};
use crate::server::Shared;
use crate::transaction::Pending;

/// The gRPC producers, as the broker's check task sees them.
pub struct GrpcProducers {
    pub shared: Weak<Shared>,
}

impl OtherProducers for GrpcProducers {
    fn ask(&self, producer_group: &str, half: &OwnedMessage, commit_log_offset: i64) -> bool {
        let Some(shared) = self.shared.upgrade() else {
            return false;
        };
        let p = &half.properties;
        let topic = p.get(props::REAL_TOPIC).unwrap_or(producer_group);
        let publishers = shared.clients.publishers_of(topic);
        if publishers.is_empty() {
            return false;
        }
        let transaction_id = p
            .get(props::TRANSACTION_ID)
            .or(p.get(props::UNIQ_CLIENT_MESSAGE_ID_KEYIDX))
            .unwrap_or_default()
            .to_string();
        shared.transactions.insert(
            transaction_id.clone(),
            Pending {
                commit_log_offset,
                producer_group: producer_group.to_string(),
                topic: topic.to_string(),
            },
        );
        let command = TelemetryCommand {
            status: None,
            command: Some(Command::RecoverOrphanedTransactionCommand(
                RecoverOrphanedTransactionCommand {
                    message: Some(v2_message(half, topic)),
                    transaction_id,
                },
            )),
        };
        // Any one producer of the topic may answer (as the proxy picks one channel); a full
        // queue is skipped, never waited on: the next check round asks again.
        publishers
            .iter()
            .any(|tx| tx.try_send(Ok(command.clone())).is_ok())
    }
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

fn host(addr: SocketAddr) -> String {
    addr.ip().to_string()
}

/// A stored half message as the v2 `Message` the clients decode (`MessageViewImpl.fromProtobuf`:
/// the body digest is checked, so it is the body's CRC32 as the Java client writes it).
pub fn v2_message(half: &OwnedMessage, topic: &str) -> Message {
    let p = &half.properties;
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
    let encoding = if half.sys_flag & sys_flag::COMPRESSED != 0 {
        Encoding::Gzip
    } else {
        Encoding::Identity
    };
    Message {
        topic: Some(Resource {
            resource_namespace: String::new(),
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
            body_digest: Some(Digest {
                r#type: DigestType::Crc32 as i32,
                checksum: format!("{:X}", crc32fast::hash(&half.body)),
            }),
            body_encoding: encoding as i32,
            message_type: MessageType::Transaction as i32,
            born_timestamp: Some(timestamp(half.born_timestamp)),
            born_host: host(half.born_host),
            queue_id: p
                .get(props::REAL_QUEUE_ID)
                .and_then(|q| q.parse().ok())
                .unwrap_or(0),
            message_group: p.get(props::SHARDING_KEY).map(str::to_string),
            trace_context: p.get(props::TRACE_CONTEXT).map(str::to_string),
            ..SystemProperties::default()
        }),
        body: half.body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use petrel_protocol::message::Properties;

    #[test]
    fn a_half_becomes_the_message_its_producer_sent() {
        let mut properties = Properties::new();
        properties.insert(props::TAGS, "TagT");
        properties.insert(props::KEYS, "k1 k2");
        properties.insert(props::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, "01AB");
        properties.insert(props::REAL_TOPIC, "orders");
        properties.insert(props::REAL_QUEUE_ID, "3");
        properties.insert(props::TRANSACTION_PREPARED, "true");
        properties.insert("origin", "grpc");
        let half = OwnedMessage {
            topic: "RMQ_SYS_TRANS_HALF_TOPIC".into(),
            queue_id: 0,
            flag: 0,
            body: Bytes::from_static(b"hello"),
            properties,
            sys_flag: sys_flag::TRANSACTION_PREPARED_TYPE,
            born_timestamp: 1_700_000_000_123,
            born_host: "10.0.0.1:5555".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        let m = v2_message(&half, "orders");
        let sys = m.system_properties.unwrap();
        assert_eq!(m.topic.unwrap().name, "orders");
        assert_eq!(sys.tag.as_deref(), Some("TagT"));
        assert_eq!(sys.keys, vec!["k1", "k2"]);
        assert_eq!(sys.message_id, "01AB");
        assert_eq!(sys.queue_id, 3);
        assert_eq!(sys.born_timestamp.unwrap().nanos, 123_000_000);
        // Java: Long.toHexString(CRC32("hello")).toUpperCase()
        assert_eq!(sys.body_digest.unwrap().checksum, "3610A686");
        assert_eq!(m.user_properties.len(), 1);
        assert_eq!(m.user_properties["origin"], "grpc");
    }
}
