//! `petrel admin` (mqadmin's everyday commands): the real binary against a real `petrel serve`.
//! Every command's table and `--json` output, exit codes (1 for errors, 2 for usage errors),
//! consumer lag and offset resets, and a message's way out of a dead-letter queue.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::collections::BTreeSet;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use petrel_client::admin::Admin;
use petrel_client::{ClientConfig, Message, MessageQueue, Producer, ProducerConfig};
use petrel_protocol::message::decode_offset_msg_id;
use petrel_protocol::remoting::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, JsonBody, MessageModel,
    SubscriptionData,
};
use petrel_protocol::remoting::header::ConsumerSendMsgBackRequestHeader;
use petrel_protocol::remoting::{request_code as rc, response_code as code, RemotingCommand};
use serde_json::Value;
use support::{unique, Petrel};

/// Longest one `petrel admin` run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the server may take to make something visible (registration, dispatch, index).
const VISIBLE_TIMEOUT: Duration = Duration::from_secs(15);
/// Small store files: these tests keep a few messages, and the defaults preallocate over a
/// GiB per server (CommitLog segments, ConsumeQueue files, a 420 MB IndexFile).
const SMALL_STORE: &[&str] = &[
    "mappedFileSizeCommitLog=67108864",
    "mappedFileSizeConsumeQueue=120000",
    "maxHashSlotNum=10000",
    "maxIndexNum=40000",
];

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `petrel admin ARGS` (no `NAMESRV_ADDR` unless `env` sets it), killed after
/// [`RUN_TIMEOUT`].
fn petrel_admin_env(args: &[&str], env: Option<(&str, &str)>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_petrel"));
    cmd.arg("admin")
        .args(args)
        .env_remove("NAMESRV_ADDR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn petrel admin");
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

/// `petrel admin -n NAMESRV ARGS`.
fn admin(ns: &str, args: &[&str]) -> Run {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    petrel_admin_env(&all, None)
}

/// Runs a command that must succeed; returns its stdout.
fn ok(ns: &str, args: &[&str]) -> String {
    let r = admin(ns, args);
    assert_eq!(r.code, 0, "petrel admin {args:?} failed: {r:?}");
    r.stdout
}

/// Runs a command with `--json` that must succeed; returns the document.
fn ok_json(ns: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let text = ok(ns, &all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
}

/// Runs a command that must fail with `exit` and say `says` on stderr.
fn fails(ns: &str, args: &[&str], exit: i32, says: &str) -> Run {
    let r = admin(ns, args);
    assert_eq!(r.code, exit, "petrel admin {args:?}: {r:?}");
    assert!(
        r.stderr.contains(says),
        "petrel admin {args:?}: stderr lacks {says:?}: {}",
        r.stderr
    );
    r
}

/// Reruns `args` until it succeeds and `done` holds for its stdout.
fn eventually(ns: &str, args: &[&str], done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + VISIBLE_TIMEOUT;
    loop {
        let r = admin(ns, args);
        if r.code == 0 && done(&r.stdout) {
            return r.stdout;
        }
        assert!(
            Instant::now() < deadline,
            "petrel admin {args:?} never showed what was expected: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reruns `args` until it fails with exit code 1 saying `says` (e.g. after a deletion, which
/// brokers report to the name server asynchronously).
fn eventually_fails(ns: &str, args: &[&str], says: &str) {
    let deadline = Instant::now() + VISIBLE_TIMEOUT;
    loop {
        let r = admin(ns, args);
        if r.code == 1 && r.stderr.contains(says) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "petrel admin {args:?} never failed with {says:?}: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// [`eventually`] with `--json`.
fn eventually_json(ns: &str, args: &[&str], done: impl Fn(&Value) -> bool) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let text = eventually(ns, &all, |out| {
        serde_json::from_str::<Value>(out).is_ok_and(|v| done(&v))
    });
    serde_json::from_str(&text).unwrap()
}

/// Creates `topic` with `queues` queues and waits until the name server routes it.
fn create_topic(ns: &str, topic: &str, queues: u32) {
    let n = queues.to_string();
    ok(
        ns,
        &[
            "updateTopic",
            "-c",
            "DefaultCluster",
            "-t",
            topic,
            "-r",
            &n,
            "-w",
            &n,
        ],
    );
    eventually(ns, &["topicRoute", "-t", topic], |out| {
        out.lines().any(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.first() == Some(&"DefaultCluster") && cells.get(3) == Some(&n.as_str())
        })
    });
}

/// The data lines of a table (the header starts with `#`).
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

/// Local addresses nothing listens on (a freed ephemeral port could be taken by a server
/// another test starts; port 1 and 2 are not handed out).
const DEAD_NAMESRV: &str = "127.0.0.1:1";
const DEAD_BROKER: &str = "127.0.0.1:2";

const COMMANDS: [&str; 21] = [
    "updateTopic",
    "deleteTopic",
    "topicList",
    "topicRoute",
    "topicStatus",
    "clusterList",
    "brokerStatus",
    "updateSubGroup",
    "deleteSubGroup",
    "consumerProgress",
    "consumerConnection",
    "producerConnection",
    "queryMsgById",
    "queryMsgByKey",
    "queryMsgByOffset",
    "queryMsgByUniqueKey",
    "printMsg",
    "consumeMessage",
    "sendMessage",
    "resendMsgById",
    "resetOffsetByTime",
];

#[test]
fn help_lists_every_command_and_bad_flags_are_usage_errors() {
    let help = petrel_admin_env(&["--help"], None);
    assert_eq!(help.code, 0, "{help:?}");
    for c in COMMANDS {
        assert!(help.stdout.contains(c), "help lacks {c}: {}", help.stdout);
    }
    let ns = DEAD_NAMESRV.to_string();
    for bad in [
        &["noSuchCommand"][..],
        &["updateTopic", "-t", "T"], // neither -b nor -c
        &["updateTopic", "-c", "C", "-b", "b:1", "-t", "T"], // both
        &["updateTopic", "-c", "C", "-t", "T", "-p", "7"],
        &["updateTopic", "-c", "C", "-t", "T", "-r", "many"],
        &["topicRoute"],                           // no -t
        &["consumeMessage", "-t", "T", "-i", "0"], // -i needs -b
        &["consumeMessage", "-t", "T", "-c", "0"],
        &["resetOffsetByTime", "-g", "G", "-t", "T", "-s", "yesterday"],
        &["resendMsgById", "-i", "X"], // neither -g nor -t
        &["queryMsgByKey", "-t", "T", "-k", "k", "-m", "65"],
        &["printMsg", "-t", "T", "-c", "GBK"],
    ] {
        let r = admin(&ns, bad);
        assert_eq!(r.code, 2, "{bad:?} should be a usage error: {r:?}");
        assert!(r.stderr.starts_with("error:"), "{r:?}");
    }
}

#[test]
fn an_unreachable_name_server_is_a_clear_error() {
    let ns = DEAD_NAMESRV.to_string();
    let says = format!("cannot reach name server {ns}: connection refused");
    for args in [
        &["topicList"][..],
        &["clusterList"],
        &["topicRoute", "-t", "T"],
        &["topicStatus", "-t", "T"],
        &["updateTopic", "-c", "DefaultCluster", "-t", "T"],
        &["consumerProgress", "-g", "G"],
        &["consumerConnection", "-g", "G"],
        &["queryMsgByKey", "-t", "T", "-k", "k"],
        &["printMsg", "-t", "T"],
        &["sendMessage", "-t", "T", "-p", "x"],
        &["resendMsgById", "-g", "G", "-i", "X"],
        &["resetOffsetByTime", "-g", "G", "-t", "T", "-s", "now"],
    ] {
        fails(&ns, args, 1, &says);
    }
    // Without -n: NAMESRV_ADDR.
    let r = petrel_admin_env(&["topicList"], Some(("NAMESRV_ADDR", &ns)));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains(&says), "{r:?}");
    // An unreachable broker is named as such.
    let broker = DEAD_BROKER;
    fails(
        &ns,
        &["brokerStatus", "-b", broker],
        1,
        &format!("cannot reach broker {broker}: connection refused"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn topics_clusters_and_groups_are_managed() {
    let p = Petrel::start(SMALL_STORE);
    let ns = p.namesrv.as_str();

    // clusterList / brokerStatus show the one broker.
    let table = ok(ns, &["clusterList"]);
    let line = rows(&table)
        .into_iter()
        .find(|r| r.first().map(String::as_str) == Some("DefaultCluster"))
        .unwrap_or_else(|| panic!("{table}"));
    assert_eq!(line[1], "broker-a");
    assert_eq!(line[2], "0");
    assert_eq!(line[3], p.broker);
    assert_eq!(line.last().map(String::as_str), Some("true"));
    let doc = ok_json(ns, &["clusterList"]);
    assert_eq!(doc["brokers"][0]["addr"], p.broker.as_str());
    assert_eq!(doc["brokers"][0]["activated"], true);
    fails(
        ns,
        &["clusterList", "-c", "Nope"],
        1,
        "cluster Nope does not exist",
    );
    let status = ok(ns, &["brokerStatus", "-b", &p.broker]);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("brokerActive") && l.ends_with(": true")),
        "{status}"
    );
    let doc = ok_json(ns, &["brokerStatus", "-c", "DefaultCluster"]);
    assert!(doc[p.broker.as_str()]["putTps"].is_string(), "{doc}");

    // updateTopic on a cluster, then on one broker; the route and stats follow.
    let topic = unique("AdminTopic");
    create_topic(ns, &topic, 8);
    let topics = ok_json(ns, &["topicList"]);
    assert!(
        topics["topicList"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == topic.as_str()),
        "{topics}"
    );
    assert!(ok(ns, &["topicList"]).lines().any(|l| l == topic));
    let with_cluster = ok(ns, &["topicList", "-c"]);
    assert!(
        rows(&with_cluster)
            .iter()
            .any(|r| r == &vec!["DefaultCluster".to_string(), topic.clone()]),
        "{with_cluster}"
    );
    let route = ok_json(ns, &["topicRoute", "-t", &topic]);
    assert_eq!(route["queueDatas"][0]["readQueueNums"], 8);
    assert_eq!(route["queueDatas"][0]["perm"], 6);
    assert_eq!(
        route["brokerDatas"][0]["brokerAddrs"]["0"],
        p.broker.as_str()
    );
    let status = ok(ns, &["topicStatus", "-t", &topic]);
    let queues: Vec<_> = rows(&status)
        .into_iter()
        .filter(|r| r[0] == "broker-a")
        .collect();
    assert_eq!(queues.len(), 8, "{status}");
    assert!(
        queues.iter().all(|q| q[2] == "0" && q[3] == "0"),
        "{status}"
    );

    let updated = ok_json(
        ns,
        &[
            "updateTopic",
            "-b",
            &p.broker,
            "-t",
            &topic,
            "-r",
            "2",
            "-w",
            "2",
            "-p",
            "4",
        ],
    );
    assert_eq!(updated["brokers"][0], p.broker.as_str());
    assert_eq!(updated["readQueueNums"], 2);
    eventually_json(ns, &["topicRoute", "-t", &topic], |r| {
        r["queueDatas"][0]["writeQueueNums"] == 2 && r["queueDatas"][0]["perm"] == 4
    });
    fails(
        ns,
        &["updateTopic", "-c", "Nope", "-t", &topic],
        1,
        "cluster Nope does not exist (known clusters: DefaultCluster)",
    );

    // Ordered topics record their layout in the name server's order config.
    let ordered = unique("Ordered");
    let out = ok(
        ns,
        &[
            "updateTopic",
            "-c",
            "DefaultCluster",
            "-t",
            &ordered,
            "-w",
            "3",
            "-o",
            "true",
        ],
    );
    assert!(out.contains("orderConf=[broker-a:3]"), "{out}");
    let admin = Admin::start(ClientConfig::new(ns)).unwrap();
    assert_eq!(
        admin.order_conf(&ordered).await.unwrap().as_deref(),
        Some("broker-a:3")
    );

    // Subscription groups: created with the given settings, deleted back to nothing.
    let group = unique("AdminGroup");
    let out = ok(
        ns,
        &[
            "updateSubGroup",
            "-c",
            "DefaultCluster",
            "-g",
            &group,
            "-r",
            "5",
            "-q",
            "2",
        ],
    );
    assert!(
        out.contains(&format!(
            "create subscription group to {} success.",
            p.broker
        )),
        "{out}"
    );
    let config = admin.sub_group_config(&p.broker, &group).await.unwrap();
    assert_eq!((config.retry_max_times, config.retry_queue_nums), (5, 2));
    // setConsumeMode: kept by the broker in config/messageRequestMode.json.
    let out = ok(
        ns,
        &[
            "setConsumeMode",
            "-c",
            "DefaultCluster",
            "-t",
            &ordered,
            "-g",
            &group,
            "-m",
            "POP",
        ],
    );
    assert!(out.contains("consume mode[POP]"), "{out}");
    let modes = std::fs::read_to_string(p.data_dir.join("config/messageRequestMode.json")).unwrap();
    let modes: Value = serde_json::from_str(&modes).unwrap();
    assert_eq!(
        modes["messageRequestModeMap"][&ordered][&group]["mode"],
        "POP"
    );
    fails(
        ns,
        &[
            "setConsumeMode",
            "-b",
            &p.broker,
            "-t",
            &ordered,
            "-g",
            &group,
            "-m",
            "PUSH",
        ],
        2,
        "PUSH",
    );
    let out = ok(
        ns,
        &[
            "deleteSubGroup",
            "-b",
            &p.broker,
            "-g",
            &group,
            "-r",
            "true",
        ],
    );
    assert!(out.contains("success"), "{out}");
    // A deleted group reads back as a fresh default one (autoCreateSubscriptionGroup).
    let config = admin.sub_group_config(&p.broker, &group).await.unwrap();
    assert_eq!(config.retry_max_times, 16);
    admin.shutdown().await;

    // deleteTopic removes the route; unknown topics are clear errors.
    let out = ok(ns, &["deleteTopic", "-c", "DefaultCluster", "-t", &topic]);
    assert!(out.contains("from NameServer success"), "{out}");
    let gone = format!("topic {topic} does not exist");
    eventually_fails(ns, &["topicRoute", "-t", &topic], &gone);
    fails(ns, &["topicStatus", "-t", &topic], 1, &gone);
    fails(
        ns,
        &["deleteTopic", "-c", "DefaultCluster", "-t", &topic],
        1,
        &gone,
    );
    fails(ns, &["printMsg", "-t", &topic], 1, &gone);
}

#[test]
fn messages_are_sent_found_and_read_back() {
    let p = Petrel::start(SMALL_STORE);
    let ns = p.namesrv.as_str();
    let topic = unique("AdminMsgs");
    create_topic(ns, &topic, 2);

    // sendMessage: three to any queue, one to queue 1 with another tag.
    let mut sent = Vec::new();
    for i in 0..3 {
        let body = format!("hello-{i}");
        let key = format!("key-{i}");
        let doc = ok_json(
            ns,
            &[
                "sendMessage",
                "-t",
                &topic,
                "-p",
                &body,
                "-k",
                &key,
                "-c",
                "TagA",
            ],
        );
        assert_eq!(doc["sendStatus"], "SEND_OK", "{doc}");
        sent.push(doc);
    }
    let table = ok(
        ns,
        &[
            "sendMessage",
            "-t",
            &topic,
            "-p",
            "to-queue-1",
            "-c",
            "TagB",
            "-b",
            "broker-a",
            "-i",
            "1",
        ],
    );
    let row = &rows(&table)[0];
    assert_eq!(
        (row[0].as_str(), row[1].as_str(), row[2].as_str()),
        ("broker-a", "1", "SEND_OK")
    );
    let queue1_id = row[3].clone();

    // By key (the index is written asynchronously), by unique key, by offset id.
    let msg_id = sent[1]["msgId"].as_str().unwrap().to_string();
    let offset_id = sent[1]["offsetMsgId"].as_str().unwrap().to_string();
    let by_key = eventually(ns, &["queryMsgByKey", "-t", &topic, "-k", "key-1"], |out| {
        out.contains(&msg_id)
    });
    assert_eq!(rows(&by_key).len(), 1, "{by_key}");
    let doc = ok_json(ns, &["queryMsgByKey", "-t", &topic, "-k", "key-1"]);
    assert_eq!(doc["messages"][0]["body"], "hello-1");
    assert_eq!(doc["messages"][0]["keys"][0], "key-1");
    fails(
        ns,
        &["queryMsgByKey", "-t", &topic, "-k", "no-such-key"],
        1,
        &format!("no message with key no-such-key in topic {topic}"),
    );
    for id in [&msg_id, &offset_id] {
        let detail = ok(ns, &["queryMsgById", "-t", &topic, "-i", id]);
        assert!(
            detail.contains(&format!("MsgId:               {msg_id}")),
            "{detail}"
        );
        assert!(
            detail.contains(&format!("OffsetID:            {offset_id}")),
            "{detail}"
        );
        assert!(detail.contains("Message Body:        hello-1"), "{detail}");
        assert!(detail.contains("Tags:                [TagA]"), "{detail}");
    }
    let both = format!("{msg_id},{queue1_id}");
    let two = eventually_json(ns, &["queryMsgById", "-t", &topic, "-i", &both], |doc| {
        doc["messages"].as_array().is_some_and(|m| m.len() == 2)
    });
    assert_eq!(two["messages"][0]["body"], "hello-1");
    assert_eq!(two["messages"][1]["body"], "to-queue-1");
    let detail = ok(ns, &["queryMsgByUniqueKey", "-t", &topic, "-i", &msg_id]);
    assert!(detail.contains("Message Body:        hello-1"), "{detail}");
    fails(
        ns,
        &[
            "queryMsgById",
            "-t",
            &topic,
            "-i",
            "0A0000000000000000000000000000FF",
        ],
        1,
        "message not found",
    );

    // By queue offset.
    let doc = ok_json(
        ns,
        &[
            "queryMsgByOffset",
            "-t",
            &topic,
            "-b",
            "broker-a",
            "-i",
            "1",
            "-o",
            "0",
        ],
    );
    let first_on_1 = &doc["messages"][0];
    assert_eq!(
        (
            first_on_1["queueId"].as_i64(),
            first_on_1["queueOffset"].as_i64()
        ),
        (Some(1), Some(0))
    );
    fails(
        ns,
        &[
            "queryMsgByOffset",
            "-t",
            &topic,
            "-b",
            "broker-a",
            "-i",
            "1",
            "-o",
            "99",
        ],
        1,
        "no message at offset 99",
    );

    // printMsg reads everything, filtered by tag; consumeMessage reads a count or a queue.
    let all = ok_json(ns, &["printMsg", "-t", &topic]);
    let bodies: BTreeSet<&str> = all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        BTreeSet::from(["hello-0", "hello-1", "hello-2", "to-queue-1"])
    );
    let table = ok(ns, &["printMsg", "-t", &topic, "-s", "TagB"]);
    let lines = rows(&table);
    let messages: Vec<_> = lines
        .iter()
        .filter(|r| r.get(1).map(String::as_str) == Some("broker-a"))
        .collect();
    assert_eq!(messages.len(), 1, "{table}");
    assert_eq!(messages[0].last().map(String::as_str), Some("to-queue-1"));
    let two = ok_json(ns, &["consumeMessage", "-t", &topic, "-c", "2"]);
    assert_eq!(two["messages"].as_array().unwrap().len(), 2);
    assert_eq!(two["truncated"], true);
    let q1 = ok_json(
        ns,
        &[
            "consumeMessage",
            "-t",
            &topic,
            "-b",
            "broker-a",
            "-i",
            "1",
            "-o",
            "0",
        ],
    );
    let q1_msgs = q1["messages"].as_array().unwrap();
    assert!(q1_msgs.iter().all(|m| m["queueId"] == 1), "{q1}");
    assert!(q1_msgs.iter().any(|m| m["body"] == "to-queue-1"), "{q1}");
}

/// Registers `group` as a push consumer of `topic` over `admin`'s connection (its heartbeat).
async fn heartbeat_consumer(admin: &Admin, broker: &str, group: &str, topic: &str) -> String {
    let client_id = admin.instance().client_id().to_string();
    let data = HeartbeatData {
        client_id: client_id.clone(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            consume_type: Some(ConsumeType::ConsumePassively),
            message_model: Some(MessageModel::Clustering),
            consume_from_where: Some(ConsumeFromWhere::ConsumeFromFirstOffset),
            subscription_data_set: vec![SubscriptionData {
                topic: topic.into(),
                sub_string: "*".into(),
                ..Default::default()
            }],
            unit_mode: false,
        }],
        ..Default::default()
    };
    let r = admin
        .instance()
        .invoke(
            broker,
            RemotingCommand::request(rc::HEART_BEAT).with_body(data.encode()),
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);
    client_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consumer_progress_connections_and_offset_resets() {
    let p = Petrel::start(SMALL_STORE);
    let ns = p.namesrv.clone();
    let topic = unique("AdminLag");
    create_topic(&ns, &topic, 2);

    // Ten messages, five per queue, from a live producer group.
    let pgroup = unique("AdminPG");
    let producer = Producer::start(ClientConfig::new(&ns), ProducerConfig::new(&pgroup))
        .await
        .unwrap();
    for i in 0..10 {
        let mq = MessageQueue::new(&topic, "broker-a", i % 2);
        producer
            .send_to_queue(Message::new(&topic, format!("m{i}")), &mq)
            .await
            .unwrap();
    }
    // Sends are acknowledged before the queues show them (dispatch is asynchronous).
    eventually_json(&ns, &["topicStatus", "-t", &topic], |doc| {
        doc["queues"]
            .as_array()
            .is_some_and(|q| q.iter().all(|q| q["maxOffset"] == 5))
    });
    let producer_id = producer.instance().client_id().to_string();
    eventually(
        &ns,
        &["producerConnection", "-g", &pgroup, "-t", &topic],
        |out| out.contains(&producer_id),
    );
    fails(
        &ns,
        &["producerConnection", "-g", "NoSuchProducers", "-t", &topic],
        1,
        "producer group NoSuchProducers is not online",
    );

    // A consumer group that consumed 3 of queue 0 and all of queue 1.
    let group = unique("AdminCG");
    let admin = Admin::start(ClientConfig::new(&ns)).unwrap();
    let client_id = heartbeat_consumer(&admin, &p.broker, &group, &topic).await;
    admin
        .update_consumer_offset(
            &p.broker,
            &group,
            &MessageQueue::new(&topic, "broker-a", 0),
            3,
        )
        .await
        .unwrap();
    admin
        .update_consumer_offset(
            &p.broker,
            &group,
            &MessageQueue::new(&topic, "broker-a", 1),
            5,
        )
        .await
        .unwrap();

    let table = ok(&ns, &["consumerProgress", "-g", &group, "-t", &topic]);
    let lag: Vec<(String, String, String, String)> = rows(&table)
        .into_iter()
        .filter(|r| r[0] == topic)
        .map(|r| (r[2].clone(), r[3].clone(), r[4].clone(), r[5].clone()))
        .collect();
    let expected = |q: &str, b: &str, c: &str, d: &str| (q.into(), b.into(), c.into(), d.into());
    assert_eq!(
        lag,
        vec![expected("0", "5", "3", "2"), expected("1", "5", "5", "0")],
        "{table}"
    );
    assert!(table.contains("Consume Diff Total: 2"), "{table}");
    let doc = ok_json(&ns, &["consumerProgress", "-g", &group]);
    assert_eq!(doc["diffTotal"], 2, "{doc}");
    assert_eq!(doc["queues"][0]["consumerOffset"], 3);
    assert_eq!(doc["queues"][0]["brokerOffset"], 5);
    fails(
        &ns,
        &["consumerProgress", "-g", "NoSuchGroup"],
        1,
        "consumer group NoSuchGroup does not exist",
    );

    // Every group with a retry topic (made by the heartbeat), with members and lag.
    let all = eventually_json(&ns, &["consumerProgress"], |doc| {
        doc["groups"]
            .as_array()
            .is_some_and(|g| g.iter().any(|g| g["group"] == group.as_str()))
    });
    let mine = all["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == group.as_str())
        .unwrap();
    assert_eq!(mine["count"], 1, "{all}");
    assert_eq!(mine["diffTotal"], 2, "{all}");
    assert_eq!(mine["consumeType"], "PUSH");
    assert_eq!(mine["messageModel"], "CLUSTERING");

    // consumerConnection shows the member and what it subscribes.
    let table = ok(&ns, &["consumerConnection", "-g", &group]);
    assert!(table.contains(&client_id), "{table}");
    assert!(table.contains("Below is subscription:"), "{table}");
    assert!(
        rows(&table)
            .iter()
            .any(|r| r == &vec![topic.clone(), "*".into()]),
        "{table}"
    );
    assert!(table.contains("ConsumeType: CONSUME_PASSIVELY"), "{table}");
    assert!(table.contains("MessageModel: CLUSTERING"), "{table}");
    let doc = ok_json(&ns, &["consumerConnection", "-g", &group, "-b", &p.broker]);
    assert_eq!(doc["connections"][0]["clientId"], client_id.as_str());
    assert_eq!(doc["connections"][0]["language"], "JAVA");
    fails(
        &ns,
        &["consumerConnection", "-g", "NobodyHere"],
        1,
        "consumer group NobodyHere is not online",
    );

    // resetOffsetByTime: back to the start (lag 10), then to now (lag 0), then one queue to
    // an explicit offset.
    let reset = ok_json(
        &ns,
        &["resetOffsetByTime", "-g", &group, "-t", &topic, "-s", "0"],
    );
    let offsets: Vec<i64> = reset["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, [0, 0], "{reset}");
    let doc = ok_json(&ns, &["consumerProgress", "-g", &group, "-t", &topic]);
    assert_eq!(doc["diffTotal"], 10, "{doc}");
    let table = ok(
        &ns,
        &["resetOffsetByTime", "-g", &group, "-t", &topic, "-s", "now"],
    );
    assert_eq!(
        rows(&table)
            .iter()
            .filter(|r| r[0] == "broker-a")
            .map(|r| r[2].as_str())
            .collect::<Vec<_>>(),
        ["5", "5"],
        "{table}"
    );
    let doc = ok_json(&ns, &["consumerProgress", "-g", &group, "-t", &topic]);
    assert_eq!(doc["diffTotal"], 0, "{doc}");
    ok(
        &ns,
        &[
            "resetOffsetByTime",
            "-g",
            &group,
            "-t",
            &topic,
            "-s",
            "now",
            "-b",
            &p.broker,
            "-q",
            "0",
            "-o",
            "2",
        ],
    );
    let doc = ok_json(&ns, &["consumerProgress", "-g", &group, "-t", &topic]);
    assert_eq!(doc["diffTotal"], 3, "{doc}");
    assert_eq!(doc["queues"][0]["consumerOffset"], 2);
    fails(
        &ns,
        &[
            "resetOffsetByTime",
            "-g",
            "NoSuchGroup",
            "-t",
            &topic,
            "-s",
            "0",
        ],
        1,
        "consumer group NoSuchGroup does not exist",
    );
    fails(
        &ns,
        &[
            "resetOffsetByTime",
            "-g",
            &group,
            "-t",
            "NoSuchTopic",
            "-s",
            "0",
        ],
        1,
        "topic NoSuchTopic does not exist",
    );

    producer.shutdown().await;
    admin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_lettered_message_is_found_and_resent_to_its_topic() {
    let p = Petrel::start(SMALL_STORE);
    let ns = p.namesrv.clone();
    let topic = unique("Orders");
    create_topic(&ns, &topic, 1);
    let group = unique("OrderWorkers");
    let dlq = format!("%DLQ%{group}");

    // A message that its consumer gave up on: sent back with delay level -1, it goes straight
    // to the group's DLQ.
    let producer = Producer::start(ClientConfig::new(&ns), ProducerConfig::new(unique("pg")))
        .await
        .unwrap();
    let sent = producer
        .send(
            Message::new(&topic, "order-body")
                .with_tags("TagA")
                .with_keys(["order-42"])
                .with_property("color", "red"),
        )
        .await
        .unwrap();
    let (_, commit_log_offset) = decode_offset_msg_id(&sent.offset_msg_id).unwrap();
    let back = ConsumerSendMsgBackRequestHeader {
        offset: commit_log_offset,
        group: group.clone(),
        delay_level: -1,
        origin_msg_id: Some(sent.msg_id.clone()),
        origin_topic: Some(topic.clone()),
        ..Default::default()
    };
    let r = producer
        .instance()
        .invoke(
            &p.broker,
            RemotingCommand::request(rc::CONSUMER_SEND_MSG_BACK).with_header(&back),
        )
        .await
        .unwrap();
    assert_eq!(r.code, code::SUCCESS, "{:?}", r.remark);

    // printMsg and the queries see it in the DLQ, with where it came from.
    let printed = eventually_json(&ns, &["printMsg", "-t", &dlq], |doc| {
        doc["messages"].as_array().is_some_and(|m| m.len() == 1)
    });
    let dead = &printed["messages"][0];
    assert_eq!(dead["body"], "order-body");
    assert_eq!(dead["msgId"], sent.msg_id.as_str());
    assert_eq!(dead["properties"]["DLQ_ORIGIN_TOPIC"], topic.as_str());
    let by_key = eventually(
        &ns,
        &["queryMsgByKey", "-t", &dlq, "-k", "order-42"],
        |out| out.contains(&sent.msg_id),
    );
    assert_eq!(rows(&by_key).len(), 1, "{by_key}");
    let detail = ok(&ns, &["queryMsgById", "-t", &dlq, "-i", &sent.msg_id]);
    assert!(
        detail.contains(&format!("Topic:               {dlq}")),
        "{detail}"
    );
    assert!(
        detail.contains(&format!("DLQ_ORIGIN_TOPIC={topic}")),
        "{detail}"
    );

    // Mistakes are refused before anything is sent.
    fails(
        &ns,
        &[
            "resendMsgById",
            "-g",
            &group,
            "-i",
            "0A0000000000000000000000000000FF",
        ],
        1,
        "message not found",
    );
    fails(
        &ns,
        &["resendMsgById", "-t", &topic, "-i", &sent.msg_id],
        1,
        "has no original topic",
    );

    // resendMsgById puts it back into its topic: same id, body, keys and user properties,
    // none of the DLQ bookkeeping.
    let resent = ok_json(&ns, &["resendMsgById", "-g", &group, "-i", &sent.msg_id]);
    assert_eq!(resent["resent"][0]["toTopic"], topic.as_str(), "{resent}");
    assert_eq!(resent["resent"][0]["fromTopic"], dlq.as_str());
    assert_eq!(resent["resent"][0]["msgId"], sent.msg_id.as_str());
    assert_eq!(resent["resent"][0]["sendStatus"], "SEND_OK");
    let read = eventually_json(&ns, &["consumeMessage", "-t", &topic], |doc| {
        doc["messages"].as_array().is_some_and(|m| m.len() == 2)
    });
    let again = &read["messages"][1];
    assert_eq!(again["queueOffset"], 1);
    assert_eq!(again["body"], "order-body");
    assert_eq!(again["msgId"], sent.msg_id.as_str());
    assert_eq!(again["tags"], "TagA");
    assert_eq!(again["keys"][0], "order-42");
    assert_eq!(again["properties"]["color"], "red");
    assert_eq!(again["reconsumeTimes"], 0);
    for gone in [
        "DLQ_ORIGIN_TOPIC",
        "DLQ_ORIGIN_MESSAGE_ID",
        "RETRY_TOPIC",
        "ORIGIN_MESSAGE_ID",
    ] {
        assert!(again["properties"].get(gone).is_none(), "{gone}: {again}");
    }
    producer.shutdown().await;
}
