#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The gRPC v2 MessagingService of a real `petrel serve`, called with a tonic client generated
//! from the same vendored protos: bad input gets the v2 status codes Apache's proxy answers,
//! bad consumer requests and RPCs not served answer a v2 status (never a panic or a hang), and the
//! Telemetry handshake works as the official clients expect. The official Java client's view
//! is compat/java (`GrpcProducerTest`).

mod support;

use std::time::Duration;

use petrel_grpc::pb::messaging_service_client::MessagingServiceClient;
use petrel_grpc::pb::settings::PubSub;
use petrel_grpc::pb::telemetry_command::Command;
use petrel_grpc::pb::{
    pull_message_response, receive_message_response, AckMessageEntry, AckMessageRequest,
    ClientType, Code, EndTransactionRequest, GetOffsetRequest, HeartbeatRequest, Message,
    MessageType, Publishing, PullMessageRequest, QueryAssignmentRequest, QueryOffsetPolicy,
    QueryOffsetRequest, QueryRouteRequest, RecallMessageRequest, ReceiveMessageRequest, Resource,
    SendMessageRequest, Settings, SystemProperties, TelemetryCommand, TransactionResolution,
    UpdateOffsetRequest,
};
use petrel_protocol::remoting::header::CreateTopicRequestHeader;
use petrel_protocol::remoting::{request_code as rc, RemotingCommand};
use support::client::{producer, serve_small};
use support::{unique, Petrel};

use tonic::transport::Channel;
use tonic::Request;

/// Every call here must answer well within this.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

async fn connect(p: &Petrel) -> MessagingServiceClient<Channel> {
    let addr = p.grpc.clone().expect("petrel printed its gRPC address");
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(CALL_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .connect()
        .await
        .expect("connect to the gRPC service");
    MessagingServiceClient::new(channel)
}

fn with_client_id<T>(message: T, client_id: &str) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut()
        .insert("x-mq-client-id", client_id.parse().unwrap());
    r.metadata_mut()
        .insert("x-mq-language", "RUST".parse().unwrap());
    r
}

fn resource(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.to_string(),
    })
}

/// Creates `topic` (4 queues) over remoting, with `message.type` = `message_type`.
async fn create_topic(p: &Petrel, topic: &str, message_type: &str) {
    let producer = producer(p).await;
    let h = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 4,
        write_queue_nums: 4,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        attributes: Some(format!("+message.type={message_type}")),
        ..Default::default()
    };
    producer
        .instance()
        .invoke_ok(
            &p.broker,
            RemotingCommand::request(rc::UPDATE_AND_CREATE_TOPIC).with_header(&h),
        )
        .await
        .expect("topic created");
    producer.shutdown().await;
}

fn message(topic: &str, body: Vec<u8>, message_id: &str) -> Message {
    Message {
        topic: resource(topic),
        user_properties: Default::default(),
        system_properties: Some(SystemProperties {
            tag: Some("TagA".into()),
            keys: vec!["k1".into()],
            message_id: message_id.into(),
            message_type: MessageType::Normal as i32,
            ..Default::default()
        }),
        body,
    }
}

fn code_of(status: &Option<petrel_grpc::pb::Status>) -> i32 {
    status.as_ref().expect("a status").code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_v2_codes() {
    let p = serve_small(&["maxMessageSize=1024"]);
    let mut c = connect(&p).await;
    let topic = unique("grpc_bad");
    create_topic(&p, &topic, "NORMAL").await;

    // Route of a missing topic, of an illegal name, and of an existing one.
    let r = c
        .query_route(QueryRouteRequest {
            topic: resource("no_such_topic_here"),
            endpoints: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::TopicNotFound as i32, "{r:?}");
    let r = c
        .query_route(QueryRouteRequest {
            topic: resource("bad topic!"),
            endpoints: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::IllegalTopic as i32);
    let r = c
        .query_route(QueryRouteRequest {
            topic: resource(&topic),
            endpoints: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::Ok as i32);
    assert_eq!(r.message_queues.len(), 4);
    let grpc_port: i32 = p
        .grpc
        .as_ref()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let broker = r.message_queues[0].broker.as_ref().unwrap();
    assert_eq!(
        broker.endpoints.as_ref().unwrap().addresses[0].port,
        grpc_port
    );
    assert_eq!(
        r.message_queues[0].accept_message_types,
        vec![MessageType::Normal as i32]
    );

    // Send to a missing topic.
    let r = c
        .send_message(SendMessageRequest {
            messages: vec![message("no_such_topic_here", b"x".to_vec(), "01AA")],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::TopicNotFound as i32, "{r:?}");

    // A body over maxMessageSize (1,024 bytes here), and one at the limit.
    let r = c
        .send_message(SendMessageRequest {
            messages: vec![message(&topic, vec![7u8; 1025], "01AB")],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        code_of(&r.status),
        Code::MessageBodyTooLarge as i32,
        "{r:?}"
    );
    let r = c
        .send_message(SendMessageRequest {
            messages: vec![message(&topic, vec![7u8; 1024], "01AC")],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::Ok as i32, "{r:?}");
    assert_eq!(r.entries.len(), 1);
    assert_eq!(r.entries[0].message_id, "01AC");

    // A far bigger request than the transport takes is refused by the transport, not a crash.
    let huge = c
        .send_message(SendMessageRequest {
            messages: vec![message(&topic, vec![7u8; 8 * 1024 * 1024], "01AD")],
        })
        .await;
    // (tonic answers a message over the decoding limit with OUT_OF_RANGE.)
    let code = huge.unwrap_err().code();
    assert!(
        matches!(
            code,
            tonic::Code::OutOfRange | tonic::Code::ResourceExhausted
        ),
        "{code:?}"
    );

    // No message; no message id; a system property name; a FIFO message on a NORMAL topic.
    let r = c
        .send_message(SendMessageRequest { messages: vec![] })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::MessageCorrupted as i32);
    let r = c
        .send_message(SendMessageRequest {
            messages: vec![message(&topic, b"x".to_vec(), "")],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::IllegalMessageId as i32);
    let mut m = message(&topic, b"x".to_vec(), "01AE");
    m.user_properties.insert("UNIQ_KEY".into(), "mine".into());
    let r = c
        .send_message(SendMessageRequest { messages: vec![m] })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::IllegalMessagePropertyKey as i32);
    let mut m = message(&topic, b"x".to_vec(), "01AF");
    let sys = m.system_properties.as_mut().unwrap();
    sys.message_group = Some("g1".into());
    sys.message_type = MessageType::Fifo as i32;
    let r = c
        .send_message(SendMessageRequest { messages: vec![m] })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        code_of(&r.status),
        Code::MessagePropertyConflictWithType as i32,
        "{r:?}"
    );

    // EndTransaction of an id nobody was given, and without an id.
    for id in ["01FFFF", ""] {
        let r = c
            .end_transaction(EndTransactionRequest {
                topic: resource(&topic),
                message_id: "01FFFF".into(),
                transaction_id: id.into(),
                resolution: TransactionResolution::Commit as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code_of(&r.status), Code::InvalidTransactionId as i32);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_consumer_requests_and_rpcs_not_served_answer_a_status() {
    let p = serve_small(&[]);
    let mut c = connect(&p).await;

    // Consumer RPCs without a topic, or with a handle that is not one.
    let r = c
        .query_assignment(QueryAssignmentRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::IllegalTopic as i32);
    let mut stream = c
        .receive_message(ReceiveMessageRequest::default())
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(CALL_TIMEOUT, stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match first.content {
        Some(receive_message_response::Content::Status(s)) => {
            assert_eq!(s.code, Code::IllegalTopic as i32)
        }
        other => panic!("expected a status, got {other:?}"),
    }
    // Then the delivery timestamp, as Apache's proxy ends every receive, then the end.
    let last = tokio::time::timeout(CALL_TIMEOUT, stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(
        last.content,
        Some(receive_message_response::Content::DeliveryTimestamp(_))
    ));
    assert!(tokio::time::timeout(CALL_TIMEOUT, stream.message())
        .await
        .unwrap()
        .unwrap()
        .is_none());
    let topic = |name: &str| {
        Some(Resource {
            resource_namespace: String::new(),
            name: name.into(),
        })
    };
    let r = c
        .ack_message(AckMessageRequest {
            group: topic("g1"),
            topic: topic("orders"),
            entries: vec![AckMessageEntry {
                message_id: "01".into(),
                receipt_handle: "not a handle".into(),
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::InvalidReceiptHandle as i32);

    // An RPC not served: NOT_IMPLEMENTED with its name.
    let r = c
        .recall_message(RecallMessageRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::NotImplemented as i32);
    assert!(r.status.unwrap().message.contains("RecallMessage"));

    // A method the service does not have at all: gRPC UNIMPLEMENTED.
    let channel = Channel::from_shared(format!("http://{}", p.grpc.clone().unwrap()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/apache.rocketmq.v2.MessagingService/NoSuchMethod",
    );
    let codec: tonic::codec::ProstCodec<QueryRouteRequest, QueryRouteRequest> =
        tonic::codec::ProstCodec::default();
    let err = grpc
        .unary(Request::new(QueryRouteRequest::default()), path, codec)
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);
}

fn producer_settings(topic: &str) -> Settings {
    Settings {
        client_type: Some(ClientType::Producer as i32),
        pub_sub: Some(PubSub::Publishing(Publishing {
            topics: resource(topic).into_iter().collect(),
            max_body_size: 0,
            validate_message_type: false,
        })),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_settings_first() {
    let p = serve_small(&[]);
    let mut c = connect(&p).await;
    let client_id = unique("rust-grpc-client");

    // Heartbeat before any settings: the proxy's answer.
    let r = c
        .heartbeat(with_client_id(HeartbeatRequest::default(), &client_id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::UnrecognizedClientType as i32);

    // A command without settings is answered (BAD_REQUEST), the stream stays open, and the
    // settings that follow are answered OK with the server's merged settings.
    let (tx, rx) = tokio::sync::mpsc::channel::<TelemetryCommand>(4);
    let mut replies = c
        .telemetry(with_client_id(
            tokio_stream::wrappers::ReceiverStream::new(rx),
            &client_id,
        ))
        .await
        .unwrap()
        .into_inner();
    tx.send(TelemetryCommand::default()).await.unwrap();
    let reply = tokio::time::timeout(CALL_TIMEOUT, replies.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(code_of(&reply.status), Code::BadRequest as i32);
    tx.send(TelemetryCommand {
        status: None,
        command: Some(Command::Settings(producer_settings("any_topic"))),
    })
    .await
    .unwrap();
    let reply = tokio::time::timeout(CALL_TIMEOUT, replies.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(code_of(&reply.status), Code::Ok as i32);
    let Some(Command::Settings(merged)) = reply.command else {
        panic!("settings expected: {reply:?}");
    };
    let Some(PubSub::Publishing(publishing)) = merged.pub_sub else {
        panic!("publishing expected");
    };
    assert_eq!(publishing.max_body_size, 4 * 1024 * 1024);
    assert!(publishing.validate_message_type);

    // Now the heartbeat is recognised.
    let r = c
        .heartbeat(with_client_id(HeartbeatRequest::default(), &client_id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::Ok as i32);

    // Settings with neither publishing nor subscription end the stream with INVALID_ARGUMENT.
    let (tx2, rx2) = tokio::sync::mpsc::channel::<TelemetryCommand>(4);
    let mut replies2 = c
        .telemetry(with_client_id(
            tokio_stream::wrappers::ReceiverStream::new(rx2),
            &unique("other-client"),
        ))
        .await
        .unwrap()
        .into_inner();
    tx2.send(TelemetryCommand {
        status: None,
        command: Some(Command::Settings(Settings {
            client_type: Some(ClientType::Producer as i32),
            ..Default::default()
        })),
    })
    .await
    .unwrap();
    let err = tokio::time::timeout(CALL_TIMEOUT, replies2.message())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);

    // Telemetry without a client id: CLIENT_ID_REQUIRED, then the end.
    let (_tx3, rx3) = tokio::sync::mpsc::channel::<TelemetryCommand>(1);
    let mut replies3 = c
        .telemetry(Request::new(tokio_stream::wrappers::ReceiverStream::new(
            rx3,
        )))
        .await
        .unwrap()
        .into_inner();
    let reply = tokio::time::timeout(CALL_TIMEOUT, replies3.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(code_of(&reply.status), Code::ClientIdRequired as i32);

    // The open stream ends when the server stops (no hang on shutdown).
    drop(c);
    let mut p = p;
    let status = p.stop();
    assert!(status.success(), "{status:?}");
    drop(tx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_plain_text_on_one_port() {
    let p = serve_small(&[]);
    let addr: std::net::SocketAddr = p.grpc.clone().unwrap().parse().unwrap();
    // Any certificate accepted, as the official clients do (the server's is self-signed).
    let tls = petrel_remoting::TlsClientSettings::default()
        .build()
        .unwrap();
    let connector = tower::service_fn(move |_: tonic::codegen::http::Uri| {
        let tls = tls.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let stream = tls.connector.connect(name, tcp).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }
    });
    let channel = Channel::from_static("http://petrel.invalid")
        .timeout(CALL_TIMEOUT)
        .connect_with_connector(connector)
        .await
        .expect("gRPC over TLS");
    let r = MessagingServiceClient::new(channel)
        .query_route(QueryRouteRequest {
            topic: resource("no_such_topic_here"),
            endpoints: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::TopicNotFound as i32);

    // Plain text on the same port still works, and a connection that never speaks does not
    // hold others up.
    let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut c = connect(&p).await;
    let r = c
        .query_route(QueryRouteRequest {
            topic: resource("no_such_topic_here"),
            endpoints: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::TopicNotFound as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_authentication_on_requests_must_be_signed() {
    const ROOT: (&str, &str) = ("root", "root-secret-1");
    let user = format!(
        r#"initAuthenticationUser={{"username":"{}","password":"{}"}}"#,
        ROOT.0, ROOT.1
    );
    let p = serve_small(&[
        "authenticationEnabled=true",
        "authorizationEnabled=true",
        &user,
    ]);
    // A topic, created by the super user over remoting.
    let topic = unique("grpc_auth");
    let admin = petrel_client::Producer::start(
        petrel_client::ClientConfig {
            credentials: Some(petrel_client::SessionCredentials::new(ROOT.0, ROOT.1)),
            ..petrel_client::ClientConfig::new(&p.namesrv)
        },
        petrel_client::ProducerConfig::new(unique("pg")),
    )
    .await
    .unwrap();
    let h = CreateTopicRequestHeader {
        topic: topic.clone(),
        default_topic: "TBW102".into(),
        read_queue_nums: 2,
        write_queue_nums: 2,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        ..Default::default()
    };
    admin
        .instance()
        .invoke_ok(
            &p.broker,
            RemotingCommand::request(rc::UPDATE_AND_CREATE_TOPIC).with_header(&h),
        )
        .await
        .expect("topic created");
    admin.shutdown().await;

    let mut c = connect(&p).await;
    let route = |auth: Option<(&str, &str)>| {
        let date = "20261205T101500Z";
        let mut r = Request::new(QueryRouteRequest {
            topic: resource(&topic),
            endpoints: None,
        });
        r.metadata_mut()
            .insert("x-mq-date-time", date.parse().unwrap());
        if let Some((user, secret)) = auth {
            let sig = petrel_auth::signature::sign_hex(date.as_bytes(), secret);
            let header = format!(
                "MQv2-HMAC-SHA1 Credential={user}, SignedHeaders=x-mq-date-time, Signature={sig}"
            );
            r.metadata_mut()
                .insert("authorization", header.parse().unwrap());
        }
        r
    };
    for (auth, expected) in [
        (None, Code::Unauthorized),
        (Some((ROOT.0, "wrong-secret")), Code::Unauthorized),
        (Some(("nobody", "x")), Code::Unauthorized),
        (Some(ROOT), Code::Ok),
    ] {
        let r = c.query_route(route(auth)).await.unwrap().into_inner();
        assert_eq!(code_of(&r.status), expected as i32, "{auth:?}: {r:?}");
    }
    // An unsigned send is refused before anything is stored.
    let r = c
        .send_message(SendMessageRequest {
            messages: vec![message(&topic, b"x".to_vec(), "01B0")],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::Unauthorized as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_connections_are_closed() {
    let p = serve_small(&["maxConnections=2"]);
    let addr: std::net::SocketAddr = p.grpc.clone().unwrap().parse().unwrap();
    let query = |mut c: MessagingServiceClient<Channel>| async move {
        c.query_route(QueryRouteRequest {
            topic: resource("no_such_topic_here"),
            endpoints: None,
        })
        .await
    };
    // Two connections that never speak hold both places: a third is closed at once.
    let held = [
        tokio::net::TcpStream::connect(addr).await.unwrap(),
        tokio::net::TcpStream::connect(addr).await.unwrap(),
    ];
    let refused = match Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .timeout(CALL_TIMEOUT)
        .connect()
        .await
    {
        Ok(channel) => query(MessagingServiceClient::new(channel)).await.is_err(),
        Err(_) => true,
    };
    assert!(refused, "a third connection was served");
    // Once they go, a client is served again.
    drop(held);
    let deadline = std::time::Instant::now() + CALL_TIMEOUT;
    loop {
        let served = match Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .timeout(CALL_TIMEOUT)
            .connect()
            .await
        {
            Ok(channel) => query(MessagingServiceClient::new(channel)).await.is_ok(),
            Err(_) => false,
        };
        if served {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never served again");
        tokio::task::yield_now().await;
    }
}

/// Receives (ReceiveMessage) until `want` messages came or `within` passed; returns
/// (message id, receipt handle) pairs.
async fn receive_some(
    c: &mut MessagingServiceClient<Channel>,
    topic: &str,
    group: &str,
    want: usize,
    invisible_ms: i64,
    within: Duration,
) -> Vec<(String, String)> {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < want && tokio::time::Instant::now() < deadline {
        let mut stream = c
            .receive_message(ReceiveMessageRequest {
                group: resource(group),
                message_queue: Some(petrel_grpc::pb::MessageQueue {
                    topic: resource(topic),
                    id: -1,
                    ..Default::default()
                }),
                filter_expression: None,
                batch_size: 32,
                invisible_duration: Some(petrel_grpc::prost_types::Duration {
                    seconds: invisible_ms / 1000,
                    nanos: 0,
                }),
                auto_renew: false,
                long_polling_timeout: Some(petrel_grpc::prost_types::Duration {
                    seconds: 1,
                    nanos: 0,
                }),
                attempt_id: None,
            })
            .await
            .unwrap()
            .into_inner();
        while let Some(r) = stream.message().await.unwrap() {
            if let Some(receive_message_response::Content::Message(m)) = r.content {
                let sys = m.system_properties.unwrap();
                got.push((sys.message_id, sys.receipt_handle.unwrap()));
            }
        }
    }
    got
}

async fn ack_all(
    c: &mut MessagingServiceClient<Channel>,
    topic: &str,
    group: &str,
    msgs: &[(String, String)],
) {
    let r = c
        .ack_message(AckMessageRequest {
            group: resource(group),
            topic: resource(topic),
            entries: msgs
                .iter()
                .map(|(id, handle)| AckMessageEntry {
                    message_id: id.clone(),
                    receipt_handle: handle.clone(),
                })
                .collect(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::Ok as i32, "{r:?}");
}

/// POP state across `kill -9`: what a consumer had not acked comes back after a crash, both
/// when the state was saved (exactly the un-acked ones, after their invisible time) and when
/// the crash came before any save (everything not acked before the last save, at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacked_messages_come_back_after_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let sets = ["flushConsumerOffsetInterval=200"];
    let mut p = Petrel::start_in(&data, &sets);
    let mut c = connect(&p).await;
    let topic = unique("grpc_pop_kill");
    let group = unique("grpc_pop_kill_g");
    create_topic(&p, &topic, "NORMAL").await;
    let mut sent = Vec::new();
    for i in 0..40 {
        let id = format!("01{i:030X}");
        let r = c
            .send_message(SendMessageRequest {
                messages: vec![message(&topic, format!("m{i}").into_bytes(), &id)],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code_of(&r.status), Code::Ok as i32, "{r:?}");
        sent.push(id);
    }
    let got = receive_some(&mut c, &topic, &group, 40, 3_000, CALL_TIMEOUT).await;
    assert_eq!(got.len(), 40);
    let (acked, unacked) = got.split_at(25);
    ack_all(&mut c, &topic, &group, acked).await;
    // Let the state be saved (every 200 ms here), then crash.
    tokio::time::sleep(Duration::from_millis(800)).await;
    p.kill9();
    drop(c);

    let p = Petrel::start_in(&data, &sets);
    let mut c = connect(&p).await;
    // Received again with 3 s: whether the next crash finds them saved in flight or not, they
    // come back within seconds.
    let back = receive_some(&mut c, &topic, &group, 15, 3_000, Duration::from_secs(20)).await;
    let mut back_ids: Vec<String> = back.iter().map(|(id, _)| id.clone()).collect();
    back_ids.sort();
    let mut want: Vec<String> = unacked.iter().map(|(id, _)| id.clone()).collect();
    want.sort();
    assert_eq!(back_ids, want, "exactly the un-acked messages come back");
    // A crash before anything is saved: the un-acked come back anyway (at least once: the
    // copies revived since the last save may come twice), and never one acked before it.
    drop(c);
    let mut p = p;
    p.kill9();
    let p = Petrel::start_in(&data, &sets);
    let mut c = connect(&p).await;
    let mut again = receive_some(&mut c, &topic, &group, 15, 60_000, Duration::from_secs(20)).await;
    loop {
        let more = receive_some(&mut c, &topic, &group, 1, 60_000, Duration::from_secs(5)).await;
        if more.is_empty() {
            break;
        }
        again.extend(more);
    }
    let again_ids: std::collections::BTreeSet<String> =
        again.iter().map(|(id, _)| id.clone()).collect();
    let want_ids: std::collections::BTreeSet<String> = want.iter().cloned().collect();
    assert_eq!(
        again_ids, want_ids,
        "the un-acked, all of them, and only them"
    );
    ack_all(&mut c, &topic, &group, &again).await;
    let none = receive_some(&mut c, &topic, &group, 1, 60_000, Duration::from_secs(2)).await;
    assert!(none.is_empty(), "acked messages stay acked: {none:?}");
    drop(sent);
}

/// The v2.0.3 offset RPCs and PullMessage: a client that keeps its own position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_and_pull_for_clients_that_keep_their_position() {
    let p = serve_small(&[]);
    let mut c = connect(&p).await;
    let topic = unique("grpc_pull");
    let group = unique("grpc_pull_g");
    create_topic(&p, &topic, "NORMAL").await;
    // Three messages; find their queue through QueryOffset END.
    for i in 0..3 {
        let r = c
            .send_message(SendMessageRequest {
                messages: vec![message(
                    &topic,
                    format!("p{i}").into_bytes(),
                    &format!("02{i:030X}"),
                )],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code_of(&r.status), Code::Ok as i32, "{r:?}");
    }
    let queue = |id| {
        Some(petrel_grpc::pb::MessageQueue {
            topic: resource(&topic),
            id,
            ..Default::default()
        })
    };
    let mut total = 0;
    let mut pulled = Vec::new();
    for id in 0..4 {
        let end = c
            .query_offset(QueryOffsetRequest {
                message_queue: queue(id),
                query_offset_policy: QueryOffsetPolicy::End as i32,
                timestamp: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code_of(&end.status), Code::Ok as i32);
        total += end.offset;
        if end.offset == 0 {
            continue;
        }
        let mut stream = c
            .pull_message(PullMessageRequest {
                group: resource(&group),
                message_queue: queue(id),
                offset: 0,
                batch_size: 32,
                filter_expression: None,
                long_polling_timeout: None,
            })
            .await
            .unwrap()
            .into_inner();
        let mut next = None;
        while let Some(r) = stream.message().await.unwrap() {
            match r.content {
                Some(pull_message_response::Content::Message(m)) => pulled.push(m.body),
                Some(pull_message_response::Content::NextOffset(n)) => next = Some(n),
                Some(pull_message_response::Content::Status(s)) => {
                    assert_eq!(s.code, Code::Ok as i32, "{s:?}")
                }
                None => {}
            }
        }
        assert_eq!(next, Some(end.offset));
        // The group's position: stored with UpdateOffset, read back with GetOffset.
        let r = c
            .update_offset(UpdateOffsetRequest {
                group: resource(&group),
                message_queue: queue(id),
                offset: end.offset,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code_of(&r.status), Code::Ok as i32);
        let got = c
            .get_offset(GetOffsetRequest {
                group: resource(&group),
                message_queue: queue(id),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (code_of(&got.status), got.offset),
            (Code::Ok as i32, end.offset)
        );
    }
    assert_eq!(total, 3);
    pulled.sort();
    assert_eq!(pulled, [b"p0".to_vec(), b"p1".to_vec(), b"p2".to_vec()]);
    // Bad input: an offset past the end, a queue that does not exist, no offset yet.
    let r = c
        .update_offset(UpdateOffsetRequest {
            group: resource(&group),
            message_queue: queue(0),
            offset: 1_000,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::IllegalOffset as i32);
    let r = c
        .get_offset(GetOffsetRequest {
            group: resource(&unique("nobody")),
            message_queue: queue(9),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::BadRequest as i32);
    let r = c
        .get_offset(GetOffsetRequest {
            group: resource(&unique("nobody")),
            message_queue: queue(0),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::OffsetNotFound as i32);
}
