//! Administration of a RocketMQ-protocol cluster (RocketMQ's `DefaultMQAdminExt`): topics,
//! clusters and brokers, subscription groups, consumer progress, offsets and messages, with
//! typed results. `petrel admin` (mqadmin's everyday commands) is a thin layer over it.
//!
//! One file per family: [`cluster`] (cluster info, broker runtime info), [`topic`] (create,
//! delete, list, route, stats), [`group`] (subscription groups, consume stats, connections),
//! [`message`] (view, query by key or id, pull, resend from a DLQ) and [`offset`] (reset by
//! time, commit).
//!
//! Errors are [`AdminError`]s that say what is missing or unreachable in an operator's terms
//! ("topic X does not exist", "cannot reach name server a:9876: connection refused"), because
//! the command line prints them as they are.

pub mod cluster;
pub mod group;
pub mod message;
pub mod offset;
pub mod topic;

use std::sync::Arc;

use petrel_protocol::remoting::body::JsonBody;
use petrel_protocol::remoting::{response_code as code, RemotingCommand};
use petrel_remoting::RemotingError;

use crate::config::ClientConfig;
use crate::error::ClientError;
use crate::instance::ClientInstance;

pub use cluster::BrokerRef;
pub use message::{message_for_resend, PullOutcome, PullStatus};
/// The protocol types admin calls return, so that callers need no direct dependency on
/// `petrel-protocol`.
pub use petrel_protocol::remoting::body::{
    BrokerData, ClusterInfo, Connection, ConsumeFromWhere, ConsumeStats, ConsumeType,
    ConsumerConnection, MessageModel, OffsetWrapper, ProducerConnection, QueueData,
    SubscriptionData, SubscriptionGroupConfig, TopicConfig, TopicFilterType, TopicOffset,
    TopicRouteData, TopicStatsTable,
};

/// What an admin call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No configured name server answered.
    #[error("cannot reach name server {addrs}: {reason}")]
    NameServerUnreachable { addrs: String, reason: String },
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
    /// A broker or name server answered with an error code.
    #[error("{addr} answered {name} ({code}){}", remark.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Refused {
        addr: String,
        code: i32,
        name: &'static str,
        remark: Option<String>,
    },
    /// An answer that could not be decoded.
    #[error("bad response from {addr}: {reason}")]
    BadResponse { addr: String, reason: String },
    /// The caller asked for something that cannot be done.
    #[error("{0}")]
    InvalidArgument(String),
    /// Anything else the client library reports (sends, producer state).
    #[error(transparent)]
    Client(ClientError),
}

impl AdminError {
    pub(crate) fn refused(addr: &str, response: RemotingCommand) -> Self {
        AdminError::Refused {
            addr: addr.to_string(),
            code: response.code,
            name: code::name(response.code).unwrap_or("UNKNOWN"),
            remark: response.remark,
        }
    }

    /// The response code, when a peer answered with one.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            AdminError::Refused { code, .. } => Some(*code),
            AdminError::Client(e) => e.response_code(),
            _ => None,
        }
    }
}

impl From<ClientError> for AdminError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Remoting(r) => remoting_error("broker", r),
            ClientError::NoRoute { topic, .. } => AdminError::TopicNotExist(topic),
            ClientError::NameServerUnreachable { tried, last } => {
                AdminError::NameServerUnreachable {
                    addrs: tried,
                    reason: last,
                }
            }
            ClientError::Response {
                addr,
                code,
                name,
                remark,
            } => AdminError::Refused {
                addr,
                code,
                name,
                remark,
            },
            ClientError::BadResponse { addr, reason } => AdminError::BadResponse { addr, reason },
            ClientError::InvalidArgument(reason) => AdminError::InvalidArgument(reason),
            other => AdminError::Client(other),
        }
    }
}

/// "connection refused" rather than "Connection refused (os error 111)".
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A transport failure talking to a `role` ("broker" or "name server").
fn remoting_error(role: &str, e: RemotingError) -> AdminError {
    let (addr, reason) = match &e {
        RemotingError::Connect { addr, source } => (addr.clone(), io_reason(source)),
        RemotingError::Timeout {
            addr, timeout_ms, ..
        } => (addr.clone(), format!("no answer within {timeout_ms} ms")),
        RemotingError::ConnectionClosed(addr) => (addr.clone(), "the connection closed".into()),
        RemotingError::Encode(reason) => return AdminError::InvalidArgument(reason.clone()),
    };
    if role == "name server" {
        AdminError::NameServerUnreachable {
            addrs: addr,
            reason,
        }
    } else {
        AdminError::BrokerUnreachable { addr, reason }
    }
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

    /// A call to the first name server that answers; a transport failure moves on to the next.
    pub(crate) async fn namesrv_call(&self, request: RemotingCommand) -> Result<RemotingCommand> {
        let addrs = self.namesrv_addrs();
        if addrs.is_empty() {
            return Err(ClientError::NoNameServer.into());
        }
        let mut reasons = Vec::new();
        for addr in addrs {
            match self.instance.invoke(addr, request.clone()).await {
                Ok(response) => return Ok(response),
                Err(ClientError::Remoting(e)) => match remoting_error("name server", e) {
                    AdminError::NameServerUnreachable { reason, .. } => {
                        reasons.push(if addrs.len() > 1 {
                            format!("{addr}: {reason}")
                        } else {
                            reason
                        })
                    }
                    other => return Err(other),
                },
                Err(e) => return Err(e.into()),
            }
        }
        Err(AdminError::NameServerUnreachable {
            addrs: addrs.join(";"),
            reason: reasons.join("; "),
        })
    }

    /// A call to every configured name server (writes: topic deletion, KV config); fails on
    /// the first that cannot be reached or refuses.
    pub(crate) async fn namesrv_call_all(&self, request: RemotingCommand) -> Result<()> {
        for addr in self.namesrv_addrs() {
            let response = match self.instance.invoke(addr, request.clone()).await {
                Ok(r) => r,
                Err(ClientError::Remoting(e)) => return Err(remoting_error("name server", e)),
                Err(e) => return Err(e.into()),
            };
            if response.code != code::SUCCESS {
                return Err(AdminError::refused(addr, response));
            }
        }
        Ok(())
    }

    /// One call to a broker; transport failures become [`AdminError::BrokerUnreachable`].
    pub(crate) async fn broker_call(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<RemotingCommand> {
        match self.instance.invoke(addr, request).await {
            Ok(r) => Ok(r),
            Err(ClientError::Remoting(e)) => Err(remoting_error("broker", e)),
            Err(e) => Err(e.into()),
        }
    }

    /// A broker call that must answer SUCCESS.
    pub(crate) async fn broker_call_ok(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<RemotingCommand> {
        let response = self.broker_call(addr, request).await?;
        if response.code != code::SUCCESS {
            return Err(AdminError::refused(addr, response));
        }
        Ok(response)
    }
}

/// Decodes a JSON body, naming the peer and what was expected on failure.
pub(crate) fn decode_body<T: JsonBody>(addr: &str, what: &str, body: &[u8]) -> Result<T> {
    T::decode(body).map_err(|e| AdminError::BadResponse {
        addr: addr.to_string(),
        reason: format!("{what}: {e}"),
    })
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
        let refused = RemotingError::Connect {
            addr: "127.0.0.1:1".into(),
            source: std::io::Error::from_raw_os_error(libc_econnrefused()),
        };
        let e = remoting_error("name server", refused);
        assert_eq!(
            e.to_string(),
            "cannot reach name server 127.0.0.1:1: connection refused"
        );
        let timeout = RemotingError::Timeout {
            addr: "b:1".into(),
            code: 28,
            timeout_ms: 3000,
        };
        assert_eq!(
            remoting_error("broker", timeout).to_string(),
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
    }

    /// ECONNREFUSED on Linux and the BSDs/macOS.
    fn libc_econnrefused() -> i32 {
        if cfg!(target_os = "linux") {
            111
        } else {
            61
        }
    }
}
