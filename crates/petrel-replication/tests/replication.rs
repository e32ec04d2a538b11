//! Master and slave over real loopback sockets, each on its own store in a temp dir: the slave
//! follows byte for byte, SYNC waits are bounded and recover when a cut link heals, a slave
//! whose log does not match is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use petrel_protocol::message::MessageToStore;
use petrel_replication::{HaConfig, Master, ReplicaOutcome, Role, Slave};
use petrel_store::{AcceptAll, MessageStore, StoreConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

fn store(root: &Path) -> Arc<MessageStore> {
    let mut c = StoreConfig::new(root);
    c.mapped_file_size_commit_log = 256 * 1024;
    c.mapped_file_size_consume_queue = 20 * 1000;
    c.max_message_size_bytes = 64 * 1024;
    c.max_hash_slot_num = 64;
    c.max_index_num = 256;
    Arc::new(MessageStore::open(c).unwrap())
}

fn put(store: &MessageStore, body: &str) -> u64 {
    let msg = MessageToStore {
        topic: "TopicHA",
        queue_id: 0,
        flag: 0,
        body: body.as_bytes(),
        properties: b"",
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.1:5000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    store.append(&[msg]).unwrap().end_offset
}

fn config(role: Role) -> HaConfig {
    HaConfig {
        role,
        heartbeat_interval_ms: 200,
        housekeeping_interval_ms: 1_000,
        slave_timeout_ms: 500,
        ..HaConfig::default()
    }
}

async fn start_master(store: Arc<MessageStore>) -> (Arc<Master>, SocketAddr, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let master = Master::new(store, config(Role::SyncMaster));
    let (tx, rx) = watch::channel(false);
    tokio::spawn(Arc::clone(&master).serve(listener, rx));
    (master, addr, tx)
}

fn start_slave(store: Arc<MessageStore>, master: String) -> (Arc<Slave>, watch::Sender<bool>) {
    let slave = Slave::new(store, config(Role::Slave));
    slave.set_master_addr(Some(master));
    let (tx, rx) = watch::channel(false);
    tokio::spawn(Arc::clone(&slave).run(rx));
    (slave, tx)
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn commit_log_bytes(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(root.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_master_acknowledges_once_the_slave_holds_the_bytes() {
    let (m_dir, s_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (m_store, s_store) = (store(m_dir.path()), store(s_dir.path()));
    // Data written before the slave exists is copied too (a new slave gets the whole log).
    for i in 0..2_000 {
        put(&m_store, &format!("before-{i}-{}", "p".repeat(200)));
    }
    let (master, addr, _stop_m) = start_master(Arc::clone(&m_store)).await;
    // No slave yet: 4.9's rule answers SLAVE_NOT_AVAILABLE at once.
    let end = put(&m_store, "no slave yet");
    assert_eq!(
        master.wait_for_slaves(end).await,
        ReplicaOutcome::SlaveNotAvailable
    );

    let (slave, _stop_s) = start_slave(Arc::clone(&s_store), addr.to_string());
    eventually("the slave to connect", || master.connected_slaves() == 1).await;
    for i in 0..500 {
        let end = put(&m_store, &format!("sync-{i}"));
        assert_eq!(
            master.wait_for_slaves(end).await,
            ReplicaOutcome::Replicated
        );
        assert!(
            s_store.commit_log_end() >= end,
            "acknowledged before the slave held it"
        );
    }
    let status = master.status();
    assert_eq!(status.ha_connection_info.len(), 1);
    assert!(slave.status().ha_client_runtime_info.activated);

    // The slave's ConsumeQueue is built by its own dispatcher.
    eventually("the slave to dispatch", || {
        s_store.dispatched_offset() == m_store.commit_log_end()
    })
    .await;
    let got = s_store.get_message("TopicHA", 0, 2_500, 32, usize::MAX, &AcceptAll);
    assert_eq!(got.messages.len(), 1);
    assert_eq!(s_store.get_max_offset_in_queue("TopicHA", 0), 2_501);

    drop((_stop_m, _stop_s));
    let (m_store, s_store) = (Arc::try_unwrap(m_store), Arc::try_unwrap(s_store));
    drop((m_store, s_store));
    let (m, s) = (
        commit_log_bytes(m_dir.path()),
        commit_log_bytes(s_dir.path()),
    );
    assert!(m.len() >= 2, "the test should cross segments");
    assert!(m == s, "the slave's CommitLog is not byte-identical");
}

/// A TCP proxy the test can pause (bytes stop flowing both ways, sockets stay open: a stalled
/// link) and resume.
async fn proxy(target: SocketAddr, paused: Arc<AtomicBool>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(target).await else {
                continue;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            for (mut r, mut w) in [(cr, sw), (sr, cw)].map(|(r, w)| (r, w)) {
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
async fn a_cut_link_times_out_within_slave_timeout_and_recovers_when_it_heals() {
    let (m_dir, s_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (m_store, s_store) = (store(m_dir.path()), store(s_dir.path()));
    let (master, addr, _stop_m) = start_master(Arc::clone(&m_store)).await;
    let paused = Arc::new(AtomicBool::new(false));
    let via = proxy(addr, Arc::clone(&paused)).await;
    let (_slave, _stop_s) = start_slave(Arc::clone(&s_store), via.to_string());
    eventually("the slave to connect", || master.connected_slaves() == 1).await;
    let end = put(&m_store, "before the cut");
    assert_eq!(
        master.wait_for_slaves(end).await,
        ReplicaOutcome::Replicated
    );

    paused.store(true, Ordering::Release);
    let started = Instant::now();
    let end = put(&m_store, "during the cut");
    let outcome = master.wait_for_slaves(end).await;
    let waited = started.elapsed();
    assert_eq!(outcome, ReplicaOutcome::FlushSlaveTimeout);
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_millis(1_500),
        "{waited:?}"
    );

    // The stalled connection is dropped by housekeeping (1 s here); with the link healed the
    // slave reconnects and SYNC sends succeed again.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    paused.store(false, Ordering::Release);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let end = put(&m_store, "after the cut");
        if master.wait_for_slaves(end).await == ReplicaOutcome::Replicated {
            break;
        }
        assert!(Instant::now() < deadline, "replication did not recover");
    }
    assert_eq!(s_store.commit_log_end(), m_store.commit_log_end());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_whose_log_does_not_match_is_refused_and_nothing_is_merged() {
    let (m_dir, s_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (m_store, s_store) = (store(m_dir.path()), store(s_dir.path()));
    put(&m_store, "the master's first record is of one length");
    put(&m_store, "and a second");
    // The slave holds another broker's log: one shorter record.
    put(&s_store, "other");
    let slave_end = s_store.commit_log_end();
    let (_master, addr, _stop_m) = start_master(Arc::clone(&m_store)).await;
    let (slave, _stop_s) = start_slave(Arc::clone(&s_store), addr.to_string());
    eventually("the slave to refuse", || slave.last_error().is_some()).await;
    let error = slave.last_error().unwrap();
    assert!(
        error.contains("not a record") || error.contains("do not match"),
        "{error}"
    );
    assert_eq!(s_store.commit_log_end(), slave_end);

    // A slave longer than the master is refused by the master.
    let (l_dir, _) = (tempfile::tempdir().unwrap(), ());
    let long = store(l_dir.path());
    for _ in 0..10 {
        put(&long, "a longer log than the master's");
    }
    let (long_slave, _stop_l) = start_slave(Arc::clone(&long), addr.to_string());
    eventually("the master to close the longer slave", || {
        long_slave.last_error().is_some()
    })
    .await;
    assert!(long.commit_log_end() > m_store.commit_log_end());
}

/// Controller mode: a slave names its broker id in the AutoSwitch handshake, the master keeps
/// acknowledgements per broker id, and a send waits for exactly the SyncStateSet's members.
#[tokio::test]
async fn in_controller_mode_replicas_are_known_by_broker_id() {
    let (m_dir, s_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (m_store, s_store) = (store(m_dir.path()), store(s_dir.path()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let master = Master::new(
        Arc::clone(&m_store),
        HaConfig {
            controller_mode: true,
            ..config(Role::SyncMaster)
        },
    );
    let (_m_tx, rx) = watch::channel(false);
    tokio::spawn(Arc::clone(&master).serve(listener, rx));

    // A classic slave (no handshake) is refused: its 8-byte report is not a handshake.
    let (classic, _c_tx) = start_slave(Arc::clone(&s_store), addr.to_string());
    let end = put(&m_store, "one");
    eventually("the classic slave's refusal", || {
        classic.last_error().is_some()
    })
    .await;
    assert!(master.acks_by_broker_id().is_empty());
    drop(_c_tx);
    classic.set_master_addr(None);

    let slave = Slave::new(
        Arc::clone(&s_store),
        HaConfig {
            controller_mode: true,
            broker_id: 2,
            ..config(Role::Slave)
        },
    );
    slave.set_master_addr(Some(addr.to_string()));
    let (_s_tx, rx) = watch::channel(false);
    tokio::spawn(Arc::clone(&slave).run(rx));
    eventually("broker 2's ack", || {
        master
            .acks_by_broker_id()
            .iter()
            .any(|&(id, ack)| id == 2 && ack >= end)
    })
    .await;
    let end = put(&m_store, "two");
    assert_eq!(
        master.wait_for_members(end, &[2]).await,
        ReplicaOutcome::Replicated
    );
    // Broker 3 is in the set but not connected: the send is not acknowledged in time.
    let end = put(&m_store, "three");
    let started = Instant::now();
    assert_eq!(
        master.wait_for_members(end, &[2, 3]).await,
        ReplicaOutcome::FlushSlaveTimeout
    );
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(
        master.wait_for_members(end, &[]).await,
        ReplicaOutcome::NotNeeded
    );
}
