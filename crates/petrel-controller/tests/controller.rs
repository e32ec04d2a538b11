//! Three controllers in one process over real sockets on 127.0.0.1 (ephemeral ports), driven
//! the way RocketMQ 5.x brokers and mqadmin drive a controller group.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is a failed run

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use petrel_controller::{parse_properties, Controller, ControllerConfig};
use petrel_protocol::remoting::body::{
    BrokerNameList, BrokerReplicasInfo, ElectMasterResponseBody, JsonBody, SyncStateSet,
};
use petrel_protocol::remoting::header::{
    AlterSyncStateSetRequestHeader, AlterSyncStateSetResponseHeader, ApplyBrokerIdRequestHeader,
    BrokerHeartbeatRequestHeader, CommandHeader, ElectMasterRequestHeader,
    ElectMasterResponseHeader, GetMetaDataResponseHeader, GetNextBrokerIdRequestHeader,
    GetNextBrokerIdResponseHeader, GetReplicaInfoRequestHeader, GetReplicaInfoResponseHeader,
    NotifyBrokerRoleChangedRequestHeader, RegisterBrokerToControllerRequestHeader,
    RegisterBrokerToControllerResponseHeader,
};
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand};
use petrel_remoting::{
    BoxFuture, RemotingClient, RemotingConfig, RemotingServer, Reply, RequestContext,
    RequestHandler,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const CALL_TIMEOUT: Duration = Duration::from_secs(8);
const CLUSTER: &str = "DefaultCluster";
const BROKER_NAME: &str = "broker-a";

/// Polls `check` until it returns `Some` or `within` passes.
async fn eventually<T, F, Fut>(within: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Group {
    /// Extra controller.conf lines for every controller.
    extra: String,
    dirs: Vec<tempfile::TempDir>,
    addrs: Vec<SocketAddr>,
    peers: String,
    nodes: Vec<Option<Controller>>,
}

impl Group {
    async fn start(n: usize) -> Group {
        Group::start_with(n, "").await
    }

    async fn start_with(n: usize, extra: &str) -> Group {
        let mut listeners = Vec::new();
        for _ in 0..n {
            listeners.push(TcpListener::bind("127.0.0.1:0").await.unwrap());
        }
        let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        let peers = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("n{i}-{a}"))
            .collect::<Vec<_>>()
            .join(";");
        let dirs: Vec<_> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut group = Group {
            extra: extra.to_string(),
            dirs,
            addrs,
            peers,
            nodes: Vec::new(),
        };
        for (i, listener) in listeners.into_iter().enumerate() {
            let node = group.start_node(i, listener).await;
            group.nodes.push(Some(node));
        }
        group
    }

    fn config(&self, i: usize) -> ControllerConfig {
        let text = format!(
            "controllerDLegerGroup=test\ncontrollerDLegerPeers={}\ncontrollerDLegerSelfId=n{i}\ncontrollerStorePath={}\n{}",
            self.peers,
            self.dirs[i].path().display(),
            self.extra
        );
        let (config, unknown) =
            ControllerConfig::from_properties(&parse_properties(&text)).unwrap();
        assert!(unknown.is_empty());
        config
    }

    async fn start_node(&self, i: usize, listener: TcpListener) -> Controller {
        Controller::start(self.config(i), Some(listener))
            .await
            .expect("controller starts")
    }

    /// The index of the controller that leads, once one does (and the others agree).
    async fn leader(&self) -> usize {
        eventually(Duration::from_secs(15), || async {
            let live: Vec<(usize, &Controller)> = self
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
                .collect();
            let leader = live.iter().find(|(_, c)| c.is_leader())?.0;
            let id = format!("n{leader}");
            live.iter()
                .all(|(_, c)| c.leader_id().as_deref() == Some(id.as_str()))
                .then_some(leader)
        })
        .await
        .expect("a controller leads within 15 s")
    }

    fn addr(&self, i: usize) -> String {
        self.addrs[i].to_string()
    }
}

async fn call(
    client: &RemotingClient,
    addr: &str,
    code: i32,
    header: Option<&dyn HeaderRef>,
    body: Option<Vec<u8>>,
) -> RemotingCommand {
    let mut request = RemotingCommand::request(code);
    if let Some(header) = header {
        header.put(&mut request);
    }
    if let Some(body) = body {
        request = request.with_body(body);
    }
    client
        .invoke(addr, request, CALL_TIMEOUT)
        .await
        .expect("the controller answers")
}

/// Object-safe view of a header, so `call` takes any of them.
trait HeaderRef {
    fn put(&self, request: &mut RemotingCommand);
}

impl<H: CommandHeader> HeaderRef for H {
    fn put(&self, request: &mut RemotingCommand) {
        self.encode(&mut request.ext_fields);
    }
}

/// A stand-in broker: its own connection to the controllers, and a listener that records
/// the NOTIFY_BROKER_ROLE_CHANGED it receives.
struct Broker {
    client: RemotingClient,
    address: String,
    _server: RemotingServer,
    notices: mpsc::UnboundedReceiver<NotifyBrokerRoleChangedRequestHeader>,
}

struct NoticeSink(mpsc::UnboundedSender<NotifyBrokerRoleChangedRequestHeader>);

impl RequestHandler for NoticeSink {
    fn handle(&self, _ctx: RequestContext, request: RemotingCommand) -> BoxFuture<Option<Reply>> {
        if request.code == request_code::NOTIFY_BROKER_ROLE_CHANGED {
            let _ = self.0.send(request.decode_header().unwrap());
        }
        Box::pin(async { None })
    }
}

impl Broker {
    async fn start() -> Broker {
        let (tx, rx) = mpsc::unbounded_channel();
        let server = RemotingServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(NoticeSink(tx)),
            RemotingConfig::default(),
        )
        .await
        .unwrap();
        Broker {
            client: RemotingClient::new(RemotingConfig::default(), None),
            address: server.local_addr().to_string(),
            _server: server,
            notices: rx,
        }
    }

    /// 1012 then 1013 then 1003, as a 5.x broker does on first start; returns its id.
    async fn join(&self, controller: &str) -> i64 {
        let next = call(
            &self.client,
            controller,
            request_code::CONTROLLER_GET_NEXT_BROKER_ID,
            Some(&GetNextBrokerIdRequestHeader {
                cluster_name: Some(CLUSTER.into()),
                broker_name: Some(BROKER_NAME.into()),
            }),
            None,
        )
        .await;
        assert_eq!(next.code, response_code::SUCCESS, "{:?}", next.remark);
        let id = next
            .decode_header::<GetNextBrokerIdResponseHeader>()
            .unwrap()
            .next_broker_id
            .unwrap();
        let apply = call(
            &self.client,
            controller,
            request_code::CONTROLLER_APPLY_BROKER_ID,
            Some(&ApplyBrokerIdRequestHeader {
                cluster_name: Some(CLUSTER.into()),
                broker_name: Some(BROKER_NAME.into()),
                applied_broker_id: Some(id),
                register_check_code: Some(format!("{};1700000000000", self.address)),
            }),
            None,
        )
        .await;
        assert_eq!(apply.code, response_code::SUCCESS, "{:?}", apply.remark);
        let register = call(
            &self.client,
            controller,
            request_code::CONTROLLER_REGISTER_BROKER,
            Some(&RegisterBrokerToControllerRequestHeader {
                cluster_name: Some(CLUSTER.into()),
                broker_name: Some(BROKER_NAME.into()),
                broker_id: Some(id),
                broker_address: Some(self.address.clone()),
                invoke_time: 0,
            }),
            None,
        )
        .await;
        assert_eq!(
            register.code,
            response_code::SUCCESS,
            "{:?}",
            register.remark
        );
        id
    }

    async fn heartbeat(&self, controller: &str, id: i64, epoch: i32, max_offset: i64) {
        self.heartbeat_with_timeout(controller, id, epoch, max_offset, 10_000)
            .await
    }

    async fn heartbeat_with_timeout(
        &self,
        controller: &str,
        id: i64,
        epoch: i32,
        max_offset: i64,
        timeout_ms: i64,
    ) {
        let header = BrokerHeartbeatRequestHeader {
            cluster_name: CLUSTER.into(),
            broker_addr: self.address.clone(),
            broker_name: BROKER_NAME.into(),
            broker_id: Some(id),
            epoch: Some(epoch),
            max_offset: Some(max_offset),
            confirm_offset: Some(max_offset),
            heartbeat_timeout_mills: Some(timeout_ms),
            election_priority: None,
        };
        let mut request =
            RemotingCommand::request(request_code::BROKER_HEARTBEAT).with_header(&header);
        request.mark_oneway();
        self.client
            .invoke_oneway(controller, request)
            .await
            .expect("heartbeat sent");
    }
}

async fn replica_info(client: &RemotingClient, addr: &str) -> RemotingCommand {
    call(
        client,
        addr,
        request_code::CONTROLLER_GET_REPLICA_INFO,
        Some(&GetReplicaInfoRequestHeader {
            broker_name: Some(BROKER_NAME.into()),
        }),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_set_is_registered_elected_fenced_and_failed_over() {
    let mut group = Group::start(3).await;
    let leader = group.leader().await;
    let leader_addr = group.addr(leader);
    let follower = (leader + 1) % 3;
    let admin = RemotingClient::new(RemotingConfig::default(), None);

    // Any controller says who leads; a follower refuses broker requests, naming the leader.
    let meta = call(
        &admin,
        &group.addr(follower),
        request_code::CONTROLLER_GET_METADATA_INFO,
        None,
        None,
    )
    .await;
    assert_eq!(meta.code, response_code::SUCCESS);
    let meta: GetMetaDataResponseHeader = meta.decode_header().unwrap();
    assert!(!meta.is_leader);
    assert_eq!(meta.group.as_deref(), Some("test"));
    assert_eq!(
        meta.controller_leader_address.as_deref(),
        Some(leader_addr.as_str())
    );
    assert_eq!(meta.controller_leader_id, Some(format!("n{leader}")));
    let refused = replica_info(&admin, &group.addr(follower)).await;
    assert_eq!(refused.code, response_code::CONTROLLER_NOT_LEADER);
    assert!(refused.remark.unwrap().contains(&leader_addr));

    // Three brokers of one set get ids 1, 2, 3.
    let mut brokers = Vec::new();
    for expected in 1..=3 {
        let broker = Broker::start().await;
        assert_eq!(broker.join(&leader_addr).await, expected);
        brokers.push(broker);
    }
    for (i, broker) in brokers.iter().enumerate() {
        broker.heartbeat(&leader_addr, i as i64 + 1, 0, 1000).await;
    }

    // The first to ask becomes master, at epoch 1.
    let elect = |id: i64| ElectMasterRequestHeader {
        cluster_name: CLUSTER.into(),
        broker_name: BROKER_NAME.into(),
        broker_id: id,
        designate_elect: false,
        invoke_time: None,
    };
    let first = call(
        &brokers[0].client,
        &leader_addr,
        request_code::CONTROLLER_ELECT_MASTER,
        Some(&elect(1)),
        None,
    )
    .await;
    assert_eq!(first.code, response_code::SUCCESS, "{:?}", first.remark);
    let header: ElectMasterResponseHeader = first.decode_header().unwrap();
    assert_eq!(header.master_broker_id, Some(1));
    assert_eq!(
        header.master_address.as_deref(),
        Some(brokers[0].address.as_str())
    );
    assert_eq!(
        (header.master_epoch, header.sync_state_set_epoch),
        (Some(1), Some(1))
    );
    let body = ElectMasterResponseBody::decode(&first.body).unwrap();
    assert_eq!(body.sync_state_set, BTreeSet::from([1]));
    assert_eq!(body.broker_member_group.broker_addrs.len(), 3);

    // Heartbeats keep the master: a second broker asking gets MASTER_STILL_EXIST.
    let second = call(
        &brokers[1].client,
        &leader_addr,
        request_code::CONTROLLER_ELECT_MASTER,
        Some(&elect(2)),
        None,
    )
    .await;
    assert_eq!(second.code, response_code::CONTROLLER_MASTER_STILL_EXIST);
    assert_eq!(
        second
            .decode_header::<ElectMasterResponseHeader>()
            .unwrap()
            .master_broker_id,
        Some(1)
    );
    let register = call(
        &brokers[1].client,
        &leader_addr,
        request_code::CONTROLLER_REGISTER_BROKER,
        Some(&RegisterBrokerToControllerRequestHeader {
            cluster_name: Some(CLUSTER.into()),
            broker_name: Some(BROKER_NAME.into()),
            broker_id: Some(2),
            broker_address: Some(brokers[1].address.clone()),
            invoke_time: 0,
        }),
        None,
    )
    .await;
    let register: RegisterBrokerToControllerResponseHeader = register.decode_header().unwrap();
    assert_eq!(
        (register.master_broker_id, register.master_epoch),
        (Some(1), Some(1))
    );

    // The master grows its SyncStateSet to everyone.
    let alter = |epoch: i32, sss_epoch: i32, members: &[i64]| {
        (
            AlterSyncStateSetRequestHeader {
                broker_name: Some(BROKER_NAME.into()),
                master_broker_id: Some(1),
                master_epoch: Some(epoch),
                invoke_time: 0,
            },
            SyncStateSet {
                sync_state_set: members.iter().copied().collect(),
                sync_state_set_epoch: sss_epoch,
            }
            .encode(),
        )
    };
    let (h, b) = alter(1, 1, &[1, 2, 3]);
    let grown = call(
        &brokers[0].client,
        &leader_addr,
        request_code::CONTROLLER_ALTER_SYNC_STATE_SET,
        Some(&h),
        Some(b),
    )
    .await;
    assert_eq!(grown.code, response_code::SUCCESS, "{:?}", grown.remark);
    assert_eq!(
        grown
            .decode_header::<AlterSyncStateSetResponseHeader>()
            .unwrap()
            .new_sync_state_set_epoch,
        2
    );

    // A stale master epoch is fenced.
    let (h, b) = alter(0, 2, &[1, 2]);
    let fenced = call(
        &brokers[0].client,
        &leader_addr,
        request_code::CONTROLLER_ALTER_SYNC_STATE_SET,
        Some(&h),
        Some(b),
    )
    .await;
    assert_eq!(fenced.code, response_code::CONTROLLER_FENCED_MASTER_EPOCH);

    // A garbage body is an invalid request, not a crash.
    let garbage = call(
        &admin,
        &leader_addr,
        request_code::CONTROLLER_ALTER_SYNC_STATE_SET,
        Some(&alter(1, 2, &[1]).0),
        Some(b"{not json".to_vec()),
    )
    .await;
    assert_eq!(garbage.code, response_code::CONTROLLER_INVALID_REQUEST);

    // The master's connection closes: another SyncStateSet member becomes master (epoch 2)
    // within 2 s, and the set's brokers hear of it.
    let closed_at = Instant::now();
    brokers[0].client.close_all().await;
    let new_master = eventually(Duration::from_secs(2), || async {
        let info = replica_info(&admin, &leader_addr).await;
        let header: GetReplicaInfoResponseHeader = info.decode_header().ok()?;
        (header.master_broker_id != Some(1)).then_some(header)
    })
    .await
    .expect("a new master within 2 s of the master's connection closing");
    let failover = closed_at.elapsed();
    let new_id = new_master.master_broker_id.unwrap();
    assert!([2, 3].contains(&new_id), "{new_master:?}");
    assert_eq!(new_master.master_epoch, Some(2));
    println!("failover after the master's connection closed: {failover:?}");
    // (The first election's notice, epoch 1, came before.)
    let notices = &mut brokers[new_id as usize - 1].notices;
    let notice = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let notice = notices.recv().await.unwrap();
            if notice.master_epoch == Some(2) {
                return notice;
            }
            assert_eq!(
                (notice.master_broker_id, notice.master_epoch),
                (Some(1), Some(1))
            );
        }
    })
    .await
    .expect("NOTIFY_BROKER_ROLE_CHANGED for epoch 2 arrives");
    assert_eq!(notice.master_broker_id, Some(new_id));
    assert_eq!(
        notice.master_address.as_deref(),
        Some(brokers[new_id as usize - 1].address.as_str())
    );

    // The leader stops: a new one is elected and still has the set.
    group.nodes[leader].take().unwrap().shutdown().await;
    let new_leader = group.leader().await;
    assert_ne!(new_leader, leader);
    let info = replica_info(&admin, &group.addr(new_leader)).await;
    assert_eq!(info.code, response_code::SUCCESS, "{:?}", info.remark);
    let header: GetReplicaInfoResponseHeader = info.decode_header().unwrap();
    assert_eq!(
        (header.master_broker_id, header.master_epoch),
        (Some(new_id), Some(2))
    );
    let data = call(
        &admin,
        &group.addr(new_leader),
        request_code::CONTROLLER_GET_SYNC_STATE_DATA,
        None,
        Some(BrokerNameList(vec![BROKER_NAME.into()]).encode()),
    )
    .await;
    let data = BrokerReplicasInfo::decode(&data.body).unwrap();
    let set = &data.replicas_info_table[BROKER_NAME];
    assert_eq!(set.master_broker_id, Some(new_id));
    assert_eq!(
        set.in_sync_replicas.len() + set.not_in_sync_replicas.len(),
        3
    );

    // The stopped controller comes back on its store and catches up.
    let listener = TcpListener::bind(group.addrs[leader]).await.unwrap();
    let restarted = group.start_node(leader, listener).await;
    let caught_up = eventually(Duration::from_secs(10), || async {
        restarted
            .with_state(|info| info.broker_set(BROKER_NAME).map(|s| s.master_epoch))
            .filter(|epoch| *epoch == 2)
    })
    .await;
    assert_eq!(caught_up, Some(2));
    group.nodes[leader] = Some(restarted);
    for node in group.nodes.iter().flatten() {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_answers() {
    let group = Group::start(1).await;
    let leader = group.leader().await;
    let addr = group.addr(leader);
    let client = RemotingClient::new(RemotingConfig::default(), None);
    // Unknown set: metadata does not exist.
    let info = replica_info(&client, &addr).await;
    assert_eq!(
        info.code,
        response_code::CONTROLLER_BROKER_METADATA_NOT_EXIST
    );
    // A header field that is not a number.
    let mut request = RemotingCommand::request(request_code::CONTROLLER_APPLY_BROKER_ID);
    request.ext_fields.insert("appliedBrokerId", "one");
    let answer = client.invoke(&addr, request, CALL_TIMEOUT).await.unwrap();
    assert_eq!(answer.code, response_code::CONTROLLER_INVALID_REQUEST);
    assert!(answer.remark.unwrap().contains("appliedBrokerId"));
    // A second id before the first: refused.
    let apply = call(
        &client,
        &addr,
        request_code::CONTROLLER_APPLY_BROKER_ID,
        Some(&ApplyBrokerIdRequestHeader {
            cluster_name: Some(CLUSTER.into()),
            broker_name: Some(BROKER_NAME.into()),
            applied_broker_id: Some(2),
            register_check_code: Some("127.0.0.1:1;1".into()),
        }),
        None,
    )
    .await;
    assert_eq!(apply.code, response_code::CONTROLLER_BROKER_ID_INVALID);
    // A raft RPC from another group is refused.
    let mut raft = RemotingCommand::request(6100).with_body(b"{}".to_vec());
    raft.ext_fields.insert("controllerGroup", "other");
    let answer = client.invoke(&addr, raft, CALL_TIMEOUT).await.unwrap();
    assert_eq!(answer.code, response_code::CONTROLLER_INVALID_REQUEST);
    // An unknown code.
    let answer = client
        .invoke(&addr, RemotingCommand::request(99_999), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer.code, response_code::REQUEST_CODE_NOT_SUPPORTED);
    // Config: read, a runtime change, a refused change.
    let config = call(
        &client,
        &addr,
        request_code::GET_CONTROLLER_CONFIG,
        None,
        None,
    )
    .await;
    assert!(String::from_utf8(config.body.to_vec())
        .unwrap()
        .contains("controllerDLegerGroup=test"));
    let update = call(
        &client,
        &addr,
        request_code::UPDATE_CONTROLLER_CONFIG,
        None,
        Some(b"enableElectUncleanMaster=true".to_vec()),
    )
    .await;
    assert_eq!(update.code, response_code::SUCCESS);
    let refused = call(
        &client,
        &addr,
        request_code::UPDATE_CONTROLLER_CONFIG,
        None,
        Some(b"controllerDLegerSelfId=n9".to_vec()),
    )
    .await;
    assert_eq!(refused.code, response_code::NO_PERMISSION);
    for node in group.nodes.iter().flatten() {
        assert!(node.config().enable_elect_unclean_master);
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_that_lost_its_store_catches_up_from_a_snapshot() {
    // A snapshot every 6 entries, so the leader has dropped the log the empty controller needs.
    let mut group = Group::start_with(3, "raftSnapshotLogEntries=6\n").await;
    let leader = group.leader().await;
    let leader_addr = group.addr(leader);
    let mut brokers = Vec::new();
    for expected in 1..=12 {
        let broker = Broker::start().await;
        assert_eq!(broker.join(&leader_addr).await, expected);
        brokers.push(broker);
    }
    let lost = (leader + 1) % 3;
    group.nodes[lost].take().unwrap().shutdown().await;
    std::fs::remove_dir_all(group.dirs[lost].path()).unwrap();
    std::fs::create_dir_all(group.dirs[lost].path()).unwrap();
    let listener = TcpListener::bind(group.addrs[lost]).await.unwrap();
    let restarted = group.start_node(lost, listener).await;
    let caught_up = eventually(Duration::from_secs(15), || async {
        restarted
            .with_state(|info| info.broker_set(BROKER_NAME).map(|s| s.brokers.len()))
            .filter(|n| *n == 12)
    })
    .await;
    assert_eq!(caught_up, Some(12));
    assert!(std::fs::metadata(group.dirs[lost].path().join("raft-snapshot.json")).is_ok());
    group.nodes[lost] = Some(restarted);
    for node in group.nodes.iter().flatten() {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_master_is_replaced_after_its_heartbeat_timeout() {
    // The master's connection stays open but its heartbeats stop (a hung process, a cut
    // link): the periodic scan replaces it once its 1 s timeout has passed.
    let group = Group::start_with(3, "scanNotActiveBrokerInterval=200\n").await;
    let leader = group.leader().await;
    let addr = group.addr(leader);
    let brokers = [Broker::start().await, Broker::start().await];
    for broker in &brokers {
        broker.join(&addr).await;
    }
    let elect = ElectMasterRequestHeader {
        cluster_name: CLUSTER.into(),
        broker_name: BROKER_NAME.into(),
        broker_id: 1,
        designate_elect: false,
        invoke_time: None,
    };
    let first = call(
        &brokers[0].client,
        &addr,
        request_code::CONTROLLER_ELECT_MASTER,
        Some(&elect),
        None,
    )
    .await;
    assert_eq!(first.code, response_code::SUCCESS);
    brokers[1]
        .heartbeat_with_timeout(&addr, 2, 1, 100, 60_000)
        .await;
    // The heartbeats are oneway on their own connections: retry the change until broker 2's
    // has been seen (CONTROLLER_BROKER_NOT_ALIVE before that).
    let (h, b) = (
        AlterSyncStateSetRequestHeader {
            broker_name: Some(BROKER_NAME.into()),
            master_broker_id: Some(1),
            master_epoch: Some(1),
            invoke_time: 0,
        },
        SyncStateSet {
            sync_state_set: BTreeSet::from([1, 2]),
            sync_state_set_epoch: 1,
        }
        .encode(),
    );
    let grown = eventually(Duration::from_secs(15), || async {
        let r = call(
            &brokers[0].client,
            &addr,
            request_code::CONTROLLER_ALTER_SYNC_STATE_SET,
            Some(&h),
            Some(b.clone()),
        )
        .await;
        (r.code == response_code::SUCCESS).then_some(r)
    })
    .await;
    assert!(grown.is_some(), "the SyncStateSet did not grow to {{1, 2}}");
    // Broker 1's last heartbeat, with a 1 s timeout; then it falls silent (2 keeps a long one).
    let silent_at = Instant::now();
    brokers[0]
        .heartbeat_with_timeout(&addr, 1, 1, 100, 1_000)
        .await;
    let replaced = eventually(Duration::from_secs(15), || async {
        let info = replica_info(&brokers[1].client, &addr).await;
        let header: GetReplicaInfoResponseHeader = info.decode_header().ok()?;
        (header.master_broker_id == Some(2)).then_some(header.master_epoch)
    })
    .await;
    assert_eq!(replaced, Some(Some(2)));
    // The controller heard the heartbeat after it was sent: no election before 1 s from here.
    let waited = silent_at.elapsed();
    assert!(
        waited >= Duration::from_millis(1_000),
        "replaced after {waited:?}, before the timeout"
    );
    for node in group.nodes.iter().flatten() {
        node.shutdown().await;
    }
}
