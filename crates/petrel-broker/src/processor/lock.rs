//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): queue locks for orderly consumers.

use petrel_protocol::remoting::body::{JsonBody, LockBatchRequestBody, LockBatchResponseBody};
use petrel_protocol::remoting::RemotingCommand;

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::response;

pub fn lock_batch(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let body = match LockBatchRequestBody::decode(&request.body) {
        Ok(b) => b,
        Err(e) => return response::bad_body(request, e),
    };
    let locked = broker.locks.try_lock_batch(
        &body.consumer_group,
        &body.mq_set,
        &body.client_id,
        now_ms(),
    );
    response::json(
        request,
        LockBatchResponseBody {
            lock_ok_mq_set: locked,
        }
        .encode(),
    )
}

pub fn unlock_batch(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let body = match LockBatchRequestBody::decode(&request.body) {
        Ok(b) => b,
        Err(e) => return response::bad_body(request, e),
    };
    broker
        .locks
        .unlock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
    response::ok(request)
}
