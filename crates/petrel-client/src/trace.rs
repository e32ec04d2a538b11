//! Message trace (RocketMQ's `AsyncTraceDispatcher`): producers and push consumers with
//! trace on hand records (Pub, SubBefore, SubAfter, in `petrel_protocol::trace`'s format) to a
//! [`TraceDispatcher`], which sends them in batches to the trace topic with its own inner
//! producer (group `_INNER_TRACE_PRODUCER-<group>`). A trace message's keys are the traced
//! messages' ids and keys, so the broker's index finds it by message id
//! (`petrel admin queryMsgTraceById`).
//!
//! Tracing never slows or fails the traced client: records go through a bounded channel
//! ([`TRACE_QUEUE_RECORDS_MAX`]) and are dropped, with a debug log, when it is full or a
//! trace send fails.

use std::sync::Arc;
use std::time::Duration;

pub use petrel_protocol::trace::{TraceRecord, TraceType, DEFAULT_REGION};
use petrel_protocol::trace::{
    TRACE_BATCH_RECORDS_MAX, TRACE_MESSAGE_BYTES_MAX, TRACE_PRODUCER_GROUP_PREFIX,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::Result;
use crate::instance::ClientInstance;
use crate::message::Message;
use crate::producer::{Producer, ProducerConfig};

/// Records waiting to be sent; more are dropped (`AsyncTraceDispatcher`'s queue: 2,048).
pub const TRACE_QUEUE_RECORDS_MAX: usize = 2_048;
/// A batch waits at most this long for more records before it is sent.
const TRACE_BATCH_WAIT: Duration = Duration::from_millis(100);
/// How long shutdown waits for queued records to be sent.
const TRACE_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends a client's trace records to the trace topic.
pub struct TraceDispatcher {
    tx: parking_lot::Mutex<Option<mpsc::Sender<TraceRecord>>>,
    task: parking_lot::Mutex<Option<JoinHandle<()>>>,
    producer: Producer,
}

impl std::fmt::Debug for TraceDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceDispatcher")
            .field("group", &self.producer.config().group)
            .finish()
    }
}

impl TraceDispatcher {
    /// Starts a dispatcher for the client group `traced_group`, sending to `topic` through
    /// `instance`.
    pub async fn start(
        instance: Arc<ClientInstance>,
        traced_group: &str,
        topic: &str,
    ) -> Result<Arc<Self>> {
        let group = format!("{TRACE_PRODUCER_GROUP_PREFIX}{traced_group}");
        let mut config = ProducerConfig::new(group);
        config.send_timeout = Duration::from_secs(5);
        config.max_message_size_bytes = TRACE_MESSAGE_BYTES_MAX;
        config.retry_times_when_send_failed = 0;
        // Boxed: a traced producer's start starts this one (its own config has trace off).
        let producer = Box::pin(Producer::start_on(instance, config)).await?;
        let (tx, rx) = mpsc::channel(TRACE_QUEUE_RECORDS_MAX);
        let task = tokio::spawn(run(rx, producer.clone(), topic.to_string()));
        Ok(Arc::new(Self {
            tx: parking_lot::Mutex::new(Some(tx)),
            task: parking_lot::Mutex::new(Some(task)),
            producer,
        }))
    }

    /// Queues a record (dropped if the queue is full or the dispatcher stopped).
    pub fn record(&self, record: TraceRecord) {
        if let Some(tx) = self.tx.lock().as_ref() {
            if tx.try_send(record).is_err() {
                tracing::debug!("trace queue full; a trace record was dropped");
            }
        }
    }

    /// Sends what is queued (waiting up to 5 s) and stops the inner producer.
    pub async fn shutdown(&self) {
        drop(self.tx.lock().take());
        let task = self.task.lock().take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(TRACE_FLUSH_TIMEOUT, task).await;
        }
        // Boxed: the traced producer's shutdown calls this one.
        Box::pin(self.producer.shutdown()).await;
    }
}

/// The keys of a trace message: each record's message id and keys, space-separated.
fn batch_keys(records: &[TraceRecord]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for r in records {
        for k in std::iter::once(r.msg_id.as_str()).chain(r.keys.split(' ')) {
            if !k.is_empty() && !keys.iter().any(|have| have == k) {
                keys.push(k.to_string());
            }
        }
    }
    keys
}

async fn send_batch(producer: &Producer, topic: &str, records: &[TraceRecord]) {
    if records.is_empty() {
        return;
    }
    let mut body = String::new();
    for r in records {
        r.encode_into(&mut body);
    }
    let msg = Message::new(topic, body.into_bytes()).with_keys(batch_keys(records));
    if let Err(e) = producer.send(msg).await {
        tracing::debug!(error = %e, records = records.len(), "could not send trace records");
    }
}

async fn run(mut rx: mpsc::Receiver<TraceRecord>, producer: Producer, topic: String) {
    let mut batch: Vec<TraceRecord> = Vec::new();
    let mut bytes = 0;
    loop {
        let next = if batch.is_empty() {
            rx.recv().await
        } else {
            match tokio::time::timeout(TRACE_BATCH_WAIT, rx.recv()).await {
                Ok(r) => r,
                Err(_) => {
                    send_batch(&producer, &topic, &batch).await;
                    batch.clear();
                    bytes = 0;
                    continue;
                }
            }
        };
        let Some(record) = next else {
            send_batch(&producer, &topic, &batch).await;
            return;
        };
        let mut text = String::new();
        record.encode_into(&mut text);
        if bytes + text.len() > TRACE_MESSAGE_BYTES_MAX {
            send_batch(&producer, &topic, &batch).await;
            batch.clear();
            bytes = 0;
        }
        bytes += text.len();
        batch.push(record);
        if batch.len() >= TRACE_BATCH_RECORDS_MAX {
            send_batch(&producer, &topic, &batch).await;
            batch.clear();
            bytes = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_ids_and_keys_once_each() {
        let records = vec![
            TraceRecord {
                msg_id: "A".into(),
                keys: "k1 k2".into(),
                ..Default::default()
            },
            TraceRecord {
                msg_id: "A".into(),
                keys: String::new(),
                ..Default::default()
            },
        ];
        assert_eq!(batch_keys(&records), vec!["A", "k1", "k2"]);
    }
}
