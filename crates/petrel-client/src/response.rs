//! Reading a response, for both request layers ([`crate::broker_api`] and
//! [`crate::namesrv_api`]): the SUCCESS check and the typed decoding of headers and JSON
//! bodies, each failure a [`ClientError`] naming the peer and what was expected.

use petrel_protocol::remoting::body::JsonBody;
use petrel_protocol::remoting::header::CommandHeader;
use petrel_protocol::remoting::{response_code as code, RemotingCommand};

use crate::error::{ClientError, Result};

/// `response` if it is SUCCESS, else the error naming its code.
pub(crate) fn success(addr: &str, response: RemotingCommand) -> Result<RemotingCommand> {
    if response.code == code::SUCCESS {
        Ok(response)
    } else {
        Err(refused(addr, response))
    }
}

/// A response whose code the caller does not accept.
pub(crate) fn refused(addr: &str, response: RemotingCommand) -> ClientError {
    ClientError::response(addr, response.code, response.remark)
}

/// The typed header of `response`; `what` names it in the error.
pub(crate) fn header<H: CommandHeader>(
    addr: &str,
    what: &str,
    response: &RemotingCommand,
) -> Result<H> {
    response
        .decode_header::<H>()
        .map_err(|e| bad_response(addr, what, e))
}

/// The JSON body of a response; `what` names it in the error.
pub(crate) fn body<T: JsonBody>(addr: &str, what: &str, bytes: &[u8]) -> Result<T> {
    T::decode(bytes).map_err(|e| bad_response(addr, what, e))
}

fn bad_response(addr: &str, what: &str, e: impl std::fmt::Display) -> ClientError {
    ClientError::BadResponse {
        addr: addr.to_string(),
        reason: format!("{what}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::remoting::body::TopicList;

    fn response(code: i32, remark: Option<&str>) -> RemotingCommand {
        RemotingCommand::response_to(
            &RemotingCommand::request(10),
            code,
            remark.map(String::from),
        )
    }

    #[test]
    fn only_success_passes_and_other_codes_are_named() {
        assert!(success("b:1", response(code::SUCCESS, None)).is_ok());
        let err = success(
            "b:1",
            response(code::SYSTEM_BUSY, Some("too many requests")),
        )
        .unwrap_err();
        assert_eq!(err.response_code(), Some(code::SYSTEM_BUSY));
        assert_eq!(
            err.to_string(),
            "b:1 answered SYSTEM_BUSY (2): too many requests"
        );
    }

    #[test]
    fn undecodable_answers_name_the_peer_and_what_was_expected() {
        let err = body::<TopicList>("b:1", "topic list", b"{").unwrap_err();
        assert!(
            matches!(&err, ClientError::BadResponse { addr, reason }
                if addr == "b:1" && reason.starts_with("topic list: ")),
            "{err}"
        );
    }
}
