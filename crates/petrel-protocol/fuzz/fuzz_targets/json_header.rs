//! The JSON header decoder on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use petrel_protocol::remoting::json_header;

fuzz_target!(|data: &[u8]| {
    let _ = json_header::decode(data);
});
