//! Controller mode with real processes: three `petrel controller`s, a name server and brokers
//! of one broker name with `enableControllerMode=true`, on any local address (loopback, or a
//! veth address for tests that cut links between network namespaces); the controllers' view
//! (leader, master, SyncStateSet) and a continuous sync producer.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use petrel_client::{ClientConfig, Message, Producer, ProducerConfig, SendStatus};
use petrel_protocol::remoting::body::{JsonBody, SyncStateSet};
use petrel_protocol::remoting::header::{
    GetMetaDataResponseHeader, GetReplicaInfoRequestHeader, GetReplicaInfoResponseHeader,
};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use petrel_remoting::{RemotingClient, RemotingConfig};

use super::cluster::Node;
use super::unique;

pub const WAIT: Duration = Duration::from_secs(60);
pub const BROKER_NAME: &str = "broker-fo";

/// A port on `ip` with `p - 2` (the fast port) and `p + 1` (the HA port) free too.
pub fn free_broker_port(ip: &str) -> u16 {
    for _ in 0..200 {
        let l = TcpListener::bind((ip, 0)).unwrap();
        let p = l.local_addr().unwrap().port();
        if !(1100..=65_000).contains(&p) {
            continue;
        }
        if [p - 2, p + 1]
            .iter()
            .all(|q| TcpListener::bind((ip, *q)).is_ok())
        {
            return p;
        }
    }
    panic!("no free port triple on {ip}");
}

pub fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Three `petrel controller`s on `ip`, their configs and stores under `dir`.
pub fn start_controllers(ip: &str, dir: &Path) -> (Vec<Node>, Vec<String>) {
    let ports: Vec<u16> = (0..3).map(|_| free_port(ip)).collect();
    let peers = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("n{i}-{ip}:{p}"))
        .collect::<Vec<_>>()
        .join(";");
    let addrs: Vec<String> = ports.iter().map(|p| format!("{ip}:{p}")).collect();
    let nodes = (0..3)
        .map(|i| {
            let conf = dir.join(format!("controller-n{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "controllerDLegerGroup = group1\ncontrollerDLegerPeers = {peers}\n\
                     controllerDLegerSelfId = n{i}\ncontrollerStorePath = {}\n\
                     scanNotActiveBrokerInterval = 500\n",
                    dir.join(format!("controller-n{i}")).display()
                ),
            )
            .unwrap();
            Node::spawn(vec![
                "controller".into(),
                "--config".into(),
                conf.display().to_string(),
            ])
        })
        .collect();
    (nodes, addrs)
}

/// A controller-mode broker of [`BROKER_NAME`] on `ip` (under `wrapper`, e.g. in a network
/// namespace), with `allAckInSyncStateSet=true` and short timeouts.
pub fn start_broker(
    wrapper: Vec<String>,
    ip: &str,
    namesrv: &str,
    data_dir: &Path,
    controllers: &[String],
) -> Node {
    // A fresh network namespace (a wrapper) has every port free; its address is not ours.
    let port = if wrapper.is_empty() {
        free_broker_port(ip)
    } else {
        20_911
    };
    let mut args: Vec<String> = vec![
        "broker".into(),
        "--listen".into(),
        format!("{ip}:{port}"),
        "--namesrv".into(),
        namesrv.into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--grpc-listen".into(),
        "off".into(),
    ];
    for s in [
        "mappedFileSizeCommitLog=8388608".to_string(),
        "maxHashSlotNum=50000".into(),
        "maxIndexNum=200000".into(),
        format!("brokerName={BROKER_NAME}"),
        "enableControllerMode=true".into(),
        format!("controllerAddr={}", controllers.join(";")),
        "allAckInSyncStateSet=true".into(),
        "controllerHeartBeatTimeoutMills=5000".into(),
        "haSendHeartbeatInterval=500".into(),
        "haHousekeepingInterval=3000".into(),
        format!("brokerIP1={ip}"),
    ] {
        args.push("--set".into());
        args.push(s);
    }
    let mut node = Node::spawn_wrapped(wrapper, args);
    node.data_dir = Some(data_dir.to_path_buf());
    node
}

pub fn remoting() -> RemotingClient {
    RemotingClient::new(RemotingConfig::default(), None)
}

/// The controller leader's address, asked of every controller that answers.
pub async fn leader(client: &RemotingClient, controllers: &[String]) -> Option<String> {
    for addr in controllers {
        let r = client
            .invoke(
                addr,
                RemotingCommand::request(rc::CONTROLLER_GET_METADATA_INFO),
                Duration::from_secs(1),
            )
            .await;
        if let Ok(r) = r {
            if let Ok(h) = r.decode_header::<GetMetaDataResponseHeader>() {
                if h.is_leader {
                    return Some(addr.clone());
                }
                if let Some(l) = h.controller_leader_address.filter(|l| !l.is_empty()) {
                    return Some(l);
                }
            }
        }
    }
    None
}

/// The set's master address and SyncStateSet, as the controller leader says.
pub async fn replica_info(
    client: &RemotingClient,
    controllers: &[String],
) -> Option<(String, BTreeSet<i64>)> {
    let leader = leader(client, controllers).await?;
    let r = client
        .invoke(
            &leader,
            RemotingCommand::request(rc::CONTROLLER_GET_REPLICA_INFO).with_header(
                &GetReplicaInfoRequestHeader {
                    broker_name: Some(BROKER_NAME.into()),
                },
            ),
            Duration::from_secs(2),
        )
        .await
        .ok()?;
    if r.code != code::SUCCESS {
        return None;
    }
    let h: GetReplicaInfoResponseHeader = r.decode_header().ok()?;
    let set = SyncStateSet::decode(&r.body).ok()?;
    Some((h.master_address?, set.sync_state_set))
}

/// Waits until the SyncStateSet holds `n` replicas; returns the master's address.
pub async fn wait_for_set_of(client: &RemotingClient, controllers: &[String], n: usize) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some((master, set)) = replica_info(client, controllers).await {
            if set.len() == n {
                return master;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the SyncStateSet did not reach {n} replicas: {:?}",
            replica_info(client, controllers).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SEND_OKs: (body, the broker that stored it, when).
pub type Acks = Arc<Mutex<Vec<(String, String, Instant)>>>;

/// The broker (store host) in an IPv4 offset message id: 4 bytes of address, 4 of port.
pub fn store_host(offset_msg_id: &str) -> String {
    let byte = |i: usize| u8::from_str_radix(&offset_msg_id[i * 2..i * 2 + 2], 16).unwrap();
    let port = u32::from_str_radix(&offset_msg_id[8..16], 16).unwrap();
    format!("{}.{}.{}.{}:{port}", byte(0), byte(1), byte(2), byte(3))
}

/// A petrel-client producer (routes refreshed every 200 ms, no retries) sending `prefix-N`
/// with sync sends until `stop`; returns how many sends failed.
pub fn spawn_producer(
    namesrv: String,
    topic: String,
    prefix: &'static str,
    acks: Acks,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut client = ClientConfig::new(&namesrv);
        client.poll_name_server_interval = Duration::from_millis(200);
        let mut config = ProducerConfig::new(unique("fo"));
        config.retry_times_when_send_failed = 0;
        config.send_timeout = Duration::from_secs(3);
        let producer = Producer::start(client, config).await.unwrap();
        let mut failures = 0;
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let body = format!("{prefix}-{i}");
            i += 1;
            match producer
                .send(Message::new(topic.clone(), body.clone().into_bytes()))
                .await
            {
                Ok(r) if r.status == SendStatus::SendOk => {
                    let host = store_host(&r.offset_msg_id);
                    acks.lock().unwrap().push((body, host, Instant::now()));
                }
                _ => {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        producer.shutdown().await;
        failures
    })
}

pub fn acks_after(acks: &Acks, t: Instant) -> Vec<(String, String, Instant)> {
    acks.lock()
        .unwrap()
        .iter()
        .filter(|a| a.2 > t)
        .cloned()
        .collect()
}

/// A broker's CommitLog end and epochs (GET_BROKER_EPOCH_CACHE).
pub async fn epoch_cache(
    client: &RemotingClient,
    broker: &str,
) -> petrel_protocol::remoting::body::EpochEntryCache {
    let r = client
        .invoke(
            broker,
            RemotingCommand::request(rc::GET_BROKER_EPOCH_CACHE),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    petrel_protocol::remoting::body::EpochEntryCache::decode(&r.body).unwrap()
}

/// Every body stored in `topic`'s `queues` queues on `broker`.
pub async fn stored_bodies(
    namesrv: &str,
    broker: &str,
    topic: &str,
    queues: i32,
) -> BTreeSet<String> {
    let mut c = ClientConfig::new(namesrv);
    c.poll_name_server_interval = Duration::from_millis(200);
    let reader = Producer::start(c, ProducerConfig::new(unique("reader")))
        .await
        .unwrap();
    let mut stored = BTreeSet::new();
    for q in 0..queues {
        let mq = petrel_client::MessageQueue::new(topic, BROKER_NAME, q);
        for m in super::client::read_queue_at(&reader, broker, &mq).await {
            stored.insert(String::from_utf8(m.body.to_vec()).unwrap());
        }
    }
    reader.shutdown().await;
    stored
}

/// Creates `topic` with `queues` queues on `broker` (the master).
pub async fn create_topic(namesrv: &str, broker: &str, topic: &str, queues: i32) {
    let p = Producer::start(
        ClientConfig::new(namesrv),
        ProducerConfig::new(unique("admin")),
    )
    .await
    .unwrap();
    super::client::create_topic_at(&p, broker, topic, queues).await;
    p.shutdown().await;
}
