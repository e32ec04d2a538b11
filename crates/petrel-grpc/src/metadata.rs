//! The request headers every official client sends (`x-mq-*`, wave2-facts §C): who the client
//! is, in which language. Read leniently: a header that is absent or not text is `None`.

use std::net::SocketAddr;

use tonic::metadata::MetadataMap;

use crate::auth::{self, Authorization};

pub const CLIENT_ID: &str = "x-mq-client-id";
pub const LANGUAGE: &str = "x-mq-language";
pub const DATE_TIME: &str = "x-mq-date-time";
pub const AUTHORIZATION: &str = "authorization";
/// The longest client id kept (Java's are ~60 characters: `host@pid@index@nanoTimeBase36`).
pub const CLIENT_ID_MAX_CHARS: usize = 512;

/// What the server knows about the peer of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: Option<String>,
    pub language: String,
    pub remote: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
    /// The signed `authorization` header, when the client has credentials.
    pub authorization: Option<Authorization>,
    /// `x-mq-date-time`: what the signature signs.
    pub date_time: Option<String>,
}

fn text(map: &MetadataMap, key: &str) -> Option<String> {
    map.get(key)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

impl Caller {
    pub fn of<T>(request: &tonic::Request<T>) -> Caller {
        let map = request.metadata();
        Caller {
            client_id: text(map, CLIENT_ID).filter(|id| id.chars().count() <= CLIENT_ID_MAX_CHARS),
            language: text(map, LANGUAGE).unwrap_or_else(|| "UNKNOWN".to_string()),
            remote: request.remote_addr(),
            local: request.local_addr(),
            authorization: text(map, AUTHORIZATION).and_then(|h| auth::parse(&h)),
            date_time: text(map, DATE_TIME),
        }
    }
}
