//! The ROCKETMQ binary header decoder on arbitrary bytes; what decodes must re-encode to a
//! header that decodes to the same command.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use petrel_protocol::remoting::binary_header;

fuzz_target!(|data: &[u8]| {
    let Ok(cmd) = binary_header::decode(data) else {
        return;
    };
    let mut out = BytesMut::new();
    binary_header::encode(&cmd, &mut out).expect("a decoded binary header re-encodes");
    assert_eq!(
        binary_header::decode(&out).expect("re-encoded header decodes"),
        cmd
    );
});
