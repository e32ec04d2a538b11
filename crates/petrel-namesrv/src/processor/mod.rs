//! Request processors, one file per request family (mini-redis's `cmd/`). Each takes the
//! shared state and the request and returns the response, or a [`RequestError`] that
//! [`crate::error`] turns into one. [`crate::dispatch`] routes codes here.

pub(crate) mod broker_registration;
pub(crate) mod cluster_info;
pub(crate) mod kv_config;
pub(crate) mod namesrv_config;
pub(crate) mod topic_admin;
pub(crate) mod topic_route;
pub(crate) mod write_perm;

use petrel_protocol::remoting::{response_code, RemotingCommand};

use crate::error::RequestError;

pub(crate) type ProcessResult = Result<RemotingCommand, RequestError>;

/// `MQVersion.Version.V4_9_4`: from this client version on, routes are standard JSON.
pub(crate) const V4_9_4: i32 = 401;
/// `MQVersion.Version.V3_0_11`: older brokers register a bare `TopicConfigSerializeWrapper`.
pub(crate) const V3_0_11: i32 = 37;

/// An empty SUCCESS response to `request`.
pub(crate) fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, response_code::SUCCESS, None)
}

/// Whether to answer with standard JSON (`"0":"addr"`) rather than fastjson's bare integer
/// keys (`0:"addr"`): for clients from 4.9.4 on, and for older ones that ask for it (§2.1).
pub(crate) fn wants_standard_json(
    request: &RemotingCommand,
    accept_standard_json_only: Option<bool>,
) -> bool {
    request.version >= V4_9_4 || accept_standard_json_only == Some(true)
}
