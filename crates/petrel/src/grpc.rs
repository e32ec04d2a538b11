//! The gRPC v2 MessagingService (`petrel-grpc`) beside the broker, in `serve` and `broker`:
//! on `bindAddress:grpcServerPort` (default 8081), or `--grpc-listen ADDR|off`; TLS and plain
//! text on the one port, as Apache's proxy (`petrel_grpc::tls_like_the_proxy`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use petrel_broker::config::DEFAULT_GRPC_SERVER_PORT;
use petrel_broker::{BrokerConfig, BrokerInner};
use petrel_grpc::{tls_like_the_proxy, GrpcConfig, GrpcServer};

/// Starts the gRPC server unless `spec` is `off`. Where: `spec` (an address), else
/// `grpcServerPort` on `bindAddress`. Only the default (neither given) may be taken: then the
/// broker warns and runs without gRPC, as with the console's default port.
pub async fn start(
    spec: Option<&str>,
    config: &BrokerConfig,
    broker: Arc<BrokerInner>,
) -> Result<Option<GrpcServer>> {
    let (addr, optional) = match spec.map(str::trim) {
        Some("off") => return Ok(None),
        Some(text) => (
            text.parse::<SocketAddr>().with_context(|| {
                format!("--grpc-listen {text:?} is not an address (like 127.0.0.1:8081) or off")
            })?,
            false,
        ),
        None => (
            SocketAddr::new(
                config.bind_address,
                config.grpc_server_port.unwrap_or(DEFAULT_GRPC_SERVER_PORT),
            ),
            config.grpc_server_port.is_none(),
        ),
    };
    let mut grpc = GrpcConfig::new(addr, config.max_message_size_bytes);
    grpc.max_connections = config.max_connections;
    grpc.tls = tls_like_the_proxy(&config.tls.server).context("TLS of the gRPC service")?;
    match GrpcServer::start(grpc, broker).await {
        Ok(server) => {
            say!("petrel grpc listening on {}", server.local_addr());
            Ok(Some(server))
        }
        Err(e) if optional => {
            tracing::warn!(
                error = %e,
                "the gRPC service is off: {addr} is taken (another Petrel or proxy?); set \
                 grpcServerPort or --grpc-listen to open it elsewhere"
            );
            Ok(None)
        }
        Err(e) => Err(e).context(
            "cannot start the gRPC service (set grpcServerPort or --grpc-listen to another address, or off)",
        ),
    }
}
