//! Master/slave replication with real processes: a name server, a SYNC_MASTER and its SLAVE as
//! separate `petrel` processes on loopback.
//!
//! - Every message the master acknowledged with SEND_OK is on the slave: the slave's CommitLog
//!   is byte-identical, and after the master is killed with SIGKILL consumers (petrel-client
//!   and the third-party rocketmq-client-rust) read every acknowledged message from the slave;
//!   the master comes back and the slave follows it again.
//! - A cut link (a TCP proxy the test pauses) makes SYNC sends answer FLUSH_SLAVE_TIMEOUT
//!   within `slaveTimeout`, never hang, and recover when the link heals.
//! - A slave refuses writes.
//!
//! The message count is 10,000 in CI; `PETREL_REPLICATION_MESSAGES=100000` runs the issue's
//! 100,000 (`failover_with_100k_messages`, ignored by default, does so too).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use petrel_client::consumer::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFromWhere, PushConsumer,
    PushConsumerConfig, Selector,
};
use petrel_client::{ClientConfig, Message, MessageExt, Producer, ProducerConfig, SendStatus};
use petrel_protocol::remoting::body::{HaRuntimeInfo, JsonBody, TopicConfigSerializeWrapper};
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use support::client::create_topic_at;
use support::cluster::{commit_log_bytes, Node};
use support::unique;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Upper bound of the waits here.
const WAIT: Duration = Duration::from_secs(120);

fn message_count() -> u64 {
    std::env::var("PETREL_REPLICATION_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

async fn producer(namesrv: &str) -> Producer {
    let mut config = ProducerConfig::new(unique("pg"));
    config.retry_times_when_send_failed = 0;
    Producer::start(ClientConfig::new(namesrv), config)
        .await
        .unwrap()
}

async fn ha_status(p: &Producer, broker: &str) -> HaRuntimeInfo {
    let r = p
        .instance()
        .invoke_ok(broker, RemotingCommand::request(rc::GET_BROKER_HA_STATUS))
        .await
        .unwrap();
    HaRuntimeInfo::decode(&r.body).unwrap()
}

async fn until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The master and its slave hold the same bytes (the slave acknowledged the master's end).
async fn wait_caught_up(p: &Producer, master: &str) {
    until("the slave to catch up", WAIT, || async {
        let s = ha_status(p, master).await;
        s.ha_connection_info.len() == 1
            && s.ha_connection_info[0].slave_ack_offset == s.master_commit_log_max_offset
    })
    .await;
}

/// The slave copied `topic`'s config from its master (SlaveSynchronize).
async fn wait_topic_on(p: &Producer, broker: &str, topic: &str) {
    until("the topic config on the slave", WAIT, || async {
        let r = p
            .instance()
            .invoke_ok(broker, RemotingCommand::request(rc::GET_ALL_TOPIC_CONFIG))
            .await
            .unwrap();
        TopicConfigSerializeWrapper::decode(&r.body)
            .unwrap()
            .topic_config_table
            .contains_key(topic)
    })
    .await;
}

fn seq_of(m: &MessageExt) -> Option<u64> {
    m.properties.get("seq").and_then(|s| s.parse().ok())
}

/// Sends `count` messages from 8 tasks; returns the sequence numbers acknowledged SEND_OK.
async fn send_all(p: &Producer, topic: &str, count: u64) -> BTreeSet<u64> {
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let mut tasks = Vec::new();
    const TASKS: u64 = 8;
    for t in 0..TASKS {
        let (p, topic, acked) = (p.clone(), topic.to_string(), Arc::clone(&acked));
        tasks.push(tokio::spawn(async move {
            let mut s = t;
            while s < count {
                let m = Message::new(&topic, format!("replicated message {s} {}", "r".repeat(64)))
                    .with_property("seq", s.to_string());
                if let Ok(r) = p.send(m).await {
                    if r.status == SendStatus::SendOk {
                        acked.lock().unwrap().insert(s);
                    }
                }
                s += TASKS;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    acked
}

/// A petrel-client push consumer of a new group, from the first offset, recording seqs.
async fn petrel_consumer(
    namesrv: &str,
    topic: &str,
    got: Arc<Mutex<BTreeSet<u64>>>,
) -> PushConsumer {
    let mut client = ClientConfig::new(namesrv);
    client.rebalance_interval = Duration::from_millis(1_000);
    client.poll_name_server_interval = Duration::from_millis(1_000);
    let mut config = PushConsumerConfig::new(unique("cg"));
    config.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    config.broker_suspend_max_time = Duration::from_secs(2);
    config.pull_time_delay_when_exception = Duration::from_millis(200);
    PushConsumer::builder(client, config)
        .subscribe(topic, Selector::all())
        .listener_concurrently(
            move |msgs: &[MessageExt], _: &mut ConsumeConcurrentlyContext| {
                let mut g = got.lock().unwrap();
                g.extend(msgs.iter().filter_map(seq_of));
                ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .expect("consumer starts")
}

/// The issue's demonstration, at `count` messages.
async fn failover(count: u64) {
    let (m_dir, s_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ns = Node::namesrv();
    let name = unique("rb");
    let broker_name = format!("brokerName={name}");
    let mut master = Node::broker(
        &ns.addr,
        m_dir.path(),
        &[&broker_name, "brokerRole=SYNC_MASTER"],
    );
    let slave = Node::broker(
        &ns.addr,
        s_dir.path(),
        &[
            &broker_name,
            "brokerRole=SLAVE",
            "brokerId=1",
            "registerNameServerPeriod=10000",
        ],
    );
    let p = producer(&ns.addr).await;
    let topic = unique("ReplicatedTopic");
    create_topic_at(&p, &master.addr, &topic, 4).await;
    until("the slave to connect", WAIT, || async {
        ha_status(&p, &master.addr).await.ha_connection_info.len() == 1
    })
    .await;

    // Under SYNC_MASTER every SEND_OK means the slave holds the message.
    let started = Instant::now();
    let acked = send_all(&p, &topic, count).await;
    eprintln!(
        "{} of {count} sends acknowledged SEND_OK in {:?}",
        acked.len(),
        started.elapsed()
    );
    assert_eq!(
        acked.len() as u64,
        count,
        "a slave was connected throughout"
    );
    wait_caught_up(&p, &master.addr).await;
    wait_topic_on(&p, &slave.addr, &topic).await;
    let end = ha_status(&p, &master.addr)
        .await
        .master_commit_log_max_offset as u64;

    // The master dies; its files are what it wrote (the page cache survives the process).
    master.kill9();
    let (m, s) = (
        commit_log_bytes(m_dir.path(), end),
        commit_log_bytes(s_dir.path(), end),
    );
    assert!(!m.is_empty());
    assert_eq!(
        m.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        s.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    assert!(m == s, "the slave's CommitLog is not byte-identical");

    // Consumers read every acknowledged message from the slave.
    let got = Arc::new(Mutex::new(BTreeSet::new()));
    let consumer = petrel_consumer(&ns.addr, &topic, Arc::clone(&got)).await;
    let interop_got = Arc::new(Mutex::new(BTreeSet::new()));
    let mut interop = interop_consumer(&ns.addr, &topic, Arc::clone(&interop_got)).await;
    until(
        "consumers to read every acknowledged message from the slave",
        WAIT,
        || async {
            acked.is_subset(&got.lock().unwrap()) && acked.is_subset(&interop_got.lock().unwrap())
        },
    )
    .await;
    consumer.shutdown().await;
    interop.shutdown().await;

    // The master returns (new address, same data); the slave follows it again.
    master.start();
    until("the slave to follow the returned master", WAIT, || async {
        let s = ha_status(&p, &master.addr).await;
        s.ha_connection_info.len() == 1
    })
    .await;
    let r = until_sent(&p, &topic).await;
    assert_eq!(r, SendStatus::SendOk);
    wait_caught_up(&p, &master.addr).await;
}

/// Sends until one is SEND_OK: the route may need a moment to learn a returned master's new
/// address, and a first SYNC send may find its slave not connected yet (or be slow under load).
async fn until_sent(p: &Producer, topic: &str) -> SendStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        p.instance().invalidate_route(topic);
        match p.send(Message::new(topic, "replicated")).await {
            Ok(r) if r.status == SendStatus::SendOk => return r.status,
            Ok(r) => assert!(Instant::now() < deadline, "no send SEND_OK: {:?}", r.status),
            Err(e) => assert!(Instant::now() < deadline, "no send succeeded: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn interop_consumer(
    namesrv: &str,
    topic: &str,
    got: Arc<Mutex<BTreeSet<u64>>>,
) -> rocketmq_client_rust::DefaultMQPushConsumer {
    use cheetah_string::CheetahString;
    use rocketmq_client_rust::{
        ClientConfig as RustClientConfig, ConsumeConcurrentlyContext as Ctx,
        ConsumeConcurrentlyStatus as Status, DefaultMQPushConsumer, MQPushConsumer,
    };
    use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere as From;
    use rocketmq_model::common::message::message_ext::MessageExt as Ext;
    let client_config = RustClientConfig::builder()
        .namesrv_addr(namesrv)
        .instance_name(unique("instance"))
        .build_unvalidated();
    let mut c = DefaultMQPushConsumer::builder(support::client_runtime("replication"))
        .client_config(client_config)
        .consumer_group(unique("icg").as_str())
        .consume_from_where(From::ConsumeFromFirstOffset)
        .build();
    c.subscribe(topic, "*").await.expect("subscribe");
    c.register_message_listener_concurrently(move |msgs: &[&Ext], _ctx: &Ctx| {
        let mut g = got.lock().unwrap();
        for m in msgs {
            if let Some(seq) = m
                .properties()
                .get(&CheetahString::from("seq"))
                .and_then(|s| s.to_string().parse().ok())
            {
                g.insert(seq);
            }
        }
        Ok(Status::ConsumeSuccess)
    });
    c.start().await.expect("consumer start");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_message_survives_the_masters_death_on_its_slave() {
    failover(message_count()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the issue's 100,000 messages (about a minute on 2 cores, debug build): cargo test --test replication -- --ignored"]
async fn failover_with_100k_messages() {
    failover(100_000).await;
}

/// A TCP proxy the test can pause: bytes stop flowing both ways while the sockets stay open
/// (a stalled link, as a cut cable looks to TCP until keepalive gives up).
async fn proxy(target: String, paused: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&target).await else {
                continue;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            for (mut r, mut w) in [(cr, sw), (sr, cw)] {
                let paused = Arc::clone(&paused);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        while paused.load(Ordering::Acquire) {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        let n = match r.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        while paused.load(Ordering::Acquire) {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        if w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_link_gives_flush_slave_timeout_within_slave_timeout_and_heals() {
    let (m_dir, s_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ns = Node::namesrv();
    let name = unique("rb");
    let broker_name = format!("brokerName={name}");
    let master = Node::broker(
        &ns.addr,
        m_dir.path(),
        &[
            &broker_name,
            "brokerRole=SYNC_MASTER",
            "slaveTimeout=1000",
            "haHousekeepingInterval=3000",
        ],
    );
    let paused = Arc::new(AtomicBool::new(false));
    let via = proxy(master.ha_addr.clone().unwrap(), Arc::clone(&paused)).await;
    let ha_master = format!("haMasterAddress={via}");
    let _slave = Node::broker(
        &ns.addr,
        s_dir.path(),
        &[
            &broker_name,
            "brokerRole=SLAVE",
            "brokerId=1",
            &ha_master,
            "haHousekeepingInterval=3000",
            "haSendHeartbeatInterval=500",
        ],
    );
    let p = producer(&ns.addr).await;
    let topic = unique("CutTopic");
    create_topic_at(&p, &master.addr, &topic, 1).await;
    until("the slave to connect", WAIT, || async {
        ha_status(&p, &master.addr).await.ha_connection_info.len() == 1
    })
    .await;
    // Replication works before the cut (the first sends may exceed the 1 s slaveTimeout while
    // the other tests of this file load the 2 cores).
    send_ok_within(&p, &topic, "before the cut", WAIT).await;

    paused.store(true, Ordering::Release);
    // While the link is cut, no send hangs: each is answered within slaveTimeout (1 s) plus
    // slack, FLUSH_SLAVE_TIMEOUT while the master holds the stalled connection,
    // SLAVE_NOT_AVAILABLE once the master's housekeeping (3 s of silence) closed it.
    let mut statuses = Vec::new();
    let cut_until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < cut_until {
        let started = Instant::now();
        let r = p
            .send(Message::new(&topic, "during the cut"))
            .await
            .unwrap();
        let took = started.elapsed();
        assert!(took < Duration::from_millis(2_500), "a send took {took:?}");
        assert_ne!(
            r.status,
            SendStatus::SendOk,
            "acknowledged without the slave"
        );
        statuses.push(r.status);
    }
    assert_eq!(statuses[0], SendStatus::FlushSlaveTimeout);
    assert!(
        statuses.contains(&SendStatus::SlaveNotAvailable),
        "housekeeping should have closed the stalled connection: {statuses:?}"
    );

    paused.store(false, Ordering::Release);
    send_ok_within(&p, &topic, "after the cut", WAIT).await;
}

/// Sends until one is SEND_OK (replication works), failing after `timeout`.
async fn send_ok_within(p: &Producer, topic: &str, what: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let r = p.send(Message::new(topic, what.to_string())).await.unwrap();
        if r.status == SendStatus::SendOk {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no send SEND_OK {what}: {:?}",
            r.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_refuses_writes() {
    let (m_dir, s_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ns = Node::namesrv();
    let broker_name = format!("brokerName={}", unique("rb"));
    let master = Node::broker(&ns.addr, m_dir.path(), &[&broker_name]);
    let slave = Node::broker(
        &ns.addr,
        s_dir.path(),
        &[&broker_name, "brokerRole=SLAVE", "brokerId=1"],
    );
    let p = producer(&ns.addr).await;
    let topic = unique("T");
    create_topic_at(&p, &master.addr, &topic, 1).await;
    let h = petrel_protocol::remoting::header::SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: topic.clone(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        born_timestamp: 1,
        ..Default::default()
    };
    let r = p
        .instance()
        .invoke(
            &slave.addr,
            RemotingCommand::request(rc::SEND_MESSAGE)
                .with_header(&h)
                .with_body(b"to a slave".to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SERVICE_NOT_AVAILABLE, "{:?}", r.remark);
    assert!(r.remark.unwrap_or_default().contains("slave"));
}

/// `petrel admin ARGS` against `namesrv`, killed after a bounded wait; its stdout.
fn petrel_admin(namesrv: &str, args: &[&str]) -> String {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_petrel"))
        .args(["admin", "-n", namesrv])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn petrel admin");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("petrel admin {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "petrel admin {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_shows_the_slave_in_ha_status_and_cluster_list() {
    let (m_dir, s_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ns = Node::namesrv();
    let name = unique("rb");
    let broker_name = format!("brokerName={name}");
    let master = Node::broker(
        &ns.addr,
        m_dir.path(),
        &[&broker_name, "brokerRole=SYNC_MASTER"],
    );
    let slave = Node::broker(
        &ns.addr,
        s_dir.path(),
        &[&broker_name, "brokerRole=SLAVE", "brokerId=1"],
    );
    let p = producer(&ns.addr).await;
    let topic = unique("AdminTopic");
    create_topic_at(&p, &master.addr, &topic, 1).await;
    let r = until_sent(&p, &topic).await;
    assert_eq!(r, SendStatus::SendOk);
    wait_caught_up(&p, &master.addr).await;

    let (ns_addr, m_addr, s_addr) = (ns.addr.clone(), master.addr.clone(), slave.addr.clone());
    let (m_json, s_json, by_cluster, list) = tokio::task::spawn_blocking(move || {
        (
            petrel_admin(&ns_addr, &["--json", "haStatus", "-b", &m_addr]),
            petrel_admin(&ns_addr, &["--json", "haStatus", "-b", &s_addr]),
            petrel_admin(&ns_addr, &["haStatus", "-c", "DefaultCluster"]),
            petrel_admin(&ns_addr, &["clusterList"]),
        )
    })
    .await
    .unwrap();

    let m: serde_json::Value = serde_json::from_str(&m_json).unwrap();
    let m = &m[&master.addr];
    assert_eq!(m["master"], true, "{m_json}");
    assert_eq!(m["inSyncSlaveNums"], 1, "{m_json}");
    let conn = &m["haConnectionInfo"][0];
    assert_eq!(conn["diff"], 0, "{m_json}");
    assert_eq!(conn["slaveAckOffset"], m["masterCommitLogMaxOffset"]);
    let s: serde_json::Value = serde_json::from_str(&s_json).unwrap();
    let c = &s[&slave.addr]["haClientRuntimeInfo"];
    assert_eq!(s[&slave.addr]["master"], false, "{s_json}");
    assert_eq!(c["masterAddr"], master.ha_addr.clone().unwrap(), "{s_json}");
    assert_eq!(c["maxOffset"], m["masterCommitLogMaxOffset"], "{s_json}");
    assert!(by_cluster.contains(&master.addr) && by_cluster.contains("#InSyncSlaveNum"));
    let rows: Vec<&str> = list.lines().filter(|l| l.contains(&name)).collect();
    assert_eq!(rows.len(), 2, "master and slave in clusterList:\n{list}");
    assert!(rows.iter().any(|r| r.contains(&slave.addr)), "{list}");
}

/// Several brokerNames, each a master with a slave, form one cluster: when one master dies
/// (SIGKILL), producers route sends to the other and every send is acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_route_around_a_dead_master_of_a_multi_master_cluster() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let ns = Node::namesrv();
    let (a, b) = (
        format!("brokerName={}", unique("ra")),
        format!("brokerName={}", unique("rb")),
    );
    let mut master_a = Node::broker(&ns.addr, dirs[0].path(), &[&a, "brokerRole=SYNC_MASTER"]);
    let _slave_a = Node::broker(
        &ns.addr,
        dirs[1].path(),
        &[&a, "brokerRole=SLAVE", "brokerId=1"],
    );
    let master_b = Node::broker(&ns.addr, dirs[2].path(), &[&b, "brokerRole=SYNC_MASTER"]);
    let _slave_b = Node::broker(
        &ns.addr,
        dirs[3].path(),
        &[&b, "brokerRole=SLAVE", "brokerId=1"],
    );
    let mut config = ProducerConfig::new(unique("pg"));
    config.retry_times_when_send_failed = 2;
    let p = Producer::start(ClientConfig::new(&ns.addr), config)
        .await
        .unwrap();
    let topic = unique("MultiMaster");
    create_topic_at(&p, &master_a.addr, &topic, 2).await;
    let h = petrel_protocol::remoting::header::CreateTopicRequestHeader {
        topic: topic.clone(),
        default_topic: "TBW102".into(),
        read_queue_nums: 2,
        write_queue_nums: 2,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        ..Default::default()
    };
    p.instance()
        .invoke_ok(
            &master_b.addr,
            RemotingCommand::request(rc::UPDATE_AND_CREATE_TOPIC).with_header(&h),
        )
        .await
        .unwrap();
    until(
        "the topic on both masters with their slaves",
        WAIT,
        || async {
            let r = p.instance().refresh_route(&topic, false).await.unwrap();
            r.publish_queues.len() == 4
                && ha_status(&p, &master_a.addr).await.ha_connection_info.len() == 1
                && ha_status(&p, &master_b.addr).await.ha_connection_info.len() == 1
        },
    )
    .await;

    master_a.kill9();
    // Every send is acknowledged by the surviving master (and its slave): a send that picks
    // the dead master fails over to the other brokerName within the producer's retries.
    let mut brokers = BTreeSet::new();
    for i in 0..200 {
        let r = p
            .send(Message::new(&topic, format!("after the death {i}")))
            .await
            .unwrap_or_else(|e| panic!("send {i} failed: {e}"));
        assert_eq!(r.status, SendStatus::SendOk, "send {i}");
        brokers.insert(r.message_queue.broker_name.clone());
    }
    assert_eq!(brokers.len(), 1, "only the live brokerName: {brokers:?}");
    assert!(b.ends_with(brokers.iter().next().unwrap().as_str()));
}
