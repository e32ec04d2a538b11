//! The pull loop of each queue the push consumer owns: `PULL_MESSAGE` with long polling (the
//! broker holds the request up to `broker_suspend_max_time` until a message arrives), the
//! request's `sysFlag` built as Java's `PullAPIWrapper` builds it (commit offset piggy-backed
//! when there is one, suspend, subscription), and the answer handled as Java does: FOUND
//! messages (filtered again by exact tag) are cached in the queue's [`ProcessQueue`] and handed
//! to the listeners; NO_NEW_MSG / NO_MATCHED_MSG move the offset on; OFFSET_ILLEGAL restarts
//! the queue at the offset the broker gave; a failure pauses the queue
//! (`pull_time_delay_when_exception`) rather than retrying at once.
//!
//! Before pulling, flow control pauses the queue for 50 ms while it caches more than
//! `pull_threshold_for_queue` messages or `pull_threshold_size_for_queue_mib` MiB, or
//! (concurrent listeners) while its oldest and newest cached offsets are more than
//! `consume_concurrently_max_span` apart.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use petrel_protocol::pull_sys_flag;
use petrel_protocol::remoting::body::SubscriptionData;
use petrel_protocol::topic::is_retry_topic;

use super::process_queue::ProcessQueue;
use super::ConsumerInner;
use crate::broker_api::{PullOutcome, PullStatus};
use crate::consumer::pull_api::{self, PullArgs};
use crate::error::Result;
use crate::message::MessageQueue;

/// Flow control pauses a queue this long (`PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL`).
const FLOW_CONTROL_DELAY: Duration = Duration::from_millis(50);
/// A pull answered "nothing new" faster than this, with no progress, is followed by a pause
/// of [`NO_PROGRESS_DELAY`], so that a broker that does not hold pulls cannot make us spin.
const NO_PROGRESS_FAST: Duration = Duration::from_millis(50);
const NO_PROGRESS_DELAY: Duration = Duration::from_millis(100);

impl ConsumerInner {
    /// Starts consuming a newly assigned queue at `offset`.
    pub(super) fn start_queue(
        self: &Arc<Self>,
        mq: MessageQueue,
        pq: Arc<ProcessQueue>,
        offset: i64,
    ) {
        if self.listener.is_orderly() {
            tokio::spawn(Arc::clone(self).consume_orderly_loop(mq.clone(), Arc::clone(&pq)));
        }
        tokio::spawn(Arc::clone(self).pull_loop(mq, pq, offset));
    }

    /// The reason to hold back pulling this queue, if any.
    fn flow_control(&self, pq: &ProcessQueue) -> Option<&'static str> {
        if pq.count() > self.config.pull_threshold_for_queue {
            return Some("cached message count");
        }
        if pq.size_bytes() / (1024 * 1024) > self.config.pull_threshold_size_for_queue_mib {
            return Some("cached message size");
        }
        if !self.listener.is_orderly() && pq.max_span() > self.config.consume_concurrently_max_span
        {
            return Some("offset span");
        }
        None
    }

    async fn pull_loop(
        self: Arc<Self>,
        mq: MessageQueue,
        pq: Arc<ProcessQueue>,
        mut next_offset: i64,
    ) {
        let orderly = self.listener.is_orderly();
        let mut previously_locked = false;
        let mut flow_controlled: u64 = 0;
        loop {
            if pq.is_dropped() || self.core.is_shutting_down() {
                return;
            }
            pq.touch_pull();
            if let Some(why) = self.flow_control(&pq) {
                if flow_controlled % 1000 == 0 {
                    tracing::debug!(group = %self.config.group, ?mq, why, count = pq.count(), "flow control: pulling paused");
                }
                flow_controlled += 1;
                self.pause(&pq, FLOW_CONTROL_DELAY).await;
                continue;
            }
            if orderly && self.core.is_clustering() {
                if !pq.is_locked() {
                    self.pause(&pq, self.config.pull_time_delay_when_exception)
                        .await;
                    continue;
                }
                if !previously_locked {
                    // The first pull under the lock starts from the committed offset: another
                    // member may have consumed this queue until just now.
                    match self.compute_pull_from_where(&mq).await {
                        Ok(o) => {
                            next_offset = o;
                            previously_locked = true;
                        }
                        Err(e) => {
                            tracing::warn!(group = %self.config.group, ?mq, error = %e, "reading the offset of a locked queue failed");
                            self.pause(&pq, self.config.pull_time_delay_when_exception)
                                .await;
                            continue;
                        }
                    }
                }
            }
            let Some(sd) = self.core.subscriptions.read().get(&mq.topic).cloned() else {
                self.pause(&pq, self.config.pull_time_delay_when_exception)
                    .await;
                continue;
            };
            let started = Instant::now();
            let pulled = tokio::select! {
                r = self.pull_once(&mq, &sd, next_offset) => r,
                _ = pq.dropped() => return,
                _ = self.core.shutdown_signal() => return,
            };
            let elapsed = started.elapsed();
            self.stats.pulls.fetch_add(1, Ordering::Relaxed);
            self.stats
                .pull_rt_ms
                .fetch_add(elapsed.as_millis() as u64, Ordering::Relaxed);
            match pulled {
                Ok(PullOutcome {
                    status: PullStatus::Found,
                    messages: msgs,
                    next_begin_offset: next_begin,
                    ..
                }) => {
                    next_offset = next_begin;
                    if msgs.is_empty() {
                        self.correct_tags_offset(&mq, &pq, next_offset);
                    } else {
                        self.stats
                            .pulled_msgs
                            .fetch_add(msgs.len() as u64, Ordering::Relaxed);
                        pq.put(&msgs);
                        if !orderly {
                            self.submit_concurrently(&mq, &pq, msgs);
                        }
                    }
                }
                Ok(PullOutcome {
                    status: PullStatus::NoNewMsg | PullStatus::NoMatchedMsg,
                    next_begin_offset: next_begin,
                    ..
                }) => {
                    let progressed = next_begin != next_offset;
                    next_offset = next_begin;
                    self.correct_tags_offset(&mq, &pq, next_offset);
                    if !progressed && elapsed < NO_PROGRESS_FAST {
                        self.pause(&pq, NO_PROGRESS_DELAY).await;
                    }
                }
                Ok(PullOutcome {
                    status: PullStatus::OffsetIllegal,
                    next_begin_offset: next_begin,
                    ..
                }) => {
                    tracing::warn!(group = %self.config.group, ?mq, offset = next_offset, next_begin, "pull offset illegal; restarting the queue at the broker's offset");
                    pq.set_dropped();
                    let me = Arc::clone(&self);
                    tokio::spawn(async move { me.fix_offset(mq, pq, next_begin).await });
                    return;
                }
                Err(e) => {
                    if is_retry_topic(&mq.topic) {
                        tracing::debug!(group = %self.config.group, ?mq, error = %e, "pull failed");
                    } else {
                        tracing::warn!(group = %self.config.group, ?mq, error = %e, "pull failed");
                    }
                    self.pause(&pq, self.config.pull_time_delay_when_exception)
                        .await;
                }
            }
        }
    }

    /// Nothing is cached, so everything before `next_offset` is consumed or filtered out.
    fn correct_tags_offset(&self, mq: &MessageQueue, pq: &ProcessQueue, next_offset: i64) {
        if pq.count() == 0 && !pq.is_dropped() {
            self.core.offset_store.update(mq, next_offset, true);
        }
    }

    /// One PULL_MESSAGE (see [`pull_api::pull`]), with the consumed offset piggy-backed.
    async fn pull_once(
        &self,
        mq: &MessageQueue,
        sd: &SubscriptionData,
        offset: i64,
    ) -> Result<PullOutcome> {
        let addr = pull_api::pull_addr(&self.core.instance, mq).await?;
        let commit_offset = if self.core.is_clustering() {
            self.core.offset_store.memory(mq).unwrap_or(0)
        } else {
            0
        };
        let sys_flag = pull_sys_flag::build(commit_offset > 0, true, true, sd.class_filter_mode);
        let suspend = self.config.broker_suspend_max_time;
        // The broker holds the request up to `suspend`; the answer may take a while more.
        let timeout = suspend + self.core.instance.config().request_timeout.max(suspend);
        let args = PullArgs {
            group: &self.config.group,
            mq,
            subscription: sd,
            offset,
            max_msg_nums: self.config.pull_batch_size,
            sys_flag,
            commit_offset,
            suspend,
            timeout,
        };
        pull_api::pull(&self.core.instance, &addr, args).await
    }

    /// After OFFSET_ILLEGAL: the queue's offset becomes the broker's, is committed, and the
    /// queue is started again by a rebalance.
    async fn fix_offset(self: Arc<Self>, mq: MessageQueue, pq: Arc<ProcessQueue>, offset: i64) {
        {
            let _serial = self.core.rebalance_serial.lock().await;
            self.core.offset_store.update(&mq, offset, false);
            if let Err(e) = self.core.offset_store.persist(&mq).await {
                tracing::warn!(group = %self.config.group, ?mq, error = %e, "committing the corrected offset failed");
            }
            self.give_up_queue(&mq, &pq).await;
        }
        self.core.rebalance_now.notify_one();
    }
}
