//! Accepts connections and runs the handler on their requests (mini-redis's listener: a
//! semaphore caps connections; shutdown stops accepting and closes every connection).

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::config::RemotingConfig;
use crate::connection::{self, ConnectionHandle};
use crate::handler::RequestHandler;

pub struct RemotingServer {
    local_addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    connections: Arc<Mutex<Vec<ConnectionHandle>>>,
    accept_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
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
        let config = Arc::new(config);
        let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let conns = Arc::clone(&connections);
        let accept_task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = shutdown_rx.changed() => break,
                };
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: back off briefly instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
                    tracing::warn!(%peer, max = config.max_connections, "connection limit reached; refusing");
                    drop(stream);
                    continue;
                };
                match connection::spawn(stream, Some(Arc::clone(&handler)), Arc::clone(&config)) {
                    Ok(conn) => {
                        {
                            let mut list = conns.lock();
                            list.retain(|c| !c.is_closed());
                            list.push(conn.clone());
                        }
                        tokio::spawn(async move {
                            conn.closed().await;
                            drop(permit);
                        });
                    }
                    Err(e) => tracing::warn!(%peer, error = %e, "could not set up a connection"),
                }
            }
        });
        Ok(Self {
            local_addr,
            shutdown_tx,
            connections,
            accept_task: Mutex::new(Some(accept_task)),
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
