//! Frame check-then-decode on arbitrary bytes; a decoded frame must re-encode and decode to
//! the same command.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use petrel_protocol::remoting::{check, RemotingCommand, DEFAULT_MAX_FRAME_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(Some(n)) = check(data, DEFAULT_MAX_FRAME_BYTES) else {
        return;
    };
    let Ok(cmd) = RemotingCommand::decode(Bytes::copy_from_slice(&data[..n])) else {
        return;
    };
    // Decoded commands may not re-encode (e.g. an unknown language byte in JSON is written
    // as OTHER), but when they do, the result must decode to the same command.
    if let Ok(frame) = cmd.to_bytes() {
        let again = RemotingCommand::decode(frame).expect("re-encoded frame decodes");
        if cmd.language.code() <= 13 {
            assert_eq!(again, cmd);
        }
    }
});
