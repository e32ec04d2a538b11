//! `broker.conf` loading: RocketMQ's own sample files load unchanged, Java properties syntax
//! is read as Java reads it, overrides win, bad values and unsupported features are refused
//! with the key named, and unknown keys are reported instead of failing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use std::path::{Path, PathBuf};

use petrel_broker::config::{
    ignored_keys, parse_message_delay_level, supported_keys, BrokerRole, ConfigError, ConfigLoad,
    KeyStatus, DEFAULT_MESSAGE_DELAY_LEVEL,
};
use petrel_broker::BrokerConfig;
use petrel_store::FlushDiskType;

/// `distribution/conf/broker.conf` from Apache RocketMQ 5.3, license header included.
const ROCKETMQ_BROKER_CONF: &str = "\
# Licensed to the Apache Software Foundation (ASF) under one or more
# contributor license agreements.  See the NOTICE file distributed with
# this work for additional information regarding copyright ownership.
# The ASF licenses this file to You under the Apache License, Version 2.0
# (the \"License\"); you may not use this file except in compliance with
# the License.  You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
#  Unless required by applicable law or agreed to in writing, software
#  distributed under the License is distributed on an \"AS IS\" BASIS,
#  WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
#  See the License for the specific language governing permissions and
#  limitations under the License.

brokerClusterName = DefaultCluster
brokerName = broker-a
brokerId = 0
deleteWhen = 04
fileReservedTime = 48
brokerRole = ASYNC_MASTER
flushDiskType = ASYNC_FLUSH
";

/// A production-style master of a 2m-2s-async cluster (`distribution/conf/2m-2s-async/
/// broker-a.properties` plus the keys operators usually add), with CRLF line ends.
const PRODUCTION_BROKER_CONF: &str = "\
#所属集群名字\r
brokerClusterName=rocketmq-cluster\r
brokerName=broker-a\r
brokerId=0\r
namesrvAddr=10.0.0.1:9876;10.0.0.2:9876\r
brokerIP1=10.0.0.11\r
brokerIP2=10.0.0.12\r
listenPort=10911\r
haListenPort=10912\r
defaultTopicQueueNums=4\r
autoCreateTopicEnable=false\r
autoCreateSubscriptionGroup=false\r
mappedFileSizeCommitLog=536870912\r
mappedFileSizeConsumeQueue=300000\r
deleteWhen=04;16\r
fileReservedTime=120\r
diskMaxUsedSpaceRatio=80\r
storePathRootDir=/data/rocketmq/store\r
storePathCommitLog=/data/rocketmq/store/commitlog\r
storePathConsumeQueue=/data/rocketmq/store/consumequeue\r
maxMessageSize=65536\r
flushDiskType=SYNC_FLUSH\r
brokerRole=ASYNC_MASTER\r
sendMessageThreadPoolNums=128\r
pullMessageThreadPoolNums=128\r
useReentrantLockWhenPutMessage=true\r
waitTimeMillsInSendQueue=1000\r
transientStorePoolEnable=false\r
messageDelayLevel=1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h 1d\r
";

fn write_conf(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("broker.conf");
    std::fs::write(&path, text).unwrap();
    path
}

fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Loads `pairs` over the defaults, rooted at /tmp/petrel-test.
fn load_pairs(pairs: &[(&str, &str)]) -> Result<ConfigLoad, ConfigError> {
    let overrides: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    BrokerConfig::load(None, &overrides, Path::new("/tmp/petrel-test"))
}

fn ignored(load: &ConfigLoad) -> Vec<&str> {
    load.ignored_keys.iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn rocketmq_sample_broker_conf_loads_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_conf(dir.path(), ROCKETMQ_BROKER_CONF);

    let load = BrokerConfig::load(Some(&path), &[], dir.path()).unwrap();

    let c = &load.config;
    assert_eq!(c.broker_cluster_name, "DefaultCluster");
    assert_eq!(c.broker_name, "broker-a");
    assert_eq!(c.broker_id, 0);
    assert_eq!(c.broker_role, BrokerRole::AsyncMaster);
    assert_eq!(c.store.delete_when, "04");
    assert_eq!(c.store.file_reserved_time_hours, 48);
    assert_eq!(c.store.flush_disk_type, FlushDiskType::AsyncFlush);
    assert_eq!(c.store_path_root_dir, dir.path());
    assert_eq!(c.store.store_path_root_dir, dir.path());
    assert!(load.unknown_keys.is_empty(), "{:?}", load.unknown_keys);
    assert!(load.ignored_keys.is_empty(), "{:?}", load.ignored_keys);
    assert!(load.warnings().is_empty());
}

#[test]
fn production_master_conf_maps_every_key_and_reports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_conf(dir.path(), PRODUCTION_BROKER_CONF);

    let load = BrokerConfig::load(Some(&path), &[], Path::new("/unused")).unwrap();

    let c = &load.config;
    assert_eq!(c.broker_cluster_name, "rocketmq-cluster");
    assert_eq!(c.namesrv_addr, vec!["10.0.0.1:9876", "10.0.0.2:9876"]);
    assert_eq!(c.broker_ip1.as_deref(), Some("10.0.0.11"));
    assert_eq!(c.broker_ip2.as_deref(), Some("10.0.0.12"));
    assert_eq!(c.listen_port, 10911);
    assert_eq!(c.default_topic_queue_nums, 4);
    assert!(!c.auto_create_topic_enable);
    assert!(!c.auto_create_subscription_group);
    assert_eq!(c.store_path_root_dir, Path::new("/data/rocketmq/store"));
    assert_eq!(
        c.store.store_path_root_dir,
        Path::new("/data/rocketmq/store")
    );
    assert_eq!(c.store.mapped_file_size_commit_log, 512 * 1024 * 1024);
    assert_eq!(c.store.mapped_file_size_consume_queue, 300_000);
    assert_eq!(c.store.delete_when, "04;16");
    assert_eq!(c.store.file_reserved_time_hours, 120);
    assert_eq!(c.store.disk_max_used_space_ratio, 80);
    assert_eq!(c.max_message_size_bytes, 65536);
    assert_eq!(c.store.max_message_size_bytes, 65536);
    assert_eq!(c.store.flush_disk_type, FlushDiskType::SyncFlush);
    assert_eq!(c.wait_time_mills_in_send_queue_ms, 1000);
    assert_eq!(
        parse_message_delay_level(&c.message_delay_level)
            .unwrap()
            .last(),
        Some(&86_400_000)
    );

    // storePathConsumeQueue is not a RocketMQ key (only storePathCommitLog is).
    assert_eq!(load.unknown_keys, vec!["storePathConsumeQueue"]);
    assert_eq!(
        ignored(&load),
        vec![
            "sendMessageThreadPoolNums",
            "pullMessageThreadPoolNums",
            "useReentrantLockWhenPutMessage",
            "waitTimeMillsInSendQueue",
            "transientStorePoolEnable",
        ]
    );
    let warnings = load.warnings();
    assert_eq!(
        warnings[0],
        "ignoring unsupported broker.conf keys: storePathConsumeQueue"
    );
    assert!(warnings
        .iter()
        .any(|w| w.contains("sendMessageThreadPoolNums") && w.contains("thread pools")));
}

#[test]
fn java_properties_syntax_is_read_as_java_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\
! a comment in the other style
   # an indented comment
brokerClusterName:Cluster\\u005fA
brokerName   broker-b
namesrvAddr = 10.0.0.1:9876;\\
              10.0.0.2:9876
listenPort = 30911   \t
deleteWhen=0\\
4
messageDelayLevel=1s \\
    2m\\t3h
brokerIP1=10.0.0.1
";
    let path = write_conf(dir.path(), text);

    let c = BrokerConfig::load(Some(&path), &[], dir.path())
        .unwrap()
        .config;

    assert_eq!(c.broker_cluster_name, "Cluster_A");
    assert_eq!(c.broker_name, "broker-b");
    assert_eq!(c.namesrv_addr, vec!["10.0.0.1:9876", "10.0.0.2:9876"]);
    // Java keeps the trailing blanks in the value; Petrel trims before converting.
    assert_eq!(c.listen_port, 30911);
    assert_eq!(c.store.delete_when, "04");
    assert_eq!(c.message_delay_level, "1s 2m\t3h");
    assert_eq!(
        parse_message_delay_level(&c.message_delay_level).unwrap(),
        vec![1_000, 120_000, 10_800_000]
    );
}

#[test]
fn malformed_escape_is_a_syntax_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_conf(dir.path(), "brokerId=0\n\nbrokerName=\\u00zz\n");

    let err = BrokerConfig::load(Some(&path), &[], dir.path()).unwrap_err();

    assert!(matches!(&err, ConfigError::Syntax { source, .. } if source.line == 3));
    assert!(err.to_string().contains("broker.conf: line 3"), "{err}");
}

#[test]
fn missing_file_is_a_read_error_naming_the_path() {
    let err = BrokerConfig::load(
        Some(Path::new("/nonexistent/broker.conf")),
        &[],
        Path::new("/x"),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string().contains("/nonexistent/broker.conf"),
        "{err}"
    );
}

#[test]
fn overrides_win_over_the_file_and_later_overrides_win() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_conf(dir.path(), ROCKETMQ_BROKER_CONF);
    let overrides = [
        "listenPort=20911".to_string(),
        "flushDiskType=SYNC_FLUSH".to_string(),
        "listenPort=30911".to_string(),
        "brokerName = broker-z".to_string(),
        "namesrvAddr=127.0.0.1:9876".to_string(),
    ];

    let c = BrokerConfig::load(Some(&path), &overrides, dir.path())
        .unwrap()
        .config;

    assert_eq!(c.listen_port, 30911);
    assert_eq!(c.store.flush_disk_type, FlushDiskType::SyncFlush);
    assert_eq!(c.broker_name, "broker-z");
    assert_eq!(c.namesrv_addr, vec!["127.0.0.1:9876"]);
    assert_eq!(c.store.file_reserved_time_hours, 48);
}

#[test]
fn an_override_replaces_a_bad_value_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_conf(dir.path(), "listenPort=oops\n");

    let c = BrokerConfig::load(Some(&path), &["listenPort=10921".to_string()], dir.path())
        .unwrap()
        .config;

    assert_eq!(c.listen_port, 10921);
}

#[test]
fn from_properties_takes_the_last_duplicate_and_validates() {
    let load = BrokerConfig::from_properties(&props(&[
        ("listenPort", "1"),
        ("storePathRootDir", "/srv/a"),
        ("listenPort", "20911"),
    ]))
    .unwrap();
    assert_eq!(load.config.listen_port, 20911);
    assert_eq!(load.config.store.store_path_root_dir, Path::new("/srv/a"));

    let err = BrokerConfig::from_properties(&props(&[("listenPort", "1")])).unwrap_err();
    assert_eq!(err.key(), Some("listenPort"));
}

#[test]
fn an_override_without_equals_is_refused() {
    let err = BrokerConfig::load(None, &["listenPort".to_string()], Path::new("/x")).unwrap_err();
    assert!(matches!(err, ConfigError::Override { .. }), "{err}");
    let err = BrokerConfig::load(None, &["=1".to_string()], Path::new("/x")).unwrap_err();
    assert!(matches!(err, ConfigError::Override { .. }), "{err}");
}

#[test]
fn values_of_the_wrong_type_name_key_value_and_expectation() {
    let cases = [
        ("listenPort", "abc", "a whole number from 0 to 65535"),
        ("listenPort", "70000", "a whole number from 0 to 65535"),
        (
            "maxMessageSize",
            "-1",
            "a whole number from 0 to 2147483647",
        ),
        ("fileReservedTime", "48h", "a whole number"),
        ("autoCreateTopicEnable", "yes", "true or false"),
        ("flushDiskType", "sync", "ASYNC_FLUSH or SYNC_FLUSH"),
        ("brokerRole", "MASTER", "ASYNC_MASTER, SYNC_MASTER or SLAVE"),
        ("bindAddress", "localhost", "an IP address"),
    ];
    for (key, value, expected) in cases {
        let err = load_pairs(&[(key, value)]).unwrap_err();
        assert_eq!(err.key(), Some(key), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(key) && text.contains(value) && text.contains(expected),
            "{key}={value}: {text}"
        );
    }
}

#[test]
fn booleans_ignore_case() {
    let c = load_pairs(&[
        ("autoCreateTopicEnable", "FALSE"),
        ("longPollingEnable", "False"),
    ])
    .unwrap()
    .config;
    assert!(!c.auto_create_topic_enable);
    assert!(!c.long_polling_enable);
}

#[test]
fn values_that_cannot_work_are_refused_naming_the_key() {
    // (keys set, key named in the error, words of the reason)
    type Case = (
        &'static [(&'static str, &'static str)],
        &'static str,
        &'static str,
    );
    let cases: &[Case] = &[
        (&[("listenPort", "2")], "listenPort", "fast port"),
        (&[("brokerId", "1")], "brokerId", "must be 0 for a master"),
        (
            &[("brokerRole", "SLAVE"), ("brokerId", "0")],
            "brokerId",
            "1 or more for brokerRole=SLAVE",
        ),
        (
            &[("haMasterAddress", "nowhere")],
            "haMasterAddress",
            "not host:port",
        ),
        (
            &[("defaultTopicQueueNums", "0")],
            "defaultTopicQueueNums",
            "1 to 1024",
        ),
        (
            &[("defaultTopicQueueNums", "1025")],
            "defaultTopicQueueNums",
            "1 to 1024",
        ),
        (&[("maxMessageSize", "0")], "maxMessageSize", "positive"),
        (&[("brokerName", "broker a")], "brokerName", "characters"),
        (&[("brokerName", "")], "brokerName", "characters"),
        (
            &[("brokerClusterName", "cluster.one")],
            "brokerClusterName",
            "characters",
        ),
        (&[("namesrvAddr", "10.0.0.1")], "namesrvAddr", "host:port"),
        (
            &[("brokerIP1", "broker.example.com")],
            "brokerIP1",
            "IP address",
        ),
        (&[("brokerPermission", "16")], "brokerPermission", "0 to 15"),
        (
            &[("registerNameServerPeriod", "5000")],
            "registerNameServerPeriod",
            "10000 to 60000",
        ),
        (&[("messageDelayLevel", "1s 5x")], "messageDelayLevel", "5x"),
        (
            &[("flushConsumerOffsetInterval", "0")],
            "flushConsumerOffsetInterval",
            "positive",
        ),
        // The store's own checks come through with their keys.
        (
            &[("diskMaxUsedSpaceRatio", "5")],
            "diskMaxUsedSpaceRatio",
            "percentage",
        ),
        (
            &[("mappedFileSizeConsumeQueue", "30")],
            "mappedFileSizeConsumeQueue",
            "multiple of 20",
        ),
        (&[("deleteWhen", "25")], "deleteWhen", "hour"),
        (&[("syncFlushTimeout", "0")], "syncFlushTimeout", "positive"),
        (
            &[
                ("mappedFileSizeCommitLog", "1048576"),
                ("maxMessageSize", "4194304"),
            ],
            "maxMessageSize",
            "does not fit",
        ),
    ];
    for (pairs, key, reason) in cases {
        let err = load_pairs(pairs).unwrap_err();
        assert_eq!(err.key(), Some(*key), "{pairs:?}: {err}");
        assert!(err.to_string().contains(reason), "{pairs:?}: {err}");
    }
}

#[test]
fn controller_mode_needs_its_controllers() {
    let err = load_pairs(&[("enableControllerMode", "true")]).unwrap_err();
    assert_eq!(err.key(), Some("controllerAddr"), "{err}");
    let config = load_pairs(&[
        ("enableControllerMode", "true"),
        ("controllerAddr", "127.0.0.1:9878; 127.0.0.1:9868"),
        ("brokerId", "-1"),
        ("brokerRole", "SLAVE"),
        ("allAckInSyncStateSet", "true"),
    ])
    .unwrap()
    .config;
    assert!(config.controller.enable_controller_mode);
    assert_eq!(
        config.controller.controller_addr,
        ["127.0.0.1:9878", "127.0.0.1:9868"]
    );
    assert!(config.controller.all_ack_in_sync_state_set);
}

#[test]
fn features_petrel_lacks_are_refused_clearly() {
    let cases = [
        ("enableDLegerCommitLog", "true", "DLedger"),
        ("storePathCommitLog", "/ssd/commitlog", "not supported yet"),
    ];
    for (key, value, reason) in cases {
        let err = load_pairs(&[(key, value)]).unwrap_err();
        assert!(matches!(err, ConfigError::Unsupported { .. }), "{err}");
        assert_eq!(err.key(), Some(key));
        assert!(err.to_string().contains(reason), "{key}: {err}");
    }
    // Their RocketMQ defaults are fine to spell out.
    let load = load_pairs(&[
        ("enableDLegerCommitLog", "false"),
        ("aclEnable", "false"),
        ("authenticationEnabled", "false"),
    ])
    .unwrap();
    assert!(load.ignored_keys.is_empty() && load.unknown_keys.is_empty());
}

#[test]
fn auth_keys_are_read() {
    let load = load_pairs(&[
        ("authenticationEnabled", "TRUE"),
        ("authorizationEnabled", "true"),
        (
            "initAuthenticationUser",
            r#"{"username":"rocketmq","password":"12345678"}"#,
        ),
        ("authenticationWhitelist", " 34, 35 "),
        ("aclPlainFile", "/etc/rocketmq/plain_acl.yml"),
    ])
    .unwrap();
    let a = &load.config.auth;
    assert!(a.authentication_enabled && a.authorization_enabled && !a.acl_enable);
    assert_eq!(a.authentication_whitelist, ["34", "35"]);
    assert!(a
        .init_authentication_user
        .as_deref()
        .unwrap()
        .contains("rocketmq"));
    assert_eq!(
        a.acl_plain_file.as_deref(),
        Some(Path::new("/etc/rocketmq/plain_acl.yml"))
    );
    assert!(load_pairs(&[("aclEnable", "yes")]).is_err());
}

#[test]
fn store_path_commit_log_is_accepted_under_the_root_in_any_key_order() {
    let c = load_pairs(&[
        ("storePathCommitLog", "/data/store/commitlog/"),
        ("storePathRootDir", "/data/store"),
    ])
    .unwrap()
    .config;
    assert_eq!(c.store.store_path_root_dir, Path::new("/data/store"));

    // Without storePathRootDir the root is the default one (--data-dir).
    load_pairs(&[("storePathCommitLog", "/tmp/petrel-test/commitlog")]).unwrap();
}

#[test]
fn replication_keys_configure_masters_and_slaves() {
    let load = load_pairs(&[("brokerRole", "SYNC_MASTER")]).unwrap();
    assert_eq!(load.config.broker_role, BrokerRole::SyncMaster);
    assert!(load.ignored_keys.is_empty());
    assert_eq!(
        load.config.ha.in_sync_replicas, None,
        "4.9's rule by default"
    );

    let load = load_pairs(&[
        ("brokerRole", "SLAVE"),
        ("brokerId", "1"),
        ("haMasterAddress", "10.0.0.1:10912"),
        ("haSendHeartbeatInterval", "1000"),
        ("haHousekeepingInterval", "5000"),
        ("slaveTimeout", "1500"),
        ("inSyncReplicas", "2"),
        ("slaveReadEnable", "true"),
    ])
    .unwrap();
    let c = &load.config;
    assert!(load.ignored_keys.is_empty(), "{:?}", load.ignored_keys);
    assert_eq!((c.broker_role, c.broker_id), (BrokerRole::Slave, 1));
    assert_eq!(c.ha_master_address.as_deref(), Some("10.0.0.1:10912"));
    assert_eq!(
        (
            c.ha.heartbeat_interval_ms,
            c.ha.housekeeping_interval_ms,
            c.ha.slave_timeout_ms
        ),
        (1000, 5000, 1500)
    );
    assert_eq!(c.ha.in_sync_replicas, Some(2));
    assert!(c.slave_read_enable);
    // haListenPort defaults to listenPort + 1.
    let props = c.effective_properties();
    let ha_port = props.iter().find(|(k, _)| k == "haListenPort").unwrap();
    assert_eq!(ha_port.1, "10912");
}

#[test]
fn unknown_and_ignored_keys_are_reported_once_not_fatal() {
    let load = load_pairs(&[
        ("ListenPort", "1"),
        ("storePathIndex", "/x"),
        ("totalReplicas", "2"),
        ("transactionCheckMax", "20"),
        ("storePathIndex", "/y"),
        ("serverWorkerThreads", "abc"),
    ])
    .unwrap();

    // Keys are case-sensitive, as in Java.
    assert_eq!(load.unknown_keys, vec!["ListenPort", "storePathIndex"]);
    assert_eq!(load.config.listen_port, 10911);
    assert_eq!(ignored(&load), vec!["totalReplicas", "serverWorkerThreads"]);
    // Transactions are implemented: the key is used, not reported.
    assert_eq!(load.config.transaction_check_max, 20);
}

#[test]
fn no_file_gives_defaults_rooted_at_the_data_dir() {
    let load = BrokerConfig::load(None, &[], Path::new("/var/lib/petrel")).unwrap();
    let c = &load.config;
    assert_eq!(c.store_path_root_dir, Path::new("/var/lib/petrel"));
    assert_eq!(c.store.store_path_root_dir, Path::new("/var/lib/petrel"));
    assert_eq!(c.identity(), "DefaultCluster@broker-a#0");
}

/// Defaults checked against RocketMQ 5.3's BrokerConfig, MessageStoreConfig and
/// NettyServerConfig (listenPort: BrokerStartup sets 10911 before the file is applied).
#[test]
fn defaults_are_rocketmq_defaults() {
    let defaults = BrokerConfig::new("/root/store").effective_properties();
    let get = |key: &str| {
        defaults
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("{key} missing"))
            .1
            .clone()
    };
    let expected = [
        ("brokerClusterName", "DefaultCluster"),
        ("brokerId", "0"),
        ("brokerRole", "ASYNC_MASTER"),
        ("namesrvAddr", ""),
        ("listenPort", "10911"),
        ("bindAddress", "0.0.0.0"),
        ("brokerPermission", "6"),
        ("registerNameServerPeriod", "30000"),
        ("clientChannelMaxIdleTimeSeconds", "120"),
        ("enableDLegerCommitLog", "false"),
        ("aclEnable", "false"),
        ("storePathRootDir", "/root/store"),
        ("storePathCommitLog", "/root/store/commitlog"),
        ("mappedFileSizeCommitLog", "1073741824"),
        ("mappedFileSizeConsumeQueue", "6000000"),
        ("messageIndexEnable", "true"),
        ("maxHashSlotNum", "5000000"),
        ("maxIndexNum", "20000000"),
        ("flushDiskType", "ASYNC_FLUSH"),
        ("flushIntervalCommitLog", "500"),
        ("flushCommitLogLeastPages", "4"),
        ("flushCommitLogThoroughInterval", "10000"),
        ("flushIntervalConsumeQueue", "1000"),
        ("syncFlushTimeout", "5000"),
        ("fileReservedTime", "72"),
        ("deleteWhen", "04"),
        ("diskMaxUsedSpaceRatio", "75"),
        ("diskSpaceCleanForciblyRatio", "85"),
        ("diskSpaceWarningLevelRatio", "90"),
        ("cleanResourceInterval", "10000"),
        ("autoCreateTopicEnable", "true"),
        ("defaultTopicQueueNums", "8"),
        ("autoCreateSubscriptionGroup", "true"),
        ("longPollingEnable", "true"),
        ("shortPollingTimeMills", "1000"),
        ("maxTransferBytesOnMessageInMemory", "262144"),
        ("maxTransferCountOnMessageInMemory", "32"),
        ("flushConsumerOffsetInterval", "5000"),
        ("enablePropertyFilter", "false"),
        ("messageDelayLevel", DEFAULT_MESSAGE_DELAY_LEVEL),
        ("timerMaxDelaySec", "259200"),
        ("transactionTimeOut", "6000"),
        ("transactionCheckMax", "15"),
        ("transactionCheckInterval", "30000"),
        ("maxMessageSize", "4194304"),
        ("waitTimeMillsInSendQueue", "200"),
    ];
    for (key, value) in expected {
        assert_eq!(get(key), value, "{key}");
    }
    assert_eq!(
        DEFAULT_MESSAGE_DELAY_LEVEL,
        "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
    );
    // One deliberate difference: Petrel pre-faults the next CommitLog segment by default.
    assert_eq!(get("warmMapedFileEnable"), "true");
}

#[test]
fn effective_properties_round_trip_through_from_properties() {
    let defaults = BrokerConfig::new("/srv/petrel");
    let mut custom = load_pairs(&[
        ("brokerClusterName", "prod"),
        ("brokerName", "broker-b"),
        ("brokerRole", "SYNC_MASTER"),
        ("namesrvAddr", "10.0.0.1:9876;[::1]:9876"),
        ("listenPort", "20911"),
        ("bindAddress", "::"),
        ("brokerIP1", "10.0.0.5"),
        ("brokerIP2", "10.0.0.6"),
        ("brokerPermission", "4"),
        ("storePathRootDir", "/srv/other"),
        ("flushDiskType", "SYNC_FLUSH"),
        ("mappedFileSizeCommitLog", "104857600"),
        ("deleteWhen", "01;13"),
        ("warmMapedFileEnable", "false"),
        ("messageDelayLevel", "1s 1d"),
        ("transactionCheckInterval", "60000"),
        ("maxMessageSize", "1048576"),
    ])
    .unwrap()
    .config;
    custom.store.message_index_enable = false;

    for config in [defaults, custom] {
        let props = config.effective_properties();
        let load = BrokerConfig::from_properties(&props).unwrap();
        assert!(load.unknown_keys.is_empty(), "{:?}", load.unknown_keys);
        assert_eq!(load.config.effective_properties(), props);
    }
}

#[test]
fn effective_properties_list_every_supported_key_once() {
    let props = BrokerConfig::new("/x").effective_properties();
    let names: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
    let supported: Vec<&str> = supported_keys().map(|(k, _)| k).collect();
    assert_eq!(names, supported);
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
    assert!(ignored_keys().all(|(k, _)| !names.contains(&k)));
}

/// docs/configuration.md must describe every key Petrel parses or ignores.
#[test]
fn every_key_is_documented() {
    let docs_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let docs = std::fs::read_to_string(&docs_path).unwrap();
    let missing: Vec<&str> = supported_keys()
        .map(|(k, _)| k)
        .chain(ignored_keys().map(|(k, _)| k))
        .filter(|k| !docs.contains(&format!("`{k}`")))
        .collect();
    assert!(missing.is_empty(), "undocumented keys: {missing:?}");
    // Keys that only parse say so in the docs.
    for (key, status) in supported_keys() {
        if let KeyStatus::ParsedOnly(_) = status {
            let row = docs
                .lines()
                .find(|l| l.starts_with(&format!("| `{key}`")))
                .unwrap_or_else(|| panic!("no table row for {key}"));
            assert!(row.contains("parsed"), "{key}: {row}");
        }
    }
}

#[test]
fn transport_limits_are_broker_conf_keys() {
    let load = load_pairs(&[
        ("maxConnections", "500"),
        ("maxConnectionsPerClientIp", "20"),
        ("connectionDescriptorReserve", "64"),
        ("frameReadTimeoutSeconds", "5"),
        ("maxLargeFrameBytesTotal", "33554432"),
        ("maxInFlightRequestsTotal", "1000"),
    ])
    .unwrap();
    let c = &load.config;
    assert_eq!(c.max_connections, 500);
    assert_eq!(c.max_connections_per_client_ip, 20);
    assert_eq!(c.connection_descriptor_reserve, 64);
    assert_eq!(c.frame_read_timeout_seconds, 5);
    assert_eq!(c.max_large_frame_bytes_total, 32 * 1024 * 1024);
    assert_eq!(c.max_in_flight_requests_total, 1000);
    assert!(ignored(&load).is_empty());

    // A budget smaller than one frame could never admit a large frame.
    let err = load_pairs(&[("maxLargeFrameBytesTotal", "1048576")]).unwrap_err();
    assert_eq!(err.key(), Some("maxLargeFrameBytesTotal"));
    let err = load_pairs(&[("maxConnections", "0")]).unwrap_err();
    assert_eq!(err.key(), Some("maxConnections"));
}
