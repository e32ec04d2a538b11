//! Transactional messages (RocketMQ's `TransactionalMessageService` and check service).
//!
//! 1. A producer sends a *half* message (`TRAN_MSG=true`). It is stored in
//!    `RMQ_SYS_TRANS_HALF_TOPIC` (queue 0) with its destination in `REAL_TOPIC`/`REAL_QID`, so
//!    no consumer sees it.
//! 2. END_TRANSACTION commits (the message is stored in its real topic) or rolls back; either
//!    way an *op* record in `RMQ_SYS_TRANS_OP_HALF_TOPIC` (tag `d`, body = the half's queue
//!    offset, as RocketMQ writes it) marks the half as resolved.
//! 3. A check task scans the half queue every `transactionCheckInterval`. A half unresolved
//!    for `transactionTimeOut` is put back at the end of the queue with its
//!    `TRANSACTION_CHECK_TIMES` raised by one, and its producer group (`PGROUP`) is asked for
//!    its state with CHECK_TRANSACTION_STATE on a live connection (none connected: the
//!    [`OtherProducers`] installed, the gRPC service's clients); after `transactionCheckMax`
//!    checks it is moved to `TRANS_CHECK_MAX_TIME_TOPIC`. Scan progress is the consumer
//!    offset of the system group `CID_RMQ_SYS_TRANS` on the half queue.
//!
//! Resolution is keyed by the message's `UNIQ_KEY` (every put-back copy shares it), so a
//! transaction commits at most once even when the producer's own END_TRANSACTION and a
//! check-back answer both arrive. The set of resolved keys is rebuilt from the op records at
//! start and forgets keys after `RESOLVED_RETENTION_MS`.
//!
//! Where a half message goes when it is sent is decided with every other destination
//! (`processor::destination`); this module resolves and checks halves. It works on a
//! [`TransactionContext`]: the pieces of the broker it needs, not the broker itself.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use petrel_protocol::message::{
    encode_offset_msg_id, properties, sys_flag, Properties, RecordView,
};
use petrel_protocol::mix_all::TRANSACTION_CHECK_GROUP;
use petrel_protocol::remoting::header::CheckTransactionStateRequestHeader;
use petrel_protocol::remoting::{request_code, RemotingCommand};
use petrel_protocol::topic::{TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};
use petrel_store::{MessageStore, StoreError};
use tokio::sync::watch;

use crate::clock::now_ms;
use crate::message::{apply, OwnedMessage};
use crate::state::client_registry::ClientRegistry;
use crate::state::consumer_offset::ConsumerOffsetManager;
use crate::system_topic::schedule::{delay_level_of, delayed};

/// Tag of op records (RocketMQ's `TransactionalMessageUtil.REMOVE_TAG`).
const OP_TAG: &str = "d";
/// Property carrying the resolved transaction's UNIQ_KEY on op records (Petrel's addition;
/// op records written by RocketMQ are resolved through their half queue offset instead).
const OP_UNIQ_PROPERTY: &str = "PETREL_TRAN_UNIQ";
/// How long a resolved key is remembered.
const RESOLVED_RETENTION_MS: i64 = 24 * 3_600_000;
/// Most halves one check round looks at (the rest wait for the next round).
const MAX_CHECKS_PER_ROUND: usize = 10_000;

/// How END_TRANSACTION asked to resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Commit,
    Rollback,
}

/// What transactions need from the broker.
pub struct TransactionContext<'a> {
    pub store: &'a MessageStore,
    /// The address stamped into re-put records and offset message ids.
    pub store_host: SocketAddr,
    pub service: &'a TransactionService,
    /// Where the check scan keeps its progress (the offset of `CID_RMQ_SYS_TRANS`).
    pub offsets: &'a ConsumerOffsetManager,
    /// Where producers to ask about a transaction are found.
    pub clients: &'a ClientRegistry,
    /// Levels of `messageDelayLevel`, for delayed messages committed.
    pub max_delay_level: i32,
    /// `transactionTimeOut`: how old an unresolved half must be before it is checked.
    pub timeout_ms: i64,
    /// `transactionCheckMax`: checks before a half is set aside.
    pub check_max: i32,
}

#[derive(Default)]
pub struct TransactionService {
    /// UNIQ_KEY → when it was resolved.
    resolved: Mutex<HashMap<String, i64>>,
    /// Producers reached other than over remoting, asked when no remoting producer of the
    /// group is connected.
    other_producers: RwLock<Option<Arc<dyn OtherProducers>>>,
}

/// Producers the broker reaches other than over remoting connections: the gRPC service's
/// clients, asked over their Telemetry stream (`RecoverOrphanedTransactionCommand`). The check
/// task asks them when no remoting producer of the half's group is connected.
pub trait OtherProducers: Send + Sync {
    /// Asks a producer of `producer_group` to resolve `half`, the put-back copy stored at
    /// `commit_log_offset` (the offset an END_TRANSACTION for it names). Must not block; false
    /// when no such producer is connected.
    fn ask(&self, producer_group: &str, half: &OwnedMessage, commit_log_offset: i64) -> bool;
}

/// The identity of a transaction: the message's UNIQ_KEY, or its offset msgId without one.
pub fn transaction_key(
    msg: &OwnedMessage,
    store_host: std::net::SocketAddr,
    physical_offset: i64,
) -> String {
    msg.properties
        .get(properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
        .map(str::to_string)
        .unwrap_or_else(|| encode_offset_msg_id(store_host, physical_offset))
}

impl TransactionService {
    /// Installs the producers asked besides remoting ones (one set; a later call replaces it).
    pub fn set_other_producers(&self, producers: Arc<dyn OtherProducers>) {
        *self.other_producers.write() = Some(producers);
    }

    fn other_producers(&self) -> Option<Arc<dyn OtherProducers>> {
        self.other_producers.read().clone()
    }

    pub fn is_resolved(&self, key: &str) -> bool {
        self.resolved.lock().contains_key(key)
    }

    /// Marks `key` resolved; false if it already was.
    fn mark_resolved(&self, key: &str) -> bool {
        let mut resolved = self.resolved.lock();
        let now = now_ms();
        if resolved.len() > 100_000 {
            resolved.retain(|_, at| now - *at < RESOLVED_RETENTION_MS);
        }
        resolved.insert(key.to_string(), now).is_none()
    }

    /// Rebuilds the resolved set from the op records.
    pub fn load(store: &MessageStore) -> Self {
        let service = Self::default();
        let (min, max) = (
            store.get_min_offset_in_queue(TRANS_OP_HALF_TOPIC, 0),
            store.get_max_offset_in_queue(TRANS_OP_HALF_TOPIC, 0),
        );
        let mut offset = min;
        while offset < max {
            let got = store.get_message(
                TRANS_OP_HALF_TOPIC,
                0,
                offset,
                32,
                usize::MAX,
                &petrel_store::AcceptAll,
            );
            if got.messages.is_empty() {
                break;
            }
            for record in &got.messages {
                if let Ok(view) = RecordView::parse(record) {
                    for key in op_keys(store, &view) {
                        service.resolved.lock().insert(key, now_ms());
                    }
                }
            }
            offset = got.next_begin_offset;
        }
        service
    }
}

/// The transaction keys an op record resolves.
fn op_keys(store: &MessageStore, view: &RecordView<'_>) -> Vec<String> {
    if let Ok(Some(uniq)) = properties::find(view.properties(), OP_UNIQ_PROPERTY) {
        return vec![uniq.to_string()];
    }
    // A RocketMQ op record: the body lists half queue offsets ("12" or "12,13,").
    let Ok(body) = std::str::from_utf8(view.body()) else {
        return Vec::new();
    };
    body.split(',')
        .filter_map(|o| o.trim().parse::<i64>().ok())
        .filter_map(|o| {
            let entry = store.consume_queue_entry(TRANS_HALF_TOPIC, 0, o)?;
            let record = store.read_commit_log(entry.physical_offset, entry.size)?;
            let view = RecordView::parse(&record).ok()?;
            properties::find(view.properties(), properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
                .ok()
                .flatten()
                .map(str::to_string)
        })
        .collect()
}

/// Why a resolution failed.
#[derive(Debug, thiserror::Error)]
pub enum EndTransactionError {
    #[error("Find prepared transaction message failed: no half message at CommitLog offset {0}")]
    NotFound(i64),
    #[error("the message at CommitLog offset {0} is not a half message")]
    NotHalf(i64),
    #[error("The producer group wrong: the half message belongs to {expected}, not {got}")]
    WrongGroup { expected: String, got: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Commits or rolls back the half message at `commit_log_offset`. Idempotent: a transaction
/// already resolved is left alone.
pub async fn end_transaction(
    broker: &TransactionContext<'_>,
    commit_log_offset: i64,
    producer_group: &str,
    resolution: Resolution,
) -> Result<(), EndTransactionError> {
    let record = broker
        .store
        .look_message_by_offset(commit_log_offset)
        .ok_or(EndTransactionError::NotFound(commit_log_offset))?;
    let half = OwnedMessage::from_record(&record)
        .map_err(|_| EndTransactionError::NotHalf(commit_log_offset))?;
    let half_queue_offset = RecordView::parse(&record)
        .map(|v| v.queue_offset())
        .unwrap_or(0);
    if half.topic != TRANS_HALF_TOPIC {
        return Err(EndTransactionError::NotHalf(commit_log_offset));
    }
    if let Some(expected) = half.properties.get(properties::PRODUCER_GROUP) {
        if !producer_group.is_empty() && expected != producer_group {
            return Err(EndTransactionError::WrongGroup {
                expected: expected.to_string(),
                got: producer_group.to_string(),
            });
        }
    }
    let key = transaction_key(&half, broker.store_host, commit_log_offset);
    if broker.service.is_resolved(&key) {
        return Ok(());
    }
    if resolution == Resolution::Commit {
        let mut real = half.clone();
        real.topic = half
            .properties
            .get(properties::REAL_TOPIC)
            .unwrap_or_default()
            .to_string();
        real.queue_id = half
            .properties
            .get(properties::REAL_QUEUE_ID)
            .and_then(|q| q.parse().ok())
            .unwrap_or(0);
        real.properties.remove(properties::REAL_TOPIC);
        real.properties.remove(properties::REAL_QUEUE_ID);
        real.properties.remove(properties::TRANSACTION_PREPARED);
        real.properties.remove(properties::TRANSACTION_CHECK_TIMES);
        real.sys_flag =
            sys_flag::with_transaction_type(half.sys_flag, sys_flag::TRANSACTION_COMMIT_TYPE);
        real.prepared_transaction_offset = commit_log_offset;
        // A delayed transactional message waits its level after the commit.
        if let Some(level) = real
            .properties
            .get(properties::DELAY_TIME_LEVEL)
            .and_then(|d| delay_level_of(d, broker.max_delay_level))
        {
            let (topic, queue_id, edits) = delayed(level, &real.topic, real.queue_id);
            apply(&mut real.properties, &edits);
            real.topic = topic;
            real.queue_id = queue_id;
        }
        real.put(broker.store, broker.store_host).await?;
    }
    write_op(broker, half_queue_offset, &key).await?;
    broker.service.mark_resolved(&key);
    tracing::debug!(key, ?resolution, "transaction resolved");
    Ok(())
}

async fn write_op(
    broker: &TransactionContext<'_>,
    half_queue_offset: i64,
    key: &str,
) -> Result<(), StoreError> {
    let mut props = Properties::new();
    props.insert(properties::TAGS, OP_TAG);
    props.insert(OP_UNIQ_PROPERTY, key);
    let op = OwnedMessage {
        topic: TRANS_OP_HALF_TOPIC.to_string(),
        queue_id: 0,
        flag: 0,
        body: Bytes::from(half_queue_offset.to_string()),
        properties: props,
        sys_flag: 0,
        born_timestamp: now_ms(),
        born_host: broker.store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    op.put(broker.store, broker.store_host).await.map(|_| ())
}

/// One check round; returns how many halves were checked.
pub async fn check_round(broker: &TransactionContext<'_>) -> usize {
    let (timeout_ms, check_max) = (broker.timeout_ms, broker.check_max);
    let store = broker.store;
    let min = store.get_min_offset_in_queue(TRANS_HALF_TOPIC, 0);
    let max = store.get_max_offset_in_queue(TRANS_HALF_TOPIC, 0);
    let mut progress = broker
        .offsets
        .query(TRANSACTION_CHECK_GROUP, TRANS_HALF_TOPIC, 0)
        .unwrap_or(min)
        .max(min);
    let mut checked = 0;
    let now = now_ms();
    while progress < max && checked < MAX_CHECKS_PER_ROUND {
        let Some(entry) = store.consume_queue_entry(TRANS_HALF_TOPIC, 0, progress) else {
            break;
        };
        let Some(record) = store.read_commit_log(entry.physical_offset, entry.size) else {
            progress += 1;
            continue;
        };
        let (Ok(view), Ok(half)) = (
            RecordView::parse(&record),
            OwnedMessage::from_record(&record),
        ) else {
            progress += 1;
            continue;
        };
        let key = transaction_key(&half, broker.store_host, entry.physical_offset);
        if broker.service.is_resolved(&key) {
            progress += 1;
            continue;
        }
        // A per-message immunity time, in seconds, overrides transactionTimeOut.
        let immunity_ms = half
            .properties
            .get(properties::CHECK_IMMUNITY_TIME_IN_SECONDS)
            .and_then(|s| s.parse::<i64>().ok())
            .map(|s| s.saturating_mul(1000)) // the client's number: any i64
            .unwrap_or(timeout_ms);
        if now.saturating_sub(view.store_timestamp()) < immunity_ms {
            break; // everything after it is younger
        }
        let check_times: i32 = half
            .properties
            .get(properties::TRANSACTION_CHECK_TIMES)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        if check_times >= check_max {
            let mut discarded = half.clone();
            discarded.topic = TRANS_CHECK_MAX_TIME_TOPIC.to_string();
            discarded.queue_id = 0;
            if discarded.put(store, broker.store_host).await.is_err() {
                break;
            }
            if let Err(e) = write_op(broker, view.queue_offset(), &key).await {
                // The copy in TRANS_CHECK_MAX_TIME_TOPIC is stored; without its op record a
                // restart forgets that the half was set aside and checks it again (and may set
                // it aside a second time).
                tracing::warn!(
                    key,
                    error = %e,
                    "could not record that a transaction was set aside; after a restart it \
                     will be checked again"
                );
            }
            broker.service.mark_resolved(&key);
            tracing::warn!(key, check_times, "transaction unresolved after transactionCheckMax checks; moved to {TRANS_CHECK_MAX_TIME_TOPIC}");
            progress += 1;
            continue;
        }
        // Put a copy back at the end, then ask the producer about that copy.
        let mut copy = half.clone();
        copy.properties.insert(
            properties::TRANSACTION_CHECK_TIMES,
            (check_times + 1).to_string(),
        );
        let Ok(put) = copy.put(store, broker.store_host).await else {
            break;
        };
        let copy_offset = put.append.physical_offsets[0];
        let producer_group = half
            .properties
            .get(properties::PRODUCER_GROUP)
            .unwrap_or_default()
            .to_string();
        match broker.clients.any_producer_connection(&producer_group) {
            Some(conn) => {
                let Some(copy_record) = store.look_message_by_offset(copy_offset) else {
                    break;
                };
                let header = CheckTransactionStateRequestHeader {
                    topic: half
                        .properties
                        .get(properties::REAL_TOPIC)
                        .map(str::to_string),
                    tran_state_table_offset: put.append.queue_offset,
                    commit_log_offset: copy_offset,
                    msg_id: half
                        .properties
                        .get(properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
                        .map(str::to_string),
                    transaction_id: half
                        .properties
                        .get(properties::TRANSACTION_ID)
                        .or(half
                            .properties
                            .get(properties::UNIQ_CLIENT_MESSAGE_ID_KEYIDX))
                        .map(str::to_string),
                    offset_msg_id: Some(encode_offset_msg_id(broker.store_host, copy_offset)),
                    ..Default::default()
                };
                let request = RemotingCommand::request(request_code::CHECK_TRANSACTION_STATE)
                    .with_header(&header)
                    .with_body(copy_record);
                if let Err(e) = conn.invoke_oneway(request).await {
                    tracing::debug!(producer_group, error = %e, "could not ask the producer about a transaction");
                }
            }
            None => {
                let asked = broker
                    .service
                    .other_producers()
                    .is_some_and(|o| o.ask(&producer_group, &copy, copy_offset));
                if !asked {
                    tracing::debug!(
                        producer_group,
                        key,
                        "no live producer of the group to check a transaction with"
                    );
                }
            }
        }
        checked += 1;
        progress += 1;
    }
    broker
        .offsets
        .commit(TRANSACTION_CHECK_GROUP, TRANS_HALF_TOPIC, 0, progress);
    checked
}

/// The check task: a round every `interval` (`transactionCheckInterval`).
pub async fn run_checks(
    broker: TransactionContext<'_>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        let checked = check_round(&broker).await;
        if checked > 0 {
            tracing::debug!(checked, "transaction check round");
        }
    }
}
