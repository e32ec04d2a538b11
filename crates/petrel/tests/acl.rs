//! Authentication and authorization (ACL 2.0, and ACL 1.0's plain_acl.yml converted) against a
//! real `petrel serve`: petrel-client signs as RocketMQ's `AclClientRPCHook` does; right keys
//! are accepted; a wrong secret, an unknown key, a missing permission, an unlisted source
//! address and an unsigned request are each refused with NO_PERMISSION (16), Apache's code,
//! and a remark that says why; users and ACLs are managed with `petrel admin` and survive a
//! restart.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod support;

use std::process::Command;

use petrel_auth::model::{PolicyEntryInfo, PolicyInfo};
use petrel_auth::{AclInfo, UserInfo};
use petrel_client::admin::Admin;
use petrel_client::{ClientConfig, Message, Producer, ProducerConfig, SessionCredentials};
use petrel_protocol::remoting::response_code as code;
use support::client::create_topic_at;
use support::{unique, Petrel};

const ROOT: (&str, &str) = ("root", "root-secret-1");
const ALICE: (&str, &str) = ("alice", "alice-secret-1");

fn config(p: &Petrel, keys: Option<(&str, &str)>) -> ClientConfig {
    ClientConfig {
        credentials: keys.map(|(a, s)| SessionCredentials::new(a, s)),
        ..ClientConfig::new(&p.namesrv)
    }
}

async fn producer(p: &Petrel, keys: Option<(&str, &str)>) -> Producer {
    let mut pc = ProducerConfig::new(unique("pg"));
    pc.retry_times_when_send_failed = 0;
    Producer::start(config(p, keys), pc).await.unwrap()
}

/// Sends one message; the refusal's response code and text, or `None` when it was stored.
async fn send(producer: &Producer, topic: &str) -> Option<(i32, String)> {
    match producer.send(Message::new(topic, b"hello".to_vec())).await {
        Ok(_) => None,
        Err(e) => Some((e.response_code().unwrap_or(-1), e.to_string())),
    }
}

fn entry(resource: &str, actions: &[&str], ips: &[&str], decision: &str) -> PolicyEntryInfo {
    PolicyEntryInfo {
        resource: Some(resource.into()),
        actions: actions.iter().map(|s| s.to_string()).collect(),
        source_ips: ips.iter().map(|s| s.to_string()).collect(),
        decision: Some(decision.into()),
    }
}

fn admin_cli(p: &Petrel, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_petrel"))
        .arg("admin")
        .args(["-n", &p.namesrv])
        .args(args)
        .env_remove("PETREL_ACCESS_KEY")
        .env_remove("PETREL_SECRET_KEY")
        .output()
        .unwrap()
}

fn init_user() -> String {
    format!(
        r#"initAuthenticationUser={{"username":"{}","password":"{}"}}"#,
        ROOT.0, ROOT.1
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_requests_pass_and_every_refusal_is_no_permission() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let init = init_user();
    let sets = [
        "authenticationEnabled=true",
        "authorizationEnabled=true",
        init.as_str(),
    ];
    let mut p = Petrel::start_in(&data, &sets);

    // The super user creates the topics, a normal user and its rules.
    let root = producer(&p, Some(ROOT)).await;
    let (t_ok, t_other, t_ip) = (unique("acl-ok"), unique("acl-other"), unique("acl-ip"));
    for t in [&t_ok, &t_other, &t_ip] {
        create_topic_at(&root, &p.broker, t, 2).await;
    }
    assert_eq!(
        send(&root, &t_other).await,
        None,
        "a super user may do anything"
    );
    let admin = Admin::start(config(&p, Some(ROOT))).unwrap();
    let user = UserInfo {
        username: Some(ALICE.0.into()),
        password: Some(ALICE.1.into()),
        ..Default::default()
    };
    admin.put_user(&p.broker, true, &user).await.unwrap();
    let acl = AclInfo {
        subject: Some(format!("User:{}", ALICE.0)),
        policies: vec![PolicyInfo {
            policy_type: None,
            entries: vec![
                entry(&format!("Topic:{t_ok}"), &["Pub"], &[], "Allow"),
                entry(&format!("Topic:{t_ip}"), &["Pub"], &["10.0.0.0/8"], "Allow"),
                entry("Group:*", &["Sub"], &[], "Allow"),
            ],
        }],
    };
    admin.put_acl(&p.broker, true, &acl).await.unwrap();

    // Right keys: stored.
    let alice = producer(&p, Some(ALICE)).await;
    assert_eq!(send(&alice, &t_ok).await, None);

    // Missing permission.
    let (c, text) = send(&alice, &t_other).await.unwrap();
    assert_eq!(c, code::NO_PERMISSION, "{text}");
    assert!(
        text.contains(&format!(
            "User:alice has no permission to access Topic:{t_other} from 127.0.0.1, no matched policies. (action needed: Pub)"
        )),
        "{text}"
    );
    // Unlisted source address.
    let (c, text) = send(&alice, &t_ip).await.unwrap();
    assert_eq!(c, code::NO_PERMISSION, "{text}");
    assert!(
        text.contains(&format!("Topic:{t_ip} from 127.0.0.1")),
        "{text}"
    );
    // Wrong secret.
    let wrong = producer(&p, Some((ALICE.0, "not-the-secret"))).await;
    let (c, text) = send(&wrong, &t_ok).await.unwrap();
    assert_eq!(c, code::NO_PERMISSION, "{text}");
    assert!(text.contains("check signature failed."), "{text}");
    // Unknown key.
    let mallory = producer(&p, Some(("mallory", "whatever"))).await;
    let (c, text) = send(&mallory, &t_ok).await.unwrap();
    assert_eq!(c, code::NO_PERMISSION, "{text}");
    assert!(text.contains("User:mallory is not found."), "{text}");
    // No keys at all.
    let anonymous = producer(&p, None).await;
    let (c, text) = send(&anonymous, &t_ok).await.unwrap();
    assert_eq!(c, code::NO_PERMISSION, "{text}");
    assert!(text.contains("username cannot be null."), "{text}");

    // A normal user may not manage users (Cluster Update), nor create super users.
    let alice_admin = Admin::start(config(&p, Some(ALICE))).unwrap();
    let err = alice_admin.list_users(&p.broker, None).await.unwrap_err();
    assert_eq!(err.response_code(), Some(code::NO_PERMISSION), "{err}");
    // She may read the broker's config (a valid signature is enough, as in Apache), which
    // does not carry the initial user's password.
    let response = alice_admin
        .instance()
        .invoke_ok(
            &p.broker,
            petrel_protocol::remoting::RemotingCommand::request(
                petrel_protocol::remoting::request_code::GET_BROKER_CONFIG,
            ),
        )
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&response.body);
    assert!(
        text.contains(r#"initAuthenticationUser={"password":"***","username":"root"}"#),
        "{text}"
    );
    assert!(!text.contains(ROOT.1), "{text}");

    // petrel admin: with keys it lists, without it is refused.
    let root_flags = ["--access-key", ROOT.0, "--secret-key", ROOT.1];
    let out = admin_cli(
        &p,
        &[&["listUser", "-b", &p.broker][..], &root_flags].concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("alice") && listed.contains("root"),
        "{listed}"
    );
    let out = admin_cli(&p, &["listUser", "-b", &p.broker]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NO_PERMISSION"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // createAcl from the command line lets alice send to the other topic.
    let subject = format!("User:{}", ALICE.0);
    let resource = format!("Topic:{t_other}");
    let out = admin_cli(
        &p,
        &[
            &[
                "createAcl",
                "-b",
                &p.broker,
                "-s",
                &subject,
                "-r",
                &resource,
                "-a",
                "Pub",
                "-d",
                "Allow",
            ][..],
            &root_flags,
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(send(&alice, &t_other).await, None);
    // A Deny on the same resource wins.
    let out = admin_cli(
        &p,
        &[
            &[
                "updateAcl",
                "-b",
                &p.broker,
                "-s",
                &subject,
                "-r",
                &resource,
                "-a",
                "Pub",
                "-d",
                "Deny",
            ][..],
            &root_flags,
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (c, text) = send(&alice, &t_other).await.unwrap();
    assert_eq!(c, code::NO_PERMISSION, "{text}");
    assert!(text.contains("the decision is deny."), "{text}");

    for x in [&root, &alice, &wrong, &mallory, &anonymous] {
        x.shutdown().await;
    }
    admin.shutdown().await;
    alice_admin.shutdown().await;

    // Users and ACLs survive a restart (config/authUsers.json, authAcls.json).
    assert!(p.stop().success());
    let p = Petrel::start_in(&data, &sets);
    let alice = producer(&p, Some(ALICE)).await;
    assert_eq!(send(&alice, &t_ok).await, None);
    let (c, _) = send(&alice, &t_other).await.unwrap();
    assert_eq!(c, code::NO_PERMISSION);
    alice.shutdown().await;
}

/// ACL 1.0: a 4.x `plain_acl.yml` is converted at start; its accounts sign in unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_acl_yml_accounts_migrate_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let yml = tmp.path().join("plain_acl.yml");
    let plain_acl = r#"
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicB=PUB|SUB
  - accessKey: rocketmq2
    secretKey: 12345678
    admin: true
"#;
    std::fs::write(&yml, plain_acl).unwrap();
    let file = format!("aclPlainFile={}", yml.display());
    let p = Petrel::start(&["aclEnable=true", &file]);
    let admin = producer(&p, Some(("rocketmq2", "12345678"))).await;
    create_topic_at(&admin, &p.broker, "topicB", 1).await;
    create_topic_at(&admin, &p.broker, "topicX", 1).await;
    let normal = producer(&p, Some(("RocketMQ", "12345678"))).await;
    assert_eq!(send(&normal, "topicB").await, None);
    let (c, text) = send(&normal, "topicX").await.unwrap();
    assert_eq!(c, code::NO_PERMISSION, "{text}");
    assert!(text.contains("the decision is deny."), "{text}");
    let wrong = producer(&p, Some(("RocketMQ", "1234567"))).await;
    assert_eq!(send(&wrong, "topicB").await.unwrap().0, code::NO_PERMISSION);
    for x in [&admin, &normal, &wrong] {
        x.shutdown().await;
    }
}

/// A slave copies its master's metadata (topics, groups, offsets) with the broker's own
/// credentials (`innerClientAuthenticationCredentials`, a super user on both) while the master
/// authenticates every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_copies_an_authenticating_masters_metadata_with_the_inner_credentials() {
    use petrel_protocol::remoting::body::{JsonBody, TopicConfigSerializeWrapper};
    use petrel_protocol::remoting::{request_code as rc, RemotingCommand};
    use support::cluster::Node;

    let (m_dir, s_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ns = Node::namesrv();
    let broker_name = format!("brokerName={}", unique("rb"));
    let init = init_user();
    let inner = r#"innerClientAuthenticationCredentials={"accessKey":"inner","secretKey":"inner-secret-1"}"#;
    let auth = [
        "authenticationEnabled=true",
        "authorizationEnabled=true",
        init.as_str(),
        inner,
    ];
    let master = Node::broker(
        &ns.addr,
        m_dir.path(),
        &[
            &[broker_name.as_str(), "brokerRole=ASYNC_MASTER"][..],
            &auth,
        ]
        .concat(),
    );
    let slave = Node::broker(
        &ns.addr,
        s_dir.path(),
        &[
            &[broker_name.as_str(), "brokerRole=SLAVE", "brokerId=1"][..],
            &auth,
        ]
        .concat(),
    );
    let root = Producer::start(
        ClientConfig {
            credentials: Some(SessionCredentials::new(ROOT.0, ROOT.1)),
            ..ClientConfig::new(&ns.addr)
        },
        ProducerConfig::new(unique("pg")),
    )
    .await
    .unwrap();
    let topic = unique("acl-replicated");
    create_topic_at(&root, &master.addr, &topic, 2).await;
    // The slave copies metadata every 10 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = root
            .instance()
            .invoke_ok(
                &slave.addr,
                RemotingCommand::request(rc::GET_ALL_TOPIC_CONFIG),
            )
            .await
            .unwrap();
        if TopicConfigSerializeWrapper::decode(&r.body)
            .unwrap()
            .topic_config_table
            .contains_key(&topic)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slave did not copy the topic from its authenticating master"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    root.shutdown().await;
}
