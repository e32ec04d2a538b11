//! The transport's limits over real sockets on 127.0.0.1 (ephemeral ports): what a peer that
//! stalls, floods or lies about a frame's length can make a server spend, and what it gets.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_remoting::{
    BoxFuture, RemotingClient, RemotingConfig, RemotingServer, Reply, RequestContext,
    RequestHandler,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const ECHO: i32 = 9001;
const SLOW: i32 = 9002;
/// Held until the connection goes (a long poll that nothing wakes).
const HOLD: i32 = 9005;

#[derive(Default)]
struct Handler {
    /// HOLD requests whose processing was dropped.
    holds_dropped: Arc<AtomicUsize>,
}

/// Counts a drop.
struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl RequestHandler for Handler {
    fn handle(&self, _ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        let dropped = Arc::clone(&self.holds_dropped);
        Box::pin(async move {
            match request.code {
                SLOW => tokio::time::sleep(Duration::from_millis(300)).await,
                HOLD => {
                    let _counter = DropCounter(dropped);
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                _ => {}
            }
            let mut reply = RemotingCommand::response_to(&request, response_code::SUCCESS, None);
            reply.body = request.body.clone();
            Some(reply.into())
        })
    }

    fn cancel_on_close(&self, request: &RemotingCommand) -> bool {
        request.code == HOLD
    }
}

async fn start(config: RemotingConfig) -> (RemotingServer, Arc<Handler>) {
    let handler = Arc::new(Handler::default());
    let server = RemotingServer::bind("127.0.0.1:0".parse().unwrap(), handler.clone(), config)
        .await
        .unwrap();
    (server, handler)
}

/// A raw connection from `from` (a loopback address).
async fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the server closed `stream` within `within`.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Whether the server still answers an ECHO on `stream`.
async fn answers(stream: &mut TcpStream) -> bool {
    let frame = RemotingCommand::request(ECHO)
        .with_opaque(7)
        .to_bytes()
        .unwrap();
    if stream.write_all(&frame).await.is_err() {
        return false;
    }
    let mut len = [0u8; 4];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut len)).await,
        Ok(Ok(_))
    )
}

/// The first `n` bytes of a request frame whose body is `body_bytes` long.
fn frame_prefix(body_bytes: usize, n: usize) -> Bytes {
    let frame = RemotingCommand::request(ECHO)
        .with_body(vec![1u8; body_bytes])
        .to_bytes()
        .unwrap();
    frame.slice(..n.min(frame.len()))
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_frame_stalled_or_trickled_mid_way_is_cut_off_after_the_frame_read_timeout() {
    let (server, _) = start(RemotingConfig {
        frame_read_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_secs(60),
        ..RemotingConfig::default()
    })
    .await;
    let addr = server.local_addr();

    // Stalled: half a frame, then nothing.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled.write_all(&frame_prefix(1000, 500)).await.unwrap();
    let started = Instant::now();
    assert!(closed_by_server(&mut stalled, Duration::from_secs(5)).await);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Slow-loris: a byte every 100 ms keeps the connection busy but the frame never ends in time.
    let mut trickle = TcpStream::connect(addr).await.unwrap();
    let prefix = frame_prefix(1000, 1000);
    let started = Instant::now();
    let mut closed = false;
    for byte in prefix.iter() {
        if trickle.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        if closed_by_server(&mut trickle, Duration::from_millis(100)).await {
            closed = true;
            break;
        }
    }
    assert!(closed, "a trickled frame must be cut off");
    assert!(started.elapsed() < Duration::from_secs(3));

    // A connection between frames is only subject to the idle timeout.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    assert!(answers(&mut idle).await);
    assert!(!closed_by_server(&mut idle, Duration::from_millis(800)).await);
    assert!(answers(&mut idle).await);
}

#[tokio::test]
async fn connections_beyond_the_per_address_and_server_limits_are_closed_at_once() {
    let (server, _) = start(RemotingConfig {
        max_connections_per_client_ip: 3,
        max_connections: 5,
        ..RemotingConfig::default()
    })
    .await;
    let addr = server.local_addr();
    let mut from_one = Vec::new();
    for _ in 0..3 {
        let mut s = connect_from([127, 0, 0, 1], addr).await;
        assert!(answers(&mut s).await);
        from_one.push(s);
    }
    // A fourth from the same address is closed; another address still gets in.
    let mut fourth = connect_from([127, 0, 0, 1], addr).await;
    assert!(closed_by_server(&mut fourth, Duration::from_secs(5)).await);
    let mut other = connect_from([127, 0, 0, 2], addr).await;
    assert!(answers(&mut other).await);
    let mut other2 = connect_from([127, 0, 0, 3], addr).await;
    assert!(answers(&mut other2).await);
    // Five in all: the server's limit.
    let mut sixth = connect_from([127, 0, 0, 4], addr).await;
    assert!(closed_by_server(&mut sixth, Duration::from_secs(5)).await);
    // A place freed by a closed connection is given again.
    drop(from_one.pop());
    eventually("the closed connection is forgotten", || {
        server.connections().len() == 4
    })
    .await;
    let mut again = connect_from([127, 0, 0, 1], addr).await;
    assert!(answers(&mut again).await);
}

#[tokio::test]
async fn the_descriptor_reserve_refuses_connections_before_descriptors_run_out() {
    // A reserve as large as the limit: every descriptor number is inside it.
    let (server, _) = start(RemotingConfig {
        descriptor_reserve: usize::MAX / 2,
        ..RemotingConfig::default()
    })
    .await;
    let mut refused = TcpStream::connect(server.local_addr()).await.unwrap();
    assert!(closed_by_server(&mut refused, Duration::from_secs(5)).await);
    assert!(server.connections().is_empty());
}

#[tokio::test]
async fn frames_claiming_megabytes_hold_no_more_than_the_budget_and_small_requests_go_on() {
    let budget: usize = 64 << 20;
    let (server, _) = start(RemotingConfig {
        max_large_frame_bytes_total: budget,
        frame_read_timeout: Duration::from_secs(60),
        ..RemotingConfig::default()
    })
    .await;
    let addr = server.local_addr();
    // 20 connections each announce an 8 MiB frame and send 256 KiB of it: seven fit in the
    // budget, the others wait at their first 64 KiB.
    let part = frame_prefix(8 << 20, 256 << 10);
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let part = part.clone();
        // Writes to a waiting connection block once the socket buffers are full.
        let _ = tokio::time::timeout(Duration::from_millis(200), s.write_all(&part)).await;
        stalled.push(s);
    }
    eventually("the budget is taken", || {
        server.large_frame_bytes_free() < 8 << 20
    })
    .await;
    // Requests that fit the read buffer need no budget.
    let mut small = TcpStream::connect(addr).await.unwrap();
    assert!(answers(&mut small).await);
    // The budget comes back with the connections.
    drop(stalled);
    eventually("the budget is returned", || {
        server.large_frame_bytes_free() == budget
    })
    .await;
}

#[tokio::test]
async fn large_frames_beyond_the_budget_wait_their_turn_and_complete() {
    // Room for one 1 MiB frame at a time; four arrive at once and all complete.
    let (server, _) = start(RemotingConfig {
        max_frame_bytes: 1 << 20,
        max_large_frame_bytes_total: 1 << 20,
        ..RemotingConfig::default()
    })
    .await;
    let addr = server.local_addr().to_string();
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let client = RemotingClient::new(RemotingConfig::default(), None);
                let body = Bytes::from(vec![i as u8; 900 << 10]);
                let resp = client
                    .invoke(
                        &addr,
                        RemotingCommand::request(ECHO).with_body(body.clone()),
                        Duration::from_secs(10),
                    )
                    .await
                    .unwrap();
                assert_eq!(resp.code, response_code::SUCCESS);
                assert_eq!(resp.body, body);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(server.large_frame_bytes_free(), 1 << 20);
}

#[tokio::test]
async fn requests_beyond_the_server_in_flight_limit_get_system_busy() {
    let (server, _) = start(RemotingConfig {
        max_in_flight_total: 2,
        ..RemotingConfig::default()
    })
    .await;
    let addr = server.local_addr().to_string();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let addr = addr.clone();
            tokio::spawn(async move {
                // One client (so one connection) each: the per-connection limit is not reached.
                let client = RemotingClient::new(RemotingConfig::default(), None);
                let resp = client
                    .invoke(
                        &addr,
                        RemotingCommand::request(SLOW),
                        Duration::from_secs(5),
                    )
                    .await
                    .unwrap();
                (resp.code, resp.remark.unwrap_or_default())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let ok = answers
        .iter()
        .filter(|(c, _)| *c == response_code::SUCCESS)
        .count();
    let busy: Vec<_> = answers
        .iter()
        .filter(|(c, _)| *c == response_code::SYSTEM_BUSY)
        .collect();
    assert_eq!((ok, busy.len()), (2, 4), "{answers:?}");
    assert!(busy.iter().all(|(_, r)| r.starts_with("[REJECTREQUEST]")));
}

#[tokio::test]
async fn held_requests_are_dropped_when_their_connection_closes() {
    let (server, handler) = start(RemotingConfig::default()).await;
    let mut s = TcpStream::connect(server.local_addr()).await.unwrap();
    for opaque in 0..10 {
        let frame = RemotingCommand::request(HOLD)
            .with_opaque(opaque)
            .to_bytes()
            .unwrap();
        s.write_all(&frame).await.unwrap();
    }
    // Still held while the connection lives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(handler.holds_dropped.load(Ordering::SeqCst), 0);
    drop(s);
    eventually("held requests end with their connection", || {
        handler.holds_dropped.load(Ordering::SeqCst) == 10
    })
    .await;
}
