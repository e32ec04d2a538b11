//! What admin tools see of a running consumer (`GET_CONSUMER_RUNNING_INFO`): Java's
//! `ConsumerRunningInfo` as JSON — settings in `properties`, the subscriptions, one entry per
//! queue in `mqTable` (its committed offset and what the consumer holds of it) and per-topic
//! rates in `statusTable`.
//!
//! `RunningInfo` is one snapshot for both consumers: it starts with what every consumer
//! reports (from the consumer core), and each kind adds its own settings, queue fields and
//! rates (`ConsumerKind::describe`).
//!
//! `mqTable` is keyed by each queue's JSON text (`{"brokerName":..,"queueId":..,"topic":..}`),
//! the standard-JSON form of fastjson's object keys.

use petrel_protocol::remoting::body::{ConsumeType, JavaEnum};
use serde_json::{json, Map, Value};

use super::core::ConsumerCore;
use super::offset_store::OffsetStore;
use crate::message::MessageQueue;

/// `ConsumerRunningInfo` property names.
pub const PROP_NAMESERVER_ADDR: &str = "PROP_NAMESERVER_ADDR";
pub const PROP_THREADPOOL_CORE_SIZE: &str = "PROP_THREADPOOL_CORE_SIZE";
pub const PROP_CONSUME_ORDERLY: &str = "PROP_CONSUMEORDERLY";
pub const PROP_CONSUME_TYPE: &str = "PROP_CONSUME_TYPE";
pub const PROP_CLIENT_VERSION: &str = "PROP_CLIENT_VERSION";
pub const PROP_CONSUMER_START_TIMESTAMP: &str = "PROP_CONSUMER_START_TIMESTAMP";

/// One consumer's running info, being filled.
pub(crate) struct RunningInfo<'a> {
    core: &'a ConsumerCore,
    properties: Map<String, Value>,
    mq_table: Map<String, Value>,
    status_table: Map<String, Value>,
}

impl<'a> RunningInfo<'a> {
    /// What every consumer reports: the client, the group's settings and when it started.
    pub(crate) fn new(core: &'a ConsumerCore, consume_type: ConsumeType) -> Self {
        let client = core.instance.config();
        let mut info = RunningInfo {
            core,
            properties: Map::new(),
            mq_table: Map::new(),
            status_table: Map::new(),
        };
        info.property(PROP_NAMESERVER_ADDR, client.namesrv_addrs.join(";"));
        info.property(PROP_CONSUME_TYPE, consume_type.name());
        info.property(
            PROP_CLIENT_VERSION,
            format!("petrel-client {}", env!("CARGO_PKG_VERSION")),
        );
        info.property(PROP_CONSUMER_START_TIMESTAMP, core.start_ms);
        // The settings, named as the Java consumers' fields.
        info.property("consumerGroup", &core.group);
        info.property(
            "messageModel",
            format!("{:?}", core.message_model).to_uppercase(),
        );
        info.property("consumeFromWhere", format!("{:?}", core.consume_from_where));
        info.property(
            "allocateMessageQueueStrategy",
            core.allocate_strategy.name(),
        );
        info.property("clientIP", &client.client_ip);
        info.property("instanceName", &client.instance_name);
        if let OffsetStore::Local(local) = &core.offset_store {
            info.property("offsetStorePath", local.path().display());
        }
        info
    }

    /// A property, as text (Java's `Properties`).
    pub(crate) fn property(&mut self, name: &str, value: impl ToString) {
        self.properties
            .insert(name.to_string(), Value::String(value.to_string()));
    }

    /// `mq`'s entry: `fields` (an object) with the queue's committed offset (`commitOffset`,
    /// -1 when there is none in memory).
    pub(crate) fn queue(&mut self, mq: &MessageQueue, mut fields: Value) {
        let commit_offset = self.core.offset_store.memory(mq).unwrap_or(-1);
        if let Some(fields) = fields.as_object_mut() {
            fields.insert("commitOffset".into(), json!(commit_offset));
        }
        self.mq_table.insert(mq.to_key(), fields);
    }

    /// `topic`'s rates.
    pub(crate) fn status(&mut self, topic: &str, status: Value) {
        self.status_table.insert(topic.to_string(), status);
    }

    pub(crate) fn into_json(self) -> Value {
        let subscription_set: Vec<Value> = self
            .core
            .subscriptions
            .read()
            .values()
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
            .collect();
        json!({
            "properties": self.properties,
            "subscriptionSet": subscription_set,
            "mqTable": self.mq_table,
            "mqPopTable": {},
            "statusTable": self.status_table,
            "userConsumerInfo": {},
            "jstack": "",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::core::CoreSettings;
    use crate::consumer::{AllocateStrategy, ConsumeFromWhere, MessageModel};
    use crate::{ClientConfig, ClientInstance};

    #[tokio::test]
    async fn every_consumer_reports_the_core_settings_and_its_queues() {
        let dir = tempfile::tempdir().unwrap();
        let instance = ClientInstance::start(ClientConfig::new("127.0.0.1:1")).unwrap();
        let core = ConsumerCore::new(
            std::sync::Arc::clone(&instance),
            false,
            CoreSettings {
                group: "g".into(),
                message_model: MessageModel::Broadcasting,
                consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
                consume_timestamp_ms: None,
                allocate_strategy: AllocateStrategy::AverageByCircle,
                offset_store_dir: Some(dir.path().to_path_buf()),
            },
        )
        .unwrap();
        let (mq, other) = (
            MessageQueue::new("T", "b", 0),
            MessageQueue::new("T", "b", 1),
        );
        core.offset_store.update(&mq, 7, false);
        let mut info = RunningInfo::new(&core, ConsumeType::ConsumeActively);
        info.property("pullBatchSize", 10);
        info.queue(&mq, json!({ "cachedMsgCount": 2 }));
        info.queue(&other, json!({}));
        info.status("T", json!({ "pullTPS": 1.0 }));
        let v = info.into_json();
        let p = &v["properties"];
        assert_eq!(p[PROP_CONSUME_TYPE], "CONSUME_ACTIVELY");
        assert_eq!(p[PROP_NAMESERVER_ADDR], "127.0.0.1:1");
        assert_eq!(p["consumerGroup"], "g");
        assert_eq!(p["messageModel"], "BROADCASTING");
        assert_eq!(p["consumeFromWhere"], "ConsumeFromFirstOffset");
        assert_eq!(p["allocateMessageQueueStrategy"], "AVG_BY_CIRCLE");
        assert_eq!(p["pullBatchSize"], "10");
        assert!(p["offsetStorePath"]
            .as_str()
            .unwrap()
            .ends_with("offsets.json"));
        assert_eq!(v["mqTable"][mq.to_key()]["commitOffset"], 7);
        assert_eq!(v["mqTable"][mq.to_key()]["cachedMsgCount"], 2);
        assert_eq!(v["mqTable"][other.to_key()]["commitOffset"], -1);
        assert_eq!(v["statusTable"]["T"]["pullTPS"], 1.0);
        assert_eq!(v["mqPopTable"], json!({}));
        instance.shutdown().await;
    }
}
