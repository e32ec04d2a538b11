//! Errors: a refused request (a RocketMQ response code and its remark) and why a controller
//! could not start. Requests never fail with anything else: every refusal has a code.

use std::net::SocketAddr;
use std::path::PathBuf;

use petrel_protocol::remoting::response_code;

use crate::config::ConfigError;

/// A request the controller answers with a non-success code. The remark says why, in
/// Apache's words where Apache has some.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{remark} (code {code})")]
pub struct Refusal {
    pub code: i32,
    pub remark: String,
}

impl Refusal {
    pub fn new(code: i32, remark: impl Into<String>) -> Refusal {
        Refusal {
            code,
            remark: remark.into(),
        }
    }

    /// CONTROLLER_INVALID_REQUEST (2005): a header or body the controller cannot use.
    pub fn invalid_request(remark: impl Into<String>) -> Refusal {
        Refusal::new(response_code::CONTROLLER_INVALID_REQUEST, remark)
    }
}

/// Why a controller could not start (or stopped its raft node).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid controller configuration: {0}")]
    Config(#[from] ConfigError),
    #[error(
        "cannot listen on {addr}: {source} (is another controller or process using the port?)"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the controller store {path}: {source}")]
    Store {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting raft: {0}")]
    Raft(String),
}
