//! What the push consumer and the lite pull consumer share: [`ConsumerCore`], the state and
//! the steps both need around their own way of consuming, and [`ConsumerKind`], the little each
//! adds so that one implementation serves the client instance for both
//! (`ConsumerMember`: heartbeat data, rebalance and offset-reset requests, offsets, running info).
//!
//! The core owns the group's settings, the offset store, the subscriptions, the serialisation
//! of rebalances with offset resets, the background tasks and the shutdown signal. Its steps:
//! where a newly assigned queue starts ([`start_offset`], Java's `computePullFromWhere`), which
//! queues of a topic are this member's ([`ConsumerCore::allocate`]), committing offsets,
//! periodic tasks, and leaving the group at shutdown. Each consumer keeps its own queue state
//! (process queues with listeners, or the lite pull buffer) and decides what a reset does to it.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use petrel_protocol::remoting::body::{ConsumeType, ConsumerData, SubscriptionData};
use petrel_protocol::topic::is_retry_topic;
use petrel_remoting::BoxFuture;
use tokio::sync::{watch, Notify};

use super::allocate::{allocate, AllocateStrategy};
use super::offset_store::{LocalFileOffsetStore, OffsetStore, ReadOffsetType, RemoteOffsetStore};
use super::pull_api;
use super::running_info::RunningInfo;
use super::{ConsumeFromWhere, MessageModel};
use crate::error::Result;
use crate::instance::{ClientInstance, ConsumerMember, TopicRoute};
use crate::message::{now_ms, MessageQueue};

/// Without `consume_timestamp_ms`, `ConsumeFromTimestamp` starts this long before the start
/// (Java's `consumeTimestamp` default: half an hour ago).
const DEFAULT_CONSUME_TIMESTAMP_AGE_MS: i64 = 30 * 60 * 1000;

/// The settings both consumers' configs carry.
#[derive(Debug, Clone)]
pub(crate) struct CoreSettings {
    pub group: String,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub consume_timestamp_ms: Option<i64>,
    pub allocate_strategy: AllocateStrategy,
    pub offset_store_dir: Option<PathBuf>,
}

/// The state both consumers keep around their own.
pub(crate) struct ConsumerCore {
    pub(crate) group: String,
    pub(crate) message_model: MessageModel,
    pub(crate) consume_from_where: ConsumeFromWhere,
    pub(crate) allocate_strategy: AllocateStrategy,
    /// Where `ConsumeFromTimestamp` starts, epoch ms.
    pub(crate) consume_timestamp_ms: i64,
    pub(crate) instance: Arc<ClientInstance>,
    /// Shut the instance down with the consumer (it was started for it).
    owns_instance: bool,
    pub(crate) client_id: String,
    pub(crate) offset_store: OffsetStore,
    /// topic → subscription (the push consumer's retry topic included).
    pub(crate) subscriptions: RwLock<BTreeMap<String, SubscriptionData>>,
    /// Serialises rebalances, assignments, offset resets and offset fixes.
    pub(crate) rebalance_serial: tokio::sync::Mutex<()>,
    /// Asks the rebalance task to run now.
    pub(crate) rebalance_now: Notify,
    shutdown: watch::Sender<bool>,
    closed: AtomicBool,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    pub(crate) start_ms: i64,
}

impl ConsumerCore {
    /// A core on `instance`; the offset store is on the brokers (clustering) or in a local file
    /// (broadcasting), whose offsets are read now.
    pub(crate) fn new(
        instance: Arc<ClientInstance>,
        owns_instance: bool,
        settings: CoreSettings,
    ) -> Result<Self> {
        let client_id = instance.client_id().to_string();
        let offset_store = match settings.message_model {
            MessageModel::Clustering => OffsetStore::Remote(RemoteOffsetStore::new(
                Arc::clone(&instance),
                &settings.group,
            )),
            MessageModel::Broadcasting => OffsetStore::Local(LocalFileOffsetStore::new(
                settings.offset_store_dir.as_deref(),
                &client_id,
                &settings.group,
            )),
        };
        offset_store.load()?;
        let start_ms = now_ms();
        let (shutdown, _) = watch::channel(false);
        Ok(Self {
            consume_timestamp_ms: settings
                .consume_timestamp_ms
                .unwrap_or(start_ms - DEFAULT_CONSUME_TIMESTAMP_AGE_MS),
            group: settings.group,
            message_model: settings.message_model,
            consume_from_where: settings.consume_from_where,
            allocate_strategy: settings.allocate_strategy,
            instance,
            owns_instance,
            client_id,
            offset_store,
            subscriptions: RwLock::new(BTreeMap::new()),
            rebalance_serial: tokio::sync::Mutex::new(()),
            rebalance_now: Notify::new(),
            shutdown,
            closed: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
            start_ms,
        })
    }

    pub(crate) fn is_clustering(&self) -> bool {
        self.message_model == MessageModel::Clustering
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves once shutdown begins.
    pub(crate) async fn shutdown_signal(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Stops the loops and tasks without the rest of a shutdown (a consumer dropped without
    /// `shutdown()`).
    pub(crate) fn stop(&self) {
        let _ = self.shutdown.send(true);
    }

    /// What heartbeats tell brokers about the group.
    pub(crate) fn consumer_data(&self, consume_type: ConsumeType) -> ConsumerData {
        ConsumerData {
            consume_from_where: Some(self.consume_from_where),
            consume_type: Some(consume_type),
            group_name: self.group.clone(),
            message_model: Some(self.message_model),
            subscription_data_set: self.subscriptions.read().values().cloned().collect(),
            unit_mode: false,
        }
    }

    /// Registers `consumer` as the group's member of the client instance.
    pub(crate) fn register<T: ConsumerKind>(&self, consumer: &Arc<T>) -> Result<()> {
        let member: Weak<dyn ConsumerMember> = Arc::downgrade(consumer) as Weak<dyn ConsumerMember>;
        self.instance.register_consumer(&self.group, member)
    }

    /// A task that runs `job` every `every` and whenever `wake` (if any) is notified, until
    /// shutdown. It holds the consumer only while `job` runs.
    pub(crate) fn spawn_periodic<T: Send + Sync + 'static>(
        &self,
        consumer: &Arc<T>,
        every: Duration,
        wake: Option<fn(&T) -> &Notify>,
        job: fn(Arc<T>) -> BoxFuture<()>,
    ) {
        let me = Arc::downgrade(consumer);
        let mut stop = self.shutdown.subscribe();
        self.tasks.lock().push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                let Some(consumer) = me.upgrade() else { return };
                let woken = async {
                    match wake {
                        Some(wake) => wake(&consumer).notified().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = woken => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                job(consumer).await;
            }
        }));
    }

    /// Where a newly assigned queue starts: the committed offset, else what
    /// `consume_from_where` says ([`start_offset`]), asking the broker for the max offset or
    /// the offset at the time. Returns the committed offset too (`None`: a new group).
    pub(crate) async fn start_offset(&self, mq: &MessageQueue) -> Result<(Option<i64>, i64)> {
        let committed = self.offset_store.read(mq, ReadOffsetType::Store).await?;
        let offset = match start_offset(
            self.consume_from_where,
            &mq.topic,
            committed,
            self.consume_timestamp_ms,
        ) {
            StartOffset::At(o) => o,
            StartOffset::MaxOffset => pull_api::max_offset(&self.instance, mq).await?,
            StartOffset::ByTimestamp(t) => pull_api::search_offset(&self.instance, mq, t).await?,
        };
        Ok((committed, offset))
    }

    /// The queues of `route` this member consumes: all of them (broadcasting), or its share
    /// among the members a broker reports (clustering).
    pub(crate) async fn allocate(&self, route: &TopicRoute) -> Result<BTreeSet<MessageQueue>> {
        Ok(match self.message_model {
            MessageModel::Broadcasting => route.subscribe_queues.iter().cloned().collect(),
            MessageModel::Clustering => {
                let cids = pull_api::consumer_ids(&self.instance, &self.group, route).await?;
                let mine = allocate(
                    &self.allocate_strategy,
                    &self.client_id,
                    &route.subscribe_queues,
                    &cids,
                );
                tracing::debug!(group = %self.group, topic = %route.topic, members = cids.len(), queues = route.subscribe_queues.len(), mine = mine.len(), "allocated");
                mine.into_iter().collect()
            }
        })
    }

    /// Sets `offsets` in memory and writes each to the store now. Every queue is tried; the
    /// first failure is returned (each is logged).
    pub(crate) async fn commit_offsets(&self, offsets: &BTreeMap<MessageQueue, i64>) -> Result<()> {
        for (mq, offset) in offsets {
            self.offset_store.update(mq, *offset, false);
        }
        let mut first_error = None;
        for mq in offsets.keys() {
            if let Err(e) = self.offset_store.persist(mq).await {
                tracing::warn!(group = %self.group, ?mq, error = %e, "committing an offset failed");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Writes the in-memory offset of `mq` and forgets it (the queue is no longer ours).
    pub(crate) async fn persist_and_forget(&self, mq: &MessageQueue) {
        if let Err(e) = self.offset_store.persist(mq).await {
            tracing::warn!(group = %self.group, ?mq, error = %e, "committing the offset of a queue given up failed");
        }
        self.offset_store.remove(mq);
    }

    /// Starts the shutdown: the signal goes out. False when it had already begun.
    pub(crate) fn begin_shutdown(&self) -> bool {
        if self.closed.swap(true, Ordering::SeqCst) {
            return false;
        }
        self.stop();
        true
    }

    /// Waits for the periodic tasks to end (after [`ConsumerCore::begin_shutdown`]).
    pub(crate) async fn join_tasks(&self) {
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        for t in tasks {
            let _ = t.await;
        }
    }

    /// The last step of a shutdown: the group is left on every broker (so the others
    /// rebalance at once) and an instance started for this consumer stops.
    pub(crate) async fn leave(&self, what: &str) {
        self.instance.unregister(None, Some(&self.group)).await;
        if self.owns_instance {
            self.instance.shutdown().await;
        }
        tracing::info!(group = %self.group, client = %self.client_id, "{what} shut down");
    }
}

/// What a kind of consumer adds to the [`ConsumerCore`] to serve the client instance; the
/// instance's `ConsumerMember` is implemented once, for every kind, from it.
pub(crate) trait ConsumerKind: Send + Sync + 'static {
    /// How the group tells brokers it consumes: `CONSUME_PASSIVELY` (push) or
    /// `CONSUME_ACTIVELY` (pull).
    const CONSUME_TYPE: ConsumeType;

    fn core(&self) -> &ConsumerCore;

    /// A broker reset the group's offsets of `topic` (`RESET_CONSUMER_CLIENT_OFFSET`); runs
    /// in its own task.
    fn reset_offsets(
        self: Arc<Self>,
        topic: String,
        offsets: BTreeMap<MessageQueue, i64>,
    ) -> impl Future<Output = ()> + Send;

    /// Adds this kind's settings, queues and rates to the running info.
    fn describe(&self, info: &mut RunningInfo<'_>);
}

/// `ConsumerRunningInfo` of `consumer` as JSON: the core's part, then its kind's.
pub(crate) fn running_info<T: ConsumerKind>(consumer: &T) -> serde_json::Value {
    let mut info = RunningInfo::new(consumer.core(), T::CONSUME_TYPE);
    consumer.describe(&mut info);
    info.into_json()
}

impl<T: ConsumerKind> ConsumerMember for T {
    fn consumer_data(&self) -> ConsumerData {
        self.core().consumer_data(T::CONSUME_TYPE)
    }

    fn trigger_rebalance(&self) {
        self.core().rebalance_now.notify_one();
    }

    fn reset_offset(self: Arc<Self>, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        tokio::spawn(self.reset_offsets(topic.to_string(), offsets));
    }

    fn offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.core().offset_store.offsets_of(topic)
    }

    fn running_info(&self) -> serde_json::Value {
        running_info(self)
    }
}

/// Where a queue newly assigned to this consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartOffset {
    /// At this offset.
    At(i64),
    /// At the queue's max offset (ask the broker: `GET_MAX_OFFSET`).
    MaxOffset,
    /// At the first message stored at or after this time, epoch ms
    /// (`SEARCH_OFFSET_BY_TIMESTAMP`).
    ByTimestamp(i64),
}

/// Java's `RebalancePushImpl.computePullFromWhere`: the committed offset when there is one;
/// for a new group, `consume_from_where` decides, except that a retry topic never skips what
/// is already in it (it holds this group's own failed messages):
///
/// | consume from | new group, normal topic | new group, `%RETRY%` topic |
/// |---|---|---|
/// | last offset (and the deprecated min/max variants) | max offset | 0 |
/// | first offset | 0 (moved to the min offset by the broker's OFFSET_ILLEGAL answer) | 0 |
/// | timestamp | the offset at `timestamp_ms` | max offset |
pub(crate) fn start_offset(
    consume_from_where: ConsumeFromWhere,
    topic: &str,
    committed: Option<i64>,
    timestamp_ms: i64,
) -> StartOffset {
    if let Some(offset) = committed.filter(|o| *o >= 0) {
        return StartOffset::At(offset);
    }
    let retry = is_retry_topic(topic);
    match consume_from_where {
        ConsumeFromWhere::ConsumeFromLastOffset
        | ConsumeFromWhere::ConsumeFromLastOffsetAndFromMinWhenBootFirst
        | ConsumeFromWhere::ConsumeFromMinOffset
        | ConsumeFromWhere::ConsumeFromMaxOffset => {
            if retry {
                StartOffset::At(0)
            } else {
                StartOffset::MaxOffset
            }
        }
        ConsumeFromWhere::ConsumeFromFirstOffset => StartOffset::At(0),
        ConsumeFromWhere::ConsumeFromTimestamp => {
            if retry {
                StartOffset::MaxOffset
            } else {
                StartOffset::ByTimestamp(timestamp_ms)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_offsets_win_whatever_consume_from_where_says() {
        for cfw in [
            ConsumeFromWhere::ConsumeFromLastOffset,
            ConsumeFromWhere::ConsumeFromFirstOffset,
            ConsumeFromWhere::ConsumeFromTimestamp,
        ] {
            assert_eq!(start_offset(cfw, "T", Some(17), 5), StartOffset::At(17));
            assert_eq!(
                start_offset(cfw, "%RETRY%g", Some(0), 5),
                StartOffset::At(0)
            );
        }
    }

    #[test]
    fn a_new_group_starts_where_consume_from_where_says() {
        use ConsumeFromWhere::*;
        // Last offset: skip the backlog of normal topics, but never of the retry topic.
        assert_eq!(
            start_offset(ConsumeFromLastOffset, "T", None, 0),
            StartOffset::MaxOffset
        );
        assert_eq!(
            start_offset(ConsumeFromLastOffset, "%RETRY%g", None, 0),
            StartOffset::At(0)
        );
        // The deprecated variants behave as last offset.
        for cfw in [
            ConsumeFromLastOffsetAndFromMinWhenBootFirst,
            ConsumeFromMinOffset,
            ConsumeFromMaxOffset,
        ] {
            assert_eq!(start_offset(cfw, "T", None, 0), StartOffset::MaxOffset);
            assert_eq!(start_offset(cfw, "%RETRY%g", None, 0), StartOffset::At(0));
        }
        // First offset: from 0 (the broker moves it to the min offset).
        assert_eq!(
            start_offset(ConsumeFromFirstOffset, "T", None, 0),
            StartOffset::At(0)
        );
        assert_eq!(
            start_offset(ConsumeFromFirstOffset, "%RETRY%g", None, 0),
            StartOffset::At(0)
        );
        // Timestamp: search by time, except the retry topic, which starts at its end.
        assert_eq!(
            start_offset(ConsumeFromTimestamp, "T", None, 1_700_000_000_000),
            StartOffset::ByTimestamp(1_700_000_000_000)
        );
        assert_eq!(
            start_offset(ConsumeFromTimestamp, "%RETRY%g", None, 1),
            StartOffset::MaxOffset
        );
        // A negative "offset" is no offset.
        assert_eq!(
            start_offset(ConsumeFromLastOffset, "T", Some(-1), 0),
            StartOffset::MaxOffset
        );
    }
}
