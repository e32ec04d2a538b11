//! `GET /api/cluster`: every broker the name server lists, with `clusterList`'s figures
//! (in/out TPS over the last 10 s, today's totals, disk use). The page polls it to draw its
//! live TPS charts.

use axum::extract::State;
use axum::Json;
use petrel_client::admin::cluster::BrokerFigures;
use serde::Serialize;

use super::{now_ms, ApiResult, AppState};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerView {
    cluster: String,
    broker_name: String,
    broker_id: i64,
    addr: String,
    #[serde(flatten)]
    figures: BrokerFigures,
    /// Why the figures are missing, when the broker did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    namesrv_addrs: Vec<String>,
    brokers: Vec<BrokerView>,
    /// When the figures were read (epoch ms), for the charts' time axis.
    timestamp: i64,
}

pub async fn cluster(State(s): State<AppState>) -> ApiResult<ClusterView> {
    let mut brokers = Vec::new();
    for b in s.admin.brokers(None).await? {
        // One broker that does not answer must not hide the others.
        let (figures, error) = match s.admin.broker_runtime_info(&b.addr).await {
            Ok(table) => (BrokerFigures::from_runtime_info(&table, now_ms()), None),
            Err(e) => (BrokerFigures::default(), Some(e.to_string())),
        };
        brokers.push(BrokerView {
            cluster: b.cluster,
            broker_name: b.broker_name,
            broker_id: b.broker_id,
            addr: b.addr,
            figures,
            error,
        });
    }
    Ok(Json(ClusterView {
        namesrv_addrs: s.admin.namesrv_addrs().to_vec(),
        brokers,
        timestamp: now_ms(),
    }))
}
