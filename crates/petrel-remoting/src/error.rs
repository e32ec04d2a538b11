use std::io;

/// Why a remote call failed.
#[derive(Debug, thiserror::Error)]
pub enum RemotingError {
    #[error("connecting to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("connection to {0} is closed")]
    ConnectionClosed(String),
    #[error("no response from {addr} within {timeout_ms} ms (request code {code})")]
    Timeout {
        addr: String,
        code: i32,
        timeout_ms: u64,
    },
    #[error("encoding request: {0}")]
    Encode(String),
}
