//! Group commands: updateSubGroup, setConsumeMode, deleteSubGroup, consumerProgress,
//! consumerConnection, producerConnection.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::{ArgGroup, Args};
use petrel_client::admin::{
    version_desc, AdminError, Connection, ConsumeType, SubscriptionGroupConfig,
};
use petrel_protocol::topic::{dlq_topic, retry_topic, RETRY_GROUP_TOPIC_PREFIX};
use serde::Serialize;

use super::output::{format_time, json, Table};
use super::Ctx;

/// A Java enum's constant name (`CLUSTERING`), as the protocol types serialize them.
fn java_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct UpdateSubGroupArgs {
    /// Consumer group name.
    #[arg(short = 'g', long = "groupName")]
    group_name: String,
    /// Create the group on this broker only.
    #[arg(short = 'b', long = "brokerAddr", value_name = "ADDR")]
    broker_addr: Option<String>,
    /// Create the group on every master of this cluster.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: Option<String>,
    /// May the group consume.
    #[arg(short = 's', long = "consumeEnable", value_name = "true|false")]
    consume_enable: Option<bool>,
    /// A new group starts from the min offset.
    #[arg(short = 'm', long = "consumeFromMinEnable", value_name = "true|false")]
    consume_from_min_enable: Option<bool>,
    /// May the group consume in broadcast mode.
    #[arg(
        short = 'd',
        long = "consumeBroadcastEnable",
        value_name = "true|false"
    )]
    consume_broadcast_enable: Option<bool>,
    /// Orderly consumption.
    #[arg(short = 'o', long = "consumeMessageOrderly", value_name = "true|false")]
    consume_message_orderly: Option<bool>,
    /// Queues of the group's retry topic.
    #[arg(short = 'q', long = "retryQueueNums")]
    retry_queue_nums: Option<i32>,
    /// Redeliveries before a message goes to the group's DLQ.
    #[arg(short = 'r', long = "retryMaxTimes")]
    retry_max_times: Option<i32>,
    /// The 5.x retry policy as JSON, passed through to the broker.
    #[arg(short = 'p', long = "groupRetryPolicy", value_name = "JSON", value_parser = parse_json)]
    group_retry_policy: Option<serde_json::Value>,
    /// Consume from this broker id.
    #[arg(short = 'i', long = "brokerId")]
    broker_id: Option<i64>,
    /// Broker id to consume from when consumption is slow.
    #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly")]
    which_broker_when_consume_slowly: Option<i64>,
    /// Tell members when the group's membership changes.
    #[arg(
        short = 'a',
        long = "notifyConsumerIdsChanged",
        value_name = "true|false"
    )]
    notify_consumer_ids_changed: Option<bool>,
}

#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct SetConsumeModeArgs {
    /// Set the mode on this broker only.
    #[arg(short = 'b', long = "brokerAddr", value_name = "ADDR")]
    broker_addr: Option<String>,
    /// Set the mode on every master of this cluster.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: Option<String>,
    /// Topic name.
    #[arg(short = 't', long = "topicName")]
    topic: String,
    /// Consumer group name.
    #[arg(short = 'g', long = "groupName")]
    group: String,
    /// PULL or POP. 5.x remoting push consumers with clientRebalance=false follow it.
    #[arg(short = 'm', long = "mode", value_parser = ["PULL", "POP"])]
    mode: String,
    /// Consumers sharing each queue in POP mode (0: every consumer reads every queue).
    #[arg(short = 'q', long = "popShareQueueNum", default_value_t = 0)]
    pop_share_queue_num: i32,
}

pub async fn set_consume_mode(ctx: &Ctx, a: SetConsumeModeArgs) -> Result<String> {
    use petrel_protocol::remoting::body::MessageRequestMode;
    let mode = if a.mode == "POP" {
        MessageRequestMode::Pop
    } else {
        MessageRequestMode::Pull
    };
    let brokers = targets(ctx, &a.broker_addr, &a.cluster_name).await?;
    let mut text = String::new();
    for addr in &brokers {
        ctx.admin
            .set_message_request_mode(addr, &a.topic, &a.group, mode, a.pop_share_queue_num)
            .await?;
        text.push_str(&format!("set consume mode to {addr} success.\n"));
    }
    if ctx.json {
        return Ok(json(&serde_json::json!({
            "brokers": brokers, "topic": a.topic, "group": a.group,
            "mode": a.mode, "popShareQueueNum": a.pop_share_queue_num,
        })));
    }
    text.push_str(&format!(
        "topic[{}] group[{}] consume mode[{}] popShareQueueNum[{}]\n",
        a.topic, a.group, a.mode, a.pop_share_queue_num
    ));
    Ok(text)
}

fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))
}

/// The config mqadmin builds: Java's defaults except broadcast and from-min off, then flags.
fn sub_group_config(a: &UpdateSubGroupArgs) -> SubscriptionGroupConfig {
    let mut c = SubscriptionGroupConfig {
        group_name: a.group_name.trim().to_string(),
        consume_broadcast_enable: false,
        consume_from_min_enable: false,
        ..Default::default()
    };
    if let Some(v) = a.consume_enable {
        c.consume_enable = v;
    }
    if let Some(v) = a.consume_from_min_enable {
        c.consume_from_min_enable = v;
    }
    if let Some(v) = a.consume_broadcast_enable {
        c.consume_broadcast_enable = v;
    }
    if let Some(v) = a.consume_message_orderly {
        c.consume_message_orderly = v;
    }
    if let Some(v) = a.retry_queue_nums {
        c.retry_queue_nums = v;
    }
    if let Some(v) = a.retry_max_times {
        c.retry_max_times = v;
    }
    if let Some(v) = &a.group_retry_policy {
        c.group_retry_policy = Some(v.clone());
    }
    if let Some(v) = a.broker_id {
        c.broker_id = v;
    }
    if let Some(v) = a.which_broker_when_consume_slowly {
        c.which_broker_when_consume_slowly = v;
    }
    if let Some(v) = a.notify_consumer_ids_changed {
        c.notify_consumer_ids_changed_enable = v;
    }
    c
}

/// The broker addresses a group command goes to: `-b`, or the masters of `-c`.
async fn targets(
    ctx: &Ctx,
    addr: &Option<String>,
    cluster: &Option<String>,
) -> Result<Vec<String>> {
    Ok(match (addr, cluster) {
        (Some(addr), _) => vec![addr.clone()],
        (None, cluster) => {
            let masters = ctx.admin.master_addrs(cluster.as_deref()).await?;
            if masters.is_empty() {
                anyhow::bail!(
                    "cluster {} has no master broker",
                    cluster.as_deref().unwrap_or("")
                );
            }
            masters
        }
    })
}

pub async fn update_sub_group(ctx: &Ctx, a: UpdateSubGroupArgs) -> Result<String> {
    let config = sub_group_config(&a);
    let brokers = targets(ctx, &a.broker_addr, &a.cluster_name).await?;
    let mut text = String::new();
    for addr in &brokers {
        ctx.admin.create_or_update_sub_group(addr, &config).await?;
        text.push_str(&format!("create subscription group to {addr} success.\n"));
    }
    if ctx.json {
        return Ok(json(
            &serde_json::json!({ "brokers": brokers, "config": config }),
        ));
    }
    text.push_str(&format!(
        "SubscriptionGroupConfig [groupName={}, consumeEnable={}, consumeFromMinEnable={}, \
         consumeBroadcastEnable={}, consumeMessageOrderly={}, retryQueueNums={}, \
         retryMaxTimes={}, brokerId={}, whichBrokerWhenConsumeSlowly={}, \
         notifyConsumerIdsChangedEnable={}]\n",
        config.group_name,
        config.consume_enable,
        config.consume_from_min_enable,
        config.consume_broadcast_enable,
        config.consume_message_orderly,
        config.retry_queue_nums,
        config.retry_max_times,
        config.broker_id,
        config.which_broker_when_consume_slowly,
        config.notify_consumer_ids_changed_enable
    ));
    Ok(text)
}

#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct DeleteSubGroupArgs {
    /// Subscription group name.
    #[arg(short = 'g', long = "groupName")]
    group_name: String,
    /// Delete from this broker only.
    #[arg(short = 'b', long = "brokerAddr", value_name = "ADDR")]
    broker_addr: Option<String>,
    /// Delete from every master of this cluster, with the group's retry and DLQ topics.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: Option<String>,
    /// Also remove the group's committed offsets.
    #[arg(short = 'r', long = "removeOffset", value_name = "true|false")]
    remove_offset: Option<bool>,
}

pub async fn delete_sub_group(ctx: &Ctx, a: DeleteSubGroupArgs) -> Result<String> {
    let group = a.group_name.trim();
    let clean = a.remove_offset.unwrap_or(false);
    let brokers = targets(ctx, &a.broker_addr, &a.cluster_name).await?;
    let mut text = String::new();
    for addr in &brokers {
        ctx.admin.delete_sub_group(addr, group, clean).await?;
        match &a.cluster_name {
            Some(c) if a.broker_addr.is_none() => text.push_str(&format!(
                "delete subscription group [{group}] from broker [{addr}] in cluster [{c}] success.\n"
            )),
            _ => text.push_str(&format!(
                "delete subscription group [{group}] from broker [{addr}] success.\n"
            )),
        }
    }
    let mut deleted_topics = Vec::new();
    if let (None, Some(cluster)) = (&a.broker_addr, &a.cluster_name) {
        for topic in [retry_topic(group), dlq_topic(group)] {
            ctx.admin.delete_topic(&topic, cluster).await?;
            text.push_str(&format!(
                "delete topic [{topic}] from cluster [{cluster}] success.\n"
            ));
            deleted_topics.push(topic);
        }
    }
    if ctx.json {
        return Ok(json(&serde_json::json!({
            "group": group,
            "brokers": brokers,
            "removeOffset": clean,
            "deletedTopics": deleted_topics,
        })));
    }
    Ok(text)
}

#[derive(Args)]
pub struct ConsumerProgressArgs {
    /// Consumer group; without it, every group with a retry topic is listed.
    #[arg(short = 'g', long = "groupName")]
    group_name: Option<String>,
    /// Only this topic of the group.
    #[arg(short = 't', long = "topicName", requires = "group_name")]
    topic_name: Option<String>,
    /// Only the brokers of this cluster.
    #[arg(short = 'c', long = "cluster", value_name = "CLUSTER")]
    cluster: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueProgress {
    topic: String,
    broker_name: String,
    queue_id: i32,
    broker_offset: i64,
    consumer_offset: i64,
    pull_offset: i64,
    /// brokerOffset − consumerOffset: the lag.
    diff: i64,
    /// pullOffset − consumerOffset: pulled, not yet committed.
    inflight: i64,
    last_timestamp: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupProgress {
    group: String,
    count: usize,
    version: String,
    consume_type: String,
    message_model: String,
    consume_tps: f64,
    diff_total: i64,
}

pub async fn consumer_progress(ctx: &Ctx, a: ConsumerProgressArgs) -> Result<String> {
    let Some(group) = a.group_name.as_deref().map(str::trim) else {
        return all_groups_progress(ctx, a.cluster.as_deref()).await;
    };
    let stats = ctx
        .admin
        .consume_stats(
            group,
            a.topic_name.as_deref().map(str::trim),
            a.cluster.as_deref(),
        )
        .await?;
    let mut queues: Vec<QueueProgress> = stats
        .offset_table
        .iter()
        .map(|(mq, o)| QueueProgress {
            topic: mq.topic.clone(),
            broker_name: mq.broker_name.clone(),
            queue_id: mq.queue_id,
            broker_offset: o.broker_offset,
            consumer_offset: o.consumer_offset,
            pull_offset: o.pull_offset,
            diff: o.broker_offset - o.consumer_offset,
            inflight: o.pull_offset - o.consumer_offset,
            last_timestamp: o.last_timestamp,
        })
        .collect();
    queues.sort_by(|x, y| {
        (&x.topic, &x.broker_name, x.queue_id).cmp(&(&y.topic, &y.broker_name, y.queue_id))
    });
    let diff_total: i64 = queues.iter().map(|q| q.diff).sum();
    let inflight_total: i64 = queues.iter().map(|q| q.inflight).sum();
    if ctx.json {
        return Ok(json(&serde_json::json!({
            "group": group,
            "queues": queues,
            "consumeTps": stats.consume_tps,
            "diffTotal": diff_total,
            "inflightTotal": inflight_total,
        })));
    }
    let mut table = Table::new(&[
        "Topic",
        "Broker Name",
        "QID",
        "Broker Offset",
        "Consumer Offset",
        "Diff",
        "Inflight",
        "LastTime (UTC)",
    ]);
    for q in &queues {
        table.row(vec![
            q.topic.clone(),
            q.broker_name.clone(),
            q.queue_id.to_string(),
            q.broker_offset.to_string(),
            q.consumer_offset.to_string(),
            q.diff.to_string(),
            q.inflight.to_string(),
            if q.last_timestamp == 0 {
                "N/A".into()
            } else {
                format_time(q.last_timestamp)
            },
        ]);
    }
    let mut text = table.render();
    text.push_str(&format!(
        "\nConsume TPS: {:.2}\nConsume Diff Total: {diff_total}\nConsume Inflight Total: {inflight_total}\n",
        stats.consume_tps
    ));
    Ok(text)
}

/// mqadmin's `consumerProgress` without `-g`: every group that has a retry topic.
async fn all_groups_progress(ctx: &Ctx, cluster: Option<&str>) -> Result<String> {
    let mut rows = Vec::new();
    for topic in ctx.admin.topic_list().await? {
        let Some(group) = topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
            continue;
        };
        let (consume_tps, diff_total) = match ctx.admin.consume_stats(group, None, cluster).await {
            Ok(s) => (
                s.consume_tps,
                s.offset_table
                    .values()
                    .map(|o| o.broker_offset - o.consumer_offset)
                    .sum(),
            ),
            Err(AdminError::GroupNotExist(_)) => (0.0, 0),
            Err(e) => return Err(e.into()),
        };
        let mut row = GroupProgress {
            group: group.to_string(),
            count: 0,
            version: "OFFLINE".into(),
            consume_type: String::new(),
            message_model: String::new(),
            consume_tps,
            diff_total,
        };
        match ctx.admin.consumer_connection(group, None).await {
            Ok(cc) => {
                row.count = cc.connection_set.len();
                if let Some(min) = cc.connection_set.iter().map(|c| c.version).min() {
                    row.version = version_desc(min);
                }
                row.consume_type = match cc.consume_type {
                    Some(ConsumeType::ConsumeActively) => "PULL".into(),
                    Some(ConsumeType::ConsumePassively) => "PUSH".into(),
                    Some(ConsumeType::ConsumePop) => "POP".into(),
                    None => String::new(),
                };
                row.message_model = cc.message_model.map(|m| java_name(&m)).unwrap_or_default();
            }
            Err(AdminError::ConsumerNotOnline(_)) => {}
            Err(e) => return Err(e.into()),
        }
        rows.push(row);
    }
    if ctx.json {
        return Ok(json(&serde_json::json!({ "groups": rows })));
    }
    let mut table = Table::new(&[
        "Group",
        "Count",
        "Version",
        "Type",
        "Model",
        "TPS",
        "Diff Total",
    ]);
    for r in rows {
        table.row(vec![
            r.group,
            r.count.to_string(),
            r.version,
            r.consume_type,
            r.message_model,
            format!("{}", r.consume_tps as i64),
            r.diff_total.to_string(),
        ]);
    }
    Ok(table.render())
}

#[derive(Args)]
pub struct ConsumerConnectionArgs {
    /// Consumer group name.
    #[arg(short = 'g', long = "consumerGroup")]
    consumer_group: String,
    /// Ask only this broker.
    #[arg(short = 'b', long = "brokerAddr", value_name = "ADDR")]
    broker_addr: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionJson {
    client_id: String,
    client_addr: String,
    language: String,
    version: i32,
    version_desc: String,
}

impl From<&Connection> for ConnectionJson {
    fn from(c: &Connection) -> Self {
        ConnectionJson {
            client_id: c.client_id.clone(),
            client_addr: c.client_addr.clone(),
            language: java_name(&c.language),
            version: c.version,
            version_desc: version_desc(c.version),
        }
    }
}

pub async fn consumer_connection(ctx: &Ctx, a: ConsumerConnectionArgs) -> Result<String> {
    let group = a.consumer_group.trim();
    let cc = ctx
        .admin
        .consumer_connection(group, a.broker_addr.as_deref())
        .await?;
    let connections: Vec<ConnectionJson> = cc.connection_set.iter().map(Into::into).collect();
    let consume_type = cc.consume_type.map(|t| java_name(&t)).unwrap_or_default();
    let message_model = cc.message_model.map(|m| java_name(&m)).unwrap_or_default();
    let from_where = cc
        .consume_from_where
        .map(|w| java_name(&w))
        .unwrap_or_default();
    if ctx.json {
        let subscriptions: BTreeMap<&String, serde_json::Value> = cc
            .subscription_table
            .iter()
            .map(|(t, s)| {
                (
                    t,
                    serde_json::json!({
                        "subExpression": s.sub_string,
                        "expressionType": s.expression_type,
                    }),
                )
            })
            .collect();
        return Ok(json(&serde_json::json!({
            "group": group,
            "connections": connections,
            "subscriptions": subscriptions,
            "consumeType": consume_type,
            "messageModel": message_model,
            "consumeFromWhere": from_where,
        })));
    }
    let mut table = Table::new(&["ClientId", "ClientAddr", "Language", "Version"]);
    for c in &connections {
        table.row(vec![
            c.client_id.clone(),
            c.client_addr.clone(),
            c.language.clone(),
            c.version_desc.clone(),
        ]);
    }
    let mut text = table.render();
    text.push_str("\nBelow is subscription:\n");
    let mut subs = Table::new(&["Topic", "SubExpression"]);
    for (topic, s) in &cc.subscription_table {
        subs.row(vec![topic.clone(), s.sub_string.clone()]);
    }
    text.push_str(&subs.render());
    text.push_str(&format!(
        "\nConsumeType: {consume_type}\nMessageModel: {message_model}\nConsumeFromWhere: {from_where}\n"
    ));
    Ok(text)
}

#[derive(Args)]
pub struct ProducerConnectionArgs {
    /// Producer group name.
    #[arg(short = 'g', long = "producerGroup")]
    producer_group: String,
    /// A topic the group sends to (its brokers are asked).
    #[arg(short = 't', long = "topic")]
    topic: String,
}

pub async fn producer_connection(ctx: &Ctx, a: ProducerConnectionArgs) -> Result<String> {
    let group = a.producer_group.trim();
    let pc = ctx.admin.producer_connection(group, a.topic.trim()).await?;
    let connections: Vec<ConnectionJson> = pc.connection_set.iter().map(Into::into).collect();
    if ctx.json {
        return Ok(json(&serde_json::json!({
            "group": group,
            "connections": connections,
        })));
    }
    let mut table = Table::new(&["No", "ClientId", "ClientAddr", "Language", "Version"]);
    for (i, c) in connections.iter().enumerate() {
        table.row(vec![
            format!("{:04}", i + 1),
            c.client_id.clone(),
            c.client_addr.clone(),
            c.language.clone(),
            c.version_desc.clone(),
        ]);
    }
    Ok(table.render())
}
