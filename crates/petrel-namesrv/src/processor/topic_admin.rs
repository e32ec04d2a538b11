//! Topic changes made by admin tools: `DELETE_TOPIC_IN_NAMESRV` (216) and
//! `REGISTER_TOPIC_IN_NAMESRV` (217).

use petrel_protocol::remoting::body::{JsonBody, TopicRouteData};
use petrel_protocol::remoting::RemotingCommand;

use super::{success, ProcessResult};
use crate::error::RequestError;
use crate::state::NamesrvState;
use petrel_protocol::remoting::header::{
    DeleteTopicFromNamesrvRequestHeader, RegisterTopicRequestHeader,
};

/// `DELETE_TOPIC_IN_NAMESRV`: with a non-empty `clusterName`, only that cluster's queues.
pub(crate) fn delete_topic_in_namesrv(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: DeleteTopicFromNamesrvRequestHeader = request.decode_header()?;
    let cluster = header.cluster_name.as_deref().filter(|c| !c.is_empty());
    state.routes.write().delete_topic(&header.topic, cluster);
    tracing::info!(topic = %header.topic, cluster = cluster.unwrap_or("*"), "topic deleted from the routes");
    Ok(success(request))
}

/// `REGISTER_TOPIC_IN_NAMESRV`: the body's queue datas become the topic's queues on those
/// (registered) broker groups. SUCCESS even when nothing was applied, as in Java.
pub(crate) fn register_topic_in_namesrv(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: RegisterTopicRequestHeader = request.decode_header()?;
    if request.body.is_empty() {
        return Ok(success(request));
    }
    let route = TopicRouteData::decode(&request.body).map_err(|source| RequestError::Body {
        what: "TopicRouteData",
        source,
    })?;
    if !route.queue_datas.is_empty()
        && !state
            .routes
            .write()
            .register_topic(&header.topic, route.queue_datas)
    {
        tracing::warn!(topic = %header.topic, "register topic names a broker that is not registered; ignored");
    }
    Ok(success(request))
}
