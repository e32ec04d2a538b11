//! The SEND_BATCH_MESSAGE body decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use petrel_protocol::message::decode_batch;

fuzz_target!(|data: &[u8]| {
    for item in decode_batch(data) {
        if item.is_err() {
            break;
        }
    }
});
