//! The runtime: opens the store, starts the raft node, serves requests on the controller's
//! one port, and runs the leader's duties (the heartbeat scan that elects new masters).
//!
//! Reads and writes of the replicated state happen on the leader only, one write at a time
//! (`write_lock`): `ensure_linearizable` (this node still leads, and has applied everything
//! committed before), decide on the applied state, replicate the event, answer once it is
//! applied. Deciding and applying in one critical section is what makes the epochs the
//! decision read still current when the event applies; the event's own checks
//! ([`crate::state`]) cover a leadership change in between.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::{CheckIsLeaderError, ClientWriteError, InitializeError, RaftError};
use openraft::{BasicNode, ServerState, SnapshotPolicy};
use parking_lot::{Mutex, RwLock};
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_remoting::{
    BoxFuture, ConnectionHandle, RemotingClient, RemotingConfig, RemotingServer, Reply,
    RequestContext, RequestHandler,
};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::config::{ControllerConfig, Peer};
use crate::error::{Refusal, StartError};
use crate::liveness::{BrokerKey, BrokerLiveTable};
use crate::processor;
use crate::raft::dir_lock::DirLock;
use crate::raft::log_store::LogStore;
use crate::raft::network::Network;
use crate::raft::state_machine::{SharedState, StateMachine};
use crate::raft::Raft;
use crate::state::{Applied, Event, ReplicasInfo};

/// How long a write (or a linearizable read) may wait for the raft group, ms. Apache's
/// DLedger controller waits 5 s for an append too.
pub const RAFT_WRITE_TIMEOUT_MS: u64 = 5_000;
/// How long a raft RPC to a peer may take before it counts as failed, ms (openraft's TTL for
/// heartbeats is the heartbeat interval; this bounds connecting).
pub const RAFT_CONNECT_TIMEOUT_MS: u64 = 1_000;
/// NOTIFY_BROKER_ROLE_CHANGED's bound per broker (connect + send), ms.
pub const NOTIFY_TIMEOUT_MS: u64 = 3_000;
/// Largest body of a controller request (not a raft RPC), bytes. Controller bodies are a
/// SyncStateSet, a list of broker names or a properties text.
pub const MAX_REQUEST_BODY_BYTES: usize = 1024 * 1024;

/// What every request handler and the leader task share.
pub(crate) struct Shared {
    pub(crate) config: RwLock<ControllerConfig>,
    pub(crate) node_id: u64,
    pub(crate) raft: Raft,
    pub(crate) state: SharedState,
    pub(crate) live: Mutex<BrokerLiveTable>,
    started: Instant,
    pub(crate) write_lock: tokio::sync::Mutex<()>,
    notify_client: RemotingClient,
    pub(crate) scan_wake: Notify,
    pub(crate) local_addr: SocketAddr,
}

impl Shared {
    /// Milliseconds on a monotonic clock (the heartbeat table's time).
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs `decide` on the applied state and the heartbeat table at this instant. Lock order
    /// everywhere: the state, then the table.
    pub(crate) fn decide<T>(
        &self,
        decide: impl FnOnce(&ReplicasInfo, &crate::liveness::LivenessAt<'_>) -> T,
    ) -> T {
        let now = self.now_ms();
        let state = self.state.read();
        let live = self.live.lock();
        decide(&state.info, &live.at(now))
    }

    /// A broker that just became its set's first master at its own request counts as alive
    /// on the connection it asked on ([`BrokerLiveTable::note_requester_alive`]).
    pub(crate) fn note_requester_alive(
        &self,
        broker_name: &str,
        broker_id: i64,
        connection_id: u64,
    ) {
        let timeout_ms = self.config.read().broker_heartbeat_timeout_ms;
        let now = self.now_ms();
        let found = self
            .state
            .read()
            .info
            .broker_set(broker_name)
            .and_then(|set| {
                set.address(broker_id).map(|addr| {
                    (
                        BrokerKey::new(&set.cluster_name, broker_name, broker_id),
                        addr.to_string(),
                    )
                })
            });
        if let Some((key, addr)) = found {
            self.live
                .lock()
                .note_requester_alive(key, &addr, connection_id, now, timeout_ms);
        }
    }

    /// The leader's raft node id, as this node knows it.
    pub(crate) fn leader_node(&self) -> Option<u64> {
        self.raft.metrics().borrow().current_leader
    }

    pub(crate) fn is_leader(&self) -> bool {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(self.node_id)
    }

    pub(crate) fn peer(&self, node_id: u64) -> Option<Peer> {
        self.config.read().peer_by_node_id(node_id).cloned()
    }

    /// CONTROLLER_NOT_LEADER, naming the leader when one is known.
    pub(crate) fn not_leader(&self, leader: Option<u64>) -> Refusal {
        let remark = match leader.and_then(|id| self.peer(id)) {
            Some(peer) => format!(
                "The controller is not in leader state; the leader is {} at {}",
                peer.id, peer.addr
            ),
            None => "The controller is not in leader state; no leader is known yet (an election is under way)".to_string(),
        };
        Refusal::new(response_code::CONTROLLER_NOT_LEADER, remark)
    }

    fn unavailable(&self, what: &str) -> Refusal {
        Refusal::new(
            response_code::SYSTEM_ERROR,
            format!("the controller group did not {what} within {RAFT_WRITE_TIMEOUT_MS} ms; is a majority of the controllers up?"),
        )
    }

    /// Confirms this node leads and has applied everything committed before now.
    pub(crate) async fn linearizable(&self) -> Result<(), Refusal> {
        let timeout = Duration::from_millis(RAFT_WRITE_TIMEOUT_MS);
        match tokio::time::timeout(timeout, self.raft.ensure_linearizable()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)))) => {
                Err(self.not_leader(f.leader_id))
            }
            Ok(Err(e)) => Err(Refusal::new(
                response_code::CONTROLLER_NOT_LEADER,
                format!("The controller cannot confirm its leadership: {e}"),
            )),
            Err(_) => Err(self.unavailable("confirm this controller's leadership")),
        }
    }

    /// Replicates `event` and returns what applying it did.
    pub(crate) async fn replicate(&self, event: Event) -> Result<Applied, Refusal> {
        let timeout = Duration::from_millis(RAFT_WRITE_TIMEOUT_MS);
        match tokio::time::timeout(timeout, self.raft.client_write(event)).await {
            Ok(Ok(response)) => Ok(response.data),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                Err(self.not_leader(f.leader_id))
            }
            Ok(Err(e)) => Err(Refusal::new(
                response_code::SYSTEM_ERROR,
                format!("replicating the change failed: {e}"),
            )),
            Err(_) => Err(self.unavailable("commit the change")),
        }
    }

    /// NOTIFY_BROKER_ROLE_CHANGED to every registered broker of `broker_name` (when
    /// `notifyBrokerRoleChanged`), in the background, each bounded by [`NOTIFY_TIMEOUT_MS`].
    pub(crate) fn notify_role_changed(self: &Arc<Self>, broker_name: &str) {
        if !self.config.read().notify_broker_role_changed {
            return;
        }
        let Some((addresses, request)) =
            processor::elect::role_change_notice(&self.state.read().info, broker_name)
        else {
            return;
        };
        for address in addresses {
            let shared = Arc::clone(self);
            let request = request.clone();
            tokio::spawn(async move {
                let send = shared.notify_client.invoke_oneway(&address, request);
                match tokio::time::timeout(Duration::from_millis(NOTIFY_TIMEOUT_MS), send).await {
                    Ok(Ok(())) => {
                        tracing::debug!(%address, "notified the broker of its set's role change")
                    }
                    Ok(Err(e)) => {
                        tracing::info!(%address, error = %e, "could not notify the broker of its set's role change (it learns it from its next CONTROLLER_GET_REPLICA_INFO)")
                    }
                    Err(_) => {
                        tracing::info!(%address, "notifying the broker of its set's role change timed out")
                    }
                }
            });
        }
    }
}

/// A running controller.
pub struct Controller {
    shared: Arc<Shared>,
    server: RemotingServer,
    shutdown_tx: watch::Sender<bool>,
    leader_task: Mutex<Option<JoinHandle<()>>>,
    _lock: DirLock,
}

impl Controller {
    /// Opens the store under `controllerStorePath`, binds this controller's address in
    /// `controllerDLegerPeers` (or serves `listener`, already bound, e.g. on port 0 in tests),
    /// starts raft and serving. On a fresh store every controller proposes the same initial
    /// membership (all peers), which openraft allows; a store with state just resumes.
    pub async fn start(
        config: ControllerConfig,
        listener: Option<TcpListener>,
    ) -> Result<Controller, StartError> {
        config.validate()?;
        let self_peer = config
            .self_peer()
            .cloned()
            .ok_or_else(|| StartError::Raft("controllerDLegerSelfId is not a peer".into()))?;
        let dir = config.store_path.clone();
        let store_err = |source| StartError::Store {
            path: dir.clone(),
            source,
        };
        let lock = DirLock::acquire(&dir).map_err(store_err)?;
        let log_store = LogStore::open(&dir).map_err(store_err)?;
        let state_machine = StateMachine::open(&dir).map_err(store_err)?;
        let state = state_machine.shared();

        let listener = match listener {
            Some(l) => l,
            None => {
                let addr = config.self_socket_addr()?;
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Bind { addr, source })?
            }
        };
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })?;

        let raft_config = openraft::Config {
            cluster_name: config.group.clone(),
            heartbeat_interval: config.raft_heartbeat_interval_ms,
            election_timeout_min: config.raft_election_timeout_min_ms,
            election_timeout_max: config.raft_election_timeout_max_ms,
            install_snapshot_timeout: 2_000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.raft_snapshot_log_entries),
            max_in_snapshot_log_to_keep: config.raft_snapshot_log_entries / 2,
            snapshot_max_chunk_size: 1024 * 1024,
            ..Default::default()
        }
        .validate()
        .map_err(|e| StartError::Raft(e.to_string()))?;
        let raft_client = Arc::new(RemotingClient::new(
            RemotingConfig {
                connect_timeout: Duration::from_millis(RAFT_CONNECT_TIMEOUT_MS),
                ..RemotingConfig::default()
            },
            None,
        ));
        let network = Network::new(raft_client, &config.group);
        let raft = Raft::new(
            self_peer.node_id,
            Arc::new(raft_config),
            network,
            log_store,
            state_machine,
        )
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;

        let members: BTreeMap<u64, BasicNode> = config
            .peers
            .iter()
            .map(|p| (p.node_id, BasicNode::new(&p.addr)))
            .collect();
        let stored: BTreeMap<u64, String> = state
            .read()
            .membership
            .membership()
            .nodes()
            .map(|(id, node)| (*id, node.addr.clone()))
            .collect();
        let configured: BTreeMap<u64, String> = members
            .iter()
            .map(|(id, node)| (*id, node.addr.clone()))
            .collect();
        if !stored.is_empty() && stored != configured {
            tracing::warn!(?stored, ?configured, "controllerDLegerPeers differs from the membership in the raft store; the store's membership is used (changing the group's members is not supported)");
        }

        let config_election_max_ms = config.raft_election_timeout_max_ms;
        let shared = Arc::new(Shared {
            config: RwLock::new(config),
            node_id: self_peer.node_id,
            raft: raft.clone(),
            state,
            live: Mutex::new(BrokerLiveTable::new()),
            started: Instant::now(),
            write_lock: tokio::sync::Mutex::new(()),
            notify_client: RemotingClient::new(RemotingConfig::default(), None),
            scan_wake: Notify::new(),
            local_addr,
        });
        let handler = Arc::new(ControllerHandler {
            shared: Arc::clone(&shared),
        });
        let server = RemotingServer::serve(listener, handler, RemotingConfig::default()).map_err(
            |source| StartError::Bind {
                addr: local_addr,
                source,
            },
        )?;

        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        if !initialized {
            // The peer with the smallest id proposes the membership at once; the others wait
            // to be contacted and propose it themselves only if nobody did within a few
            // election timeouts (that peer may be down at the group's first start). Every
            // peer proposes the same membership, which openraft allows; waiting avoids
            // three simultaneous candidates splitting the first vote.
            let smallest = members.keys().next().copied();
            let delay = if smallest == Some(self_peer.node_id) {
                Duration::ZERO
            } else {
                Duration::from_millis(2 * config_election_max_ms + 1_000)
            };
            let raft = raft.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if raft.is_initialized().await.unwrap_or(true) {
                    return;
                }
                match raft.initialize(members).await {
                    Ok(()) => tracing::info!(
                        "a fresh controller store: proposed the initial membership (every peer)"
                    ),
                    Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                    Err(e) => tracing::warn!(error = %e, "proposing the initial membership failed"),
                }
            });
        }

        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let leader_task = tokio::spawn(leader_duties(Arc::clone(&shared), shutdown_rx));
        tracing::info!(
            %local_addr,
            id = %self_peer.id,
            group = %shared.config.read().group,
            store = %shared.config.read().store_path.display(),
            "controller started"
        );
        Ok(Controller {
            shared,
            server,
            shutdown_tx,
            leader_task: Mutex::new(Some(leader_task)),
            _lock: lock,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// This controller's id (`n0`).
    pub fn id(&self) -> String {
        self.shared.config.read().self_id.clone()
    }

    /// Whether this controller leads the group now.
    pub fn is_leader(&self) -> bool {
        self.shared.is_leader()
    }

    /// The leading controller's id, as this controller knows it.
    pub fn leader_id(&self) -> Option<String> {
        self.shared
            .leader_node()
            .and_then(|id| self.shared.peer(id))
            .map(|p| p.id)
    }

    /// Reads the applied state (diagnostics and tests).
    pub fn with_state<R>(&self, read: impl FnOnce(&ReplicasInfo) -> R) -> R {
        read(&self.shared.state.read().info)
    }

    /// The current configuration (with run-time updates).
    pub fn config(&self) -> ControllerConfig {
        self.shared.config.read().clone()
    }

    /// Stops the leader task, the raft node and the server. Idempotent.
    pub async fn shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
        let task = self.leader_task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
        if let Err(e) = self.shared.raft.shutdown().await {
            tracing::warn!(error = %e, "the raft node did not stop cleanly");
        }
        self.server.shutdown().await;
        self.shared.notify_client.close_all().await;
        tracing::info!(local_addr = %self.shared.local_addr, "controller stopped");
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

struct ControllerHandler {
    shared: Arc<Shared>,
}

impl RequestHandler for ControllerHandler {
    fn handle(&self, ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let response = processor::dispatch(&shared, &ctx, &request).await?;
            Some(response.into())
        })
    }

    fn on_connection_closed(&self, connection: &ConnectionHandle) {
        let gone = self
            .shared
            .live
            .lock()
            .on_connection_closed(connection.id());
        if !gone.is_empty() {
            for key in &gone {
                tracing::info!(cluster = %key.cluster_name, broker_name = %key.broker_name, broker_id = key.broker_id, "broker inactive: its connection closed");
            }
            self.shared.scan_wake.notify_one();
        }
    }
}

/// The leader's duties: on becoming leader, count every known replica as heard from now; then
/// every `scanNotActiveBrokerInterval` (and at once when a broker's connection closes) forget
/// silent brokers and elect a new master for each set whose master is inactive.
async fn leader_duties(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut metrics = shared.raft.metrics();
    let mut led_term: Option<u64> = None;
    // The next periodic scan; kept across wake-ups (raft metrics change many times a second
    // on a leader, and must not keep postponing it).
    let mut next_scan = tokio::time::Instant::now();
    loop {
        let scan = tokio::select! {
            _ = tokio::time::sleep_until(next_scan) => true,
            _ = shared.scan_wake.notified() => true,
            changed = metrics.changed() => {
                if changed.is_err() {
                    return;
                }
                false
            }
            _ = shutdown.changed() => return,
        };
        if scan {
            let period =
                Duration::from_millis(shared.config.read().scan_not_active_broker_interval_ms);
            next_scan = tokio::time::Instant::now() + period;
        }
        let (leads, term) = {
            let m = metrics.borrow();
            if let Err(fatal) = &m.running_state {
                tracing::error!(error = %fatal, "the raft node stopped; this controller no longer takes part in the group; restart it");
                return;
            }
            (
                m.state == ServerState::Leader && m.current_leader == Some(shared.node_id),
                m.current_term,
            )
        };
        if !leads {
            if led_term.take().is_some() {
                tracing::info!("this controller no longer leads the group");
            }
            continue;
        }
        if led_term != Some(term) {
            if shared.linearizable().await.is_err() {
                continue;
            }
            take_over(&shared);
            led_term = Some(term);
            tracing::info!(term, "this controller leads the group now");
        } else if !scan {
            continue;
        }
        scan_inactive_masters(&shared).await;
    }
}

/// A new leader has heard no heartbeat: every registered replica counts as heard from now.
fn take_over(shared: &Shared) {
    let timeout_ms = shared.config.read().broker_heartbeat_timeout_ms;
    let now = shared.now_ms();
    let state = shared.state.read();
    let replicas: Vec<(BrokerKey, String)> = state
        .info
        .broker_sets()
        .flat_map(|set| {
            set.brokers.iter().map(|(id, r)| {
                (
                    BrokerKey::new(&set.cluster_name, &set.broker_name, *id),
                    r.address.clone(),
                )
            })
        })
        .collect();
    drop(state);
    shared.live.lock().assume_alive(
        replicas.iter().map(|(k, a)| (k.clone(), a.as_str())),
        now,
        timeout_ms,
    );
}

async fn scan_inactive_masters(shared: &Arc<Shared>) {
    let now = shared.now_ms();
    let needing = {
        let state = shared.state.read();
        let mut live = shared.live.lock();
        for key in live.remove_expired(now) {
            tracing::info!(cluster = %key.cluster_name, broker_name = %key.broker_name, broker_id = key.broker_id, "broker inactive: no heartbeat within its timeout");
        }
        crate::decide::sets_needing_election(&state.info, &live.at(now))
    };
    for broker_name in needing {
        tracing::info!(%broker_name, "the master is inactive; electing a new one");
        match processor::elect::controller_triggered(shared, &broker_name).await {
            Ok(outcome) => tracing::info!(%broker_name, %outcome, "election done"),
            Err(e) => tracing::warn!(%broker_name, error = %e, "election failed"),
        }
    }
}
