//! Shared helpers for the store's integration tests: small segments, message builders.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;

use petrel_protocol::message::{MessageToStore, Properties, RecordView};
use petrel_store::{FlushDiskType, StoreConfig};

pub const BORN: &str = "10.1.2.3:50000";
pub const STORE: &str = "127.0.0.1:10911";

/// A config with tiny files so that tests cross segment boundaries quickly.
pub fn small_config(root: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(root);
    c.mapped_file_size_commit_log = 64 * 1024;
    c.mapped_file_size_consume_queue = 20 * 50;
    c.max_message_size_bytes = 16 * 1024;
    c.max_hash_slot_num = 64;
    c.max_index_num = 256;
    c.flush_interval_commit_log_ms = 20;
    c.flush_interval_consume_queue_ms = 50;
    c.clean_resource_interval_ms = 3_600_000;
    c.warm_mapped_file_enable = true;
    c
}

pub fn sync_config(root: &Path) -> StoreConfig {
    let mut c = small_config(root);
    c.flush_disk_type = FlushDiskType::SyncFlush;
    c
}

/// An owned message; `as_store()` borrows it as the store's input.
#[derive(Debug, Clone)]
pub struct Msg {
    pub topic: String,
    pub queue_id: i32,
    pub body: Vec<u8>,
    pub properties: String,
    pub sys_flag: i32,
}

impl Msg {
    pub fn new(topic: &str, queue_id: i32, body: impl Into<Vec<u8>>) -> Self {
        Self {
            topic: topic.into(),
            queue_id,
            body: body.into(),
            properties: String::new(),
            sys_flag: 0,
        }
    }

    pub fn with_props(mut self, pairs: &[(&str, &str)]) -> Self {
        let props: Properties = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.properties = props.encode();
        self
    }

    pub fn as_store(&self) -> MessageToStore<'_> {
        MessageToStore {
            topic: &self.topic,
            queue_id: self.queue_id,
            flag: 0,
            body: &self.body,
            properties: self.properties.as_bytes(),
            sys_flag: self.sys_flag,
            born_timestamp: 1_700_000_000_000,
            born_host: BORN.parse::<SocketAddr>().unwrap(),
            store_host: STORE.parse::<SocketAddr>().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }
}

/// Body text of a record.
pub fn body_of(record: &[u8]) -> Vec<u8> {
    RecordView::parse(record).unwrap().body().to_vec()
}
