//! What admin tools see of a running consumer (`GET_CONSUMER_RUNNING_INFO`): Java's
//! `ConsumerRunningInfo` as JSON — settings in `properties`, the subscriptions, one
//! `ProcessQueueInfo` per queue in `mqTable` (cached messages, offsets, lock state) and
//! per-topic rates in `statusTable`.
//!
//! `mqTable` is keyed by each queue's JSON text (`{"brokerName":..,"queueId":..,"topic":..}`),
//! the standard-JSON form of fastjson's object keys.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde_json::{json, Map, Value};

use super::offset_store::OffsetStore;
use super::push::ConsumerInner;
use crate::message::now_ms;

/// `ConsumerRunningInfo` property names.
pub const PROP_NAMESERVER_ADDR: &str = "PROP_NAMESERVER_ADDR";
pub const PROP_THREADPOOL_CORE_SIZE: &str = "PROP_THREADPOOL_CORE_SIZE";
pub const PROP_CONSUME_ORDERLY: &str = "PROP_CONSUMEORDERLY";
pub const PROP_CONSUME_TYPE: &str = "PROP_CONSUME_TYPE";
pub const PROP_CLIENT_VERSION: &str = "PROP_CLIENT_VERSION";
pub const PROP_CONSUMER_START_TIMESTAMP: &str = "PROP_CONSUMER_START_TIMESTAMP";

impl ConsumerInner {
    pub(super) fn running_info_json(&self) -> Value {
        let c = &self.config;
        let client = self.instance.config();
        let mut properties = Map::new();
        let mut prop = |k: &str, v: String| {
            properties.insert(k.to_string(), Value::String(v));
        };
        prop(PROP_NAMESERVER_ADDR, client.namesrv_addrs.join(";"));
        prop(PROP_THREADPOOL_CORE_SIZE, c.consume_thread_max.to_string());
        prop(PROP_CONSUME_ORDERLY, self.listener.is_orderly().to_string());
        prop(PROP_CONSUME_TYPE, "CONSUME_PASSIVELY".into());
        prop(
            PROP_CLIENT_VERSION,
            format!("petrel-client {}", env!("CARGO_PKG_VERSION")),
        );
        prop(PROP_CONSUMER_START_TIMESTAMP, self.start_ms.to_string());
        // The settings, named as DefaultMQPushConsumer's fields.
        prop("consumerGroup", c.group.clone());
        prop(
            "messageModel",
            format!("{:?}", c.message_model).to_uppercase(),
        );
        prop("consumeFromWhere", format!("{:?}", c.consume_from_where));
        prop(
            "allocateMessageQueueStrategy",
            c.allocate_strategy.name().into(),
        );
        prop("consumeThreadMax", c.consume_thread_max.to_string());
        prop(
            "consumeMessageBatchMaxSize",
            c.consume_message_batch_max_size.to_string(),
        );
        prop("pullBatchSize", c.pull_batch_size.to_string());
        prop(
            "pullThresholdForQueue",
            c.pull_threshold_for_queue.to_string(),
        );
        prop(
            "pullThresholdSizeForQueue",
            c.pull_threshold_size_for_queue_mib.to_string(),
        );
        prop(
            "consumeConcurrentlyMaxSpan",
            c.consume_concurrently_max_span.to_string(),
        );
        prop("maxReconsumeTimes", c.max_reconsume_times.to_string());
        prop(
            "consumeTimeout",
            (c.consume_timeout.as_millis() / 60_000).to_string(),
        );
        prop("clientIP", client.client_ip.clone());
        prop("instanceName", client.instance_name.clone());
        if let OffsetStore::Local(local) = &self.offset_store {
            prop("offsetStorePath", local.path().display().to_string());
        }

        let subscription_set: Vec<Value> = self
            .subscriptions
            .read()
            .values()
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
            .collect();

        let mut mq_table = Map::new();
        let queues: Vec<_> = self
            .process_queues
            .lock()
            .iter()
            .map(|(mq, pq)| (mq.clone(), pq.info()))
            .collect();
        for (mq, info) in queues {
            let commit_offset = self.offset_store.memory(&mq).unwrap_or(-1);
            mq_table.insert(
                mq.to_key(),
                json!({
                    "commitOffset": commit_offset,
                    "cachedMsgMinOffset": info.cached_msg_min_offset,
                    "cachedMsgMaxOffset": info.cached_msg_max_offset,
                    "cachedMsgCount": info.cached_msg_count,
                    "cachedMsgSizeInMiB": info.cached_msg_size_bytes / (1024 * 1024),
                    "transactionMsgMinOffset": 0,
                    "transactionMsgMaxOffset": 0,
                    "transactionMsgCount": 0,
                    "locked": info.locked,
                    "tryUnlockTimes": info.try_unlock_times,
                    "lastLockTimestamp": info.last_lock_timestamp,
                    "droped": info.dropped,
                    "lastPullTimestamp": info.last_pull_timestamp,
                    "lastConsumeTimestamp": info.last_consume_timestamp,
                }),
            );
        }

        // Average rates since start (the Java client reports last-minute rates).
        let s = &self.stats;
        let secs = ((now_ms() - self.start_ms).max(1) as f64) / 1000.0;
        let pulls = s.pulls.load(Ordering::Relaxed);
        let calls = s.consume_calls.load(Ordering::Relaxed);
        let failed = s.consume_failed.load(Ordering::Relaxed);
        let avg = |total: u64, n: u64| if n == 0 { 0.0 } else { total as f64 / n as f64 };
        let status = json!({
            "pullRT": avg(s.pull_rt_ms.load(Ordering::Relaxed), pulls),
            "pullTPS": s.pulled_msgs.load(Ordering::Relaxed) as f64 / secs,
            "consumeRT": avg(s.consume_rt_ms.load(Ordering::Relaxed), calls),
            "consumeOKTPS": s.consume_ok.load(Ordering::Relaxed) as f64 / secs,
            "consumeFailedTPS": failed as f64 / secs,
            "consumeFailedMsgs": failed,
        });
        let status_table: BTreeMap<String, Value> = self
            .subscriptions
            .read()
            .keys()
            .map(|t| (t.clone(), status.clone()))
            .collect();

        json!({
            "properties": properties,
            "subscriptionSet": subscription_set,
            "mqTable": mq_table,
            "mqPopTable": {},
            "statusTable": status_table,
            "userConsumerInfo": {},
            "jstack": "",
        })
    }
}
