//! One file per request family; [`dispatch`] is the table and holds no logic beyond "which
//! requests only the leader answers".

pub(crate) mod admin;
pub(crate) mod broker_id;
pub(crate) mod elect;
pub(crate) mod heartbeat;
pub(crate) mod metadata;
pub(crate) mod register;
pub(crate) mod sync_state_set;

use std::sync::Arc;

use petrel_protocol::remoting::body::JsonBody;
use petrel_protocol::remoting::header::CommandHeader;
use petrel_protocol::remoting::{request_code as code, response_code, RemotingCommand};
use petrel_remoting::RequestContext;

use crate::error::Refusal;
use crate::raft;
use crate::server::{Shared, MAX_REQUEST_BODY_BYTES};

pub(crate) type ProcessResult = Result<RemotingCommand, Refusal>;

/// Answers `request`; every failure becomes a response with its code and remark.
pub(crate) async fn dispatch(
    shared: &Arc<Shared>,
    ctx: &RequestContext,
    request: &RemotingCommand,
) -> Option<RemotingCommand> {
    let result = match request.code {
        raft::RAFT_VOTE | raft::RAFT_APPEND_ENTRIES | raft::RAFT_INSTALL_SNAPSHOT => {
            let group = shared.config.read().group.clone();
            match raft::network::serve(&shared.raft, &group, request).await {
                Ok(body) => Ok(ok(request).with_body(body)),
                Err(remark) => Err(Refusal::invalid_request(remark)),
            }
        }
        _ if request.body.len() > MAX_REQUEST_BODY_BYTES => Err(Refusal::invalid_request(format!(
            "the body is {} bytes; controller requests carry at most {MAX_REQUEST_BODY_BYTES}",
            request.body.len()
        ))),
        // Any controller answers these: who leads, its own configuration, heartbeats.
        code::CONTROLLER_GET_METADATA_INFO => metadata::get_metadata_info(shared, request),
        code::GET_CONTROLLER_CONFIG => admin::get_controller_config(shared, request),
        code::UPDATE_CONTROLLER_CONFIG => admin::update_controller_config(shared, request),
        code::BROKER_HEARTBEAT => heartbeat::broker_heartbeat(shared, ctx, request),
        // The rest only the leader answers.
        c if is_leader_request(c) => {
            if shared.is_leader() {
                leader_request(shared, ctx, request).await
            } else {
                Err(shared.not_leader(shared.leader_node()))
            }
        }
        other => Err(Refusal::new(
            response_code::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {other} not supported"),
        )),
    };
    let response = match result {
        Ok(response) => response,
        Err(refusal) => {
            tracing::debug!(code = request.code, remote = %ctx.remote_addr(), refusal = %refusal, "request refused");
            RemotingCommand::response_to(request, refusal.code, Some(refusal.remark))
        }
    };
    Some(response)
}

fn is_leader_request(c: i32) -> bool {
    matches!(
        c,
        code::CONTROLLER_ALTER_SYNC_STATE_SET
            | code::CONTROLLER_ELECT_MASTER
            | code::CONTROLLER_REGISTER_BROKER
            | code::CONTROLLER_GET_REPLICA_INFO
            | code::CONTROLLER_GET_SYNC_STATE_DATA
            | code::CLEAN_BROKER_DATA
            | code::CONTROLLER_GET_NEXT_BROKER_ID
            | code::CONTROLLER_APPLY_BROKER_ID
    )
}

async fn leader_request(
    shared: &Arc<Shared>,
    ctx: &RequestContext,
    request: &RemotingCommand,
) -> ProcessResult {
    match request.code {
        code::CONTROLLER_ALTER_SYNC_STATE_SET => {
            sync_state_set::alter_sync_state_set(shared, request).await
        }
        code::CONTROLLER_ELECT_MASTER => elect::elect_master(shared, ctx, request).await,
        code::CONTROLLER_REGISTER_BROKER => register::register_broker(shared, request).await,
        code::CONTROLLER_GET_REPLICA_INFO => register::get_replica_info(shared, request).await,
        code::CONTROLLER_GET_SYNC_STATE_DATA => {
            sync_state_set::get_sync_state_data(shared, request).await
        }
        code::CLEAN_BROKER_DATA => admin::clean_broker_data(shared, request).await,
        code::CONTROLLER_GET_NEXT_BROKER_ID => broker_id::get_next_broker_id(shared, request).await,
        code::CONTROLLER_APPLY_BROKER_ID => broker_id::apply_broker_id(shared, request).await,
        other => Err(Refusal::new(
            response_code::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {other} not supported"),
        )),
    }
}

/// A SUCCESS response to `request`.
pub(crate) fn ok(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, response_code::SUCCESS, None)
}

/// Reads the typed header; a bad one is CONTROLLER_INVALID_REQUEST naming the field.
pub(crate) fn header<H: CommandHeader>(request: &RemotingCommand) -> Result<H, Refusal> {
    request
        .decode_header()
        .map_err(|e| Refusal::invalid_request(e.to_string()))
}

/// Reads a JSON body; an absent or bad one is CONTROLLER_INVALID_REQUEST.
pub(crate) fn body<B: JsonBody>(request: &RemotingCommand, what: &str) -> Result<B, Refusal> {
    if request.body.is_empty() {
        return Err(Refusal::invalid_request(format!(
            "the request has no {what} body"
        )));
    }
    B::decode(&request.body)
        .map_err(|e| Refusal::invalid_request(format!("the {what} body is invalid: {e}")))
}

/// Applies a replicated event's outcome: a skipped event is refused with `code`.
pub(crate) fn applied(outcome: crate::state::Applied, code: i32) -> Result<(), Refusal> {
    match outcome {
        crate::state::Applied::Done => Ok(()),
        crate::state::Applied::Skipped(why) => Err(Refusal::new(code, why)),
    }
}
