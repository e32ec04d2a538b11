//! Name server configuration: the settings fixed at start ([`NamesrvConfig`]) and the subset
//! `UPDATE_NAMESRV_CONFIG` may change while running ([`RuntimeSettings`]), with their Java
//! property names (RocketMQ's `NamesrvConfig` and `NettyServerConfig`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use petrel_remoting::RemotingConfig;

use crate::route_info::RouteSettings;

/// RocketMQ's name server port.
pub const DEFAULT_LISTEN_PORT: u16 = 9876;
/// A broker not heard from for this long is removed (Java's `BROKER_CHANNEL_EXPIRED_TIME`,
/// 2 minutes; brokers register every 30 s).
pub const DEFAULT_BROKER_CHANNEL_EXPIRED_MS: u64 = 120_000;
/// How often silent brokers are looked for (`scanNotActiveBrokerInterval`).
pub const DEFAULT_SCAN_NOT_ACTIVE_BROKER_INTERVAL_MS: u64 = 5_000;

/// Everything the name server needs to start.
#[derive(Debug, Clone)]
pub struct NamesrvConfig {
    /// Where to listen (`bindAddress`:`listenPort`, default `0.0.0.0:9876`).
    pub listen_addr: SocketAddr,
    /// Default expiry of a silent broker, for brokers that do not send their own
    /// `heartbeatTimeoutMillis`. Changeable at run time.
    pub broker_channel_expired_ms: u64,
    /// Period of the expiry scan (`scanNotActiveBrokerInterval`).
    pub scan_not_active_broker_interval_ms: u64,
    /// Where the KV config is persisted (RocketMQ's `kvConfigPath`, usually
    /// `~/namesrv/kvConfig.json`). `None` keeps it in memory only.
    pub kv_config_path: Option<PathBuf>,
    /// `orderMessageEnable` (false): put the topic's `ORDER_TOPIC_CONFIG` KV entry into its
    /// route as `orderTopicConf`.
    pub order_message_enable: bool,
    /// `returnOrderTopicConfigToBroker` (true): answer registrations with the
    /// `ORDER_TOPIC_CONFIG` namespace.
    pub return_order_topic_config_to_broker: bool,
    /// `enableAllTopicList` (true): serve `GET_ALL_TOPIC_LIST_FROM_NAMESERVER`.
    pub enable_all_topic_list: bool,
    /// `enableTopicList` (true): serve `GET_TOPICS_BY_CLUSTER` and the unit topic lists.
    pub enable_topic_list: bool,
    /// `deleteTopicWithBrokerRegistration` (false); see [`RouteSettings`].
    pub delete_topic_with_broker_registration: bool,
    /// `supportActingMaster` (false); see [`RouteSettings`].
    pub support_acting_master: bool,
    /// Transport limits.
    pub remoting: RemotingConfig,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        NamesrvConfig {
            listen_addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, DEFAULT_LISTEN_PORT)),
            broker_channel_expired_ms: DEFAULT_BROKER_CHANNEL_EXPIRED_MS,
            scan_not_active_broker_interval_ms: DEFAULT_SCAN_NOT_ACTIVE_BROKER_INTERVAL_MS,
            kv_config_path: None,
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            enable_all_topic_list: true,
            enable_topic_list: true,
            delete_topic_with_broker_registration: false,
            support_acting_master: false,
            remoting: RemotingConfig::default(),
        }
    }
}

/// Why a [`NamesrvConfig`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("scan_not_active_broker_interval_ms must be at least 1")]
    ZeroScanInterval,
    #[error("broker_channel_expired_ms must be at least 1")]
    ZeroBrokerChannelExpiry,
}

impl NamesrvConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let NamesrvConfig {
            listen_addr: _,
            broker_channel_expired_ms,
            scan_not_active_broker_interval_ms,
            kv_config_path: _,
            order_message_enable: _,
            return_order_topic_config_to_broker: _,
            enable_all_topic_list: _,
            enable_topic_list: _,
            delete_topic_with_broker_registration: _,
            support_acting_master: _,
            remoting: _,
        } = self;
        if *scan_not_active_broker_interval_ms == 0 {
            return Err(ConfigError::ZeroScanInterval);
        }
        if *broker_channel_expired_ms == 0 {
            return Err(ConfigError::ZeroBrokerChannelExpiry);
        }
        Ok(())
    }

    /// The settings that start out as configured and may then change at run time.
    pub fn runtime_settings(&self) -> RuntimeSettings {
        RuntimeSettings {
            order_message_enable: self.order_message_enable,
            return_order_topic_config_to_broker: self.return_order_topic_config_to_broker,
            enable_all_topic_list: self.enable_all_topic_list,
            enable_topic_list: self.enable_topic_list,
            broker_channel_expired_ms: self.broker_channel_expired_ms,
            route: RouteSettings {
                delete_topic_with_broker_registration: self.delete_topic_with_broker_registration,
                support_acting_master: self.support_acting_master,
            },
        }
    }
}

/// The settings `UPDATE_NAMESRV_CONFIG` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeSettings {
    pub order_message_enable: bool,
    pub return_order_topic_config_to_broker: bool,
    pub enable_all_topic_list: bool,
    pub enable_topic_list: bool,
    pub broker_channel_expired_ms: u64,
    pub route: RouteSettings,
}

/// Properties no request may change (Java's `configBlackList` default plus the ones it
/// always adds).
pub const CONFIG_BLACK_LIST: &[&str] = &[
    "configBlackList",
    "configStorePath",
    "kvConfigPath",
    "rocketmqHome",
];

/// Known properties that only take effect at start.
const FIXED_AT_START: &[&str] = &["bindAddress", "listenPort", "scanNotActiveBrokerInterval"];

/// Why an `UPDATE_NAMESRV_CONFIG` was refused. Nothing is applied when any property is bad.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    /// Java's answer (NO_PERMISSION) for a black-listed property.
    #[error("Can not update config in black list.")]
    BlackListed(String),
    #[error("{0} cannot be changed while the name server runs")]
    FixedAtStart(String),
    #[error("{key}={value:?} is not {expected}")]
    Invalid {
        key: String,
        value: String,
        expected: &'static str,
    },
}

impl RuntimeSettings {
    /// Applies `properties` (name, value), all or nothing. Unknown names are ignored, as Java
    /// ignores them; they are returned so the caller can log them.
    pub fn apply_properties(
        &mut self,
        properties: &[(String, String)],
    ) -> Result<Vec<String>, PropertyError> {
        let mut next = *self;
        let mut ignored = Vec::new();
        for (key, value) in properties {
            if CONFIG_BLACK_LIST.contains(&key.as_str()) {
                return Err(PropertyError::BlackListed(key.clone()));
            }
            if FIXED_AT_START.contains(&key.as_str()) {
                return Err(PropertyError::FixedAtStart(key.clone()));
            }
            let flag = || parse_bool_property(key, value);
            match key.as_str() {
                "orderMessageEnable" => next.order_message_enable = flag()?,
                "returnOrderTopicConfigToBroker" => {
                    next.return_order_topic_config_to_broker = flag()?
                }
                "enableAllTopicList" => next.enable_all_topic_list = flag()?,
                "enableTopicList" => next.enable_topic_list = flag()?,
                "deleteTopicWithBrokerRegistration" => {
                    next.route.delete_topic_with_broker_registration = flag()?
                }
                "supportActingMaster" => next.route.support_acting_master = flag()?,
                "brokerChannelExpiredMillis" => {
                    next.broker_channel_expired_ms = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|ms| *ms > 0)
                        .ok_or_else(|| PropertyError::Invalid {
                            key: key.clone(),
                            value: value.clone(),
                            expected: "a positive number of milliseconds",
                        })?
                }
                _ => ignored.push(key.clone()),
            }
        }
        *self = next;
        Ok(ignored)
    }
}

fn parse_bool_property(key: &str, value: &str) -> Result<bool, PropertyError> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(PropertyError::Invalid {
            key: key.to_owned(),
            value: value.to_owned(),
            expected: "true or false",
        }),
    }
}

/// `GET_NAMESRV_CONFIG`'s body: `key=value` lines sorted by key, as Java's
/// `MixAll.properties2String(.., true)` writes them. `listen_addr` is the bound address
/// (the configured port may be 0). `brokerChannelExpiredMillis` is Petrel's (Java hard-codes
/// the expiry).
pub fn properties_text(
    config: &NamesrvConfig,
    settings: &RuntimeSettings,
    listen_addr: SocketAddr,
) -> String {
    let mut properties: Vec<(&str, String)> = vec![
        ("bindAddress", listen_addr.ip().to_string()),
        (
            "brokerChannelExpiredMillis",
            settings.broker_channel_expired_ms.to_string(),
        ),
        (
            "deleteTopicWithBrokerRegistration",
            settings
                .route
                .delete_topic_with_broker_registration
                .to_string(),
        ),
        (
            "enableAllTopicList",
            settings.enable_all_topic_list.to_string(),
        ),
        ("enableTopicList", settings.enable_topic_list.to_string()),
        ("listenPort", listen_addr.port().to_string()),
        (
            "orderMessageEnable",
            settings.order_message_enable.to_string(),
        ),
        (
            "returnOrderTopicConfigToBroker",
            settings.return_order_topic_config_to_broker.to_string(),
        ),
        (
            "scanNotActiveBrokerInterval",
            config.scan_not_active_broker_interval_ms.to_string(),
        ),
        (
            "supportActingMaster",
            settings.route.support_acting_master.to_string(),
        ),
    ];
    if let Some(path) = &config.kv_config_path {
        properties.push(("kvConfigPath", path.display().to_string()));
    }
    properties.sort();
    properties
        .into_iter()
        .map(|(key, value)| format!("{key}={value}\n"))
        .collect()
}

/// Reads Java properties text: one `key=value` (or `key:value`) per line; blank lines and
/// lines starting with `#` or `!` are skipped; whitespace around keys and before values is
/// dropped. Backslash escapes and continuation lines are not interpreted (no name server
/// property needs them). A line without a separator is a key with an empty value, as in Java.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('!'))
        .map(|line| match line.find(['=', ':']) {
            Some(at) => (
                line[..at].trim().to_owned(),
                line[at + 1..].trim_start().to_owned(),
            ),
            None => (line.to_owned(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(text: &str) -> Vec<(String, String)> {
        parse_properties(text)
    }

    #[test]
    fn defaults_match_rocketmq() {
        let config = NamesrvConfig::default();
        assert_eq!(config.listen_addr.to_string(), "0.0.0.0:9876");
        assert_eq!(config.broker_channel_expired_ms, 120_000);
        assert_eq!(config.scan_not_active_broker_interval_ms, 5_000);
        assert!(!config.order_message_enable);
        assert!(config.return_order_topic_config_to_broker);
        assert!(!config.delete_topic_with_broker_registration);
        assert_eq!(config.validate(), Ok(()));
        let zero = NamesrvConfig {
            scan_not_active_broker_interval_ms: 0,
            ..NamesrvConfig::default()
        };
        assert_eq!(zero.validate(), Err(ConfigError::ZeroScanInterval));
    }

    #[test]
    fn parses_java_properties_text() {
        assert_eq!(
            props("# comment\n! also\n a = 1 \nb:2\n\nc\nd=x=y\n"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".into(), "2".into()),
                ("c".into(), "".into()),
                ("d".into(), "x=y".into()),
            ]
        );
    }

    #[test]
    fn applies_known_properties_all_or_nothing() {
        let mut settings = NamesrvConfig::default().runtime_settings();
        let ignored = settings
            .apply_properties(&props(
                "orderMessageEnable=TRUE\nbrokerChannelExpiredMillis=500\nnoSuchThing=1",
            ))
            .unwrap();
        assert_eq!(ignored, vec!["noSuchThing".to_string()]);
        assert!(settings.order_message_enable);
        assert_eq!(settings.broker_channel_expired_ms, 500);

        let before = settings;
        assert_eq!(
            settings.apply_properties(&props("enableTopicList=false\norderMessageEnable=yes")),
            Err(PropertyError::Invalid {
                key: "orderMessageEnable".into(),
                value: "yes".into(),
                expected: "true or false"
            })
        );
        assert_eq!(settings, before);
        assert_eq!(
            settings.apply_properties(&props("kvConfigPath=/tmp/x")),
            Err(PropertyError::BlackListed("kvConfigPath".into()))
        );
        assert_eq!(
            settings.apply_properties(&props("listenPort=1")),
            Err(PropertyError::FixedAtStart("listenPort".into()))
        );
    }

    #[test]
    fn renders_sorted_properties() {
        let config = NamesrvConfig::default();
        let text = properties_text(
            &config,
            &config.runtime_settings(),
            "127.0.0.1:9876".parse().unwrap(),
        );
        assert_eq!(
            text,
            "bindAddress=127.0.0.1\n\
             brokerChannelExpiredMillis=120000\n\
             deleteTopicWithBrokerRegistration=false\n\
             enableAllTopicList=true\n\
             enableTopicList=true\n\
             listenPort=9876\n\
             orderMessageEnable=false\n\
             returnOrderTopicConfigToBroker=true\n\
             scanNotActiveBrokerInterval=5000\n\
             supportActingMaster=false\n"
        );
    }
}
