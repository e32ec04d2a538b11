//! Errors, and the one place where a failed request becomes a RocketMQ response code.

use std::net::SocketAddr;

use petrel_protocol::remoting::body::BodyError;
use petrel_protocol::remoting::{response_code, HeaderError, RemotingCommand};

use crate::config::{ConfigError, PropertyError};
use crate::kv_config::KvConfigFileError;
use crate::route_info::RegisterError;

/// Why the name server could not start.
#[derive(Debug, thiserror::Error)]
pub enum NamesrvError {
    #[error("invalid name server configuration: {0}")]
    Config(#[from] ConfigError),
    #[error(
        "cannot listen on {addr}: {source} (is another name server or broker using the port?)"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("loading the KV config: {0}")]
    KvConfig(#[from] KvConfigFileError),
}

/// Why a request was not served. Each variant maps to one response code in
/// [`RequestError::response_code`]; the remark is the `Display` text.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    /// Java's answer to an unknown code.
    #[error("request type {0} not supported")]
    UnsupportedCode(i32),
    /// A required header field is missing or unparsable (Java: SYSTEM_ERROR with the
    /// exception text "the custom field <x> is null").
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("Failed to decode {what}: {source}")]
    Body {
        what: &'static str,
        #[source]
        source: BodyError,
    },
    #[error("the request has no {0} body")]
    MissingBody(&'static str),
    /// Java's remark.
    #[error("crc32 not match")]
    BodyCrcMismatch,
    #[error("{0}")]
    Register(#[from] RegisterError),
    /// `enableAllTopicList` / `enableTopicList` is off (Java's remark).
    #[error("disable")]
    Disabled,
    /// Java's remark, without its FAQ link.
    #[error("No topic route info in name server for the topic: {0}")]
    TopicNotExist(String),
    #[error("No config item, Namespace: {namespace} Key: {key}")]
    KvNotFound { namespace: String, key: String },
    #[error("No config item, Namespace: {0}")]
    KvNamespaceNotFound(String),
    /// The change is applied in memory but not on disk.
    #[error("the KV config changed in memory but could not be persisted: {0}")]
    KvPersist(String),
    #[error("the config body is not UTF-8")]
    ConfigNotUtf8,
    #[error("{0}")]
    Property(#[from] PropertyError),
}

impl RequestError {
    pub(crate) fn response_code(&self) -> i32 {
        match self {
            RequestError::UnsupportedCode(_) => response_code::REQUEST_CODE_NOT_SUPPORTED,
            RequestError::TopicNotExist(_) => response_code::TOPIC_NOT_EXIST,
            RequestError::KvNotFound { .. } | RequestError::KvNamespaceNotFound(_) => {
                response_code::QUERY_NOT_FOUND
            }
            RequestError::Property(PropertyError::BlackListed(_)) => response_code::NO_PERMISSION,
            RequestError::Header(_)
            | RequestError::Body { .. }
            | RequestError::MissingBody(_)
            | RequestError::BodyCrcMismatch
            | RequestError::Register(_)
            | RequestError::Disabled
            | RequestError::KvPersist(_)
            | RequestError::ConfigNotUtf8
            | RequestError::Property(_) => response_code::SYSTEM_ERROR,
        }
    }

    /// The response to `request` that reports this error.
    pub(crate) fn to_response(&self, request: &RemotingCommand) -> RemotingCommand {
        RemotingCommand::response_to(request, self.response_code(), Some(self.to_string()))
    }
}
