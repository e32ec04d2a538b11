//! Admin requests: GET_CONTROLLER_CONFIG (1010) and UPDATE_CONTROLLER_CONFIG (1009), per
//! controller (not replicated, as in Apache), and CLEAN_BROKER_DATA (1011).

use std::sync::Arc;

use petrel_protocol::remoting::header::CleanControllerBrokerDataRequestHeader;
use petrel_protocol::remoting::{response_code, RemotingCommand};

use super::{applied, header, ok, ProcessResult};
use crate::config::{parse_properties, ConfigError};
use crate::decide;
use crate::error::Refusal;
use crate::server::Shared;

pub(crate) fn get_controller_config(
    shared: &Arc<Shared>,
    request: &RemotingCommand,
) -> ProcessResult {
    let text = shared.config.read().properties_text();
    Ok(ok(request).with_body(text.into_bytes()))
}

pub(crate) fn update_controller_config(
    shared: &Arc<Shared>,
    request: &RemotingCommand,
) -> ProcessResult {
    let text = std::str::from_utf8(&request.body)
        .map_err(|_| Refusal::invalid_request("the properties body is not UTF-8"))?;
    let properties = parse_properties(text);
    shared
        .config
        .write()
        .apply_runtime_properties(&properties)
        .map_err(|e| match e {
            ConfigError::Unsupported { .. } => {
                Refusal::new(response_code::NO_PERMISSION, e.to_string())
            }
            other => Refusal::invalid_request(other.to_string()),
        })?;
    tracing::info!(?properties, "controller configuration updated");
    shared.scan_wake.notify_one();
    Ok(ok(request))
}

pub(crate) async fn clean_broker_data(
    shared: &Arc<Shared>,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: CleanControllerBrokerDataRequestHeader = header(request)?;
    let _write = shared.write_lock.lock().await;
    shared.linearizable().await?;
    let event = shared.decide(|info, live| decide::clean_broker_data(info, &header, live))?;
    applied(
        shared.replicate(event).await?,
        response_code::CONTROLLER_INVALID_CLEAN_BROKER_METADATA,
    )?;
    tracing::info!(broker_name = %header.broker_name, ids = ?header.broker_controller_ids_to_clean, "broker data cleaned");
    Ok(ok(request))
}
