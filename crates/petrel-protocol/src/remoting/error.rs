//! Errors of the frame codec. Header-field and body errors live next to their layers
//! ([`super::header::HeaderError`], [`super::body::BodyError`]).

/// Why bytes from the network are not a valid remoting frame.
///
/// Every variant means the connection's byte stream is unusable from this point (the frame
/// boundary or the header cannot be trusted), so a transport should answer nothing and close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame-length prefix is negative.
    #[error("frame length {0} is negative")]
    NegativeLength(i32),
    /// The frame is too short to hold the serialize-type/header-length int32.
    #[error("frame length {0} leaves no room for the 4-byte header-length field")]
    TooShort(usize),
    /// The whole frame, length prefix included, is larger than the receiver accepts.
    #[error("frame of {frame_bytes} bytes exceeds the limit of {max_frame_bytes} bytes")]
    TooLarge {
        frame_bytes: usize,
        max_frame_bytes: usize,
    },
    /// The header length in the second int32 runs past the end of the frame.
    #[error("header length {header_len} exceeds the {available} bytes left in the frame")]
    HeaderTooLong { header_len: usize, available: usize },
    /// The high byte of the second int32 is neither JSON (0) nor ROCKETMQ (1).
    #[error("unknown serialize type {0}")]
    UnknownSerializeType(u8),
    /// `decode` was handed a buffer whose size disagrees with its own length prefix.
    #[error("frame length prefix says {declared} bytes follow but {actual} do")]
    LengthMismatch { declared: usize, actual: usize },
    /// The JSON header is not JSON, or not an object.
    #[error("malformed JSON header: {0}")]
    Json(String),
    /// A JSON header field has a value of the wrong shape (e.g. `"code":"ten"`).
    #[error("JSON header field {field}: {reason}")]
    JsonField { field: &'static str, reason: String },
    /// A string is not valid UTF-8.
    #[error("{0} is not valid UTF-8")]
    NotUtf8(&'static str),
    /// The binary header ends before a field it declares.
    #[error("binary header truncated: {field} needs {needed} bytes at offset {at}, {available} available")]
    Truncated {
        field: &'static str,
        at: usize,
        needed: usize,
        available: usize,
    },
    /// A length inside the binary header is negative.
    #[error("binary header: {field} has negative length {len}")]
    NegativeFieldLength { field: &'static str, len: i32 },
    /// Bytes are left in the binary header after its extFields section.
    #[error("binary header has {0} unexpected bytes after its extFields section")]
    TrailingBytes(usize),
}

/// Why a command could not be encoded. Nothing is left in the destination buffer when
/// encoding fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameEncodeError {
    /// The binary header stores the code as an int16 (Java would silently truncate it).
    #[error("code {0} does not fit the binary header's int16; use the JSON serialize type")]
    CodeOutOfRange(i32),
    /// The binary header stores the version as an int16.
    #[error("version {0} does not fit the binary header's int16")]
    VersionOutOfRange(i32),
    /// A binary-header string longer than its length field can express.
    #[error("{field} is {len} bytes, longer than the binary header allows")]
    StringTooLong { field: &'static str, len: usize },
    /// The header is longer than the 24 bits of the header-length field.
    #[error("header is {0} bytes; at most 16777215 fit the 24-bit header length")]
    HeaderTooLarge(usize),
    /// The frame is longer than the int32 length prefix can express.
    #[error("frame of {0} bytes does not fit the int32 length prefix")]
    FrameTooLarge(usize),
}
