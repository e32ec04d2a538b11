//! One TCP connection: a reader task that decodes frames and routes them (responses to waiting
//! callers, requests to the handler), and a writer task that drains a bounded queue of frames.
//!
//! Limits: frames over `max_frame_bytes` or undecodable close the connection; at most
//! `max_in_flight_per_connection` requests are processed at once (more are answered with
//! SYSTEM_BUSY at once, never queued without bound); at most `write_queue_frames` frames wait
//! to be written (senders then wait); no traffic for `idle_timeout` closes it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use petrel_protocol::remoting::{response_code, RemotingCommand};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::config::RemotingConfig;
use crate::error::RemotingError;
use crate::handler::{Reply, RequestContext, RequestHandler};
use crate::write::write_all_chunks;

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

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

/// Starts the reader and writer tasks of a connection. Incoming requests go to `handler`
/// (a client without one answers REQUEST_CODE_NOT_SUPPORTED).
pub fn spawn(
    stream: TcpStream,
    handler: Option<Arc<dyn RequestHandler>>,
    config: Arc<RemotingConfig>,
) -> std::io::Result<ConnectionHandle> {
    stream.set_nodelay(true)?;
    let remote_addr = stream.peer_addr()?;
    let local_addr = stream.local_addr()?;
    let (mut reader, mut writer) = stream.into_split();
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
            if let Err(e) = write_all_chunks(&mut writer, &mut chunks).await {
                tracing::debug!(remote = %writer_handle.remote_addr(), error = %e, "write failed; closing");
                break;
            }
        }
        writer_handle.close();
    });

    // Reader: decode frames, route them.
    let reader_handle = handle.clone();
    let in_flight = Arc::new(Semaphore::new(config.max_in_flight_per_connection.max(1)));
    tokio::spawn(async move {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        'read: loop {
            loop {
                match RemotingCommand::parse(&mut buf, config.max_frame_bytes) {
                    Ok(Some(command)) => {
                        route(&reader_handle, command, handler.as_ref(), &in_flight)
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(remote = %reader_handle.remote_addr(), error = %e, "undecodable frame; closing the connection");
                        break 'read;
                    }
                }
            }
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(64 * 1024);
            }
            let read = tokio::select! {
                r = tokio::time::timeout(config.idle_timeout, reader.read_buf(&mut buf)) => r,
                _ = reader_handle.closed() => break,
            };
            match read {
                Ok(Ok(0)) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(remote = %reader_handle.remote_addr(), error = %e, "read failed");
                    break;
                }
                Err(_) => {
                    tracing::info!(remote = %reader_handle.remote_addr(), "idle too long; closing");
                    break;
                }
            }
        }
        reader_handle.close();
        if let Some(h) = &handler {
            h.on_connection_closed(&reader_handle);
        }
    });
    Ok(handle)
}

fn route(
    conn: &ConnectionHandle,
    command: RemotingCommand,
    handler: Option<&Arc<dyn RequestHandler>>,
    in_flight: &Arc<Semaphore>,
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
        if !oneway {
            let reply = RemotingCommand::response_to(
                &command,
                response_code::SYSTEM_BUSY,
                Some(
                    "[REJECTREQUEST]system busy: too many requests in flight on this connection"
                        .to_string(),
                ),
            );
            let conn = conn.clone();
            tokio::spawn(async move {
                let _ = conn.send_reply(reply.into()).await;
            });
        }
        return;
    };
    let ctx = RequestContext {
        connection: conn.clone(),
    };
    let conn = conn.clone();
    tokio::spawn(async move {
        let reply = handler.handle(ctx, command).await;
        drop(permit);
        if let (Some(reply), false) = (reply, oneway) {
            if let Err(e) = conn.send_reply(reply).await {
                tracing::debug!(error = %e, "could not send a response");
            }
        }
    });
}
