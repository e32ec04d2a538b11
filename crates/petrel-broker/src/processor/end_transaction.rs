//! END_TRANSACTION (37): the producer commits or rolls back a half message (usually oneway,
//! also as the answer to CHECK_TRANSACTION_STATE).

use petrel_protocol::message::sys_flag;
use petrel_protocol::remoting::header::EndTransactionRequestHeader;
use petrel_protocol::remoting::{response_code, RemotingCommand};

use crate::broker::BrokerInner;
use crate::response::{self, Refusal};
use crate::system_topic::transaction::{end_transaction, EndTransactionError, Resolution};

pub async fn process(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    // RocketMQ's EndTransactionProcessor: a slave resolves nothing.
    if broker.is_slave() {
        return Err(Refusal::new(
            response_code::SLAVE_NOT_AVAILABLE,
            "this broker is a slave; end the transaction on its master",
        ));
    }
    let h: EndTransactionRequestHeader = response::header(request)?;
    let resolution = match h.commit_or_rollback {
        sys_flag::TRANSACTION_COMMIT_TYPE => Resolution::Commit,
        sys_flag::TRANSACTION_ROLLBACK_TYPE => Resolution::Rollback,
        // Unknown: the broker will ask again later.
        sys_flag::TRANSACTION_NOT_TYPE => return Ok(response::ok(request)),
        other => {
            return Err(Refusal::new(
                response_code::SYSTEM_ERROR,
                format!("commitOrRollback {other} is not 0, 8 or 12"),
            ))
        }
    };
    end_transaction(
        &broker.transaction_context(),
        h.commit_log_offset,
        &h.producer_group,
        resolution,
    )
    .await
    .map_err(|e| match e {
        EndTransactionError::Store(e) => Refusal::from(e),
        e => Refusal::new(response_code::SYSTEM_ERROR, e.to_string()),
    })?;
    Ok(response::ok(request))
}
