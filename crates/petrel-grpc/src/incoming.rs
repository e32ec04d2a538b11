//! The connections the gRPC server serves: plain TCP, or TLS on the same port. The 5.x Java
//! client connects with TLS unless told otherwise (`enableSsl`, default true) and trusts any
//! certificate; Apache's proxy accepts TLS and plain text on its one port (a self-signed
//! certificate in its default test mode). So does this server: a connection whose first byte
//! is a TLS handshake record (0x16) gets TLS (ALPN `h2`), others plain HTTP/2 — unless the
//! mode is enforcing, which closes them. Handshakes run in their own tasks, bounded in number
//! and time, so a silent peer never holds the accept loop.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use petrel_remoting::{TlsMode, TlsServer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::server::TlsStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The first byte of a TLS record carrying a handshake.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// How long a new connection may take to send its first byte and finish a TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections waiting for their first byte or handshake at once; more wait to be accepted.
pub const MAX_PENDING_HANDSHAKES: usize = 256;
/// Accepted connections queued for the HTTP/2 server.
const ACCEPTED_QUEUE_CONNECTIONS: usize = 64;

/// One accepted connection, holding its place among `max_connections`.
pub struct Io {
    stream: Stream,
    _slot: OwnedSemaphorePermit,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connected for Io {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match &self.stream {
            Stream::Plain(s) => s.connect_info(),
            Stream::Tls(s) => s.get_ref().0.connect_info(),
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// Accepts connections until `stopping`, and queues them (after the TLS decision) on the
/// returned channel, which is the server's incoming stream.
pub fn accept(
    listener: TcpListener,
    tls: Option<TlsServer>,
    max_connections: usize,
    mut stopping: watch::Receiver<bool>,
) -> mpsc::Receiver<io::Result<Io>> {
    let (tx, rx) = mpsc::channel(ACCEPTED_QUEUE_CONNECTIONS);
    let pending = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    let connections = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut refused: u64 = 0;
    tokio::spawn(async move {
        loop {
            let permit = tokio::select! {
                p = Arc::clone(&pending).acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                _ = stopping.wait_for(|s| *s) => break,
            };
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stopping.wait_for(|s| *s) => break,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: the next accept may succeed.
                    tracing::warn!(error = %e, "gRPC accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // A connection beyond max_connections is closed at once.
            let Ok(slot) = Arc::clone(&connections).try_acquire_owned() else {
                refused += 1;
                if refused.is_power_of_two() {
                    tracing::warn!(%peer, refused, max_connections, "gRPC connection refused: too many connections");
                }
                continue;
            };
            let _ = stream.set_nodelay(true);
            let Some(tls) = tls.clone() else {
                drop(permit);
                let io = Io {
                    stream: Stream::Plain(stream),
                    _slot: slot,
                };
                if tx.send(Ok(io)).await.is_err() {
                    break;
                }
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let io = tokio::time::timeout(HANDSHAKE_TIMEOUT, negotiate(stream, &tls)).await;
                drop(permit);
                match io {
                    Ok(Ok(Some(stream))) => {
                        let _ = tx
                            .send(Ok(Io {
                                stream,
                                _slot: slot,
                            }))
                            .await;
                    }
                    Ok(Ok(None)) => {}
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "gRPC connection refused"),
                    Err(_) => {
                        tracing::debug!(%peer, "gRPC connection: no TLS handshake or first byte in time")
                    }
                }
            });
        }
    });
    rx
}

/// TLS if the peer starts a handshake; plain text otherwise, unless enforcing (then `None`).
async fn negotiate(stream: TcpStream, tls: &TlsServer) -> io::Result<Option<Stream>> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 0 {
        return Ok(None);
    }
    if first[0] == TLS_HANDSHAKE_RECORD {
        let s = tls.acceptor.accept(stream).await?;
        return Ok(Some(Stream::Tls(Box::new(s))));
    }
    if tls.mode == TlsMode::Enforcing {
        return Ok(None);
    }
    Ok(Some(Stream::Plain(stream)))
}
