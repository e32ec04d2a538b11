//! One TCP connection: a reader task that decodes frames and routes them (responses to waiting
//! callers, requests to the handler), and a writer task that drains a bounded queue of frames.
//!
//! Limits: frames over `max_frame_bytes` or undecodable close the connection; the memory of
//! frames still arriving is bounded (`read_buffer.rs`); at most `max_in_flight_per_connection`
//! requests of a connection, and `max_in_flight_total` of all connections sharing the
//! [`SharedLimits`], are processed at once (more are answered with SYSTEM_BUSY at once, never
//! queued without bound); at most `write_queue_frames` frames wait to be written (senders then
//! wait); no traffic for `idle_timeout` closes it, and so does a frame that has not fully
//! arrived `frame_read_timeout` after its first byte (slow-loris); TCP keepalive finds
//! half-open connections. Requests the handler marks [`RequestHandler::cancel_on_close`] (held
//! long polls) stop when their connection closes, so they hold nothing for a gone peer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use petrel_protocol::remoting::{response_code, RemotingCommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::time::Instant;

use crate::config::{RemotingConfig, TcpKeepalive};
use crate::error::RemotingError;
use crate::handler::{Reply, RequestContext, RequestHandler};
use crate::read_buffer::{LargeFrameCharge, PrepareError, ReadBuffer};
use crate::write::write_all_chunks;

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// Bytes read onto the stack when a connection between frames becomes readable (most
/// requests fit; a larger burst continues into the read buffer).
const FIRST_READ_BYTES: usize = 4 * 1024;

/// An encoded frame ready to write: header bytes (with the length prefix) and body chunks.
pub(crate) struct OutFrame {
    chunks: Vec<Bytes>,
}

fn encode_frame(
    mut command: RemotingCommand,
    body_chunks: Vec<Bytes>,
) -> Result<OutFrame, RemotingError> {
    let body = std::mem::take(&mut command.body);
    let body_len = body.len() + body_chunks.iter().map(Bytes::len).sum::<usize>();
    let mut head = BytesMut::with_capacity(256);
    command
        .encode_header(body_len, &mut head)
        .map_err(|e| RemotingError::Encode(e.to_string()))?;
    let mut chunks = Vec::with_capacity(2 + body_chunks.len());
    chunks.push(head.freeze());
    if !body.is_empty() {
        chunks.push(body);
    }
    chunks.extend(body_chunks);
    Ok(OutFrame { chunks })
}

struct Inner {
    id: u64,
    remote_addr: SocketAddr,
    local_addr: SocketAddr,
    out: mpsc::Sender<OutFrame>,
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    next_opaque: AtomicI32,
    closed: AtomicBool,
    close_signal: tokio::sync::Notify,
}

/// A cheap, clonable handle to a live connection.
#[derive(Clone)]
pub struct ConnectionHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ConnectionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.inner.id)
            .field("remote", &self.inner.remote_addr)
            .finish()
    }
}

impl PartialEq for ConnectionHandle {
    fn eq(&self, other: &Self) -> bool {
        self.inner.id == other.inner.id
    }
}
impl Eq for ConnectionHandle {}

impl ConnectionHandle {
    pub fn id(&self) -> u64 {
        self.inner.id
    }
    pub fn remote_addr(&self) -> SocketAddr {
        self.inner.remote_addr
    }
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Closes the connection (in-flight invocations fail).
    pub fn close(&self) {
        if !self.inner.closed.swap(true, Ordering::AcqRel) {
            self.inner.close_signal.notify_waiters();
            self.inner.close_signal.notify_one();
            self.inner.pending.lock().clear();
        }
    }

    async fn send(&self, frame: OutFrame) -> Result<(), RemotingError> {
        if self.is_closed() {
            return Err(RemotingError::ConnectionClosed(
                self.inner.remote_addr.to_string(),
            ));
        }
        self.inner
            .out
            .send(frame)
            .await
            .map_err(|_| RemotingError::ConnectionClosed(self.inner.remote_addr.to_string()))
    }

    /// Sends a reply (response frame).
    pub async fn send_reply(&self, reply: Reply) -> Result<(), RemotingError> {
        self.send(encode_frame(reply.command, reply.body_chunks)?)
            .await
    }

    /// Sends a request and waits for its response.
    pub async fn invoke(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.opaque = opaque;
        let code = request.code;
        let (tx, rx) = oneshot::channel();
        self.inner.pending.lock().insert(opaque, tx);
        let sent = self.send(encode_frame(request, Vec::new())?).await;
        if let Err(e) = sent {
            self.inner.pending.lock().remove(&opaque);
            return Err(e);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(RemotingError::ConnectionClosed(
                self.inner.remote_addr.to_string(),
            )),
            Err(_) => {
                self.inner.pending.lock().remove(&opaque);
                Err(RemotingError::Timeout {
                    addr: self.inner.remote_addr.to_string(),
                    code,
                    timeout_ms: timeout.as_millis() as u64,
                })
            }
        }
    }

    /// Sends a oneway request (no response expected).
    pub async fn invoke_oneway(&self, mut request: RemotingCommand) -> Result<(), RemotingError> {
        request.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.mark_oneway();
        self.send(encode_frame(request, Vec::new())?).await
    }

    /// Waits until the connection is closed.
    pub async fn closed(&self) {
        loop {
            let notified = self.inner.close_signal.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

/// What the connections of one server (or one client) share: the limits, and the budgets
/// that bound all of them together.
#[derive(Clone)]
pub(crate) struct SharedLimits {
    pub(crate) config: Arc<RemotingConfig>,
    /// Requests in processing over all connections (`max_in_flight_total`).
    in_flight_total: Arc<Semaphore>,
    /// Bytes of large frames held over all connections (`max_large_frame_bytes_total`).
    large_frames: Arc<Semaphore>,
}

impl SharedLimits {
    pub(crate) fn new(config: RemotingConfig) -> Self {
        let in_flight = config.max_in_flight_total.clamp(1, Semaphore::MAX_PERMITS);
        let budget = config
            .large_frame_budget_bytes()
            .clamp(1, Semaphore::MAX_PERMITS);
        SharedLimits {
            config: Arc::new(config),
            in_flight_total: Arc::new(Semaphore::new(in_flight)),
            large_frames: Arc::new(Semaphore::new(budget)),
        }
    }

    /// Bytes of the large-frame budget not held by any connection now.
    pub(crate) fn large_frame_bytes_free(&self) -> usize {
        self.large_frames.available_permits()
    }
}

/// Turns on TCP keepalive with the configured timings.
fn set_keepalive(stream: &TcpStream, keepalive: &TcpKeepalive) -> std::io::Result<()> {
    use rustix::net::sockopt;
    sockopt::set_socket_keepalive(stream, true)?;
    sockopt::set_tcp_keepidle(stream, keepalive.idle)?;
    sockopt::set_tcp_keepintvl(stream, keepalive.interval)?;
    sockopt::set_tcp_keepcnt(stream, keepalive.probes)?;
    Ok(())
}

/// A connection's byte stream: plain TCP, or TLS over it.
pub(crate) enum Transport {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

impl Transport {
    fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => t.get_ref().0,
        }
    }

    /// Plain TCP splits into owned halves without a lock; TLS (one session state for both
    /// directions) through tokio's split.
    fn split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Transport::Plain(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Plain(r), WriteHalf::Plain(w))
            }
            Transport::Tls(t) => {
                let (r, w) = tokio::io::split(*t);
                (ReadHalf::Tls(r), WriteHalf::Tls(w))
            }
        }
    }
}

enum ReadHalf {
    Plain(tokio::net::tcp::OwnedReadHalf),
    Tls(tokio::io::ReadHalf<tokio_rustls::TlsStream<TcpStream>>),
}

enum WriteHalf {
    Plain(tokio::net::tcp::OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<tokio_rustls::TlsStream<TcpStream>>),
}

impl ReadHalf {
    /// The first bytes after a pause. Plain TCP reads them onto the caller's stack once the
    /// socket is readable (readiness alone is not proof of data); TLS decrypts them (its
    /// session holds buffers of its own anyway).
    async fn read_first(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ReadHalf::Plain(r) => loop {
                r.readable().await?;
                match r.try_read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            },
            ReadHalf::Tls(r) => r.read(buf).await,
        }
    }
}

impl tokio::io::AsyncRead for ReadHalf {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Plain(r) => std::pin::Pin::new(r).poll_read(cx, buf),
            ReadHalf::Tls(r) => std::pin::Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for WriteHalf {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => std::pin::Pin::new(w).poll_write(cx, buf),
            WriteHalf::Tls(w) => std::pin::Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => std::pin::Pin::new(w).poll_write_vectored(cx, bufs),
            WriteHalf::Tls(w) => std::pin::Pin::new(w).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WriteHalf::Plain(w) => w.is_write_vectored(),
            WriteHalf::Tls(w) => w.is_write_vectored(),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => std::pin::Pin::new(w).poll_flush(cx),
            WriteHalf::Tls(w) => std::pin::Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => std::pin::Pin::new(w).poll_shutdown(cx),
            WriteHalf::Tls(w) => std::pin::Pin::new(w).poll_shutdown(cx),
        }
    }
}

/// Sets TCP options on an accepted or connected socket (before a TLS handshake).
pub(crate) fn prepare_socket(stream: &TcpStream, config: &RemotingConfig) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    if let Some(keepalive) = &config.tcp_keepalive {
        set_keepalive(stream, keepalive)?;
    }
    Ok(())
}

/// Starts the reader and writer tasks of a connection. Incoming requests go to `handler`
/// (a client without one answers REQUEST_CODE_NOT_SUPPORTED).
pub(crate) fn spawn(
    stream: Transport,
    handler: Option<Arc<dyn RequestHandler>>,
    limits: SharedLimits,
) -> std::io::Result<ConnectionHandle> {
    let config = Arc::clone(&limits.config);
    prepare_socket(stream.tcp(), &config)?;
    let remote_addr = stream.tcp().peer_addr()?;
    let local_addr = stream.tcp().local_addr()?;
    let (mut reader, mut writer) = stream.split();
    let (tx, mut rx) = mpsc::channel::<OutFrame>(config.write_queue_frames.max(1));
    let inner = Arc::new(Inner {
        id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        remote_addr,
        local_addr,
        out: tx,
        pending: Mutex::new(HashMap::new()),
        next_opaque: AtomicI32::new(1),
        closed: AtomicBool::new(false),
        close_signal: tokio::sync::Notify::new(),
    });
    let handle = ConnectionHandle { inner };

    // Writer: drain the queue, batching frames into vectored writes.
    let writer_handle = handle.clone();
    tokio::spawn(async move {
        const BATCH_BYTES: usize = 1024 * 1024;
        const MAX_FRAMES_PER_WRITE: usize = 256;
        let mut chunks: Vec<Bytes> = Vec::new();
        loop {
            let first = tokio::select! {
                frame = rx.recv() => frame,
                _ = writer_handle.closed() => None,
            };
            let Some(first) = first else { break };
            let mut bytes: usize = first.chunks.iter().map(Bytes::len).sum();
            chunks.extend(first.chunks);
            let mut frames = 1;
            // Under load many tasks are about to queue a frame: yield once so that they can,
            // and write them with one syscall instead of one each (a writev costs far more
            // than a frame's bytes on loopback). When idle the yield returns at once.
            let mut yielded = false;
            while bytes < BATCH_BYTES {
                match rx.try_recv() {
                    Ok(frame) => {
                        bytes += frame.chunks.iter().map(Bytes::len).sum::<usize>();
                        chunks.extend(frame.chunks);
                        frames += 1;
                    }
                    Err(_) if !yielded && frames < MAX_FRAMES_PER_WRITE => {
                        yielded = true;
                        tokio::task::yield_now().await;
                    }
                    Err(_) => break,
                }
            }
            let written = match write_all_chunks(&mut writer, &mut chunks).await {
                // TLS holds encrypted bytes until flushed; for plain TCP this is free.
                Ok(()) => writer.flush().await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                tracing::debug!(remote = %writer_handle.remote_addr(), error = %e, "write failed; closing");
                break;
            }
        }
        writer_handle.close();
    });

    // Reader: decode frames, route them.
    let reader_handle = handle.clone();
    tokio::spawn(async move {
        let in_flight = Arc::new(Semaphore::new(config.max_in_flight_per_connection.max(1)));
        let mut rb = ReadBuffer::new(
            config.read_buffer_bytes,
            config.max_frame_bytes,
            Arc::clone(&limits.large_frames),
        );
        let remote = reader_handle.remote_addr();
        // When the frame at the front of the buffer began to arrive.
        let mut frame_started: Option<Instant> = None;
        loop {
            let mut took_frame = false;
            loop {
                match rb.next_frame() {
                    Ok(Some((command, charge))) => {
                        took_frame = true;
                        route(
                            &reader_handle,
                            command,
                            handler.as_ref(),
                            &in_flight,
                            &limits,
                            charge,
                        );
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(%remote, error = %e, "undecodable frame; closing the connection");
                        return close_reader(&reader_handle, handler.as_ref());
                    }
                }
            }
            let now = Instant::now();
            // An empty buffer waits up to the idle timeout; a partial frame must be complete
            // within the frame read timeout from its first byte, however it trickles in.
            let (deadline, what) = if rb.buffered_bytes() == 0 {
                frame_started = None;
                (now + config.idle_timeout, Stall::Idle)
            } else {
                if took_frame || frame_started.is_none() {
                    frame_started = Some(now);
                }
                let started = frame_started.unwrap_or(now);
                (started + config.frame_read_timeout, Stall::MidFrame)
            };
            let read = async {
                if rb.buffered_bytes() == 0 {
                    // Between frames a connection holds no read buffer: the first bytes of
                    // the next burst are read onto the stack, and only bytes that really came
                    // get a buffer (readiness alone is not proof: a new connection is reported
                    // readable before anything arrives). 2,000 idle connections cost no
                    // buffers.
                    rb.release();
                    let mut first = [0u8; FIRST_READ_BYTES];
                    let n = reader.read_first(&mut first).await.map_err(ReadError::Io)?;
                    if n == 0 {
                        return Ok(0);
                    }
                    rb.prepare().await?;
                    rb.buf_mut().extend_from_slice(&first[..n]);
                    return Ok(n);
                }
                rb.prepare().await?;
                reader.read_buf(rb.buf_mut()).await.map_err(ReadError::Io)
            };
            let read = tokio::select! {
                r = tokio::time::timeout_at(deadline, read) => r,
                _ = reader_handle.closed() => break,
            };
            match read {
                Ok(Ok(0)) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(%remote, error = %e, "read failed");
                    break;
                }
                Err(_) => {
                    match what {
                        Stall::Idle => tracing::info!(%remote, "idle too long; closing"),
                        Stall::MidFrame => tracing::warn!(
                            %remote,
                            buffered_bytes = rb.buffered_bytes(),
                            timeout_ms = config.frame_read_timeout.as_millis() as u64,
                            "a frame did not arrive in time (stalled mid-frame); closing"
                        ),
                    }
                    break;
                }
            }
        }
        close_reader(&reader_handle, handler.as_ref());
    });
    Ok(handle)
}

/// Why the reader is waiting.
#[derive(Clone, Copy)]
enum Stall {
    Idle,
    MidFrame,
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Budget(#[from] PrepareError),
    #[error(transparent)]
    Io(std::io::Error),
}

fn close_reader(conn: &ConnectionHandle, handler: Option<&Arc<dyn RequestHandler>>) {
    conn.close();
    if let Some(h) = handler {
        h.on_connection_closed(conn);
    }
}

/// The SYSTEM_BUSY answer to a request refused for back pressure (RocketMQ's remark prefix
/// `[REJECTREQUEST]`, which its clients recognise).
fn busy(conn: &ConnectionHandle, command: &RemotingCommand, why: &str) {
    if command.is_oneway() {
        return;
    }
    let reply = RemotingCommand::response_to(
        command,
        response_code::SYSTEM_BUSY,
        Some(format!("[REJECTREQUEST]system busy: {why}")),
    );
    let conn = conn.clone();
    tokio::spawn(async move {
        let _ = conn.send_reply(reply.into()).await;
    });
}

fn route(
    conn: &ConnectionHandle,
    command: RemotingCommand,
    handler: Option<&Arc<dyn RequestHandler>>,
    in_flight: &Arc<Semaphore>,
    limits: &SharedLimits,
    charge: Option<LargeFrameCharge>,
) {
    if command.is_response() {
        let waiter = conn.inner.pending.lock().remove(&command.opaque);
        match waiter {
            Some(tx) => {
                let _ = tx.send(command);
            }
            None => {
                tracing::debug!(remote = %conn.remote_addr(), opaque = command.opaque, "response to an unknown or timed-out request")
            }
        }
        return;
    }
    let oneway = command.is_oneway();
    let Some(handler) = handler.cloned() else {
        if !oneway {
            let reply = RemotingCommand::response_to(
                &command,
                response_code::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!(
                    "request code {} is not supported here",
                    command.code
                )),
            );
            let conn = conn.clone();
            tokio::spawn(async move {
                let _ = conn.send_reply(reply.into()).await;
            });
        }
        return;
    };
    let Ok(permit) = Arc::clone(in_flight).try_acquire_owned() else {
        busy(
            conn,
            &command,
            "too many requests in flight on this connection",
        );
        return;
    };
    let Ok(total_permit) = Arc::clone(&limits.in_flight_total).try_acquire_owned() else {
        busy(conn, &command, "too many requests in flight on this server");
        return;
    };
    let cancel_on_close = handler.cancel_on_close(&command);
    let ctx = RequestContext {
        connection: conn.clone(),
    };
    let conn = conn.clone();
    tokio::spawn(async move {
        let handled = handler.handle(ctx, command);
        let reply = if cancel_on_close {
            tokio::select! {
                reply = handled => reply,
                _ = conn.closed() => None,
            }
        } else {
            handled.await
        };
        drop((permit, total_permit, charge));
        if let (Some(reply), false) = (reply, oneway) {
            if let Err(e) = conn.send_reply(reply).await {
                tracing::debug!(error = %e, "could not send a response");
            }
        }
    });
}
