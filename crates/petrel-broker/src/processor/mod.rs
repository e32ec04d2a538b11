//! Request processors, one file per request family. `crate::dispatch` routes codes here.

pub mod admin;
pub mod client;
pub mod lock;
pub mod offset;
pub mod pull;
pub mod query;
pub mod send;
