//! Wiring `petrel-replication` into the broker, and nothing of replication itself: which
//! service the role runs (a master's HA listener, a slave's HA client), the SYNC_MASTER wait
//! after a send is stored (and its response codes), a slave's refusal of writes, the master
//! address a slave learns from name servers, and SlaveSynchronize: a slave's periodic copy of
//! its master's topic configs (21), subscription groups (201), consumer offsets (43) and delay
//! offsets (45).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use petrel_protocol::remoting::body::{
    ConsumerOffsetSerializeWrapper, DelayOffsetSerializeWrapper, HaRuntimeInfo, JsonBody,
    SubscriptionGroupWrapper, TopicConfigSerializeWrapper,
};
use petrel_protocol::remoting::header::RegisterBrokerResponseHeader;
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand};
use petrel_replication::{Master, ReplicaOutcome, Role, Slave};
use tokio::sync::{watch, Notify};

use crate::broker::BrokerInner;
use crate::response::Refusal;

/// How often a slave copies its master's metadata (RocketMQ 4.9's `syncAll` period).
pub const SLAVE_SYNC_INTERVAL: Duration = Duration::from_secs(10);
/// Bound on each metadata request to the master.
const SLAVE_SYNC_CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// The replication service of this broker's role.
pub enum Replication {
    /// ASYNC_MASTER or SYNC_MASTER: serves slaves on `haListenPort`.
    Master(Arc<Master>),
    /// SLAVE: follows its master.
    Slave(SlaveLink),
}

/// A slave's replication client and what it knows of its master.
pub struct SlaveLink {
    pub client: Arc<Slave>,
    /// The master's remoting address (`masterAddr` in the name server's answer), where
    /// SlaveSynchronize asks.
    master_addr: Mutex<Option<String>>,
    /// `haMasterAddress` was set: the name server's `haServerAddr` does not override it.
    static_ha_addr: bool,
    master_changed: Notify,
}

impl SlaveLink {
    pub fn new(client: Arc<Slave>, ha_master_address: Option<String>) -> Self {
        let static_ha_addr = ha_master_address.is_some();
        client.set_master_addr(ha_master_address);
        Self {
            client,
            master_addr: Mutex::new(None),
            static_ha_addr,
            master_changed: Notify::new(),
        }
    }

    /// The master's remoting address, as the name servers last said.
    pub fn master_addr(&self) -> Option<String> {
        self.master_addr.lock().clone()
    }
}

impl BrokerInner {
    pub fn is_slave(&self) -> bool {
        matches!(self.replication, Replication::Slave(_))
    }

    /// GET_BROKER_HA_STATUS's answer.
    pub fn ha_status(&self) -> HaRuntimeInfo {
        match &self.replication {
            Replication::Master(m) => m.status(),
            Replication::Slave(s) => s.client.status(),
        }
    }
}

/// A slave takes no writes: RocketMQ's store answers SERVICE_NOT_AVAILABLE to a put on a slave.
pub(crate) fn refuse_on_slave(broker: &BrokerInner) -> Result<(), Refusal> {
    if let Some(hooks) = &broker.controller_hooks {
        hooks
            .check_writable()
            .map_err(|remark| Refusal::new(response_code::SERVICE_NOT_AVAILABLE, remark))?;
    }
    if broker.is_slave() {
        return Err(Refusal::new(
            response_code::SERVICE_NOT_AVAILABLE,
            format!(
                "service not available now: broker {} (brokerId {}) is a slave and takes no \
                 writes; send to its master",
                broker.config.broker_name, broker.config.broker_id
            ),
        ));
    }
    Ok(())
}

/// After a send was stored (its bytes end at `end_offset`): wakes the slaves' streams and,
/// on a SYNC_MASTER with the message's `WAIT` true, waits for the slaves as the rule says.
/// Returns the response code that replaces SUCCESS (SLAVE_NOT_AVAILABLE, FLUSH_SLAVE_TIMEOUT),
/// or the refusal for too few in-sync replicas.
pub(crate) async fn after_store(
    broker: &BrokerInner,
    end_offset: u64,
    wait_store_msg_ok: bool,
) -> Result<Option<i32>, Refusal> {
    let Replication::Master(master) = &broker.replication else {
        return Ok(None);
    };
    if broker.config.broker_role != Role::SyncMaster || !wait_store_msg_ok {
        master.notify_data();
        return Ok(None);
    }
    let replicas = broker
        .controller_hooks
        .as_ref()
        .and_then(|h| h.sync_state_set_replicas());
    let outcome = match replicas {
        Some(members) => master.wait_for_members(end_offset, &members).await,
        None => master.wait_for_slaves(end_offset).await,
    };
    match outcome {
        ReplicaOutcome::Replicated | ReplicaOutcome::NotNeeded => Ok(None),
        ReplicaOutcome::SlaveNotAvailable => Ok(Some(response_code::SLAVE_NOT_AVAILABLE)),
        ReplicaOutcome::FlushSlaveTimeout => Ok(Some(response_code::FLUSH_SLAVE_TIMEOUT)),
        ReplicaOutcome::InSyncReplicasNotEnough => Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            "in-sync replicas not enough",
        )),
    }
}

/// A slave reads its master's addresses from the name server's answer to REGISTER_BROKER.
pub(crate) fn on_registered(broker: &BrokerInner, header: &RegisterBrokerResponseHeader) {
    let Replication::Slave(link) = &broker.replication else {
        return;
    };
    if !link.static_ha_addr {
        if let Some(ha) = header.ha_server_addr.as_ref().filter(|a| !a.is_empty()) {
            link.client.set_master_addr(Some(ha.clone()));
        }
    }
    let master = header.master_addr.clone().filter(|a| !a.is_empty());
    let changed = {
        let mut current = link.master_addr.lock();
        let changed = *current != master && master.is_some();
        if master.is_some() {
            *current = master;
        }
        changed
    };
    if changed {
        link.master_changed.notify_one();
    }
}

/// SlaveSynchronize: at once when the master becomes known, then every
/// [`SLAVE_SYNC_INTERVAL`], copies the master's metadata.
pub(crate) async fn slave_sync_loop(inner: Arc<BrokerInner>, mut shutdown: watch::Receiver<bool>) {
    let Replication::Slave(link) = &inner.replication else {
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SLAVE_SYNC_INTERVAL) => {}
            _ = link.master_changed.notified() => {}
            _ = shutdown.changed() => return,
        }
        if let Some(master) = link.master_addr() {
            if let Err(e) = sync_all(&inner, &master).await {
                tracing::warn!(%master, error = %e, "could not copy the master's metadata");
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error("{what}: {source}")]
    Call {
        what: &'static str,
        #[source]
        source: petrel_remoting::RemotingError,
    },
    #[error("{what}: the master answered {code} {remark}")]
    Refused {
        what: &'static str,
        code: i32,
        remark: String,
    },
    #[error("{what}: {reason}")]
    Body { what: &'static str, reason: String },
}

async fn fetch<T: JsonBody>(
    inner: &BrokerInner,
    master: &str,
    code: i32,
    what: &'static str,
) -> Result<T, SyncError> {
    let mut request = RemotingCommand::request(code);
    inner.auth.sign_inner(&mut request);
    let response = inner
        .namesrv
        .invoke(master, request, SLAVE_SYNC_CALL_TIMEOUT)
        .await
        .map_err(|source| SyncError::Call { what, source })?;
    if response.code != response_code::SUCCESS {
        return Err(SyncError::Refused {
            what,
            code: response.code,
            remark: response.remark.unwrap_or_default(),
        });
    }
    T::decode(&response.body).map_err(|e| SyncError::Body {
        what,
        reason: e.to_string(),
    })
}

/// One SlaveSynchronize round (`syncAll`): topic configs, consumer offsets, delay offsets,
/// subscription groups.
async fn sync_all(inner: &BrokerInner, master: &str) -> Result<(), SyncError> {
    let topics: TopicConfigSerializeWrapper = fetch(
        inner,
        master,
        request_code::GET_ALL_TOPIC_CONFIG,
        "GET_ALL_TOPIC_CONFIG",
    )
    .await?;
    if inner
        .topics
        .replace_from_master(topics.topic_config_table, topics.data_version)
    {
        tracing::info!(%master, "topic configs copied from the master");
        inner.trigger_register();
    }
    let offsets: ConsumerOffsetSerializeWrapper = fetch(
        inner,
        master,
        request_code::GET_ALL_CONSUMER_OFFSET,
        "GET_ALL_CONSUMER_OFFSET",
    )
    .await?;
    inner.offsets.replace_from_master(offsets.offset_table);
    let delay: DelayOffsetSerializeWrapper = fetch(
        inner,
        master,
        request_code::GET_ALL_DELAY_OFFSET,
        "GET_ALL_DELAY_OFFSET",
    )
    .await?;
    inner.schedule.replace_from_master(delay.offset_table);
    let groups: SubscriptionGroupWrapper = fetch(
        inner,
        master,
        request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        "GET_ALL_SUBSCRIPTIONGROUP_CONFIG",
    )
    .await?;
    if inner
        .groups
        .replace_from_master(groups.subscription_group_table, groups.data_version)
    {
        tracing::info!(%master, "subscription groups copied from the master");
    }
    tracing::debug!(%master, "metadata copied from the master");
    Ok(())
}

/// Physical memory in bytes (`MemTotal` of `/proc/meminfo`, read once), for
/// `accessMessageInMemoryMaxRatio`; 16 GiB where it cannot be read.
pub fn physical_memory_bytes() -> u64 {
    static MEMORY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *MEMORY.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map(|kib| kib * 1024)
            .unwrap_or(16 << 30)
    })
}
