//! Orderly consumption (RocketMQ's `ConsumeMessageOrderlyService`) and the queue locks it
//! depends on.
//!
//! Each queue has one consuming task: it takes the next batch in offset order, runs the
//! listener on a blocking thread (one batch at a time per queue, at most `consume_thread_max`
//! queues at once), and commits the offset after it. `SuspendCurrentQueueAMoment` puts the
//! same messages back at the head of the queue and pauses it; a message failing more than
//! `max_reconsume_times` is handed to the group's DLQ and consumption goes on.
//!
//! In clustering, two members must never consume one queue at the same time: a queue is
//! locked on its broker (`LOCK_BATCH_MQ`) before it is pulled, the locks are renewed every
//! `lock_interval` (the broker lets them expire after 60 s), and a queue whose lock this
//! consumer has not renewed for 30 s is not consumed. A queue given up is unlocked
//! (`UNLOCK_BATCH_MQ`) once its batch in progress is over and its offset committed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use petrel_protocol::remoting::body::LockBatchRequestBody;

use super::process_queue::ProcessQueue;
use super::ConsumerInner;
use crate::broker_api::group;
use crate::consumer::{ConsumeOrderlyContext, ConsumeOrderlyStatus, MessageListener};
use crate::error::Result;
use crate::message::{now_ms, MessageExt, MessageQueue};

/// Timeout of lock and unlock requests (Java's 1 s).
const LOCK_TIMEOUT: Duration = Duration::from_millis(1_000);
/// A queue whose lock was lost is tried again after this.
const TRY_LOCK_LATER: Duration = Duration::from_millis(1_000);
/// An idle queue looks at its lock again at least this often.
const IDLE_RECHECK: Duration = Duration::from_millis(1_000);

impl ConsumerInner {
    /// Whether queues must be locked on brokers: orderly listeners in clustering.
    pub(super) fn needs_queue_locks(&self) -> bool {
        self.listener.is_orderly() && self.core.is_clustering()
    }

    /// The consuming task of one queue (orderly listeners).
    pub(super) async fn consume_orderly_loop(
        self: Arc<Self>,
        mq: MessageQueue,
        pq: Arc<ProcessQueue>,
    ) {
        let MessageListener::Orderly(listener) = self.listener.clone() else {
            return;
        };
        let batch = self.config.consume_message_batch_max_size.max(1);
        loop {
            if pq.is_dropped() || self.core.is_shutting_down() {
                return;
            }
            if self.needs_queue_locks() && (!pq.is_locked() || pq.is_lock_expired(now_ms())) {
                if !self.lock_queue(&mq).await {
                    tracing::debug!(group = %self.config.group, ?mq, "queue not locked; consuming later");
                    self.pause(&pq, TRY_LOCK_LATER).await;
                }
                continue;
            }
            if !pq.has_messages() {
                tokio::select! {
                    _ = pq.wait_for_messages() => {}
                    _ = pq.dropped() => return,
                    _ = self.core.shutdown_signal() => return,
                    _ = tokio::time::sleep(IDLE_RECHECK) => {}
                }
                continue;
            }
            // Held for the whole batch: a rebalance giving the queue up waits for it.
            let guard = Arc::clone(&pq.consume_lock).lock_owned().await;
            if pq.is_dropped() {
                return;
            }
            let permit = tokio::select! {
                p = Arc::clone(&self.consume_permits).acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
                _ = self.core.shutdown_signal() => return,
                _ = pq.dropped() => return,
            };
            if self.core.is_shutting_down() {
                return;
            }
            let taken = pq.take(batch);
            if taken.is_empty() {
                continue;
            }
            let _in_flight = self.in_flight();
            let mut view = taken;
            self.reset_retry_topic(&mut view);
            let ctx = ConsumeOrderlyContext {
                message_queue: mq.clone(),
                auto_commit: true,
                suspend_current_queue_time: None,
            };
            let started = Instant::now();
            let trace_request = self.trace_before(&view);
            let call = {
                let (listener, view, mut ctx) = (Arc::clone(&listener), view.clone(), ctx.clone());
                tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    let status = listener.consume_message(&view, &mut ctx);
                    (status, ctx)
                })
            };
            let (status, ctx) = match call.await {
                Ok(done) => done,
                Err(e) => {
                    tracing::warn!(group = %self.config.group, ?mq, error = %e, "the orderly listener panicked; suspending the queue");
                    (ConsumeOrderlyStatus::SuspendCurrentQueueAMoment, ctx)
                }
            };
            self.trace_after(
                trace_request,
                &view,
                started.elapsed().as_millis() as i64,
                matches!(status, ConsumeOrderlyStatus::Success),
            );
            self.stats
                .consume_rt_ms
                .fetch_add(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            self.stats.consume_calls.fetch_add(1, Ordering::Relaxed);
            let suspend = self
                .process_orderly_result(status, &ctx, &mq, &pq, view)
                .await;
            drop(guard);
            if let Some(d) = suspend {
                self.pause(&pq, d).await;
            }
        }
    }

    /// Java's orderly `processConsumeResult`; returns how long to pause the queue, if at all.
    async fn process_orderly_result(
        &self,
        status: ConsumeOrderlyStatus,
        ctx: &ConsumeOrderlyContext,
        mq: &MessageQueue,
        pq: &ProcessQueue,
        mut msgs: Vec<MessageExt>,
    ) -> Option<Duration> {
        let mut commit = None;
        let mut suspend = None;
        match status {
            ConsumeOrderlyStatus::Success => {
                self.stats
                    .consume_ok
                    .fetch_add(msgs.len() as u64, Ordering::Relaxed);
                commit = pq.commit();
            }
            ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => {
                self.stats
                    .consume_failed
                    .fetch_add(msgs.len() as u64, Ordering::Relaxed);
                if self.check_reconsume_times(&mut msgs).await {
                    pq.make_messages_to_consume_again(&msgs);
                    suspend = Some(
                        ctx.suspend_current_queue_time
                            .unwrap_or(self.config.suspend_current_queue_time),
                    );
                } else {
                    commit = pq.commit();
                }
            }
        }
        if let Some(offset) = commit.filter(|_| ctx.auto_commit) {
            if !pq.is_dropped() {
                self.core.offset_store.update(mq, offset, false);
            }
        }
        suspend
    }

    /// Java's `checkReconsumeTimes`: messages past `max_reconsume_times` go to the DLQ; the
    /// others (and any the DLQ hand-over failed for) count one more attempt. Returns whether
    /// the batch must be consumed again.
    async fn check_reconsume_times(&self, msgs: &mut [MessageExt]) -> bool {
        let max = self.config.max_reconsume_times_orderly();
        let mut again = false;
        for m in msgs.iter_mut() {
            if m.reconsume_times >= max {
                if !self.send_to_dlq(m, max).await {
                    again = true;
                    m.reconsume_times += 1;
                }
            } else {
                again = true;
                m.reconsume_times += 1;
            }
        }
        again
    }

    /// A message that failed too often: `CONSUMER_SEND_MSG_BACK` with a negative delay level
    /// (straight to `%DLQ%{group}`), else Java's way, a send to the retry topic with the
    /// reconsume count past the limit, which the broker moves to the DLQ.
    async fn send_to_dlq(&self, msg: &MessageExt, max: i32) -> bool {
        match self.send_back_to_broker(msg, -1, max).await {
            Ok(()) => {
                tracing::info!(group = %self.config.group, msg_id = %msg.msg_id(), reconsume_times = msg.reconsume_times, "orderly: message sent to the DLQ");
                true
            }
            Err(e) => {
                tracing::warn!(group = %self.config.group, msg_id = %msg.msg_id(), error = %e, "send-back to the DLQ refused; sending through the retry topic");
                match self
                    .resend_to_retry_topic(msg, max, msg.reconsume_times.saturating_add(1))
                    .await
                {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(group = %self.config.group, msg_id = %msg.msg_id(), error = %e, "the message could not reach the DLQ; consuming it again");
                        false
                    }
                }
            }
        }
    }

    /// `LOCK_BATCH_MQ` for `mqs`, all of one broker.
    async fn lock_batch(&self, mqs: BTreeSet<MessageQueue>) -> Result<BTreeSet<MessageQueue>> {
        let Some(first) = mqs.iter().next() else {
            return Ok(BTreeSet::new());
        };
        let addr = self.broker_addr(first).await?;
        let body = LockBatchRequestBody {
            client_id: self.core.client_id.clone(),
            consumer_group: self.config.group.clone(),
            mq_set: mqs,
            only_this_broker: false,
        };
        group::lock_batch_mq(&self.core.instance, &addr, &body, LOCK_TIMEOUT).await
    }

    /// Locks one queue; true if this consumer holds it now.
    pub(super) async fn lock_queue(&self, mq: &MessageQueue) -> bool {
        match self.lock_batch([mq.clone()].into_iter().collect()).await {
            Ok(locked) => {
                for l in &locked {
                    if let Some(pq) = self.process_queues.lock().get(l) {
                        pq.set_locked(true);
                    }
                }
                locked.contains(mq)
            }
            Err(e) => {
                tracing::warn!(group = %self.config.group, ?mq, error = %e, "locking a queue failed");
                false
            }
        }
    }

    fn queues_by_broker(&self) -> BTreeMap<String, BTreeSet<MessageQueue>> {
        let mut by_broker: BTreeMap<String, BTreeSet<MessageQueue>> = BTreeMap::new();
        for (mq, pq) in self.process_queues.lock().iter() {
            if !pq.is_dropped() {
                by_broker
                    .entry(mq.broker_name.clone())
                    .or_default()
                    .insert(mq.clone());
            }
        }
        by_broker
    }

    /// Renews the locks of every queue held (Java's `lockAll`): a queue the broker did not
    /// lock for us is marked unlocked and is not consumed.
    pub(super) async fn lock_all(&self) {
        for (broker, mqs) in self.queues_by_broker() {
            match self.lock_batch(mqs.clone()).await {
                Ok(locked) => {
                    for mq in &mqs {
                        if let Some(pq) = self.process_queues.lock().get(mq) {
                            let ok = locked.contains(mq);
                            if !ok && pq.is_locked() {
                                tracing::warn!(group = %self.config.group, ?mq, "queue lock lost");
                            }
                            pq.set_locked(ok);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(group = %self.config.group, %broker, error = %e, "renewing queue locks failed")
                }
            }
        }
    }

    /// `UNLOCK_BATCH_MQ` for `mqs` of one broker.
    pub(super) async fn unlock_queues(&self, broker_name: &str, mqs: BTreeSet<MessageQueue>) {
        let Some(first) = mqs.iter().next() else {
            return;
        };
        let addr = match self.broker_addr(first).await {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(group = %self.config.group, broker = %broker_name, error = %e, "cannot unlock queues");
                return;
            }
        };
        let body = LockBatchRequestBody {
            client_id: self.core.client_id.clone(),
            consumer_group: self.config.group.clone(),
            mq_set: mqs,
            only_this_broker: false,
        };
        if let Err(e) =
            group::unlock_batch_mq(&self.core.instance, &addr, &body, LOCK_TIMEOUT).await
        {
            tracing::debug!(group = %self.config.group, broker = %broker_name, error = %e, "unlock failed");
        }
    }

    /// Unlocks every queue held (shutdown).
    pub(super) async fn unlock_all(&self) {
        for (broker, mqs) in self.queues_by_broker() {
            self.unlock_queues(&broker, mqs.clone()).await;
            for mq in &mqs {
                if let Some(pq) = self.process_queues.lock().get(mq) {
                    pq.set_locked(false);
                }
            }
        }
    }
}
