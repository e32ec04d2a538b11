//! `UPDATE_NAMESRV_CONFIG` (318) and `GET_NAMESRV_CONFIG` (319): the name server's settings
//! as Java properties text (`mqadmin updateNamesrvConfig` / `getNamesrvConfig`).

use petrel_protocol::remoting::RemotingCommand;

use super::{success, ProcessResult};
use crate::config::{parse_properties, properties_text};
use crate::error::RequestError;
use crate::state::NamesrvState;

/// Applies the body's properties, all or nothing. Black-listed properties (`kvConfigPath`,
/// ...) are NO_PERMISSION; unknown ones are ignored, as Java ignores them. Changes last until
/// the process stops (Java also writes them to `configStorePath`; Petrel has no such file).
pub(crate) fn update_namesrv_config(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    if request.body.is_empty() {
        return Ok(success(request));
    }
    let text = std::str::from_utf8(&request.body).map_err(|_| RequestError::ConfigNotUtf8)?;
    let properties = parse_properties(text);
    let mut settings = state.settings.write();
    let ignored = settings.apply_properties(&properties)?;
    state.routes.write().set_settings(settings.route);
    drop(settings);
    tracing::info!(?properties, ?ignored, "name server config updated");
    Ok(success(request))
}

pub(crate) fn get_namesrv_config(state: &NamesrvState, request: &RemotingCommand) -> ProcessResult {
    let text = properties_text(&state.config, &state.settings(), state.local_addr);
    Ok(success(request).with_body(text.into_bytes()))
}
