//! CONTROLLER_REGISTER_BROKER (1003) and CONTROLLER_GET_REPLICA_INFO (1004): a broker reports
//! its address, and learns (and keeps polling) its set's master and SyncStateSet.

use std::sync::Arc;

use petrel_protocol::remoting::body::JsonBody;
use petrel_protocol::remoting::header::{
    GetReplicaInfoRequestHeader, RegisterBrokerToControllerRequestHeader,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};

use super::{applied, header, ok, ProcessResult};
use crate::decide;
use crate::server::Shared;

pub(crate) async fn register_broker(
    shared: &Arc<Shared>,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: RegisterBrokerToControllerRequestHeader = header(request)?;
    let _write = shared.write_lock.lock().await;
    shared.linearizable().await?;
    let decision = shared.decide(|info, live| decide::register_broker(info, &header, live))?;
    if let Some(event) = decision.event {
        applied(shared.replicate(event).await?, response_code::SYSTEM_ERROR)?;
    }
    let mut response = ok(request).with_header(&decision.header);
    if let Some(body) = decision.body {
        response = response.with_body(body.encode());
    }
    Ok(response)
}

pub(crate) async fn get_replica_info(
    shared: &Arc<Shared>,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: GetReplicaInfoRequestHeader = header(request)?;
    shared.linearizable().await?;
    let (response, body) = shared.decide(|info, _| decide::get_replica_info(info, &header))?;
    Ok(ok(request).with_header(&response).with_body(body.encode()))
}
