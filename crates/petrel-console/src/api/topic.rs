//! Topics: `GET /api/topics` (every topic with its kind and message count),
//! `POST /api/topics` (create or update on every master of a cluster, mqadmin `updateTopic`),
//! `GET /api/topics/{topic}` (route, queue offsets, put TPS, consuming groups),
//! `DELETE /api/topics/{topic}` (from the masters and name servers, mqadmin `deleteTopic`).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use petrel_client::admin::{QueueData, TopicConfig, TopicStatsTable};
use petrel_protocol::topic::{is_dlq_topic, is_retry_topic, is_system_topic, REPLY_TOPIC_POSTFIX};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{required, ApiError, ApiResult, AppState};

/// Topics whose statistics the list asks for at once.
const STATS_CONCURRENCY: usize = 8;
/// Topics listed with message counts at most; beyond it the list still names every topic
/// but leaves the counts out (a console page is not a bulk export).
const COUNTED_TOPICS_MAX: usize = 2_000;

/// What a topic is for, as the list's filters show it. `brokers` holds the cluster and broker
/// names, which brokers register as topics of their own (as Apache's do).
fn kind(topic: &str, brokers: &BTreeSet<String>) -> &'static str {
    if is_retry_topic(topic) {
        "retry"
    } else if is_dlq_topic(topic) {
        "dlq"
    } else if is_system_topic(topic)
        || brokers.contains(topic)
        || topic
            .strip_suffix(REPLY_TOPIC_POSTFIX)
            .and_then(|rest| rest.strip_suffix('_'))
            .is_some_and(|cluster| brokers.contains(cluster))
    {
        "system"
    } else {
        "normal"
    }
}

/// The cluster and broker names the name server knows.
async fn broker_names(s: &AppState) -> BTreeSet<String> {
    match s.admin.brokers(None).await {
        Ok(brokers) => brokers
            .into_iter()
            .flat_map(|b| [b.cluster, b.broker_name])
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicLine {
    topic: String,
    kind: &'static str,
    /// Messages kept over all queues (max offset − min offset); absent when not counted or
    /// when no broker answered.
    message_count: Option<i64>,
    queues: Option<usize>,
    put_tps: Option<f64>,
}

fn count(stats: &TopicStatsTable) -> i64 {
    stats
        .offset_table
        .values()
        .map(|o| o.max_offset.saturating_sub(o.min_offset).max(0))
        .sum()
}

pub async fn list(State(s): State<AppState>) -> ApiResult<Vec<TopicLine>> {
    let topics = s.admin.topic_list().await?;
    let brokers = broker_names(&s).await;
    let counted = topics.len() <= COUNTED_TOPICS_MAX;
    let permits = Arc::new(Semaphore::new(STATS_CONCURRENCY));
    let mut tasks = JoinSet::new();
    if counted {
        for topic in &topics {
            let (admin, topic, permits) = (s.admin.clone(), topic.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let stats = admin.topic_stats(&topic, None).await.ok();
                (topic, stats)
            });
        }
    }
    let mut stats = std::collections::BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok((topic, Some(st))) = done {
            stats.insert(topic, st);
        }
    }
    Ok(Json(
        topics
            .into_iter()
            .map(|topic| {
                let st = stats.get(&topic);
                TopicLine {
                    kind: kind(&topic, &brokers),
                    message_count: st.map(count),
                    queues: st.map(|st| st.offset_table.len()),
                    put_tps: st.map(|st| st.topic_put_tps),
                    topic,
                }
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTopic {
    topic: Option<String>,
    /// Every master of this cluster; every cluster's masters when absent.
    cluster: Option<String>,
    read_queue_nums: Option<i32>,
    write_queue_nums: Option<i32>,
    /// RocketMQ's permission bits: 6 read+write, 4 read only, 2 write only.
    perm: Option<i32>,
    order: Option<bool>,
}

/// Queues per broker a topic may have here (mqadmin accepts any; 1,024 is Apache's
/// dashboard's limit and far above what a broker serves well).
const QUEUES_MAX: i32 = 1_024;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    topic: String,
    brokers: Vec<String>,
}

pub async fn create(State(s): State<AppState>, Json(req): Json<CreateTopic>) -> ApiResult<Created> {
    let topic = required(&req.topic, "topic")?.to_string();
    let read = req.read_queue_nums.unwrap_or(8);
    let write = req.write_queue_nums.unwrap_or(read);
    for (name, n) in [("readQueueNums", read), ("writeQueueNums", write)] {
        if !(1..=QUEUES_MAX).contains(&n) {
            return Err(ApiError::BadRequest(format!(
                "{name} must be between 1 and {QUEUES_MAX}, not {n}"
            )));
        }
    }
    let perm = req.perm.unwrap_or(6);
    if ![2, 4, 6].contains(&perm) {
        return Err(ApiError::BadRequest(format!(
            "perm must be 2 (write), 4 (read) or 6 (read and write), not {perm}"
        )));
    }
    let config = TopicConfig {
        topic_name: topic.clone(),
        read_queue_nums: read,
        write_queue_nums: write,
        perm,
        order: req.order.unwrap_or(false),
        ..TopicConfig::default()
    };
    let cluster = req
        .cluster
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let masters = s.admin.master_addrs(cluster).await?;
    if masters.is_empty() {
        return Err(ApiError::NotFound(
            "no master broker is registered with the name server; start a broker first".into(),
        ));
    }
    for addr in &masters {
        s.admin.create_or_update_topic(addr, &config).await?;
    }
    Ok(Json(Created {
        topic,
        brokers: masters,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueLine {
    broker_name: String,
    queue_id: i32,
    min_offset: i64,
    max_offset: i64,
    last_update_timestamp: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicDetail {
    topic: String,
    kind: &'static str,
    message_count: i64,
    put_tps: f64,
    /// Per broker: cluster, addresses by broker id.
    brokers: Vec<BrokerLine>,
    queue_datas: Vec<QueueData>,
    queues: Vec<QueueLine>,
    consumer_groups: BTreeSet<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerLine {
    broker_name: String,
    cluster: String,
    addrs: std::collections::BTreeMap<i64, String>,
}

pub async fn detail(
    State(s): State<AppState>,
    Path(topic): Path<String>,
) -> ApiResult<TopicDetail> {
    let route = s.admin.topic_route(&topic).await?;
    let stats = s.admin.topic_stats(&topic, None).await?;
    let consumer_groups = s.admin.topic_consumed_by(&topic).await.unwrap_or_default();
    let brokers = broker_names(&s).await;
    Ok(Json(TopicDetail {
        kind: kind(&topic, &brokers),
        message_count: count(&stats),
        put_tps: stats.topic_put_tps,
        brokers: route
            .broker_datas
            .iter()
            .map(|b| BrokerLine {
                broker_name: b.broker_name.clone(),
                cluster: b.cluster.clone(),
                addrs: b.broker_addrs.clone(),
            })
            .collect(),
        queue_datas: route.queue_datas,
        queues: stats
            .offset_table
            .iter()
            .map(|(mq, o)| QueueLine {
                broker_name: mq.broker_name.clone(),
                queue_id: mq.queue_id,
                min_offset: o.min_offset,
                max_offset: o.max_offset,
                last_update_timestamp: o.last_update_timestamp,
            })
            .collect(),
        consumer_groups,
        topic,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    topic: String,
    brokers: Vec<String>,
}

pub async fn delete(State(s): State<AppState>, Path(topic): Path<String>) -> ApiResult<Deleted> {
    if kind(&topic, &broker_names(&s).await) == "system" {
        return Err(ApiError::BadRequest(format!(
            "{topic} is a system topic; the broker needs it"
        )));
    }
    let route = s.admin.topic_route(&topic).await?;
    let clusters: BTreeSet<&str> = route
        .broker_datas
        .iter()
        .map(|b| b.cluster.as_str())
        .collect();
    let mut brokers = Vec::new();
    for cluster in clusters {
        brokers.extend(s.admin.delete_topic(&topic, cluster).await?);
    }
    Ok(Json(Deleted { topic, brokers }))
}
