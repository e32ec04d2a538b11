//! The stored-record reader (CommitLog record / pull body element).
#![no_main]

use libfuzzer_sys::fuzz_target;
use petrel_protocol::message::{peek_record, RecordView};

fuzz_target!(|data: &[u8]| {
    let _ = peek_record(data);
    if let Ok(record) = RecordView::parse(data) {
        let _ = (record.topic(), record.body(), record.properties());
        let _ = (
            record.born_host(),
            record.store_host(),
            record.body_crc_matches(),
        );
    }
});
