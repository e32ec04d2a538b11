//! The remoting protocol: frames, headers, codes and JSON bodies, as a pure codec.
//!
//! Layers, bottom up:
//! - [`frame`]: the length-prefixed frame and [`RemotingCommand`]; [`check`] then
//!   [`RemotingCommand::decode`] to read, [`RemotingCommand::encode`] /
//!   [`RemotingCommand::encode_header`] to write.
//! - [`json_header`] and [`binary_header`]: the two header encodings a frame may carry.
//! - [`codes`]: request and response codes, [`LanguageCode`], [`SerializeType`].
//! - [`header`]: typed custom headers over [`ExtFields`] ([`CommandHeader`]).
//! - [`body`]: JSON bodies ([`body::JsonBody`]), with [`fastjson`] for Java's non-standard JSON.
//!
//! Nothing here does I/O or allocates in proportion to anything but its input; every decoder
//! returns a typed error instead of panicking. Facts come from
//! `shared/protocol/remoting-protocol.md` §1–7 and were checked against Apache RocketMQ's Java
//! sources (5.x `develop`, 4.9.8).

pub mod binary_header;
pub mod body;
pub mod codes;
mod error;
mod ext_fields;
pub mod fastjson;
pub mod frame;
pub mod header;
pub mod json_header;

pub use codes::{code_name, request_code, response_code, LanguageCode, SerializeType};
pub use error::{FrameEncodeError, FrameError};
pub use ext_fields::ExtFields;
pub use frame::{
    check, RemotingCommand, CURRENT_LANGUAGE, CURRENT_VERSION, CURRENT_VERSION_DESC,
    DEFAULT_MAX_FRAME_BYTES, LENGTH_PREFIX_BYTES, MAX_HEADER_BYTES, MIN_FRAME_BYTES, ONEWAY_FLAG,
    RESPONSE_FLAG, VERSION_V3_0_7_SNAPSHOT, VERSION_V3_1_8_SNAPSHOT,
};
pub use header::{CommandHeader, HeaderError};
