//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): queue locks for orderly consumers.

use petrel_protocol::remoting::body::{JsonBody, LockBatchRequestBody, LockBatchResponseBody};
use petrel_protocol::remoting::RemotingCommand;

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::response::{self, Refusal};

pub fn lock_batch(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let body =
        LockBatchRequestBody::decode(&request.body).map_err(|e| Refusal::bad_body(request, e))?;
    let locked = broker.locks.try_lock_batch(
        &body.consumer_group,
        &body.mq_set,
        &body.client_id,
        now_ms(),
    );
    Ok(response::json(
        request,
        LockBatchResponseBody {
            lock_ok_mq_set: locked,
        }
        .encode(),
    ))
}

pub fn unlock_batch(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let body =
        LockBatchRequestBody::decode(&request.body).map_err(|e| Refusal::bad_body(request, e))?;
    broker
        .locks
        .unlock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
    Ok(response::ok(request))
}
