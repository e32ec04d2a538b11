//! Store maintenance an operator asks for: DELETE_EXPIRED_COMMITLOG (329, `mqadmin
//! deleteExpiredCommitLog`) and CLEAN_UNUSED_TOPIC (316, `mqadmin cleanUnusedTopic`).
//!
//! CLEAN_EXPIRED_CONSUMEQUEUE (306) is not served: Petrel's retention already removes
//! ConsumeQueue files wholly behind the CommitLog's start every `cleanResourceInterval`, and
//! RocketMQ's extra step (destroying a queue all of whose messages expired) would restart that
//! queue's offsets, which Petrel does not do.

use std::collections::BTreeSet;
use std::sync::Arc;

use petrel_protocol::remoting::{response_code, RemotingCommand};

use crate::broker::BrokerInner;
use crate::processor::admin_topic::is_broker_system_topic;
use crate::response::{self, Refusal};

/// DELETE_EXPIRED_COMMITLOG: deletes the CommitLog segments older than `fileReservedTime` now,
/// whatever the hour (`deleteWhen`), with the ConsumeQueue and index files behind them.
pub async fn delete_expired_commit_log(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let store = Arc::clone(&broker.store);
    let deleted = tokio::task::spawn_blocking(move || store.delete_expired_files_now())
        .await
        .map_err(|e| Refusal::new(response_code::SYSTEM_ERROR, e.to_string()))?;
    tracing::info!(deleted, "expired CommitLog segments deleted on request");
    Ok(response::ok(request))
}

/// CLEAN_UNUSED_TOPIC: removes the stored queues of topics no topic config names (left behind
/// by a topic deleted while the broker was down, or by another broker's store), keeping system
/// topics, as RocketMQ's `DefaultMessageStore.cleanUnusedTopic`.
pub fn clean_unused_topics(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let configured: BTreeSet<String> = broker.topics.names().into_iter().collect();
    let unused: Vec<String> = broker
        .store
        .topics()
        .into_iter()
        .filter(|t| !configured.contains(t) && !is_broker_system_topic(broker, t))
        .collect();
    if !unused.is_empty() {
        tracing::info!(topics = ?unused, "removing the queues of unused topics");
        broker.store.delete_topics(&unused);
    }
    Ok(response::ok(request))
}
