//! How each consumer group reads each topic, PULL or POP (RocketMQ's
//! `MessageRequestModeManager`, set with `mqadmin setConsumeMode`), kept in
//! `config/messageRequestMode.json` in RocketMQ's format.

use std::collections::BTreeMap;
use std::path::Path;

use parking_lot::RwLock;
use petrel_protocol::remoting::body::SetMessageRequestModeRequestBody;
use serde::{Deserialize, Serialize};

use crate::config_file::{ConfigFile, ConfigFileError};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ModesFile {
    /// topic → group → mode.
    message_request_mode_map: BTreeMap<String, BTreeMap<String, SetMessageRequestModeRequestBody>>,
}

pub struct MessageRequestModeManager {
    file: ConfigFile,
    modes: RwLock<BTreeMap<String, BTreeMap<String, SetMessageRequestModeRequestBody>>>,
}

impl MessageRequestModeManager {
    pub fn load(config_dir: &Path) -> Result<Self, ConfigFileError> {
        let file = ConfigFile::new(config_dir, "messageRequestMode.json");
        let loaded: ModesFile = file.load()?.unwrap_or_default();
        Ok(Self {
            file,
            modes: RwLock::new(loaded.message_request_mode_map),
        })
    }

    pub fn get(&self, topic: &str, group: &str) -> Option<SetMessageRequestModeRequestBody> {
        self.modes.read().get(topic)?.get(group).cloned()
    }

    /// Sets a mode and saves the file at once (an admin action, rare).
    pub fn set(&self, mode: SetMessageRequestModeRequestBody) -> std::io::Result<()> {
        let snapshot = {
            let mut modes = self.modes.write();
            modes
                .entry(mode.topic.clone())
                .or_default()
                .insert(mode.consumer_group.clone(), mode);
            modes.clone()
        };
        self.file.save(&ModesFile {
            message_request_mode_map: snapshot,
        })
    }

    /// Every mode, as GET_ALL_MESSAGE_REQUEST_MODE answers.
    pub fn all(&self) -> BTreeMap<String, BTreeMap<String, SetMessageRequestModeRequestBody>> {
        self.modes.read().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::remoting::body::MessageRequestMode;

    #[test]
    fn modes_are_saved_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let m = MessageRequestModeManager::load(dir.path()).unwrap();
        assert!(m.get("T", "G").is_none());
        m.set(SetMessageRequestModeRequestBody {
            topic: "T".into(),
            consumer_group: "G".into(),
            mode: MessageRequestMode::Pop,
            pop_share_queue_num: 0,
        })
        .unwrap();
        let again = MessageRequestModeManager::load(dir.path()).unwrap();
        assert_eq!(again.get("T", "G").unwrap().mode, MessageRequestMode::Pop);
    }
}
