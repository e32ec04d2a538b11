//! What a rebalance of the push consumer does (run every `ClientConfig::rebalance_interval`,
//! when a broker says the group changed, and 500 ms after an orderly queue could not be
//! locked): for each subscribed topic, this member's share of the queues (`consumer::core`);
//! queues no longer ours are dropped (their offsets committed first, orderly ones unlocked once
//! their batch in progress ends); new ones start where `core::start_offset` says, as Java's
//! `RebalancePushImpl.computePullFromWhere`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use petrel_protocol::topic::is_retry_topic;

use super::process_queue::ProcessQueue;
use super::ConsumerInner;
use crate::error::Result;
use crate::message::{now_ms, MessageQueue};

/// How long an orderly queue given up waits for its batch in progress before it is unlocked
/// anyway (`rocketmq.client.unlockDelayTimeMills`).
const UNLOCK_DELAY_MS: i64 = 20_000;
/// A rebalance that could not lock every new orderly queue runs again after this.
const RETRY_LOCK_DELAY: Duration = Duration::from_millis(500);

impl ConsumerInner {
    /// One rebalance of every subscribed topic (serialised with offset resets).
    pub(super) async fn rebalance(self: &Arc<Self>) {
        let _serial = self.core.rebalance_serial.lock().await;
        if self.core.is_shutting_down() {
            return;
        }
        let topics: Vec<String> = self.core.subscriptions.read().keys().cloned().collect();
        let mut all_locked = true;
        for topic in &topics {
            match self.rebalance_topic(topic).await {
                Ok(locked) => all_locked &= locked,
                Err(e) => {
                    if is_retry_topic(topic) {
                        tracing::debug!(group = %self.config.group, %topic, error = %e, "rebalance of the retry topic skipped");
                    } else {
                        tracing::warn!(group = %self.config.group, %topic, error = %e, "rebalance failed");
                    }
                }
            }
        }
        // Queues of topics no longer subscribed (none today: subscriptions are fixed at start).
        let stale: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .process_queues
            .lock()
            .iter()
            .filter(|(mq, _)| !topics.contains(&mq.topic))
            .map(|(mq, pq)| (mq.clone(), Arc::clone(pq)))
            .collect();
        for (mq, pq) in stale {
            pq.set_dropped();
            self.process_queues.lock().remove(&mq);
        }
        if !all_locked {
            self.rebalance_later(RETRY_LOCK_DELAY);
        }
    }

    /// Asks for a rebalance after `delay`.
    pub(super) fn rebalance_later(self: &Arc<Self>, delay: Duration) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(me) = me.upgrade() {
                me.core.rebalance_now.notify_one();
            }
        });
    }

    /// Returns whether every new queue that needed a lock got it.
    async fn rebalance_topic(self: &Arc<Self>, topic: &str) -> Result<bool> {
        let route = self.core.instance.route(topic).await?;
        let assigned = self.core.allocate(&route).await?;
        Ok(self.update_process_queues(topic, &assigned).await)
    }

    /// Drops the queues of `topic` not in `assigned` and starts the new ones. Returns false
    /// when an orderly queue could not be locked (the rebalance is then repeated soon).
    async fn update_process_queues(
        self: &Arc<Self>,
        topic: &str,
        assigned: &BTreeSet<MessageQueue>,
    ) -> bool {
        for (mq, pq) in self.queues_of(topic) {
            // A queue dropped earlier whose removal had to wait is retried here.
            if !assigned.contains(&mq) || pq.is_dropped() {
                pq.set_dropped();
                if self.give_up_queue(&mq, &pq).await {
                    tracing::info!(group = %self.config.group, ?mq, "queue removed");
                }
            }
        }

        let needs_lock = self.needs_queue_locks();
        let mut all_locked = true;
        for mq in assigned {
            if self.process_queues.lock().contains_key(mq) {
                continue;
            }
            if needs_lock && !self.lock_queue(mq).await {
                tracing::info!(group = %self.config.group, ?mq, "queue not added: its lock is held by another member");
                all_locked = false;
                continue;
            }
            self.core.offset_store.remove(mq);
            let pq = Arc::new(ProcessQueue::new());
            pq.set_locked(true);
            match self.compute_pull_from_where(mq).await {
                Ok(offset) => {
                    tracing::info!(group = %self.config.group, ?mq, offset, "queue added");
                    self.process_queues
                        .lock()
                        .insert(mq.clone(), Arc::clone(&pq));
                    self.start_queue(mq.clone(), pq, offset);
                }
                Err(e) => {
                    tracing::warn!(group = %self.config.group, ?mq, error = %e, "queue not added: its start offset is unknown")
                }
            }
        }
        all_locked
    }

    /// [`ConsumerInner::remove_unnecessary_queue`], then the queue leaves the table (unless it
    /// was assigned again meanwhile). Returns false when the queue must stay for now.
    pub(super) async fn give_up_queue(&self, mq: &MessageQueue, pq: &Arc<ProcessQueue>) -> bool {
        if !self.remove_unnecessary_queue(mq, pq).await {
            return false;
        }
        let mut table = self.process_queues.lock();
        if table.get(mq).is_some_and(|p| Arc::ptr_eq(p, pq)) {
            table.remove(mq);
        }
        true
    }

    /// Gives up a queue: commits its offset and forgets it; an orderly queue is unlocked on the
    /// broker once the batch in progress is done (or after 20 s without a lock renewal).
    /// Returns false when the queue must stay for now (a batch is still running).
    pub(super) async fn remove_unnecessary_queue(
        &self,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
    ) -> bool {
        if self.needs_queue_locks() {
            let force = now_ms() > pq.last_lock_ms() + UNLOCK_DELAY_MS;
            let _guard = if force {
                None
            } else {
                match tokio::time::timeout(
                    Duration::from_millis(500),
                    Arc::clone(&pq.consume_lock).lock_owned(),
                )
                .await
                {
                    Ok(g) => Some(g),
                    Err(_) => {
                        pq.inc_try_unlock_times();
                        return false;
                    }
                }
            };
            self.core.persist_and_forget(mq).await;
            pq.set_locked(false);
            self.unlock_queues(&mq.broker_name, [mq.clone()].into_iter().collect())
                .await;
            true
        } else {
            self.core.persist_and_forget(mq).await;
            true
        }
    }

    /// The offset a newly assigned queue starts at (`ConsumerCore::start_offset`), remembered
    /// as the queue's offset so that a member taking the queue over later starts there too.
    pub(super) async fn compute_pull_from_where(&self, mq: &MessageQueue) -> Result<i64> {
        let (committed, offset) = self.core.start_offset(mq).await?;
        if committed.is_none() {
            self.core.offset_store.update(mq, offset, false);
        }
        Ok(offset)
    }
}
