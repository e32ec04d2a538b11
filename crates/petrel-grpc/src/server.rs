//! The gRPC server: a tonic HTTP/2 server on its own listener, in the broker's process, with
//! the limits a peer cannot exceed, and the state the RPCs share.

use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use petrel_broker::BrokerInner;
use petrel_remoting::tls::TlsError;
use petrel_remoting::{TlsMode, TlsServer, TlsServerSettings};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use crate::client::ClientRegistry;
use crate::pb::messaging_service_server::MessagingServiceServer;
use crate::service::Service;
use crate::transaction::TransactionTable;

/// The server's settings and limits (units in the names).
#[derive(Debug, Clone)]
pub struct GrpcConfig {
    /// Where to listen (`grpcServerPort` on the broker's `bindAddress`; port 0: ephemeral).
    pub listen: SocketAddr,
    /// The largest message body a send may carry: the broker's `maxMessageSize`, shared with
    /// remoting, and the `max_body_size` the clients' settings are given.
    pub max_message_body_bytes: usize,
    /// The largest gRPC message the server decodes (a send request with its body, properties
    /// and framing): larger ones are refused by the transport (gRPC OUT_OF_RANGE).
    pub max_inbound_message_bytes: usize,
    /// Connections open at once (the broker's `maxConnections`); more are closed at once.
    pub max_connections: usize,
    /// HTTP/2 streams one connection may have open at once (requests in flight plus the
    /// long-lived Telemetry stream).
    pub max_concurrent_streams_per_connection: u32,
    /// Clients whose settings are kept at once (one entry per client id that sent Settings).
    pub max_clients: usize,
    /// Half messages sent over gRPC whose EndTransaction is awaited; the oldest are forgotten
    /// beyond this (their transaction is then resolved by the broker's check, or times out).
    pub max_pending_transactions: usize,
    /// HTTP/2 PING interval on idle connections, and how long an answer may take.
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
    /// TLS on the port (see [`tls_like_the_proxy`]); `None`: plain text only.
    pub tls: Option<TlsServer>,
}

impl GrpcConfig {
    /// Defaults for a broker: `listen`, and its `maxMessageSize`.
    pub fn new(listen: SocketAddr, max_message_body_bytes: usize) -> GrpcConfig {
        GrpcConfig {
            listen,
            max_message_body_bytes,
            // The body plus room for properties and framing; a body over the limit still gets
            // MESSAGE_BODY_TOO_LARGE from the send path, not a transport error.
            max_inbound_message_bytes: max_message_body_bytes.saturating_mul(2) + 1024 * 1024,
            max_connections: 10_000,
            max_concurrent_streams_per_connection: 128,
            max_clients: 10_000,
            max_pending_transactions: 100_000,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(20),
            tls: None,
        }
    }
}

/// The gRPC port's TLS. With the broker's `tls.server.mode` permissive or enforcing, its
/// settings (certificate, client authentication). Otherwise as Apache's proxy in its default
/// test mode: TLS with a self-signed certificate made at start, plain text too — the official
/// clients use TLS by default and do not verify the certificate.
pub fn tls_like_the_proxy(broker_tls: &TlsServerSettings) -> Result<Option<TlsServer>, TlsError> {
    const H2: &[u8] = b"h2";
    if broker_tls.mode != TlsMode::Disabled {
        return broker_tls.build_with_alpn(&[H2], true);
    }
    TlsServerSettings {
        mode: TlsMode::Permissive,
        test_mode: true,
        ..TlsServerSettings::default()
    }
    .build_with_alpn(&[H2], false)
}

#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("TLS of the gRPC port: {0}")]
    Tls(#[from] TlsError),
}

/// What every RPC reads: the broker, the settings and the tables of this server.
pub(crate) struct Shared {
    pub broker: Arc<BrokerInner>,
    pub config: GrpcConfig,
    pub local_addr: SocketAddr,
    pub clients: ClientRegistry,
    pub transactions: TransactionTable,
    /// Round robin over writable queues for messages without a message group.
    pub next_queue: AtomicUsize,
    /// Turns true when the server stops: long-lived streams (Telemetry) end on it.
    pub stopping: watch::Sender<bool>,
}

/// A running gRPC server; [`GrpcServer::shutdown`] stops it.
pub struct GrpcServer {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl GrpcServer {
    /// Binds `config.listen` and serves the MessagingService over `broker`.
    pub async fn start(
        config: GrpcConfig,
        broker: Arc<BrokerInner>,
    ) -> Result<GrpcServer, GrpcError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| GrpcError::Bind {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| GrpcError::Bind {
            addr: config.listen,
            source,
        })?;
        let shared = Arc::new(Shared {
            broker,
            local_addr,
            clients: ClientRegistry::new(config.max_clients),
            transactions: TransactionTable::new(config.max_pending_transactions),
            next_queue: AtomicUsize::new(0),
            stopping: watch::channel(false).0,
            config: config.clone(),
        });
        // The broker's transaction check asks gRPC producers too (held weakly: the broker
        // outlives this server).
        shared
            .broker
            .transactions
            .set_other_producers(Arc::new(crate::orphaned::GrpcProducers {
                shared: Arc::downgrade(&shared),
            }));
        let service = MessagingServiceServer::new(Service::new(Arc::clone(&shared)))
            .max_decoding_message_size(config.max_inbound_message_bytes)
            .max_encoding_message_size(config.max_inbound_message_bytes);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let router = tonic::transport::Server::builder()
            .max_concurrent_streams(Some(config.max_concurrent_streams_per_connection))
            .http2_keepalive_interval(Some(config.keepalive_interval))
            .http2_keepalive_timeout(Some(config.keepalive_timeout))
            .tcp_nodelay(true)
            .add_service(service);
        let incoming = ReceiverStream::new(crate::incoming::accept(
            listener,
            config.tls.clone(),
            config.max_connections,
            shared.stopping.subscribe(),
        ));
        let task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async move {
            let _ = stop_rx.await;
        }));
        tracing::debug!(%local_addr, "gRPC MessagingService listening");
        Ok(GrpcServer {
            local_addr,
            shared,
            stop: Some(stop_tx),
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, ends open streams and waits (at most 5 s) for the server to finish.
    pub async fn shutdown(mut self) {
        self.shared.stopping.send_replace(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(5), &mut self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the gRPC server stopped with an error"),
            Ok(Err(e)) => tracing::warn!(error = %e, "the gRPC server task failed"),
            Err(_) => {
                tracing::warn!("the gRPC server did not stop within 5 s; aborting its streams");
                self.task.abort();
            }
        }
    }
}
