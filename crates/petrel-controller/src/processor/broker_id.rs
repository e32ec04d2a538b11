//! CONTROLLER_GET_NEXT_BROKER_ID (1012) and CONTROLLER_APPLY_BROKER_ID (1013): how a new
//! broker gets its id (first id of a set: 1).

use std::sync::Arc;

use petrel_protocol::remoting::header::{
    ApplyBrokerIdRequestHeader, ApplyBrokerIdResponseHeader, GetNextBrokerIdRequestHeader,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};

use super::{applied, header, ok, ProcessResult};
use crate::decide;
use crate::server::Shared;

pub(crate) async fn get_next_broker_id(
    shared: &Arc<Shared>,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: GetNextBrokerIdRequestHeader = header(request)?;
    shared.linearizable().await?;
    let response = shared.decide(|info, _| decide::get_next_broker_id(info, &header))?;
    Ok(ok(request).with_header(&response))
}

pub(crate) async fn apply_broker_id(
    shared: &Arc<Shared>,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: ApplyBrokerIdRequestHeader = header(request)?;
    let _write = shared.write_lock.lock().await;
    shared.linearizable().await?;
    let event = shared.decide(|info, _| decide::apply_broker_id(info, &header))?;
    applied(
        shared.replicate(event).await?,
        response_code::CONTROLLER_BROKER_ID_INVALID,
    )?;
    Ok(ok(request).with_header(&ApplyBrokerIdResponseHeader {
        cluster_name: header.cluster_name,
        broker_name: header.broker_name,
    }))
}
