//! The route tables: which broker groups exist, where their members listen, which topics have
//! queues on which broker group, and which brokers are alive.
//!
//! [`RouteInfoManager`] is a plain state machine (RocketMQ's `RouteInfoManager`, 5.x): no I/O,
//! no async, no clock reads (every method that needs the time takes `now_ms`), no logging.
//! Methods return what changed so the caller can log it and act on it (close a connection).
//! The server keeps it behind a `parking_lot::RwLock`; reads (route lookups by every producer
//! and consumer every 30 s) dominate writes (broker registrations every 30 s per broker).
//!
//! Tables (Java's names):
//! - `topicQueueTable`: topic → broker name → [`QueueData`].
//! - `brokerAddrTable`: broker name → [`BrokerData`] (cluster, broker id → address, zone,
//!   acting-master flag).
//! - `clusterAddrTable`: cluster → broker names.
//! - `brokerLiveTable`: (cluster, broker address) → [`BrokerLiveInfo`] (last registration or
//!   heartbeat, data version, HA address, the connection it registered over).
//! - `filterServerTable`: (cluster, broker address) → filter servers (deprecated in RocketMQ,
//!   kept because routes carry it).
//! - `topicQueueMappingInfoTable`: topic → broker name → static-topic mapping (5.x), carried
//!   through untouched.
//!
//! Maps are `BTreeMap`s so that every listing (routes, cluster info, topic lists) comes out in
//! a stable order; Java's come out in hash order, which clients do not depend on.

use std::collections::{BTreeMap, BTreeSet};

use petrel_protocol::mix_all::MASTER_ID;
use petrel_protocol::perm::{PERM_READ, PERM_WRITE};
use petrel_protocol::remoting::body::{
    BrokerData, BrokerMemberGroup, ClusterInfo, DataVersion, QueueData,
    TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
use petrel_protocol::topic::SYNC_BROKER_MEMBER_GROUP_PREFIX;

/// Behaviour switches of the route tables (fields of Java's `NamesrvConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouteSettings {
    /// `deleteTopicWithBrokerRegistration` (default false): when a master registers, topics it
    /// no longer reports lose that broker's queues. Off by default, as in Java, because 5.x
    /// brokers also send *partial* registrations (one new topic at a time, and split
    /// registrations of large topic tables); with this on, each of those would remove every
    /// other topic of the broker until its next full registration.
    pub delete_topic_with_broker_registration: bool,
    /// `supportActingMaster` (default false): in a broker group whose master is gone and
    /// whose queues are read-only, routes present the lowest-id slave as the master.
    pub support_acting_master: bool,
}

/// A broker's identity in the live table: RocketMQ's `BrokerAddrInfo`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BrokerAddrInfo {
    pub cluster_name: String,
    pub broker_addr: String,
}

impl BrokerAddrInfo {
    pub fn new(cluster_name: impl Into<String>, broker_addr: impl Into<String>) -> Self {
        BrokerAddrInfo {
            cluster_name: cluster_name.into(),
            broker_addr: broker_addr.into(),
        }
    }
}

/// What the name server knows about a live broker (`BrokerLiveInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerLiveInfo {
    /// Last registration or heartbeat, in ms on the caller's clock (the server uses a
    /// monotonic clock).
    pub last_update_ms: u64,
    /// The broker's own expiry (`heartbeatTimeoutMillis` in its registration); `None` means
    /// the name server's default (`broker_channel_expired_ms`).
    pub heartbeat_timeout_ms: Option<u64>,
    /// The version of the topic table the broker last registered.
    pub data_version: DataVersion,
    /// The connection the broker last registered over; closing it unregisters the broker.
    pub connection_id: u64,
    pub ha_server_addr: String,
}

/// One `REGISTER_BROKER` request, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrokerRegistration {
    pub cluster_name: String,
    pub broker_addr: String,
    pub broker_name: String,
    /// 0 is the master.
    pub broker_id: i64,
    pub ha_server_addr: String,
    /// The `__ZONE_NAME` ext field.
    pub zone_name: Option<String>,
    pub heartbeat_timeout_ms: Option<u64>,
    /// `None` for brokers older than 5.0, which do not send the field.
    pub enable_acting_master: Option<bool>,
    pub topic_config_wrapper: TopicConfigSerializeWrapper,
    /// `None` leaves the broker's filter servers as they are (brokers before 3.0.11);
    /// an empty list removes them.
    pub filter_server_list: Option<Vec<String>>,
    pub connection_id: u64,
}

/// What a registration answers (`RegisterBrokerResult`, plus what happened for logging).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegisterBrokerResult {
    /// For a slave: its master's address, if the master is alive.
    pub master_addr: Option<String>,
    /// For a slave: its master's HA address, if the master is alive.
    pub ha_server_addr: Option<String>,
    /// The broker address was not in the live table before.
    pub new_broker: bool,
    /// The registration was ignored: another address holds this broker id with a newer
    /// `stateVersion` (controller mode). The answer is still SUCCESS, as in Java.
    pub stale_ignored: bool,
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// A one-topic (incremental) registration from a broker id that has not made a full
    /// registration yet. Java refuses it so a route never points at a broker group that was
    /// only partly described; the broker's next full registration succeeds.
    #[error("register broker failed: broker {broker_name} id {broker_id} at {broker_addr} sent a single-topic registration before its first full registration")]
    NotRegisteredYet {
        broker_name: String,
        broker_id: i64,
        broker_addr: String,
    },
}

/// One `UNREGISTER_BROKER` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerIdentity {
    pub cluster_name: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
}

/// A broker removed because its connection closed or it went silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedBroker {
    pub addr: BrokerAddrInfo,
    /// The broker name and id it was registered under, if it still had an address entry.
    pub broker_name: Option<String>,
    pub broker_id: Option<i64>,
    /// The connection it last registered over.
    pub connection_id: u64,
    pub last_update_ms: u64,
}

/// The route tables. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct RouteInfoManager {
    settings: RouteSettings,
    topic_queue_table: BTreeMap<String, BTreeMap<String, QueueData>>,
    broker_addr_table: BTreeMap<String, BrokerData>,
    cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
    broker_live_table: BTreeMap<BrokerAddrInfo, BrokerLiveInfo>,
    filter_server_table: BTreeMap<BrokerAddrInfo, Vec<String>>,
    topic_queue_mapping_info_table: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

impl RouteInfoManager {
    pub fn new(settings: RouteSettings) -> Self {
        RouteInfoManager {
            settings,
            ..RouteInfoManager::default()
        }
    }

    pub fn settings(&self) -> RouteSettings {
        self.settings
    }

    /// Changes the behaviour switches (`UPDATE_NAMESRV_CONFIG`); the tables are untouched.
    pub fn set_settings(&mut self, settings: RouteSettings) {
        self.settings = settings;
    }

    /// topic → broker name → queues.
    pub fn topic_queue_table(&self) -> &BTreeMap<String, BTreeMap<String, QueueData>> {
        &self.topic_queue_table
    }

    /// broker name → broker group.
    pub fn broker_addr_table(&self) -> &BTreeMap<String, BrokerData> {
        &self.broker_addr_table
    }

    /// cluster → broker names.
    pub fn cluster_addr_table(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.cluster_addr_table
    }

    /// (cluster, broker address) → liveness.
    pub fn broker_live_table(&self) -> &BTreeMap<BrokerAddrInfo, BrokerLiveInfo> {
        &self.broker_live_table
    }

    /// (cluster, broker address) → filter servers.
    pub fn filter_server_table(&self) -> &BTreeMap<BrokerAddrInfo, Vec<String>> {
        &self.filter_server_table
    }

    /// topic → broker name → static-topic mapping.
    pub fn topic_queue_mapping_info_table(
        &self,
    ) -> &BTreeMap<String, BTreeMap<String, serde_json::Value>> {
        &self.topic_queue_mapping_info_table
    }

    /// `REGISTER_BROKER`: adds or refreshes a broker, and (for a master, or for the
    /// lowest-id slave of a 5.x group without a master) its topics' queue data.
    ///
    /// Queue data is rewritten for a topic when this is the broker id's first registration,
    /// when the broker's data version changed, or when the topic has no queue data for this
    /// broker name yet. Unlike Java, a refused or ignored registration changes nothing else
    /// (Java has already added the cluster and broker-name entries by the time it refuses).
    pub fn register_broker(
        &mut self,
        registration: BrokerRegistration,
        now_ms: u64,
    ) -> Result<RegisterBrokerResult, RegisterError> {
        let BrokerRegistration {
            cluster_name,
            broker_addr,
            broker_name,
            broker_id,
            ha_server_addr,
            zone_name,
            heartbeat_timeout_ms,
            enable_acting_master,
            topic_config_wrapper: wrapper,
            filter_server_list,
            connection_id,
        } = registration;
        let addr_info = BrokerAddrInfo::new(&cluster_name, &broker_addr);
        let mut result = RegisterBrokerResult::default();

        let known_addrs = self
            .broker_addr_table
            .get(&broker_name)
            .map(|bd| &bd.broker_addrs);
        // Another address holds this id with a newer state version: ignore this one.
        if let Some(old_addr) = known_addrs.and_then(|addrs| addrs.get(&broker_id)) {
            if *old_addr != broker_addr {
                let old = BrokerAddrInfo::new(&cluster_name, old_addr);
                if let Some(old_live) = self.broker_live_table.get(&old) {
                    if old_live.data_version.state_version > wrapper.data_version.state_version {
                        self.broker_live_table.remove(&addr_info);
                        result.stale_ignored = true;
                        return Ok(result);
                    }
                }
            }
        }
        let id_known = known_addrs.is_some_and(|addrs| addrs.contains_key(&broker_id));
        if !id_known && wrapper.topic_config_table.len() == 1 {
            return Err(RegisterError::NotRegisteredYet {
                broker_name,
                broker_id,
                broker_addr,
            });
        }

        self.cluster_addr_table
            .entry(cluster_name.clone())
            .or_default()
            .insert(broker_name.clone());

        let mut register_first = false;
        let broker_data = self
            .broker_addr_table
            .entry(broker_name.clone())
            .or_insert_with(|| {
                register_first = true;
                BrokerData {
                    cluster: cluster_name.clone(),
                    broker_name: broker_name.clone(),
                    ..BrokerData::default()
                }
            });
        let is_old_version_broker = enable_acting_master.is_none();
        broker_data.enable_acting_master = enable_acting_master.unwrap_or(false);
        broker_data.zone_name = zone_name;
        // A slave promoted to master registers its address under the new id: one address,
        // one id.
        broker_data
            .broker_addrs
            .retain(|id, addr| !(*addr == broker_addr && *id != broker_id));
        let old_addr = broker_data
            .broker_addrs
            .insert(broker_id, broker_addr.clone());
        register_first |= old_addr.is_none_or(|a| a.is_empty());

        let is_master = broker_id == MASTER_ID;
        let is_prime_slave = !is_old_version_broker
            && !is_master
            && broker_data.broker_addrs.keys().next() == Some(&broker_id);
        let acting_master = broker_data.enable_acting_master;

        if is_master || is_prime_slave {
            let broker_changed = self.is_broker_topic_config_changed(
                &cluster_name,
                &broker_addr,
                &wrapper.data_version,
            );
            let mappings = mapping_infos(wrapper.topic_queue_mapping_info_map.as_ref());

            if self.settings.delete_topic_with_broker_registration && mappings.is_empty() {
                let gone: Vec<String> = self
                    .topic_queue_table
                    .iter()
                    .filter(|(topic, by_broker)| {
                        by_broker.contains_key(&broker_name)
                            && !wrapper.topic_config_table.contains_key(*topic)
                    })
                    .map(|(topic, _)| topic.clone())
                    .collect();
                for topic in gone {
                    self.remove_queue_data(&topic, &broker_name);
                }
            }

            // The table key is the topic name (Java uses `TopicConfig.topicName`, which the
            // broker always sets to the key).
            for (topic, config) in &wrapper.topic_config_table {
                let has_queues = self
                    .topic_queue_table
                    .get(topic)
                    .is_some_and(|by_broker| by_broker.contains_key(&broker_name));
                if register_first || broker_changed || !has_queues {
                    let mut perm = config.perm;
                    if is_prime_slave && acting_master {
                        // The acting master is read-only.
                        perm &= !PERM_WRITE;
                    }
                    self.topic_queue_table
                        .entry(topic.clone())
                        .or_default()
                        .insert(
                            broker_name.clone(),
                            QueueData {
                                broker_name: broker_name.clone(),
                                perm,
                                read_queue_nums: config.read_queue_nums,
                                topic_sys_flag: config.topic_sys_flag,
                                write_queue_nums: config.write_queue_nums,
                            },
                        );
                }
            }

            if broker_changed || register_first {
                for (topic, bname, info) in mappings {
                    self.topic_queue_mapping_info_table
                        .entry(topic)
                        .or_default()
                        .insert(bname, info);
                }
            }
        }

        let previous = self.broker_live_table.insert(
            addr_info.clone(),
            BrokerLiveInfo {
                last_update_ms: now_ms,
                heartbeat_timeout_ms,
                data_version: wrapper.data_version,
                connection_id,
                ha_server_addr,
            },
        );
        result.new_broker = previous.is_none();

        match filter_server_list {
            Some(list) if list.is_empty() => {
                self.filter_server_table.remove(&addr_info);
            }
            Some(list) => {
                self.filter_server_table.insert(addr_info, list);
            }
            None => {}
        }

        if !is_master {
            let master_addr = self
                .broker_addr_table
                .get(&broker_name)
                .and_then(|bd| bd.broker_addrs.get(&MASTER_ID));
            if let Some(master_addr) = master_addr {
                let master = BrokerAddrInfo::new(&cluster_name, master_addr);
                if let Some(master_live) = self.broker_live_table.get(&master) {
                    result.ha_server_addr = Some(master_live.ha_server_addr.clone());
                    result.master_addr = Some(master_addr.clone());
                }
            }
        }
        Ok(result)
    }

    /// Whether `data_version` differs from what the broker last registered (true for an
    /// unknown broker).
    pub fn is_broker_topic_config_changed(
        &self,
        cluster_name: &str,
        broker_addr: &str,
        data_version: &DataVersion,
    ) -> bool {
        self.query_broker_data_version(cluster_name, broker_addr) != Some(data_version)
    }

    /// The data version the broker last registered.
    pub fn query_broker_data_version(
        &self,
        cluster_name: &str,
        broker_addr: &str,
    ) -> Option<&DataVersion> {
        self.broker_live_table
            .get(&BrokerAddrInfo::new(cluster_name, broker_addr))
            .map(|live| &live.data_version)
    }

    /// `BROKER_HEARTBEAT` / `QUERY_DATA_VERSION`: the broker is alive. Returns false for a
    /// broker that is not registered (nothing changes then).
    pub fn update_broker_info_update_timestamp(
        &mut self,
        cluster_name: &str,
        broker_addr: &str,
        now_ms: u64,
    ) -> bool {
        match self
            .broker_live_table
            .get_mut(&BrokerAddrInfo::new(cluster_name, broker_addr))
        {
            Some(live) => {
                live.last_update_ms = now_ms;
                true
            }
            None => false,
        }
    }

    /// `UNREGISTER_BROKER`. The address is removed from the broker group whatever id it is
    /// under (as in Java); the group goes when it has no address left, and with it its queue
    /// data (topics left without queues go too). When a group that allows an acting master
    /// loses its last master-like member, its queues become read-only. Returns whether the
    /// broker was in the live table.
    pub fn unregister_broker(&mut self, broker: &BrokerIdentity) -> bool {
        let addr_info = BrokerAddrInfo::new(&broker.cluster_name, &broker.broker_addr);
        let was_live = self.broker_live_table.remove(&addr_info).is_some();
        self.filter_server_table.remove(&addr_info);

        let Some(broker_data) = self.broker_addr_table.get_mut(&broker.broker_name) else {
            return was_live;
        };
        broker_data
            .broker_addrs
            .retain(|_, addr| *addr != broker.broker_addr);
        if broker_data.broker_addrs.is_empty() {
            self.broker_addr_table.remove(&broker.broker_name);
            if let Some(names) = self.cluster_addr_table.get_mut(&broker.cluster_name) {
                names.remove(&broker.broker_name);
                if names.is_empty() {
                    self.cluster_addr_table.remove(&broker.cluster_name);
                }
            }
            let topics: Vec<String> = self.topic_queue_table.keys().cloned().collect();
            for topic in topics {
                self.remove_queue_data(&topic, &broker.broker_name);
            }
            for by_broker in self.topic_queue_mapping_info_table.values_mut() {
                by_broker.remove(&broker.broker_name);
            }
            self.topic_queue_mapping_info_table
                .retain(|_, by_broker| !by_broker.is_empty());
        } else if broker_data.enable_acting_master && no_master_like(broker_data) {
            for by_broker in self.topic_queue_table.values_mut() {
                if let Some(qd) = by_broker.get_mut(&broker.broker_name) {
                    qd.perm &= !PERM_WRITE;
                }
            }
        }
        was_live
    }

    /// A connection closed (Java's `BrokerHousekeepingService`): every broker whose last
    /// registration came over it is unregistered. Returns them.
    pub fn on_connection_closed(&mut self, connection_id: u64) -> Vec<RemovedBroker> {
        let gone: Vec<BrokerAddrInfo> = self
            .broker_live_table
            .iter()
            .filter(|(_, live)| live.connection_id == connection_id)
            .map(|(addr, _)| addr.clone())
            .collect();
        gone.into_iter()
            .filter_map(|addr| self.remove_broker_by_addr(addr))
            .collect()
    }

    /// Unregisters every broker not heard from for longer than its timeout (its own
    /// `heartbeatTimeoutMillis`, else `default_timeout_ms`; Java's `scanNotActiveBroker`,
    /// default 120 s). A broker expires when `last_update_ms + timeout < now_ms`. Returns the
    /// removed brokers, whose connections the caller should close (as Java does).
    pub fn scan_expired(&mut self, now_ms: u64, default_timeout_ms: u64) -> Vec<RemovedBroker> {
        let expired: Vec<BrokerAddrInfo> = self
            .broker_live_table
            .iter()
            .filter(|(_, live)| {
                let timeout_ms = live.heartbeat_timeout_ms.unwrap_or(default_timeout_ms);
                live.last_update_ms.saturating_add(timeout_ms) < now_ms
            })
            .map(|(addr, _)| addr.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|addr| self.remove_broker_by_addr(addr))
            .collect()
    }

    /// Unregisters the broker at `addr`, finding its name and id in the broker groups of its
    /// cluster. A live entry without a group entry is dropped anyway (Java would keep it and
    /// report it expired forever).
    fn remove_broker_by_addr(&mut self, addr: BrokerAddrInfo) -> Option<RemovedBroker> {
        let live = self.broker_live_table.get(&addr)?.clone();
        let member = self
            .broker_addr_table
            .values()
            .filter(|bd| bd.cluster == addr.cluster_name)
            .find_map(|bd| {
                bd.broker_addrs
                    .iter()
                    .find(|(_, a)| **a == addr.broker_addr)
                    .map(|(id, _)| (bd.broker_name.clone(), *id))
            });
        match &member {
            Some((broker_name, broker_id)) => {
                self.unregister_broker(&BrokerIdentity {
                    cluster_name: addr.cluster_name.clone(),
                    broker_addr: addr.broker_addr.clone(),
                    broker_name: broker_name.clone(),
                    broker_id: *broker_id,
                });
            }
            None => {
                self.broker_live_table.remove(&addr);
                self.filter_server_table.remove(&addr);
            }
        }
        Some(RemovedBroker {
            addr,
            broker_name: member.as_ref().map(|(name, _)| name.clone()),
            broker_id: member.map(|(_, id)| id),
            connection_id: live.connection_id,
            last_update_ms: live.last_update_ms,
        })
    }

    /// `GET_ROUTEINFO_BY_TOPIC`: the topic's queues and the broker groups holding them, or
    /// `None` when the topic has no queues on any registered broker group. `orderTopicConf`
    /// is left empty (it comes from the KV config, which the caller owns).
    pub fn pick_topic_route(&self, topic: &str) -> Option<TopicRouteData> {
        let by_broker = self.topic_queue_table.get(topic)?;
        let mut route = TopicRouteData {
            queue_datas: by_broker.values().cloned().collect(),
            ..TopicRouteData::default()
        };
        for broker_name in by_broker.keys() {
            let Some(broker_data) = self.broker_addr_table.get(broker_name) else {
                continue;
            };
            for addr in broker_data.broker_addrs.values() {
                let key = BrokerAddrInfo::new(&broker_data.cluster, addr);
                if let Some(servers) = self.filter_server_table.get(&key) {
                    route
                        .filter_server_table
                        .insert(addr.clone(), servers.clone());
                }
            }
            route.broker_datas.push(broker_data.clone());
        }
        if route.broker_datas.is_empty() || route.queue_datas.is_empty() {
            return None;
        }
        route.topic_queue_mapping_by_broker = self
            .topic_queue_mapping_info_table
            .get(topic)
            .map(|by_broker| serde_json::json!(by_broker));

        if self.settings.support_acting_master
            && !topic.starts_with(SYNC_BROKER_MEMBER_GROUP_PREFIX)
        {
            promote_acting_masters(&mut route);
        }
        Some(route)
    }

    /// `GET_BROKER_CLUSTER_INFO`.
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.broker_addr_table.clone(),
            cluster_addr_table: self.cluster_addr_table.clone(),
        }
    }

    /// `GET_BROKER_MEMBER_GROUP`: the registered members of `broker_name` (none if unknown).
    /// As in Java, the cluster is echoed, not checked.
    pub fn broker_member_group(&self, cluster: &str, broker_name: &str) -> BrokerMemberGroup {
        BrokerMemberGroup {
            broker_addrs: self
                .broker_addr_table
                .get(broker_name)
                .map(|bd| bd.broker_addrs.clone())
                .unwrap_or_default(),
            broker_name: broker_name.to_owned(),
            cluster: cluster.to_owned(),
        }
    }

    /// `GET_ALL_TOPIC_LIST_FROM_NAMESERVER`.
    pub fn all_topic_list(&self) -> TopicList {
        TopicList {
            broker_addr: None,
            topic_list: self.topic_queue_table.keys().cloned().collect(),
        }
    }

    /// `GET_TOPICS_BY_CLUSTER`: topics with queues on any broker group of `cluster` (empty
    /// for an unknown cluster, as Java's answer ends up).
    pub fn topics_by_cluster(&self, cluster: &str) -> TopicList {
        let Some(broker_names) = self.cluster_addr_table.get(cluster) else {
            return TopicList::default();
        };
        TopicList {
            broker_addr: None,
            topic_list: self
                .topic_queue_table
                .iter()
                .filter(|(_, by_broker)| broker_names.iter().any(|b| by_broker.contains_key(b)))
                .map(|(topic, _)| topic.clone())
                .collect(),
        }
    }

    /// `GET_SYSTEM_TOPIC_LIST_FROM_NS`: RocketMQ's convention that every cluster name and
    /// broker name is also a (system) topic; `brokerAddr` is one broker's address, so an
    /// admin tool knows where to ask for the rest.
    pub fn system_topic_list(&self) -> TopicList {
        let mut topic_list = BTreeSet::new();
        for (cluster, broker_names) in &self.cluster_addr_table {
            topic_list.insert(cluster.clone());
            topic_list.extend(broker_names.iter().cloned());
        }
        let broker_addr = self
            .broker_addr_table
            .values()
            .find_map(|bd| bd.broker_addrs.values().next().cloned());
        TopicList {
            broker_addr,
            topic_list,
        }
    }

    /// `GET_UNIT_TOPIC_LIST`, `GET_HAS_UNIT_SUB_TOPIC_LIST`,
    /// `GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST`: topics whose (first) queue data's sys flag
    /// passes `filter`.
    pub fn topics_with_sys_flag(&self, filter: impl Fn(i32) -> bool) -> TopicList {
        TopicList {
            broker_addr: None,
            topic_list: self
                .topic_queue_table
                .iter()
                .filter(|(_, by_broker)| {
                    by_broker
                        .values()
                        .next()
                        .is_some_and(|qd| filter(qd.topic_sys_flag))
                })
                .map(|(topic, _)| topic.clone())
                .collect(),
        }
    }

    /// `DELETE_TOPIC_IN_NAMESRV`: removes the topic's queues everywhere, or with a cluster
    /// only its queues on that cluster's broker groups (the topic goes when none are left).
    /// Brokers that still have the topic will register it again; this is for topics already
    /// deleted on the brokers.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        match cluster {
            None => {
                self.topic_queue_table.remove(topic);
                self.topic_queue_mapping_info_table.remove(topic);
            }
            Some(cluster) => {
                let Some(broker_names) = self.cluster_addr_table.get(cluster).cloned() else {
                    return;
                };
                for broker_name in &broker_names {
                    self.remove_queue_data(topic, broker_name);
                }
            }
        }
    }

    /// `REGISTER_TOPIC_IN_NAMESRV`: sets queue data for `topic` on the given broker groups.
    /// Refused (nothing changes, returns false) if any names a broker group that is not
    /// registered; Java applies the entries before the unknown one, we apply none.
    pub fn register_topic(&mut self, topic: &str, queue_datas: Vec<QueueData>) -> bool {
        if queue_datas.is_empty()
            || queue_datas
                .iter()
                .any(|qd| !self.broker_addr_table.contains_key(&qd.broker_name))
        {
            return false;
        }
        let by_broker = self.topic_queue_table.entry(topic.to_owned()).or_default();
        for qd in queue_datas {
            by_broker.insert(qd.broker_name.clone(), qd);
        }
        true
    }

    /// `WIPE_WRITE_PERM_OF_BROKER`: clears the write bit of every queue data of the broker
    /// group. Returns how many topics it touched.
    pub fn wipe_write_perm_of_broker(&mut self, broker_name: &str) -> usize {
        self.update_perm_of_broker(broker_name, |perm| perm & !PERM_WRITE)
    }

    /// `ADD_WRITE_PERM_OF_BROKER`: sets every queue data of the broker group to read + write
    /// (Java sets exactly `PERM_READ | PERM_WRITE`, dropping other bits). Returns how many
    /// topics it touched.
    pub fn add_write_perm_of_broker(&mut self, broker_name: &str) -> usize {
        self.update_perm_of_broker(broker_name, |_| PERM_READ | PERM_WRITE)
    }

    fn update_perm_of_broker(&mut self, broker_name: &str, update: impl Fn(i32) -> i32) -> usize {
        let mut count = 0;
        for by_broker in self.topic_queue_table.values_mut() {
            if let Some(qd) = by_broker.get_mut(broker_name) {
                qd.perm = update(qd.perm);
                count += 1;
            }
        }
        count
    }

    /// Removes one broker group's queue data from a topic, and the topic if none is left.
    fn remove_queue_data(&mut self, topic: &str, broker_name: &str) {
        if let Some(by_broker) = self.topic_queue_table.get_mut(topic) {
            by_broker.remove(broker_name);
            if by_broker.is_empty() {
                self.topic_queue_table.remove(topic);
                self.topic_queue_mapping_info_table.remove(topic);
            }
        }
    }
}

/// No master, and no member at all (Java's `isNoMasterExists`: the lowest id is not 0).
fn no_master_like(broker_data: &BrokerData) -> bool {
    broker_data
        .broker_addrs
        .keys()
        .next()
        .is_none_or(|min_id| *min_id > MASTER_ID)
}

/// In groups that allow it, have no master and whose queues for this topic are read-only,
/// present the lowest-id slave under id 0 (Java's acting-master rewrite in
/// `pickupTopicRouteData`).
fn promote_acting_masters(route: &mut TopicRouteData) {
    let need_acting_master = route
        .broker_datas
        .iter()
        .any(|bd| !bd.broker_addrs.is_empty() && !bd.broker_addrs.contains_key(&MASTER_ID));
    if !need_acting_master {
        return;
    }
    for bd in &mut route.broker_datas {
        if bd.broker_addrs.is_empty()
            || bd.broker_addrs.contains_key(&MASTER_ID)
            || !bd.enable_acting_master
        {
            continue;
        }
        let read_only = route
            .queue_datas
            .iter()
            .find(|qd| qd.broker_name == bd.broker_name)
            .is_some_and(|qd| qd.perm & PERM_WRITE == 0);
        if read_only {
            if let Some((_, addr)) = bd.broker_addrs.pop_first() {
                bd.broker_addrs.insert(MASTER_ID, addr);
            }
        }
    }
}

/// The `(topic, broker name, mapping)` entries of a registration's
/// `topicQueueMappingInfoMap` (topic → `TopicQueueMappingInfo`, whose `bname` names the
/// broker). Entries without a `bname` are skipped.
fn mapping_infos(map: Option<&serde_json::Value>) -> Vec<(String, String, serde_json::Value)> {
    let Some(serde_json::Value::Object(map)) = map else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(topic, info)| {
            let bname = info.get("bname")?.as_str()?;
            Some((topic.clone(), bname.to_owned(), info.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests;
