//! `controller.conf`: Apache RocketMQ's controller keys (`ControllerConfig.java`), plus
//! Petrel's raft timing keys.
//!
//! The file is Java properties text. Keys Apache's controller knows but Petrel does not use
//! (`controllerType=DLedger`, `mappedFileSize`, thread pool sizes, metrics, ...) are accepted
//! silently, so Apache's sample `controller.conf` files work unchanged; keys nobody knows are
//! returned to the caller to warn about (a typo should be visible, not fatal).
//!
//! Parsing follows the neon pattern: text → [`ControllerConfig`] field by field → `validate`,
//! so every key's error names the key and says what to write instead.

use std::net::SocketAddr;
use std::path::PathBuf;

/// `scanNotActiveBrokerInterval` default (Apache's), ms.
pub const DEFAULT_SCAN_NOT_ACTIVE_BROKER_INTERVAL_MS: u64 = 5_000;
/// How long a broker that never said (`heartbeatTimeoutMills` absent) stays alive after its
/// last heartbeat, ms. Apache's `controllerHeartBeatTimeoutMills` broker default.
pub const DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS: u64 = 10_000;
/// Raft heartbeats from the controller leader, ms.
pub const DEFAULT_RAFT_HEARTBEAT_INTERVAL_MS: u64 = 100;
/// A follower that hears no leader for a random time in [min, max] starts an election, ms.
/// With these, a dead leader is replaced in ~0.5-1.5 s.
pub const DEFAULT_RAFT_ELECTION_TIMEOUT_MIN_MS: u64 = 500;
pub const DEFAULT_RAFT_ELECTION_TIMEOUT_MAX_MS: u64 = 1_000;
/// A raft snapshot is taken after this many log entries since the last one.
pub const DEFAULT_RAFT_SNAPSHOT_LOG_ENTRIES: u64 = 1_000;
/// The most controllers a group may have (a raft group of 7 tolerates 3 failures; more only
/// slows commits).
pub const MAX_PEERS: usize = 7;

/// Apache keys that Petrel reads but does not act on.
const ACCEPTED_UNUSED_KEYS: &[&str] = &[
    "rocketmqHome",
    "configStorePath",
    "configBlackList",
    "mappedFileSize",
    "controllerThreadPoolNums",
    "controllerRequestThreadPoolQueueCapacity",
    "electMasterMaxRetryCount",
    "scanInactiveMasterInterval",
    "isProcessReadEvent",
    "metricsExporterType",
    "metricsGrpcExporterTarget",
    "metricsGrpcExporterHeader",
    "metricGrpcExporterTimeOutInMills",
    "metricGrpcExporterIntervalInMills",
    "metricLoggingExporterIntervalInMills",
    "metricsPromExporterPort",
    "metricsPromExporterHost",
    "metricsLabel",
    "metricsInDelta",
];

/// One controller of the group: `n0-127.0.0.1:9878` in `controllerDLegerPeers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// `n0`.
    pub id: String,
    /// The raft node id: the number the id ends with (`n0` → 0).
    pub node_id: u64,
    /// `127.0.0.1:9878`: where this controller listens for brokers, admin tools and its peers.
    pub addr: String,
}

/// A controller's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerConfig {
    /// `controllerDLegerGroup`: the group's name; peers refuse raft traffic from other groups.
    pub group: String,
    /// `controllerDLegerPeers`, parsed.
    pub peers: Vec<Peer>,
    /// `controllerDLegerSelfId`.
    pub self_id: String,
    /// `controllerStorePath`: the raft log, vote and snapshot. Empty in the file: the default
    /// `$HOME/petrel-controller/{selfId}`.
    pub store_path: PathBuf,
    /// `enableElectUncleanMaster`: elect a replica outside the SyncStateSet when no member is
    /// alive (may lose acknowledged messages).
    pub enable_elect_unclean_master: bool,
    /// `notifyBrokerRoleChanged`: send NOTIFY_BROKER_ROLE_CHANGED after a master change.
    pub notify_broker_role_changed: bool,
    /// `scanNotActiveBrokerInterval`, ms.
    pub scan_not_active_broker_interval_ms: u64,
    /// Petrel's `brokerHeartbeatTimeoutMs`: for heartbeats without `heartbeatTimeoutMills`.
    pub broker_heartbeat_timeout_ms: u64,
    /// Petrel's `raftHeartbeatIntervalMs`.
    pub raft_heartbeat_interval_ms: u64,
    /// Petrel's `raftElectionTimeoutMinMs` / `raftElectionTimeoutMaxMs`.
    pub raft_election_timeout_min_ms: u64,
    pub raft_election_timeout_max_ms: u64,
    /// Petrel's `raftSnapshotLogEntries`.
    pub raft_snapshot_log_entries: u64,
}

/// Why a controller configuration is unusable. Each names the key and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{key} is not set: {hint}")]
    Missing {
        key: &'static str,
        hint: &'static str,
    },
    #[error("{key}={value:?} is not {expected}")]
    InvalidValue {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("controllerDLegerPeers: {0}")]
    InvalidPeers(String),
    #[error("controllerDLegerSelfId={self_id:?} is not one of the ids in controllerDLegerPeers ({ids}); set it to this controller's id")]
    SelfNotInPeers { self_id: String, ids: String },
    #[error("{key}={value:?} is not supported: {hint}")]
    Unsupported {
        key: String,
        value: String,
        hint: &'static str,
    },
    #[error("{0}")]
    Inconsistent(String),
    #[error("the properties text is invalid at line {line}: {reason}")]
    Syntax { line: usize, reason: String },
}

impl ControllerConfig {
    /// A configuration with Apache's defaults for everything but the three required keys.
    pub fn new(group: &str, peers: &str, self_id: &str) -> Result<ControllerConfig, ConfigError> {
        let properties = [
            ("controllerDLegerGroup", group),
            ("controllerDLegerPeers", peers),
            ("controllerDLegerSelfId", self_id),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        Self::from_properties(&properties).map(|(config, _)| config)
    }

    /// Reads `key`/`value` pairs (later duplicates win), validates the result and returns it
    /// with the keys it does not know (the caller warns about them).
    pub fn from_properties(
        properties: &[(String, String)],
    ) -> Result<(ControllerConfig, Vec<String>), ConfigError> {
        let mut group = None;
        let mut peers_text = None;
        let mut self_id = None;
        let mut store_path = String::new();
        let mut config = ControllerConfig {
            group: String::new(),
            peers: Vec::new(),
            self_id: String::new(),
            store_path: PathBuf::new(),
            enable_elect_unclean_master: false,
            notify_broker_role_changed: true,
            scan_not_active_broker_interval_ms: DEFAULT_SCAN_NOT_ACTIVE_BROKER_INTERVAL_MS,
            broker_heartbeat_timeout_ms: DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS,
            raft_heartbeat_interval_ms: DEFAULT_RAFT_HEARTBEAT_INTERVAL_MS,
            raft_election_timeout_min_ms: DEFAULT_RAFT_ELECTION_TIMEOUT_MIN_MS,
            raft_election_timeout_max_ms: DEFAULT_RAFT_ELECTION_TIMEOUT_MAX_MS,
            raft_snapshot_log_entries: DEFAULT_RAFT_SNAPSHOT_LOG_ENTRIES,
        };
        let mut unknown = Vec::new();
        for (key, value) in properties {
            let value_trimmed = value.trim();
            match key.as_str() {
                "controllerDLegerGroup" => group = Some(value_trimmed.to_string()),
                "controllerDLegerPeers" => peers_text = Some(value_trimmed.to_string()),
                "controllerDLegerSelfId" => self_id = Some(value_trimmed.to_string()),
                "controllerStorePath" => store_path = value_trimmed.to_string(),
                "enableElectUncleanMaster" => {
                    config.enable_elect_unclean_master = parse_bool(key, value)?
                }
                "notifyBrokerRoleChanged" => {
                    config.notify_broker_role_changed = parse_bool(key, value)?
                }
                "scanNotActiveBrokerInterval" => {
                    config.scan_not_active_broker_interval_ms = parse_positive(key, value)?
                }
                "brokerHeartbeatTimeoutMs" => {
                    config.broker_heartbeat_timeout_ms = parse_positive(key, value)?
                }
                "raftHeartbeatIntervalMs" => {
                    config.raft_heartbeat_interval_ms = parse_positive(key, value)?
                }
                "raftElectionTimeoutMinMs" => {
                    config.raft_election_timeout_min_ms = parse_positive(key, value)?
                }
                "raftElectionTimeoutMaxMs" => {
                    config.raft_election_timeout_max_ms = parse_positive(key, value)?
                }
                "raftSnapshotLogEntries" => {
                    config.raft_snapshot_log_entries = parse_positive(key, value)?
                }
                "controllerType" => {
                    if !value_trimmed.eq_ignore_ascii_case("DLedger") {
                        return Err(ConfigError::Unsupported {
                            key: key.clone(),
                            value: value.clone(),
                            hint: "Petrel's controller is configured with the DLedger keys (controllerDLegerPeers, ...); remove controllerType or set it to DLedger",
                        });
                    }
                }
                k if ACCEPTED_UNUSED_KEYS.contains(&k) || k.starts_with("jRaft") => {}
                _ => unknown.push(key.clone()),
            }
        }
        config.group = group
            .filter(|g| !g.is_empty())
            .ok_or(ConfigError::Missing {
                key: "controllerDLegerGroup",
                hint: "name the controller group, the same on every controller (e.g. group1)",
            })?;
        let peers_text = peers_text.filter(|p| !p.is_empty()).ok_or(ConfigError::Missing {
            key: "controllerDLegerPeers",
            hint: "list every controller as id-host:port separated by ';' (e.g. n0-127.0.0.1:9878;n1-127.0.0.1:9868;n2-127.0.0.1:9858)",
        })?;
        config.peers = parse_peers(&peers_text)?;
        config.self_id = self_id
            .filter(|s| !s.is_empty())
            .ok_or(ConfigError::Missing {
                key: "controllerDLegerSelfId",
                hint: "set it to this controller's id in controllerDLegerPeers (e.g. n0)",
            })?;
        config.store_path = if store_path.is_empty() {
            default_store_path(&config.self_id)
        } else {
            PathBuf::from(store_path)
        };
        config.validate()?;
        Ok((config, unknown))
    }

    /// Checks what one key alone cannot: self among the peers, timings that let raft work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.self_peer().is_none() {
            return Err(ConfigError::SelfNotInPeers {
                self_id: self.self_id.clone(),
                ids: self
                    .peers
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let positive = [
            (
                "scanNotActiveBrokerInterval",
                self.scan_not_active_broker_interval_ms,
            ),
            ("brokerHeartbeatTimeoutMs", self.broker_heartbeat_timeout_ms),
            ("raftHeartbeatIntervalMs", self.raft_heartbeat_interval_ms),
            ("raftSnapshotLogEntries", self.raft_snapshot_log_entries),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::Inconsistent(format!(
                    "{key} must be greater than 0"
                )));
            }
        }
        if self.raft_election_timeout_min_ms >= self.raft_election_timeout_max_ms {
            return Err(ConfigError::Inconsistent(format!(
                "raftElectionTimeoutMinMs ({}) must be less than raftElectionTimeoutMaxMs ({})",
                self.raft_election_timeout_min_ms, self.raft_election_timeout_max_ms
            )));
        }
        if self.raft_heartbeat_interval_ms * 2 > self.raft_election_timeout_min_ms {
            return Err(ConfigError::Inconsistent(format!(
                "raftHeartbeatIntervalMs ({}) must be at most half of raftElectionTimeoutMinMs ({}), or followers start elections against a live leader",
                self.raft_heartbeat_interval_ms, self.raft_election_timeout_min_ms
            )));
        }
        Ok(())
    }

    /// This controller's entry in the peer list.
    pub fn self_peer(&self) -> Option<&Peer> {
        self.peers.iter().find(|p| p.id == self.self_id)
    }

    /// The peer with raft node id `node_id`.
    pub fn peer_by_node_id(&self, node_id: u64) -> Option<&Peer> {
        self.peers.iter().find(|p| p.node_id == node_id)
    }

    /// `controllerDLegerPeers` as written back (`n0-127.0.0.1:9878;...`).
    pub fn peers_text(&self) -> String {
        self.peers
            .iter()
            .map(|p| format!("{}-{}", p.id, p.addr))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The address this controller listens on: its own peer address.
    pub fn self_socket_addr(&self) -> Result<SocketAddr, ConfigError> {
        let peer = self
            .self_peer()
            .ok_or_else(|| ConfigError::SelfNotInPeers {
                self_id: self.self_id.clone(),
                ids: String::new(),
            })?;
        peer.addr.parse().map_err(|_| ConfigError::InvalidValue {
            key: "controllerDLegerPeers".into(),
            value: peer.addr.clone(),
            expected: "ip:port for this controller's own entry (it is the address it listens on)",
        })
    }

    /// Applies UPDATE_CONTROLLER_CONFIG's properties, all or nothing. Only the keys that
    /// change behaviour, not identity or storage, may change at run time.
    pub fn apply_runtime_properties(
        &mut self,
        properties: &[(String, String)],
    ) -> Result<(), ConfigError> {
        let mut next = self.clone();
        for (key, value) in properties {
            match key.as_str() {
                "enableElectUncleanMaster" => {
                    next.enable_elect_unclean_master = parse_bool(key, value)?
                }
                "notifyBrokerRoleChanged" => {
                    next.notify_broker_role_changed = parse_bool(key, value)?
                }
                "scanNotActiveBrokerInterval" => {
                    next.scan_not_active_broker_interval_ms = parse_positive(key, value)?
                }
                "brokerHeartbeatTimeoutMs" => {
                    next.broker_heartbeat_timeout_ms = parse_positive(key, value)?
                }
                _ => {
                    return Err(ConfigError::Unsupported {
                        key: key.clone(),
                        value: value.clone(),
                        hint: "only enableElectUncleanMaster, notifyBrokerRoleChanged, scanNotActiveBrokerInterval and brokerHeartbeatTimeoutMs change at run time; edit controller.conf and restart for the rest",
                    })
                }
            }
        }
        next.validate()?;
        *self = next;
        Ok(())
    }

    /// GET_CONTROLLER_CONFIG's body: `key=value` lines sorted by key.
    pub fn properties_text(&self) -> String {
        let mut properties = [
            ("controllerDLegerGroup", self.group.clone()),
            ("controllerDLegerPeers", self.peers_text()),
            ("controllerDLegerSelfId", self.self_id.clone()),
            ("controllerStorePath", self.store_path.display().to_string()),
            ("controllerType", "DLedger".to_string()),
            (
                "enableElectUncleanMaster",
                self.enable_elect_unclean_master.to_string(),
            ),
            (
                "notifyBrokerRoleChanged",
                self.notify_broker_role_changed.to_string(),
            ),
            (
                "scanNotActiveBrokerInterval",
                self.scan_not_active_broker_interval_ms.to_string(),
            ),
            (
                "brokerHeartbeatTimeoutMs",
                self.broker_heartbeat_timeout_ms.to_string(),
            ),
            (
                "raftHeartbeatIntervalMs",
                self.raft_heartbeat_interval_ms.to_string(),
            ),
            (
                "raftElectionTimeoutMinMs",
                self.raft_election_timeout_min_ms.to_string(),
            ),
            (
                "raftElectionTimeoutMaxMs",
                self.raft_election_timeout_max_ms.to_string(),
            ),
            (
                "raftSnapshotLogEntries",
                self.raft_snapshot_log_entries.to_string(),
            ),
        ];
        properties.sort();
        properties
            .iter()
            .map(|(key, value)| format!("{key}={value}\n"))
            .collect()
    }
}

/// `$HOME/petrel-controller/{selfId}` (Apache's DLedger controller keeps its data under
/// `$HOME/DledgerController`; the id keeps controllers on one host apart).
fn default_store_path(self_id: &str) -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join("petrel-controller").join(self_id)
}

/// `n0-127.0.0.1:9878;n1-127.0.0.1:9868`: the id runs to the first `-` (as DLedger reads it).
pub fn parse_peers(text: &str) -> Result<Vec<Peer>, ConfigError> {
    let mut peers: Vec<Peer> = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = part.split_once('-').ok_or_else(|| {
            ConfigError::InvalidPeers(format!(
                "{part:?} is not id-host:port (e.g. n0-127.0.0.1:9878)"
            ))
        })?;
        let (id, addr) = (id.trim(), addr.trim());
        let digits = id.len() - id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let node_id: u64 = id[id.len() - digits..].parse().map_err(|_| {
            ConfigError::InvalidPeers(format!(
                "the id {id:?} does not end with a number; use ids like n0, n1, n2 (the number is the raft node id)"
            ))
        })?;
        let port_ok = addr.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !port_ok {
            return Err(ConfigError::InvalidPeers(format!(
                "{id}'s address {addr:?} is not host:port"
            )));
        }
        if let Some(other) = peers.iter().find(|p| p.node_id == node_id || p.id == id) {
            return Err(ConfigError::InvalidPeers(format!(
                "{id} and {} have the same number; every id needs its own (n0, n1, n2)",
                other.id
            )));
        }
        if let Some(other) = peers.iter().find(|p| p.addr == addr) {
            return Err(ConfigError::InvalidPeers(format!(
                "{id} and {} share the address {addr}",
                other.id
            )));
        }
        peers.push(Peer {
            id: id.to_string(),
            node_id,
            addr: addr.to_string(),
        });
    }
    if peers.is_empty() {
        return Err(ConfigError::InvalidPeers("no peer is listed".into()));
    }
    if peers.len() > MAX_PEERS {
        return Err(ConfigError::InvalidPeers(format!(
            "{} peers listed; at most {MAX_PEERS} are supported",
            peers.len()
        )));
    }
    Ok(peers)
}

/// Java properties text: one `key=value` (or `key:value`, or `key value`) per line; blank
/// lines and lines starting with `#` or `!` are skipped; a line ending in a backslash continues
/// on the next. Escapes other than that are not interpreted (no controller value needs them).
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    let mut logical = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if let Some(continued) = line.strip_suffix('\\') {
            logical.push_str(continued);
            continue;
        }
        logical.push_str(line);
        entries.push(split_key_value(&logical));
        logical.clear();
    }
    if !logical.is_empty() {
        entries.push(split_key_value(&logical));
    }
    entries
}

fn split_key_value(line: &str) -> (String, String) {
    let line = line.trim();
    match line.find(['=', ':', ' ', '\t']) {
        Some(at) => {
            let key = line[..at].trim_end();
            let rest = line[at..].trim_start();
            let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest).trim_start();
            (key.to_owned(), rest.to_owned())
        }
        None => (line.to_owned(), String::new()),
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            expected: "true or false",
        }),
    }
}

fn parse_positive(key: &str, value: &str) -> Result<u64, ConfigError> {
    value
        .trim()
        .parse()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            expected: "a positive whole number",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const APACHE_SAMPLE: &str = "\
# Licensed to the Apache Software Foundation (ASF) ...
controllerDLegerGroup = group1
controllerDLegerPeers = n0-127.0.0.1:9878;n1-127.0.0.1:9868;n2-127.0.0.1:9858
controllerDLegerSelfId = n0
";

    #[test]
    fn reads_apache_sample_controller_conf_unchanged() {
        let (config, unknown) =
            ControllerConfig::from_properties(&parse_properties(APACHE_SAMPLE)).unwrap();
        assert!(unknown.is_empty());
        assert_eq!(config.group, "group1");
        assert_eq!(config.peers.len(), 3);
        assert_eq!(config.peers[1].id, "n1");
        assert_eq!(config.peers[1].node_id, 1);
        assert_eq!(config.peers[2].addr, "127.0.0.1:9858");
        assert_eq!(config.self_peer().unwrap().addr, "127.0.0.1:9878");
        assert!(!config.enable_elect_unclean_master);
        assert!(config.notify_broker_role_changed);
        assert_eq!(config.scan_not_active_broker_interval_ms, 5_000);
        assert!(config.store_path.ends_with("petrel-controller/n0"));
        assert_eq!(config.self_socket_addr().unwrap().port(), 9878);
        assert_eq!(
            config.peers_text(),
            "n0-127.0.0.1:9878;n1-127.0.0.1:9868;n2-127.0.0.1:9858"
        );
    }

    #[test]
    fn unknown_keys_are_returned_and_apache_keys_accepted() {
        let text = format!(
            "{APACHE_SAMPLE}controllerType=DLedger\nmappedFileSize=1024\nmetricsExporterType=DISABLE\ncontrollerStorePath=/tmp/c\nenableElectUncleanMaster=true\nnoSuchKey=1\n"
        );
        let (config, unknown) =
            ControllerConfig::from_properties(&parse_properties(&text)).unwrap();
        assert_eq!(unknown, vec!["noSuchKey".to_string()]);
        assert_eq!(config.store_path, PathBuf::from("/tmp/c"));
        assert!(config.enable_elect_unclean_master);
    }

    #[test]
    fn errors_name_the_key() {
        let err = |text: &str| {
            ControllerConfig::from_properties(&parse_properties(text))
                .unwrap_err()
                .to_string()
        };
        assert!(
            err("controllerDLegerPeers=n0-127.0.0.1:9878\ncontrollerDLegerSelfId=n0")
                .contains("controllerDLegerGroup is not set")
        );
        assert!(err(&format!("{APACHE_SAMPLE}controllerType=jRaft")).contains("controllerType"));
        assert!(err(&format!("{APACHE_SAMPLE}enableElectUncleanMaster=yes"))
            .contains("enableElectUncleanMaster=\"yes\" is not true or false"));
        assert!(err(&format!("{APACHE_SAMPLE}controllerDLegerSelfId=n7")).contains("n0, n1, n2"));
        assert!(
            err("controllerDLegerGroup=g\ncontrollerDLegerPeers=a-1.2.3.4:1;b-1.2.3.4:2\ncontrollerDLegerSelfId=a")
                .contains("does not end with a number")
        );
        assert!(
            err("controllerDLegerGroup=g\ncontrollerDLegerPeers=n0-1.2.3.4:1;m0-1.2.3.4:2\ncontrollerDLegerSelfId=n0")
                .contains("same number")
        );
        assert!(err(
            "controllerDLegerGroup=g\ncontrollerDLegerPeers=n0-1.2.3.4\ncontrollerDLegerSelfId=n0"
        )
        .contains("not host:port"));
        assert!(err(&format!(
            "{APACHE_SAMPLE}raftElectionTimeoutMinMs=900\nraftElectionTimeoutMaxMs=800"
        ))
        .contains("raftElectionTimeoutMinMs"));
        assert!(
            err(&format!("{APACHE_SAMPLE}raftHeartbeatIntervalMs=400")).contains("at most half")
        );
    }

    #[test]
    fn runtime_updates_are_limited_and_all_or_nothing() {
        let mut config = ControllerConfig::new(
            "g",
            "n0-127.0.0.1:9878;n1-127.0.0.1:9868;n2-127.0.0.1:9858",
            "n1",
        )
        .unwrap();
        let props = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        config
            .apply_runtime_properties(&props(&[("enableElectUncleanMaster", "true")]))
            .unwrap();
        assert!(config.enable_elect_unclean_master);
        let before = config.clone();
        assert!(config
            .apply_runtime_properties(&props(&[
                ("notifyBrokerRoleChanged", "false"),
                ("controllerDLegerSelfId", "n0"),
            ]))
            .is_err());
        assert_eq!(config, before);
        let text = config.properties_text();
        assert!(text.contains("enableElectUncleanMaster=true\n"));
        assert!(text.contains("controllerDLegerSelfId=n1\n"));
    }

    #[test]
    fn properties_text_forms() {
        assert_eq!(
            parse_properties("a = 1\n  # c\n!x\nb:2\nc 3\nd=\\\n  4\ne\n"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".into(), "2".into()),
                ("c".into(), "3".into()),
                ("d".into(), "4".into()),
                ("e".into(), "".into()),
            ]
        );
    }
}
