//! What can go wrong in a client call: [`ClientError`], the one error type of producers,
//! consumers and both request layers. The admin API's [`crate::admin::AdminError`] wraps it and
//! adds only what an operator asks about (a topic or group that does not exist, a broker that
//! cannot be reached).

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
    /// None of the name servers asked could be reached: `addrs` as configured
    /// (`a:9876;b:9876`), `reason` per server when there are several.
    #[error("cannot reach name server {addrs}: {reason}")]
    NameServerUnreachable { addrs: String, reason: String },
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

/// A transport failure as an operator reads it: "connection refused" (not "Connection refused
/// (os error 111)"), "no answer within 3000 ms", "the connection closed". `None` when the
/// request could not even be encoded: no peer is to blame.
pub(crate) fn transport_failure(e: &RemotingError) -> Option<String> {
    match e {
        RemotingError::Connect { source, .. } => Some(io_reason(source)),
        RemotingError::Timeout { timeout_ms, .. } => {
            Some(format!("no answer within {timeout_ms} ms"))
        }
        RemotingError::ConnectionClosed(_) => Some("the connection closed".into()),
        RemotingError::Encode(_) => None,
    }
}

/// The peer a transport failure happened with.
pub(crate) fn transport_peer(e: &RemotingError) -> Option<&str> {
    match e {
        RemotingError::Connect { addr, .. }
        | RemotingError::Timeout { addr, .. }
        | RemotingError::ConnectionClosed(addr) => Some(addr),
        RemotingError::Encode(_) => None,
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

/// A topic or group name the protocol's rule refuses is an invalid argument, worded by the rule.
impl From<petrel_protocol::name::NameError> for ClientError {
    fn from(e: petrel_protocol::name::NameError) -> Self {
        ClientError::InvalidArgument(e.to_string())
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// ECONNREFUSED on Linux and the BSDs/macOS.
    fn econnrefused() -> i32 {
        if cfg!(target_os = "linux") {
            111
        } else {
            61
        }
    }

    #[test]
    fn transport_failures_read_as_operator_messages() {
        let refused = RemotingError::Connect {
            addr: "127.0.0.1:1".into(),
            source: std::io::Error::from_raw_os_error(econnrefused()),
        };
        assert_eq!(
            transport_failure(&refused).as_deref(),
            Some("connection refused")
        );
        assert_eq!(transport_peer(&refused), Some("127.0.0.1:1"));
        let timeout = RemotingError::Timeout {
            addr: "b:1".into(),
            code: 28,
            timeout_ms: 3000,
        };
        assert_eq!(
            transport_failure(&timeout).as_deref(),
            Some("no answer within 3000 ms")
        );
        let encode = RemotingError::Encode("too big".into());
        assert_eq!(transport_failure(&encode), None);
        assert_eq!(transport_peer(&encode), None);
    }

    #[test]
    fn an_unreachable_name_server_names_the_addresses() {
        let e = ClientError::NameServerUnreachable {
            addrs: "127.0.0.1:1".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot reach name server 127.0.0.1:1: connection refused"
        );
    }
}
