//! END_TRANSACTION (37): the producer commits or rolls back a half message (usually oneway,
//! also as the answer to CHECK_TRANSACTION_STATE).

use petrel_protocol::message::sys_flag;
use petrel_protocol::remoting::header::EndTransactionRequestHeader;
use petrel_protocol::remoting::{response_code, RemotingCommand};

use crate::broker::BrokerInner;
use crate::response;
use crate::system_topic::transaction::{end_transaction, EndTransactionError, Resolution};

pub async fn process(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let h = match request.decode_header::<EndTransactionRequestHeader>() {
        Ok(h) => h,
        Err(e) => return response::bad_header(request, e),
    };
    let resolution = match h.commit_or_rollback {
        sys_flag::TRANSACTION_COMMIT_TYPE => Resolution::Commit,
        sys_flag::TRANSACTION_ROLLBACK_TYPE => Resolution::Rollback,
        // Unknown: the broker will ask again later.
        sys_flag::TRANSACTION_NOT_TYPE => return response::ok(request),
        other => {
            return response::error(
                request,
                response_code::SYSTEM_ERROR,
                format!("commitOrRollback {other} is not 0, 8 or 12"),
            )
        }
    };
    match end_transaction(broker, h.commit_log_offset, &h.producer_group, resolution).await {
        Ok(()) => response::ok(request),
        Err(EndTransactionError::Store(e)) => response::store_error(request, &e),
        Err(e) => response::error(request, response_code::SYSTEM_ERROR, e.to_string()),
    }
}
