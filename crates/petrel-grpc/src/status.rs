//! v2 statuses: the `Status` every response carries, and how a broker refusal (a remoting
//! response code and remark) becomes one, as Apache's proxy maps them (`ResponseBuilder`).

use petrel_broker::response::Refusal;
use petrel_protocol::remoting::response_code as rc;

use crate::pb::{Code, Status};

pub fn status(code: Code, message: impl Into<String>) -> Status {
    Status {
        code: code as i32,
        message: message.into(),
    }
}

pub fn ok() -> Status {
    status(Code::Ok, "OK")
}

/// The v2 code of a remoting response code.
pub fn code_of(response_code: i32) -> Code {
    match response_code {
        rc::SUCCESS => Code::Ok,
        rc::SYSTEM_BUSY => Code::TooManyRequests,
        rc::REQUEST_CODE_NOT_SUPPORTED => Code::NotImplemented,
        rc::SUBSCRIPTION_GROUP_NOT_EXIST => Code::ConsumerGroupNotFound,
        rc::TOPIC_NOT_EXIST => Code::TopicNotFound,
        rc::NO_PERMISSION => Code::Forbidden,
        rc::MESSAGE_ILLEGAL => Code::BadRequest,
        rc::FLUSH_DISK_TIMEOUT => Code::MasterPersistenceTimeout,
        rc::FLUSH_SLAVE_TIMEOUT => Code::SlavePersistenceTimeout,
        rc::SLAVE_NOT_AVAILABLE => Code::HaNotAvailable,
        _ => Code::InternalServerError,
    }
}

pub fn from_refusal(refusal: &Refusal) -> Status {
    status(code_of(refusal.code), refusal.remark.clone())
}

/// A v2 status as an error of the RPC's own logic (returned inside the response, never as a
/// transport-level gRPC error).
#[derive(Debug, Clone)]
pub struct Failure(pub Status);

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure(status(code, message))
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Failure(from_refusal(&r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_remoting_codes_as_the_proxy_does() {
        assert_eq!(code_of(rc::SUCCESS), Code::Ok);
        assert_eq!(code_of(rc::TOPIC_NOT_EXIST), Code::TopicNotFound);
        assert_eq!(code_of(rc::NO_PERMISSION), Code::Forbidden);
        assert_eq!(
            code_of(rc::FLUSH_DISK_TIMEOUT),
            Code::MasterPersistenceTimeout
        );
        assert_eq!(code_of(rc::SYSTEM_ERROR), Code::InternalServerError);
        assert_eq!(status(Code::TopicNotFound, "x").code, 40402);
    }
}
