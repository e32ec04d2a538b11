//! `GET /api/producers?topic=T&group=G`: the live members of producer group G on the brokers
//! serving topic T (mqadmin `producerConnection`; a broker knows producers only by group).

use axum::extract::{Query, State};
use axum::Json;
use petrel_client::admin::{AdminError, Connection};
use serde::Deserialize;

use super::{required, ApiResult, AppState};

#[derive(Deserialize)]
pub struct ProducerQuery {
    topic: Option<String>,
    group: Option<String>,
}

pub async fn connections(
    State(s): State<AppState>,
    Query(q): Query<ProducerQuery>,
) -> ApiResult<Vec<Connection>> {
    let topic = required(&q.topic, "topic")?;
    let group = required(&q.group, "group")?;
    match s.admin.producer_connection(group, topic).await {
        Ok(c) => Ok(Json(c.connection_set)),
        // No member online is an empty list for a page, not a failure.
        Err(AdminError::ProducerNotOnline(_)) => Ok(Json(Vec::new())),
        Err(e) => Err(e.into()),
    }
}
