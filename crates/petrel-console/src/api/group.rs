//! Consumer groups: `GET /api/groups` (every subscription group with its lag, consume TPS and
//! online members), `POST /api/groups` (create or update on every master, mqadmin
//! `updateSubGroup`), `GET /api/groups/{group}` (lag per queue, members, subscriptions),
//! `DELETE /api/groups/{group}`, `POST /api/groups/{group}/reset-offset` (mqadmin
//! `resetOffsetByTime`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use petrel_client::admin::{
    Admin, AdminError, ConsumeStats, ConsumerConnection, SubscriptionGroupConfig,
};
use petrel_protocol::mix_all;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{required, ApiError, ApiResult, AppState};

/// Groups whose figures the list asks for at once.
const STATS_CONCURRENCY: usize = 8;
/// Groups listed with figures at most (beyond it, names only).
const COUNTED_GROUPS_MAX: usize = 2_000;

/// Groups the brokers and tools use for themselves.
fn is_system_group(group: &str) -> bool {
    mix_all::SYSTEM_GROUPS.contains(&group) || group.starts_with(mix_all::SYSTEM_GROUP_PREFIX)
}

/// Σ (broker offset − committed offset) over the queues: messages stored and not consumed.
fn lag(stats: &ConsumeStats) -> i64 {
    stats
        .offset_table
        .values()
        .map(|o| o.broker_offset.saturating_sub(o.consumer_offset).max(0))
        .sum()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupLine {
    group: String,
    system: bool,
    /// Messages not yet consumed; absent if the group has no offsets yet.
    lag: Option<i64>,
    consume_tps: Option<f64>,
    /// Members online.
    clients: usize,
    consume_type: Option<String>,
    message_model: Option<String>,
    consume_message_orderly: bool,
    retry_max_times: i32,
}

struct Figures {
    stats: Option<ConsumeStats>,
    connection: Option<ConsumerConnection>,
}

async fn figures(admin: &Admin, group: &str) -> Result<Figures, AdminError> {
    let stats = match admin.consume_stats(group, None, None).await {
        Ok(s) => Some(s),
        Err(AdminError::GroupNotExist(_)) => None,
        Err(e) => return Err(e),
    };
    let connection = match admin.consumer_connection(group, None).await {
        Ok(c) => Some(c),
        Err(AdminError::ConsumerNotOnline(_)) => None,
        Err(e) => return Err(e),
    };
    Ok(Figures { stats, connection })
}

fn java_name<T: Serialize>(value: &Option<T>) -> Option<String> {
    value
        .as_ref()
        .and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| v.as_str().map(String::from))
}

pub async fn list(State(s): State<AppState>) -> ApiResult<Vec<GroupLine>> {
    let groups = s.admin.sub_groups(None).await?;
    let permits = Arc::new(Semaphore::new(STATS_CONCURRENCY));
    let mut tasks = JoinSet::new();
    if groups.len() <= COUNTED_GROUPS_MAX {
        for name in groups.keys() {
            let (admin, name, permits) = (s.admin.clone(), name.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let f = figures(&admin, &name).await.ok();
                (name, f)
            });
        }
    }
    let mut found = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok((name, Some(f))) = done {
            found.insert(name, f);
        }
    }
    Ok(Json(
        groups
            .into_iter()
            .map(|(group, config)| {
                let f = found.get(&group);
                let stats = f.and_then(|f| f.stats.as_ref());
                let connection = f.and_then(|f| f.connection.as_ref());
                GroupLine {
                    system: is_system_group(&group),
                    lag: stats.map(lag),
                    consume_tps: stats.map(|s| s.consume_tps),
                    clients: connection.map_or(0, |c| c.connection_set.len()),
                    consume_type: connection.and_then(|c| java_name(&c.consume_type)),
                    message_model: connection.and_then(|c| java_name(&c.message_model)),
                    consume_message_orderly: config.consume_message_orderly,
                    retry_max_times: config.retry_max_times,
                    group,
                }
            })
            .collect(),
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueProgress {
    topic: String,
    broker_name: String,
    queue_id: i32,
    broker_offset: i64,
    consumer_offset: i64,
    lag: i64,
    /// When the last consumed message was stored (epoch ms; 0 if none).
    last_timestamp: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDetail {
    group: String,
    lag: i64,
    consume_tps: f64,
    progress: Vec<QueueProgress>,
    /// Members and subscriptions; absent when no member is online.
    connection: Option<ConsumerConnection>,
}

pub async fn detail(
    State(s): State<AppState>,
    Path(group): Path<String>,
) -> ApiResult<GroupDetail> {
    let f = figures(&s.admin, &group).await?;
    let stats = f.stats.unwrap_or_default();
    if stats.offset_table.is_empty() && f.connection.is_none() {
        // Neither offsets nor members: is it a configured group at all?
        let known = s.admin.sub_groups(None).await?;
        if !known.contains_key(&group) {
            return Err(ApiError::NotFound(format!(
                "consumer group {group} does not exist (no broker has a config, offsets or members for it)"
            )));
        }
    }
    Ok(Json(GroupDetail {
        lag: lag(&stats),
        consume_tps: stats.consume_tps,
        progress: stats
            .offset_table
            .iter()
            .map(|(mq, o)| QueueProgress {
                topic: mq.topic.clone(),
                broker_name: mq.broker_name.clone(),
                queue_id: mq.queue_id,
                broker_offset: o.broker_offset,
                consumer_offset: o.consumer_offset,
                lag: o.broker_offset.saturating_sub(o.consumer_offset).max(0),
                last_timestamp: o.last_timestamp,
            })
            .collect(),
        connection: f.connection,
        group,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateGroup {
    group: Option<String>,
    cluster: Option<String>,
    retry_max_times: Option<i32>,
    consume_message_orderly: Option<bool>,
    consume_broadcast_enable: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changed {
    group: String,
    brokers: Vec<String>,
}

async fn masters(admin: &Admin, cluster: Option<&str>) -> Result<Vec<String>, ApiError> {
    let masters = admin.master_addrs(cluster).await?;
    if masters.is_empty() {
        return Err(ApiError::NotFound(
            "no master broker is registered with the name server; start a broker first".into(),
        ));
    }
    Ok(masters)
}

pub async fn create(State(s): State<AppState>, Json(req): Json<CreateGroup>) -> ApiResult<Changed> {
    let group = required(&req.group, "group")?.to_string();
    let retry_max_times = req.retry_max_times.unwrap_or(16);
    if !(0..=1_000).contains(&retry_max_times) {
        return Err(ApiError::BadRequest(format!(
            "retryMaxTimes must be between 0 and 1000, not {retry_max_times}"
        )));
    }
    let config = SubscriptionGroupConfig {
        group_name: group.clone(),
        retry_max_times,
        consume_message_orderly: req.consume_message_orderly.unwrap_or(false),
        consume_broadcast_enable: req.consume_broadcast_enable.unwrap_or(true),
        ..SubscriptionGroupConfig::default()
    };
    let cluster = req
        .cluster
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let brokers = masters(&s.admin, cluster).await?;
    for addr in &brokers {
        s.admin.create_or_update_sub_group(addr, &config).await?;
    }
    Ok(Json(Changed { group, brokers }))
}

pub async fn delete(State(s): State<AppState>, Path(group): Path<String>) -> ApiResult<Changed> {
    if is_system_group(&group) {
        return Err(ApiError::BadRequest(format!(
            "{group} is a system group; the broker and tools need it"
        )));
    }
    let brokers = masters(&s.admin, None).await?;
    for addr in &brokers {
        s.admin.delete_sub_group(addr, &group, true).await?;
    }
    Ok(Json(Changed { group, brokers }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOffset {
    topic: Option<String>,
    /// Epoch ms: the group next consumes the first message stored at or after it.
    timestamp: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetDone {
    group: String,
    topic: String,
    queues: Vec<QueueOffset>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueOffset {
    broker_name: String,
    queue_id: i32,
    offset: i64,
}

pub async fn reset_offset(
    State(s): State<AppState>,
    Path(group): Path<String>,
    Json(req): Json<ResetOffset>,
) -> ApiResult<ResetDone> {
    let topic = required(&req.topic, "topic")?.to_string();
    let timestamp = req
        .timestamp
        .ok_or_else(|| ApiError::BadRequest("timestamp (epoch ms) is required".into()))?;
    if timestamp < 0 {
        return Err(ApiError::BadRequest(format!(
            "timestamp must be epoch ms, not {timestamp}"
        )));
    }
    // Forced, as the dashboard and `resetOffsetByTime -f true` do: forward as well as back.
    let offsets = s
        .admin
        .reset_offset_by_time(&topic, &group, timestamp, true, None)
        .await?;
    Ok(Json(ResetDone {
        queues: offsets
            .into_iter()
            .map(|(mq, offset)| QueueOffset {
                broker_name: mq.broker_name,
                queue_id: mq.queue_id,
                offset,
            })
            .collect(),
        group,
        topic,
    }))
}
