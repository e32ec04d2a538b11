//! Transaction check-back for gRPC producers: when the broker's check task finds a half message
//! unresolved past its immunity time and no remoting producer of its group is connected, it
//! asks here (`petrel_broker::system_topic::transaction::OtherProducers`). The half goes, as a
//! v2 `Message`, in a `RecoverOrphanedTransactionCommand` down the Telemetry stream of a
//! producer that publishes to its topic (the producer group of a gRPC send is its topic, as
//! with Apache's proxy); the client's checker answers with an EndTransaction
//! (`SOURCE_SERVER_CHECK`), which resolves the put-back copy the check named.

use std::sync::Weak;

use petrel_broker::message::OwnedMessage;
use petrel_broker::system_topic::transaction::OtherProducers;
use petrel_protocol::message::properties as props;

use crate::message::{v2_message, Delivery};
use crate::pb::telemetry_command::Command;
use crate::pb::{MessageType, RecoverOrphanedTransactionCommand, TelemetryCommand};
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
                    message: Some(v2_message(
                        half,
                        topic,
                        MessageType::Transaction,
                        &Delivery::default(),
                    )),
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use petrel_protocol::message::{sys_flag, Properties};

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
        let m = v2_message(
            &half,
            "orders",
            MessageType::Transaction,
            &Delivery::default(),
        );
        let sys = m.system_properties.unwrap();
        assert_eq!(m.topic.unwrap().name, "orders");
        assert_eq!(sys.tag.as_deref(), Some("TagT"));
        assert_eq!(sys.keys, vec!["k1", "k2"]);
        assert_eq!(sys.message_id, "01AB");
        assert_eq!(sys.queue_id, 3);
        assert_eq!(sys.born_timestamp.unwrap().nanos, 123_000_000);
        assert_eq!(
            sys.body_digest.unwrap().checksum,
            "5D41402ABC4B2A76B9719D911017C592"
        );
        assert_eq!(m.user_properties.len(), 1);
        assert_eq!(m.user_properties["origin"], "grpc");
    }
}
