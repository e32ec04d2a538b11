//! Three real `petrel controller` processes on 127.0.0.1: the group elects a leader, keeps a
//! broker set's metadata when its leader is SIGKILLed, takes the killed controller back with
//! its own log, and recovers everything after every controller is killed at once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use petrel_protocol::remoting::header::{
    ApplyBrokerIdRequestHeader, CommandHeader, ElectMasterRequestHeader, GetMetaDataResponseHeader,
    GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader, GetReplicaInfoRequestHeader,
    GetReplicaInfoResponseHeader, RegisterBrokerToControllerRequestHeader,
};
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand};
use petrel_remoting::{RemotingClient, RemotingConfig};

const CLUSTER: &str = "DefaultCluster";
const BROKER_NAME: &str = "broker-a";
const READY_WITHIN: Duration = Duration::from_secs(30);
const LEADER_WITHIN: Duration = Duration::from_secs(20);

/// One `petrel controller` child; SIGKILLed when dropped.
struct ControllerProcess {
    child: Option<Child>,
    conf: PathBuf,
    addr: String,
    ready_line: String,
}

impl ControllerProcess {
    /// Starts `petrel controller --config conf` and waits for `petrel ready`; `None` if the
    /// process exits first (e.g. its port was taken in the meantime).
    fn start(conf: &Path, addr: &str) -> Option<ControllerProcess> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_petrel"))
            .args(["controller", "--config"])
            .arg(conf)
            .env(
                "RUST_LOG",
                std::env::var("PETREL_TEST_LOG").unwrap_or_else(|_| "warn,openraft=off".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn petrel controller");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + READY_WITHIN;
        let mut ready_line = String::new();
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line == "petrel ready" => break,
                Ok(line) => {
                    if line.starts_with("petrel controller ") && line.contains(" listening on ") {
                        ready_line = line;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
            }
        }
        Some(ControllerProcess {
            child: Some(child),
            conf: conf.to_path_buf(),
            addr: addr.to_string(),
            ready_line,
        })
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn restart(&mut self) {
        assert!(self.child.is_none());
        let again = ControllerProcess::start(&self.conf, &self.addr).expect("restarts on its port");
        *self = again;
    }

    /// SIGTERM, then the exit status (SIGKILL after 30 s).
    fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill(2) with our own unreaped child's pid touches no memory of ours.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Three controllers with their configs and stores under `dir`, on fresh ports (retried if a
/// port is taken between choosing and binding it).
fn start_group(dir: &Path) -> Vec<ControllerProcess> {
    for _attempt in 0..3 {
        let ports: Vec<u16> = (0..3)
            .map(|_| {
                std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
            })
            .collect();
        let peers = ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("n{i}-127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(";");
        let mut group = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let conf = dir.join(format!("controller-n{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "# as Apache's distribution/conf/controller/cluster-3n-independent\n\
                     controllerDLegerGroup = group1\n\
                     controllerDLegerPeers = {peers}\n\
                     controllerDLegerSelfId = n{i}\n\
                     controllerStorePath = {}\n",
                    dir.join(format!("store-n{i}")).display()
                ),
            )
            .unwrap();
            match ControllerProcess::start(&conf, &format!("127.0.0.1:{port}")) {
                Some(p) => group.push(p),
                None => break,
            }
        }
        if group.len() == 3 {
            return group;
        }
        for dir_entry in std::fs::read_dir(dir).unwrap() {
            let path = dir_entry.unwrap().path();
            if path.is_dir() {
                std::fs::remove_dir_all(path).unwrap();
            }
        }
    }
    panic!("could not start three controllers on free ports");
}

async fn call(
    client: &RemotingClient,
    addr: &str,
    code: i32,
    header: Option<&dyn Fn(&mut RemotingCommand)>,
) -> Option<RemotingCommand> {
    let mut request = RemotingCommand::request(code);
    if let Some(put) = header {
        put(&mut request);
    }
    client
        .invoke(addr, request, Duration::from_secs(5))
        .await
        .ok()
}

fn with<H: CommandHeader>(header: H) -> impl Fn(&mut RemotingCommand) {
    move |request: &mut RemotingCommand| header.encode(&mut request.ext_fields)
}

/// The leader's address, once one of `asked` reports a leader among `candidates`.
async fn leader(client: &RemotingClient, asked: &[&str], candidates: &[&str]) -> String {
    let deadline = Instant::now() + LEADER_WITHIN;
    loop {
        for addr in asked {
            let Some(r) = call(
                client,
                addr,
                request_code::CONTROLLER_GET_METADATA_INFO,
                None,
            )
            .await
            else {
                continue;
            };
            let meta: GetMetaDataResponseHeader = r.decode_header().unwrap();
            if let Some(leader) = meta.controller_leader_address {
                if candidates.contains(&leader.as_str()) {
                    // Confirm with the leader itself.
                    let Some(r) = call(
                        client,
                        &leader,
                        request_code::CONTROLLER_GET_METADATA_INFO,
                        None,
                    )
                    .await
                    else {
                        continue;
                    };
                    if r.decode_header::<GetMetaDataResponseHeader>()
                        .unwrap()
                        .is_leader
                    {
                        return leader;
                    }
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no leader among {candidates:?} within {LEADER_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends a leader-only request to the leader among `candidates`, again while the answer is
/// CONTROLLER_NOT_LEADER or no answer (leadership may move right after an election, as
/// brokers see too).
async fn on_leader(
    client: &RemotingClient,
    candidates: &[&str],
    code: i32,
    header: &dyn Fn(&mut RemotingCommand),
) -> RemotingCommand {
    let deadline = Instant::now() + LEADER_WITHIN;
    loop {
        let leader = leader(client, candidates, candidates).await;
        if let Some(r) = call(client, &leader, code, Some(header)).await {
            if r.code != response_code::CONTROLLER_NOT_LEADER {
                return r;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no stable leader among {candidates:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GET_NEXT_BROKER_ID then APPLY_BROKER_ID then REGISTER_BROKER for a broker at `address`.
async fn join(client: &RemotingClient, leader: &[&str], address: &str) -> i64 {
    let next = on_leader(
        client,
        leader,
        request_code::CONTROLLER_GET_NEXT_BROKER_ID,
        &with(GetNextBrokerIdRequestHeader {
            cluster_name: Some(CLUSTER.into()),
            broker_name: Some(BROKER_NAME.into()),
        }),
    )
    .await;
    assert_eq!(next.code, response_code::SUCCESS, "{:?}", next.remark);
    let id = next
        .decode_header::<GetNextBrokerIdResponseHeader>()
        .unwrap()
        .next_broker_id
        .unwrap();
    let apply = on_leader(
        client,
        leader,
        request_code::CONTROLLER_APPLY_BROKER_ID,
        &with(ApplyBrokerIdRequestHeader {
            cluster_name: Some(CLUSTER.into()),
            broker_name: Some(BROKER_NAME.into()),
            applied_broker_id: Some(id),
            register_check_code: Some(format!("{address};1700000000000")),
        }),
    )
    .await;
    assert_eq!(apply.code, response_code::SUCCESS, "{:?}", apply.remark);
    let register = on_leader(
        client,
        leader,
        request_code::CONTROLLER_REGISTER_BROKER,
        &with(RegisterBrokerToControllerRequestHeader {
            cluster_name: Some(CLUSTER.into()),
            broker_name: Some(BROKER_NAME.into()),
            broker_id: Some(id),
            broker_address: Some(address.into()),
            invoke_time: 0,
        }),
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

async fn replica_info(client: &RemotingClient, leader: &[&str]) -> GetReplicaInfoResponseHeader {
    let r = on_leader(
        client,
        leader,
        request_code::CONTROLLER_GET_REPLICA_INFO,
        &with(GetReplicaInfoRequestHeader {
            broker_name: Some(BROKER_NAME.into()),
        }),
    )
    .await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    r.decode_header().unwrap()
}

async fn next_broker_id(client: &RemotingClient, leader: &[&str]) -> i64 {
    let r = on_leader(
        client,
        leader,
        request_code::CONTROLLER_GET_NEXT_BROKER_ID,
        &with(GetNextBrokerIdRequestHeader {
            cluster_name: Some(CLUSTER.into()),
            broker_name: Some(BROKER_NAME.into()),
        }),
    )
    .await;
    r.decode_header::<GetNextBrokerIdResponseHeader>()
        .unwrap()
        .next_broker_id
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_survives_sigkill_of_its_leader_and_of_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let mut group = start_group(dir.path());
    for p in &group {
        assert!(
            p.ready_line
                .contains(&format!("listening on {} (group group1", p.addr)),
            "{}",
            p.ready_line
        );
    }
    let addrs: Vec<String> = group.iter().map(|p| p.addr.clone()).collect();
    let all: Vec<&str> = addrs.iter().map(String::as_str).collect();
    let client = RemotingClient::new(RemotingConfig::default(), None);

    // A leader; a broker set of two registers and its first requester becomes master.
    assert_eq!(join(&client, &all, "127.0.0.1:30911").await, 1);
    assert_eq!(join(&client, &all, "127.0.0.1:30921").await, 2);
    let elect = on_leader(
        &client,
        &all,
        request_code::CONTROLLER_ELECT_MASTER,
        &with(ElectMasterRequestHeader {
            cluster_name: CLUSTER.into(),
            broker_name: BROKER_NAME.into(),
            broker_id: 1,
            designate_elect: false,
            invoke_time: None,
        }),
    )
    .await;
    assert_eq!(elect.code, response_code::SUCCESS, "{:?}", elect.remark);
    let first_leader = leader(&client, &all, &all).await;

    // SIGKILL the leader: another answers 1005 as leader and still has the set.
    let killed = addrs.iter().position(|a| *a == first_leader).unwrap();
    group[killed].kill9();
    let survivors: Vec<&str> = all.iter().copied().filter(|a| *a != first_leader).collect();
    let second_leader = leader(&client, &survivors, &survivors).await;
    assert_ne!(second_leader, first_leader);
    let info = replica_info(&client, &survivors).await;
    assert_eq!(
        (info.master_broker_id, info.master_epoch),
        (Some(1), Some(1))
    );
    assert_eq!(info.master_address.as_deref(), Some("127.0.0.1:30911"));

    // The killed controller restarts on its own log and rejoins; a write made now reaches it.
    group[killed].restart();
    leader(&client, &[first_leader.as_str()], &survivors).await;
    assert_eq!(join(&client, &all, "127.0.0.1:30931").await, 3);

    // Every controller SIGKILLed at once, then restarted: the state is all there.
    for p in group.iter_mut() {
        p.kill9();
    }
    for p in group.iter_mut() {
        p.restart();
    }
    let info = replica_info(&client, &all).await;
    assert_eq!(
        (info.master_broker_id, info.master_epoch),
        (Some(1), Some(1))
    );
    assert_eq!(next_broker_id(&client, &all).await, 4);

    // SIGTERM stops a controller cleanly.
    for p in group.iter_mut() {
        assert!(p.stop().success());
    }
}

#[test]
fn a_bad_controller_conf_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("controller.conf");
    std::fs::write(
        &conf,
        "controllerDLegerGroup = group1\ncontrollerDLegerPeers = n0-127.0.0.1:9878\ncontrollerDLegerSelfId = n5\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .args(["controller", "--config"])
        .arg(&conf)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("controllerDLegerSelfId"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_server_runs_a_controller_when_its_config_asks() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.path().join("namesrv.conf");
    // Apache's distribution/conf/controller/cluster-3n-namesrv-plugin/namesrv-n0.conf, one peer.
    std::fs::write(
        &conf,
        format!(
            "#Namesrv config\nlistenPort = 9876\nenableControllerInNamesrv = true\n\n\
             #controller config\ncontrollerDLegerGroup = group1\n\
             controllerDLegerPeers = n0-127.0.0.1:{port}\ncontrollerDLegerSelfId = n0\n\
             controllerStorePath = {}\n",
            dir.path().join("store").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .args(["namesrv", "--listen", "127.0.0.1:0", "--config"])
        .arg(&conf)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut saw_controller = false;
    for line in stdout.lines() {
        let line = line.unwrap();
        saw_controller |= line.starts_with("petrel controller n0 listening on ");
        if line == "petrel ready" {
            break;
        }
    }
    assert!(saw_controller);
    let client = RemotingClient::new(RemotingConfig::default(), None);
    let addr = format!("127.0.0.1:{port}");
    assert_eq!(
        leader(&client, &[addr.as_str()], &[addr.as_str()]).await,
        addr
    );
    let _ = child.kill();
    let _ = child.wait();
}
