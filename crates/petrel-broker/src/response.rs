//! Building responses, and the one place where errors become RocketMQ response codes.

use petrel_protocol::remoting::{response_code, HeaderError, RemotingCommand};
use petrel_store::StoreError;

pub fn ok(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, response_code::SUCCESS, None)
}

pub fn error(request: &RemotingCommand, code: i32, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::response_to(request, code, Some(remark.into()))
}

/// A request whose custom header is missing a field or has one that does not parse. Java
/// answers these with SYSTEM_ERROR and the exception text; the remark names the field.
pub fn bad_header(request: &RemotingCommand, e: HeaderError) -> RemotingCommand {
    error(
        request,
        response_code::SYSTEM_ERROR,
        format!("bad request ({}): {e}", request.code_name()),
    )
}

/// A request whose JSON body cannot be decoded.
pub fn bad_body(request: &RemotingCommand, e: impl std::fmt::Display) -> RemotingCommand {
    error(
        request,
        response_code::SYSTEM_ERROR,
        format!("bad request body ({}): {e}", request.code_name()),
    )
}

pub fn json(request: &RemotingCommand, body: Vec<u8>) -> RemotingCommand {
    let mut response = ok(request);
    response.body = body.into();
    response
}

/// Store errors as clients understand them.
pub fn store_error(request: &RemotingCommand, e: &StoreError) -> RemotingCommand {
    let code = match e {
        StoreError::MessageIllegal(_) => response_code::MESSAGE_ILLEGAL,
        StoreError::DiskFull { .. } | StoreError::Poisoned(_) | StoreError::ShutDown => {
            response_code::SERVICE_NOT_AVAILABLE
        }
        StoreError::Io { .. } | StoreError::Config(_) | StoreError::Corrupt { .. } => {
            response_code::SYSTEM_ERROR
        }
    };
    let remark = match e {
        StoreError::DiskFull { .. } => format!("service not available now: {e}"),
        StoreError::Poisoned(_) => {
            format!("service not available now, the store is read-only: {e}")
        }
        StoreError::ShutDown => {
            "service not available now: the broker is shutting down".to_string()
        }
        _ => e.to_string(),
    };
    error(request, code, remark)
}
