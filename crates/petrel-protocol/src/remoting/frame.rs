//! The remoting frame and the command it carries (`RemotingCommand.java`, §1–2).
//!
//! ```text
//! +--------------+-------------------------------+--------------+------------+
//! | frame length | serialize type | header len   | header bytes | body       |
//! | int32        | 1 byte         | 3 bytes      | header len   | the rest   |
//! +--------------+-------------------------------+--------------+------------+
//! ```
//!
//! The frame length counts everything after itself. Reading is check-then-parse, as in
//! mini-redis: [`check`] looks at a buffer without allocating and says whether a whole frame is
//! there; [`RemotingCommand::decode`] then builds the command, with a body that shares the
//! frame's memory. Writing goes into a caller's `BytesMut`; [`RemotingCommand::encode_header`]
//! writes everything but the body, so a transport can send a large body (an mmap slice) as a
//! separate buffer without copying it.

use bytes::{BufMut, Bytes, BytesMut};

use super::codes::{code_name, LanguageCode, SerializeType};
use super::error::{FrameEncodeError, FrameError};
use super::ext_fields::ExtFields;
use super::header::{CommandHeader, HeaderError};
use super::{binary_header, json_header};

/// Largest frame accepted by default, length prefix included: RocketMQ's `frameMaxLength`
/// (16 MiB), which leaves room for a 4 MiB message or a batch plus its header.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Size of the frame-length prefix.
pub const LENGTH_PREFIX_BYTES: usize = 4;

/// Size of the prefix plus the serialize-type/header-length int32: the smallest frame.
pub const MIN_FRAME_BYTES: usize = 8;

/// The header length is 24 bits wide.
pub const MAX_HEADER_BYTES: usize = 0x00FF_FFFF;

/// Flag bit 0: this command is a response.
pub const RESPONSE_FLAG: i32 = 1;

/// Flag bit 1: this request is oneway; no response will be sent.
pub const ONEWAY_FLAG: i32 = 1 << 1;

/// The language Petrel announces in commands it creates. `JAVA`, not `RUST`: the value is
/// informational, Java brokers send `JAVA`, and `RUST` only exists in peers from 4.9.4 on
/// (older ones decode it as null).
pub const CURRENT_LANGUAGE: LanguageCode = LanguageCode::Java;

/// The version Petrel announces in commands it creates: the ordinal of RocketMQ's
/// `MQVersion.Version.V5_3_3`, the release whose protocol this crate follows.
pub const CURRENT_VERSION: i32 = 479;

/// One request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// Request code for requests ([`super::request_code`]), response code for responses.
    pub code: i32,
    pub language: LanguageCode,
    /// Sender's `MQVersion` ordinal; some behaviour is gated on it (§2.1).
    pub version: i32,
    /// Request id; a response carries its request's.
    pub opaque: i32,
    /// Bit 0 = response, bit 1 = oneway.
    pub flag: i32,
    pub remark: Option<String>,
    /// The custom header, flattened to strings.
    pub ext_fields: ExtFields,
    /// How this command's header was (or will be) encoded.
    pub serialize_type: SerializeType,
    pub body: Bytes,
}

impl Default for RemotingCommand {
    fn default() -> Self {
        RemotingCommand {
            code: 0,
            language: CURRENT_LANGUAGE,
            version: CURRENT_VERSION,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            serialize_type: SerializeType::Json,
            body: Bytes::new(),
        }
    }
}

/// Reads the frame length and header word of `buf`, if that much has arrived.
fn read_prefix(buf: &[u8]) -> Option<(i32, Option<u32>)> {
    let length = i32::from_be_bytes(buf.get(0..4)?.try_into().ok()?);
    let word = buf
        .get(4..8)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes);
    Some((length, word))
}

/// Validates the frame length and, when present, the header word. Returns the total frame
/// size (prefix included).
fn validate_prefix(
    length: i32,
    word: Option<u32>,
    max_frame_bytes: usize,
) -> Result<usize, FrameError> {
    let length = usize::try_from(length).map_err(|_| FrameError::NegativeLength(length))?;
    let frame_bytes = LENGTH_PREFIX_BYTES + length;
    if frame_bytes > max_frame_bytes {
        return Err(FrameError::TooLarge {
            frame_bytes,
            max_frame_bytes,
        });
    }
    if length < 4 {
        return Err(FrameError::TooShort(length));
    }
    if let Some(word) = word {
        let type_byte = (word >> 24) as u8;
        if SerializeType::from_code(type_byte).is_none() {
            return Err(FrameError::UnknownSerializeType(type_byte));
        }
        let header_len = (word & 0x00FF_FFFF) as usize;
        if header_len > length - 4 {
            return Err(FrameError::HeaderTooLong {
                header_len,
                available: length - 4,
            });
        }
    }
    Ok(frame_bytes)
}

/// Whether `buf` starts with a whole frame: `Ok(Some(n))` with the frame's size in bytes
/// (length prefix included), `Ok(None)` when more bytes are needed, or an error as soon as the
/// first 4 or 8 bytes show the frame is bad (negative, larger than `max_frame_bytes`, a header
/// length past the frame's end, an unknown serialize type). Never allocates.
pub fn check(buf: &[u8], max_frame_bytes: usize) -> Result<Option<usize>, FrameError> {
    let Some((length, word)) = read_prefix(buf) else {
        return Ok(None);
    };
    let frame_bytes = validate_prefix(length, word, max_frame_bytes)?;
    if buf.len() < frame_bytes {
        return Ok(None);
    }
    Ok(Some(frame_bytes))
}

impl RemotingCommand {
    /// A request with `code`, stamped with [`CURRENT_LANGUAGE`] and [`CURRENT_VERSION`]. Set `opaque` before
    /// sending; the transport owns the request-id counter.
    pub fn request(code: i32) -> RemotingCommand {
        RemotingCommand {
            code,
            ..RemotingCommand::default()
        }
    }

    /// The response to `request`: same opaque and serialize type, response bit set.
    pub fn response_to(
        request: &RemotingCommand,
        code: i32,
        remark: Option<String>,
    ) -> RemotingCommand {
        RemotingCommand {
            code,
            opaque: request.opaque,
            flag: RESPONSE_FLAG,
            remark,
            serialize_type: request.serialize_type,
            ..RemotingCommand::default()
        }
    }

    /// Adds `header`'s fields to `ext_fields`.
    pub fn with_header(mut self, header: &impl CommandHeader) -> RemotingCommand {
        header.encode(&mut self.ext_fields);
        self
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> RemotingCommand {
        self.body = body.into();
        self
    }

    pub fn with_remark(mut self, remark: impl Into<String>) -> RemotingCommand {
        self.remark = Some(remark.into());
        self
    }

    pub fn with_opaque(mut self, opaque: i32) -> RemotingCommand {
        self.opaque = opaque;
        self
    }

    pub fn with_serialize_type(mut self, serialize_type: SerializeType) -> RemotingCommand {
        self.serialize_type = serialize_type;
        self
    }

    /// Reads the typed custom header from `ext_fields`.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, HeaderError> {
        H::decode(&self.ext_fields)
    }

    pub fn is_response(&self) -> bool {
        self.flag & RESPONSE_FLAG != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & ONEWAY_FLAG != 0
    }

    pub fn mark_response(&mut self) {
        self.flag |= RESPONSE_FLAG;
    }

    pub fn mark_oneway(&mut self) {
        self.flag |= ONEWAY_FLAG;
    }

    /// RocketMQ's name for this command's code, for logs.
    pub fn code_name(&self) -> &'static str {
        code_name(self.code, self.is_response())
    }

    /// Decodes one whole frame, length prefix included (the bytes [`check`] measured). The
    /// body is a slice of `frame`, not a copy.
    pub fn decode(frame: Bytes) -> Result<RemotingCommand, FrameError> {
        let Some((length, Some(word))) = read_prefix(&frame) else {
            return Err(FrameError::Truncated {
                field: "frame prefix",
                at: 0,
                needed: MIN_FRAME_BYTES,
                available: frame.len(),
            });
        };
        let frame_bytes = validate_prefix(length, Some(word), usize::MAX)?;
        if frame_bytes != frame.len() {
            return Err(FrameError::LengthMismatch {
                declared: frame_bytes - LENGTH_PREFIX_BYTES,
                actual: frame.len() - LENGTH_PREFIX_BYTES,
            });
        }
        let header_len = (word & 0x00FF_FFFF) as usize;
        // validate_prefix rejected unknown types.
        let serialize_type =
            SerializeType::from_code((word >> 24) as u8).unwrap_or(SerializeType::Json);
        let header_end = MIN_FRAME_BYTES + header_len;
        let header = &frame[MIN_FRAME_BYTES..header_end];
        let mut cmd = match serialize_type {
            SerializeType::Json => json_header::decode(header)?,
            SerializeType::RocketMq => binary_header::decode(header)?,
        };
        cmd.serialize_type = serialize_type;
        cmd.body = frame.slice(header_end..);
        Ok(cmd)
    }

    /// Takes one frame off the front of `buf` and decodes it, or returns `Ok(None)` (leaving
    /// `buf` untouched) when the frame has not fully arrived. For a transport's read loop.
    pub fn parse(
        buf: &mut BytesMut,
        max_frame_bytes: usize,
    ) -> Result<Option<RemotingCommand>, FrameError> {
        match check(buf, max_frame_bytes)? {
            None => Ok(None),
            Some(frame_bytes) => {
                let frame = buf.split_to(frame_bytes).freeze();
                RemotingCommand::decode(frame).map(Some)
            }
        }
    }

    /// Appends the whole frame (prefix, header and body) to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), FrameEncodeError> {
        self.encode_header(self.body.len(), dst)?;
        dst.put_slice(&self.body);
        Ok(())
    }

    /// Appends the length prefix, header word and header for a frame whose body is `body_len`
    /// bytes, but not the body: the caller sends the body (e.g. an mmap slice) right after.
    /// `self.body` is ignored.
    pub fn encode_header(
        &self,
        body_len: usize,
        dst: &mut BytesMut,
    ) -> Result<(), FrameEncodeError> {
        let start = dst.len();
        dst.put_u64(0); // frame length and header word, patched below
        let written = match self.serialize_type {
            SerializeType::Json => {
                json_header::encode(self, dst);
                Ok(())
            }
            SerializeType::RocketMq => binary_header::encode(self, dst),
        };
        let result = written.and_then(|()| {
            let header_len = dst.len() - start - MIN_FRAME_BYTES;
            if header_len > MAX_HEADER_BYTES {
                return Err(FrameEncodeError::HeaderTooLarge(header_len));
            }
            let length = 4 + header_len + body_len;
            let length_field = i32::try_from(length)
                .map_err(|_| FrameEncodeError::FrameTooLarge(length + LENGTH_PREFIX_BYTES))?;
            let word = (u32::from(self.serialize_type.code()) << 24) | header_len as u32;
            dst[start..start + 4].copy_from_slice(&length_field.to_be_bytes());
            dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
            Ok(())
        });
        if result.is_err() {
            dst.truncate(start);
        }
        result
    }

    /// The encoded frame as one `Bytes` (convenience for tests and small commands).
    pub fn to_bytes(&self) -> Result<Bytes, FrameEncodeError> {
        let mut dst = BytesMut::with_capacity(128 + self.body.len());
        self.encode(&mut dst)?;
        Ok(dst.freeze())
    }
}

/// `MQVersion.getVersionDesc(CURRENT_VERSION)`: the name of the release whose protocol Petrel
/// speaks, as brokers report it in `brokerVersionDesc` (one token, which `mqadmin clusterList`
/// prints in its `#Version` column).
pub const CURRENT_VERSION_DESC: &str = "V5_3_3";

/// `MQVersion.Version.V3_1_8_SNAPSHOT`: clients older than this cannot answer the broker's
/// GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY.
pub const VERSION_V3_1_8_SNAPSHOT: i32 = 62;
/// `MQVersion.Version.V3_0_7_SNAPSHOT`: clients older than this cannot answer
/// GET_CONSUMER_STATUS_FROM_CLIENT.
pub const VERSION_V3_0_7_SNAPSHOT: i32 = 28;
