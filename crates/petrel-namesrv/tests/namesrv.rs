//! The name server over real sockets on 127.0.0.1 (ephemeral ports), driven the way brokers,
//! clients and admin tools drive it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use std::future::Future;
use std::time::{Duration, Instant};

use petrel_namesrv::{NameServer, NamesrvConfig, NamesrvError};
use petrel_protocol::remoting::body::{
    ClusterInfo, DataVersion, GetBrokerMemberGroupResponseBody, JsonBody, KVTable, QueueData,
    RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
use petrel_protocol::remoting::header::{
    DeleteKVConfigRequestHeader, GetBrokerMemberGroupRequestHeader, GetKVConfigRequestHeader,
    GetKVListByNamespaceRequestHeader, GetRouteInfoRequestHeader, PutKVConfigRequestHeader,
    RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader,
};
use petrel_protocol::remoting::{
    request_code, response_code, LanguageCode, RemotingCommand, SerializeType,
};
use petrel_remoting::{RemotingClient, RemotingConfig};

const CLUSTER: &str = "DefaultCluster";
const A_MASTER: &str = "127.0.0.1:10911";
const A_SLAVE: &str = "127.0.0.1:10921";
const B_MASTER: &str = "127.0.0.1:10931";
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

fn test_config() -> NamesrvConfig {
    NamesrvConfig {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        ..NamesrvConfig::default()
    }
}

async fn start(config: NamesrvConfig) -> (NameServer, String) {
    let server = NameServer::start(config).await.expect("name server starts");
    let addr = server.local_addr().to_string();
    (server, addr)
}

fn client() -> RemotingClient {
    RemotingClient::new(RemotingConfig::default(), None)
}

async fn call(client: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client
        .invoke(addr, request, CALL_TIMEOUT)
        .await
        .expect("the name server answers")
}

/// Polls `check` until it returns true or `within` passes.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn topic(name: &str, queues: i32) -> (String, TopicConfig) {
    (
        name.to_string(),
        TopicConfig {
            topic_name: name.to_string(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            ..TopicConfig::default()
        },
    )
}

fn register_request(
    broker_name: &str,
    broker_addr: &str,
    broker_id: i64,
    counter: i64,
    topics: &[(String, TopicConfig)],
) -> RemotingCommand {
    let body = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter,
                state_version: 0,
                timestamp: 1_700_000_000_000,
            },
            topic_config_table: topics.iter().cloned().collect(),
            ..TopicConfigSerializeWrapper::default()
        },
    }
    .encode();
    let header = RegisterBrokerRequestHeader {
        broker_name: broker_name.into(),
        broker_addr: broker_addr.into(),
        cluster_name: CLUSTER.into(),
        ha_server_addr: broker_addr.replace(":109", ":209"),
        broker_id,
        enable_acting_master: Some(false),
        body_crc32: java_crc32(&body),
        ..RegisterBrokerRequestHeader::default()
    };
    RemotingCommand::request(request_code::REGISTER_BROKER)
        .with_header(&header)
        .with_body(body)
}

fn java_crc32(bytes: &[u8]) -> i32 {
    (crc32fast::hash(bytes) & 0x7FFF_FFFF) as i32
}

fn route_request(topic: &str) -> RemotingCommand {
    RemotingCommand::request(request_code::GET_ROUTEINFO_BY_TOPIC).with_header(
        &GetRouteInfoRequestHeader {
            topic: topic.into(),
            ..GetRouteInfoRequestHeader::default()
        },
    )
}

fn ok(response: &RemotingCommand) {
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "remark: {:?}",
        response.remark
    );
}

/// broker-a (master + slave) with TopicTest and TBW102, broker-b (master) with TopicTest.
async fn register_two_groups(client: &RemotingClient, addr: &str) {
    let a_topics = [topic("TopicTest", 4), topic("TBW102", 8)];
    ok(&call(
        client,
        addr,
        register_request("broker-a", A_MASTER, 0, 1, &a_topics),
    )
    .await);
    ok(&call(
        client,
        addr,
        register_request("broker-a", A_SLAVE, 1, 1, &a_topics),
    )
    .await);
    let b_topics = [topic("TopicTest", 2), topic("OnlyB", 1)];
    ok(&call(
        client,
        addr,
        register_request("broker-b", B_MASTER, 0, 1, &b_topics),
    )
    .await);
}

#[tokio::test]
async fn registered_topics_are_routed_in_standard_json_to_new_clients() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    let master = call(
        &client,
        &addr,
        register_request(
            "broker-a",
            A_MASTER,
            0,
            1,
            &[topic("TopicTest", 4), topic("TBW102", 8)],
        ),
    )
    .await;
    ok(&master);
    assert_eq!(master.ext_fields.get("masterAddr"), None);
    let slave = call(
        &client,
        &addr,
        register_request("broker-a", A_SLAVE, 1, 1, &[]),
    )
    .await;
    ok(&slave);
    assert_eq!(slave.ext_fields.get("masterAddr"), Some(A_MASTER));
    assert_eq!(
        slave.ext_fields.get("haServerAddr"),
        Some("127.0.0.1:20911")
    );

    // A 5.3 client (version 479).
    let response = call(&client, &addr, route_request("TopicTest")).await;
    ok(&response);
    let json: serde_json::Value =
        serde_json::from_slice(&response.body).expect("standard JSON for version >= 401");
    assert_eq!(
        json,
        serde_json::json!({
            "brokerDatas": [{
                "brokerAddrs": {"0": A_MASTER, "1": A_SLAVE},
                "brokerName": "broker-a",
                "cluster": CLUSTER,
                "enableActingMaster": false
            }],
            "filterServerTable": {},
            "queueDatas": [{
                "brokerName": "broker-a",
                "perm": 6,
                "readQueueNums": 4,
                "topicSysFlag": 0,
                "writeQueueNums": 4
            }]
        })
    );
    server.shutdown().await;
}

#[tokio::test]
async fn old_clients_get_the_legacy_form_unless_they_accept_standard_json() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    register_two_groups(&client, &addr).await;

    // A Go client (version 317) that does not send acceptStandardJsonOnly.
    let mut old = route_request("TBW102");
    old.version = 317;
    old.language = LanguageCode::Go;
    let response = call(&client, &addr, old).await;
    ok(&response);
    let body = String::from_utf8(response.body.to_vec()).unwrap();
    assert!(
        body.contains(r#""brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"}"#),
        "legacy body: {body}"
    );
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    let route = TopicRouteData::decode(body.as_bytes()).unwrap();
    assert_eq!(route.broker_datas[0].master_addr(), Some(A_MASTER));

    // The same client asking for standard JSON.
    let mut asking = RemotingCommand::request(request_code::GET_ROUTEINFO_BY_TOPIC).with_header(
        &GetRouteInfoRequestHeader {
            topic: "TBW102".into(),
            accept_standard_json_only: Some(true),
            ..GetRouteInfoRequestHeader::default()
        },
    );
    asking.version = 317;
    let response = call(&client, &addr, asking).await;
    ok(&response);
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(json["brokerDatas"][0]["brokerAddrs"]["0"], A_MASTER);
    server.shutdown().await;
}

#[tokio::test]
async fn a_route_spans_every_broker_group_holding_the_topic() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    register_two_groups(&client, &addr).await;
    let response = call(&client, &addr, route_request("TopicTest")).await;
    let route = TopicRouteData::decode(&response.body).unwrap();
    assert_eq!(
        route
            .queue_datas
            .iter()
            .map(|qd| (qd.broker_name.as_str(), qd.write_queue_nums))
            .collect::<Vec<_>>(),
        vec![("broker-a", 4), ("broker-b", 2)]
    );
    assert_eq!(
        route
            .broker_datas
            .iter()
            .map(|bd| bd.broker_name.as_str())
            .collect::<Vec<_>>(),
        vec!["broker-a", "broker-b"]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_topic_is_topic_not_exist() {
    let (server, addr) = start(test_config()).await;
    let response = call(&client(), &addr, route_request("Nope")).await;
    assert_eq!(response.code, response_code::TOPIC_NOT_EXIST);
    assert_eq!(
        response.remark.as_deref(),
        Some("No topic route info in name server for the topic: Nope")
    );
    assert!(response.is_response());
    server.shutdown().await;
}

#[tokio::test]
async fn cluster_info_and_topic_lists() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    register_two_groups(&client, &addr).await;

    let response = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    ok(&response);
    let info = ClusterInfo::decode(&response.body).unwrap();
    assert_eq!(
        info.cluster_addr_table[CLUSTER]
            .iter()
            .cloned()
            .collect::<Vec<_>>(),
        vec!["broker-a".to_string(), "broker-b".to_string()]
    );
    assert_eq!(
        info.broker_addr_table["broker-a"].broker_addrs,
        [(0, A_MASTER.to_string()), (1, A_SLAVE.to_string())]
            .into_iter()
            .collect()
    );

    let list = |body: &[u8]| {
        TopicList::decode(body)
            .unwrap()
            .topic_list
            .into_iter()
            .collect::<Vec<_>>()
    };
    let all = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    ok(&all);
    assert_eq!(list(&all.body), vec!["OnlyB", "TBW102", "TopicTest"]);

    let mut by_cluster = RemotingCommand::request(request_code::GET_TOPICS_BY_CLUSTER);
    by_cluster.ext_fields.insert("cluster", CLUSTER);
    let by_cluster = call(&client, &addr, by_cluster).await;
    ok(&by_cluster);
    assert_eq!(list(&by_cluster.body), vec!["OnlyB", "TBW102", "TopicTest"]);

    let system = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::GET_SYSTEM_TOPIC_LIST_FROM_NS),
    )
    .await;
    ok(&system);
    let system = TopicList::decode(&system.body).unwrap();
    assert_eq!(system.broker_addr.as_deref(), Some(A_MASTER));
    assert_eq!(
        system.topic_list.into_iter().collect::<Vec<_>>(),
        vec![CLUSTER, "broker-a", "broker-b"]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn broker_member_groups_list_a_broker_names_members() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    register_two_groups(&client, &addr).await;
    let members = |broker_name: &str| {
        RemotingCommand::request(request_code::GET_BROKER_MEMBER_GROUP).with_header(
            &GetBrokerMemberGroupRequestHeader {
                cluster_name: CLUSTER.into(),
                broker_name: broker_name.into(),
            },
        )
    };

    let response = call(&client, &addr, members("broker-a")).await;
    ok(&response);
    let group = GetBrokerMemberGroupResponseBody::decode(&response.body)
        .unwrap()
        .broker_member_group;
    assert_eq!(group.cluster, CLUSTER);
    assert_eq!(group.broker_name, "broker-a");
    assert_eq!(
        group.broker_addrs,
        [(0, A_MASTER.to_string()), (1, A_SLAVE.to_string())]
            .into_iter()
            .collect()
    );

    // An unknown broker name is an empty group, as in Java.
    let response = call(&client, &addr, members("broker-z")).await;
    ok(&response);
    let group = GetBrokerMemberGroupResponseBody::decode(&response.body)
        .unwrap()
        .broker_member_group;
    assert!(group.broker_addrs.is_empty());

    // The header's fields are required.
    let response = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::GET_BROKER_MEMBER_GROUP),
    )
    .await;
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    server.shutdown().await;
}

#[tokio::test]
async fn a_deleted_topic_has_no_route_until_registered_again() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    register_two_groups(&client, &addr).await;

    let mut delete = RemotingCommand::request(request_code::DELETE_TOPIC_IN_NAMESRV);
    delete.ext_fields.insert("topic", "TopicTest");
    ok(&call(&client, &addr, delete).await);
    let response = call(&client, &addr, route_request("TopicTest")).await;
    assert_eq!(response.code, response_code::TOPIC_NOT_EXIST);

    // Per cluster: an unknown cluster changes nothing.
    let mut delete = RemotingCommand::request(request_code::DELETE_TOPIC_IN_NAMESRV);
    delete.ext_fields.insert("topic", "TBW102");
    delete.ext_fields.insert("clusterName", "OtherCluster");
    ok(&call(&client, &addr, delete).await);
    ok(&call(&client, &addr, route_request("TBW102")).await);

    // An admin tool puts the route back (REGISTER_TOPIC_IN_NAMESRV).
    let mut register = RemotingCommand::request(request_code::REGISTER_TOPIC_IN_NAMESRV).with_body(
        TopicRouteData {
            queue_datas: vec![QueueData {
                broker_name: "broker-b".into(),
                perm: 6,
                read_queue_nums: 3,
                topic_sys_flag: 0,
                write_queue_nums: 3,
            }],
            ..TopicRouteData::default()
        }
        .encode_standard(),
    );
    register.ext_fields.insert("topic", "TopicTest");
    ok(&call(&client, &addr, register).await);
    let response = call(&client, &addr, route_request("TopicTest")).await;
    ok(&response);
    let route = TopicRouteData::decode(&response.body).unwrap();
    assert_eq!(route.queue_datas[0].write_queue_nums, 3);
    server.shutdown().await;
}

#[tokio::test]
async fn an_unregistered_broker_disappears_from_routes_and_cluster_info() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    register_two_groups(&client, &addr).await;

    let unregister = |broker_name: &str, broker_addr: &str, broker_id: i64| {
        RemotingCommand::request(request_code::UNREGISTER_BROKER).with_header(
            &UnRegisterBrokerRequestHeader {
                broker_name: broker_name.into(),
                broker_addr: broker_addr.into(),
                cluster_name: CLUSTER.into(),
                broker_id,
            },
        )
    };
    ok(&call(&client, &addr, unregister("broker-b", B_MASTER, 0)).await);
    assert_eq!(
        call(&client, &addr, route_request("OnlyB")).await.code,
        response_code::TOPIC_NOT_EXIST
    );
    let route =
        TopicRouteData::decode(&call(&client, &addr, route_request("TopicTest")).await.body)
            .unwrap();
    assert_eq!(route.broker_datas.len(), 1);

    ok(&call(&client, &addr, unregister("broker-a", A_SLAVE, 1)).await);
    ok(&call(&client, &addr, unregister("broker-a", A_MASTER, 0)).await);
    let info = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    assert_eq!(
        ClusterInfo::decode(&info.body).unwrap(),
        ClusterInfo::default()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn closing_a_broker_connection_unregisters_that_broker_only() {
    let (server, addr) = start(test_config()).await;
    let broker_a = client();
    let broker_b = client();
    let admin = client();
    ok(&call(
        &broker_a,
        &addr,
        register_request("broker-a", A_MASTER, 0, 1, &[topic("T", 4), topic("U", 4)]),
    )
    .await);
    ok(&call(
        &broker_b,
        &addr,
        register_request("broker-b", B_MASTER, 0, 1, &[topic("T", 4), topic("U", 4)]),
    )
    .await);

    broker_b.close_all().await;
    let only_a = eventually(Duration::from_secs(5), || async {
        let info = call(
            &admin,
            &addr,
            RemotingCommand::request(request_code::GET_BROKER_CLUSTER_INFO),
        )
        .await;
        let info = ClusterInfo::decode(&info.body).unwrap();
        info.broker_addr_table.keys().collect::<Vec<_>>() == vec!["broker-a"]
    })
    .await;
    assert!(
        only_a,
        "broker-b is still registered after its connection closed"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_broker_expires_and_its_connection_is_closed() {
    let (server, addr) = start(NamesrvConfig {
        broker_channel_expired_ms: 1_000,
        scan_not_active_broker_interval_ms: 50,
        ..test_config()
    })
    .await;
    let alive = client();
    let silent = client();
    let topics = [topic("T", 4), topic("U", 4)];
    ok(&call(
        &alive,
        &addr,
        register_request("broker-a", A_MASTER, 0, 1, &topics),
    )
    .await);
    ok(&call(
        &silent,
        &addr,
        register_request("broker-b", B_MASTER, 0, 1, &topics),
    )
    .await);
    let silent_conn = silent.connection(&addr).await.unwrap();

    let heartbeat = || {
        let mut hb = RemotingCommand::request(request_code::BROKER_HEARTBEAT);
        hb.ext_fields.insert("clusterName", CLUSTER);
        hb.ext_fields.insert("brokerAddr", A_MASTER);
        hb.ext_fields.insert("brokerName", "broker-a");
        hb
    };
    let started = Instant::now();
    let expired = eventually(Duration::from_secs(10), || async {
        ok(&call(&alive, &addr, heartbeat()).await);
        server.with_route_info(|routes| !routes.broker_addr_table().contains_key("broker-b"))
    })
    .await;
    assert!(expired, "the silent broker never expired");
    assert!(started.elapsed() >= Duration::from_millis(1_000));
    server.with_route_info(|routes| {
        assert_eq!(
            routes.broker_addr_table().keys().collect::<Vec<_>>(),
            vec!["broker-a"]
        );
        assert_eq!(
            routes.topic_queue_table()["T"].keys().collect::<Vec<_>>(),
            vec!["broker-a"]
        );
    });
    assert!(
        eventually(Duration::from_secs(5), || async { silent_conn.is_closed() }).await,
        "the expired broker's connection stayed open"
    );
    assert!(!alive.connection(&addr).await.unwrap().is_closed());
    server.shutdown().await;
}

#[tokio::test]
async fn kv_config_round_trip_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let kv_path = dir.path().join("namesrv").join("kvConfig.json");
    let config = NamesrvConfig {
        kv_config_path: Some(kv_path.clone()),
        ..test_config()
    };
    let (server, addr) = start(config.clone()).await;
    let client = client();

    let put = |key: &str, value: &str| {
        RemotingCommand::request(request_code::PUT_KV_CONFIG).with_header(
            &PutKVConfigRequestHeader {
                namespace: "ns".into(),
                key: key.into(),
                value: value.into(),
            },
        )
    };
    let get = |key: &str| {
        RemotingCommand::request(request_code::GET_KV_CONFIG).with_header(
            &GetKVConfigRequestHeader {
                namespace: "ns".into(),
                key: key.into(),
            },
        )
    };
    ok(&call(&client, &addr, put("a", "1")).await);
    ok(&call(&client, &addr, put("b", "2")).await);
    let got = call(&client, &addr, get("a")).await;
    ok(&got);
    assert_eq!(got.ext_fields.get("value"), Some("1"));

    let list = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::GET_KVLIST_BY_NAMESPACE).with_header(
            &GetKVListByNamespaceRequestHeader {
                namespace: "ns".into(),
            },
        ),
    )
    .await;
    ok(&list);
    assert_eq!(
        KVTable::decode(&list.body).unwrap().table,
        [("a".to_string(), "1".to_string()), ("b".into(), "2".into())]
            .into_iter()
            .collect()
    );

    ok(&call(
        &client,
        &addr,
        RemotingCommand::request(request_code::DELETE_KV_CONFIG).with_header(
            &DeleteKVConfigRequestHeader {
                namespace: "ns".into(),
                key: "b".into(),
            },
        ),
    )
    .await);
    let missing = call(&client, &addr, get("b")).await;
    assert_eq!(missing.code, response_code::QUERY_NOT_FOUND);
    assert_eq!(
        missing.remark.as_deref(),
        Some("No config item, Namespace: ns Key: b")
    );
    let no_namespace = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::GET_KVLIST_BY_NAMESPACE).with_header(
            &GetKVListByNamespaceRequestHeader {
                namespace: "other".into(),
            },
        ),
    )
    .await;
    assert_eq!(no_namespace.code, response_code::QUERY_NOT_FOUND);

    // The file is RocketMQ's kvConfig.json.
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&kv_path).unwrap()).unwrap();
    assert_eq!(
        on_disk,
        serde_json::json!({"configTable": {"ns": {"a": "1"}}})
    );

    server.shutdown().await;
    client.close_all().await;
    let (server, addr) = start(config).await;
    let got = call(&client, &addr, get("a")).await;
    ok(&got);
    assert_eq!(got.ext_fields.get("value"), Some("1"));
    server.shutdown().await;
}

#[tokio::test]
async fn order_topic_config_reaches_routes_and_brokers() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    let mut put = RemotingCommand::request(request_code::PUT_KV_CONFIG);
    put.ext_fields.insert("namespace", "ORDER_TOPIC_CONFIG");
    put.ext_fields.insert("key", "TopicTest");
    put.ext_fields.insert("value", "broker-a:4");
    ok(&call(&client, &addr, put).await);

    // Brokers get the namespace back from their registration.
    let registered = call(
        &client,
        &addr,
        register_request(
            "broker-a",
            A_MASTER,
            0,
            1,
            &[topic("TopicTest", 4), topic("TBW102", 8)],
        ),
    )
    .await;
    ok(&registered);
    assert_eq!(
        KVTable::decode(&registered.body).unwrap().table["TopicTest"],
        "broker-a:4"
    );

    // Routes carry it only with orderMessageEnable (off by default, as in Java).
    let route =
        TopicRouteData::decode(&call(&client, &addr, route_request("TopicTest")).await.body)
            .unwrap();
    assert_eq!(route.order_topic_conf, None);
    let update = RemotingCommand::request(request_code::UPDATE_NAMESRV_CONFIG)
        .with_body(&b"orderMessageEnable=true\n"[..]);
    ok(&call(&client, &addr, update).await);
    let route =
        TopicRouteData::decode(&call(&client, &addr, route_request("TopicTest")).await.body)
            .unwrap();
    assert_eq!(route.order_topic_conf.as_deref(), Some("broker-a:4"));
    server.shutdown().await;
}

#[tokio::test]
async fn namesrv_config_reads_as_properties_and_refuses_black_listed_keys() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    let get = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::GET_NAMESRV_CONFIG),
    )
    .await;
    ok(&get);
    let text = String::from_utf8(get.body.to_vec()).unwrap();
    assert!(text.contains("orderMessageEnable=false\n"), "{text}");
    assert!(
        text.contains(&format!("listenPort={}\n", server.local_addr().port())),
        "{text}"
    );

    let refused = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::UPDATE_NAMESRV_CONFIG)
            .with_body(&b"kvConfigPath=/tmp/elsewhere"[..]),
    )
    .await;
    assert_eq!(refused.code, response_code::NO_PERMISSION);
    assert_eq!(
        refused.remark.as_deref(),
        Some("Can not update config in black list.")
    );

    let invalid = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::UPDATE_NAMESRV_CONFIG)
            .with_body(&b"enableAllTopicList=nope"[..]),
    )
    .await;
    assert_eq!(invalid.code, response_code::SYSTEM_ERROR);

    ok(&call(
        &client,
        &addr,
        RemotingCommand::request(request_code::UPDATE_NAMESRV_CONFIG)
            .with_body(&b"enableAllTopicList=false"[..]),
    )
    .await);
    let disabled = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    assert_eq!(disabled.code, response_code::SYSTEM_ERROR);
    assert_eq!(disabled.remark.as_deref(), Some("disable"));
    server.shutdown().await;
}

#[tokio::test]
async fn write_perm_can_be_wiped_and_added_back() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    register_two_groups(&client, &addr).await;

    let mut wipe = RemotingCommand::request(request_code::WIPE_WRITE_PERM_OF_BROKER);
    wipe.ext_fields.insert("brokerName", "broker-a");
    let wiped = call(&client, &addr, wipe).await;
    ok(&wiped);
    assert_eq!(wiped.ext_fields.get("wipeTopicCount"), Some("2"));
    let route =
        TopicRouteData::decode(&call(&client, &addr, route_request("TBW102")).await.body).unwrap();
    assert_eq!(route.queue_datas[0].perm, 4);

    let mut add = RemotingCommand::request(request_code::ADD_WRITE_PERM_OF_BROKER);
    add.ext_fields.insert("brokerName", "broker-a");
    let added = call(&client, &addr, add).await;
    ok(&added);
    assert_eq!(added.ext_fields.get("addTopicCount"), Some("2"));
    let route =
        TopicRouteData::decode(&call(&client, &addr, route_request("TBW102")).await.body).unwrap();
    assert_eq!(route.queue_datas[0].perm, 6);
    server.shutdown().await;
}

#[tokio::test]
async fn query_data_version_reports_changes() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    ok(&call(
        &client,
        &addr,
        register_request("broker-a", A_MASTER, 0, 7, &[topic("T", 1), topic("U", 1)]),
    )
    .await);
    let query = |counter: i64| {
        let mut q = RemotingCommand::request(request_code::QUERY_DATA_VERSION).with_body(
            DataVersion {
                counter,
                state_version: 0,
                timestamp: 1_700_000_000_000,
            }
            .encode(),
        );
        q.ext_fields.insert("brokerName", "broker-a");
        q.ext_fields.insert("brokerAddr", A_MASTER);
        q.ext_fields.insert("clusterName", CLUSTER);
        q.ext_fields.insert("brokerId", "0");
        q
    };
    let same = call(&client, &addr, query(7)).await;
    ok(&same);
    assert_eq!(same.ext_fields.get("changed"), Some("false"));
    assert_eq!(DataVersion::decode(&same.body).unwrap().counter, 7);
    let newer = call(&client, &addr, query(8)).await;
    assert_eq!(newer.ext_fields.get("changed"), Some("true"));
    server.shutdown().await;
}

#[tokio::test]
async fn a_registration_with_a_wrong_body_crc_is_refused() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    let mut request = register_request("broker-a", A_MASTER, 0, 1, &[topic("T", 1), topic("U", 1)]);
    request.ext_fields.insert("bodyCrc32", "12345");
    let response = call(&client, &addr, request).await;
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert_eq!(response.remark.as_deref(), Some("crc32 not match"));
    server.with_route_info(|routes| assert!(routes.broker_addr_table().is_empty()));

    // A compressed body is refused with a remark saying why.
    let mut request = register_request("broker-a", A_MASTER, 0, 1, &[topic("T", 1), topic("U", 1)]);
    request.ext_fields.insert("compressed", "true");
    let response = call(&client, &addr, request).await;
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert!(
        response
            .remark
            .as_deref()
            .unwrap_or("")
            .contains("compressedRegister=false"),
        "{:?}",
        response.remark
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_code_is_not_supported() {
    let (server, addr) = start(test_config()).await;
    let response = call(&client(), &addr, RemotingCommand::request(9999)).await;
    assert_eq!(response.code, response_code::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(
        response.remark.as_deref(),
        Some("request type 9999 not supported")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_missing_header_field_is_a_system_error_naming_it() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    let response = call(
        &client,
        &addr,
        RemotingCommand::request(request_code::GET_ROUTEINFO_BY_TOPIC),
    )
    .await;
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert_eq!(
        response.remark.as_deref(),
        Some("the custom header field topic is missing")
    );

    let mut bad = register_request("broker-a", A_MASTER, 0, 1, &[]);
    bad.ext_fields.insert("brokerId", "master");
    let response = call(&client, &addr, bad).await;
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert!(
        response
            .remark
            .as_deref()
            .unwrap_or("")
            .contains("brokerId"),
        "{:?}",
        response.remark
    );
    server.shutdown().await;
}

#[tokio::test]
async fn binary_header_requests_are_answered_in_kind() {
    let (server, addr) = start(test_config()).await;
    let client = client();
    register_two_groups(&client, &addr).await;
    let response = call(
        &client,
        &addr,
        route_request("TopicTest").with_serialize_type(SerializeType::RocketMq),
    )
    .await;
    ok(&response);
    assert_eq!(response.serialize_type, SerializeType::RocketMq);
    server.shutdown().await;
}

#[tokio::test]
async fn a_taken_port_is_a_clear_bind_error() {
    let (server, addr) = start(test_config()).await;
    let err = NameServer::start(NamesrvConfig {
        listen_addr: addr.parse().unwrap(),
        ..NamesrvConfig::default()
    })
    .await
    .err()
    .expect("the second bind fails");
    assert!(matches!(err, NamesrvError::Bind { .. }), "{err}");
    assert!(err.to_string().contains(&addr), "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_corrupt_kv_config_file_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kvConfig.json");
    std::fs::write(&path, b"{broken").unwrap();
    let err = NameServer::start(NamesrvConfig {
        kv_config_path: Some(path),
        ..test_config()
    })
    .await
    .err()
    .expect("start fails");
    assert!(matches!(err, NamesrvError::KvConfig(_)), "{err}");
}
