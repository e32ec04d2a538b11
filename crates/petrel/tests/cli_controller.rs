//! `petrel admin`'s controller-mode commands (mqadmin's getControllerMetaData,
//! getSyncStateSet, getBrokerEpoch, electMaster, getControllerConfig, updateControllerConfig,
//! cleanBrokerMetadata): the real binary against three real `petrel controller`s (one raft
//! group) and, for the broker side, a name server and a `petrel broker` in controller mode.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cluster::Node;

/// Longest one `petrel admin` run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the controllers may take to elect a leader, or a broker to register and become
/// master.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `petrel admin ARGS`, killed after [`RUN_TIMEOUT`].
fn admin(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .arg("admin")
        .args(args)
        .env_remove("NAMESRV_ADDR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn petrel admin");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("petrel admin {args:?} did not finish in {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Runs a command that must succeed; returns its stdout.
fn ok(args: &[&str]) -> String {
    let r = admin(args);
    assert_eq!(r.code, 0, "petrel admin {args:?} failed: {r:?}");
    r.stdout
}

/// Runs a command that must fail with exit code 1 and say `says` on stderr.
fn fails(args: &[&str], says: &str) -> Run {
    let r = admin(args);
    assert_eq!(r.code, 1, "petrel admin {args:?}: {r:?}");
    assert!(
        r.stderr.contains(says),
        "petrel admin {args:?}: stderr lacks {says:?}: {}",
        r.stderr
    );
    r
}

/// Reruns `args` until it succeeds and `done` holds for its stdout.
fn eventually(args: &[&str], done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let r = admin(args);
        if r.code == 0 && done(&r.stdout) {
            return r.stdout;
        }
        assert!(
            Instant::now() < deadline,
            "petrel admin {args:?} never showed what was expected: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `petrel admin ARGS` (a command repeating with `-i`) until its stdout has shown
/// `marker` at the start of `rounds` lines, then kills it; returns what it printed.
fn watch(args: &[&str], marker: &str, rounds: usize) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .arg("admin")
        .args(args)
        .env_remove("NAMESRV_ADDR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn petrel admin");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + RUN_TIMEOUT;
    let mut text = String::new();
    let mut seen = 0;
    while seen < rounds {
        let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "petrel admin {args:?} showed {seen} of {rounds} rounds in {RUN_TIMEOUT:?}: {text}"
            );
        };
        if line.starts_with(marker) {
            seen += 1;
        }
        text.push_str(&line);
        text.push('\n');
    }
    let _ = child.kill();
    let _ = child.wait();
    text
}

/// The value of a `#Key  value` line.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(&format!("#{key} "))?;
        Some(rest.trim())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback port `p` with `p - 2` (the fast port) and `p + 1` (the HA port) free too.
fn free_broker_port() -> u16 {
    for _ in 0..200 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if !(1100..=65_000).contains(&p) {
            continue;
        }
        if [p - 2, p + 1]
            .iter()
            .all(|q| TcpListener::bind(("127.0.0.1", *q)).is_ok())
        {
            return p;
        }
    }
    panic!("no free port triple");
}

/// Three `petrel controller`s of one group on ephemeral loopback ports.
struct Controllers {
    _nodes: Vec<Node>,
    addrs: Vec<String>,
    /// `controllerDLegerPeers`.
    peers: String,
}

impl Controllers {
    fn start(dir: &Path) -> Controllers {
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let peers = ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("n{i}-127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(";");
        let nodes = (0..3)
            .map(|i| {
                let conf = dir.join(format!("controller-n{i}.conf"));
                std::fs::write(
                    &conf,
                    format!(
                        "controllerDLegerGroup = group1\ncontrollerDLegerPeers = {peers}\n\
                         controllerDLegerSelfId = n{i}\ncontrollerStorePath = {}\n",
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
        Controllers {
            _nodes: nodes,
            addrs: ports.iter().map(|p| format!("127.0.0.1:{p}")).collect(),
            peers,
        }
    }

    /// All three, `;`-separated, as `-a` takes them.
    fn list(&self) -> String {
        self.addrs.join(";")
    }

    /// Waits until the group has a leader; returns its address.
    fn leader(&self) -> String {
        let out = eventually(&["getControllerMetaData", "-a", &self.addrs[0]], |out| {
            field(out, "ControllerLeaderAddress").is_some_and(|a| a.starts_with("127.0.0.1:"))
        });
        field(&out, "ControllerLeaderAddress").unwrap().to_string()
    }
}

#[test]
fn controller_commands_name_the_leader_its_config_and_unknown_broker_sets() {
    let dir = tempfile::tempdir().unwrap();
    let controllers = Controllers::start(dir.path());

    // getControllerMetaData: the group, a leader among the three, every peer.
    let leader = controllers.leader();
    assert!(controllers.addrs.contains(&leader), "leader {leader}");
    let out = ok(&["getControllerMetaData", "-a", &controllers.addrs[1]]);
    assert_eq!(field(&out, "ControllerGroup"), Some("group1"), "{out}");
    let peers: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("#Peer"))
        .map(str::trim)
        .collect();
    assert_eq!(peers.len(), 3, "{out}");
    for (i, addr) in controllers.addrs.iter().enumerate() {
        assert!(
            peers
                .iter()
                .any(|p| p.starts_with(&format!("n{i}")) && p.ends_with(addr.as_str())),
            "n{i} at {addr} missing: {out}"
        );
    }
    let out = ok(&["--json", "getControllerMetaData", "-a", &leader]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["isLeader"], true, "{out}");
    assert_eq!(doc["controllerLeaderAddress"], leader.as_str(), "{out}");

    // getSyncStateSet of a broker name no broker registered: a clear answer, exit 1.
    fails(
        &[
            "getSyncStateSet",
            "-a",
            &controllers.list(),
            "-b",
            "no-such-broker",
        ],
        "has no data for broker name no-such-broker",
    );

    // getControllerConfig: each controller's configuration, its peers among it.
    let out = ok(&["getControllerConfig", "-a", &controllers.list()]);
    for addr in &controllers.addrs {
        assert!(
            out.contains(&format!("============{addr}============")),
            "{out}"
        );
    }
    let peers_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("controllerDLegerPeers"))
        .collect();
    assert_eq!(peers_lines.len(), 3, "{out}");
    for line in peers_lines {
        assert!(
            line.ends_with(&format!("= {}", controllers.peers)),
            "{line}"
        );
    }

    // updateControllerConfig: a key that changes at run time, on every controller listed; a
    // key that does not is refused with what to do instead.
    let out = ok(&[
        "updateControllerConfig",
        "-a",
        &controllers.list(),
        "-k",
        "enableElectUncleanMaster",
        "-v",
        "true",
    ]);
    assert!(
        out.starts_with("update controller config success!"),
        "{out}"
    );
    for addr in &controllers.addrs {
        let out = ok(&["getControllerConfig", "-a", addr]);
        assert!(
            out.lines()
                .any(|l| l.starts_with("enableElectUncleanMaster ") && l.ends_with("= true")),
            "{out}"
        );
    }
    fails(
        &[
            "updateControllerConfig",
            "-a",
            &controllers.addrs[0],
            "-k",
            "controllerDLegerGroup",
            "-v",
            "g2",
        ],
        "NO_PERMISSION (16)",
    );

    // Broker sets nobody registered: each refusal is the controller's code, exit code 1.
    fails(
        &[
            "electMaster",
            "-a",
            &controllers.list(),
            "-c",
            "DefaultCluster",
            "--bn",
            "no-such-broker",
            "-b",
            "1",
        ],
        "CONTROLLER_BROKER_NEED_TO_BE_REGISTERED (2010)",
    );
    fails(
        &[
            "cleanBrokerMetadata",
            "-a",
            &controllers.list(),
            "--bn",
            "no-such-broker",
            "-c",
            "DefaultCluster",
        ],
        "CONTROLLER_INVALID_CLEAN_BROKER_METADATA (2009)",
    );

    // Wrong addresses say what to check.
    let nobody = format!("127.0.0.1:{}", free_port());
    fails(
        &["getControllerMetaData", "-a", &nobody],
        &format!("no controller answered at {nobody}: connection refused (is `petrel controller` running there?"),
    );
}

/// The broker name of the controller-mode broker below.
const BROKER_NAME: &str = "broker-ctl";

/// `petrel broker` in controller mode on free loopback ports (remoting, fast, HA).
fn start_broker(namesrv: &str, data_dir: &Path, controllers: &Controllers) -> Node {
    let port = free_broker_port();
    let mut args: Vec<String> = vec![
        "broker".into(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--namesrv".into(),
        namesrv.into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
    ];
    for s in [
        "mappedFileSizeCommitLog=8388608".to_string(),
        "maxHashSlotNum=50000".into(),
        "maxIndexNum=200000".into(),
        format!("brokerName={BROKER_NAME}"),
        "enableControllerMode=true".into(),
        format!("controllerAddr={}", controllers.list()),
        "brokerIP1=127.0.0.1".into(),
    ] {
        args.push("--set".into());
        args.push(s);
    }
    Node::spawn(args)
}

#[test]
fn a_controller_mode_broker_is_its_sets_master_at_epoch_one() {
    let dir = tempfile::tempdir().unwrap();
    let controllers = Controllers::start(dir.path());
    controllers.leader();
    let namesrv = Node::namesrv();
    let broker = start_broker(&namesrv.addr, &dir.path().join("broker"), &controllers);
    let list = controllers.list();

    // getSyncStateSet: the only broker of the set is its master (controller broker id 1, the
    // first id), alone and alive in the SyncStateSet, at master epoch 1.
    let out = eventually(
        &["getSyncStateSet", "-a", &list, "-b", BROKER_NAME],
        |out| field(out, "MasterAddr") == Some(broker.addr.as_str()),
    );
    assert_eq!(field(&out, "MasterBrokerId"), Some("1"), "{out}");
    assert_eq!(field(&out, "MasterEpoch"), Some("1"), "{out}");
    assert_eq!(field(&out, "SyncStateSetNums"), Some("1"), "{out}");
    let in_sync: Vec<&str> = out.lines().filter(|l| l.starts_with("InSync ")).collect();
    assert_eq!(in_sync.len(), 1, "{out}");
    assert_eq!(
        in_sync[0].split_whitespace().collect::<Vec<_>>(),
        ["InSync", "1", broker.addr.as_str(), "true"],
        "{out}"
    );

    // The same through the name server's cluster list (-c), with a name the controller does
    // not know reported, not fatal, when another is known.
    let ns = namesrv.addr.as_str();
    let out = eventually(
        &[
            "-n",
            ns,
            "--json",
            "getSyncStateSet",
            "-a",
            &list,
            "-c",
            "DefaultCluster",
        ],
        |out| out.contains(BROKER_NAME),
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    let set = &doc["replicasInfoTable"][BROKER_NAME];
    assert_eq!(set["masterBrokerId"], 1, "{out}");
    assert_eq!(set["masterAddress"], broker.addr.as_str(), "{out}");

    // getBrokerEpoch: the broker (found through the name server) started epoch 1 at offset 0.
    let out = eventually(&["-n", ns, "getBrokerEpoch", "-b", BROKER_NAME], |out| {
        field(out, "BrokerAddr") == Some(broker.addr.as_str())
    });
    assert_eq!(field(&out, "BrokerName"), Some(BROKER_NAME), "{out}");
    assert_eq!(field(&out, "BrokerId"), Some("1"), "{out}");
    let max_offset = field(&out, "MaxOffset").unwrap().to_string();
    let epochs: Vec<Vec<&str>> = out
        .lines()
        .skip_while(|l| !l.starts_with("#Epoch"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(epochs, vec![vec!["1", "0", max_offset.as_str()]], "{out}");
    let doc: Value = serde_json::from_str(&ok(&[
        "-n",
        ns,
        "--json",
        "getBrokerEpoch",
        "-c",
        "DefaultCluster",
    ]))
    .unwrap();
    assert_eq!(doc["brokers"][0]["epochList"][0]["epoch"], 1, "{doc}");

    // -i: a round every second until interrupted.
    let rounds = watch(
        &["getSyncStateSet", "-a", &list, "-b", BROKER_NAME, "-i", "1"],
        "#MasterAddr",
        2,
    );
    assert_eq!(
        rounds
            .matches(&format!(
                "#MasterBrokerId     1\n#MasterAddr         {}",
                broker.addr
            ))
            .count(),
        2,
        "{rounds}"
    );

    // cleanBrokerMetadata of a set whose broker is alive: refused unless -l.
    fails(
        &[
            "cleanBrokerMetadata",
            "-a",
            &list,
            "--bn",
            BROKER_NAME,
            "-c",
            "DefaultCluster",
        ],
        "is still alive",
    );

    // electMaster: the master already is broker 1; broker 9 does not exist. Each refusal is
    // the controller's code and remark, exit code 1.
    fails(
        &[
            "electMaster",
            "-a",
            &list,
            "-c",
            "DefaultCluster",
            "--bn",
            BROKER_NAME,
            "-b",
            "1",
        ],
        "CONTROLLER_MASTER_STILL_EXIST (2011)",
    );
    fails(
        &[
            "electMaster",
            "-a",
            &list,
            "-c",
            "DefaultCluster",
            "--bn",
            BROKER_NAME,
            "-b",
            "9",
        ],
        "CONTROLLER_ELECT_MASTER_FAILED (2012)",
    );
}
