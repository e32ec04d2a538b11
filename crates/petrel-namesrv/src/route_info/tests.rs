//! Exact-state tests: each runs a sequence of calls and compares whole tables.

use std::collections::{BTreeMap, BTreeSet};

use petrel_protocol::remoting::body::{
    BrokerData, DataVersion, QueueData, TopicConfig, TopicConfigSerializeWrapper, TopicList,
};
use petrel_protocol::topic::TOPIC_SYS_FLAG_UNIT;

use super::*;

const CLUSTER: &str = "DefaultCluster";
const A_MASTER: &str = "10.0.0.1:10911";
const A_SLAVE: &str = "10.0.0.2:10911";
const B_MASTER: &str = "10.0.0.3:10911";

fn topic(name: &str, queues: i32, perm: i32) -> (String, TopicConfig) {
    (
        name.to_string(),
        TopicConfig {
            topic_name: name.to_string(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm,
            ..TopicConfig::default()
        },
    )
}

fn version(counter: i64) -> DataVersion {
    DataVersion {
        counter,
        state_version: 0,
        timestamp: 1_700_000_000_000 + counter,
    }
}

fn registration(
    broker_name: &str,
    broker_addr: &str,
    broker_id: i64,
    data_version: DataVersion,
    topics: &[(String, TopicConfig)],
) -> BrokerRegistration {
    BrokerRegistration {
        cluster_name: CLUSTER.into(),
        broker_addr: broker_addr.into(),
        broker_name: broker_name.into(),
        broker_id,
        ha_server_addr: broker_addr.replace("10911", "10912"),
        zone_name: None,
        heartbeat_timeout_ms: None,
        enable_acting_master: Some(false),
        topic_config_wrapper: TopicConfigSerializeWrapper {
            data_version,
            topic_config_table: topics.iter().cloned().collect(),
            ..TopicConfigSerializeWrapper::default()
        },
        filter_server_list: Some(Vec::new()),
        connection_id: 1,
    }
}

fn qd(broker_name: &str, queues: i32, perm: i32) -> QueueData {
    QueueData {
        broker_name: broker_name.into(),
        perm,
        read_queue_nums: queues,
        topic_sys_flag: 0,
        write_queue_nums: queues,
    }
}

fn queues(entries: &[(&str, &[QueueData])]) -> BTreeMap<String, BTreeMap<String, QueueData>> {
    entries
        .iter()
        .map(|(topic, qds)| {
            (
                topic.to_string(),
                qds.iter()
                    .map(|qd| (qd.broker_name.clone(), qd.clone()))
                    .collect(),
            )
        })
        .collect()
}

fn broker_data(broker_name: &str, addrs: &[(i64, &str)]) -> BrokerData {
    BrokerData {
        broker_addrs: addrs.iter().map(|(id, a)| (*id, a.to_string())).collect(),
        broker_name: broker_name.into(),
        cluster: CLUSTER.into(),
        enable_acting_master: false,
        zone_name: None,
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn live_addrs(rim: &RouteInfoManager) -> Vec<String> {
    rim.broker_live_table()
        .keys()
        .map(|k| k.broker_addr.clone())
        .collect()
}

#[test]
fn first_master_registration_creates_every_table() {
    let mut rim = RouteInfoManager::default();
    let result = rim
        .register_broker(
            registration(
                "broker-a",
                A_MASTER,
                0,
                version(1),
                &[topic("TopicTest", 4, 6), topic("TBW102", 8, 7)],
            ),
            1_000,
        )
        .unwrap();

    assert_eq!(
        result,
        RegisterBrokerResult {
            master_addr: None,
            ha_server_addr: None,
            new_broker: true,
            stale_ignored: false,
        }
    );
    assert_eq!(
        rim.topic_queue_table(),
        &queues(&[
            ("TBW102", &[qd("broker-a", 8, 7)]),
            ("TopicTest", &[qd("broker-a", 4, 6)]),
        ])
    );
    assert_eq!(
        rim.broker_addr_table(),
        &[(
            "broker-a".to_string(),
            broker_data("broker-a", &[(0, A_MASTER)])
        )]
        .into_iter()
        .collect()
    );
    assert_eq!(
        rim.cluster_addr_table(),
        &[(CLUSTER.to_string(), names(&["broker-a"]))]
            .into_iter()
            .collect()
    );
    assert_eq!(
        rim.broker_live_table(),
        &[(
            BrokerAddrInfo::new(CLUSTER, A_MASTER),
            BrokerLiveInfo {
                last_update_ms: 1_000,
                heartbeat_timeout_ms: None,
                data_version: version(1),
                connection_id: 1,
                ha_server_addr: "10.0.0.1:10912".into(),
            }
        )]
        .into_iter()
        .collect()
    );
    assert!(rim.filter_server_table().is_empty());
}

#[test]
fn slave_topics_do_not_change_queue_data_and_slave_learns_its_master() {
    let mut rim = RouteInfoManager::default();
    rim.register_broker(
        registration(
            "broker-a",
            A_MASTER,
            0,
            version(1),
            &[topic("T", 4, 6), topic("U", 1, 6)],
        ),
        1_000,
    )
    .unwrap();
    let mut slave = registration(
        "broker-a",
        A_SLAVE,
        1,
        version(9),
        &[topic("T", 16, 6), topic("OnlyOnSlave", 2, 6)],
    );
    slave.connection_id = 2;
    let result = rim.register_broker(slave, 2_000).unwrap();

    assert_eq!(result.master_addr.as_deref(), Some(A_MASTER));
    assert_eq!(result.ha_server_addr.as_deref(), Some("10.0.0.1:10912"));
    assert_eq!(
        rim.topic_queue_table(),
        &queues(&[
            ("T", &[qd("broker-a", 4, 6)]),
            ("U", &[qd("broker-a", 1, 6)])
        ])
    );
    assert_eq!(
        rim.broker_addr_table()["broker-a"],
        broker_data("broker-a", &[(0, A_MASTER), (1, A_SLAVE)])
    );
    assert_eq!(live_addrs(&rim), vec![A_MASTER, A_SLAVE]);
}

#[test]
fn slave_without_live_master_gets_no_master_addr() {
    let mut rim = RouteInfoManager::default();
    // An old (4.x) slave: no enableActingMaster, so it is never a "prime slave".
    let mut slave = registration("broker-a", A_SLAVE, 1, version(1), &[]);
    slave.enable_acting_master = None;
    let result = rim.register_broker(slave, 1_000).unwrap();
    assert_eq!(result.master_addr, None);
    assert!(rim.topic_queue_table().is_empty());
}

#[test]
fn unchanged_data_version_keeps_queue_data_until_version_changes() {
    let mut rim = RouteInfoManager::default();
    let base = topic("Base", 1, 6);
    rim.register_broker(
        registration(
            "broker-a",
            A_MASTER,
            0,
            version(1),
            &[base.clone(), topic("T", 4, 6)],
        ),
        1_000,
    )
    .unwrap();
    // Same version, different content: ignored for topics that already have queue data.
    let result = rim
        .register_broker(
            registration(
                "broker-a",
                A_MASTER,
                0,
                version(1),
                &[base.clone(), topic("T", 8, 6)],
            ),
            2_000,
        )
        .unwrap();
    assert!(!result.new_broker);
    assert_eq!(
        rim.topic_queue_table(),
        &queues(&[
            ("Base", &[qd("broker-a", 1, 6)]),
            ("T", &[qd("broker-a", 4, 6)])
        ])
    );
    assert_eq!(
        rim.broker_live_table()[&BrokerAddrInfo::new(CLUSTER, A_MASTER)].last_update_ms,
        2_000
    );

    // New version: rewritten.
    rim.register_broker(
        registration(
            "broker-a",
            A_MASTER,
            0,
            version(2),
            &[base, topic("T", 8, 6)],
        ),
        3_000,
    )
    .unwrap();
    assert_eq!(
        rim.topic_queue_table(),
        &queues(&[
            ("Base", &[qd("broker-a", 1, 6)]),
            ("T", &[qd("broker-a", 8, 6)])
        ])
    );
}

#[test]
fn unchanged_version_still_adds_a_topic_missing_from_the_routes() {
    let mut rim = RouteInfoManager::default();
    let topics = [topic("Base", 1, 6), topic("T", 4, 6)];
    rim.register_broker(
        registration("broker-a", A_MASTER, 0, version(1), &topics),
        1_000,
    )
    .unwrap();
    rim.delete_topic("T", None);
    assert_eq!(
        rim.topic_queue_table().keys().collect::<Vec<_>>(),
        vec!["Base"]
    );
    rim.register_broker(
        registration("broker-a", A_MASTER, 0, version(1), &topics),
        2_000,
    )
    .unwrap();
    assert_eq!(
        rim.topic_queue_table(),
        &queues(&[
            ("Base", &[qd("broker-a", 1, 6)]),
            ("T", &[qd("broker-a", 4, 6)])
        ])
    );
}

#[test]
fn unreported_topics_stay_by_default_and_go_when_configured() {
    let two_topics = [topic("Kept", 4, 6), topic("Dropped", 4, 6)];
    let one_topic = [topic("Kept", 4, 6), topic("Other", 1, 6)];

    let mut rim = RouteInfoManager::default();
    rim.register_broker(
        registration("broker-a", A_MASTER, 0, version(1), &two_topics),
        1_000,
    )
    .unwrap();
    rim.register_broker(
        registration("broker-a", A_MASTER, 0, version(2), &one_topic),
        2_000,
    )
    .unwrap();
    assert_eq!(
        rim.topic_queue_table().keys().collect::<Vec<_>>(),
        vec!["Dropped", "Kept", "Other"]
    );

    let mut rim = RouteInfoManager::new(RouteSettings {
        delete_topic_with_broker_registration: true,
        support_acting_master: false,
    });
    rim.register_broker(
        registration("broker-a", A_MASTER, 0, version(1), &two_topics),
        1_000,
    )
    .unwrap();
    rim.register_broker(
        registration("broker-b", B_MASTER, 0, version(1), &two_topics),
        1_000,
    )
    .unwrap();
    rim.register_broker(
        registration("broker-a", A_MASTER, 0, version(2), &one_topic),
        2_000,
    )
    .unwrap();
    assert_eq!(
        rim.topic_queue_table(),
        &queues(&[
            ("Dropped", &[qd("broker-b", 4, 6)]),
            ("Kept", &[qd("broker-a", 4, 6), qd("broker-b", 4, 6)]),
            ("Other", &[qd("broker-a", 1, 6)]),
        ])
    );
}

#[test]
fn single_topic_registration_before_the_first_full_one_is_refused_without_effect() {
    let mut rim = RouteInfoManager::default();
    let err = rim
        .register_broker(
            registration("broker-a", A_MASTER, 0, version(1), &[topic("T", 4, 6)]),
            1_000,
        )
        .unwrap_err();
    assert_eq!(
        err,
        RegisterError::NotRegisteredYet {
            broker_name: "broker-a".into(),
            broker_id: 0,
            broker_addr: A_MASTER.into(),
        }
    );
    assert!(rim.broker_addr_table().is_empty());
    assert!(rim.cluster_addr_table().is_empty());
    assert!(rim.broker_live_table().is_empty());

    // After a full registration, an incremental one for a new topic is applied.
    rim.register_broker(
        registration(
            "broker-a",
            A_MASTER,
            0,
            version(1),
            &[topic("T", 4, 6), topic("U", 4, 6)],
        ),
        1_000,
    )
    .unwrap();
    rim.register_broker(
        registration("broker-a", A_MASTER, 0, version(2), &[topic("New", 2, 6)]),
        2_000,
    )
    .unwrap();
    assert_eq!(
        rim.topic_queue_table().keys().collect::<Vec<_>>(),
        vec!["New", "T", "U"]
    );
}

#[test]
fn promoted_slave_replaces_its_old_id_entry() {
    let mut rim = RouteInfoManager::default();
    rim.register_broker(registration("broker-a", A_SLAVE, 1, version(1), &[]), 1_000)
        .unwrap();
    rim.register_broker(registration("broker-a", A_SLAVE, 0, version(1), &[]), 2_000)
        .unwrap();
    assert_eq!(
        rim.broker_addr_table()["broker-a"],
        broker_data("broker-a", &[(0, A_SLAVE)])
    );
}

#[test]
fn registration_with_an_older_state_version_for_a_taken_id_is_ignored() {
    let mut rim = RouteInfoManager::default();
    let mut first = registration("broker-a", A_MASTER, 0, version(1), &[]);
    first.topic_config_wrapper.data_version.state_version = 5;
    rim.register_broker(first, 1_000).unwrap();
    let mut stale = registration("broker-a", A_SLAVE, 0, version(1), &[]);
    stale.topic_config_wrapper.data_version.state_version = 4;
    let before = rim.clone();

    let result = rim.register_broker(stale, 2_000).unwrap();
    assert!(result.stale_ignored);
    assert_eq!(rim.broker_addr_table(), before.broker_addr_table());
    assert_eq!(rim.broker_live_table(), before.broker_live_table());
}

#[test]
fn filter_servers_are_kept_per_broker_and_cleared_by_an_empty_list() {
    let mut rim = RouteInfoManager::default();
    let mut with_filters = registration("broker-a", A_MASTER, 0, version(1), &[]);
    with_filters.filter_server_list = Some(vec!["10.0.0.9:30000".into()]);
    rim.register_broker(with_filters, 1_000).unwrap();
    rim.register_broker(
        registration(
            "broker-a",
            A_MASTER,
            0,
            version(2),
            &[topic("T", 1, 6), topic("U", 1, 6)],
        ),
        1_000,
    )
    .unwrap();
    assert!(rim.filter_server_table().is_empty());

    let mut with_filters = registration(
        "broker-a",
        A_MASTER,
        0,
        version(3),
        &[topic("T", 1, 6), topic("U", 1, 6)],
    );
    with_filters.filter_server_list = Some(vec!["10.0.0.9:30000".into()]);
    rim.register_broker(with_filters, 1_000).unwrap();
    let route = rim.pick_topic_route("T").unwrap();
    assert_eq!(
        route.filter_server_table,
        [(A_MASTER.to_string(), vec!["10.0.0.9:30000".to_string()])]
            .into_iter()
            .collect()
    );
}

fn two_groups() -> RouteInfoManager {
    let mut rim = RouteInfoManager::default();
    rim.register_broker(
        registration(
            "broker-a",
            A_MASTER,
            0,
            version(1),
            &[topic("Shared", 4, 6), topic("OnlyA", 2, 6)],
        ),
        1_000,
    )
    .unwrap();
    let mut slave = registration("broker-a", A_SLAVE, 1, version(1), &[]);
    slave.connection_id = 2;
    rim.register_broker(slave, 1_000).unwrap();
    let mut b = registration(
        "broker-b",
        B_MASTER,
        0,
        version(1),
        &[topic("Shared", 8, 6), topic("OnlyB", 1, 6)],
    );
    b.connection_id = 3;
    b.topic_config_wrapper
        .topic_config_table
        .get_mut("OnlyB")
        .unwrap()
        .topic_sys_flag = TOPIC_SYS_FLAG_UNIT;
    rim.register_broker(b, 1_000).unwrap();
    rim
}

#[test]
fn route_lists_every_broker_group_holding_the_topic() {
    let rim = two_groups();
    let route = rim.pick_topic_route("Shared").unwrap();
    assert_eq!(
        route,
        TopicRouteData {
            broker_datas: vec![
                broker_data("broker-a", &[(0, A_MASTER), (1, A_SLAVE)]),
                broker_data("broker-b", &[(0, B_MASTER)]),
            ],
            filter_server_table: BTreeMap::new(),
            order_topic_conf: None,
            queue_datas: vec![qd("broker-a", 4, 6), qd("broker-b", 8, 6)],
            topic_queue_mapping_by_broker: None,
        }
    );
    assert_eq!(rim.pick_topic_route("Missing"), None);
}

#[test]
fn unregistering_the_slave_keeps_the_group_and_the_master_takes_it_away() {
    let mut rim = two_groups();
    assert!(rim.unregister_broker(&BrokerIdentity {
        cluster_name: CLUSTER.into(),
        broker_addr: A_SLAVE.into(),
        broker_name: "broker-a".into(),
        broker_id: 1,
    }));
    assert_eq!(
        rim.broker_addr_table()["broker-a"],
        broker_data("broker-a", &[(0, A_MASTER)])
    );
    assert_eq!(rim.topic_queue_table().len(), 3);

    assert!(rim.unregister_broker(&BrokerIdentity {
        cluster_name: CLUSTER.into(),
        broker_addr: A_MASTER.into(),
        broker_name: "broker-a".into(),
        broker_id: 0,
    }));
    assert_eq!(
        rim.topic_queue_table(),
        &queues(&[
            (
                "OnlyB",
                &[QueueData {
                    topic_sys_flag: TOPIC_SYS_FLAG_UNIT,
                    ..qd("broker-b", 1, 6)
                }]
            ),
            ("Shared", &[qd("broker-b", 8, 6)]),
        ])
    );
    assert_eq!(
        rim.cluster_addr_table(),
        &[(CLUSTER.to_string(), names(&["broker-b"]))]
            .into_iter()
            .collect()
    );
    assert_eq!(
        rim.broker_addr_table().keys().collect::<Vec<_>>(),
        vec!["broker-b"]
    );
    assert_eq!(live_addrs(&rim), vec![B_MASTER]);

    // The last group leaving removes the cluster.
    rim.unregister_broker(&BrokerIdentity {
        cluster_name: CLUSTER.into(),
        broker_addr: B_MASTER.into(),
        broker_name: "broker-b".into(),
        broker_id: 0,
    });
    assert!(rim.topic_queue_table().is_empty());
    assert!(rim.cluster_addr_table().is_empty());
    assert!(rim.broker_addr_table().is_empty());
    assert!(rim.broker_live_table().is_empty());
}

#[test]
fn unregistering_an_unknown_broker_changes_nothing() {
    let mut rim = two_groups();
    let before = rim.clone();
    assert!(!rim.unregister_broker(&BrokerIdentity {
        cluster_name: CLUSTER.into(),
        broker_addr: "10.9.9.9:10911".into(),
        broker_name: "broker-z".into(),
        broker_id: 0,
    }));
    assert_eq!(rim.topic_queue_table(), before.topic_queue_table());
    assert_eq!(rim.broker_addr_table(), before.broker_addr_table());
    assert_eq!(rim.broker_live_table(), before.broker_live_table());
}

#[test]
fn closing_a_connection_removes_only_the_brokers_registered_over_it() {
    let mut rim = two_groups();
    let removed = rim.on_connection_closed(3);
    assert_eq!(
        removed,
        vec![RemovedBroker {
            addr: BrokerAddrInfo::new(CLUSTER, B_MASTER),
            broker_name: Some("broker-b".into()),
            broker_id: Some(0),
            connection_id: 3,
            last_update_ms: 1_000,
        }]
    );
    assert_eq!(
        rim.broker_addr_table().keys().collect::<Vec<_>>(),
        vec!["broker-a"]
    );
    assert_eq!(
        rim.topic_queue_table(),
        &queues(&[
            ("OnlyA", &[qd("broker-a", 2, 6)]),
            ("Shared", &[qd("broker-a", 4, 6)]),
        ])
    );
    assert_eq!(rim.on_connection_closed(42), vec![]);
}

#[test]
fn a_broker_that_re_registers_over_a_new_connection_survives_the_old_ones_close() {
    let mut rim = two_groups();
    let mut again = registration("broker-b", B_MASTER, 0, version(1), &[]);
    again.connection_id = 7;
    rim.register_broker(again, 2_000).unwrap();
    assert_eq!(rim.on_connection_closed(3), vec![]);
    assert!(rim.broker_addr_table().contains_key("broker-b"));
}

#[test]
fn silent_brokers_expire_strictly_after_their_timeout() {
    let mut rim = two_groups();
    // broker-a's master heartbeats at 50_000; the others were last heard at 1_000.
    assert!(rim.update_broker_info_update_timestamp(CLUSTER, A_MASTER, 50_000));
    assert!(!rim.update_broker_info_update_timestamp(CLUSTER, "10.9.9.9:1", 50_000));

    assert_eq!(rim.scan_expired(121_000, 120_000), vec![]);
    let removed = rim.scan_expired(121_001, 120_000);
    assert_eq!(
        removed
            .iter()
            .map(|r| r.addr.broker_addr.as_str())
            .collect::<Vec<_>>(),
        vec![A_SLAVE, B_MASTER]
    );
    assert_eq!(live_addrs(&rim), vec![A_MASTER]);
    assert_eq!(
        rim.broker_addr_table()["broker-a"],
        broker_data("broker-a", &[(0, A_MASTER)])
    );
    assert_eq!(
        rim.topic_queue_table().keys().collect::<Vec<_>>(),
        vec!["OnlyA", "Shared"]
    );
    assert_eq!(rim.scan_expired(170_000, 120_000), vec![]);
    assert_eq!(rim.scan_expired(170_001, 120_000).len(), 1);
    assert!(rim.broker_addr_table().is_empty());
}

#[test]
fn a_broker_own_heartbeat_timeout_overrides_the_default() {
    let mut rim = RouteInfoManager::default();
    let mut reg = registration("broker-a", A_MASTER, 0, version(1), &[]);
    reg.heartbeat_timeout_ms = Some(10_000);
    rim.register_broker(reg, 1_000).unwrap();
    assert_eq!(rim.scan_expired(11_000, 120_000), vec![]);
    assert_eq!(rim.scan_expired(11_001, 120_000).len(), 1);
}

#[test]
fn topic_lists() {
    let rim = two_groups();
    let list = |topics: &[&str]| TopicList {
        broker_addr: None,
        topic_list: names(topics),
    };
    assert_eq!(rim.all_topic_list(), list(&["OnlyA", "OnlyB", "Shared"]));
    assert_eq!(
        rim.topics_by_cluster(CLUSTER),
        list(&["OnlyA", "OnlyB", "Shared"])
    );
    assert_eq!(rim.topics_by_cluster("Nope"), list(&[]));
    assert_eq!(
        rim.system_topic_list(),
        TopicList {
            broker_addr: Some(A_MASTER.into()),
            topic_list: names(&[CLUSTER, "broker-a", "broker-b"]),
        }
    );
    assert_eq!(
        rim.topics_with_sys_flag(|f| f & TOPIC_SYS_FLAG_UNIT != 0),
        list(&["OnlyB"])
    );
    let info = rim.cluster_info();
    assert_eq!(info.broker_addr_table, rim.broker_addr_table().clone());
    assert_eq!(
        info.cluster_addr_table[CLUSTER],
        names(&["broker-a", "broker-b"])
    );
}

#[test]
fn deleting_a_topic_everywhere_or_per_cluster() {
    let mut rim = two_groups();
    let mut other = registration(
        "broker-c",
        "10.0.0.5:10911",
        0,
        version(1),
        &[topic("Shared", 2, 6), topic("X", 1, 6)],
    );
    other.cluster_name = "OtherCluster".into();
    other.connection_id = 4;
    rim.register_broker(other, 1_000).unwrap();

    rim.delete_topic("Shared", Some(CLUSTER));
    assert_eq!(
        rim.topic_queue_table()["Shared"],
        [("broker-c".to_string(), qd("broker-c", 2, 6))]
            .into_iter()
            .collect()
    );
    rim.delete_topic("Shared", Some("NoSuchCluster"));
    assert!(rim.topic_queue_table().contains_key("Shared"));
    rim.delete_topic("Shared", Some("OtherCluster"));
    assert!(!rim.topic_queue_table().contains_key("Shared"));

    rim.delete_topic("OnlyA", None);
    assert_eq!(
        rim.topic_queue_table().keys().collect::<Vec<_>>(),
        vec!["OnlyB", "X"]
    );
}

#[test]
fn wiping_and_adding_write_perm_counts_topics() {
    let mut rim = two_groups();
    assert_eq!(rim.wipe_write_perm_of_broker("broker-a"), 2);
    assert_eq!(
        rim.topic_queue_table(),
        &queues(&[
            ("OnlyA", &[qd("broker-a", 2, 4)]),
            (
                "OnlyB",
                &[QueueData {
                    topic_sys_flag: TOPIC_SYS_FLAG_UNIT,
                    ..qd("broker-b", 1, 6)
                }]
            ),
            ("Shared", &[qd("broker-a", 4, 4), qd("broker-b", 8, 6)]),
        ])
    );
    assert_eq!(rim.add_write_perm_of_broker("broker-a"), 2);
    assert_eq!(rim.topic_queue_table()["Shared"]["broker-a"].perm, 6);
    assert_eq!(rim.wipe_write_perm_of_broker("broker-z"), 0);
}

#[test]
fn add_write_perm_sets_exactly_read_and_write() {
    let mut rim = RouteInfoManager::default();
    rim.register_broker(
        registration(
            "broker-a",
            A_MASTER,
            0,
            version(1),
            &[topic("T", 1, 7), topic("U", 1, 7)],
        ),
        1_000,
    )
    .unwrap();
    assert_eq!(rim.add_write_perm_of_broker("broker-a"), 2);
    assert_eq!(
        rim.topic_queue_table()["T"]["broker-a"].perm,
        PERM_READ | PERM_WRITE
    );
}

#[test]
fn register_topic_needs_every_broker_registered() {
    let mut rim = two_groups();
    assert!(!rim.register_topic("New", vec![qd("broker-a", 1, 6), qd("broker-z", 1, 6)]));
    assert!(!rim.topic_queue_table().contains_key("New"));
    assert!(!rim.register_topic("New", vec![]));
    assert!(rim.register_topic("New", vec![qd("broker-a", 1, 6), qd("broker-b", 2, 6)]));
    assert_eq!(
        rim.topic_queue_table()["New"],
        [
            ("broker-a".to_string(), qd("broker-a", 1, 6)),
            ("broker-b".to_string(), qd("broker-b", 2, 6)),
        ]
        .into_iter()
        .collect()
    );
}

#[test]
fn query_data_version_and_change_detection() {
    let rim = two_groups();
    assert_eq!(
        rim.query_broker_data_version(CLUSTER, A_MASTER),
        Some(&version(1))
    );
    assert!(!rim.is_broker_topic_config_changed(CLUSTER, A_MASTER, &version(1)));
    assert!(rim.is_broker_topic_config_changed(CLUSTER, A_MASTER, &version(2)));
    assert!(rim.is_broker_topic_config_changed("Other", A_MASTER, &version(1)));
}

#[test]
fn zone_and_acting_master_flag_follow_the_latest_registration() {
    let mut rim = RouteInfoManager::default();
    let mut reg = registration("broker-a", A_MASTER, 0, version(1), &[]);
    reg.zone_name = Some("zone-1".into());
    reg.enable_acting_master = Some(true);
    rim.register_broker(reg, 1_000).unwrap();
    let bd = &rim.broker_addr_table()["broker-a"];
    assert_eq!(bd.zone_name.as_deref(), Some("zone-1"));
    assert!(bd.enable_acting_master);

    let mut reg = registration("broker-a", A_MASTER, 0, version(1), &[]);
    reg.enable_acting_master = None;
    rim.register_broker(reg, 2_000).unwrap();
    let bd = &rim.broker_addr_table()["broker-a"];
    assert_eq!(bd.zone_name, None);
    assert!(!bd.enable_acting_master);
}

/// A 5.x group in acting-master mode: the master leaves, the lowest-id slave becomes the
/// "prime slave" whose topics go in read-only, and routes (with `supportActingMaster`)
/// present it as id 0.
#[test]
fn acting_master_after_the_master_leaves() {
    let mut rim = RouteInfoManager::new(RouteSettings {
        delete_topic_with_broker_registration: false,
        support_acting_master: true,
    });
    let acting = |mut reg: BrokerRegistration| {
        reg.enable_acting_master = Some(true);
        reg
    };
    rim.register_broker(
        acting(registration(
            "broker-a",
            A_MASTER,
            0,
            version(1),
            &[topic("T", 4, 6), topic("U", 4, 6)],
        )),
        1_000,
    )
    .unwrap();
    let mut slave = acting(registration(
        "broker-a",
        A_SLAVE,
        1,
        version(1),
        &[topic("T", 4, 6), topic("U", 4, 6)],
    ));
    slave.connection_id = 2;
    rim.register_broker(slave.clone(), 1_000).unwrap();
    // While the master is there, the slave's topics do not count.
    assert_eq!(rim.topic_queue_table()["T"]["broker-a"].perm, 6);

    rim.unregister_broker(&BrokerIdentity {
        cluster_name: CLUSTER.into(),
        broker_addr: A_MASTER.into(),
        broker_name: "broker-a".into(),
        broker_id: 0,
    });
    // No master left in a group that allows an acting master: read-only.
    assert_eq!(rim.topic_queue_table()["T"]["broker-a"].perm, 4);

    // The slave's next registration (new version) keeps its topics read-only.
    slave.topic_config_wrapper.data_version = version(2);
    rim.register_broker(slave, 2_000).unwrap();
    assert_eq!(rim.topic_queue_table()["T"]["broker-a"].perm, 4);

    let route = rim.pick_topic_route("T").unwrap();
    assert_eq!(
        route.broker_datas[0].broker_addrs,
        [(0, A_SLAVE.to_string())].into_iter().collect()
    );
    // The tables themselves still say id 1.
    assert_eq!(
        rim.broker_addr_table()["broker-a"].broker_addrs,
        [(1, A_SLAVE.to_string())].into_iter().collect()
    );

    // Without supportActingMaster the route is left as it is.
    rim.set_settings(RouteSettings::default());
    let route = rim.pick_topic_route("T").unwrap();
    assert_eq!(
        route.broker_datas[0].broker_addrs,
        [(1, A_SLAVE.to_string())].into_iter().collect()
    );
}

#[test]
fn static_topic_mappings_are_carried_into_routes() {
    let mut rim = RouteInfoManager::default();
    let mut reg = registration(
        "broker-a",
        A_MASTER,
        0,
        version(1),
        &[topic("Static", 4, 6), topic("T", 1, 6)],
    );
    reg.topic_config_wrapper.topic_queue_mapping_info_map = Some(serde_json::json!({
        "Static": {"bname": "broker-a", "epoch": 1, "scope": "__global__", "totalQueues": 4}
    }));
    rim.register_broker(reg, 1_000).unwrap();
    let route = rim.pick_topic_route("Static").unwrap();
    assert_eq!(
        route.topic_queue_mapping_by_broker,
        Some(serde_json::json!({
            "broker-a": {"bname": "broker-a", "epoch": 1, "scope": "__global__", "totalQueues": 4}
        }))
    );
    assert_eq!(
        rim.pick_topic_route("T")
            .unwrap()
            .topic_queue_mapping_by_broker,
        None
    );
}
