//! The message properties string parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use petrel_protocol::message::{Properties, PropertiesIter};

fuzz_target!(|data: &[u8]| {
    if let Ok(iter) = PropertiesIter::new(data) {
        for _ in iter {}
    }
    if let Ok(properties) = Properties::decode(data) {
        let _ =
            Properties::decode(properties.encode().as_bytes()).expect("encoded properties decode");
    }
});
