//! Message encodings: the stored record, properties, batch bodies, ids and tag hash codes.

mod batch;
mod msg_id;
pub mod properties;
mod reader;
mod record;
pub mod sys_flag;
mod tag;

pub use batch::{decode_batch, BatchItem, BatchIter};
pub use msg_id::{decode_offset_msg_id, encode_offset_msg_id};
pub use properties::{Properties, PropertiesIter};
pub use record::{
    body_crc, encode_blank, encode_record, patch_record, peek_record, MessageToStore, Peek,
    RecordView, BLANK_MAGIC_CODE, END_FILE_MIN_BLANK_LENGTH, MAX_PROPERTIES_LEN_BYTES,
    MAX_TOPIC_LEN_BYTES, MESSAGE_MAGIC_CODE_V1, MESSAGE_MAGIC_CODE_V2, MIN_RECORD_SIZE,
};
pub use tag::{java_string_hash, tag_hash_code};

/// Why bytes could not be decoded as a message encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The slice ends before the field that was being read.
    #[error("truncated: {field} needs {needed} bytes at {at}, only {available} available")]
    Truncated {
        field: &'static str,
        at: usize,
        needed: usize,
        available: usize,
    },
    /// A magic code that is neither a message nor a blank marker.
    #[error("unknown magic code {0:#010x}")]
    BadMagic(u32),
    /// A length field that is negative or disagrees with the sizes of the fields it covers.
    #[error("inconsistent length: {0}")]
    BadLength(String),
    /// A string field that is not UTF-8.
    #[error("{0} is not valid UTF-8")]
    NotUtf8(&'static str),
    /// A message id that is not of the expected hex form.
    #[error("malformed message id: {0}")]
    BadMessageId(String),
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("topic is {0} bytes; at most {max} bytes can be stored", max = record::MAX_TOPIC_LEN_BYTES)]
    TopicTooLong(usize),
    #[error("properties are {0} bytes; at most {max} bytes can be stored", max = record::MAX_PROPERTIES_LEN_BYTES)]
    PropertiesTooLong(usize),
    #[error("body is {0} bytes; too large for a record")]
    BodyTooLarge(usize),
}
