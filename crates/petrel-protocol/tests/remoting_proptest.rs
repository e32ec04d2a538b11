//! Property tests of the frame codec: decoding never panics, and decode(encode(x)) == x in
//! both serialize types.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use bytes::{BufMut, Bytes, BytesMut};
use petrel_protocol::remoting::{
    binary_header, check, json_header, ExtFields, LanguageCode, RemotingCommand, SerializeType,
    DEFAULT_MAX_FRAME_BYTES,
};
use proptest::prelude::*;

fn known_language() -> impl Strategy<Value = LanguageCode> {
    (0u8..=13).prop_map(LanguageCode::from_code)
}

/// Commands that both header encodings can carry exactly.
fn command(serialize_type: SerializeType) -> impl Strategy<Value = RemotingCommand> {
    let binary = serialize_type == SerializeType::RocketMq;
    let int = move || {
        if binary {
            (i16::MIN as i32..=i16::MAX as i32).boxed()
        } else {
            any::<i32>().boxed()
        }
    };
    let (code, version) = (int(), int());
    let language = if binary {
        any::<u8>().prop_map(LanguageCode::from_code).boxed()
    } else {
        known_language().boxed()
    };
    // The binary header turns empty strings into absent ones (as Java's null), so only
    // non-empty values round-trip there.
    let min = usize::from(binary);
    let remark =
        proptest::option::of(proptest::string::string_regex(&format!(".{{{min},24}}")).unwrap());
    let ext = prop::collection::btree_map(
        proptest::string::string_regex(".{1,16}").unwrap(),
        proptest::string::string_regex(&format!(".{{{min},32}}")).unwrap(),
        0..8,
    );
    let body = prop::collection::vec(any::<u8>(), 0..64);
    (
        code,
        language,
        version,
        any::<i32>(),
        any::<i32>(),
        remark,
        ext,
        body,
    )
        .prop_map(
            move |(code, language, version, opaque, flag, remark, ext, body)| RemotingCommand {
                code,
                language,
                version,
                opaque,
                flag,
                remark,
                ext_fields: ExtFields::from(ext),
                serialize_type,
                body: Bytes::from(body),
            },
        )
}

fn any_command() -> impl Strategy<Value = RemotingCommand> {
    prop_oneof![
        command(SerializeType::Json),
        command(SerializeType::RocketMq)
    ]
}

/// A frame with a valid prefix around arbitrary header bytes, to reach the header decoders.
fn framed(serialize_type: u8, header: &[u8], body: &[u8]) -> Bytes {
    let mut f = BytesMut::new();
    f.put_i32((4 + header.len() + body.len()) as i32);
    f.put_u32((u32::from(serialize_type) << 24) | header.len() as u32);
    f.put_slice(header);
    f.put_slice(body);
    f.freeze()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_inverts_encode(cmd in any_command()) {
        let frame = cmd.to_bytes().unwrap();
        prop_assert_eq!(check(&frame, DEFAULT_MAX_FRAME_BYTES).unwrap(), Some(frame.len()));
        let decoded = RemotingCommand::decode(frame.clone()).unwrap();
        prop_assert_eq!(&decoded, &cmd);
        prop_assert_eq!(decoded.to_bytes().unwrap(), frame);
    }

    #[test]
    fn frames_split_anywhere_reassemble(cmds in prop::collection::vec(any_command(), 1..4), cut in any::<prop::sample::Index>()) {
        let mut wire = BytesMut::new();
        for cmd in &cmds {
            cmd.encode(&mut wire).unwrap();
        }
        let wire = wire.freeze();
        let cut = cut.index(wire.len() + 1);
        let mut buf = BytesMut::from(&wire[..cut]);
        let mut decoded = Vec::new();
        while let Some(cmd) = RemotingCommand::parse(&mut buf, DEFAULT_MAX_FRAME_BYTES).unwrap() {
            decoded.push(cmd);
        }
        buf.put_slice(&wire[cut..]);
        while let Some(cmd) = RemotingCommand::parse(&mut buf, DEFAULT_MAX_FRAME_BYTES).unwrap() {
            decoded.push(cmd);
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoded, cmds);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(Some(n)) = check(&bytes, DEFAULT_MAX_FRAME_BYTES) {
            let _ = RemotingCommand::decode(Bytes::copy_from_slice(&bytes[..n]));
        }
        let _ = RemotingCommand::decode(Bytes::from(bytes.clone()));
        let _ = json_header::decode(&bytes);
        let _ = binary_header::decode(&bytes);
    }

    #[test]
    fn arbitrary_headers_in_valid_frames_never_panic(
        serialize_type in 0u8..=1,
        header in prop::collection::vec(any::<u8>(), 0..256),
        body in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let _ = RemotingCommand::decode(framed(serialize_type, &header, &body));
    }

    #[test]
    fn mutated_frames_never_panic(cmd in any_command(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut frame = cmd.to_bytes().unwrap().to_vec();
        for (at, byte) in flips {
            let i = at.index(frame.len());
            frame[i] = byte;
        }
        if let Ok(Some(n)) = check(&frame, DEFAULT_MAX_FRAME_BYTES) {
            let _ = RemotingCommand::decode(Bytes::copy_from_slice(&frame[..n]));
        }
    }

    #[test]
    fn json_headers_with_numbers_in_ext_fields_decode(
        fields in prop::collection::btree_map("[a-zA-Z]{1,8}", any::<i64>(), 0..6),
        flag in any::<bool>(),
    ) {
        let ext: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        let header = format!(r#"{{"code":10,"extFields":{{{},"b":{flag}}},"language":"CPP"}}"#, ext.join(","))
            .replace("{,", "{");
        let cmd = json_header::decode(header.as_bytes()).unwrap();
        for (k, v) in &fields {
            if k != "b" {
                let expected = v.to_string();
                prop_assert_eq!(cmd.ext_fields.get(k), Some(expected.as_str()));
            }
        }
        let expected_flag = flag.to_string();
        prop_assert_eq!(cmd.ext_fields.get("b"), Some(expected_flag.as_str()));
    }
}
