//! CONTROLLER_ALTER_SYNC_STATE_SET (1001), from a master shrinking or growing its
//! SyncStateSet, and CONTROLLER_GET_SYNC_STATE_DATA (1006), admin's view of sets.

use std::sync::Arc;

use petrel_protocol::remoting::body::{BrokerNameList, JsonBody, SyncStateSet};
use petrel_protocol::remoting::header::AlterSyncStateSetRequestHeader;
use petrel_protocol::remoting::{response_code, RemotingCommand};

use super::{applied, body, header, ok, ProcessResult};
use crate::decide;
use crate::server::Shared;

pub(crate) async fn alter_sync_state_set(
    shared: &Arc<Shared>,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: AlterSyncStateSetRequestHeader = header(request)?;
    let set: SyncStateSet = body(request, "SyncStateSet")?;
    let _write = shared.write_lock.lock().await;
    shared.linearizable().await?;
    let decision =
        shared.decide(|info, live| decide::alter_sync_state_set(info, &header, &set, live))?;
    if let Some(event) = decision.event {
        applied(
            shared.replicate(event).await?,
            response_code::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
        )?;
    }
    let mut response = ok(request).with_header(&decision.header);
    if let Some(body) = decision.body {
        response = response.with_body(body.encode());
    }
    Ok(response)
}

pub(crate) async fn get_sync_state_data(
    shared: &Arc<Shared>,
    request: &RemotingCommand,
) -> ProcessResult {
    let names: BrokerNameList = body(request, "broker name list")?;
    shared.linearizable().await?;
    let data = shared.decide(|info, live| decide::get_sync_state_data(info, &names.0, live))?;
    Ok(ok(request).with_body(data.encode()))
}
