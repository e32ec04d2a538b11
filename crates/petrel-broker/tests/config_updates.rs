//! UPDATE_BROKER_CONFIG (25, `mqadmin updateBrokerConfig`) over real sockets: the keys Petrel
//! reads while running take effect at once and are kept for the next start; any other change is
//! refused whole, naming the key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use petrel_broker::BrokerConfig;
use petrel_protocol::remoting::body::{DataVersion, JsonBody};
use petrel_protocol::remoting::header::GetBrokerConfigResponseHeader;
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_remoting::RemotingClient;
use support::{call, pull, send_v1, start, T};

fn update(body: &'static str) -> RemotingCommand {
    RemotingCommand::request(rc::UPDATE_BROKER_CONFIG)
        .with_body(Bytes::from_static(body.as_bytes()))
}

/// The broker's config text and its data version counter.
async fn config_of(client: &RemotingClient, addr: &str) -> (String, i64) {
    let r = call(
        client,
        addr,
        RemotingCommand::request(rc::GET_BROKER_CONFIG),
    )
    .await;
    let version = r
        .decode_header::<GetBrokerConfigResponseHeader>()
        .unwrap()
        .version;
    let counter = DataVersion::decode(version.as_bytes()).unwrap().counter;
    (String::from_utf8(r.body.to_vec()).unwrap(), counter)
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[tokio::test]
async fn runtime_keys_apply_at_once_and_are_kept_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), |_| {}).await;
    let addr = broker.local_addr().to_string();
    let client = support::client();

    call(
        &client,
        &addr,
        update("longPollingEnable=false\nshortPollingTimeMills=50\n"),
    )
    .await;
    let (text, counter) = config_of(&client, &addr).await;
    assert!(has_line(&text, "longPollingEnable=false"), "{text}");
    assert!(has_line(&text, "shortPollingTimeMills=50"));
    assert_eq!(counter, 1);

    // A pull that asks to wait 5 s on an empty queue is held only shortPollingTimeMills now.
    call(&client, &addr, send_v1("Orders", 0, "m", "")).await;
    support::wait_visible(&client, &addr, "Orders", 0, 1).await;
    let started = Instant::now();
    let r = client
        .invoke(&addr, pull("cg", "Orders", 0, 1, 5_000, "*"), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::PULL_NOT_FOUND);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Kept in config/brokerUpdates.properties, read at the next start over broker.conf.
    broker.shutdown().await.unwrap();
    let saved =
        std::fs::read_to_string(dir.path().join("config/brokerUpdates.properties")).unwrap();
    assert!(has_line(&saved, "longPollingEnable=false"), "{saved}");
    let loaded = BrokerConfig::load(None, &[], dir.path()).unwrap();
    assert!(!loaded.config.long_polling_enable);
    assert_eq!(loaded.config.short_polling_time_ms, 50);
    assert!(loaded
        .warnings()
        .iter()
        .any(|w| w.contains("longPollingEnable=false")));
    // --set still wins over a saved change.
    let loaded = BrokerConfig::load(None, &["longPollingEnable=true".into()], dir.path()).unwrap();
    assert!(loaded.config.long_polling_enable);
}

#[tokio::test]
async fn other_changes_are_refused_whole_naming_the_key() {
    let (broker, addr, client, _dir) = support::running(|_| {}).await;

    // The value a start-only key already has: nothing to change, as mqadmin's everyday use.
    call(&client, &addr, update("fileReservedTime=72\n")).await;

    let refused = |body: &'static str| {
        let client = &client;
        let addr = &addr;
        async move { client.invoke(addr, update(body), T).await.unwrap() }
    };
    let r = refused("longPollingEnable=false\nfileReservedTime=24\n").await;
    assert_eq!(r.code, code::INVALID_PARAMETER);
    let remark = r.remark.unwrap();
    assert!(
        remark.contains("fileReservedTime") && remark.contains("restart"),
        "{remark}"
    );
    let r = refused("noSuchKey=1\n").await;
    assert_eq!(r.code, code::INVALID_PARAMETER);
    assert!(r
        .remark
        .unwrap()
        .contains("unknown broker config key noSuchKey"));
    let r = refused("sendMessageThreadPoolNums=4\n").await;
    assert_eq!(r.code, code::INVALID_PARAMETER);
    assert!(r.remark.unwrap().contains("does not act on it"));
    let r = refused("maxTransferCountOnMessageInMemory=0\n").await;
    assert_eq!(r.code, code::INVALID_PARAMETER);
    assert!(r
        .remark
        .unwrap()
        .contains("maxTransferCountOnMessageInMemory"));
    // RocketMQ's black list, with RocketMQ's answer.
    let r = refused("brokerConfigPath=/tmp/x\n").await;
    assert_eq!(r.code, code::NO_PERMISSION);
    assert_eq!(
        r.remark.as_deref(),
        Some("Can not update config in black list.")
    );

    let (text, counter) = config_of(&client, &addr).await;
    assert_eq!(counter, 0, "nothing was applied");
    assert!(has_line(&text, "longPollingEnable=true"));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn broker_permission_stops_sends_or_pulls_while_running() {
    let (broker, addr, client, _dir) = support::running(|_| {}).await;
    call(&client, &addr, send_v1("Orders", 0, "m", "")).await;
    support::wait_visible(&client, &addr, "Orders", 0, 1).await;

    // Read-only: sends refused, pulls served.
    call(&client, &addr, update("brokerPermission=4\n")).await;
    let r = client
        .invoke(&addr, send_v1("Orders", 0, "m", ""), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::NO_PERMISSION);
    assert_eq!(
        r.remark.as_deref(),
        Some("the broker[broker-a] sending message is forbidden")
    );
    call(&client, &addr, pull("cg", "Orders", 0, 0, 0, "*")).await;

    // Write-only: pulls refused.
    call(&client, &addr, update("brokerPermission=2\n")).await;
    let r = client
        .invoke(&addr, pull("cg", "Orders", 0, 0, 0, "*"), T)
        .await
        .unwrap();
    assert_eq!(r.code, code::NO_PERMISSION);
    assert_eq!(
        r.remark.as_deref(),
        Some("the broker[broker-a] pulling message is forbidden")
    );

    call(&client, &addr, update("brokerPermission=6\n")).await;
    call(&client, &addr, send_v1("Orders", 0, "m", "")).await;
    broker.shutdown().await.unwrap();
}
