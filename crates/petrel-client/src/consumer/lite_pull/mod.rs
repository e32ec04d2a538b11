//! The lite pull consumer (RocketMQ's `DefaultLitePullConsumer`): the application asks for
//! messages with [`LitePullConsumer::poll`] instead of registering a listener.
//!
//! Its lifecycle, commits and rebalances are here; [`config`] holds its settings, `pull_loop`
//! each queue's pull task and `queues` the queue states and buffer as a plain state machine.
//! What it shares with the push consumer (the group's settings and offsets, start offsets,
//! allocation, tasks, shutdown) is in `consumer::core`.
//!
//! ```no_run
//! # async fn demo() -> petrel_client::Result<()> {
//! use std::time::Duration;
//! use petrel_client::consumer::lite_pull::{LitePullConsumer, LitePullConsumerConfig};
//! use petrel_client::consumer::Selector;
//! use petrel_client::ClientConfig;
//!
//! let consumer = LitePullConsumer::start(
//!     ClientConfig::new("127.0.0.1:9876"),
//!     LitePullConsumerConfig::new("orders-cg"),
//! )
//! .await?;
//! consumer.subscribe("Orders", Selector::tags("paid")).await?;
//! loop {
//!     let msgs = consumer.poll(Duration::from_secs(1)).await?;
//!     if msgs.is_empty() {
//!         break;
//!     }
//!     for m in &msgs {
//!         println!("{} {:?}", m.msg_id(), m.body);
//!     }
//! }
//! consumer.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! **Queues.** Either [`subscribe`](LitePullConsumer::subscribe) topics, and the group divides
//! their queues among its members (the push consumer's allocation, redone every
//! `ClientConfig::rebalance_interval` and at once when a broker reports the group changed), or
//! [`assign`](LitePullConsumer::assign) queues yourself (no group rebalance). A consumer does
//! one or the other: mixing them is an error, as in Java.
//!
//! **Pulling.** Each assigned queue has a task that long-polls it (`LITE_PULL_MESSAGE`, as the
//! Java client sends) from its start offset — the group's committed offset, or
//! `consume_from_where` for a new group — into one buffer shared by all queues, and stops while
//! the buffer holds `pull_threshold_for_all` messages (or a queue `pull_threshold_for_queue`
//! messages / `pull_threshold_size_for_queue_mib` MiB): the buffer never holds more than the
//! limit plus one pull batch per queue. `poll` returns what is buffered, or waits for it up to
//! its timeout. An OFFSET_ILLEGAL answer moves the queue to the offset the broker gives.
//!
//! **Offsets.** A message returned by `poll` counts as consumed (Java's rule). Each queue's
//! *consumed offset* is the offset after what `poll` returned; a commit writes it — to the
//! brokers (clustering) or to a local file (broadcasting). With `auto_commit`, each `poll`
//! commits what earlier polls returned once `auto_commit_interval` has passed since the last
//! such commit (the offsets reach the store at once), and shutdown commits everything polled.
//! Without it nothing is committed but by [`commit_sync`](LitePullConsumer::commit_sync) and
//! [`commit`](LitePullConsumer::commit). A queue given up in a rebalance keeps what was
//! committed; messages polled since are delivered again to its next owner.
//!
//! **Seeking.** [`seek`](LitePullConsumer::seek) moves a queue: its buffered messages and any
//! pull in flight are discarded, pulling restarts at the offset, and the next commit writes it.
//! Unlike Java, a seek alone commits nothing (Java writes the offset to the offset store at
//! once, so its periodic persistence commits it even with auto-commit off).
//!
//! **Pausing.** A paused queue is not pulled and `poll` holds back its buffered messages until
//! it is resumed (Java only stops pulling it).

pub mod config;
mod pull_loop;
mod queues;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use petrel_protocol::remoting::body::ConsumeType;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::core::{running_info, ConsumerCore, ConsumerKind};
use super::offset_store::ReadOffsetType;
use super::pull_api;
use super::running_info::{RunningInfo, PROP_CONSUME_ORDERLY};
use super::{check_subscription, subscription_data, Selector};
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::message::{MessageExt, MessageQueue};
use crate::names::check_topic;
use queues::{Limits, LiteQueues};

pub use config::LitePullConsumerConfig;

/// How the consumer's queues are chosen; set by the first `subscribe` or `assign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubscriptionType {
    None,
    Subscribe,
    Assign,
}

impl SubscriptionType {
    /// Java's `setSubscriptionType`: the first call decides; the other kind is refused.
    fn become_(&mut self, wanted: SubscriptionType) -> Result<()> {
        if *self == SubscriptionType::None {
            *self = wanted;
        }
        if *self != wanted {
            let (done, asked) = match wanted {
                SubscriptionType::Assign => ("subscribed to topics", "assign queues"),
                _ => ("assigned queues", "subscribe to topics"),
            };
            return Err(ClientError::State(format!(
                "subscribe and assign are mutually exclusive: this consumer {done}, so it cannot \
                 {asked}; use another consumer (with another group) for that"
            )));
        }
        Ok(())
    }
}

/// A running lite pull consumer. Call [`LitePullConsumer::shutdown`] to stop it cleanly
/// (offsets committed, group left); dropping it only stops its tasks.
pub struct LitePullConsumer {
    inner: Arc<LiteInner>,
}

impl std::fmt::Debug for LitePullConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LitePullConsumer")
            .field("group", &self.inner.config.group)
            .field("client_id", &self.inner.core.client_id)
            .finish()
    }
}

struct LiteInner {
    core: ConsumerCore,
    config: LitePullConsumerConfig,
    limits: Limits,
    subscription_type: Mutex<SubscriptionType>,
    queues: Mutex<LiteQueues>,
    /// A batch was buffered (or a queue resumed): `poll` may find something.
    arrived: Notify,
    /// Messages left the buffer: flow-controlled pull tasks may go on.
    space: Notify,
    /// Offsets were committed in memory by an auto-commit: write them to the store now.
    persist_now: Notify,
    /// When the next auto-commit is due (Java's `nextAutoCommitDeadline`; due at the first
    /// poll).
    next_auto_commit: Mutex<Option<Instant>>,
}

impl LitePullConsumer {
    /// Starts a consumer with its own client instance. It consumes nothing until
    /// [`subscribe`](Self::subscribe) or [`assign`](Self::assign).
    pub async fn start(client: ClientConfig, config: LitePullConsumerConfig) -> Result<Self> {
        config.validate()?;
        let instance = ClientInstance::start(client)?;
        let started = Self::start_inner(Arc::clone(&instance), true, config).await;
        if started.is_err() {
            instance.shutdown().await;
        }
        started
    }

    /// Starts a consumer on a shared client instance.
    pub async fn start_on(
        instance: Arc<ClientInstance>,
        config: LitePullConsumerConfig,
    ) -> Result<Self> {
        Self::start_inner(instance, false, config).await
    }

    async fn start_inner(
        instance: Arc<ClientInstance>,
        owns_instance: bool,
        config: LitePullConsumerConfig,
    ) -> Result<Self> {
        config.validate()?;
        let core = ConsumerCore::new(instance, owns_instance, config.core_settings())?;
        let inner = Arc::new(LiteInner {
            core,
            limits: config.limits(),
            config,
            subscription_type: Mutex::new(SubscriptionType::None),
            queues: Mutex::new(LiteQueues::default()),
            arrived: Notify::new(),
            space: Notify::new(),
            persist_now: Notify::new(),
            next_auto_commit: Mutex::new(None),
        });
        inner.core.register(&inner)?;
        inner.spawn_background();
        tracing::info!(group = %inner.config.group, client = %inner.core.client_id, model = ?inner.config.message_model, "lite pull consumer started");
        Ok(LitePullConsumer { inner })
    }

    pub fn config(&self) -> &LitePullConsumerConfig {
        &self.inner.config
    }

    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.inner.core.instance
    }

    pub fn client_id(&self) -> &str {
        &self.inner.core.client_id
    }

    /// Subscribes `topic` with `selector` (again: replaces the selector). The group's members
    /// divide the topic's queues; this rebalances at once.
    pub async fn subscribe(&self, topic: &str, selector: Selector) -> Result<()> {
        let inner = &self.inner;
        inner.check_running()?;
        check_subscription(topic, &selector)?;
        inner
            .subscription_type
            .lock()
            .become_(SubscriptionType::Subscribe)?;
        let sd = subscription_data(topic, &selector);
        if let Err(e) = inner.core.instance.route(topic).await {
            tracing::warn!(group = %inner.config.group, %topic, error = %e, "no route for a subscribed topic yet");
        }
        pull_api::check_client_config(&inner.core.instance, &inner.config.group, &sd).await?;
        inner
            .core
            .subscriptions
            .write()
            .insert(topic.to_string(), sd);
        // Brokers must know the subscription before the rebalance asks them for the group.
        inner.core.instance.heartbeat_all_brokers().await;
        inner.rebalance().await;
        Ok(())
    }

    /// Stops consuming `topic`: its queues are given up (their committed offsets written).
    pub async fn unsubscribe(&self, topic: &str) -> Result<()> {
        let inner = &self.inner;
        inner.check_running()?;
        if inner.core.subscriptions.write().remove(topic).is_none() {
            return Ok(());
        }
        {
            let _serial = inner.core.rebalance_serial.lock().await;
            inner
                .update_queues(|mq| mq.topic == topic, &BTreeSet::new())
                .await;
        }
        inner.core.instance.heartbeat_all_brokers().await;
        Ok(())
    }

    /// Consumes exactly `queues` (replacing an earlier assignment): no group rebalance. Queues
    /// no longer in the list are given up (their committed offsets written).
    pub async fn assign(&self, queues: Vec<MessageQueue>) -> Result<()> {
        let inner = &self.inner;
        inner.check_running()?;
        if queues.is_empty() {
            return Err(ClientError::InvalidArgument(
                "assign needs at least one message queue".into(),
            ));
        }
        for mq in &queues {
            check_topic(&mq.topic)?;
        }
        inner
            .subscription_type
            .lock()
            .become_(SubscriptionType::Assign)?;
        let wanted: BTreeSet<MessageQueue> = queues.into_iter().collect();
        let _serial = inner.core.rebalance_serial.lock().await;
        inner.update_queues(|_| true, &wanted).await;
        Ok(())
    }

    /// The readable queues of `topic`, as the name servers know them now.
    pub async fn fetch_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        self.inner.check_running()?;
        Ok(self
            .inner
            .core
            .instance
            .refresh_route(topic, false)
            .await?
            .subscribe_queues
            .clone())
    }

    /// The queues this consumer consumes now.
    pub fn assignment(&self) -> Vec<MessageQueue> {
        self.inner.queues.lock().queues()
    }

    /// Messages pulled and not polled yet, across all queues.
    pub fn buffered_messages(&self) -> usize {
        self.inner.queues.lock().buffered()
    }

    /// Buffered messages, up to `max_poll_messages`; waits up to `timeout` for some. With
    /// `auto_commit`, first commits what earlier polls returned if `auto_commit_interval` has
    /// passed. An empty list means nothing arrived in time.
    pub async fn poll(&self, timeout: Duration) -> Result<Vec<MessageExt>> {
        self.inner.poll(timeout).await
    }

    /// [`poll`](Self::poll) with `poll_timeout`.
    pub async fn poll_default(&self) -> Result<Vec<MessageExt>> {
        self.inner.poll(self.inner.config.poll_timeout).await
    }

    /// Moves `mq` to `offset` (between its min and max offsets): buffered messages of the queue
    /// are dropped and pulling restarts there; the next commit writes `offset`.
    pub async fn seek(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        let inner = &self.inner;
        inner.check_assigned(mq)?;
        let min = pull_api::min_offset(&inner.core.instance, mq).await?;
        let max = pull_api::max_offset(&inner.core.instance, mq).await?;
        if offset < min || offset > max {
            return Err(ClientError::InvalidArgument(format!(
                "seek offset {offset} of {mq:?} is outside its offsets [{min}, {max}]"
            )));
        }
        inner.seek_unchecked(mq, offset)
    }

    /// Moves `mq` to its oldest stored message.
    pub async fn seek_to_begin(&self, mq: &MessageQueue) -> Result<()> {
        let inner = &self.inner;
        inner.check_assigned(mq)?;
        let min = pull_api::min_offset(&inner.core.instance, mq).await?;
        inner.seek_unchecked(mq, min)
    }

    /// Moves `mq` past its last message: only messages sent from now on are polled.
    pub async fn seek_to_end(&self, mq: &MessageQueue) -> Result<()> {
        let inner = &self.inner;
        inner.check_assigned(mq)?;
        let max = pull_api::max_offset(&inner.core.instance, mq).await?;
        inner.seek_unchecked(mq, max)
    }

    /// The offset of the first message of `mq` stored at or after `timestamp_ms` (to
    /// [`seek`](Self::seek) to; Java's `offsetForTimestamp`).
    pub async fn offset_for_timestamp(&self, mq: &MessageQueue, timestamp_ms: i64) -> Result<i64> {
        self.inner.check_running()?;
        pull_api::search_offset(&self.inner.core.instance, mq, timestamp_ms).await
    }

    /// The group's committed offset of `mq`: this consumer's last commit, else the store's
    /// (`None`: never committed).
    pub async fn committed(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        self.inner.check_running()?;
        self.inner
            .core
            .offset_store
            .read(mq, ReadOffsetType::MemoryThenStore)
            .await
    }

    /// Commits the consumed offset of every assigned queue (everything polled so far) to the
    /// brokers (clustering) or the local file (broadcasting), now. Every queue is tried; the
    /// first failure is returned.
    pub async fn commit_sync(&self) -> Result<()> {
        self.inner.check_running()?;
        let offsets = self.inner.queues.lock().consumed_offsets();
        self.inner.core.commit_offsets(&offsets).await
    }

    /// Commits the given offsets (the offset of the next message to consume, per queue) now.
    /// Every queue must be assigned to this consumer.
    pub async fn commit(&self, offsets: BTreeMap<MessageQueue, i64>) -> Result<()> {
        let inner = &self.inner;
        inner.check_running()?;
        {
            let queues = inner.queues.lock();
            if let Some((mq, _)) = offsets.iter().find(|(mq, _)| !queues.contains(mq)) {
                return Err(ClientError::InvalidArgument(format!(
                    "cannot commit {mq:?}: it is not assigned to this consumer"
                )));
            }
        }
        if let Some((mq, o)) = offsets.iter().find(|(_, o)| **o < 0) {
            return Err(ClientError::InvalidArgument(format!(
                "cannot commit offset {o} of {mq:?}: offsets are not negative"
            )));
        }
        inner.core.commit_offsets(&offsets).await
    }

    /// Stops pulling `queues` and holds back their buffered messages (queues not assigned are
    /// ignored).
    pub fn pause(&self, queues: &[MessageQueue]) {
        for wake in self.inner.queues.lock().set_paused(queues, true) {
            wake.notify_one();
        }
    }

    /// Resumes paused queues.
    pub fn resume(&self, queues: &[MessageQueue]) {
        let woken = self.inner.queues.lock().set_paused(queues, false);
        for wake in &woken {
            wake.notify_one();
        }
        if !woken.is_empty() {
            self.inner.arrived.notify_waiters();
        }
    }

    /// Rebalances now (subscribe mode; normally every `rebalance_interval` and when the group
    /// changes).
    pub async fn rebalance_now(&self) {
        self.inner.rebalance().await
    }

    /// `ConsumerRunningInfo` as JSON (what `GET_CONSUMER_RUNNING_INFO` answers).
    pub fn running_info(&self) -> Value {
        running_info(&*self.inner)
    }

    /// Stops pulling, commits (with `auto_commit`: everything polled; always: what was
    /// committed in memory) and leaves the group.
    pub async fn shutdown(&self) {
        self.inner.shutdown().await
    }
}

impl Drop for LitePullConsumer {
    fn drop(&mut self) {
        // Without shutdown() nothing more is committed; at least stop the tasks.
        self.inner.core.stop();
    }
}

impl ConsumerKind for LiteInner {
    const CONSUME_TYPE: ConsumeType = ConsumeType::ConsumeActively;

    fn core(&self) -> &ConsumerCore {
        &self.core
    }

    /// A broker reset the group's offsets of `topic` (`RESET_CONSUMER_CLIENT_OFFSET`): the
    /// assigned queues move there and the offsets are committed.
    async fn reset_offsets(self: Arc<Self>, topic: String, offsets: BTreeMap<MessageQueue, i64>) {
        let _serial = self.core.rebalance_serial.lock().await;
        let mine: BTreeMap<MessageQueue, i64> = offsets
            .into_iter()
            .filter(|(mq, _)| mq.topic == topic && self.queues.lock().contains(mq))
            .collect();
        for (mq, offset) in &mine {
            if let Err(e) = self.seek_unchecked(mq, *offset) {
                tracing::debug!(group = %self.config.group, ?mq, error = %e, "reset of a queue given up meanwhile");
            }
        }
        if let Err(e) = self.core.commit_offsets(&mine).await {
            tracing::warn!(group = %self.config.group, %topic, error = %e, "committing reset offsets failed");
        }
    }

    /// The settings (as `DefaultLitePullConsumer` names them) and, per queue, what is buffered.
    fn describe(&self, info: &mut RunningInfo<'_>) {
        let c = &self.config;
        info.property(PROP_CONSUME_ORDERLY, false);
        info.property("pullBatchSize", c.pull_batch_size);
        info.property("pullThresholdForAll", c.pull_threshold_for_all);
        info.property("pullThresholdForQueue", c.pull_threshold_for_queue);
        info.property(
            "pullThresholdSizeForQueue",
            c.pull_threshold_size_for_queue_mib,
        );
        info.property("autoCommit", c.auto_commit);
        info.property(
            "autoCommitIntervalMillis",
            c.auto_commit_interval.as_millis(),
        );
        info.property("pollTimeoutMillis", c.poll_timeout.as_millis());
        let queues = self.queues.lock().info();
        for (mq, q) in queues {
            info.queue(
                &mq,
                json!({
                    "cachedMsgCount": q.buffered,
                    "cachedMsgSizeInMiB": q.buffered_bytes / (1024 * 1024),
                    "droped": false,
                    "paused": q.paused,
                    "pullOffset": q.pull_offset.unwrap_or(-1),
                    "consumedOffset": q.consumed_offset.unwrap_or(-1),
                }),
            );
        }
    }
}

impl LiteInner {
    fn check_running(&self) -> Result<()> {
        if self.core.is_shutting_down() {
            return Err(ClientError::State(format!(
                "the lite pull consumer of group {} is shut down",
                self.config.group
            )));
        }
        Ok(())
    }

    fn check_assigned(&self, mq: &MessageQueue) -> Result<()> {
        self.check_running()?;
        if self.queues.lock().contains(mq) {
            return Ok(());
        }
        let hint = if *self.subscription_type.lock() == SubscriptionType::Subscribe {
            " (a rebalance may have moved it to another member)"
        } else {
            ""
        };
        Err(ClientError::InvalidArgument(format!(
            "{mq:?} is not assigned to this consumer{hint}"
        )))
    }

    /// Waits `delay`, or less if the queue's task is woken or the consumer shuts down.
    async fn pause_for(&self, wake: &Notify, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = wake.notified() => {}
            _ = self.core.shutdown_signal() => {}
        }
    }

    fn spawn_background(self: &Arc<Self>) {
        let client = self.core.instance.config();
        // Rebalance (subscribe mode): periodically and when the group changes.
        self.core.spawn_periodic(
            self,
            client.rebalance_interval,
            Some(|inner: &Self| &inner.core.rebalance_now),
            |inner| Box::pin(async move { inner.rebalance().await }),
        );
        // Offsets committed in memory: written to the store periodically and after each
        // auto-commit.
        self.core.spawn_periodic(
            self,
            client.persist_consumer_offset_interval,
            Some(|inner: &Self| &inner.persist_now),
            |inner| Box::pin(async move { inner.persist_all().await }),
        );
    }

    /// Writes the offsets committed in memory of the assigned queues to the store (and
    /// forgets those of other queues).
    async fn persist_all(&self) {
        let mqs: BTreeSet<MessageQueue> = self.queues.lock().queues().into_iter().collect();
        self.core.offset_store.persist_all(&mqs).await;
    }

    async fn poll(&self, timeout: Duration) -> Result<Vec<MessageExt>> {
        self.check_running()?;
        if self.config.auto_commit {
            self.maybe_auto_commit();
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let msgs = self.queues.lock().poll(self.config.max_poll_messages);
            if !msgs.is_empty() {
                self.space.notify_waiters();
                return Ok(msgs);
            }
            tokio::select! {
                _ = &mut arrived => {}
                _ = tokio::time::sleep_until(deadline) => return Ok(Vec::new()),
                _ = self.core.shutdown_signal() => return self.check_running().map(|_| Vec::new()),
            }
        }
    }

    /// Java's `maybeAutoCommit`: at most once per `auto_commit_interval`, the consumed offsets
    /// (of what earlier polls returned: this runs before the poll takes anything) are
    /// committed in memory and written to the store right after.
    fn maybe_auto_commit(&self) {
        let now = Instant::now();
        {
            let mut next = self.next_auto_commit.lock();
            if next.is_some_and(|due| now < due) {
                return;
            }
            *next = Some(now + self.config.auto_commit_interval);
        }
        let offsets = self.queues.lock().consumed_offsets();
        if offsets.is_empty() {
            return;
        }
        for (mq, offset) in &offsets {
            self.core.offset_store.update(mq, *offset, false);
        }
        self.persist_now.notify_one();
    }

    /// Commits `offsets` in memory and writes each to the store now.
    fn seek_unchecked(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        let Some(wake) = self.queues.lock().seek(mq, offset) else {
            return Err(ClientError::InvalidArgument(format!(
                "{mq:?} is no longer assigned to this consumer"
            )));
        };
        tracing::debug!(group = %self.config.group, ?mq, offset, "seek");
        wake.notify_one();
        self.space.notify_waiters();
        Ok(())
    }

    /// One rebalance of every subscribed topic (subscribe mode only).
    async fn rebalance(self: &Arc<Self>) {
        let _serial = self.core.rebalance_serial.lock().await;
        if self.core.is_shutting_down()
            || *self.subscription_type.lock() != SubscriptionType::Subscribe
        {
            return;
        }
        let topics: Vec<String> = self.core.subscriptions.read().keys().cloned().collect();
        for topic in &topics {
            if let Err(e) = self.rebalance_topic(topic).await {
                tracing::warn!(group = %self.config.group, %topic, error = %e, "rebalance failed");
            }
        }
    }

    async fn rebalance_topic(self: &Arc<Self>, topic: &str) -> Result<()> {
        let route = self.core.instance.route(topic).await?;
        let wanted = self.core.allocate(&route).await?;
        self.update_queues(|mq| mq.topic == topic, &wanted).await;
        Ok(())
    }

    /// Makes the assigned queues for which `in_scope` holds exactly `wanted`: queues given up
    /// have their committed offset written and forgotten (Java's
    /// `RebalanceLitePullImpl.removeUnnecessaryMessageQueue`), new ones get a pull task.
    /// Callers hold `rebalance_serial`.
    async fn update_queues(
        self: &Arc<Self>,
        in_scope: impl Fn(&MessageQueue) -> bool,
        wanted: &BTreeSet<MessageQueue>,
    ) {
        let current: Vec<MessageQueue> = self
            .queues
            .lock()
            .queues()
            .into_iter()
            .filter(|mq| in_scope(mq))
            .collect();
        for mq in current.iter().filter(|mq| !wanted.contains(*mq)) {
            let wake = self.queues.lock().remove(mq);
            if let Some(wake) = wake {
                wake.notify_one();
                self.space.notify_waiters();
            }
            self.core.persist_and_forget(mq).await;
            tracing::info!(group = %self.config.group, ?mq, "queue removed");
        }
        for mq in wanted {
            let added = self.queues.lock().add(mq);
            if let Some((id, wake)) = added {
                tracing::info!(group = %self.config.group, ?mq, "queue added");
                tokio::spawn(Arc::clone(self).pull_loop(mq.clone(), id, wake));
            }
        }
    }
    async fn shutdown(&self) {
        if !self.core.begin_shutdown() {
            return;
        }
        self.core.join_tasks().await;
        {
            // A rebalance in progress finishes first (it sees the shutdown and stops).
            let _serial = self.core.rebalance_serial.lock().await;
            if self.config.auto_commit {
                let offsets = self.queues.lock().consumed_offsets();
                for (mq, offset) in &offsets {
                    self.core.offset_store.update(mq, *offset, false);
                }
            }
            self.persist_all().await;
        }
        self.core.leave("lite pull consumer").await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_and_assign_are_mutually_exclusive() {
        let mut t = SubscriptionType::None;
        t.become_(SubscriptionType::Subscribe).unwrap();
        t.become_(SubscriptionType::Subscribe).unwrap();
        let err = t.become_(SubscriptionType::Assign).unwrap_err();
        assert!(matches!(err, ClientError::State(_)), "{err}");
        assert!(err.to_string().contains("mutually exclusive"), "{err}");
        assert_eq!(t, SubscriptionType::Subscribe);

        let mut t = SubscriptionType::None;
        t.become_(SubscriptionType::Assign).unwrap();
        assert!(t.become_(SubscriptionType::Subscribe).is_err());
        assert_eq!(t, SubscriptionType::Assign);
    }
}
