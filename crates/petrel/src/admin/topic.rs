//! Topic commands: updateTopic, deleteTopic, topicList, topicRoute, topicStatus.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use clap::{ArgGroup, Args};
use petrel_client::admin::{TopicConfig, TopicFilterType};
use petrel_protocol::perm::perm_to_string;
use petrel_protocol::topic::{is_dlq_topic, is_retry_topic};
use serde::Serialize;

use super::output::{format_time, json, Table};
use super::Ctx;

#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct UpdateTopicArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Create the topic on this broker only.
    #[arg(short = 'b', long = "brokerAddr", value_name = "ADDR")]
    broker_addr: Option<String>,
    /// Create the topic on every master of this cluster.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: Option<String>,
    /// Read queues per broker.
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    read_queue_nums: i32,
    /// Write queues per broker.
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    write_queue_nums: i32,
    /// Permission: 2 write, 4 read, 6 read and write.
    #[arg(short = 'p', long = "perm", default_value_t = 6, value_parser = parse_perm)]
    perm: i32,
    /// Ordered topic: also records brokerName:queueNums in the name servers' order config.
    #[arg(short = 'o', long = "order", value_name = "true|false")]
    order: Option<bool>,
    /// Topic attributes, e.g. +message.type=FIFO (comma-separated).
    #[arg(short = 'a', long = "attributes", value_name = "+KEY=VALUE,...", value_parser = parse_attributes)]
    attributes: Option<BTreeMap<String, String>>,
}

fn parse_perm(text: &str) -> Result<i32, String> {
    match text.trim().parse::<i32>() {
        Ok(p @ (2 | 4 | 6)) => Ok(p),
        _ => Err(format!(
            "{text:?}: the permission is 2 (W), 4 (R) or 6 (RW)"
        )),
    }
}

fn parse_attributes(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some(pair) = part.strip_prefix('+') else {
            return Err(format!(
                "{part:?}: attributes are +key=value (removing one with -key is not supported)"
            ));
        };
        let (k, v) = pair
            .split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .ok_or_else(|| format!("{part:?}: attributes are +key=value"))?;
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UpdateTopicJson {
    topic: String,
    brokers: Vec<String>,
    read_queue_nums: i32,
    write_queue_nums: i32,
    perm: i32,
    order: bool,
    attributes: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_conf: Option<String>,
}

pub async fn update_topic(ctx: &Ctx, a: UpdateTopicArgs) -> Result<String> {
    let order = a.order.unwrap_or(false);
    let config = TopicConfig {
        topic_name: a.topic.trim().to_string(),
        read_queue_nums: a.read_queue_nums,
        write_queue_nums: a.write_queue_nums,
        perm: a.perm,
        topic_filter_type: TopicFilterType::SingleTag,
        order,
        attributes: a.attributes.unwrap_or_default(),
        ..Default::default()
    };
    let admin = &ctx.admin;
    let (brokers, broker_names) = match (&a.broker_addr, &a.cluster_name) {
        (Some(addr), _) => {
            let name = if order {
                admin.broker_name_of(addr).await?
            } else {
                None
            };
            (vec![addr.clone()], name.into_iter().collect::<Vec<_>>())
        }
        (None, Some(cluster)) => {
            let masters: Vec<_> = admin
                .brokers(Some(cluster))
                .await?
                .into_iter()
                .filter(|b| b.is_master())
                .collect();
            if masters.is_empty() {
                bail!("cluster {cluster} has no master broker");
            }
            let names = masters.iter().map(|b| b.broker_name.clone()).collect();
            (masters.into_iter().map(|b| b.addr).collect(), names)
        }
        (None, None) => bail!("give -b or -c"),
    };
    let mut text = String::new();
    for addr in &brokers {
        admin.create_or_update_topic(addr, &config).await?;
        text.push_str(&format!("create topic to {addr} success.\n"));
    }
    let mut order_conf = None;
    if order {
        if broker_names.is_empty() {
            bail!(
                "the topic was created, but broker {} is not registered with the name server, so \
                 its order config cannot be recorded",
                brokers.join(",")
            );
        }
        let conf = broker_names
            .iter()
            .map(|b| format!("{b}:{}", config.write_queue_nums))
            .collect::<Vec<_>>()
            .join(";");
        admin.put_order_conf(&config.topic_name, &conf).await?;
        text.push_str(&format!(
            "set orderConf. isOrder=true, orderConf=[{conf}]\n"
        ));
        order_conf = Some(conf);
    }
    if ctx.json {
        return Ok(json(&UpdateTopicJson {
            topic: config.topic_name,
            brokers,
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            order,
            attributes: config.attributes,
            order_conf,
        }));
    }
    text.push_str(&format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, \
         topicFilterType=SINGLE_TAG, order={}, attributes={:?}]\n",
        config.topic_name,
        config.read_queue_nums,
        config.write_queue_nums,
        perm_to_string(config.perm),
        order,
        config.attributes
    ));
    Ok(text)
}

#[derive(Args)]
pub struct DeleteTopicArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Delete from the masters of this cluster.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: String,
}

pub async fn delete_topic(ctx: &Ctx, a: DeleteTopicArgs) -> Result<String> {
    let topic = a.topic.trim();
    // An unknown topic is an error rather than a silent success (mqadmin deletes blindly).
    ctx.admin.topic_route(topic).await?;
    let brokers = ctx.admin.delete_topic(topic, &a.cluster_name).await?;
    if ctx.json {
        #[derive(Serialize)]
        struct Deleted<'a> {
            topic: &'a str,
            cluster: &'a str,
            brokers: Vec<String>,
        }
        return Ok(json(&Deleted {
            topic,
            cluster: &a.cluster_name,
            brokers,
        }));
    }
    Ok(format!(
        "delete topic [{topic}] from cluster [{}] success.\ndelete topic [{topic}] from NameServer success.\n",
        a.cluster_name
    ))
}

#[derive(Args)]
pub struct TopicListArgs {
    /// Also show each topic's cluster and consumer groups (retry and DLQ topics left out).
    #[arg(short = 'c', long = "clusterModel")]
    cluster_model: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicRow {
    cluster: String,
    topic: String,
    consumer_groups: Vec<String>,
}

pub async fn topic_list(ctx: &Ctx, a: TopicListArgs) -> Result<String> {
    let topics = ctx.admin.topic_list().await?;
    if !a.cluster_model {
        if ctx.json {
            return Ok(json(&serde_json::json!({ "topicList": topics })));
        }
        return Ok(topics.iter().map(|t| format!("{t}\n")).collect());
    }
    let mut rows = Vec::new();
    for topic in topics {
        if is_retry_topic(&topic) || is_dlq_topic(&topic) {
            continue;
        }
        // A topic whose route vanished meanwhile is listed without details, as mqadmin does.
        let cluster = match ctx.admin.topic_route(&topic).await {
            Ok(route) => route
                .broker_datas
                .first()
                .map(|b| b.cluster.clone())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        let groups = ctx
            .admin
            .topic_consumed_by(&topic)
            .await
            .unwrap_or_default();
        rows.push(TopicRow {
            cluster,
            topic,
            consumer_groups: groups.into_iter().collect(),
        });
    }
    if ctx.json {
        return Ok(json(&serde_json::json!({ "topicList": rows })));
    }
    let mut table = Table::new(&["Cluster Name", "Topic", "Consumer Group"]);
    for row in rows {
        if row.consumer_groups.is_empty() {
            table.row(vec![row.cluster.clone(), row.topic.clone(), String::new()]);
        }
        for g in row.consumer_groups {
            table.row(vec![row.cluster.clone(), row.topic.clone(), g]);
        }
    }
    Ok(table.render())
}

#[derive(Args)]
pub struct TopicRouteArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// List format (the default here; kept for mqadmin scripts).
    #[arg(short = 'l', long = "list")]
    list: bool,
}

pub async fn topic_route(ctx: &Ctx, a: TopicRouteArgs) -> Result<String> {
    let _ = a.list;
    let route = ctx.admin.topic_route(a.topic.trim()).await?;
    if ctx.json {
        return Ok(json(&route));
    }
    let mut brokers = route.broker_datas.clone();
    brokers.sort_by(|x, y| x.broker_name.cmp(&y.broker_name));
    let mut table = Table::new(&[
        "ClusterName",
        "BrokerName",
        "BrokerAddrs",
        "ReadQueue",
        "WriteQueue",
        "Perm",
    ]);
    let (mut read_total, mut write_total, mut count) = (0, 0, 0);
    for b in &brokers {
        let Some(q) = route
            .queue_datas
            .iter()
            .find(|q| q.broker_name == b.broker_name)
        else {
            continue;
        };
        count += 1;
        read_total += q.read_queue_nums;
        write_total += q.write_queue_nums;
        let addrs = b
            .broker_addrs
            .iter()
            .map(|(id, addr)| format!("{id}={addr}"))
            .collect::<Vec<_>>()
            .join(",");
        table.row(vec![
            b.cluster.clone(),
            b.broker_name.clone(),
            format!("{{{addrs}}}"),
            q.read_queue_nums.to_string(),
            q.write_queue_nums.to_string(),
            q.perm.to_string(),
        ]);
    }
    table.row(vec![
        "Total:".into(),
        count.to_string(),
        String::new(),
        read_total.to_string(),
        write_total.to_string(),
        String::new(),
    ]);
    Ok(table.render())
}

#[derive(Args)]
pub struct TopicStatusArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Only the brokers of this cluster.
    #[arg(short = 'c', long = "cluster", value_name = "CLUSTER")]
    cluster: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueStatus {
    broker_name: String,
    queue_id: i32,
    min_offset: i64,
    max_offset: i64,
    last_update_timestamp: i64,
}

pub async fn topic_status(ctx: &Ctx, a: TopicStatusArgs) -> Result<String> {
    let topic = a.topic.trim();
    let stats = ctx.admin.topic_stats(topic, a.cluster.as_deref()).await?;
    let mut queues: Vec<QueueStatus> = stats
        .offset_table
        .iter()
        .map(|(mq, o)| QueueStatus {
            broker_name: mq.broker_name.clone(),
            queue_id: mq.queue_id,
            min_offset: o.min_offset,
            max_offset: o.max_offset,
            last_update_timestamp: o.last_update_timestamp,
        })
        .collect();
    queues.sort_by(|x, y| (&x.broker_name, x.queue_id).cmp(&(&y.broker_name, y.queue_id)));
    if ctx.json {
        return Ok(json(&serde_json::json!({
            "topic": topic,
            "queues": queues,
            "topicPutTps": stats.topic_put_tps,
        })));
    }
    let mut table = Table::new(&[
        "Broker Name",
        "QID",
        "Min Offset",
        "Max Offset",
        "Last Updated (UTC)",
    ]);
    for q in &queues {
        table.row(vec![
            q.broker_name.clone(),
            q.queue_id.to_string(),
            q.min_offset.to_string(),
            q.max_offset.to_string(),
            if q.last_update_timestamp > 0 {
                format_time(q.last_update_timestamp)
            } else {
                String::new()
            },
        ]);
    }
    let mut text = table.render();
    text.push_str(&format!("\nTopic Put TPS: {:?}\n", stats.topic_put_tps));
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_and_perms_are_checked_like_mqadmin() {
        let a = parse_attributes("+message.type=FIFO, +a=1").unwrap();
        assert_eq!(a["message.type"], "FIFO");
        assert_eq!(a["a"], "1");
        assert!(parse_attributes("-a").is_err());
        assert!(parse_attributes("+a").is_err());
        assert_eq!(parse_perm("6"), Ok(6));
        assert!(parse_perm("7").is_err());
    }
}
