//! Administration of a RocketMQ-protocol cluster (RocketMQ's `DefaultMQAdminExt`): topics,
//! clusters and brokers, subscription groups, consumer progress, offsets and messages, with
//! typed results. `petrel admin` (mqadmin's everyday commands) is a thin layer over it.
//!
//! One file per family: [`cluster`] (cluster info, broker runtime info), [`topic`] (create,
//! delete, list, route, stats), [`group`] (subscription groups, consume stats, connections),
//! [`message`] (view, query by key or id, pull, resend from a DLQ), [`offset`] (reset by
//! time, commit) and [`controller`] (5.x controller mode: leader, SyncStateSets, elections).
//!
//! Requests go through the client's request layers (`broker_api`, `namesrv_api`); this
//! module decides which brokers to ask and merges their answers.
//!
//! Errors are [`AdminError`]s: a [`ClientError`] for anything the client library reports, plus
//! the few cases an operator asks about by name ("topic X does not exist", "cannot reach broker
//! b:10911: connection refused"), because the command line prints them as they are.

pub mod auth;
pub mod browse;
pub mod cluster;
pub mod controller;
pub mod group;
pub mod message;
pub mod offset;
pub mod stats;
pub mod topic;
pub mod trace;

use std::sync::Arc;

use crate::config::ClientConfig;
use crate::error::{transport_failure, transport_peer, ClientError};
use crate::instance::ClientInstance;

pub use crate::broker_api::{PullOutcome, PullStatus};
pub use browse::QueueAt;
pub use cluster::BrokerRef;
pub use message::{message_for_group, message_for_resend, MessageJson};
/// The protocol types admin calls return, so that callers need no direct dependency on
/// `petrel-protocol`.
pub use petrel_protocol::remoting::body::{
    BrokerData, BrokerStatsData, BrokerStatsItem, ClusterInfo, Connection, ConsumeFromWhere,
    ConsumeStats, ConsumeType, ConsumerConnection, MessageModel, OffsetWrapper, ProducerConnection,
    QueueData, SubscriptionData, SubscriptionGroupConfig, TopicConfig, TopicFilterType,
    TopicOffset, TopicRouteData, TopicStatsTable,
};
pub use trace::TraceEvent;

/// What an admin call can fail with: what the client library reports ([`AdminError::Client`]),
/// and what only an operator's question makes an error.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A broker did not accept the connection or did not answer in time.
    #[error("cannot reach broker {addr}: {reason}")]
    BrokerUnreachable { addr: String, reason: String },
    /// No name server has a route for the topic.
    #[error("topic {0} does not exist")]
    TopicNotExist(String),
    /// The name server knows no such cluster.
    #[error("cluster {cluster} does not exist (known clusters: {known})")]
    ClusterNotExist { cluster: String, known: String },
    /// The consumer group has no live member on any broker asked.
    #[error("consumer group {0} is not online (no consumer of it is connected)")]
    ConsumerNotOnline(String),
    /// The producer group has no live member on any broker asked.
    #[error("producer group {0} is not online (no producer of it is connected)")]
    ProducerNotOnline(String),
    /// No broker has anything about the consumer group.
    #[error("consumer group {0} does not exist (no broker has offsets or members for it)")]
    GroupNotExist(String),
    /// A lookup found no message.
    #[error("message not found: {0}")]
    MessageNotFound(String),
    /// Anything the client library reports: a refusal (with the peer's response code), an
    /// undecodable answer, an invalid argument, unreachable name servers, a failed send.
    #[error(transparent)]
    Client(ClientError),
}

impl AdminError {
    /// The response code, when a peer answered with one.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            AdminError::Client(e) => e.response_code(),
            _ => None,
        }
    }
}

/// Transport failures (broker calls only: name-server calls already report
/// [`ClientError::NameServerUnreachable`]) become [`AdminError::BrokerUnreachable`], and a topic
/// no name server routes [`AdminError::TopicNotExist`]; everything else is kept as it is.
impl From<ClientError> for AdminError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Remoting(r) => match (transport_peer(&r), transport_failure(&r)) {
                (Some(addr), Some(reason)) => AdminError::BrokerUnreachable {
                    addr: addr.to_string(),
                    reason,
                },
                _ => AdminError::Client(ClientError::Remoting(r)),
            },
            ClientError::NoRoute { topic, .. } => AdminError::TopicNotExist(topic),
            other => AdminError::Client(other),
        }
    }
}

/// A caller's request that cannot be done, in the client's error family.
pub(crate) fn invalid(reason: String) -> AdminError {
    AdminError::Client(ClientError::InvalidArgument(reason))
}

pub type Result<T, E = AdminError> = std::result::Result<T, E>;

/// The admin API over one [`ClientInstance`] (`DefaultMQAdminExt`).
#[derive(Debug, Clone)]
pub struct Admin {
    instance: Arc<ClientInstance>,
}

impl Admin {
    /// Starts a client instance for `config` (needs a tokio runtime).
    pub fn start(config: ClientConfig) -> Result<Self> {
        Ok(Self::on(ClientInstance::start(config)?))
    }

    /// Works through an existing instance (shares its connections).
    pub fn on(instance: Arc<ClientInstance>) -> Self {
        Self { instance }
    }

    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.instance
    }

    /// Closes the instance's connections and stops its background tasks.
    pub async fn shutdown(&self) {
        self.instance.shutdown().await;
    }

    /// The configured name server addresses.
    pub fn namesrv_addrs(&self) -> &[String] {
        &self.instance.config().namesrv_addrs
    }
}

/// RocketMQ's `MQVersion.getVersionDesc`: the release a client or broker version number names
/// (`401` → `V4_9_4`, `479` → `V5_3_3`).
pub fn version_desc(version: i32) -> String {
    // From V4_0_0_SNAPSHOT (ordinal 212) the enum is regular: a SNAPSHOT and a release for
    // every x.y.z up to 5.9.9, then HIGHER_VERSION. The 3.x entries before it are not.
    const V4_0_0_SNAPSHOT: i32 = 212;
    const REGULAR_ENTRIES: i32 = 2 * 200;
    if version < 0 {
        return format!("UNKNOWN({version})");
    }
    if version < V4_0_0_SNAPSHOT {
        return format!("V3({version})");
    }
    let k = version - V4_0_0_SNAPSHOT;
    if k >= REGULAR_ENTRIES {
        return "HIGHER_VERSION".into();
    }
    let (release, snapshot) = (k / 2, k % 2 == 0);
    let (major, minor, patch) = (4 + release / 100, release / 10 % 10, release % 10);
    format!(
        "V{major}_{minor}_{patch}{}",
        if snapshot { "_SNAPSHOT" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_remoting::RemotingError;

    #[test]
    fn version_numbers_name_rocketmq_releases() {
        assert_eq!(version_desc(401), "V4_9_4");
        assert_eq!(version_desc(479), "V5_3_3");
        assert_eq!(version_desc(212), "V4_0_0_SNAPSHOT");
        assert_eq!(version_desc(611), "V5_9_9");
        assert_eq!(version_desc(612), "HIGHER_VERSION");
        assert_eq!(version_desc(5000), "HIGHER_VERSION");
        assert_eq!(version_desc(17), "V3(17)");
    }

    #[test]
    fn transport_failures_read_as_operator_messages() {
        let refused = ClientError::Remoting(RemotingError::Connect {
            addr: "b:1".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        });
        assert_eq!(
            AdminError::from(refused).to_string(),
            "cannot reach broker b:1: connection refused"
        );
        let timeout = ClientError::Remoting(RemotingError::Timeout {
            addr: "b:1".into(),
            code: 28,
            timeout_ms: 3000,
        });
        assert_eq!(
            AdminError::from(timeout).to_string(),
            "cannot reach broker b:1: no answer within 3000 ms"
        );
        assert_eq!(
            AdminError::from(ClientError::NoRoute {
                topic: "T".into(),
                reason: "x".into()
            })
            .to_string(),
            "topic T does not exist"
        );
        let refusal = AdminError::from(ClientError::response("b:1", 17, None));
        assert_eq!(refusal.response_code(), Some(17));
        assert!(matches!(refusal, AdminError::Client(_)));
    }
}
