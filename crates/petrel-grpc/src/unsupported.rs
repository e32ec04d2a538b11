//! The RPCs this step does not serve (POP consumption: QueryAssignment, ReceiveMessage,
//! AckMessage, ChangeInvisibleDuration, ForwardMessageToDeadLetterQueue; the offset and pull
//! RPCs of v2.0.3; RecallMessage of v2.0.4): each answers at once with the v2 status
//! NOT_IMPLEMENTED and a message saying what to use instead. Streams answer with exactly one
//! status response and end, as service.proto asks of a failed ReceiveMessage.

use crate::pb::{Code, Status};
use crate::status::status;

pub fn not_implemented(rpc: &str) -> Status {
    status(
        Code::NotImplemented,
        format!(
            "{rpc} is not implemented by Petrel yet: gRPC clients can send (Producer); consume \
             with a remoting consumer (POP/ReceiveMessage comes later)"
        ),
    )
}
