//! Settings shared by producers and consumers (RocketMQ's `ClientConfig`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use petrel_protocol::remoting::SerializeType;

/// Settings of one client instance: which name servers, who we are, how often we talk.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Name server addresses (`host:port`); RocketMQ's `namesrvAddr` ("a:9876;b:9876").
    pub namesrv_addrs: Vec<String>,
    /// Distinguishes client instances in one process; part of the client id `ip@instance`.
    /// The default is unique per instance (the Java client uses the pid when it is "DEFAULT").
    pub instance_name: String,
    /// The address this client reports (`clientIP`).
    pub client_ip: String,
    /// Timeout of one call to a name server or broker (not of a whole send with retries).
    pub request_timeout: Duration,
    /// How often routes of the topics in use are refreshed (`pollNameServerInterval`).
    pub poll_name_server_interval: Duration,
    /// How often every broker gets a heartbeat (`heartbeatBrokerInterval`).
    pub heartbeat_broker_interval: Duration,
    /// How often consumers rebalance even without a notification.
    pub rebalance_interval: Duration,
    /// How often consumer offsets are committed to brokers (`persistConsumerOffsetInterval`).
    pub persist_consumer_offset_interval: Duration,
    /// Header encoding of requests (`rocketmq.serialize.type`). RocketMQ's binary form is
    /// the default here (the Java client's default is JSON): both are part of the protocol and
    /// every RocketMQ broker answers in the form it was asked in, but the binary form costs
    /// both sides much less CPU.
    pub serialize_type: SerializeType,
    /// ACL credentials: when set, every request is signed as RocketMQ's `AclClientRPCHook`
    /// signs it (an `AccessKey` field and an HMAC-SHA1 `Signature` of the fields and body).
    pub credentials: Option<SessionCredentials>,
    /// TLS on every connection (the Java client's `useTLS`): `Some` with default settings
    /// accepts any server certificate, as the Java client does by default
    /// (`tls.client.authServer=false`); `trust_cert_path` verifies servers instead.
    pub tls: Option<petrel_remoting::TlsClientSettings>,
}

/// An ACL user's keys (RocketMQ's `SessionCredentials`): the AccessKey is the username, the
/// SecretKey its password.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCredentials {
    pub access_key: String,
    pub secret_key: String,
}

impl SessionCredentials {
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        }
    }

    /// Adds `AccessKey` and `Signature` to `request` (`AclClientRPCHook.doBeforeRequest`).
    pub fn sign(&self, request: &mut petrel_protocol::remoting::RemotingCommand) {
        use petrel_auth::signature::{sign_parts, ACCESS_KEY, SIGNATURE};
        request.ext_fields.remove(SIGNATURE);
        request
            .ext_fields
            .insert(ACCESS_KEY, self.access_key.as_str());
        let signature = sign_parts(
            request.ext_fields.iter(),
            &request.body,
            request.version,
            &self.secret_key,
        );
        request.ext_fields.insert(SIGNATURE, signature);
    }
}

impl std::fmt::Debug for SessionCredentials {
    /// The secret key is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"***")
            .finish()
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            namesrv_addrs: std::env::var("NAMESRV_ADDR")
                .map(|v| split_addrs(&v))
                .unwrap_or_default(),
            instance_name: default_instance_name(),
            client_ip: local_ip(),
            request_timeout: Duration::from_millis(3_000),
            poll_name_server_interval: Duration::from_millis(30_000),
            heartbeat_broker_interval: Duration::from_millis(30_000),
            rebalance_interval: Duration::from_millis(20_000),
            persist_consumer_offset_interval: Duration::from_millis(5_000),
            serialize_type: SerializeType::RocketMq,
            credentials: None,
            tls: None,
        }
    }
}

impl ClientConfig {
    /// A config for the name servers in `addrs` ("a:9876;b:9876" or one address).
    pub fn new(addrs: &str) -> Self {
        Self {
            namesrv_addrs: split_addrs(addrs),
            ..Self::default()
        }
    }

    /// The client id brokers know this instance by: `ip@instance`.
    pub fn client_id(&self) -> String {
        format!("{}@{}", self.client_ip, self.instance_name)
    }
}

/// Splits RocketMQ's `namesrvAddr` form ("a:9876;b:9876", commas accepted too).
pub fn split_addrs(addrs: &str) -> Vec<String> {
    addrs
        .split([';', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn default_instance_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}#{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A non-loopback IPv4 address of this host if one is found, else 127.0.0.1 (what the Java
/// client reports in `clientIP`; brokers only use it to name clients).
fn local_ip() -> String {
    // Connecting a UDP socket sends nothing; it only asks the kernel which source address a
    // packet to that destination would use.
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("10.255.255.255:1")?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "127.0.0.1".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_namesrv_addr_like_rocketmq() {
        assert_eq!(
            split_addrs(" a:9876; b:9876,c:1 ;"),
            vec!["a:9876", "b:9876", "c:1"]
        );
        assert!(split_addrs("").is_empty());
    }

    #[test]
    fn instances_get_distinct_names() {
        let a = ClientConfig::new("x:1");
        let b = ClientConfig::new("x:1");
        assert_ne!(a.client_id(), b.client_id());
        assert!(a.client_id().contains('@'));
    }
}
