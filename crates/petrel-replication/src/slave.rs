//! The slave's side: connects to the master's HA address (from `haMasterAddress`, or what the
//! name server answers to registration), reports its CommitLog's end, appends what the master
//! streams through [`Receiver`] (whole records only, offsets checked) and reports again after
//! each batch and every `haSendHeartbeatInterval`.
//!
//! A connection that reads nothing for `haHousekeepingInterval` (the master heartbeats every
//! `haSendHeartbeatInterval` when idle) is closed and re-established every
//! [`RECONNECT_INTERVAL`]. A master whose CommitLog does not match is refused (logged as an error
//! with both offsets) and retried only every [`MISMATCH_RETRY_INTERVAL`]: nothing is ever merged.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use parking_lot::Mutex;
use petrel_protocol::ha::{
    encode_report, SlaveHandshake, TransferHeader, TRANSFER_HEADER_SIZE_BYTES,
};
use petrel_protocol::remoting::body::{HaClientRuntimeInfo, HaRuntimeInfo};
use petrel_store::{MessageStore, StoreError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::clock::now_ms;
use crate::config::{HaConfig, MAX_FRAME_BODY_BYTES};
use crate::engine::rate::RateCounter;
use crate::engine::receiver::{ReceiveError, Receiver};

/// Pause between connection attempts (RocketMQ's slave waits 5 s; Petrel retries sooner so a
/// healed link is used again quickly).
pub const RECONNECT_INTERVAL: Duration = Duration::from_secs(1);
/// Pause after a master was refused because the logs do not match.
pub const MISMATCH_RETRY_INTERVAL: Duration = Duration::from_secs(10);
/// Bound on connecting to the master.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Read buffer (RocketMQ's slave reads into 4 MiB).
const READ_BUFFER_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("nothing from the master for {0:?}")]
    Housekeeping(Duration),
    #[error("the master closed the connection")]
    Closed,
    #[error("frame of {0} bytes exceeds the limit")]
    FrameTooLarge(i32),
    #[error(transparent)]
    Mismatch(ReceiveError),
    #[error(transparent)]
    Store(StoreError),
    #[error("shutting down")]
    Shutdown,
}

impl SessionError {
    fn is_mismatch(&self) -> bool {
        matches!(
            self,
            Self::Mismatch(ReceiveError::OffsetMismatch { .. })
                | Self::Mismatch(ReceiveError::NotARecord { .. })
                | Self::Store(StoreError::Replica(_))
        )
    }
}

#[derive(Debug, Default)]
struct ClientState {
    master_addr: String,
    last_read_ms: i64,
    last_write_ms: i64,
    master_offset: i64,
    rate: RateCounter,
    last_error: Option<String>,
}

/// The slave's replication client.
pub struct Slave {
    store: Arc<MessageStore>,
    config: HaConfig,
    master: watch::Sender<Option<String>>,
    state: Mutex<ClientState>,
    connected: AtomicBool,
}

impl Slave {
    pub fn new(store: Arc<MessageStore>, config: HaConfig) -> Arc<Self> {
        Arc::new(Self {
            store,
            config,
            master: watch::channel(None).0,
            state: Mutex::new(ClientState::default()),
            connected: AtomicBool::new(false),
        })
    }

    /// The master's HA address (`ip:port`); a change closes the current connection.
    pub fn set_master_addr(&self, addr: Option<String>) {
        self.master.send_if_modified(|current| {
            if *current == addr {
                return false;
            }
            tracing::info!(old = ?current, new = ?addr, "HA master address");
            *current = addr;
            true
        });
    }

    pub fn master_addr(&self) -> Option<String> {
        self.master.borrow().clone()
    }

    /// Connected to a master and following it.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Why the last connection ended, if it failed.
    pub fn last_error(&self) -> Option<String> {
        self.state.lock().last_error.clone()
    }

    /// Follows the master until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut master_rx = self.master.subscribe();
        loop {
            let addr = master_rx.borrow_and_update().clone();
            let Some(addr) = addr else {
                tokio::select! {
                    _ = master_rx.changed() => continue,
                    _ = shutdown.changed() => return,
                }
            };
            let result = tokio::select! {
                r = self.session(&addr) => r,
                _ = master_rx.changed() => Ok(()),
                _ = shutdown.changed() => Err(SessionError::Shutdown),
            };
            self.connected.store(false, Ordering::Release);
            let pause = match result {
                Err(SessionError::Shutdown) => return,
                Ok(()) => Duration::ZERO,
                Err(e) if e.is_mismatch() => {
                    tracing::error!(master = %addr, error = %e,
                        "refusing the master's CommitLog: it does not match this slave's; \
                         nothing was merged");
                    self.state.lock().last_error = Some(e.to_string());
                    MISMATCH_RETRY_INTERVAL
                }
                Err(e) => {
                    tracing::warn!(master = %addr, error = %e, "HA connection to master ended");
                    self.state.lock().last_error = Some(e.to_string());
                    RECONNECT_INTERVAL
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = master_rx.changed() => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn report(&self, stream: &mut TcpStream, offset: u64) -> Result<(), SessionError> {
        stream.write_all(&encode_report(offset)).await?;
        self.state.lock().last_write_ms = now_ms();
        Ok(())
    }

    async fn session(&self, addr: &str) -> Result<(), SessionError> {
        let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                SessionError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("connecting to {addr}"),
                ))
            })??;
        let _ = stream.set_nodelay(true);
        if self.config.controller_mode {
            let handshake = SlaveHandshake {
                is_sync_from_last_file: false,
                is_async_learner: false,
                slave_broker_id: self.config.broker_id as i64,
            };
            stream.write_all(&handshake.encode()).await?;
        }
        let mut reported = self.store.commit_log_end();
        self.report(&mut stream, reported).await?;
        {
            let mut st = self.state.lock();
            st.master_addr = addr.to_string();
            st.last_read_ms = now_ms();
            st.last_error = None;
        }
        self.connected.store(true, Ordering::Release);
        tracing::info!(master = %addr, offset = reported, "following the master");
        let mut receiver = Receiver::new(reported);
        let mut buf = BytesMut::with_capacity(READ_BUFFER_BYTES);
        let heartbeat = self.config.heartbeat();
        let housekeeping = self.config.housekeeping();
        let mut last_read = tokio::time::Instant::now();
        let mut last_report = tokio::time::Instant::now();
        loop {
            let wait = heartbeat.saturating_sub(last_report.elapsed());
            let read = tokio::time::timeout(
                wait.max(Duration::from_millis(1)),
                stream.read_buf(&mut buf),
            )
            .await;
            match read {
                Ok(Ok(0)) => return Err(SessionError::Closed),
                Ok(Ok(_)) => last_read = tokio::time::Instant::now(),
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => {
                    if last_read.elapsed() >= housekeeping {
                        return Err(SessionError::Housekeeping(housekeeping));
                    }
                }
            }
            let mut grew = false;
            while let Some(header) = TransferHeader::decode(&buf) {
                if header.body_size < 0 || header.body_size as usize > MAX_FRAME_BODY_BYTES {
                    return Err(SessionError::FrameTooLarge(header.body_size));
                }
                let size = header.body_size as usize;
                if buf.len() < TRANSFER_HEADER_SIZE_BYTES + size {
                    buf.reserve(TRANSFER_HEADER_SIZE_BYTES + size - buf.len());
                    break;
                }
                receiver.on_header(header).map_err(SessionError::Mismatch)?;
                buf.advance(TRANSFER_HEADER_SIZE_BYTES);
                let body = buf.split_to(size);
                let master_offset = header.physic_offset + header.body_size as i64;
                {
                    let mut st = self.state.lock();
                    let now = now_ms();
                    st.last_read_ms = now;
                    st.master_offset = st.master_offset.max(master_offset);
                    st.rate.add(size as u64, now);
                }
                self.store.set_master_flushed_offset(master_offset);
                if let Some(chunk) = receiver.on_body(&body).map_err(SessionError::Mismatch)? {
                    let end = self
                        .store
                        .append_replicated(chunk.offset, &chunk.bytes)
                        .map_err(SessionError::Store)?;
                    grew = end > reported;
                    reported = reported.max(end);
                }
            }
            if grew || last_report.elapsed() >= heartbeat {
                self.store.set_confirm_phy_offset(reported as i64);
                self.report(&mut stream, reported).await?;
                last_report = tokio::time::Instant::now();
            }
        }
    }

    /// `HARuntimeInfo` for GET_BROKER_HA_STATUS.
    pub fn status(&self) -> HaRuntimeInfo {
        let mut st = self.state.lock();
        let now = now_ms();
        HaRuntimeInfo {
            master: false,
            master_commit_log_max_offset: st.master_offset,
            in_sync_slave_nums: 0,
            ha_connection_info: Vec::new(),
            ha_client_runtime_info: HaClientRuntimeInfo {
                master_addr: st.master_addr.clone(),
                transferred_byte_in_second: st.rate.per_second(now) as i64,
                max_offset: self.store.commit_log_end() as i64,
                last_read_timestamp: st.last_read_ms,
                last_write_timestamp: st.last_write_ms,
                master_flush_offset: st.master_offset,
                activated: self.is_connected(),
            },
        }
    }
}
