//! An owned message, for the broker's own re-puts: delayed messages reaching their topic, retries
//! sent back by consumers, dead letters, committed transactions; and [`PropertyEdit`], the one
//! way the broker changes a message's properties on its way (the send path's
//! `processor::destination` decides the edits, the features and processors apply them).

use std::net::SocketAddr;

use bytes::Bytes;
use petrel_protocol::message::{DecodeError, MessageToStore, Properties, RecordView};
use petrel_store::{MessageStore, PutResult, StoreError};

/// One change to a message's properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyEdit {
    Set(&'static str, String),
    Remove(&'static str),
}

/// Applies `edits` in order.
pub fn apply(props: &mut Properties, edits: &[PropertyEdit]) {
    for edit in edits {
        match edit {
            PropertyEdit::Set(name, value) => props.insert(*name, value.clone()),
            PropertyEdit::Remove(name) => {
                props.remove(name);
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct OwnedMessage {
    pub topic: String,
    pub queue_id: i32,
    pub flag: i32,
    pub body: Bytes,
    pub properties: Properties,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
}

impl OwnedMessage {
    /// Copies a stored record (its body is sliced, not copied, from `record`).
    pub fn from_record(record: &Bytes) -> Result<Self, DecodeError> {
        let view = RecordView::parse(record)?;
        let body_start = view.body().as_ptr() as usize - record.as_ptr() as usize;
        Ok(Self {
            topic: view.topic().to_string(),
            queue_id: view.queue_id(),
            flag: view.flag(),
            body: record.slice(body_start..body_start + view.body().len()),
            properties: Properties::decode(view.properties())?,
            sys_flag: view.sys_flag(),
            born_timestamp: view.born_timestamp(),
            born_host: view.born_host(),
            reconsume_times: view.reconsume_times(),
            prepared_transaction_offset: view.prepared_transaction_offset(),
        })
    }

    /// Stores the message (waiting for durability under SYNC_FLUSH).
    pub async fn put(
        &self,
        store: &MessageStore,
        store_host: SocketAddr,
    ) -> Result<PutResult, StoreError> {
        let properties = self.properties.encode();
        let msg = MessageToStore {
            topic: &self.topic,
            queue_id: self.queue_id,
            flag: self.flag,
            body: &self.body,
            properties: properties.as_bytes(),
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
        };
        store.put_messages(&[msg], true).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_and_replace_in_place() {
        let mut props: Properties = [("TAGS", "a"), ("DELAY", "3"), ("KEYS", "k")]
            .into_iter()
            .collect();
        apply(
            &mut props,
            &[
                PropertyEdit::Set("TAGS", "b".into()),
                PropertyEdit::Remove("DELAY"),
                PropertyEdit::Set("REAL_TOPIC", "t".into()),
                PropertyEdit::Remove("ABSENT"),
            ],
        );
        assert_eq!(
            props.encode(),
            "TAGS\u{1}b\u{2}KEYS\u{1}k\u{2}REAL_TOPIC\u{1}t\u{2}"
        );
    }
}
