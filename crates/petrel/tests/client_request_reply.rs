//! Request-reply against a real `petrel serve`: `Producer::request` waits for the reply that a
//! consumer sends with `create_reply_message`; concurrent requests each get their own reply; a
//! request nobody answers times out; a reply to a requester that is gone fails clearly; replies
//! are also stored in `{cluster}_REPLY_TOPIC` (storeReplyMessageEnable) unless turned off.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use petrel_client::consumer::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFromWhere, PushConsumer,
    PushConsumerConfig, Selector,
};
use petrel_client::message::create_reply_message;
use petrel_client::{ClientConfig, ClientError, Message, MessageExt, Producer};
use petrel_protocol::message::properties as prop;
use petrel_protocol::remoting::response_code as code;
use support::client::{create_topic, producer, read_queue, serve_small};
use support::{unique, Petrel};

const WAIT: Duration = Duration::from_secs(30);

/// A consumer of `topic` that answers each request with `re:` + its body, sent by `replier`.
async fn start_replier(p: &Petrel, topic: &str, replier: Arc<Producer>) -> PushConsumer {
    let mut cfg = PushConsumerConfig::new(unique("replier"));
    cfg.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    cfg.broker_suspend_max_time = Duration::from_secs(2);
    let rt = tokio::runtime::Handle::current();
    PushConsumer::builder(ClientConfig::new(&p.namesrv), cfg)
        .subscribe(topic, Selector::all())
        .listener_concurrently(
            move |msgs: &[MessageExt], _: &mut ConsumeConcurrentlyContext| {
                for m in msgs {
                    let mut body = b"re:".to_vec();
                    body.extend_from_slice(&m.body);
                    let reply = create_reply_message(m, body).expect("a request message");
                    let replier = Arc::clone(&replier);
                    rt.spawn(async move {
                        if let Err(e) = replier.send(reply).await {
                            panic!("sending a reply failed: {e}");
                        }
                    });
                }
                ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .expect("replier starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_get_their_own_replies_which_are_also_stored() {
    let p = serve_small(&[]);
    let requester = Arc::new(producer(&p).await);
    let topic = unique("ReqT");
    create_topic(&p, &requester, &topic, 2).await;
    let replier = Arc::new(producer(&p).await);
    let consumer = start_replier(&p, &topic, Arc::clone(&replier)).await;

    // One request, then 20 at once: each reply matches its request.
    let reply = requester
        .request(Message::new(&topic, "ping"), WAIT)
        .await
        .expect("a reply");
    assert_eq!(&reply.body[..], b"re:ping");
    assert_eq!(
        reply.topic,
        petrel_protocol::topic::reply_topic("DefaultCluster")
    );
    assert_eq!(reply.property(prop::MESSAGE_TYPE), Some("reply"));
    assert_eq!(
        reply.property(prop::MESSAGE_REPLY_TO_CLIENT),
        Some(requester.instance().client_id())
    );
    assert!(reply.property(prop::CORRELATION_ID).is_some());
    assert!(reply.property(prop::REPLY_MESSAGE_ARRIVE_TIME).is_some());
    assert!(reply.property(prop::PUSH_REPLY_TIME).is_some());

    let mut handles = Vec::new();
    for i in 0..20 {
        let requester = Arc::clone(&requester);
        let topic = topic.clone();
        handles.push(tokio::spawn(async move {
            let r = requester
                .request(Message::new(&topic, format!("q{i}")), WAIT)
                .await
                .expect("a reply");
            (i, String::from_utf8(r.body.to_vec()).unwrap())
        }));
    }
    for h in handles {
        let (i, body) = h.await.unwrap();
        assert_eq!(body, format!("re:q{i}"));
    }

    // Through a queue the selector picks, and with a callback.
    let reply = requester
        .request_with_selector(Message::new(&topic, "sel"), |_, _| 1, WAIT)
        .await
        .unwrap();
    assert_eq!(&reply.body[..], b"re:sel");
    assert!(
        read_queue(&p, &requester, &topic, 1)
            .await
            .iter()
            .any(|m| &m.body[..] == b"sel"),
        "the request went to queue 1"
    );
    let (tx, rx) = tokio::sync::oneshot::channel();
    requester.request_with_callback(Message::new(&topic, "cb"), WAIT, move |r| {
        let _ = tx.send(r);
    });
    let reply = tokio::time::timeout(WAIT, rx)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(&reply.body[..], b"re:cb");

    // A big request is compressed on the way in and its reply on the way back.
    let big = "x".repeat(64 * 1024);
    let reply = requester
        .request(Message::new(&topic, big.clone()), WAIT)
        .await
        .unwrap();
    assert_eq!(reply.body.len(), big.len() + 3);

    // The replies are stored too (storeReplyMessageEnable defaults to true).
    let stored = read_queue(
        &p,
        &requester,
        &petrel_protocol::topic::reply_topic("DefaultCluster"),
        0,
    )
    .await;
    assert_eq!(stored.len(), 24, "every reply stored in the reply topic");
    assert!(stored.iter().all(|m| m.body.starts_with(b"re:")));

    consumer.shutdown().await;
    replier.shutdown().await;
    requester.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_requests_time_out_and_orphan_replies_fail_clearly() {
    let p = serve_small(&["storeReplyMessageEnable=false"]);
    let requester = producer(&p).await;
    let topic = unique("ReqNobody");
    create_topic(&p, &requester, &topic, 2).await;

    // Nobody consumes the topic: the request is stored, and its wait ends at the timeout.
    let started = Instant::now();
    let err = requester
        .request(
            Message::new(&topic, "anyone?"),
            Duration::from_millis(1_500),
        )
        .await
        .expect_err("no reply");
    let elapsed = started.elapsed();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("waiting for the reply"), "{err}");
    assert!(
        elapsed >= Duration::from_millis(1_400) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    let request_msg = read_queue(&p, &requester, &topic, 0)
        .await
        .into_iter()
        .chain(read_queue(&p, &requester, &topic, 1).await)
        .next()
        .expect("the request was stored");
    assert_eq!(request_msg.property(prop::MESSAGE_TTL), Some("1500"));
    assert_eq!(request_msg.property(prop::CLUSTER), Some("DefaultCluster"));

    // Replying to it now: the requester no longer waits, but it is still connected, so the
    // push succeeds and the reply is dropped on the requester's side.
    let replier = producer(&p).await;
    let reply = create_reply_message(&request_msg, "late").unwrap();
    replier
        .send(reply)
        .await
        .expect("pushed to a connected requester");

    // A reply to a client that is not connected fails with the reason.
    let mut orphan = create_reply_message(&request_msg, "to nobody").unwrap();
    orphan
        .properties
        .insert(prop::MESSAGE_REPLY_TO_CLIENT, "10.9.9.9@gone");
    let err = replier.send(orphan).await.expect_err("no such requester");
    assert_eq!(err.response_code(), Some(code::SYSTEM_ERROR), "{err}");
    assert!(err.to_string().contains("10.9.9.9@gone"), "{err}");

    // Nothing was stored in the reply topic (storeReplyMessageEnable=false).
    assert!(read_queue(
        &p,
        &replier,
        &petrel_protocol::topic::reply_topic("DefaultCluster"),
        0
    )
    .await
    .is_empty());

    // A message that is not a request cannot be replied to.
    let mut plain = request_msg.clone();
    plain.properties.remove(prop::MESSAGE_REPLY_TO_CLIENT);
    assert!(create_reply_message(&plain, "x").is_err());
    replier.shutdown().await;
    requester.shutdown().await;
}
