//! Changing the broker's configuration while it runs (UPDATE_BROKER_CONFIG, `mqadmin
//! updateBrokerConfig`), and keeping those changes across restarts.
//!
//! Only the keys Petrel reads while it runs can change ([`RUNTIME_KEYS`]); the others (ports,
//! names, paths, the store's settings, the delay levels, ...) are read once at start. A request
//! that would change one of those is refused with a remark that names the key and says it
//! needs a restart; a request that sets one to the value it already has changes nothing and
//! succeeds. Unknown keys, and RocketMQ keys Petrel accepts in `broker.conf` without acting on
//! them, are refused too, so nothing is silently ignored (RocketMQ applies whatever field
//! matches and ignores the rest). A request is applied whole or not at all. RocketMQ's black
//! list (`brokerConfigPath`, `rocketmqHome`, `configBlackList`) is refused as RocketMQ refuses
//! it: NO_PERMISSION, "Can not update config in black list.".
//!
//! Applied changes are saved in `storePathRootDir/config/brokerUpdates.properties`, replaced
//! atomically, and read at the next start over `broker.conf` and under `--set` (see
//! [`BrokerConfig::load`]). RocketMQ instead rewrites the whole config file it was started
//! with; Petrel leaves the operator's `broker.conf` as written and says at start which keys the
//! saved changes set.

use std::path::{Path, PathBuf};

use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use petrel_protocol::remoting::body::DataVersion;

use super::keys::{IGNORED, SUPPORTED};
use super::properties::{self, PropertiesError};
use super::{BrokerConfig, ConfigError};

/// The file under `storePathRootDir/config` that keeps changes made at run time.
pub const UPDATES_FILE: &str = "brokerUpdates.properties";

/// Keys that take effect while the broker runs, each read where it is used:
/// `brokerPermission` (send and pull checks, and the registration it triggers),
/// `storeReplyMessageEnable` (request-reply), `defaultTopicQueueNums` (auto-created topics),
/// the pull keys (`longPollingEnable`, `shortPollingTimeMills`,
/// `maxTransferBytesOnMessageInMemory`, `maxTransferCountOnMessageInMemory`),
/// `enablePropertyFilter` (subscriptions parsed from then on), and the periods of the
/// registration and offset-flush tasks (from their next round).
pub const RUNTIME_KEYS: &[&str] = &[
    "brokerPermission",
    "storeReplyMessageEnable",
    "defaultTopicQueueNums",
    "longPollingEnable",
    "shortPollingTimeMills",
    "maxTransferBytesOnMessageInMemory",
    "maxTransferCountOnMessageInMemory",
    "enablePropertyFilter",
    "registerNameServerPeriod",
    "flushConsumerOffsetInterval",
    "slaveReadEnable",
];

/// Keys RocketMQ never lets a request change (`AdminBrokerProcessor.initConfigBlackList` and
/// the default `configBlackList`).
pub const BLACK_LIST: &[&str] = &["brokerConfigPath", "rocketmqHome", "configBlackList"];

/// Why an update was refused. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// RocketMQ's answer, word for word.
    #[error("Can not update config in black list.")]
    BlackListed,
    #[error("the update is not Java properties text: {0}")]
    Syntax(#[from] PropertiesError),
    #[error("unknown broker config key {0}; nothing was changed")]
    Unknown(String),
    #[error(
        "broker config key {key} is accepted in broker.conf but Petrel does not act on it \
         ({reason}); nothing was changed"
    )]
    NotActedOn { key: String, reason: &'static str },
    #[error(
        "broker config key {key} cannot change while the broker runs (Petrel reads it at \
         start): set it in broker.conf or with --set and restart the broker; nothing was changed"
    )]
    NeedsRestart { key: String },
    #[error("{0}; nothing was changed")]
    Invalid(#[from] ConfigError),
    #[error("cannot save the change to {}: {source}; nothing was changed", path.display())]
    Save {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The keys an update changes, with their new values in RocketMQ's text form.
pub type Changes = Vec<(String, String)>;

/// `current` with `props` applied, and the keys whose value changed; or why not.
pub fn updated(
    current: &BrokerConfig,
    props: &[(String, String)],
) -> Result<(BrokerConfig, Changes), UpdateError> {
    if props.iter().any(|(k, _)| BLACK_LIST.contains(&k.as_str())) {
        return Err(UpdateError::BlackListed);
    }
    for (key, _) in props {
        if let Some((_, reason)) = IGNORED.iter().find(|(name, _)| *name == key.as_str()) {
            return Err(UpdateError::NotActedOn {
                key: key.clone(),
                reason,
            });
        }
        if !SUPPORTED.iter().any(|spec| spec.name == key) {
            return Err(UpdateError::Unknown(key.clone()));
        }
    }
    let mut next = current.clone();
    next.apply_properties(props)?;
    validate_changed(&next, props)?;
    let mut changes = Changes::new();
    for spec in SUPPORTED {
        let (old, new) = ((spec.get)(current), (spec.get)(&next));
        if old == new {
            continue;
        }
        if !RUNTIME_KEYS.contains(&spec.name) {
            return Err(UpdateError::NeedsRestart {
                key: spec.name.to_string(),
            });
        }
        changes.push((spec.name.to_string(), new));
    }
    Ok((next, changes))
}

/// Validates `next` as far as the keys in `props` are concerned. A key the update does not
/// name that is already invalid (a start configuration built without validation, such as a
/// test broker's ephemeral `listenPort`) is set to its default in a copy, so that the checks
/// after it still run; only what the update touches can refuse it.
fn validate_changed(next: &BrokerConfig, props: &[(String, String)]) -> Result<(), ConfigError> {
    let defaults = BrokerConfig::new(&next.store_path_root_dir);
    let mut probe = next.clone();
    for _ in 0..=SUPPORTED.len() {
        let Err(e) = probe.validate() else {
            return Ok(());
        };
        let untouched = e
            .key()
            .filter(|key| !props.iter().any(|(k, _)| k == key))
            .and_then(|key| SUPPORTED.iter().find(|spec| spec.name == key));
        match untouched {
            Some(spec) => {
                // A default is always a valid value of its key.
                let _ = (spec.set)(&mut probe, &(spec.get)(&defaults));
            }
            None => return Err(e),
        }
    }
    probe.validate()
}

/// Where the changes made at run time are kept.
pub fn updates_path(store_path_root_dir: &Path) -> PathBuf {
    store_path_root_dir.join("config").join(UPDATES_FILE)
}

/// The changes saved by earlier runs (none if the file does not exist).
pub fn load_updates(store_path_root_dir: &Path) -> Result<Changes, ConfigError> {
    let path = updates_path(store_path_root_dir);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Changes::new()),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    properties::parse(&properties::decode(&bytes))
        .map_err(|source| ConfigError::Syntax { path, source })
}

/// Adds `changes` to the saved ones (a key changed again keeps its place) and replaces the
/// file atomically.
fn save_updates(
    store_path_root_dir: &Path,
    changes: &[(String, String)],
) -> Result<(), UpdateError> {
    let path = updates_path(store_path_root_dir);
    let mut saved = load_updates(store_path_root_dir).unwrap_or_default();
    for (key, value) in changes {
        match saved.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.clone(),
            None => saved.push((key.clone(), value.clone())),
        }
    }
    let mut text = String::from(
        "# Broker config changed at run time (UPDATE_BROKER_CONFIG). Petrel reads this file at\n\
         # start, over broker.conf and under --set; delete a line to go back to broker.conf.\n",
    );
    for (key, value) in &saved {
        text.push_str(&escape(key, true));
        text.push('=');
        text.push_str(&escape(value, false));
        text.push('\n');
    }
    let save = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        petrel_fs::write_atomically(&path, text.as_bytes())
    };
    save().map_err(|source| UpdateError::Save {
        path: path.clone(),
        source,
    })
}

/// Java properties escaping (`Properties.saveConvert`): backslashes, line breaks, tabs, form
/// feeds, and in keys the separators and comment marks; a value's leading blank.
fn escape(text: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            '=' | ':' | '#' | '!' if is_key => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The configuration as it is now: the start configuration with the changes made since.
/// Processors read the [`RUNTIME_KEYS`] from here; everything else is read from the start
/// configuration (`BrokerInner::config`), which never changes.
#[derive(Debug)]
pub struct LiveConfig {
    config: RwLock<BrokerConfig>,
    /// Counts applied updates (GET_BROKER_CONFIG's data version).
    version: RwLock<DataVersion>,
    /// One update at a time: compute, save, swap.
    updating: Mutex<()>,
}

impl LiveConfig {
    pub fn new(config: BrokerConfig, now_ms: i64) -> Self {
        Self {
            config: RwLock::new(config),
            version: RwLock::new(DataVersion {
                counter: 0,
                state_version: 0,
                timestamp: now_ms,
            }),
            updating: Mutex::new(()),
        }
    }

    /// The current configuration. Do not hold it across an `.await`.
    pub fn get(&self) -> RwLockReadGuard<'_, BrokerConfig> {
        self.config.read()
    }

    pub fn data_version(&self) -> DataVersion {
        *self.version.read()
    }

    /// Applies a Java properties `body` (what UPDATE_BROKER_CONFIG carries): saves the changed
    /// keys, then makes them current. Returns the changes (empty when nothing changed).
    pub fn update(&self, body: &[u8], now_ms: i64) -> Result<Changes, UpdateError> {
        let props = properties::parse(&properties::decode(body))?;
        let _one_at_a_time = self.updating.lock();
        let (next, changes) = updated(&self.config.read(), &props)?;
        if changes.is_empty() {
            return Ok(changes);
        }
        save_updates(&next.store_path_root_dir, &changes)?;
        *self.config.write() = next;
        let mut version = self.version.write();
        version.counter += 1;
        version.timestamp = now_ms;
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn runtime_keys_change_and_start_keys_need_a_restart() {
        let current = BrokerConfig::new("/tmp/petrel-update-test");
        let (next, changes) = updated(&current, &props(&[("longPollingEnable", "false")])).unwrap();
        assert!(!next.long_polling_enable);
        assert_eq!(changes, props(&[("longPollingEnable", "false")]));

        // The value it already has: nothing to do.
        let (_, changes) = updated(&current, &props(&[("fileReservedTime", "72")])).unwrap();
        assert!(changes.is_empty());

        let refused = updated(&current, &props(&[("fileReservedTime", "24")])).unwrap_err();
        assert!(matches!(&refused, UpdateError::NeedsRestart { key } if key == "fileReservedTime"));
        assert!(refused.to_string().contains("restart the broker"));
        // All or nothing: a runtime key beside a start key is not applied either.
        assert!(updated(
            &current,
            &props(&[("longPollingEnable", "false"), ("listenPort", "1234")])
        )
        .is_err());
    }

    #[test]
    fn unknown_ignored_invalid_and_black_listed_keys_are_refused() {
        let current = BrokerConfig::new("/tmp/petrel-update-test");
        assert!(matches!(
            updated(&current, &props(&[("noSuchKey", "1")])),
            Err(UpdateError::Unknown(k)) if k == "noSuchKey"
        ));
        assert!(matches!(
            updated(&current, &props(&[("sendMessageThreadPoolNums", "4")])),
            Err(UpdateError::NotActedOn { .. })
        ));
        let invalid = updated(&current, &props(&[("brokerPermission", "99")])).unwrap_err();
        assert!(
            invalid.to_string().contains("brokerPermission"),
            "{invalid}"
        );
        assert_eq!(
            updated(&current, &props(&[("brokerConfigPath", "/x")]))
                .unwrap_err()
                .to_string(),
            "Can not update config in black list."
        );
    }

    #[test]
    fn saved_changes_escape_as_java_properties() {
        assert_eq!(escape("a b=c", true), "a\\ b\\=c");
        assert_eq!(escape(" 1s 5s\\", false), "\\ 1s 5s\\\\");
        let text = format!("{}={}\n", escape("k:x", true), escape(" v\tw", false));
        assert_eq!(
            properties::parse(&text).unwrap(),
            props(&[("k:x", " v\tw")])
        );
    }
}
