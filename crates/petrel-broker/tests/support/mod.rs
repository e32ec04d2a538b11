//! What the broker's integration tests share: a broker on 127.0.0.1 (ephemeral port, small
//! store files), builders for the requests clients send, and bounded waits for what the store
//! makes visible asynchronously (dispatch runs just after a send is acknowledged).
//!
//! Each test file is its own crate and uses only part of this, hence `dead_code` is allowed.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use petrel_broker::{Broker, BrokerConfig, BrokerError};
use petrel_protocol::message::{Properties, RecordView};
use petrel_protocol::pull_sys_flag;
use petrel_protocol::remoting::header::{
    CreateTopicRequestHeader, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader,
    PullMessageRequestHeader, SendMessageRequestHeader,
};
use petrel_protocol::remoting::SerializeType;
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_protocol::topic::AUTO_CREATE_TOPIC_KEY_TOPIC;
use petrel_remoting::{RemotingClient, RemotingConfig};

/// How long any one request or wait may take.
pub const T: Duration = Duration::from_secs(10);

/// CommitLog segment size of test brokers: 4 MiB, plus room for the largest test message
/// (128 KiB) so that the segment holds what a test sends without rolling over.
pub const COMMIT_LOG_SEGMENT_BYTES: u64 = 4 * 1024 * 1024 + 128 * 1024;

/// `born_timestamp` of test messages (2023-11-14): any fixed time will do.
pub const BORN_MS: i64 = 1_700_000_000_000;

/// A broker config for tests: 127.0.0.1, an ephemeral port, small files in `dir`.
pub fn config(dir: &Path) -> BrokerConfig {
    let mut config = BrokerConfig::new(dir);
    config.bind_address = "127.0.0.1".parse().unwrap();
    config.listen_port = 0;
    config.store.mapped_file_size_commit_log = COMMIT_LOG_SEGMENT_BYTES;
    config.store.mapped_file_size_consume_queue = 20 * 1000;
    config.store.max_hash_slot_num = 1000;
    config.store.max_index_num = 4000;
    config
}

/// Starts a test broker in `dir`, after `adjust` changes its config.
pub async fn start(dir: &Path, adjust: impl FnOnce(&mut BrokerConfig)) -> Broker {
    try_start(dir, adjust).await.unwrap()
}

/// [`start`], for tests that expect it to fail.
pub async fn try_start(
    dir: &Path,
    adjust: impl FnOnce(&mut BrokerConfig),
) -> Result<Broker, BrokerError> {
    let mut config = config(dir);
    adjust(&mut config);
    Broker::start(config).await
}

/// Starts a test broker on a fresh data directory, after `adjust` changes its config. Returns
/// the broker, the address to send requests to (`ip:port`), a client, and the data directory,
/// which is removed when dropped: bind it (`_dir`, not `_`) for as long as the broker runs.
pub async fn running(
    adjust: impl FnOnce(&mut BrokerConfig),
) -> (Broker, String, RemotingClient, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), adjust).await;
    let addr = broker.local_addr().to_string();
    (broker, addr, client(), dir)
}

/// PULL_MESSAGE with `header`.
pub fn pull_with(header: &PullMessageRequestHeader) -> RemotingCommand {
    RemotingCommand::request(rc::PULL_MESSAGE).with_header(header)
}

/// A remoting client, as a producer, consumer or admin tool has.
pub fn client() -> RemotingClient {
    RemotingClient::new(RemotingConfig::default(), None)
}

/// A properties string.
pub fn props(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<Properties>()
        .encode()
}

/// A producer's send header (group `pg`, template `TBW102` with 4 queues).
pub fn send_header(topic: &str, queue_id: i32, props: &str) -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: AUTO_CREATE_TOPIC_KEY_TOPIC.into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: BORN_MS,
        flag: 0,
        properties: Some(props.to_string()),
        ..Default::default()
    }
}

/// SEND_MESSAGE with `header`.
pub fn send_with(header: &SendMessageRequestHeader, body: &str) -> RemotingCommand {
    let mut req = RemotingCommand::request(rc::SEND_MESSAGE);
    header.encode_v1(&mut req.ext_fields);
    req.with_body(Bytes::from(body.to_string()))
}

/// SEND_MESSAGE (named header fields).
pub fn send_v1(topic: &str, queue_id: i32, body: &str, props: &str) -> RemotingCommand {
    send_with(&send_header(topic, queue_id, props), body)
}

/// SEND_MESSAGE_V2 (one-letter header fields, RocketMQ's binary header).
pub fn send_v2(topic: &str, queue_id: i32, body: &str, props: &str) -> RemotingCommand {
    let mut req = RemotingCommand::request(rc::SEND_MESSAGE_V2);
    send_header(topic, queue_id, props).encode_v2(&mut req.ext_fields);
    req.serialize_type = SerializeType::RocketMq;
    req.with_body(Bytes::from(body.to_string()))
}

/// A consumer's pull header: up to 32 messages, a TAG subscription given in the request.
pub fn pull_header(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    subscription: &str,
) -> PullMessageRequestHeader {
    PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: pull_sys_flag::FLAG_SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some(subscription.into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        ..Default::default()
    }
}

/// PULL_MESSAGE that may be held up to `suspend_ms` (long polling).
pub fn pull(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    suspend_ms: i64,
    subscription: &str,
) -> RemotingCommand {
    let mut header = pull_header(group, topic, queue_id, offset, subscription);
    header.sys_flag |= pull_sys_flag::FLAG_SUSPEND;
    header.suspend_timeout_millis = suspend_ms;
    pull_with(&header)
}

/// Sends `request` and insists on SUCCESS.
pub async fn call(
    client: &RemotingClient,
    addr: &str,
    request: RemotingCommand,
) -> RemotingCommand {
    let name = request.code_name();
    let r = client.invoke(addr, request, T).await.unwrap();
    assert_eq!(r.code, code::SUCCESS, "{name}: {:?}", r.remark);
    r
}

/// Creates (or updates) `topic` with `queue_nums` read and write queues and `perm` (4 read,
/// 2 write), as mqadmin `updateTopic` does.
pub async fn create_topic(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    queue_nums: i32,
    perm: i32,
) {
    let create = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: AUTO_CREATE_TOPIC_KEY_TOPIC.into(),
        read_queue_nums: queue_nums,
        write_queue_nums: queue_nums,
        perm,
        topic_filter_type: "SINGLE_TAG".into(),
        ..Default::default()
    };
    call(
        client,
        addr,
        RemotingCommand::request(rc::UPDATE_AND_CREATE_TOPIC).with_header(&create),
    )
    .await;
}

/// The queue's max offset (GET_MAX_OFFSET).
pub async fn max_offset(client: &RemotingClient, addr: &str, topic: &str, queue_id: i32) -> i64 {
    let h = GetMaxOffsetRequestHeader {
        topic: topic.into(),
        queue_id,
        ..Default::default()
    };
    let r = call(
        client,
        addr,
        RemotingCommand::request(rc::GET_MAX_OFFSET).with_header(&h),
    )
    .await;
    r.decode_header::<GetMaxOffsetResponseHeader>()
        .unwrap()
        .offset
}

/// Waits until `topic`/`queue_id` holds `n` messages, at most `timeout`; returns when.
pub async fn wait_for(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    queue_id: i32,
    n: i64,
    timeout: Duration,
) -> Instant {
    let deadline = Instant::now() + timeout;
    loop {
        let has = max_offset(client, addr, topic, queue_id).await;
        if has >= n {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "{topic}/{queue_id} never reached {n} messages (has {has})"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// [`wait_for`] with the usual bound: dispatch runs just after a send is acknowledged.
pub async fn wait_visible(client: &RemotingClient, addr: &str, topic: &str, queue_id: i32, n: i64) {
    wait_for(client, addr, topic, queue_id, n, T).await;
}

/// The stored records of a pull or query response body.
pub fn records(body: &[u8]) -> Vec<RecordView<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let view = RecordView::parse(&body[at..]).unwrap();
        at += view.total_size();
        out.push(view);
    }
    out
}

/// A record's body as text.
pub fn body_text(view: &RecordView<'_>) -> String {
    String::from_utf8(view.body().to_vec()).unwrap()
}

/// A record's properties.
pub fn properties_of(view: &RecordView<'_>) -> Properties {
    Properties::decode(view.properties()).unwrap()
}
