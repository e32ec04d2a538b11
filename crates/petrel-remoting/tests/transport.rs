//! The transport over real sockets on 127.0.0.1 (ephemeral ports).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use petrel_protocol::remoting::{response_code, RemotingCommand, SerializeType};
use petrel_remoting::{
    BoxFuture, ConnectionHandle, RemotingClient, RemotingConfig, RemotingServer, Reply,
    RequestContext, RequestHandler,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ECHO: i32 = 9001;
const SLOW: i32 = 9002;
const CALL_BACK: i32 = 9003;
const CHUNKED: i32 = 9004;

#[derive(Default)]
struct TestHandler {
    oneway_seen: AtomicUsize,
    closed: AtomicUsize,
}

impl RequestHandler for TestHandler {
    fn handle(&self, ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        if request.is_oneway() {
            self.oneway_seen.fetch_add(1, Ordering::SeqCst);
        }
        Box::pin(async move {
            match request.code {
                ECHO => {
                    let mut reply =
                        RemotingCommand::response_to(&request, response_code::SUCCESS, None);
                    reply.body = request.body.clone();
                    reply.ext_fields = request.ext_fields.clone();
                    Some(reply.into())
                }
                SLOW => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Some(
                        RemotingCommand::response_to(&request, response_code::SUCCESS, None).into(),
                    )
                }
                CALL_BACK => {
                    // Ask the peer something over the same connection, then answer with it.
                    let question = RemotingCommand::request(ECHO)
                        .with_body(Bytes::from_static(b"from server"));
                    let answer = ctx
                        .connection
                        .invoke(question, Duration::from_secs(5))
                        .await
                        .ok()?;
                    let mut reply =
                        RemotingCommand::response_to(&request, response_code::SUCCESS, None);
                    reply.body = answer.body;
                    Some(reply.into())
                }
                CHUNKED => {
                    let mut command =
                        RemotingCommand::response_to(&request, response_code::SUCCESS, None);
                    command.body = Bytes::from_static(b"head-");
                    let body_chunks = (0..300).map(|i| Bytes::from(format!("{i},"))).collect();
                    Some(Reply {
                        command,
                        body_chunks,
                    })
                }
                _ => Some(
                    RemotingCommand::response_to(
                        &request,
                        response_code::REQUEST_CODE_NOT_SUPPORTED,
                        Some("no".into()),
                    )
                    .into(),
                ),
            }
        })
    }

    fn on_connection_closed(&self, _connection: &ConnectionHandle) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

async fn start(config: RemotingConfig) -> (RemotingServer, Arc<TestHandler>) {
    let handler = Arc::new(TestHandler::default());
    let server = RemotingServer::bind("127.0.0.1:0".parse().unwrap(), handler.clone(), config)
        .await
        .unwrap();
    (server, handler)
}

#[tokio::test]
async fn requests_and_responses_match_in_both_serialize_types_under_concurrency() {
    let (server, _) = start(RemotingConfig::default()).await;
    let client = Arc::new(RemotingClient::new(RemotingConfig::default(), None));
    let addr = server.local_addr().to_string();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (client, addr) = (client.clone(), addr.clone());
        tasks.push(tokio::spawn(async move {
            let mut req =
                RemotingCommand::request(ECHO).with_body(Bytes::from(format!("payload-{i}")));
            req.serialize_type = if i % 2 == 0 {
                SerializeType::Json
            } else {
                SerializeType::RocketMq
            };
            req.ext_fields.insert("k".to_string(), i.to_string());
            let resp = client
                .invoke(&addr, req, Duration::from_secs(5))
                .await
                .unwrap();
            assert!(resp.is_response());
            assert_eq!(resp.code, response_code::SUCCESS);
            assert_eq!(resp.body, Bytes::from(format!("payload-{i}")));
            assert_eq!(resp.ext_fields.get("k"), Some(i.to_string().as_str()));
            // The reply uses the request's serialize type.
            assert_eq!(
                resp.serialize_type,
                if i % 2 == 0 {
                    SerializeType::Json
                } else {
                    SerializeType::RocketMq
                }
            );
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    server.shutdown().await;
}

#[tokio::test]
async fn oneway_requests_get_no_response_and_the_server_can_call_back() {
    let (server, handler) = start(RemotingConfig::default()).await;
    let client_handler = Arc::new(TestHandler::default());
    let client = RemotingClient::new(RemotingConfig::default(), Some(client_handler.clone()));
    let addr = server.local_addr().to_string();
    client
        .invoke_oneway(&addr, RemotingCommand::request(ECHO))
        .await
        .unwrap();
    let resp = client
        .invoke(
            &addr,
            RemotingCommand::request(CALL_BACK),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(resp.body, Bytes::from_static(b"from server"));
    assert_eq!(handler.oneway_seen.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_body_of_chunks_arrives_as_one_body() {
    let (server, _) = start(RemotingConfig::default()).await;
    let client = RemotingClient::new(RemotingConfig::default(), None);
    let resp = client
        .invoke(
            &server.local_addr().to_string(),
            RemotingCommand::request(CHUNKED),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    let expected: String = std::iter::once("head-".to_string())
        .chain((0..300).map(|i| format!("{i},")))
        .collect();
    assert_eq!(resp.body, Bytes::from(expected));
}

#[tokio::test]
async fn too_many_requests_in_flight_get_system_busy() {
    let config = RemotingConfig {
        max_in_flight_per_connection: 2,
        ..RemotingConfig::default()
    };
    let (server, _) = start(config).await;
    let client = Arc::new(RemotingClient::new(RemotingConfig::default(), None));
    let addr = server.local_addr().to_string();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (client, addr) = (client.clone(), addr.clone());
            tokio::spawn(async move {
                client
                    .invoke(
                        &addr,
                        RemotingCommand::request(SLOW),
                        Duration::from_secs(5),
                    )
                    .await
                    .unwrap()
                    .code
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert_eq!(
        codes
            .iter()
            .filter(|&&c| c == response_code::SUCCESS)
            .count(),
        2,
        "{codes:?}"
    );
    assert_eq!(
        codes
            .iter()
            .filter(|&&c| c == response_code::SYSTEM_BUSY)
            .count(),
        4,
        "{codes:?}"
    );
}

async fn connection_is_closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn garbage_frames_close_only_their_connection() {
    let (server, handler) = start(RemotingConfig {
        max_frame_bytes: 1024 * 1024,
        ..RemotingConfig::default()
    })
    .await;
    let addr = server.local_addr();
    let bad_inputs: Vec<Vec<u8>> = vec![
        (-5i32).to_be_bytes().to_vec(),               // negative length
        (64 * 1024 * 1024i32).to_be_bytes().to_vec(), // over the frame limit
        [
            &20i32.to_be_bytes()[..],
            &0x00FF_0000u32.to_be_bytes()[..],
            &[0u8; 16],
        ]
        .concat(), // header longer than frame
        [
            &12i32.to_be_bytes()[..],
            &8u32.to_be_bytes()[..],
            b"not json",
        ]
        .concat(), // garbage JSON header
        [
            &12i32.to_be_bytes()[..],
            &(0x0100_0008u32).to_be_bytes()[..],
            &[0xFF; 8],
        ]
        .concat(), // truncated binary header
    ];
    let client = RemotingClient::new(RemotingConfig::default(), None);
    for bad in bad_inputs {
        let mut raw = TcpStream::connect(addr).await.unwrap();
        raw.write_all(&bad).await.unwrap();
        assert!(
            connection_is_closed_by_peer(&mut raw).await,
            "not closed after {bad:?}"
        );
        // Others are served normally.
        let resp = client
            .invoke(
                &addr.to_string(),
                RemotingCommand::request(ECHO),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(resp.code, response_code::SUCCESS);
    }
    // The handler heard about the closed connections.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while handler.closed.load(Ordering::SeqCst) < 5 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn unknown_codes_get_a_response_and_idle_connections_are_closed() {
    let config = RemotingConfig {
        idle_timeout: Duration::from_millis(300),
        ..RemotingConfig::default()
    };
    let (server, _) = start(config).await;
    let client = RemotingClient::new(RemotingConfig::default(), None);
    let addr = server.local_addr().to_string();
    let resp = client
        .invoke(
            &addr,
            RemotingCommand::request(4242),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::REQUEST_CODE_NOT_SUPPORTED);
    let conn = client.connection(&addr).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), conn.closed())
        .await
        .expect("idle connection closed");
    // A new call reconnects.
    let resp = client
        .invoke(
            &addr,
            RemotingCommand::request(ECHO),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);
}

#[tokio::test]
async fn calls_to_a_dead_address_fail_cleanly_and_timeouts_are_reported() {
    let client = RemotingClient::new(
        RemotingConfig {
            connect_timeout: Duration::from_millis(500),
            ..RemotingConfig::default()
        },
        None,
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = listener.local_addr().unwrap().to_string();
    drop(listener);
    assert!(client
        .invoke(
            &dead,
            RemotingCommand::request(ECHO),
            Duration::from_secs(1)
        )
        .await
        .is_err());
    let (server, _) = start(RemotingConfig::default()).await;
    let err = client
        .invoke(
            &server.local_addr().to_string(),
            RemotingCommand::request(SLOW),
            Duration::from_millis(50),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no response"), "{err}");
}
