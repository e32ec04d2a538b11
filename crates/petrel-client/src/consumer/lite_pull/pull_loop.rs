//! The pull task of each assigned queue (Java's `PullTaskImpl`): it finds the queue's start
//! offset, long-polls the queue with `LITE_PULL_MESSAGE` into the shared buffer, and waits
//! while the queue is paused or the buffer is full. A seek or a removal wakes it, and the
//! result of a pull begun before a seek is thrown away (the queue's epoch moved on).

use std::sync::Arc;
use std::time::{Duration, Instant};

use petrel_protocol::pull_sys_flag;
use petrel_protocol::remoting::body::SubscriptionData;
use tokio::sync::Notify;

use super::queues::Ticket;
use super::{LiteInner, SubscriptionType};
use crate::broker_api::{PullOutcome, PullStatus};
use crate::consumer::pull_api::{self, PullArgs};
use crate::consumer::{subscription_data, Selector};
use crate::error::Result;
use crate::message::MessageQueue;

/// A pull answered "nothing new" faster than this, without progress, is followed by a pause
/// of [`NO_PROGRESS_DELAY`], so that a broker that does not hold pulls cannot make us spin.
const NO_PROGRESS_FAST: Duration = Duration::from_millis(50);
const NO_PROGRESS_DELAY: Duration = Duration::from_millis(100);
/// Flow-control messages are logged once per this many occurrences per queue.
const FLOW_CONTROL_LOG_EVERY: u64 = 1_000;

impl LiteInner {
    /// The subscription a pull of `mq` carries: the topic's (subscribe mode) or everything
    /// (assign mode). `None`: the topic is no longer subscribed.
    fn subscription(
        &self,
        mq: &MessageQueue,
        assigned: &SubscriptionData,
    ) -> Option<SubscriptionData> {
        match *self.subscription_type.lock() {
            SubscriptionType::Subscribe => self.core.subscriptions.read().get(&mq.topic).cloned(),
            _ => Some(assigned.clone()),
        }
    }

    /// The pull task of assignment `id` of `mq` (Java's `PullTaskImpl`): runs until the queue
    /// is given up or the consumer shuts down.
    pub(super) async fn pull_loop(self: Arc<Self>, mq: MessageQueue, id: u64, wake: Arc<Notify>) {
        let everything = subscription_data(&mq.topic, &Selector::all());
        let mut flow_controlled: u64 = 0;
        loop {
            if self.core.is_shutting_down() {
                return;
            }
            // Registered before looking, so that a poll in between is not missed.
            let space = self.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            let ticket = self.queues.lock().ticket(&mq, id, &self.limits);
            match ticket {
                Ticket::Gone => return,
                Ticket::Paused => {
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = self.core.shutdown_signal() => return,
                    }
                }
                Ticket::FlowControl(why) => {
                    if flow_controlled % FLOW_CONTROL_LOG_EVERY == 0 {
                        tracing::debug!(group = %self.config.group, ?mq, why, buffered = self.queues.lock().buffered(), "flow control: pulling paused");
                    }
                    flow_controlled += 1;
                    tokio::select! {
                        _ = &mut space => {}
                        _ = wake.notified() => {}
                        _ = self.core.shutdown_signal() => return,
                    }
                }
                Ticket::Start { epoch } => match self.core.start_offset(&mq).await {
                    Ok((_, offset)) => {
                        tracing::debug!(group = %self.config.group, ?mq, offset, "start offset");
                        self.queues.lock().set_start(&mq, id, epoch, offset);
                    }
                    Err(e) => {
                        tracing::warn!(group = %self.config.group, ?mq, error = %e, "the start offset of a queue is unknown");
                        self.pause_for(&wake, self.config.pull_time_delay_when_exception)
                            .await;
                    }
                },
                Ticket::Pull { epoch, offset } => {
                    let Some(sd) = self.subscription(&mq, &everything) else {
                        // Unsubscribed: the queue is being given up.
                        self.pause_for(&wake, self.config.pull_time_delay_when_exception)
                            .await;
                        continue;
                    };
                    let started = Instant::now();
                    let pulled = tokio::select! {
                        r = self.pull_once(&mq, &sd, offset) => r,
                        // A seek, a pause or the removal: this pull's result is not wanted.
                        _ = wake.notified() => continue,
                        _ = self.core.shutdown_signal() => return,
                    };
                    self.on_pulled(&mq, id, epoch, offset, pulled, started.elapsed(), &wake)
                        .await;
                }
            }
        }
    }

    /// Applies one pull's outcome to the queue.
    #[allow(clippy::too_many_arguments)]
    async fn on_pulled(
        &self,
        mq: &MessageQueue,
        id: u64,
        epoch: u64,
        offset: i64,
        pulled: Result<PullOutcome>,
        elapsed: Duration,
        wake: &Notify,
    ) {
        match pulled {
            Ok(PullOutcome {
                status: PullStatus::Found,
                messages: msgs,
                next_begin_offset: next_begin,
                ..
            }) => {
                let found = !msgs.is_empty();
                let kept = self
                    .queues
                    .lock()
                    .on_pulled(mq, id, epoch, msgs, next_begin);
                if kept && found {
                    self.arrived.notify_waiters();
                }
            }
            Ok(PullOutcome {
                status: PullStatus::NoNewMsg | PullStatus::NoMatchedMsg,
                next_begin_offset: next_begin,
                ..
            }) => {
                self.queues
                    .lock()
                    .on_pulled(mq, id, epoch, Vec::new(), next_begin);
                if next_begin == offset && elapsed < NO_PROGRESS_FAST {
                    self.pause_for(wake, NO_PROGRESS_DELAY).await;
                }
            }
            Ok(PullOutcome {
                status: PullStatus::OffsetIllegal,
                next_begin_offset: next_begin,
                ..
            }) => {
                tracing::warn!(group = %self.config.group, ?mq, offset, next_begin, "pull offset illegal; the queue goes on at the broker's offset");
                self.queues
                    .lock()
                    .on_pulled(mq, id, epoch, Vec::new(), next_begin);
            }
            Err(e) => {
                tracing::warn!(group = %self.config.group, ?mq, offset, error = %e, "pull failed");
                self.pause_for(wake, self.config.pull_time_delay_when_exception)
                    .await;
            }
        }
    }

    /// One `LITE_PULL_MESSAGE`, flagged as Java's lite consumer flags it: suspend,
    /// subscription, lite; no piggy-backed commit (offsets are committed only as configured).
    async fn pull_once(
        &self,
        mq: &MessageQueue,
        sd: &SubscriptionData,
        offset: i64,
    ) -> Result<PullOutcome> {
        let addr = pull_api::pull_addr(&self.core.instance, mq).await?;
        let args = PullArgs {
            group: &self.config.group,
            mq,
            subscription: sd,
            offset,
            max_msg_nums: self.config.pull_batch_size,
            sys_flag: pull_sys_flag::build(false, true, true, false)
                | pull_sys_flag::FLAG_LITE_PULL,
            commit_offset: 0,
            suspend: self.config.broker_suspend_max_time,
            timeout: self.config.consumer_timeout_when_suspend,
        };
        pull_api::pull(&self.core.instance, &addr, args).await
    }
}
