//! Accepts connections and runs the handler on their requests (mini-redis's listener: a
//! semaphore caps connections; shutdown stops accepting and closes every connection).
//!
//! Admission, in order, each refusal closing the new connection at once with a rate-limited
//! warning: the descriptor reserve (`descriptors.rs`), the server's connection limit, the
//! per-client-IP limit. An `accept` that fails (EMFILE: no descriptor left for even the new
//! socket) backs off briefly instead of spinning.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::config::RemotingConfig;
use crate::connection::{self, ConnectionHandle, SharedLimits, Transport};
use crate::descriptors;
use crate::handler::RequestHandler;
use crate::tls::{TlsMode, TlsServer};

/// Least time between two warnings of one kind of refusal; the ones in between are counted
/// and reported with the next.
const REFUSAL_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (no descriptor for the new socket).
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// Why a new connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    DescriptorReserve,
    ServerLimit,
    ClientIpLimit,
}

impl Refusal {
    fn message(self) -> &'static str {
        match self {
            Refusal::DescriptorReserve => {
                "refusing connections: file descriptors are running out (the reserve kept for \
                 the store and the name server is reached; raise `ulimit -n`)"
            }
            Refusal::ServerLimit => {
                "refusing connections: the server's connection limit is reached"
            }
            Refusal::ClientIpLimit => {
                "refusing connections: a client address reached its connection limit"
            }
        }
    }
}

/// A warning at most every [`REFUSAL_WARNING_INTERVAL`] per kind of refusal, with the number
/// of refusals since the previous one.
#[derive(Default)]
struct RefusalLog {
    /// Per kind: when it was last warned about, and refusals since.
    last: HashMap<&'static str, (Option<Instant>, u64)>,
}

impl RefusalLog {
    fn refused(&mut self, why: Refusal, peer: SocketAddr, config: &RemotingConfig) {
        let now = Instant::now();
        let (warned, count) = self.last.entry(why.message()).or_insert((None, 0));
        *count += 1;
        if warned.is_some_and(|at| now.duration_since(at) < REFUSAL_WARNING_INTERVAL) {
            return;
        }
        *warned = Some(now);
        let refused = std::mem::take(count);
        tracing::warn!(
            %peer,
            refused_since_last_warning = refused,
            max_connections = config.max_connections,
            max_connections_per_client_ip = config.max_connections_per_client_ip,
            descriptor_reserve = config.descriptor_reserve,
            "{}",
            why.message()
        );
    }
}

/// Connections per client IP address; an entry goes when its last connection does.
#[derive(Default)]
struct PerIp {
    counts: Mutex<HashMap<IpAddr, usize>>,
}

impl PerIp {
    fn try_add(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut counts = self.counts.lock();
        let n = counts.entry(ip).or_insert(0);
        if *n >= max.max(1) {
            if *n == 0 {
                counts.remove(&ip);
            }
            return None;
        }
        *n += 1;
        Some(IpSlot {
            table: Arc::clone(self),
            ip,
        })
    }
}

/// One connection's place in [`PerIp`], given back when dropped.
struct IpSlot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.table.counts.lock();
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// What a new connection needs to start once its transport is ready.
struct Start {
    handler: Arc<dyn RequestHandler>,
    limits: SharedLimits,
    conns: Arc<Mutex<Vec<ConnectionHandle>>>,
    permit: tokio::sync::OwnedSemaphorePermit,
    ip_slot: IpSlot,
    peer: SocketAddr,
}

impl Start {
    fn run(self, transport: Transport) {
        let Start {
            handler,
            limits,
            conns,
            permit,
            ip_slot,
            peer,
        } = self;
        match connection::spawn(transport, Some(handler), limits) {
            Ok(conn) => {
                {
                    let mut list = conns.lock();
                    list.retain(|c| !c.is_closed());
                    list.push(conn.clone());
                }
                tokio::spawn(async move {
                    conn.closed().await;
                    drop((permit, ip_slot));
                });
            }
            Err(e) => tracing::warn!(%peer, error = %e, "could not set up a connection"),
        }
    }
}

/// Apache's `HandshakeHandler`: the first byte tells a TLS handshake from plain text; plain
/// text is served in permissive mode and closed in enforcing mode. The handshake must finish
/// within `timeout` (a peer that connects and says nothing is closed then).
async fn tls_handshake(
    stream: tokio::net::TcpStream,
    tls: &TlsServer,
    timeout: std::time::Duration,
    peer: SocketAddr,
) -> Option<Transport> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        Ok(Ok(_)) => return None,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "connection failed before its first byte");
            return None;
        }
        Err(_) => {
            tracing::info!(%peer, "no byte within the frame read timeout; closing");
            return None;
        }
    }
    if first[0] != crate::tls::HANDSHAKE_RECORD {
        if tls.mode == TlsMode::Permissive {
            return Some(Transport::Plain(stream));
        }
        tracing::warn!(%peer, "a plain-text connection refused: TLS is enforcing (tls.server.mode=enforcing)");
        return None;
    }
    match tokio::time::timeout(timeout, tls.acceptor.accept(stream)).await {
        Ok(Ok(s)) => Some(Transport::Tls(Box::new(tokio_rustls::TlsStream::Server(s)))),
        Ok(Err(e)) => {
            tracing::warn!(%peer, error = %e, "TLS handshake failed; closing");
            None
        }
        Err(_) => {
            tracing::warn!(%peer, "TLS handshake did not finish in time; closing");
            None
        }
    }
}

pub struct RemotingServer {
    local_addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    connections: Arc<Mutex<Vec<ConnectionHandle>>>,
    accept_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    limits: SharedLimits,
}

impl RemotingServer {
    /// Binds `addr` and starts accepting. Fails (with the OS error) if the address is taken.
    pub async fn bind(
        addr: SocketAddr,
        handler: Arc<dyn RequestHandler>,
        config: RemotingConfig,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Self::serve(listener, handler, config)
    }

    /// Serves an already bound listener. Fails (with the OS error) only if the listener's
    /// address cannot be read, before anything is spawned.
    pub fn serve(
        listener: TcpListener,
        handler: Arc<dyn RequestHandler>,
        config: RemotingConfig,
    ) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (shutdown_tx, mut shutdown_rx) = watch::channel(false);
        let connections: Arc<Mutex<Vec<ConnectionHandle>>> = Arc::default();
        let limits = SharedLimits::new(config);
        let config = Arc::clone(&limits.config);
        let total = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let per_ip = Arc::new(PerIp::default());
        let conns = Arc::clone(&connections);
        let shared = limits.clone();
        let accept_task = tokio::spawn(async move {
            let mut log = RefusalLog::default();
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = shutdown_rx.changed() => break,
                };
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                        continue;
                    }
                };
                let ceiling = descriptors::connection_ceiling(config.descriptor_reserve);
                if descriptors::in_reserve(&stream, ceiling) {
                    log.refused(Refusal::DescriptorReserve, peer, &config);
                    continue;
                }
                let Ok(permit) = Arc::clone(&total).try_acquire_owned() else {
                    log.refused(Refusal::ServerLimit, peer, &config);
                    continue;
                };
                let Some(ip_slot) = per_ip.try_add(peer.ip(), config.max_connections_per_client_ip)
                else {
                    log.refused(Refusal::ClientIpLimit, peer, &config);
                    continue;
                };
                let start = Start {
                    handler: Arc::clone(&handler),
                    limits: shared.clone(),
                    conns: Arc::clone(&conns),
                    permit,
                    ip_slot,
                    peer,
                };
                match &config.tls_server {
                    None => start.run(Transport::Plain(stream)),
                    Some(tls) => {
                        let tls = tls.clone();
                        let timeout = config.frame_read_timeout;
                        tokio::spawn(async move {
                            if let Some(t) = tls_handshake(stream, &tls, timeout, peer).await {
                                start.run(t);
                            }
                        });
                    }
                }
            }
        });
        Ok(Self {
            local_addr,
            shutdown_tx,
            connections,
            accept_task: Mutex::new(Some(accept_task)),
            limits,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Live connections.
    pub fn connections(&self) -> Vec<ConnectionHandle> {
        let mut list = self.connections.lock();
        list.retain(|c| !c.is_closed());
        list.clone()
    }

    /// Bytes of the large-frame budget (`max_large_frame_bytes_total`) no connection holds now.
    pub fn large_frame_bytes_free(&self) -> usize {
        self.limits.large_frame_bytes_free()
    }

    /// Stops accepting and closes every connection.
    pub async fn shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
        let task = self.accept_task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
        for conn in self.connections.lock().drain(..) {
            conn.close();
        }
    }
}
