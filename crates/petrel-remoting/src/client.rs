//! Calls to remote peers by address, over one cached connection per address.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use petrel_protocol::remoting::RemotingCommand;
use tokio::net::TcpStream;

use crate::config::RemotingConfig;
use crate::connection::{self, ConnectionHandle, SharedLimits, Transport};
use crate::error::RemotingError;
use crate::handler::RequestHandler;

pub struct RemotingClient {
    limits: SharedLimits,
    handler: Option<Arc<dyn RequestHandler>>,
    /// Open connections by address. Looked up on every call, so a plain lock (never held
    /// across an await); connecting is serialised by `connect_lock`.
    connections: parking_lot::RwLock<HashMap<String, ConnectionHandle>>,
    connect_lock: tokio::sync::Mutex<()>,
}

impl RemotingClient {
    /// A client; `handler` serves requests the peers send back (may be `None`).
    pub fn new(config: RemotingConfig, handler: Option<Arc<dyn RequestHandler>>) -> Self {
        Self {
            limits: SharedLimits::new(config),
            handler,
            connections: parking_lot::RwLock::new(HashMap::new()),
            connect_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The connection to `addr`, opened if needed.
    pub async fn connection(&self, addr: &str) -> Result<ConnectionHandle, RemotingError> {
        if let Some(conn) = self.open_connection(addr) {
            return Ok(conn);
        }
        let _connecting = self.connect_lock.lock().await;
        // Another caller may have connected while this one waited.
        if let Some(conn) = self.open_connection(addr) {
            return Ok(conn);
        }
        let connect = TcpStream::connect(addr);
        let stream = match tokio::time::timeout(self.limits.config.connect_timeout, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => {
                return Err(RemotingError::Connect {
                    addr: addr.to_string(),
                    source,
                })
            }
            Err(_) => {
                return Err(RemotingError::Connect {
                    addr: addr.to_string(),
                    source: std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"),
                })
            }
        };
        let connect_err = |source| RemotingError::Connect {
            addr: addr.to_string(),
            source,
        };
        let transport = match &self.limits.config.tls_client {
            None => Transport::Plain(stream),
            Some(tls) => {
                connection::prepare_socket(&stream, &self.limits.config).map_err(connect_err)?;
                let handshake = tls.connector.connect(crate::tls::server_name(addr), stream);
                match tokio::time::timeout(self.limits.config.connect_timeout, handshake).await {
                    Ok(Ok(s)) => Transport::Tls(Box::new(tokio_rustls::TlsStream::Client(s))),
                    Ok(Err(e)) => return Err(connect_err(e)),
                    Err(_) => {
                        return Err(connect_err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "TLS handshake timed out",
                        )))
                    }
                }
            }
        };
        let conn = connection::spawn(transport, self.handler.clone(), self.limits.clone())
            .map_err(connect_err)?;
        self.connections
            .write()
            .insert(addr.to_string(), conn.clone());
        Ok(conn)
    }

    fn open_connection(&self, addr: &str) -> Option<ConnectionHandle> {
        self.connections
            .read()
            .get(addr)
            .filter(|c| !c.is_closed())
            .cloned()
    }

    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let conn = self.connection(addr).await?;
        let result = conn.invoke(request, timeout).await;
        if matches!(result, Err(RemotingError::ConnectionClosed(_))) {
            self.connections.write().remove(addr);
        }
        result
    }

    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), RemotingError> {
        self.connection(addr).await?.invoke_oneway(request).await
    }

    /// Closes every connection.
    pub async fn close_all(&self) {
        let conns: Vec<ConnectionHandle> =
            self.connections.write().drain().map(|(_, c)| c).collect();
        for conn in conns {
            conn.close();
        }
    }
}
