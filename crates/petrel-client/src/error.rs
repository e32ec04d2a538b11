//! What can go wrong in a client call.

use petrel_protocol::remoting::response_code;
use petrel_remoting::RemotingError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed, timed out or closed.
    #[error("{0}")]
    Remoting(#[from] RemotingError),
    /// The peer answered with an error code.
    #[error("{addr} answered {name} ({code}){}", remark.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Response {
        addr: String,
        code: i32,
        name: &'static str,
        remark: Option<String>,
    },
    /// No name server knows the topic (and it could not be created automatically).
    #[error("no route for topic {topic}: {reason}")]
    NoRoute { topic: String, reason: String },
    /// None of the configured name servers could be reached.
    #[error("no name server reachable ({tried}): {last}")]
    NameServerUnreachable { tried: String, last: String },
    /// No name server is configured.
    #[error("no name server address configured (set namesrv_addr, e.g. \"127.0.0.1:9876\")")]
    NoNameServer,
    /// A broker name in a route has no address for the role needed.
    #[error("broker {broker_name} has no {role} address in the route")]
    NoBrokerAddress {
        broker_name: String,
        role: &'static str,
    },
    /// A response that could not be decoded.
    #[error("bad response from {addr}: {reason}")]
    BadResponse { addr: String, reason: String },
    /// The caller gave something the client cannot send.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Every attempt of a send failed (the last error says why).
    #[error("send to {topic} failed after {attempts} attempts in {elapsed_ms} ms: {last}")]
    SendFailed {
        topic: String,
        attempts: u32,
        elapsed_ms: u64,
        last: Box<ClientError>,
    },
    /// The operation did not complete in time (all retries included).
    #[error("timed out after {elapsed_ms} ms: {what}")]
    Timeout { what: String, elapsed_ms: u64 },
    /// The producer or consumer is not started, or already shut down.
    #[error("{0}")]
    State(String),
    /// Reading or writing a local file (broadcasting offsets).
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl ClientError {
    pub(crate) fn response(addr: &str, code: i32, remark: Option<String>) -> Self {
        ClientError::Response {
            addr: addr.to_string(),
            code,
            name: response_code::name(code).unwrap_or("UNKNOWN"),
            remark,
        }
    }

    /// The response code, when the peer answered with one.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::Response { code, .. } => Some(*code),
            ClientError::SendFailed { last, .. } => last.response_code(),
            _ => None,
        }
    }

    /// Whether sending again (to another broker) may succeed: the codes the Java producer
    /// retries on, and transport failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Remoting(_) => true,
            ClientError::Response { code, .. } => matches!(
                *code,
                response_code::TOPIC_NOT_EXIST
                    | response_code::SERVICE_NOT_AVAILABLE
                    | response_code::SYSTEM_ERROR
                    | response_code::NO_PERMISSION
                    | response_code::NO_BUYER_ID
                    | response_code::NOT_IN_CURRENT_UNIT
                    | response_code::SYSTEM_BUSY
            ),
            ClientError::NoBrokerAddress { .. } => true,
            _ => false,
        }
    }
}

/// A topic or group name the protocol's rule refuses is an invalid argument, worded by the rule.
impl From<petrel_protocol::name::NameError> for ClientError {
    fn from(e: petrel_protocol::name::NameError) -> Self {
        ClientError::InvalidArgument(e.to_string())
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
