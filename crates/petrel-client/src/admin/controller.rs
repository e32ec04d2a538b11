//! Controller mode (RocketMQ 5.x "AutoSwitch HA") administration, what mqadmin's controller
//! commands ask: who leads the controller group (`CONTROLLER_GET_METADATA_INFO`, 1005), each
//! broker set's master, epochs and SyncStateSet (`CONTROLLER_GET_SYNC_STATE_DATA`, 1006), an
//! election of a designated master (`CONTROLLER_ELECT_MASTER`, 1002), the controllers'
//! configuration (1010, 1009), forgetting a broker set (`CLEAN_BROKER_DATA`, 1011), and a
//! broker's epochs (`GET_BROKER_EPOCH_CACHE`, 1007, asked of brokers).
//!
//! Only the controller leader answers 1002, 1006 and 1011: they go to the leader that the
//! given controller names (1005), and once more to the leader it names then if the first one
//! answered `CONTROLLER_NOT_LEADER` (leadership moved in between). Controller addresses may be
//! a `;`-separated list: the first controller that answers names the leader.
//!
//! Errors are [`ControllerError`]s: each says what to check ("is `petrel controller` running
//! there?", "an election is in progress") besides what happened.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use petrel_protocol::remoting::body::{BrokerMemberGroup, BrokerReplicasInfo, EpochEntryCache};
use petrel_protocol::remoting::header::{
    CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader,
};
use petrel_protocol::remoting::response_code as code;
use serde::Serialize;

use super::{Admin, AdminError, BrokerRef};
use crate::error::{transport_failure, transport_peer, ClientError};
use crate::{broker_api, controller_api};

pub use petrel_protocol::remoting::body::{EpochEntry, ReplicaIdentity, ReplicasInfo};

/// What a controller-mode admin call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// No controller was given.
    #[error("no controller address given: pass -a host:port (a controller's port in controllerDLegerPeers, e.g. 127.0.0.1:9878)")]
    NoControllerAddress,
    /// The controller did not accept the connection or did not answer in time.
    #[error("no controller answered at {addr}: {reason} (is `petrel controller` running there? -a takes a controller's address from controllerDLegerPeers)")]
    Unreachable { addr: String, reason: String },
    /// The controller answered, but knows no leader of its group.
    #[error("the controller at {addr} knows no leader yet: an election is in progress, or fewer than a majority of the controllers in controllerDLegerPeers are running; retry in a few seconds")]
    NoLeader { addr: String },
    /// The peer answered with an error code (`hint` says what to do about it, when there is
    /// something to say).
    #[error("{addr} answered {name} ({code}){}{}", remark.as_deref().map(|r| format!(": {r}")).unwrap_or_default(), if hint.is_empty() { String::new() } else { format!(" ({hint})") })]
    Refused {
        addr: String,
        code: i32,
        name: &'static str,
        remark: Option<String>,
        hint: &'static str,
    },
    /// None of the broker names asked about is known to the controller.
    #[error("the controller at {addr} has no data for broker name {}: no broker of it has registered (a broker registers when it starts with enableControllerMode=true and controllerAddr naming this controller group), or its data was cleaned", names.join(", "))]
    BrokerNamesUnknown { addr: String, names: Vec<String> },
    /// The name servers list no broker of this broker name.
    #[error(
        "no broker named {name} is registered with the name server (known broker names: {known})"
    )]
    BrokerNameNotExist { name: String, known: String },
    /// A name-server or broker call failed (see [`AdminError`]).
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// Anything else the client library reports: an undecodable answer, an invalid argument.
    #[error(transparent)]
    Client(ClientError),
}

impl ControllerError {
    /// The response code, when a peer answered with one.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ControllerError::Refused { code, .. } => Some(*code),
            ControllerError::Admin(e) => e.response_code(),
            ControllerError::Client(e) => e.response_code(),
            _ => None,
        }
    }
}

/// Transport failures become [`ControllerError::Unreachable`] and refusals
/// [`ControllerError::Refused`] with what to do about their code.
impl From<ClientError> for ControllerError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Remoting(r) => match (transport_peer(&r), transport_failure(&r)) {
                (Some(addr), Some(reason)) => ControllerError::Unreachable {
                    addr: addr.to_string(),
                    reason,
                },
                _ => ControllerError::Client(ClientError::Remoting(r)),
            },
            ClientError::Response {
                addr,
                code,
                name,
                remark,
            } => ControllerError::Refused {
                addr,
                code,
                name,
                remark,
                hint: hint(code),
            },
            other => ControllerError::Client(other),
        }
    }
}

/// What an operator can do about a controller's refusal.
fn hint(response_code: i32) -> &'static str {
    match response_code {
        code::REQUEST_CODE_NOT_SUPPORTED => {
            "it does not serve this request: is it a controller? -a takes a controller's address from controllerDLegerPeers, not a name server's or broker's"
        }
        code::CONTROLLER_NOT_LEADER => {
            "the controller leadership moved while asking; retry in a few seconds"
        }
        code::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED => {
            "no broker of this broker name has registered with the controller; start one with enableControllerMode=true"
        }
        code::CONTROLLER_MASTER_STILL_EXIST => {
            "the current master stays: the broker asked for is already the master, or cannot take over"
        }
        code::CONTROLLER_ELECT_MASTER_FAILED | code::CONTROLLER_MASTER_NOT_AVAILABLE => {
            "a new master must be alive and in the SyncStateSet (see getSyncStateSet), unless the controller has enableElectUncleanMaster=true"
        }
        code::CONTROLLER_BROKER_NOT_ALIVE => "that broker is not heartbeating to the controller",
        code::CONTROLLER_BROKER_METADATA_NOT_EXIST => {
            "the controller has no data for this broker name (see getSyncStateSet)"
        }
        code::CONTROLLER_INVALID_CLEAN_BROKER_METADATA => {
            "check -c and -b; brokers that are still alive are cleaned only with -l"
        }
        code::CONTROLLER_INVALID_REQUEST => "check the command's flags",
        code::NO_PERMISSION => {
            "this key cannot be changed while the controller runs; set it in controller.conf and restart"
        }
        _ => "",
    }
}

/// CONTROLLER_GET_METADATA_INFO's answer: the controller group and its leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerMetadata {
    /// The controller that answered.
    pub addr: String,
    /// `controllerDLegerGroup`.
    pub group: Option<String>,
    /// The leader's id (`n0`), `None` while there is none.
    pub controller_leader_id: Option<String>,
    /// The leader's address, `None` while there is none.
    pub controller_leader_address: Option<String>,
    /// Whether the controller that answered is the leader.
    pub is_leader: bool,
    /// The group's members as the controller lists them (`n0:127.0.0.1:9878`, the form of
    /// Apache's DLedger controller).
    pub peers: Vec<String>,
}

impl ControllerMetadata {
    /// The leader's address, if the group has one.
    pub fn leader(&self) -> Option<&str> {
        self.controller_leader_address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
    }
}

/// CONTROLLER_ELECT_MASTER's answer: the broker set's master after the election, and its
/// members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ElectedMaster {
    pub master_broker_id: Option<i64>,
    pub master_address: Option<String>,
    pub master_epoch: Option<i32>,
    pub sync_state_set_epoch: Option<i32>,
    /// The broker set's registered brokers: controller broker id → address.
    pub broker_member_group: BrokerMemberGroup,
    pub sync_state_set: BTreeSet<i64>,
}

/// What CLEAN_BROKER_DATA forgets (mqadmin's `cleanBrokerMetadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanBrokerData {
    /// Required unless `clean_living_broker` (as mqadmin requires it).
    pub cluster_name: Option<String>,
    pub broker_name: String,
    /// Controller broker ids to forget; empty: the whole broker set.
    pub broker_ids: Vec<i64>,
    /// Also forget brokers that are still heartbeating.
    pub clean_living_broker: bool,
}

/// The broker set asked about with its controller data, or the names the controller does not
/// know.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStateData {
    /// The leader that answered.
    pub controller: String,
    /// Per broker name the controller knows.
    pub replicas_info_table: BTreeMap<String, ReplicasInfo>,
    /// Broker names asked about that the controller has no data for.
    pub unknown_broker_names: Vec<String>,
}

/// `a:1; b:2` → `["a:1", "b:2"]`; none is an error.
fn controller_addrs(controllers: &str) -> Result<Vec<String>, ControllerError> {
    let addrs: Vec<String> = controllers
        .split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect();
    if addrs.is_empty() {
        return Err(ControllerError::NoControllerAddress);
    }
    Ok(addrs)
}

impl Admin {
    /// CONTROLLER_GET_METADATA_INFO from the first of `controllers` (`;`-separated) that
    /// answers (`getControllerMetaData`).
    pub async fn controller_metadata(
        &self,
        controllers: &str,
    ) -> Result<ControllerMetadata, ControllerError> {
        let addrs = controller_addrs(controllers)?;
        let mut unreachable = Vec::new();
        let mut refusal = None;
        for addr in &addrs {
            match controller_api::controller_get_metadata_info(&self.instance, addr).await {
                Ok(h) => {
                    return Ok(ControllerMetadata {
                        addr: addr.clone(),
                        group: h.group,
                        controller_leader_id: h.controller_leader_id.filter(|s| !s.is_empty()),
                        controller_leader_address: h
                            .controller_leader_address
                            .filter(|s| !s.trim().is_empty()),
                        is_leader: h.is_leader,
                        peers: h
                            .peers
                            .unwrap_or_default()
                            .split(';')
                            .map(str::trim)
                            .filter(|p| !p.is_empty())
                            .map(String::from)
                            .collect(),
                    });
                }
                Err(e) => match ControllerError::from(e) {
                    ControllerError::Unreachable { addr, reason } => {
                        unreachable.push((addr, reason));
                    }
                    other => {
                        refusal.get_or_insert(other);
                    }
                },
            }
        }
        // A refusal says more than a refused connection.
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        Err(if unreachable.len() == 1 {
            let (addr, reason) = unreachable.remove(0);
            ControllerError::Unreachable { addr, reason }
        } else {
            ControllerError::Unreachable {
                addr: addrs.join(";"),
                reason: unreachable
                    .into_iter()
                    .map(|(a, r)| format!("{a}: {r}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })
    }

    /// The controller leader's address, as the first of `controllers` that answers names it.
    pub async fn controller_leader(&self, controllers: &str) -> Result<String, ControllerError> {
        let metadata = self.controller_metadata(controllers).await?;
        match metadata.leader() {
            Some(leader) => Ok(leader.to_string()),
            None => Err(ControllerError::NoLeader {
                addr: metadata.addr,
            }),
        }
    }

    /// Runs `call` on the leader; once more on the leader named then if the first answered
    /// CONTROLLER_NOT_LEADER.
    async fn on_leader<T, F, Fut>(&self, controllers: &str, call: F) -> Result<T, ControllerError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let leader = self.controller_leader(controllers).await?;
        match call(leader).await {
            Err(e) if e.response_code() == Some(code::CONTROLLER_NOT_LEADER) => {
                let leader = self.controller_leader(controllers).await?;
                Ok(call(leader).await?)
            }
            other => Ok(other?),
        }
    }

    /// Each broker name's master, epochs and replicas from the controller leader
    /// (`getSyncStateSet`). Names the controller does not know are listed in
    /// [`SyncStateData::unknown_broker_names`]; if it knows none of them, that is
    /// [`ControllerError::BrokerNamesUnknown`].
    pub async fn sync_state_data(
        &self,
        controllers: &str,
        broker_names: &[String],
    ) -> Result<SyncStateData, ControllerError> {
        let names: Vec<String> = broker_names
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if names.is_empty() {
            return Err(ControllerError::Client(ClientError::InvalidArgument(
                "no broker name to ask the controller about".into(),
            )));
        }
        let instance = &self.instance;
        let names_ref = &names;
        let (leader, info) = self
            .on_leader(controllers, |leader| async move {
                controller_api::controller_get_sync_state_data(instance, &leader, names_ref)
                    .await
                    .map(|info| (leader, info))
            })
            .await?;
        sync_state_data_of(leader, &names, info)
    }

    /// Elects `broker_id` master of `broker_name` (`electMaster`: CONTROLLER_ELECT_MASTER with
    /// `designateElect`, on the leader). A refusal is [`ControllerError::Refused`] with the
    /// controller's code and remark.
    pub async fn elect_master(
        &self,
        controllers: &str,
        cluster_name: &str,
        broker_name: &str,
        broker_id: i64,
    ) -> Result<ElectedMaster, ControllerError> {
        let header = ElectMasterRequestHeader {
            cluster_name: cluster_name.to_string(),
            broker_name: broker_name.to_string(),
            broker_id,
            designate_elect: true,
            invoke_time: Some(now_ms()),
        };
        let instance = &self.instance;
        let header = &header;
        let (master, body) = self
            .on_leader(controllers, |leader| async move {
                controller_api::controller_elect_master(instance, &leader, header).await
            })
            .await?;
        Ok(ElectedMaster {
            master_broker_id: master.master_broker_id,
            master_address: master.master_address,
            master_epoch: master.master_epoch,
            sync_state_set_epoch: master.sync_state_set_epoch,
            broker_member_group: body.broker_member_group,
            sync_state_set: body.sync_state_set,
        })
    }

    /// The configuration of the controller at `addr` (`getControllerConfig`), as its
    /// properties text lists it (`key=value` lines, in the controller's order).
    pub async fn controller_config(
        &self,
        addr: &str,
    ) -> Result<Vec<(String, String)>, ControllerError> {
        let text = controller_api::get_controller_config(&self.instance, addr.trim()).await?;
        Ok(parse_properties(&text))
    }

    /// Sets `key` to `value` on the controller at `addr` (`updateControllerConfig`; each
    /// controller keeps its own configuration, so ask each one).
    pub async fn update_controller_config(
        &self,
        addr: &str,
        key: &str,
        value: &str,
    ) -> Result<(), ControllerError> {
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || key.contains(['=', ':', '\n', '\r']) || value.contains(['\n', '\r']) {
            return Err(ControllerError::Client(ClientError::InvalidArgument(
                format!("{key:?} = {value:?}: a key must be non-empty without '=', ':' or line breaks, a value one line"),
            )));
        }
        let text = format!("{key}={value}\n");
        controller_api::update_controller_config(&self.instance, addr.trim(), &text).await?;
        Ok(())
    }

    /// Forgets a broker set, or some of its broker ids, on the controller leader
    /// (`cleanBrokerMetadata`).
    pub async fn clean_controller_broker_data(
        &self,
        controllers: &str,
        clean: &CleanBrokerData,
    ) -> Result<(), ControllerError> {
        let cluster_name = clean
            .cluster_name
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        if cluster_name.is_none() && !clean.clean_living_broker {
            // mqadmin's rule: without the cluster the controller cannot tell which brokers
            // are alive, so only a clean that includes living brokers may leave it out.
            return Err(ControllerError::Client(ClientError::InvalidArgument(
                "the cluster name (-c) is required unless living brokers are cleaned too (-l)"
                    .into(),
            )));
        }
        let header = CleanControllerBrokerDataRequestHeader {
            cluster_name: cluster_name.map(String::from),
            broker_name: clean.broker_name.trim().to_string(),
            broker_controller_ids_to_clean: (!clean.broker_ids.is_empty()).then(|| {
                clean
                    .broker_ids
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(";")
            }),
            is_clean_living_broker: clean.clean_living_broker,
            invoke_time: now_ms(),
        };
        let instance = &self.instance;
        let header = &header;
        self.on_leader(controllers, |leader| async move {
            controller_api::clean_broker_data(instance, &leader, header).await
        })
        .await
    }

    /// A controller-mode broker's epochs and CommitLog end (`getBrokerEpoch`,
    /// GET_BROKER_EPOCH_CACHE). Brokers not in controller mode refuse it.
    pub async fn broker_epoch_cache(&self, addr: &str) -> Result<EpochEntryCache, AdminError> {
        Ok(broker_api::admin::get_broker_epoch_cache(&self.instance, addr).await?)
    }

    /// Every broker (master and slaves) of `broker_name`, as the name server lists them
    /// (`CommandUtil.fetchMasterAndSlaveAddrByBrokerName`).
    pub async fn brokers_of_name(
        &self,
        broker_name: &str,
    ) -> Result<Vec<BrokerRef>, ControllerError> {
        let brokers = self.brokers(None).await?;
        let of_name: Vec<BrokerRef> = brokers
            .iter()
            .filter(|b| b.broker_name == broker_name)
            .cloned()
            .collect();
        if of_name.is_empty() {
            let known: BTreeSet<&str> = brokers.iter().map(|b| b.broker_name.as_str()).collect();
            return Err(ControllerError::BrokerNameNotExist {
                name: broker_name.to_string(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.into_iter().collect::<Vec<_>>().join(", ")
                },
            });
        }
        Ok(of_name)
    }

    /// The broker names of `cluster` (`CommandUtil.fetchBrokerNameByClusterName`); an unknown
    /// cluster is an error naming the known ones.
    pub async fn broker_names_of_cluster(&self, cluster: &str) -> Result<Vec<String>, AdminError> {
        let names: BTreeSet<String> = self
            .brokers(Some(cluster))
            .await?
            .into_iter()
            .map(|b| b.broker_name)
            .collect();
        Ok(names.into_iter().collect())
    }
}

/// Splits 1006's answer into what the controller knows and the names it left out.
fn sync_state_data_of(
    controller: String,
    asked: &[String],
    info: BrokerReplicasInfo,
) -> Result<SyncStateData, ControllerError> {
    let unknown: Vec<String> = asked
        .iter()
        .filter(|n| !info.replicas_info_table.contains_key(*n))
        .cloned()
        .collect();
    if info.replicas_info_table.is_empty() {
        return Err(ControllerError::BrokerNamesUnknown {
            addr: controller,
            names: unknown,
        });
    }
    Ok(SyncStateData {
        controller,
        replicas_info_table: info.replicas_info_table,
        unknown_broker_names: unknown,
    })
}

/// Java properties text as `MixAll.string2Properties` reads what controllers write: one
/// `key=value` (or `key:value`) per line, blank lines and `#`/`!` comments skipped, whitespace
/// around keys and before values dropped. Backslash escapes are not interpreted (no controller
/// key needs them); a line without a separator is a key with an empty value, as in Java.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('!'))
        .map(|line| match line.find(['=', ':']) {
            Some(at) => (
                line[..at].trim().to_string(),
                line[at + 1..].trim_start().to_string(),
            ),
            None => (line.to_string(), String::new()),
        })
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_remoting::RemotingError;

    #[test]
    fn controller_addresses_are_a_semicolon_list() {
        assert_eq!(
            controller_addrs(" a:1; b:2;").unwrap(),
            vec!["a:1".to_string(), "b:2".into()]
        );
        assert!(matches!(
            controller_addrs(" ; "),
            Err(ControllerError::NoControllerAddress)
        ));
    }

    #[test]
    fn failures_say_what_to_check() {
        let refused = ControllerError::from(ClientError::Remoting(RemotingError::Connect {
            addr: "127.0.0.1:9878".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        }));
        assert_eq!(
            refused.to_string(),
            "no controller answered at 127.0.0.1:9878: connection refused (is `petrel controller` \
             running there? -a takes a controller's address from controllerDLegerPeers)"
        );
        let failed = ControllerError::from(ClientError::response(
            "127.0.0.1:9878",
            code::CONTROLLER_ELECT_MASTER_FAILED,
            Some("Failed to elect a new master".into()),
        ));
        assert_eq!(failed.response_code(), Some(2012));
        let text = failed.to_string();
        assert!(
            text.starts_with(
                "127.0.0.1:9878 answered CONTROLLER_ELECT_MASTER_FAILED (2012): Failed to elect a new master ("
            ),
            "{text}"
        );
        assert!(text.contains("SyncStateSet"), "{text}");
        let not_a_controller = ControllerError::from(ClientError::response(
            "127.0.0.1:9876",
            code::REQUEST_CODE_NOT_SUPPORTED,
            None,
        ));
        assert!(
            not_a_controller.to_string().contains("is it a controller?"),
            "{not_a_controller}"
        );
        // A code without advice reads as the controller said it.
        let other = ControllerError::from(ClientError::response("c:1", code::SYSTEM_ERROR, None));
        assert_eq!(other.to_string(), "c:1 answered SYSTEM_ERROR (1)");
    }

    #[test]
    fn unknown_broker_names_are_listed_or_an_error_when_all_are() {
        let known = ReplicasInfo {
            master_broker_id: Some(1),
            master_epoch: 1,
            ..Default::default()
        };
        let info = BrokerReplicasInfo {
            replicas_info_table: [("a".to_string(), known)].into_iter().collect(),
        };
        let data = sync_state_data_of("l:1".into(), &["a".into(), "x".into()], info).unwrap();
        assert_eq!(data.unknown_broker_names, vec!["x".to_string()]);
        assert_eq!(data.replicas_info_table.len(), 1);
        let err = sync_state_data_of("l:1".into(), &["x".into()], BrokerReplicasInfo::default())
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the controller at l:1 has no data for broker name x: "),
            "{err}"
        );
    }

    #[test]
    fn metadata_without_a_leader_address_has_no_leader() {
        let m = ControllerMetadata {
            addr: "c:1".into(),
            group: Some("g".into()),
            controller_leader_id: None,
            controller_leader_address: Some(" ".into()),
            is_leader: false,
            peers: vec![],
        };
        assert_eq!(m.leader(), None);
    }

    #[test]
    fn reads_controller_properties_text() {
        assert_eq!(
            parse_properties(
                "# c\ncontrollerDLegerGroup=group1\n peers = n0-127.0.0.1:9878;n1-h:2 \nx\n"
            ),
            vec![
                ("controllerDLegerGroup".to_string(), "group1".to_string()),
                ("peers".into(), "n0-127.0.0.1:9878;n1-h:2".into()),
                ("x".into(), "".into()),
            ]
        );
    }

    /// A fake controller: its 1005 answers name the leaders of a script (the last one
    /// repeats; "" names none); it answers 1006 if it leads, else NOT_LEADER.
    mod fake {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;

        use parking_lot::Mutex;
        use petrel_protocol::remoting::body::{BrokerReplicasInfo, JsonBody, ReplicasInfo};
        use petrel_protocol::remoting::header::GetMetaDataResponseHeader;
        use petrel_protocol::remoting::RemotingCommand;
        use petrel_protocol::remoting::{request_code as rc, response_code as code};
        use petrel_remoting::{
            BoxFuture, RemotingConfig, RemotingServer, Reply, RequestContext, RequestHandler,
        };

        #[derive(Default)]
        pub struct Controller {
            pub leads: AtomicBool,
            pub names: Mutex<Vec<String>>,
            pub not_leader_answers: AtomicUsize,
        }

        impl Controller {
            fn named_leader(&self) -> String {
                let mut names = self.names.lock();
                if names.len() > 1 {
                    names.remove(0)
                } else {
                    names.first().cloned().unwrap_or_default()
                }
            }
        }

        impl RequestHandler for Controller {
            fn handle(
                &self,
                _ctx: RequestContext,
                request: RemotingCommand,
            ) -> BoxFuture<Option<Reply>> {
                let ok = || RemotingCommand::response_to(&request, code::SUCCESS, None);
                let reply = match request.code {
                    rc::CONTROLLER_GET_METADATA_INFO => {
                        let leader = self.named_leader();
                        ok().with_header(&GetMetaDataResponseHeader {
                            group: Some("g".into()),
                            controller_leader_id: (!leader.is_empty()).then(|| "n0".into()),
                            controller_leader_address: Some(leader),
                            is_leader: self.leads.load(Ordering::SeqCst),
                            peers: None,
                        })
                    }
                    rc::CONTROLLER_GET_SYNC_STATE_DATA if self.leads.load(Ordering::SeqCst) => {
                        let info = BrokerReplicasInfo {
                            replicas_info_table: [(
                                "broker-a".to_string(),
                                ReplicasInfo {
                                    master_broker_id: Some(1),
                                    ..Default::default()
                                },
                            )]
                            .into_iter()
                            .collect(),
                        };
                        ok().with_body(info.encode())
                    }
                    rc::CONTROLLER_GET_SYNC_STATE_DATA => {
                        self.not_leader_answers.fetch_add(1, Ordering::SeqCst);
                        RemotingCommand::response_to(
                            &request,
                            code::CONTROLLER_NOT_LEADER,
                            Some("The controller is not in leader state".into()),
                        )
                    }
                    _ => RemotingCommand::response_to(
                        &request,
                        code::REQUEST_CODE_NOT_SUPPORTED,
                        None,
                    ),
                };
                Box::pin(async move { Some(reply.into()) })
            }
        }

        /// A fake controller on an ephemeral loopback port, and its address.
        pub async fn start() -> (Arc<Controller>, RemotingServer, String) {
            let controller = Arc::new(Controller::default());
            let server = RemotingServer::bind(
                "127.0.0.1:0".parse().expect("address"),
                Arc::clone(&controller) as Arc<dyn RequestHandler>,
                RemotingConfig::default(),
            )
            .await
            .expect("bind");
            let addr = server.local_addr().to_string();
            (controller, server, addr)
        }
    }

    fn admin() -> Admin {
        Admin::start(crate::ClientConfig {
            request_timeout: std::time::Duration::from_secs(3),
            ..crate::ClientConfig::new("127.0.0.1:1")
        })
        .expect("admin")
    }

    fn closed_port() -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").to_string()
    }

    #[tokio::test]
    async fn a_request_refused_by_a_deposed_leader_goes_once_more_to_the_new_one() {
        use std::sync::atomic::Ordering;
        let (a, _a_server, a_addr) = fake::start().await;
        let (b, _b_server, b_addr) = fake::start().await;
        // b has just lost the leadership to a; a's first answer still names b.
        a.leads.store(true, Ordering::SeqCst);
        *a.names.lock() = vec![b_addr.clone(), a_addr.clone()];
        let admin = admin();
        let names = ["broker-a".to_string()];
        let data = admin.sync_state_data(&a_addr, &names).await.unwrap();
        assert_eq!(data.controller, a_addr);
        assert_eq!(
            data.replicas_info_table["broker-a"].master_broker_id,
            Some(1)
        );
        assert_eq!(b.not_leader_answers.load(Ordering::SeqCst), 1);

        // Only once: a controller that keeps naming a deposed leader is reported.
        *a.names.lock() = vec![b_addr.clone()];
        let err = admin.sync_state_data(&a_addr, &names).await.unwrap_err();
        assert_eq!(err.response_code(), Some(code::CONTROLLER_NOT_LEADER));
        assert!(err.to_string().contains("retry in a few seconds"), "{err}");
        assert_eq!(b.not_leader_answers.load(Ordering::SeqCst), 3);
        admin.shutdown().await;
    }

    #[tokio::test]
    async fn the_first_controller_that_answers_names_the_leader() {
        use std::sync::atomic::Ordering;
        let (a, _a_server, a_addr) = fake::start().await;
        a.leads.store(true, Ordering::SeqCst);
        *a.names.lock() = vec![a_addr.clone()];
        let admin = admin();
        let dead = closed_port();
        let list = format!("{dead};{a_addr}");
        assert_eq!(admin.controller_leader(&list).await.unwrap(), a_addr);
        let metadata = admin.controller_metadata(&list).await.unwrap();
        assert_eq!(
            (metadata.addr.as_str(), metadata.is_leader),
            (a_addr.as_str(), true)
        );

        // None answers: each is named with its reason.
        let other = closed_port();
        let err = admin
            .controller_metadata(&format!("{dead};{other}"))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "no controller answered at {dead};{other}: {dead}: "
            )),
            "{text}"
        );
        assert!(
            text.contains("is `petrel controller` running there?"),
            "{text}"
        );

        // No leader yet: say so rather than send to nobody.
        *a.names.lock() = vec![String::new()];
        let err = admin.controller_leader(&a_addr).await.unwrap_err();
        assert!(matches!(err, ControllerError::NoLeader { .. }), "{err}");
        assert!(err.to_string().contains("election is in progress"), "{err}");
        admin.shutdown().await;
    }
}
