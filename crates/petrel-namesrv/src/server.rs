//! The runtime around the pure tables: binds the port, serves requests through the dispatch
//! table, forgets brokers whose connection closes, and scans for silent brokers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_remoting::{
    BoxFuture, ConnectionHandle, RemotingServer, Reply, RequestContext, RequestHandler,
};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::config::NamesrvConfig;
use crate::dispatch::dispatch;
use crate::error::NamesrvError;
use crate::kv_config::{self, KvConfig};
use crate::route_info::{RemovedBroker, RouteInfoManager};
use crate::state::NamesrvState;

/// A running name server.
pub struct NameServer {
    state: Arc<NamesrvState>,
    server: Arc<RemotingServer>,
    shutdown_tx: watch::Sender<bool>,
    scan_task: Mutex<Option<JoinHandle<()>>>,
}

impl NameServer {
    /// Validates `config`, loads the KV config file (if configured), binds
    /// `config.listen_addr` and starts serving and scanning for silent brokers. Must be
    /// called inside a tokio runtime.
    pub async fn start(config: NamesrvConfig) -> Result<NameServer, NamesrvError> {
        config.validate()?;
        let kv = match &config.kv_config_path {
            Some(path) => kv_config::load(path)?,
            None => KvConfig::new(),
        };
        let addr = config.listen_addr;
        let bind_error = |source| NamesrvError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;

        let remoting = config.remoting.clone();
        let state = Arc::new(NamesrvState::new(config, local_addr, kv));
        let handler = Arc::new(NamesrvHandler {
            state: Arc::clone(&state),
        });
        let server =
            Arc::new(RemotingServer::serve(listener, handler, remoting).map_err(bind_error)?);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let scan_task = tokio::spawn(scan_not_active_brokers(
            Arc::clone(&state),
            Arc::clone(&server),
            shutdown_rx,
        ));
        tracing::info!(%local_addr, "name server started");
        Ok(NameServer {
            state,
            server,
            shutdown_tx,
            scan_task: Mutex::new(Some(scan_task)),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.state.local_addr
    }

    /// Reads the route tables (diagnostics and tests).
    pub fn with_route_info<R>(&self, read: impl FnOnce(&RouteInfoManager) -> R) -> R {
        read(&self.state.routes.read())
    }

    /// A copy of the KV config.
    pub fn kv_config(&self) -> KvConfig {
        self.state.kv.read().clone()
    }

    /// Stops the expiry scan, stops accepting and closes every connection. Idempotent.
    pub async fn shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
        let task = self.scan_task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
        self.server.shutdown().await;
        tracing::info!(local_addr = %self.state.local_addr, "name server stopped");
    }
}

impl Drop for NameServer {
    /// Stops the scan task, which releases the server so it stops accepting. Connections
    /// already open stay until their peers close them; call [`NameServer::shutdown`] for a
    /// clean stop.
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

struct NamesrvHandler {
    state: Arc<NamesrvState>,
}

impl RequestHandler for NamesrvHandler {
    fn handle(&self, ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        let state = Arc::clone(&self.state);
        Box::pin(async move {
            let response = match dispatch(&state, &ctx, &request).await {
                Ok(response) => response,
                Err(e) => {
                    let response = e.to_response(&request);
                    // Missing topics and keys are ordinary answers; the rest is worth a look.
                    match response.code {
                        response_code::TOPIC_NOT_EXIST | response_code::QUERY_NOT_FOUND => {
                            tracing::debug!(code = request.code, remote = %ctx.remote_addr(), error = %e, "request answered with not found");
                        }
                        _ => {
                            tracing::warn!(code = request.code, remote = %ctx.remote_addr(), error = %e, "request failed");
                        }
                    }
                    response
                }
            };
            Some(response.into())
        })
    }

    fn on_connection_closed(&self, connection: &ConnectionHandle) {
        let removed = self
            .state
            .routes
            .write()
            .on_connection_closed(connection.id());
        for broker in removed {
            log_removed(&broker, "connection closed");
        }
    }
}

/// Every `scan_not_active_broker_interval_ms`, unregisters brokers silent for longer than
/// their timeout and closes their connections (as Java does), unless another live broker
/// still uses the connection.
async fn scan_not_active_brokers(
    state: Arc<NamesrvState>,
    server: Arc<RemotingServer>,
    mut shutdown: watch::Receiver<bool>,
) {
    let period = Duration::from_millis(state.config.scan_not_active_broker_interval_ms);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        let default_timeout_ms = state.settings().broker_channel_expired_ms;
        let now_ms = state.now_ms();
        let (removed, still_used): (Vec<RemovedBroker>, Vec<u64>) = {
            let mut routes = state.routes.write();
            let removed = routes.scan_expired(now_ms, default_timeout_ms);
            let still_used = routes
                .broker_live_table()
                .values()
                .map(|live| live.connection_id)
                .collect();
            (removed, still_used)
        };
        if removed.is_empty() {
            continue;
        }
        let connections = server.connections();
        for broker in &removed {
            log_removed(broker, "not heard from within its timeout");
            if still_used.contains(&broker.connection_id) {
                continue;
            }
            if let Some(conn) = connections.iter().find(|c| c.id() == broker.connection_id) {
                conn.close();
            }
        }
    }
}

fn log_removed(broker: &RemovedBroker, why: &str) {
    tracing::warn!(
        cluster = %broker.addr.cluster_name,
        broker_addr = %broker.addr.broker_addr,
        broker_name = broker.broker_name.as_deref().unwrap_or("?"),
        broker_id = ?broker.broker_id,
        "broker removed: {why}"
    );
}
