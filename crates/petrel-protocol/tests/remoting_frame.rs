//! The remoting frame: known frames byte for byte, check-then-parse, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or tool: a panic is a failed run

use bytes::{BufMut, Bytes, BytesMut};
use petrel_protocol::remoting::header::QueryConsumerOffsetRequestHeader;
use petrel_protocol::remoting::{
    check, request_code, response_code, CommandHeader, FrameEncodeError, FrameError, LanguageCode,
    RemotingCommand, SerializeType, DEFAULT_MAX_FRAME_BYTES,
};

const JSON_HEADER: &str = r#"{"code":14,"extFields":{"consumerGroup":"g","queueId":"0","topic":"t"},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":401}"#;

/// QUERY_CONSUMER_OFFSET as a Java 4.9.4 client writes it, built from §1–2 by hand.
fn json_frame() -> Vec<u8> {
    let mut frame = vec![0, 0, 0, 0xa0]; // 4 + 156 header bytes, no body
    frame.extend_from_slice(&[0x00, 0x00, 0x00, 0x9c]); // JSON, header length 156
    frame.extend_from_slice(JSON_HEADER.as_bytes());
    frame
}

/// A SUCCESS response with header `offset=42` and body "ab" in the binary layout (§3).
fn binary_frame() -> Vec<u8> {
    let mut frame = vec![
        0x00, 0x00, 0x00, 0x29, // frame length 41 = 4 + 35 + 2
        0x01, 0x00, 0x00, 0x23, // ROCKETMQ, header length 35
        0x00, 0x00, // code SUCCESS
        0x00, // language JAVA
        0x01, 0x91, // version 401
        0x00, 0x00, 0x00, 0x07, // opaque 7
        0x00, 0x00, 0x00, 0x01, // flag: response
        0x00, 0x00, 0x00, 0x00, // no remark
        0x00, 0x00, 0x00, 0x0e, // extFields section, 14 bytes
        0x00, 0x06,
    ];
    frame.extend_from_slice(b"offset");
    frame.extend_from_slice(&[0x00, 0x00, 0x00, 0x02]);
    frame.extend_from_slice(b"42");
    frame.extend_from_slice(b"ab");
    frame
}

fn query_request() -> RemotingCommand {
    let header = QueryConsumerOffsetRequestHeader {
        consumer_group: "g".into(),
        topic: "t".into(),
        queue_id: 0,
        ..Default::default()
    };
    RemotingCommand {
        language: LanguageCode::Java,
        version: 401,
        opaque: 3,
        ..RemotingCommand::request(request_code::QUERY_CONSUMER_OFFSET)
    }
    .with_header(&header)
}

#[test]
fn decodes_a_hand_built_json_frame() {
    let frame = json_frame();
    assert_eq!(
        check(&frame, DEFAULT_MAX_FRAME_BYTES),
        Ok(Some(frame.len()))
    );
    let cmd = RemotingCommand::decode(Bytes::from(frame)).unwrap();
    assert_eq!(cmd, query_request());
    assert_eq!(cmd.code_name(), "QUERY_CONSUMER_OFFSET");
    let header: QueryConsumerOffsetRequestHeader = cmd.decode_header().unwrap();
    assert_eq!(header.topic, "t");
}

#[test]
fn encodes_the_same_json_frame_byte_for_byte() {
    assert_eq!(query_request().to_bytes().unwrap(), json_frame());
}

#[test]
fn binary_frame_round_trips_byte_for_byte() {
    let frame = binary_frame();
    let cmd = RemotingCommand::decode(Bytes::from(frame.clone())).unwrap();
    assert_eq!(cmd.serialize_type, SerializeType::RocketMq);
    assert!(cmd.is_response());
    assert_eq!(cmd.code, response_code::SUCCESS);
    assert_eq!((cmd.opaque, cmd.version), (7, 401));
    assert_eq!(cmd.ext_fields.get("offset"), Some("42"));
    assert_eq!(&cmd.body[..], b"ab");
    assert_eq!(cmd.to_bytes().unwrap(), frame);
}

#[test]
fn body_is_a_slice_of_the_frame_not_a_copy() {
    let frame = Bytes::from(binary_frame());
    let range = frame.as_ptr_range();
    let cmd = RemotingCommand::decode(frame.clone()).unwrap();
    assert!(range.contains(&cmd.body.as_ptr()));
}

#[test]
fn encode_header_leaves_room_for_a_separate_body() {
    let body = Bytes::from_static(b"a large mmap slice");
    let cmd = RemotingCommand::request(request_code::PULL_MESSAGE).with_body(body.clone());
    let mut head = BytesMut::new();
    cmd.encode_header(body.len(), &mut head).unwrap();
    head.put_slice(&body);
    assert_eq!(head.freeze(), cmd.to_bytes().unwrap());
}

#[test]
fn response_copies_opaque_and_serialize_type() {
    let mut request = RemotingCommand::request(request_code::HEART_BEAT)
        .with_opaque(99)
        .with_serialize_type(SerializeType::RocketMq);
    request.mark_oneway();
    assert!(request.is_oneway() && !request.is_response());
    let response = RemotingCommand::response_to(
        &request,
        response_code::SYSTEM_BUSY,
        Some("[REJECTREQUEST]system busy".into()),
    );
    assert_eq!(response.opaque, 99);
    assert_eq!(response.serialize_type, SerializeType::RocketMq);
    assert!(response.is_response() && !response.is_oneway());
    assert_eq!(response.code_name(), "SYSTEM_BUSY");
    let again = RemotingCommand::decode(response.to_bytes().unwrap()).unwrap();
    assert_eq!(again, response);
}

#[test]
fn check_waits_for_whole_frames() {
    let frame = binary_frame();
    for cut in 0..frame.len() {
        assert_eq!(
            check(&frame[..cut], DEFAULT_MAX_FRAME_BYTES),
            Ok(None),
            "cut {cut}"
        );
    }
    let mut two = frame.clone();
    two.extend_from_slice(&json_frame());
    assert_eq!(check(&two, DEFAULT_MAX_FRAME_BYTES), Ok(Some(frame.len())));
}

#[test]
fn parse_takes_frames_off_a_read_buffer() {
    let mut buf = BytesMut::new();
    buf.put_slice(&binary_frame());
    buf.put_slice(&json_frame()[..10]);
    let first = RemotingCommand::parse(&mut buf, DEFAULT_MAX_FRAME_BYTES).unwrap();
    assert_eq!(first.unwrap().opaque, 7);
    assert_eq!(
        RemotingCommand::parse(&mut buf, DEFAULT_MAX_FRAME_BYTES),
        Ok(None)
    );
    assert_eq!(buf.len(), 10);
    buf.put_slice(&json_frame()[10..]);
    let second = RemotingCommand::parse(&mut buf, DEFAULT_MAX_FRAME_BYTES).unwrap();
    assert_eq!(second.unwrap(), query_request());
    assert!(buf.is_empty());
}

#[test]
fn rejects_negative_and_oversized_frames_early() {
    assert_eq!(
        check(&(-1i32).to_be_bytes(), DEFAULT_MAX_FRAME_BYTES),
        Err(FrameError::NegativeLength(-1))
    );
    let oversized = (16 * 1024 * 1024i32 - 3).to_be_bytes();
    assert_eq!(
        check(&oversized, DEFAULT_MAX_FRAME_BYTES),
        Err(FrameError::TooLarge {
            frame_bytes: 16 * 1024 * 1024 + 1,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES
        })
    );
    // Exactly 16 MiB including the prefix is allowed (and incomplete).
    let largest = (16 * 1024 * 1024i32 - 4).to_be_bytes();
    assert_eq!(check(&largest, DEFAULT_MAX_FRAME_BYTES), Ok(None));
    assert_eq!(
        check(&[0, 0, 0, 3, 0, 0, 0], DEFAULT_MAX_FRAME_BYTES),
        Err(FrameError::TooShort(3))
    );
}

#[test]
fn rejects_header_length_past_the_frame_and_unknown_types() {
    // Frame of 4 + 2 bytes claiming a 3-byte header.
    let frame = [0, 0, 0, 6, 0, 0, 0, 3];
    assert_eq!(
        check(&frame, DEFAULT_MAX_FRAME_BYTES),
        Err(FrameError::HeaderTooLong {
            header_len: 3,
            available: 2
        })
    );
    let frame = [0, 0, 0, 4, 2, 0, 0, 0];
    assert_eq!(
        check(&frame, DEFAULT_MAX_FRAME_BYTES),
        Err(FrameError::UnknownSerializeType(2))
    );
    assert_eq!(
        RemotingCommand::decode(Bytes::copy_from_slice(&frame)),
        Err(FrameError::UnknownSerializeType(2))
    );
}

#[test]
fn decode_rejects_a_buffer_that_disagrees_with_its_prefix() {
    let mut frame = binary_frame();
    frame.push(0);
    assert_eq!(
        RemotingCommand::decode(Bytes::from(frame)),
        Err(FrameError::LengthMismatch {
            declared: 41,
            actual: 42
        })
    );
    assert!(matches!(
        RemotingCommand::decode(Bytes::from_static(&[0, 0, 0])),
        Err(FrameError::Truncated { .. })
    ));
}

#[test]
fn truncated_binary_header_is_a_typed_error() {
    // A frame whose 5-byte binary header stops inside `opaque`.
    let frame = [0, 0, 0, 9, 1, 0, 0, 5, 0, 34, 0, 1, 145];
    assert!(matches!(
        RemotingCommand::decode(Bytes::copy_from_slice(&frame)),
        Err(FrameError::Truncated {
            field: "opaque",
            ..
        })
    ));
}

#[test]
fn garbage_and_non_utf8_json_headers_are_typed_errors() {
    let frame = |header: &[u8]| {
        let mut f = Vec::new();
        f.put_i32(4 + header.len() as i32);
        f.put_u32(header.len() as u32);
        f.put_slice(header);
        Bytes::from(f)
    };
    assert!(matches!(
        RemotingCommand::decode(frame(b"{\"code\":")),
        Err(FrameError::Json(_))
    ));
    assert_eq!(
        RemotingCommand::decode(frame(b"{\"remark\":\"\xc3\x28\"}")),
        Err(FrameError::NotUtf8("JSON header"))
    );
    // An empty JSON header is not a header.
    assert!(matches!(
        RemotingCommand::decode(frame(b"")),
        Err(FrameError::Json(_))
    ));
}

#[test]
fn json_header_without_serialize_type_or_remark_decodes() {
    let header =
        br#"{"code":34,"language":"GO","opaque":1,"flag":0,"version":317,"extFields":null}"#;
    let mut f = Vec::new();
    f.put_i32(4 + header.len() as i32);
    f.put_u32(header.len() as u32);
    f.put_slice(header);
    let cmd = RemotingCommand::decode(Bytes::from(f)).unwrap();
    assert_eq!(cmd.language, LanguageCode::Go);
    assert_eq!(cmd.version, 317);
    assert_eq!(cmd.remark, None);
    assert!(cmd.ext_fields.is_empty());
}

#[test]
fn binary_encoding_refuses_codes_wider_than_int16_and_leaves_nothing_behind() {
    let cmd = RemotingCommand::request(request_code::POP_MESSAGE)
        .with_serialize_type(SerializeType::RocketMq);
    let mut dst = BytesMut::from(&b"earlier frame"[..]);
    assert_eq!(
        cmd.encode(&mut dst),
        Err(FrameEncodeError::CodeOutOfRange(200_050))
    );
    assert_eq!(&dst[..], b"earlier frame");
    // JSON carries the code as a number and has no such limit.
    let json = cmd.with_serialize_type(SerializeType::Json);
    assert_eq!(
        RemotingCommand::decode(json.to_bytes().unwrap())
            .unwrap()
            .code,
        200_050
    );
}

#[test]
fn typed_header_round_trips_through_a_frame_in_both_types() {
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let cmd = query_request().with_serialize_type(serialize_type);
        let decoded = RemotingCommand::decode(cmd.to_bytes().unwrap()).unwrap();
        let header = QueryConsumerOffsetRequestHeader::decode(&decoded.ext_fields).unwrap();
        assert_eq!(header.consumer_group, "g");
        assert_eq!(decoded, cmd);
    }
}
