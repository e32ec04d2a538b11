//! Inputs the fuzz targets (`crates/petrel-store/fuzz`) found, kept as tests of the store's
//! public API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

mod common;

use common::*;
use petrel_protocol::message::RecordView;
use petrel_store::{AcceptAll, MessageStore};

/// store_recovery crash-ab59867e: one byte of a ConsumeQueue entry's size field changed while
/// the store was stopped (clean shutdown, so recovery re-checks nothing) made `get_message`
/// return 8,460 bytes for a 780-byte record: the record followed by the next records' bytes,
/// which a client decodes as more messages. The entry's size is trusted as it is read.
/// The read path now trusts an entry only as far as the CommitLog confirms it.
#[test]
fn a_damaged_consume_queue_entry_never_yields_bytes_that_are_not_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = MessageStore::open(small_config(&root)).unwrap();
    for i in 0..100 {
        store
            .append(&[Msg::new("Orders", 0, vec![i as u8; 100]).as_store()])
            .unwrap();
    }
    store.shutdown().unwrap();
    drop(store);
    // Entry 0's size field (bytes 8..12 of the first 20-byte entry), one byte changed.
    let cq = root.join("consumequeue/Orders/0/00000000000000000000");
    let mut bytes = std::fs::read(&cq).unwrap();
    bytes[10] = 0x21;
    std::fs::write(&cq, bytes).unwrap();

    let store = MessageStore::open(small_config(&root)).unwrap();
    let got = store.get_message("Orders", 0, 0, 100, usize::MAX, &AcceptAll);
    assert_eq!(
        got.messages.len(),
        100,
        "the damaged entry's record is still served"
    );
    for record in &got.messages {
        let view = RecordView::parse(record).expect("only whole records are returned");
        assert_eq!(view.body().len(), 100);
        let total_size = i32::from_be_bytes(record[..4].try_into().unwrap());
        assert_eq!(
            record.len(),
            total_size as usize,
            "one record, nothing after it"
        );
    }
}
