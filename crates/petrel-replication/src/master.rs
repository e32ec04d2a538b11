//! The master's side: accepts slaves on `haListenPort`, streams each one the CommitLog from
//! where it reported, records what each acknowledged, and lets SYNC_MASTER sends wait for it
//! ([`Master::wait_for_slaves`], RocketMQ's GroupTransferService).
//!
//! One task per slave connection, polling its two halves together: reading 8-byte reports
//! (only the newest complete one counts) and writing frames of at most `haTransferBatchSize`
//! bytes, or a heartbeat frame when idle for `haSendHeartbeatInterval`. Nothing read for
//! `haHousekeepingInterval` closes the connection (a stalled or half-open slave); the slave
//! reconnects. New bytes wake the writers at once ([`Master::notify_data`], called by the send
//! path) and otherwise every [`IDLE_POLL`] (for the broker's own writers: delay, timer, ...).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use petrel_protocol::ha::{
    last_report, SlaveHandshake, TransferHeader, REPORT_HEADER_SIZE_BYTES,
    SLAVE_HANDSHAKE_SIZE_BYTES,
};
use petrel_protocol::message::RecordView;
use petrel_protocol::remoting::body::{HaConnectionRuntimeInfo, HaRuntimeInfo};
use petrel_store::MessageStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

use crate::clock::now_ms;
use crate::config::HaConfig;
use crate::engine::feeder::{start_offset, StartError};
use crate::engine::rate::RateCounter;
use crate::engine::sync_rule::{acknowledged, Admission};

/// How often an idle writer looks for bytes nobody announced.
pub const IDLE_POLL: Duration = Duration::from_millis(20);
/// Most slave connections a master keeps (a replica group has a handful).
pub const MAX_SLAVE_CONNECTIONS: usize = 64;

/// How a SYNC_MASTER send's wait for its slaves ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaOutcome {
    /// The slaves the rule asks for hold the bytes.
    Replicated,
    /// The rule asks for no slave (5.x with `inSyncReplicas` ≤ 1, or degraded to the master).
    NotNeeded,
    /// SLAVE_NOT_AVAILABLE: no slave to wait for (4.9's rule).
    SlaveNotAvailable,
    /// FLUSH_SLAVE_TIMEOUT: `slaveTimeout` passed first.
    FlushSlaveTimeout,
    /// IN_SYNC_REPLICAS_NOT_ENOUGH (5.x's rule).
    InSyncReplicasNotEnough,
}

#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("nothing read for {0:?}")]
    Housekeeping(Duration),
    #[error("closed by the slave")]
    Closed,
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("the slave needs offset {0}, which retention has deleted")]
    Deleted(u64),
    #[error("shutting down")]
    Shutdown,
    #[error("bad controller-mode handshake: {0}")]
    Handshake(String),
}

/// One connected slave, as the status report and the waiters see it.
struct SlaveConnection {
    id: u64,
    addr: SocketAddr,
    /// The replica's broker id from its handshake (controller mode only).
    broker_id: AtomicU64,
    /// Offset the slave last acknowledged (valid once `reported`).
    ack: AtomicU64,
    reported: AtomicBool,
    /// Where the next frame starts.
    transfer_from: AtomicU64,
    rate: Mutex<RateCounter>,
}

/// The master's replication service.
pub struct Master {
    store: Arc<MessageStore>,
    config: HaConfig,
    slaves: Mutex<Vec<Arc<SlaveConnection>>>,
    next_id: AtomicU64,
    data: Notify,
    acks_changed: watch::Sender<u64>,
}

impl Master {
    pub fn new(store: Arc<MessageStore>, config: HaConfig) -> Arc<Self> {
        Arc::new(Self {
            store,
            config,
            slaves: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            data: Notify::new(),
            acks_changed: watch::channel(0).0,
        })
    }

    /// Accepts slaves until `shutdown` turns true.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.changed() => return,
            };
            let (stream, addr) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "HA accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if self.slaves.lock().len() >= MAX_SLAVE_CONNECTIONS {
                tracing::warn!(%addr, limit = MAX_SLAVE_CONNECTIONS, "too many slave connections; closing");
                continue;
            }
            let master = Arc::clone(&self);
            let shutdown = shutdown.clone();
            tokio::spawn(async move { master.run_connection(stream, addr, shutdown).await });
        }
    }

    /// New CommitLog bytes: wake the writers now.
    pub fn notify_data(&self) {
        self.data.notify_waiters();
    }

    /// Each reporting slave's acknowledged offset.
    fn acks(&self) -> Vec<u64> {
        self.slaves
            .lock()
            .iter()
            .filter(|s| s.reported.load(Ordering::Acquire))
            .map(|s| s.ack.load(Ordering::Acquire))
            .collect()
    }

    /// Controller mode: each identified, reporting replica's broker id and acknowledged
    /// offset (the highest, if a replica has two connections for a moment).
    pub fn acks_by_broker_id(&self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for s in self.slaves.lock().iter() {
            let id = s.broker_id.load(Ordering::Acquire);
            if id == 0 || !s.reported.load(Ordering::Acquire) {
                continue;
            }
            let ack = s.ack.load(Ordering::Acquire);
            match out.iter_mut().find(|(i, _)| *i == id) {
                Some(e) => e.1 = e.1.max(ack),
                None => out.push((id, ack)),
            }
        }
        out
    }

    /// Controller mode with `allAckInSyncStateSet`: waits until every replica in `members`
    /// (broker ids; the master's own id is left out by the caller) acknowledged `end_offset`,
    /// at most `slaveTimeout`. An empty set needs no wait.
    pub async fn wait_for_members(&self, end_offset: u64, members: &[u64]) -> ReplicaOutcome {
        if members.is_empty() {
            return ReplicaOutcome::NotNeeded;
        }
        self.notify_data();
        let mut changed = self.acks_changed.subscribe();
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(self.config.slave_timeout_ms);
        loop {
            let acks = self.acks_by_broker_id();
            let all = members
                .iter()
                .all(|m| acks.iter().any(|(id, ack)| id == m && *ack >= end_offset));
            if all {
                return ReplicaOutcome::Replicated;
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return ReplicaOutcome::FlushSlaveTimeout },
                _ = tokio::time::sleep_until(deadline) => return ReplicaOutcome::FlushSlaveTimeout,
            }
        }
    }

    /// Waits, as the SYNC_MASTER rule says, until slaves hold every byte before `end_offset`,
    /// at most `slaveTimeout`. Never waits unbounded.
    pub async fn wait_for_slaves(&self, end_offset: u64) -> ReplicaOutcome {
        self.notify_data();
        let mut changed = self.acks_changed.subscribe();
        let needed = match self.config.sync_rule().admit(end_offset, &self.acks()) {
            Admission::NoWait => return ReplicaOutcome::NotNeeded,
            Admission::SlaveNotAvailable => return ReplicaOutcome::SlaveNotAvailable,
            Admission::InSyncReplicasNotEnough => return ReplicaOutcome::InSyncReplicasNotEnough,
            Admission::Wait { slave_acks } => slave_acks,
        };
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(self.config.slave_timeout_ms);
        loop {
            if acknowledged(&self.acks(), end_offset, needed) {
                return ReplicaOutcome::Replicated;
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return ReplicaOutcome::FlushSlaveTimeout },
                _ = tokio::time::sleep_until(deadline) => return ReplicaOutcome::FlushSlaveTimeout,
            }
        }
    }

    /// `HARuntimeInfo` for GET_BROKER_HA_STATUS.
    pub fn status(&self) -> HaRuntimeInfo {
        let master_max = self.store.commit_log_end() as i64;
        let now = now_ms();
        let mut in_sync = 0;
        let connections = self
            .slaves
            .lock()
            .iter()
            .map(|s| {
                let ack = s.ack.load(Ordering::Acquire) as i64;
                let diff = master_max - ack;
                let is_in_sync = s.reported.load(Ordering::Acquire)
                    && (diff as u64) < self.config.max_gap_not_in_sync_bytes.max(1);
                if is_in_sync {
                    in_sync += 1;
                }
                let behind_millis = if diff > 0 {
                    self.store
                        .look_message_by_offset(ack)
                        .and_then(|r| RecordView::parse(&r).ok().map(|v| v.store_timestamp()))
                        .map_or(0, |ts| (now - ts).max(0))
                } else {
                    0
                };
                HaConnectionRuntimeInfo {
                    behind_millis,
                    addr: s.addr.to_string(),
                    slave_ack_offset: ack,
                    diff,
                    in_sync: is_in_sync,
                    transferred_byte_in_second: s.rate.lock().per_second(now) as i64,
                    transfer_from_where: s.transfer_from.load(Ordering::Acquire) as i64,
                }
            })
            .collect();
        HaRuntimeInfo {
            master: true,
            master_commit_log_max_offset: master_max,
            in_sync_slave_nums: in_sync,
            ha_connection_info: connections,
            ha_client_runtime_info: Default::default(),
        }
    }

    /// Number of slaves connected (reported at least once).
    pub fn connected_slaves(&self) -> usize {
        self.acks().len()
    }

    async fn run_connection(
        self: Arc<Self>,
        stream: TcpStream,
        addr: SocketAddr,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(SlaveConnection {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            addr,
            broker_id: AtomicU64::new(0),
            ack: AtomicU64::new(0),
            reported: AtomicBool::new(false),
            transfer_from: AtomicU64::new(0),
            rate: Mutex::new(RateCounter::default()),
        });
        self.slaves.lock().push(Arc::clone(&conn));
        tracing::info!(slave = %addr, "slave connected");
        let (rd, wr) = stream.into_split();
        let (first_tx, first_rx) = watch::channel(None);
        let result = tokio::select! {
            r = self.read_reports(rd, &conn, first_tx) => r,
            r = self.write_frames(wr, &conn, first_rx) => r,
            _ = shutdown.changed() => Err(ConnectionError::Shutdown),
        };
        self.slaves.lock().retain(|s| s.id != conn.id);
        self.acks_changed.send_modify(|v| *v += 1);
        match result {
            Err(ConnectionError::Start(e)) => {
                tracing::error!(slave = %addr, error = %e, "refusing slave")
            }
            Err(ConnectionError::Shutdown) | Ok(()) => {}
            Err(e) => tracing::warn!(slave = %addr, error = %e, "slave connection closed"),
        }
    }

    async fn read_reports(
        &self,
        mut rd: OwnedReadHalf,
        conn: &SlaveConnection,
        first: watch::Sender<Option<u64>>,
    ) -> Result<(), ConnectionError> {
        let housekeeping = self.config.housekeeping();
        if self.config.controller_mode {
            let mut hs = [0u8; SLAVE_HANDSHAKE_SIZE_BYTES];
            tokio::time::timeout(housekeeping, rd.read_exact(&mut hs))
                .await
                .map_err(|_| ConnectionError::Housekeeping(housekeeping))??;
            let hs = SlaveHandshake::decode(&hs).map_err(ConnectionError::Handshake)?;
            conn.broker_id
                .store(hs.slave_broker_id as u64, Ordering::Release);
            tracing::info!(slave = %conn.addr, broker_id = hs.slave_broker_id, "replica identified");
        }
        let mut buf = [0u8; 64 * REPORT_HEADER_SIZE_BYTES];
        let mut filled = 0usize;
        loop {
            let n = tokio::time::timeout(housekeeping, rd.read(&mut buf[filled..]))
                .await
                .map_err(|_| ConnectionError::Housekeeping(housekeeping))??;
            if n == 0 {
                return Err(ConnectionError::Closed);
            }
            filled += n;
            if let Some((offset, used)) = last_report(&buf[..filled]) {
                buf.copy_within(used..filled, 0);
                filled -= used;
                let offset = offset.max(0) as u64;
                if !conn.reported.swap(true, Ordering::AcqRel) {
                    conn.ack.store(offset, Ordering::Release);
                    first.send_replace(Some(offset));
                } else {
                    conn.ack.fetch_max(offset, Ordering::AcqRel);
                }
                self.store
                    .set_confirm_phy_offset(self.acks().into_iter().max().unwrap_or(0) as i64);
                self.acks_changed.send_modify(|v| *v += 1);
            }
        }
    }

    async fn write_frames(
        &self,
        mut wr: OwnedWriteHalf,
        conn: &SlaveConnection,
        mut first: watch::Receiver<Option<u64>>,
    ) -> Result<(), ConnectionError> {
        let reported = loop {
            if let Some(offset) = *first.borrow_and_update() {
                break offset;
            }
            if first.changed().await.is_err() {
                return Err(ConnectionError::Closed);
            }
        };
        let mut next = start_offset(
            reported,
            self.store.commit_log_start(),
            self.store.commit_log_end(),
        )?;
        tracing::info!(slave = %conn.addr, reported, from = next, "streaming CommitLog to slave");
        let heartbeat = self.config.heartbeat();
        let batch = self.config.batch();
        let mut last_write = tokio::time::Instant::now();
        loop {
            conn.transfer_from.store(next, Ordering::Release);
            let announced = self.data.notified();
            tokio::pin!(announced);
            announced.as_mut().enable();
            if let Some(bytes) = self.store.read_commit_log_raw(next, batch) {
                let header = TransferHeader {
                    physic_offset: next as i64,
                    body_size: bytes.len() as i32,
                };
                wr.write_all(&header.encode()).await?;
                wr.write_all(&bytes).await?;
                next += bytes.len() as u64;
                conn.rate.lock().add(bytes.len() as u64, now_ms());
                last_write = tokio::time::Instant::now();
                continue;
            }
            if next < self.store.commit_log_start() {
                return Err(ConnectionError::Deleted(next));
            }
            if last_write.elapsed() >= heartbeat {
                let header = TransferHeader {
                    physic_offset: next as i64,
                    body_size: 0,
                };
                wr.write_all(&header.encode()).await?;
                last_write = tokio::time::Instant::now();
            }
            tokio::select! {
                _ = announced => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
    }
}
