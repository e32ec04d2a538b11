//! The lite pull consumer (RocketMQ's `DefaultLitePullConsumer`): the application asks for
//! messages with [`LitePullConsumer::poll`] instead of registering a listener.
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

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use petrel_protocol::mix_all::DEFAULT_CONSUMER_GROUP;
use petrel_protocol::pull_sys_flag;
use petrel_protocol::remoting::body::{ConsumeType, ConsumerData, SubscriptionData};
use petrel_remoting::BoxFuture;
use serde_json::{json, Map, Value};
use tokio::sync::{watch, Notify};

use super::lite_pull_queue::{Limits, LiteQueues, Ticket};
use super::offset_store::{LocalFileOffsetStore, OffsetStore, ReadOffsetType, RemoteOffsetStore};
use super::pull_api::{self, PullArgs};
use super::push::subscription_data;
use super::rebalance::{allocate, start_offset, StartOffset};
use super::running_info::{
    PROP_CLIENT_VERSION, PROP_CONSUMER_START_TIMESTAMP, PROP_CONSUME_ORDERLY, PROP_CONSUME_TYPE,
    PROP_NAMESERVER_ADDR,
};
use super::{AllocateStrategy, ConsumeFromWhere, MessageModel, Selector};
use crate::broker_api::{PullOutcome, PullStatus};
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, ConsumerMember};
use crate::message::{now_ms, MessageExt, MessageQueue};
use crate::names::{check_group, check_topic};

/// A pull answered "nothing new" faster than this, without progress, is followed by a pause
/// of [`NO_PROGRESS_DELAY`], so that a broker that does not hold pulls cannot make us spin.
const NO_PROGRESS_FAST: Duration = Duration::from_millis(50);
const NO_PROGRESS_DELAY: Duration = Duration::from_millis(100);
/// Flow-control messages are logged once per this many occurrences per queue.
const FLOW_CONTROL_LOG_EVERY: u64 = 1_000;

/// Lite pull consumer settings; names follow `DefaultLitePullConsumer`'s, and so do the
/// defaults.
#[derive(Debug, Clone)]
pub struct LitePullConsumerConfig {
    pub group: String,
    pub message_model: MessageModel,
    /// Where a new group starts on each queue (`consumeFromWhere`).
    pub consume_from_where: ConsumeFromWhere,
    /// For `ConsumeFromTimestamp`: epoch ms (`consumeTimestamp`; default half an hour before
    /// the start).
    pub consume_timestamp_ms: Option<i64>,
    /// Queue allocation among the group's members (subscribe mode, clustering).
    pub allocate_strategy: AllocateStrategy,
    /// Messages per pull (`pullBatchSize`, 10).
    pub pull_batch_size: i32,
    /// Pulling stops while this many messages are buffered across all queues
    /// (`pullThresholdForAll`, 10 000).
    pub pull_threshold_for_all: usize,
    /// ... or this many of one queue (`pullThresholdForQueue`, 1 000).
    pub pull_threshold_for_queue: usize,
    /// ... or this many MiB of one queue's bodies (`pullThresholdSizeForQueue`, 100).
    pub pull_threshold_size_for_queue_mib: usize,
    /// Most messages one `poll` returns (Java returns one pull batch per poll).
    pub max_poll_messages: usize,
    /// Commit what earlier polls returned, from within `poll` (`autoCommit`, true).
    pub auto_commit: bool,
    /// Least time between two automatic commits (`autoCommitIntervalMillis`, 5 s).
    pub auto_commit_interval: Duration,
    /// The timeout of [`LitePullConsumer::poll_default`] (`pollTimeoutMillis`, 5 s).
    pub poll_timeout: Duration,
    /// How long the broker holds a pull with no messages (`brokerSuspendMaxTimeMillis`, 20 s).
    pub broker_suspend_max_time: Duration,
    /// How long a held pull may take before it counts as failed
    /// (`consumerTimeoutMillisWhenSuspend`, 30 s; more than `broker_suspend_max_time`).
    pub consumer_timeout_when_suspend: Duration,
    /// Pause of a queue's pulling after a failed pull (`pullTimeDelayMillsWhenException`, 1 s).
    pub pull_time_delay_when_exception: Duration,
    /// Broadcasting: the directory of the local offset files, as
    /// [`super::PushConsumerConfig::offset_store_dir`] (`None`: `$HOME/.petrel_offsets`).
    pub offset_store_dir: Option<PathBuf>,
}

impl LitePullConsumerConfig {
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_timestamp_ms: None,
            allocate_strategy: AllocateStrategy::Average,
            pull_batch_size: 10,
            pull_threshold_for_all: 10_000,
            pull_threshold_for_queue: 1_000,
            pull_threshold_size_for_queue_mib: 100,
            max_poll_messages: 500,
            auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            poll_timeout: Duration::from_secs(5),
            broker_suspend_max_time: Duration::from_secs(20),
            consumer_timeout_when_suspend: Duration::from_secs(30),
            pull_time_delay_when_exception: Duration::from_secs(1),
            offset_store_dir: None,
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            for_all: self.pull_threshold_for_all,
            for_queue: self.pull_threshold_for_queue,
            size_for_queue_bytes: self.pull_threshold_size_for_queue_mib * 1024 * 1024,
        }
    }

    /// Java's `checkConfig`, plus the limits that would otherwise misbehave.
    fn validate(&self) -> Result<()> {
        check_group(&self.group)?;
        let bad = |what: &str| Err(ClientError::InvalidArgument(what.to_string()));
        if self.group == DEFAULT_CONSUMER_GROUP {
            return bad("DEFAULT_CONSUMER is a reserved group name; choose another consumer group");
        }
        if !(1..=1024).contains(&self.pull_batch_size) {
            return bad("pull_batch_size must be 1..=1024");
        }
        if self.pull_threshold_for_all == 0 {
            return bad("pull_threshold_for_all must be at least 1");
        }
        if !(1..=65_535).contains(&self.pull_threshold_for_queue) {
            return bad("pull_threshold_for_queue must be 1..=65535");
        }
        if !(1..=1024).contains(&self.pull_threshold_size_for_queue_mib) {
            return bad("pull_threshold_size_for_queue_mib must be 1..=1024");
        }
        if self.max_poll_messages == 0 {
            return bad("max_poll_messages must be at least 1");
        }
        if self.auto_commit_interval.is_zero() {
            return bad("auto_commit_interval must be positive");
        }
        if self.broker_suspend_max_time.is_zero() {
            return bad("broker_suspend_max_time must be positive");
        }
        if self.consumer_timeout_when_suspend <= self.broker_suspend_max_time {
            return bad(
                "consumer_timeout_when_suspend must be longer than broker_suspend_max_time",
            );
        }
        Ok(())
    }
}

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
            .field("client_id", &self.inner.client_id)
            .finish()
    }
}

struct LiteInner {
    me: Weak<LiteInner>,
    config: LitePullConsumerConfig,
    limits: Limits,
    instance: Arc<ClientInstance>,
    owns_instance: bool,
    client_id: String,
    offset_store: OffsetStore,
    subscription_type: Mutex<SubscriptionType>,
    /// Subscribe mode: topic → subscription.
    subscriptions: RwLock<BTreeMap<String, SubscriptionData>>,
    queues: Mutex<LiteQueues>,
    /// A batch was buffered (or a queue resumed): `poll` may find something.
    arrived: Notify,
    /// Messages left the buffer: flow-controlled pull tasks may go on.
    space: Notify,
    /// Serialises rebalances, assignments and offset resets.
    rebalance_serial: tokio::sync::Mutex<()>,
    rebalance_now: Notify,
    /// Offsets were committed in memory by an auto-commit: write them to the store now.
    persist_now: Notify,
    /// When the next auto-commit is due (Java's `nextAutoCommitDeadline`; due at the first
    /// poll).
    next_auto_commit: Mutex<Option<Instant>>,
    shutdown: watch::Sender<bool>,
    closed: AtomicBool,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    consume_timestamp_ms: i64,
    start_ms: i64,
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
        let client_id = instance.client_id().to_string();
        let offset_store = match config.message_model {
            MessageModel::Clustering => {
                OffsetStore::Remote(RemoteOffsetStore::new(Arc::clone(&instance), &config.group))
            }
            MessageModel::Broadcasting => OffsetStore::Local(LocalFileOffsetStore::new(
                config.offset_store_dir.as_deref(),
                &client_id,
                &config.group,
            )),
        };
        offset_store.load()?;
        let consume_timestamp_ms = config
            .consume_timestamp_ms
            .unwrap_or_else(|| now_ms() - 30 * 60 * 1000);
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new_cyclic(|me: &Weak<LiteInner>| LiteInner {
            me: me.clone(),
            limits: config.limits(),
            config,
            instance,
            owns_instance,
            client_id,
            offset_store,
            subscription_type: Mutex::new(SubscriptionType::None),
            subscriptions: RwLock::new(BTreeMap::new()),
            queues: Mutex::new(LiteQueues::default()),
            arrived: Notify::new(),
            space: Notify::new(),
            rebalance_serial: tokio::sync::Mutex::new(()),
            rebalance_now: Notify::new(),
            persist_now: Notify::new(),
            next_auto_commit: Mutex::new(None),
            shutdown,
            closed: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
            consume_timestamp_ms,
            start_ms: now_ms(),
        });
        let member: Weak<dyn ConsumerMember> = Arc::downgrade(&inner) as Weak<dyn ConsumerMember>;
        inner
            .instance
            .register_consumer(&inner.config.group, member)?;
        inner.spawn_background();
        tracing::info!(group = %inner.config.group, client = %inner.client_id, model = ?inner.config.message_model, "lite pull consumer started");
        Ok(LitePullConsumer { inner })
    }

    pub fn config(&self) -> &LitePullConsumerConfig {
        &self.inner.config
    }

    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.inner.instance
    }

    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// Subscribes `topic` with `selector` (again: replaces the selector). The group's members
    /// divide the topic's queues; this rebalances at once.
    pub async fn subscribe(&self, topic: &str, selector: Selector) -> Result<()> {
        let inner = &self.inner;
        inner.check_running()?;
        check_topic(topic)?;
        if let Selector::Sql92(expr) = &selector {
            if expr.trim().is_empty() {
                return Err(ClientError::InvalidArgument(format!(
                    "the SQL92 expression for {topic} is empty"
                )));
            }
        }
        inner
            .subscription_type
            .lock()
            .become_(SubscriptionType::Subscribe)?;
        let sd = subscription_data(topic, &selector);
        if let Err(e) = inner.instance.route(topic).await {
            tracing::warn!(group = %inner.config.group, %topic, error = %e, "no route for a subscribed topic yet");
        }
        pull_api::check_client_config(&inner.instance, &inner.config.group, &sd).await?;
        inner.subscriptions.write().insert(topic.to_string(), sd);
        // Brokers must know the subscription before the rebalance asks them for the group.
        inner.instance.heartbeat_all_brokers().await;
        inner.rebalance().await;
        Ok(())
    }

    /// Stops consuming `topic`: its queues are given up (their committed offsets written).
    pub async fn unsubscribe(&self, topic: &str) -> Result<()> {
        let inner = &self.inner;
        inner.check_running()?;
        if inner.subscriptions.write().remove(topic).is_none() {
            return Ok(());
        }
        {
            let _serial = inner.rebalance_serial.lock().await;
            inner
                .update_queues(|mq| mq.topic == topic, &BTreeSet::new())
                .await;
        }
        inner.instance.heartbeat_all_brokers().await;
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
        let _serial = inner.rebalance_serial.lock().await;
        inner.update_queues(|_| true, &wanted).await;
        Ok(())
    }

    /// The readable queues of `topic`, as the name servers know them now.
    pub async fn fetch_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        self.inner.check_running()?;
        Ok(self
            .inner
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
        let min = pull_api::min_offset(&inner.instance, mq).await?;
        let max = pull_api::max_offset(&inner.instance, mq).await?;
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
        let min = pull_api::min_offset(&inner.instance, mq).await?;
        inner.seek_unchecked(mq, min)
    }

    /// Moves `mq` past its last message: only messages sent from now on are polled.
    pub async fn seek_to_end(&self, mq: &MessageQueue) -> Result<()> {
        let inner = &self.inner;
        inner.check_assigned(mq)?;
        let max = pull_api::max_offset(&inner.instance, mq).await?;
        inner.seek_unchecked(mq, max)
    }

    /// The offset of the first message of `mq` stored at or after `timestamp_ms` (to
    /// [`seek`](Self::seek) to; Java's `offsetForTimestamp`).
    pub async fn offset_for_timestamp(&self, mq: &MessageQueue, timestamp_ms: i64) -> Result<i64> {
        self.inner.check_running()?;
        pull_api::search_offset(&self.inner.instance, mq, timestamp_ms).await
    }

    /// The group's committed offset of `mq`: this consumer's last commit, else the store's
    /// (`None`: never committed).
    pub async fn committed(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        self.inner.check_running()?;
        self.inner
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
        self.inner.commit_offsets(&offsets).await
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
        inner.commit_offsets(&offsets).await
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
        self.inner.running_info_json()
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
        let _ = self.inner.shutdown.send(true);
    }
}

impl ConsumerMember for LiteInner {
    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: Some(self.config.consume_from_where),
            consume_type: Some(ConsumeType::ConsumeActively),
            group_name: self.config.group.clone(),
            message_model: Some(self.config.message_model),
            subscription_data_set: self.subscriptions.read().values().cloned().collect(),
            unit_mode: false,
        }
    }

    fn trigger_rebalance(&self) {
        self.rebalance_now.notify_one();
    }

    fn reset_offset(&self, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        if let Some(me) = self.me.upgrade() {
            let topic = topic.to_string();
            tokio::spawn(async move { me.reset_offsets(&topic, offsets).await });
        }
    }

    fn offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.offset_store.offsets_of(topic)
    }

    fn running_info(&self) -> Value {
        self.running_info_json()
    }
}

impl LiteInner {
    fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    fn check_running(&self) -> Result<()> {
        if self.is_shutting_down() {
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

    /// Resolves once shutdown begins.
    async fn shutdown_signal(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Waits `delay`, or less if the queue's task is woken or the consumer shuts down.
    async fn pause_for(&self, wake: &Notify, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = wake.notified() => {}
            _ = self.shutdown_signal() => {}
        }
    }

    fn spawn_background(self: &Arc<Self>) {
        let client = self.instance.config();
        // Rebalance (subscribe mode): periodically and when the group changes.
        self.spawn_periodic(
            client.rebalance_interval,
            |inner| &inner.rebalance_now,
            |inner| Box::pin(async move { inner.rebalance().await }),
        );
        // Offsets committed in memory: written to the store periodically and after each
        // auto-commit.
        self.spawn_periodic(
            client.persist_consumer_offset_interval,
            |inner| &inner.persist_now,
            |inner| Box::pin(async move { inner.persist_all().await }),
        );
    }

    /// A task that runs `job` every `every` and whenever `wake` is notified, until shutdown.
    /// It holds the consumer only while `job` runs.
    fn spawn_periodic(
        self: &Arc<Self>,
        every: Duration,
        wake: fn(&LiteInner) -> &Notify,
        job: fn(Arc<LiteInner>) -> BoxFuture<()>,
    ) {
        let me = Arc::downgrade(self);
        let mut stop = self.shutdown.subscribe();
        self.tasks.lock().push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                let Some(inner) = me.upgrade() else { return };
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = wake(&inner).notified() => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                job(inner).await;
            }
        }));
    }

    /// Writes the offsets committed in memory of the assigned queues to the store (and
    /// forgets those of other queues).
    async fn persist_all(&self) {
        let mqs: BTreeSet<MessageQueue> = self.queues.lock().queues().into_iter().collect();
        self.offset_store.persist_all(&mqs).await;
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
                _ = self.shutdown_signal() => return self.check_running().map(|_| Vec::new()),
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
            self.offset_store.update(mq, *offset, false);
        }
        self.persist_now.notify_one();
    }

    /// Commits `offsets` in memory and writes each to the store now.
    async fn commit_offsets(&self, offsets: &BTreeMap<MessageQueue, i64>) -> Result<()> {
        for (mq, offset) in offsets {
            self.offset_store.update(mq, *offset, false);
        }
        let mut first_error = None;
        for mq in offsets.keys() {
            if let Err(e) = self.offset_store.persist(mq).await {
                tracing::warn!(group = %self.config.group, ?mq, error = %e, "committing an offset failed");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

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
        let _serial = self.rebalance_serial.lock().await;
        if self.is_shutting_down() || *self.subscription_type.lock() != SubscriptionType::Subscribe
        {
            return;
        }
        let topics: Vec<String> = self.subscriptions.read().keys().cloned().collect();
        for topic in &topics {
            if let Err(e) = self.rebalance_topic(topic).await {
                tracing::warn!(group = %self.config.group, %topic, error = %e, "rebalance failed");
            }
        }
    }

    async fn rebalance_topic(self: &Arc<Self>, topic: &str) -> Result<()> {
        let route = self.instance.route(topic).await?;
        let wanted: BTreeSet<MessageQueue> = match self.config.message_model {
            MessageModel::Broadcasting => route.subscribe_queues.iter().cloned().collect(),
            MessageModel::Clustering => {
                let cids =
                    pull_api::consumer_ids(&self.instance, &self.config.group, &route).await?;
                let mine = allocate(
                    &self.config.allocate_strategy,
                    &self.client_id,
                    &route.subscribe_queues,
                    &cids,
                );
                tracing::debug!(group = %self.config.group, %topic, members = cids.len(), queues = route.subscribe_queues.len(), mine = mine.len(), "allocated");
                mine.into_iter().collect()
            }
        };
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
            if let Err(e) = self.offset_store.persist(mq).await {
                tracing::warn!(group = %self.config.group, ?mq, error = %e, "committing the offset of a queue given up failed");
            }
            self.offset_store.remove(mq);
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

    /// Where a newly assigned queue starts: the committed offset, else `consume_from_where`.
    async fn start_offset(&self, mq: &MessageQueue) -> Result<i64> {
        let committed = self.offset_store.read(mq, ReadOffsetType::Store).await?;
        match start_offset(
            self.config.consume_from_where,
            &mq.topic,
            committed,
            self.consume_timestamp_ms,
        ) {
            StartOffset::At(o) => Ok(o),
            StartOffset::MaxOffset => pull_api::max_offset(&self.instance, mq).await,
            StartOffset::ByTimestamp(t) => pull_api::search_offset(&self.instance, mq, t).await,
        }
    }

    /// The subscription a pull of `mq` carries: the topic's (subscribe mode) or everything
    /// (assign mode). `None`: the topic is no longer subscribed.
    fn subscription(
        &self,
        mq: &MessageQueue,
        assigned: &SubscriptionData,
    ) -> Option<SubscriptionData> {
        match *self.subscription_type.lock() {
            SubscriptionType::Subscribe => self.subscriptions.read().get(&mq.topic).cloned(),
            _ => Some(assigned.clone()),
        }
    }

    /// The pull task of assignment `id` of `mq` (Java's `PullTaskImpl`): runs until the queue
    /// is given up or the consumer shuts down.
    async fn pull_loop(self: Arc<Self>, mq: MessageQueue, id: u64, wake: Arc<Notify>) {
        let everything = subscription_data(&mq.topic, &Selector::all());
        let mut flow_controlled: u64 = 0;
        loop {
            if self.is_shutting_down() {
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
                        _ = self.shutdown_signal() => return,
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
                        _ = self.shutdown_signal() => return,
                    }
                }
                Ticket::Start { epoch } => match self.start_offset(&mq).await {
                    Ok(offset) => {
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
                        _ = self.shutdown_signal() => return,
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
        let addr = pull_api::broker_addr(&self.instance, mq).await?;
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
        pull_api::pull(&self.instance, &addr, args).await
    }

    /// A broker reset the group's offsets of `topic` (`RESET_CONSUMER_CLIENT_OFFSET`): the
    /// assigned queues move there and the offsets are committed.
    async fn reset_offsets(self: Arc<Self>, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        let _serial = self.rebalance_serial.lock().await;
        let mine: BTreeMap<MessageQueue, i64> = offsets
            .into_iter()
            .filter(|(mq, _)| mq.topic == topic && self.queues.lock().contains(mq))
            .collect();
        for (mq, offset) in &mine {
            if let Err(e) = self.seek_unchecked(mq, *offset) {
                tracing::debug!(group = %self.config.group, ?mq, error = %e, "reset of a queue given up meanwhile");
            }
        }
        if let Err(e) = self.commit_offsets(&mine).await {
            tracing::warn!(group = %self.config.group, %topic, error = %e, "committing reset offsets failed");
        }
    }

    async fn shutdown(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.shutdown.send(true);
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        for t in tasks {
            let _ = t.await;
        }
        {
            // A rebalance in progress finishes first (it sees the shutdown and stops).
            let _serial = self.rebalance_serial.lock().await;
            if self.config.auto_commit {
                let offsets = self.queues.lock().consumed_offsets();
                for (mq, offset) in &offsets {
                    self.offset_store.update(mq, *offset, false);
                }
            }
            self.persist_all().await;
        }
        self.instance
            .unregister(None, Some(&self.config.group))
            .await;
        if self.owns_instance {
            self.instance.shutdown().await;
        }
        tracing::info!(group = %self.config.group, client = %self.client_id, "lite pull consumer shut down");
    }

    /// Java's `ConsumerRunningInfo` of a lite pull consumer: settings, subscriptions and, per
    /// queue, the committed offset and what is buffered.
    fn running_info_json(&self) -> Value {
        let c = &self.config;
        let client = self.instance.config();
        let mut properties = Map::new();
        let mut prop = |k: &str, v: String| {
            properties.insert(k.to_string(), Value::String(v));
        };
        prop(PROP_NAMESERVER_ADDR, client.namesrv_addrs.join(";"));
        prop(PROP_CONSUME_ORDERLY, "false".into());
        prop(PROP_CONSUME_TYPE, "CONSUME_ACTIVELY".into());
        prop(
            PROP_CLIENT_VERSION,
            format!("petrel-client {}", env!("CARGO_PKG_VERSION")),
        );
        prop(PROP_CONSUMER_START_TIMESTAMP, self.start_ms.to_string());
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
        prop("pullBatchSize", c.pull_batch_size.to_string());
        prop("pullThresholdForAll", c.pull_threshold_for_all.to_string());
        prop(
            "pullThresholdForQueue",
            c.pull_threshold_for_queue.to_string(),
        );
        prop(
            "pullThresholdSizeForQueue",
            c.pull_threshold_size_for_queue_mib.to_string(),
        );
        prop("autoCommit", c.auto_commit.to_string());
        prop(
            "autoCommitIntervalMillis",
            c.auto_commit_interval.as_millis().to_string(),
        );
        prop("pollTimeoutMillis", c.poll_timeout.as_millis().to_string());
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
        let infos = self.queues.lock().info();
        for (mq, info) in infos {
            let commit_offset = self.offset_store.memory(&mq).unwrap_or(-1);
            mq_table.insert(
                mq.to_key(),
                json!({
                    "commitOffset": commit_offset,
                    "cachedMsgCount": info.buffered,
                    "cachedMsgSizeInMiB": info.buffered_bytes / (1024 * 1024),
                    "droped": false,
                    "paused": info.paused,
                    "pullOffset": info.pull_offset.unwrap_or(-1),
                    "consumedOffset": info.consumed_offset.unwrap_or(-1),
                }),
            );
        }
        json!({
            "properties": properties,
            "subscriptionSet": subscription_set,
            "mqTable": mq_table,
            "mqPopTable": {},
            "statusTable": {},
            "userConsumerInfo": {},
            "jstack": "",
        })
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

    #[test]
    fn defaults_are_java_s_and_bad_settings_are_refused() {
        let c = LitePullConsumerConfig::new("g");
        assert!(c.validate().is_ok());
        assert_eq!(c.pull_batch_size, 10);
        assert_eq!(c.pull_threshold_for_all, 10_000);
        assert!(c.auto_commit);
        assert_eq!(c.limits().size_for_queue_bytes, 100 * 1024 * 1024);
        let refused = |f: &dyn Fn(&mut LitePullConsumerConfig)| {
            let mut bad = LitePullConsumerConfig::new("g");
            f(&mut bad);
            assert!(
                matches!(bad.validate(), Err(ClientError::InvalidArgument(_))),
                "{bad:?}"
            );
        };
        refused(&|c| c.group = "DEFAULT_CONSUMER".into());
        refused(&|c| c.group = "bad group".into());
        refused(&|c| c.pull_batch_size = 0);
        refused(&|c| c.pull_threshold_for_all = 0);
        refused(&|c| c.pull_threshold_for_queue = 0);
        refused(&|c| c.max_poll_messages = 0);
        refused(&|c| c.auto_commit_interval = Duration::ZERO);
        refused(&|c| c.consumer_timeout_when_suspend = c.broker_suspend_max_time);
    }
}
