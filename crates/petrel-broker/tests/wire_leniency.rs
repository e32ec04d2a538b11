//! The broker at the byte level: frames as C++-family clients write them (numbers in
//! extFields, "0"/"1" booleans, enum ordinals, numbers as strings in JSON bodies, no
//! serializeTypeCurrentRPC), a C++-family consumer receiving messages, garbage that must close
//! only its own connection, and the fast port (listenPort - 2).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::time::Duration;

use petrel_broker::Broker;
use petrel_protocol::remoting::header::SendMessageResponseHeader;
use petrel_protocol::remoting::{response_code as code, RemotingCommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A test broker listening on `listen_port` (0: ephemeral).
async fn start(
    dir: &std::path::Path,
    listen_port: u16,
) -> Result<Broker, petrel_broker::BrokerError> {
    support::try_start(dir, |config| config.listen_port = listen_port).await
}

/// A frame with a JSON header written by hand.
fn json_frame(header: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((4 + header.len() + body.len()) as i32).to_be_bytes());
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

/// Reads the next response, skipping requests the broker sends us (e.g. it tells a new consumer
/// to rebalance with NOTIFY_CONSUMER_IDS_CHANGED).
async fn read_response(stream: &mut TcpStream) -> RemotingCommand {
    loop {
        let frame = read_frame(stream).await;
        if frame.is_response() {
            return frame;
        }
    }
}

async fn read_frame(stream: &mut TcpStream) -> RemotingCommand {
    let mut len = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut len))
        .await
        .expect("response in time")
        .unwrap();
    let n = i32::from_be_bytes(len) as usize;
    let mut rest = vec![0u8; n];
    stream.read_exact(&mut rest).await.unwrap();
    let mut frame = len.to_vec();
    frame.extend_from_slice(&rest);
    RemotingCommand::decode(frame.into()).unwrap()
}

#[tokio::test]
async fn frames_in_the_cpp_client_style_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), 0).await.unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();

    // SEND_MESSAGE with numbers and "0"/"1" booleans in extFields, language CPP, no
    // serializeTypeCurrentRPC.
    let send = r#"{"code":10,"language":"CPP","version":0,"opaque":7,"flag":0,"remark":"","extFields":{"producerGroup":"cpp_pg","topic":"CppTopic","defaultTopic":"TBW102","defaultTopicQueueNums":4,"queueId":1,"sysFlag":0,"bornTimestamp":1700000000000,"flag":0,"properties":"TAGS\u0001T\u0002","reconsumeTimes":0,"unitMode":"0","batch":false}}"#;
    s.write_all(&json_frame(send, b"from a C++ client"))
        .await
        .unwrap();
    let r = read_response(&mut s).await;
    assert_eq!((r.code, r.opaque), (code::SUCCESS, 7), "{:?}", r.remark);
    assert!(r.is_response());
    let h = r.decode_header::<SendMessageResponseHeader>().unwrap();
    assert_eq!(h.queue_id, 1);

    // HEART_BEAT whose body uses enum ordinals (consumeType 1 = CONSUME_PASSIVELY,
    // messageModel 1 = CLUSTERING, consumeFromWhere 4 = CONSUME_FROM_FIRST_OFFSET).
    let heartbeat_body = br#"{"clientID":"cpp-client","consumerDataSet":[{"groupName":"cpp_cg","consumeType":1,"messageModel":1,"consumeFromWhere":4,"subscriptionDataSet":[{"topic":"CppTopic","subString":"*","classFilterMode":false,"tagsSet":[],"codeSet":[],"subVersion":1}],"unitMode":false}],"producerDataSet":[{"groupName":"cpp_pg"}]}"#;
    let hb = r#"{"code":34,"language":"CPP","version":0,"opaque":8,"flag":0}"#;
    s.write_all(&json_frame(hb, heartbeat_body)).await.unwrap();
    let r = read_response(&mut s).await;
    assert_eq!((r.code, r.opaque), (code::SUCCESS, 8), "{:?}", r.remark);

    // The consumer is registered: GET_CONSUMER_LIST_BY_GROUP with a numeric-free header.
    let list = r#"{"code":38,"language":"CPP","version":0,"opaque":9,"flag":0,"extFields":{"consumerGroup":"cpp_cg"}}"#;
    s.write_all(&json_frame(list, b"")).await.unwrap();
    let r = read_response(&mut s).await;
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"consumerIdList":["cpp-client"]}"#
    );

    // A oneway request gets no response: the next response is for the request after it.
    let oneway = r#"{"code":15,"language":"CPP","version":0,"opaque":10,"flag":2,"extFields":{"consumerGroup":"cpp_cg","topic":"CppTopic","queueId":1,"commitOffset":1}}"#;
    let query = r#"{"code":14,"language":"CPP","version":0,"opaque":11,"flag":0,"extFields":{"consumerGroup":"cpp_cg","topic":"CppTopic","queueId":1}}"#;
    s.write_all(&json_frame(oneway, b"")).await.unwrap();
    s.write_all(&json_frame(query, b"")).await.unwrap();
    let r = read_response(&mut s).await;
    assert_eq!((r.code, r.opaque), (code::SUCCESS, 11), "{:?}", r.remark);
    assert_eq!(r.ext_fields.get("offset"), Some("1"));
    broker.shutdown().await.unwrap();
}

/// A consumer of the C++ client family (behind the Python, Go-cgo and PHP clients) registers
/// with the heartbeat it really writes (jsoncpp: `subVersion` as a string), then pulls without
/// a subscription in the request, as it does: the broker filters by the subscription the
/// heartbeat registered and the consumer receives what the producer sent, tags TagA and TagB.
#[tokio::test]
async fn a_cpp_family_consumer_registered_by_its_heartbeat_receives_messages() {
    let (broker, addr, producer, _dir) = support::running(|_| {}).await;
    support::create_topic(&producer, &addr, "CppTopic", 1, 6).await;
    for tag in ["TagA", "TagB", "TagC"] {
        let props = support::props(&[("TAGS", tag)]);
        support::call(
            &producer,
            &addr,
            support::send_v1("CppTopic", 0, tag, &props),
        )
        .await;
    }
    support::wait_visible(&producer, &addr, "CppTopic", 0, 3).await;

    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    // The golden heartbeat body of `decodes_a_cpp_client_heartbeat_with_numbers_in_strings`.
    let heartbeat_body = b"{\"clientID\":\"10.0.0.5@31337#1795500287\",\"consumerDataSet\":[{\"consumeFromWhere\":\"CONSUME_FROM_LAST_OFFSET\",\"consumeType\":\"CONSUME_PASSIVELY\",\"groupName\":\"cpp_cg\",\"messageModel\":\"CLUSTERING\",\"subscriptionDataSet\":[{\"codeSet\":[2598919,2598920],\"subString\":\"TagA||TagB\",\"subVersion\":\"1795500287276\",\"tagsSet\":[\"TagA\",\"TagB\"],\"topic\":\"CppTopic\"},{\"subString\":\"*\",\"subVersion\":\"1795500287277\",\"topic\":\"%RETRY%cpp_cg\"}]}],\"producerDataSet\":[{\"groupName\":\"CLIENT_INNER_PRODUCER\"}]}\n";
    let hb = r#"{"code":34,"language":"CPP","version":409,"opaque":1,"flag":0,"remark":"","extFields":{}}"#;
    s.write_all(&json_frame(hb, heartbeat_body)).await.unwrap();
    let r = read_response(&mut s).await;
    assert_eq!((r.code, r.opaque), (code::SUCCESS, 1), "{:?}", r.remark);

    // PULL_MESSAGE as the C++ client writes it: every number a string, sysFlag 2 (suspend,
    // no subscription in the request).
    let pull = r#"{"code":11,"language":"CPP","version":409,"opaque":2,"flag":0,"remark":"","extFields":{"consumerGroup":"cpp_cg","topic":"CppTopic","queueId":"0","queueOffset":"0","maxMsgNums":"32","sysFlag":"2","commitOffset":"0","suspendTimeoutMillis":"1000","subVersion":"1795500287276"}}"#;
    s.write_all(&json_frame(pull, b"")).await.unwrap();
    let r = read_response(&mut s).await;
    assert_eq!((r.code, r.opaque), (code::SUCCESS, 2), "{:?}", r.remark);
    let bodies: Vec<String> = support::records(&r.body)
        .iter()
        .map(support::body_text)
        .collect();
    assert_eq!(bodies, ["TagA", "TagB"]);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn garbage_closes_only_its_own_connection() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), 0).await.unwrap();
    let mut good = TcpStream::connect(broker.local_addr()).await.unwrap();
    for garbage in [
        (64 * 1024 * 1024i32).to_be_bytes().to_vec(),
        (-1i32).to_be_bytes().to_vec(),
        json_frame("{this is not json", b""),
        json_frame(r#"{"code":"ten"}"#, b""),
    ] {
        let mut bad = TcpStream::connect(broker.local_addr()).await.unwrap();
        bad.write_all(&garbage).await.unwrap();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(10), bad.read(&mut buf))
            .await
            .expect("closed in time");
        assert!(
            matches!(n, Ok(0) | Err(_)),
            "connection not closed after {garbage:?}"
        );
        // The well-behaved connection is still served.
        let q = r#"{"code":30,"language":"JAVA","version":479,"opaque":1,"flag":0,"extFields":{"topic":"X","queueId":"0"}}"#;
        good.write_all(&json_frame(q, b"")).await.unwrap();
        assert_eq!(read_response(&mut good).await.code, code::SUCCESS);
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_fast_port_is_listen_port_minus_two() {
    let dir = tempfile::tempdir().unwrap();
    // Find a port P with P and P-2 free; another process may take them meanwhile, so retry.
    let mut started = None;
    for _ in 0..20 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = probe.local_addr().unwrap().port();
        drop(probe);
        if p < 1026 || std::net::TcpListener::bind(("127.0.0.1", p - 2)).is_err() {
            continue;
        }
        if let Ok(b) = start(dir.path(), p).await {
            started = Some((b, p));
            break;
        }
    }
    let (broker, port) = started.expect("no free port pair found");
    assert_eq!(broker.fast_addr().unwrap().port(), port - 2);
    let mut s = TcpStream::connect(broker.fast_addr().unwrap())
        .await
        .unwrap();
    let q = r#"{"code":30,"language":"JAVA","version":479,"opaque":3,"flag":0,"extFields":{"topic":"X","queueId":"0"}}"#;
    s.write_all(&json_frame(q, b"")).await.unwrap();
    assert_eq!(read_response(&mut s).await.code, code::SUCCESS);
    // A taken port is a clear error.
    let dir2 = tempfile::tempdir().unwrap();
    let err = start(dir2.path(), port).await.err().expect("port in use");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
    broker.shutdown().await.unwrap();
}
