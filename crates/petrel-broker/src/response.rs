//! Building responses, and the one place where errors become RocketMQ response codes.
//!
//! Processors return `Result<RemotingCommand, Refusal>` (or `Result<Reply, Refusal>`): a
//! [`Refusal`] carries the response code and remark of a request the broker will not serve, so
//! checks compose with `?` and [`finish`] turns either outcome into the response. Store errors
//! become refusals here too (`impl From<StoreError> for Refusal`): illegal message →
//! MESSAGE_ILLEGAL, disk full / poisoned / shutting down → SERVICE_NOT_AVAILABLE with a remark
//! that says which.

use std::fmt::Display;

use petrel_protocol::message::properties;
use petrel_protocol::remoting::header::SendMessageResponseHeader;
use petrel_protocol::remoting::{response_code, CommandHeader, HeaderError, RemotingCommand};
use petrel_remoting::Reply;
use petrel_store::StoreError;

/// Why the broker will not serve a request: the response code and remark it answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{remark} (response code {code})")]
pub struct Refusal {
    pub code: i32,
    pub remark: String,
}

impl Refusal {
    pub fn new(code: i32, remark: impl Into<String>) -> Self {
        Self {
            code,
            remark: remark.into(),
        }
    }

    /// A request whose custom header is missing a field or has one that does not parse. Java
    /// answers these with SYSTEM_ERROR and the exception text; the remark names the field.
    pub fn bad_header(request: &RemotingCommand, e: HeaderError) -> Self {
        Self::new(
            response_code::SYSTEM_ERROR,
            format!("bad request ({}): {e}", request.code_name()),
        )
    }

    /// A request whose JSON body cannot be decoded.
    pub fn bad_body(request: &RemotingCommand, e: impl Display) -> Self {
        Self::new(
            response_code::SYSTEM_ERROR,
            format!("bad request body ({}): {e}", request.code_name()),
        )
    }

    /// The response that answers `request` with this refusal.
    pub fn to_response(&self, request: &RemotingCommand) -> RemotingCommand {
        error(request, self.code, self.remark.clone())
    }
}

/// Store errors as clients understand them.
impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Self::from(&e)
    }
}

impl From<&StoreError> for Refusal {
    fn from(e: &StoreError) -> Self {
        let code = match e {
            StoreError::MessageIllegal(_) => response_code::MESSAGE_ILLEGAL,
            StoreError::DiskFull { .. }
            | StoreError::NoSpace { .. }
            | StoreError::Poisoned(_)
            | StoreError::ShutDown => response_code::SERVICE_NOT_AVAILABLE,
            StoreError::Io { .. }
            | StoreError::Config(_)
            | StoreError::Corrupt { .. }
            | StoreError::SegmentSize { .. }
            | StoreError::Replica(_) => response_code::SYSTEM_ERROR,
        };
        let remark = match e {
            StoreError::DiskFull { .. } | StoreError::NoSpace { .. } => {
                format!("service not available now: {e}")
            }
            StoreError::Poisoned(_) => {
                format!("service not available now, the store is read-only: {e}")
            }
            StoreError::ShutDown => {
                "service not available now: the broker is shutting down".to_string()
            }
            _ => e.to_string(),
        };
        Self::new(code, remark)
    }
}

/// The request's custom header, or the refusal that names the field that is missing or bad.
pub fn header<H: CommandHeader>(request: &RemotingCommand) -> Result<H, Refusal> {
    request
        .decode_header::<H>()
        .map_err(|e| Refusal::bad_header(request, e))
}

/// The response to `request`: the processor's, or its refusal.
pub fn finish(request: &RemotingCommand, outcome: Result<RemotingCommand, Refusal>) -> Reply {
    match outcome {
        Ok(response) => response.into(),
        Err(refusal) => refusal.to_response(request).into(),
    }
}

/// [`finish`] for processors whose answer carries body chunks (pulls, queries).
pub fn finish_reply(request: &RemotingCommand, outcome: Result<Reply, Refusal>) -> Reply {
    outcome.unwrap_or_else(|refusal| refusal.to_response(request).into())
}

pub fn ok(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, response_code::SUCCESS, None)
}

pub fn error(request: &RemotingCommand, code: i32, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::response_to(request, code, Some(remark.into()))
}

/// The answer to a stored send or reply, with the extra fields RocketMQ adds (`MSG_REGION`,
/// `TRACE_ON`).
pub fn send_result(
    request: &RemotingCommand,
    code: i32,
    header: &SendMessageResponseHeader,
) -> RemotingCommand {
    let mut response = RemotingCommand::response_to(request, code, None).with_header(header);
    response
        .ext_fields
        .insert(properties::MSG_REGION, "DefaultRegion");
    response.ext_fields.insert(properties::TRACE_SWITCH, "true");
    response
}

pub fn json(request: &RemotingCommand, body: Vec<u8>) -> RemotingCommand {
    let mut response = ok(request);
    response.body = body.into();
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::remoting::request_code;

    #[test]
    fn a_refusal_answers_with_its_code_and_remark() {
        let request = RemotingCommand::request(request_code::SEND_MESSAGE);
        let reply = finish(
            &request,
            Err(Refusal::new(response_code::NO_PERMISSION, "forbidden")),
        );
        assert_eq!(reply.command.code, response_code::NO_PERMISSION);
        assert_eq!(reply.command.remark.as_deref(), Some("forbidden"));
        assert_eq!(reply.command.opaque, request.opaque);
        assert!(reply.command.is_response());
    }

    #[test]
    fn store_errors_become_the_codes_clients_retry_on() {
        let refusal = Refusal::from(StoreError::ShutDown);
        assert_eq!(
            refusal,
            Refusal::new(
                response_code::SERVICE_NOT_AVAILABLE,
                "service not available now: the broker is shutting down"
            )
        );
        let illegal = Refusal::from(StoreError::MessageIllegal("too big".into()));
        assert_eq!(illegal.code, response_code::MESSAGE_ILLEGAL);
    }
}
