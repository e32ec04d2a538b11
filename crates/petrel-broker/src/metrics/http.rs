//! The `/metrics` endpoint: a deliberately small HTTP/1.1 server on tokio (one GET per
//! connection, then close) instead of a web framework, because Prometheus is its only client
//! and it needs nothing else. Limits: request head [`REQUEST_HEAD_BYTES_MAX`], read time
//! [`REQUEST_READ_TIMEOUT`], [`CONNECTIONS_MAX`] scrapes at once.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::broker::{BrokerError, BrokerInner};
use crate::config::MetricsExporterType;

/// Largest request head read (request line and headers), bytes.
const REQUEST_HEAD_BYTES_MAX: usize = 8 * 1024;
/// Longest a client may take to send its request.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Most connections served at once; more wait in the listen backlog.
const CONNECTIONS_MAX: usize = 16;
/// The exposition's content type (text format 0.0.4).
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Starts the endpoint when `metricsExporterType=PROM`: its address and task. A bind failure
/// is an error, unless the endpoint is `petrel serve`'s default (`metrics_optional`), which
/// is then left out with a warning (another Petrel on the machine has the port).
pub async fn start(
    broker: &Arc<BrokerInner>,
    shutdown: watch::Receiver<bool>,
) -> Result<Option<(SocketAddr, JoinHandle<()>)>, BrokerError> {
    let config = &broker.config;
    if config.metrics_exporter_type != Some(MetricsExporterType::Prom) {
        return Ok(None);
    }
    let host = config
        .metrics_prom_exporter_host
        .as_deref()
        .or(config.broker_ip1.as_deref());
    let ip: IpAddr = match host {
        Some(h) => h.parse().map_err(|_| BrokerError::Config {
            what: "metricsPromExporterHost",
            reason: format!("{h:?} is not an IP address"),
        })?,
        None => config.bind_address,
    };
    let addr = SocketAddr::new(ip, config.metrics_prom_exporter_port);
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(source) if config.metrics_optional => {
            tracing::warn!(%addr, error = %source, "metrics endpoint not started (set metricsPromExporterPort, or metricsExporterType=DISABLE)");
            return Ok(None);
        }
        Err(source) => return Err(BrokerError::Bind { addr, source }),
    };
    let local = listener
        .local_addr()
        .map_err(|source| BrokerError::Bind { addr, source })?;
    tracing::info!(addr = %local, "metrics at http://{local}/metrics");
    let task = tokio::spawn(serve(listener, Arc::downgrade(broker), shutdown));
    Ok(Some((local, task)))
}

/// Serves `/metrics` from `listener` until shutdown.
pub async fn serve(
    listener: TcpListener,
    broker: Weak<BrokerInner>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = shutdown.changed() => return,
        };
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!(error = %e, "metrics endpoint: accept failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let broker = broker.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = answer(stream, broker).await {
                tracing::debug!(error = %e, "metrics endpoint: request failed");
            }
        });
    }
}

/// Reads the request head: `None` when it is too long or incomplete.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(String::from_utf8_lossy(&head).into_owned()));
        }
        if head.len() >= REQUEST_HEAD_BYTES_MAX {
            return Ok(None);
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
    }
}

async fn answer(mut stream: TcpStream, broker: Weak<BrokerInner>) -> std::io::Result<()> {
    let head = match tokio::time::timeout(REQUEST_READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(r) => r?,
        Err(_) => None,
    };
    let Some(head) = head else {
        return respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            b"bad request\n",
        )
        .await;
    };
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let Some(broker) = broker.upgrade() else {
                return respond(
                    &mut stream,
                    "503 Service Unavailable",
                    "text/plain",
                    b"stopping\n",
                )
                .await;
            };
            let text = tokio::task::spawn_blocking(move || super::render(&broker))
                .await
                .unwrap_or_default();
            let body = if method == "HEAD" {
                &[][..]
            } else {
                text.as_bytes()
            };
            respond(&mut stream, "200 OK", CONTENT_TYPE, body).await
        }
        ("GET" | "HEAD", _) => {
            respond(
                &mut stream,
                "404 Not Found",
                "text/plain",
                b"metrics are at /metrics\n",
            )
            .await
        }
        _ => {
            respond(
                &mut stream,
                "405 Method Not Allowed",
                "text/plain",
                b"GET only\n",
            )
            .await
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}
