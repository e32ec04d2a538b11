//! The broker's life in controller mode: register, learn the role, run the broker in it, and
//! start it again when the role changes.
//!
//! ```text
//! identity ─► loop { register (1003) ─► no master? elect (1002)
//!                    ├─ master:  store opens ─► epoch (E, end) recorded ─► serve as SYNC_MASTER
//!                    │           lease + SyncStateSet reviews ─► ALTER_SYNC_STATE_SET (1001)
//!                    └─ replica: master's epochs (1007) ─► store opens cut at the consistent
//!                                point ─► follow the master's HA port
//!                    watch: GET_REPLICA_INFO (1004) every syncBrokerMetadataPeriod, 1008 pushes
//!                    ─► role changed ─► stop the broker ─► loop }
//! heartbeats (904) every brokerHeartbeatInterval, all along
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use petrel_broker::{Broker, BrokerConfig, BrokerError};
use petrel_protocol::remoting::body::{EpochEntryCache, JsonBody, KVTable, SyncStateSet};
use petrel_protocol::remoting::header::{
    AlterSyncStateSetRequestHeader, AlterSyncStateSetResponseHeader, BrokerHeartbeatRequestHeader,
    ElectMasterRequestHeader, ElectMasterResponseHeader, GetReplicaInfoRequestHeader,
    GetReplicaInfoResponseHeader, RegisterBrokerToControllerRequestHeader,
    RegisterBrokerToControllerResponseHeader,
};
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand};
use petrel_replication::epoch::{consistent_point, EpochEntry, EpochFile};
use petrel_replication::Role;
use tokio::sync::watch;

use crate::client::{ClientError, ControllerClient, CONTROLLER_CALL_TIMEOUT};
use crate::identity::{self, now_ms, IdentityError};
use crate::role::{Assignment, Hooks, Shared};
use crate::sync_state_set::Review;

/// Pause before asking the controllers again after a failed step.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// How long a replica waits for its new master to serve its epoch before asking the
/// controllers again.
const MASTER_READY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum AutoSwitchError {
    #[error(
        "controller mode needs a fixed listenPort (the controllers record the broker's address)"
    )]
    EphemeralPort,
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("the epoch file: {0}")]
    Epoch(#[from] petrel_replication::epoch::EpochError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// Told when the broker has started in a role and before it stops, so that what runs beside
/// it (the binary's gRPC service) follows it.
pub trait RoleObserver: Send + Sync {
    fn started<'a>(&'a self, broker: &'a Broker) -> BoxFuture<'a>;
    fn stopping(&self) -> BoxFuture<'_>;
}

pub type BoxFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// Why a step could not finish (the loop retries).
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Controller(#[from] ClientError),
    #[error("{0}")]
    Refused(String),
}

/// Runs the broker in controller mode until `shutdown` turns true. Started brokers are
/// reported to `observer` (the binary prints their addresses and runs the gRPC service beside
/// each).
pub async fn run(
    config: BrokerConfig,
    mut shutdown: watch::Receiver<bool>,
    observer: Arc<dyn RoleObserver>,
) -> Result<(), AutoSwitchError> {
    if config.listen_port == 0 {
        return Err(AutoSwitchError::EphemeralPort);
    }
    let ip = petrel_broker::broker::advertised_ip(&config)?;
    let broker_addr = format!("{ip}:{}", config.listen_port);
    let client = Arc::new(ControllerClient::new(
        config.controller.controller_addr.clone(),
    ));
    let root = config.store_path_root_dir.clone();
    std::fs::create_dir_all(&root).map_err(|source| IdentityError::Io {
        path: root.clone(),
        source,
    })?;
    let my_id = loop {
        tokio::select! {
            r = identity::broker_id(&client, &root, &config.broker_cluster_name, &config.broker_name, &broker_addr) => match r {
                Ok(id) => break id,
                Err(IdentityError::Controller(e)) => {
                    tracing::warn!(error = %e, "waiting for the controllers to assign a broker id");
                }
                Err(e) => return Err(e.into()),
            },
            _ = shutdown.changed() => return Ok(()),
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY_PAUSE) => {}
            _ = shutdown.changed() => return Ok(()),
        }
    };
    let c = &config.controller;
    let shared = Shared::new(
        config.broker_cluster_name.clone(),
        config.broker_name.clone(),
        my_id,
        c.all_ack_in_sync_state_set,
        Duration::from_millis(c.controller_heart_beat_timeout_ms / 2),
        EpochFile::load(&root)?,
    );
    tracing::info!(broker_id = my_id, addr = %broker_addr, controllers = %c.controller_addr.join(";"), "controller mode");
    let heartbeats = tokio::spawn(heartbeat_loop(
        Arc::clone(&client),
        Arc::clone(&shared),
        config.clone(),
        broker_addr.clone(),
        shutdown.clone(),
    ));
    let sup = Supervisor {
        config,
        client,
        shared,
        broker_addr,
    };
    let result = sup.run(&mut shutdown, &*observer).await;
    heartbeats.abort();
    result
}

struct Supervisor {
    config: BrokerConfig,
    client: Arc<ControllerClient>,
    shared: Arc<Shared>,
    broker_addr: String,
}

impl Supervisor {
    async fn run(
        &self,
        shutdown: &mut watch::Receiver<bool>,
        observer: &dyn RoleObserver,
    ) -> Result<(), AutoSwitchError> {
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let assignment = match self.assignment().await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "no role from the controllers yet");
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY_PAUSE) => continue,
                        _ = shutdown.changed() => return Ok(()),
                    }
                }
            };
            self.shared.assign(Some(assignment.clone()));
            let started = if assignment.master_id == self.shared.my_id {
                self.start_master(&assignment).await
            } else {
                self.start_replica(&assignment, shutdown).await
            };
            let broker = match started {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "could not start the broker in its role; retrying");
                    self.shared.assign(None);
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY_PAUSE) => continue,
                        _ = shutdown.changed() => return Ok(()),
                    }
                }
            };
            observer.started(&broker).await;
            let stop = self.watch(&broker, shutdown).await;
            tracing::info!(reason = stop, "stopping this role");
            observer.stopping().await;
            let is_shutdown = stop == "shutdown";
            broker.shutdown().await?;
            self.shared.assign(None);
            if is_shutdown {
                return Ok(());
            }
        }
    }

    /// Registers and, if the set has no master, asks for an election.
    async fn assignment(&self) -> Result<Assignment, StepError> {
        let request = RemotingCommand::request(request_code::CONTROLLER_REGISTER_BROKER)
            .with_header(&RegisterBrokerToControllerRequestHeader {
                cluster_name: Some(self.config.broker_cluster_name.clone()),
                broker_name: Some(self.config.broker_name.clone()),
                broker_id: Some(self.shared.my_id as i64),
                broker_address: Some(self.broker_addr.clone()),
                invoke_time: now_ms(),
            });
        let r = self.client.call(request).await?;
        if r.code != response_code::SUCCESS {
            return Err(StepError::Refused(format!(
                "REGISTER_BROKER: code {} {}",
                r.code,
                r.remark.unwrap_or_default()
            )));
        }
        let h: RegisterBrokerToControllerResponseHeader = r
            .decode_header()
            .map_err(|e| StepError::Refused(e.to_string()))?;
        let set = SyncStateSet::decode(&r.body).unwrap_or_default();
        if let (Some(id), Some(addr)) = (
            h.master_broker_id.filter(|id| *id > 0),
            h.master_address.filter(|a| !a.is_empty()),
        ) {
            return Ok(Assignment {
                master_id: id as u64,
                master_addr: addr,
                master_epoch: h.master_epoch.unwrap_or(0),
                sync_state_set: set.sync_state_set.iter().map(|i| *i as u64).collect(),
                sync_state_set_epoch: h.sync_state_set_epoch.unwrap_or(set.sync_state_set_epoch),
            });
        }
        let request = RemotingCommand::request(request_code::CONTROLLER_ELECT_MASTER).with_header(
            &ElectMasterRequestHeader {
                cluster_name: self.config.broker_cluster_name.clone(),
                broker_name: self.config.broker_name.clone(),
                broker_id: self.shared.my_id as i64,
                designate_elect: false,
                invoke_time: Some(now_ms()),
            },
        );
        let r = self.client.call(request).await?;
        if r.code != response_code::SUCCESS {
            return Err(StepError::Refused(format!(
                "ELECT_MASTER: code {} {}",
                r.code,
                r.remark.unwrap_or_default()
            )));
        }
        let h: ElectMasterResponseHeader = r
            .decode_header()
            .map_err(|e| StepError::Refused(e.to_string()))?;
        match (
            h.master_broker_id.filter(|id| *id > 0),
            h.master_address.filter(|a| !a.is_empty()),
        ) {
            (Some(id), Some(addr)) => {
                let members =
                    petrel_protocol::remoting::body::ElectMasterResponseBody::decode(&r.body)
                        .map(|b| b.sync_state_set.iter().map(|i| *i as u64).collect())
                        .unwrap_or_else(|_| BTreeSet::from([id as u64]));
                Ok(Assignment {
                    master_id: id as u64,
                    master_addr: addr,
                    master_epoch: h.master_epoch.unwrap_or(0),
                    sync_state_set: members,
                    sync_state_set_epoch: h.sync_state_set_epoch.unwrap_or(0),
                })
            }
            _ => Err(StepError::Refused("the election named no master".into())),
        }
    }

    fn role_config(&self) -> BrokerConfig {
        let mut config = self.config.clone();
        config.ha.controller_mode = true;
        config.ha.broker_id = self.shared.my_id;
        config
    }

    async fn start_master(&self, a: &Assignment) -> Result<Option<Broker>, AutoSwitchError> {
        let mut config = self.role_config();
        config.broker_id = 0;
        config.broker_role = Role::SyncMaster;
        config.ha_master_address = None;
        // Without allAckInSyncStateSet, 5.x's inSyncReplicas rule (default 1: no wait).
        config.ha.in_sync_replicas.get_or_insert(1);
        tracing::info!(epoch = a.master_epoch, sync_state_set = ?a.sync_state_set, "starting as master");
        let hooks = Arc::new(Hooks {
            shared: Arc::clone(&self.shared),
            adopt_epochs: None,
        });
        let broker = Broker::start_with_hooks(config, Some(hooks)).await?;
        serve_unconfigured_topics(&broker);
        Ok(Some(broker))
    }

    /// Asks the new master for its epochs, cuts the store where the two agree, and follows.
    /// `None`: the master was not ready in time (the loop asks the controllers again).
    async fn start_replica(
        &self,
        a: &Assignment,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Option<Broker>, AutoSwitchError> {
        let deadline = Instant::now() + MASTER_READY_TIMEOUT;
        let (cache, ha_addr) = loop {
            match self.master_epochs(a).await {
                Ok(ready) => break ready,
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(master = %a.master_addr, error = %e, "new master not ready yet");
                }
                Err(e) => {
                    tracing::warn!(master = %a.master_addr, error = %e, "the master did not become ready; asking the controllers again");
                    return Ok(None);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = shutdown.changed() => return Ok(None),
            }
        };
        let remote: Vec<EpochEntry> = cache
            .epoch_list
            .iter()
            .map(|e| EpochEntry {
                epoch: e.epoch,
                start_offset: e.start_offset.max(0) as u64,
            })
            .collect();
        let local = self.shared.epochs.lock().entries().to_vec();
        let cut = consistent_point(&local, u64::MAX, &remote, cache.max_offset.max(0) as u64);
        let cut = match cut {
            Some(c) => c,
            None => {
                if !local.is_empty() {
                    tracing::warn!(?local, ?remote, "no epoch in common with the new master: this replica's CommitLog is replaced by the master's");
                }
                0
            }
        };
        let mut config = self.role_config();
        config.broker_id = self.shared.my_id as i64;
        config.broker_role = Role::Slave;
        config.ha_master_address = Some(ha_addr.clone());
        config.store.truncate_commit_log_at = Some(cut);
        tracing::info!(master = %a.master_addr, ha = %ha_addr, epoch = a.master_epoch, cut, "starting as replica");
        let hooks = Arc::new(Hooks {
            shared: Arc::clone(&self.shared),
            adopt_epochs: Some(remote),
        });
        Ok(Some(Broker::start_with_hooks(config, Some(hooks)).await?))
    }

    /// The master's epochs once it leads `a.master_epoch`, and its HA address.
    async fn master_epochs(&self, a: &Assignment) -> Result<(EpochEntryCache, String), String> {
        let remoting = self.client.remoting();
        let r = remoting
            .invoke(
                &a.master_addr,
                RemotingCommand::request(request_code::GET_BROKER_EPOCH_CACHE),
                CONTROLLER_CALL_TIMEOUT,
            )
            .await
            .map_err(|e| e.to_string())?;
        if r.code != response_code::SUCCESS {
            return Err(format!("epoch cache: code {} {:?}", r.code, r.remark));
        }
        let cache = EpochEntryCache::decode(&r.body).map_err(|e| e.to_string())?;
        let last = cache.epoch_list.last().map_or(0, |e| e.epoch);
        if last < a.master_epoch {
            return Err(format!(
                "master at epoch {last}, not yet {}",
                a.master_epoch
            ));
        }
        let r = remoting
            .invoke(
                &a.master_addr,
                RemotingCommand::request(request_code::GET_BROKER_RUNTIME_INFO),
                CONTROLLER_CALL_TIMEOUT,
            )
            .await
            .map_err(|e| e.to_string())?;
        let kv = KVTable::decode(&r.body).map_err(|e| e.to_string())?;
        let ha = kv
            .table
            .get("haServerAddr")
            .filter(|a| !a.is_empty())
            .cloned()
            .ok_or("the master reports no haServerAddr")?;
        Ok((cache, ha))
    }

    /// Runs until the role changes or `shutdown`; returns why it stopped.
    async fn watch(&self, broker: &Broker, shutdown: &mut watch::Receiver<bool>) -> &'static str {
        let c = &self.config.controller;
        let mut meta =
            tokio::time::interval(Duration::from_millis(c.sync_broker_metadata_period_ms));
        let mut sss =
            tokio::time::interval(Duration::from_millis(c.check_sync_state_set_period_ms));
        let mut review = Review::default();
        loop {
            let store = &broker.inner().store;
            *self.shared.max_offset.lock() = (
                store.commit_log_end(),
                store.replicated_offsets().1.max(0) as u64,
            );
            if self.shared.change_noticed() {
                return "a controller announced a new master";
            }
            tokio::select! {
                _ = shutdown.changed() => return "shutdown",
                _ = self.shared.changed.notified() => {}
                _ = meta.tick() => {
                    match self.confirm_role().await {
                        Ok(true) => {}
                        Ok(false) => return "the controllers name another master or epoch",
                        // The lease runs out on its own: a master then refuses writes and
                        // keeps serving reads until the controllers answer again.
                        Err(e) => {
                            tracing::warn!(error = %e, "could not confirm the role with the controllers");
                        }
                    }
                }
                _ = sss.tick(), if self.shared.is_master() => {
                    if let petrel_broker::replica::Replication::Master(m) = &broker.inner().replication {
                        self.review_sync_state_set(&mut review, m, broker).await;
                    }
                }
            }
        }
    }

    /// GET_REPLICA_INFO: `true` if this run's role still holds (a master's lease is renewed).
    async fn confirm_role(&self) -> Result<bool, StepError> {
        let asked_at = Instant::now();
        let request = RemotingCommand::request(request_code::CONTROLLER_GET_REPLICA_INFO)
            .with_header(&GetReplicaInfoRequestHeader {
                broker_name: Some(self.config.broker_name.clone()),
            });
        let r = self.client.call(request).await?;
        if r.code != response_code::SUCCESS {
            return Err(StepError::Refused(format!(
                "GET_REPLICA_INFO: code {} {}",
                r.code,
                r.remark.unwrap_or_default()
            )));
        }
        let h: GetReplicaInfoResponseHeader = r
            .decode_header()
            .map_err(|e| StepError::Refused(e.to_string()))?;
        let master_id = h.master_broker_id.filter(|id| *id > 0).map(|id| id as u64);
        if self.shared.differs(master_id, h.master_epoch) {
            return Ok(false);
        }
        self.shared.confirm(asked_at);
        if let Ok(set) = SyncStateSet::decode(&r.body) {
            self.shared.set_sync_state_set(
                set.sync_state_set.iter().map(|i| *i as u64).collect(),
                set.sync_state_set_epoch,
            );
        }
        Ok(true)
    }

    async fn review_sync_state_set(
        &self,
        review: &mut Review,
        master: &petrel_replication::Master,
        broker: &Broker,
    ) {
        let Some(a) = self.shared.assignment() else {
            return;
        };
        let epoch_start = self
            .shared
            .epochs
            .lock()
            .entries()
            .last()
            .map_or(0, |e| e.start_offset);
        let proposal = review.review(
            &a.sync_state_set,
            self.shared.my_id,
            &master.acks_by_broker_id(),
            broker.inner().store.commit_log_end(),
            epoch_start,
            now_ms(),
            self.config.controller.ha_max_time_slave_not_catchup_ms,
        );
        let Some(next) = proposal else {
            return;
        };
        // While an expansion is being decided, sends wait for the union.
        self.shared.propose(Some(next.clone()));
        let body = SyncStateSet {
            sync_state_set: next.iter().map(|i| *i as i64).collect(),
            sync_state_set_epoch: a.sync_state_set_epoch,
        };
        let request = RemotingCommand::request(request_code::CONTROLLER_ALTER_SYNC_STATE_SET)
            .with_header(&AlterSyncStateSetRequestHeader {
                broker_name: Some(self.config.broker_name.clone()),
                master_broker_id: Some(self.shared.my_id as i64),
                master_epoch: Some(a.master_epoch),
                invoke_time: now_ms(),
            })
            .with_body(body.encode());
        match self.client.call(request).await {
            Ok(r) if r.code == response_code::SUCCESS => {
                let epoch = r
                    .decode_header::<AlterSyncStateSetResponseHeader>()
                    .map(|h| h.new_sync_state_set_epoch)
                    .unwrap_or(a.sync_state_set_epoch + 1);
                tracing::info!(from = ?a.sync_state_set, to = ?next, epoch, "SyncStateSet changed");
                self.shared.set_sync_state_set(next, epoch);
            }
            Ok(r) => {
                self.shared.propose(None);
                tracing::warn!(code = r.code, remark = ?r.remark, "the controller refused the SyncStateSet change");
                if r.code == response_code::CONTROLLER_FENCED_MASTER_EPOCH {
                    self.shared.notice_change();
                }
            }
            Err(e) => {
                self.shared.propose(None);
                tracing::warn!(error = %e, "could not change the SyncStateSet");
            }
        }
    }
}

/// A replica copies its master's topic configs only every few seconds (SlaveSynchronize), so a
/// replica promoted to master may hold messages of a topic created just before the failover
/// without its config. It gets one (queues up to the highest queue id held, read and write),
/// and the broker registers it, so producers and consumers find the topic on the new master.
fn serve_unconfigured_topics(broker: &Broker) {
    let inner = broker.inner();
    let mut added = Vec::new();
    for topic in inner.store.topics() {
        if inner.topics.contains(&topic) {
            continue;
        }
        let queues = inner
            .store
            .queue_ids(&topic)
            .into_iter()
            .max()
            .map_or(1, |q| q + 1);
        inner
            .topics
            .update(petrel_protocol::remoting::body::TopicConfig {
                topic_name: topic.clone(),
                read_queue_nums: queues,
                write_queue_nums: queues,
                ..Default::default()
            });
        added.push(topic);
    }
    if !added.is_empty() {
        tracing::info!(topics = ?added, "serving topics whose configs had not reached this replica yet");
        inner.trigger_register();
    }
}

/// BROKER_HEARTBEAT (904, oneway) to the leader every `brokerHeartbeatInterval`.
async fn heartbeat_loop(
    client: Arc<ControllerClient>,
    shared: Arc<Shared>,
    config: BrokerConfig,
    broker_addr: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let c = &config.controller;
    let mut tick = tokio::time::interval(Duration::from_millis(c.broker_heartbeat_interval_ms));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let (max_offset, confirm_offset) = *shared.max_offset.lock();
        let epoch = shared.epochs.lock().last_epoch();
        let mut request = RemotingCommand::request(request_code::BROKER_HEARTBEAT).with_header(
            &BrokerHeartbeatRequestHeader {
                cluster_name: config.broker_cluster_name.clone(),
                broker_addr: broker_addr.clone(),
                broker_name: config.broker_name.clone(),
                broker_id: Some(shared.my_id as i64),
                epoch: Some(epoch),
                max_offset: Some(max_offset as i64),
                confirm_offset: Some(confirm_offset as i64),
                heartbeat_timeout_mills: Some(c.controller_heart_beat_timeout_ms as i64),
                election_priority: Some(c.broker_election_priority),
            },
        );
        request.mark_oneway();
        if let Err(e) = client.oneway(request).await {
            tracing::debug!(error = %e, "heartbeat not sent");
        }
    }
}
