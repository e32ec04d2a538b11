//! CONTROLLER_ELECT_MASTER (1002) from a broker or an admin, the same election triggered by
//! the leader's scan, and the NOTIFY_BROKER_ROLE_CHANGED (1008) that follows a new master.

use std::sync::Arc;

use petrel_protocol::remoting::body::{ElectMasterResponseBody, JsonBody};
use petrel_protocol::remoting::header::{
    ElectMasterRequestHeader, ElectMasterResponseHeader, NotifyBrokerRoleChangedRequestHeader,
};
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand};
use petrel_remoting::RequestContext;

use super::{applied, header, ProcessResult};
use crate::decide::{self, ElectOutcome, ElectSettings};
use crate::error::Refusal;
use crate::server::Shared;
use crate::state::ReplicasInfo;

/// An election's answer: SUCCESS, CONTROLLER_MASTER_STILL_EXIST or
/// CONTROLLER_MASTER_NOT_AVAILABLE, with the master's details when there is one.
pub(crate) struct ElectAnswer {
    code: i32,
    remark: Option<String>,
    header: Option<ElectMasterResponseHeader>,
    body: Option<ElectMasterResponseBody>,
}

impl std::fmt::Display for ElectAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.header, &self.remark) {
            (Some(h), _) if self.code == response_code::SUCCESS => write!(
                f,
                "new master {:?} at {:?}, master epoch {:?}",
                h.master_broker_id, h.master_address, h.master_epoch
            ),
            (_, Some(remark)) => write!(f, "{remark} (code {})", self.code),
            _ => write!(f, "code {}", self.code),
        }
    }
}

pub(crate) async fn elect_master(
    shared: &Arc<Shared>,
    ctx: &RequestContext,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: ElectMasterRequestHeader = header(request)?;
    let answer = elect(shared, &header, Some(ctx.connection.id())).await?;
    let mut response = RemotingCommand::response_to(request, answer.code, answer.remark);
    if let Some(h) = &answer.header {
        response = response.with_header(h);
    }
    if let Some(body) = &answer.body {
        response = response.with_body(body.encode());
    }
    Ok(response)
}

/// The scan's election for a set whose master went inactive (`brokerId` −1).
pub(crate) async fn controller_triggered(
    shared: &Arc<Shared>,
    broker_name: &str,
) -> Result<ElectAnswer, Refusal> {
    let header = ElectMasterRequestHeader {
        broker_name: broker_name.to_string(),
        broker_id: -1,
        ..Default::default()
    };
    elect(shared, &header, None).await
}

/// `connection_id`: the connection a broker's or admin's request came on (`None` for the
/// scan's own elections).
async fn elect(
    shared: &Arc<Shared>,
    header: &ElectMasterRequestHeader,
    connection_id: Option<u64>,
) -> Result<ElectAnswer, Refusal> {
    let write = shared.write_lock.lock().await;
    shared.linearizable().await?;
    let settings = ElectSettings {
        enable_elect_unclean_master: shared.config.read().enable_elect_unclean_master,
    };
    let outcome = shared.decide(|info, live| decide::elect_master(info, header, live, settings))?;
    match outcome {
        ElectOutcome::NewMaster {
            event,
            header: response,
            body,
        } => {
            let broker_name = event.broker_name().to_string();
            applied(
                shared.replicate(event).await?,
                response_code::CONTROLLER_ELECT_MASTER_FAILED,
            )?;
            if let (Some(connection_id), Some(master)) = (connection_id, response.master_broker_id)
            {
                if master == header.broker_id && !header.designate_elect {
                    shared.note_requester_alive(&broker_name, master, connection_id);
                }
            }
            drop(write);
            tracing::info!(%broker_name, master = ?response.master_broker_id, master_epoch = ?response.master_epoch, "elected a new master");
            shared.notify_role_changed(&broker_name);
            Ok(ElectAnswer {
                code: response_code::SUCCESS,
                remark: None,
                header: Some(response),
                body: Some(body),
            })
        }
        ElectOutcome::MasterStillExists {
            header: response,
            body,
        } => Ok(ElectAnswer {
            code: response_code::CONTROLLER_MASTER_STILL_EXIST,
            remark: Some(format!(
                "The old master {} is still alive, not need to elect new master for broker {}",
                response.master_broker_id.unwrap_or(-1),
                header.broker_name
            )),
            header: Some(response),
            body: Some(body),
        }),
        ElectOutcome::NoMaster { event } => {
            if let Some(event) = event {
                applied(
                    shared.replicate(event).await?,
                    response_code::CONTROLLER_ELECT_MASTER_FAILED,
                )?;
                tracing::warn!(broker_name = %header.broker_name, "the master is gone and no SyncStateSet member is alive to replace it; the set has no master");
            }
            Ok(ElectAnswer {
                code: response_code::CONTROLLER_MASTER_NOT_AVAILABLE,
                remark: Some(
                    "Old master has down and failed to elect a new broker master".to_string(),
                ),
                header: None,
                body: None,
            })
        }
    }
}

/// The NOTIFY_BROKER_ROLE_CHANGED request for `broker_name`'s current master, and the
/// addresses of every registered broker of the set.
pub(crate) fn role_change_notice(
    info: &ReplicasInfo,
    broker_name: &str,
) -> Option<(Vec<String>, RemotingCommand)> {
    let set = info.broker_set(broker_name)?;
    let master = set.master_broker_id?;
    let header = NotifyBrokerRoleChangedRequestHeader {
        master_address: set.address(master).map(str::to_string),
        master_epoch: Some(set.master_epoch),
        sync_state_set_epoch: Some(set.sync_state_set_epoch),
        master_broker_id: Some(master),
    };
    let request = RemotingCommand::request(request_code::NOTIFY_BROKER_ROLE_CHANGED)
        .with_header(&header)
        .with_body(decide::sync_state_set_body(set).encode());
    let addresses = set.brokers.values().map(|r| r.address.clone()).collect();
    Some((addresses, request))
}
