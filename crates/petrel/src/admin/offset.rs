//! resetOffsetByTime: move a consumer group's offsets on a topic to a point in time (or one
//! queue to an offset). Live consumers are told by the broker and continue from there.

use anyhow::{Context, Result};
use clap::Args;
use petrel_client::MessageQueue;
use serde::Serialize;

use super::output::{json, Table};
use super::{time_arg, Ctx};

#[derive(Args)]
pub struct ResetOffsetByTimeArgs {
    /// Consumer group.
    #[arg(short = 'g', long = "group")]
    group: String,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// The time: now, epoch ms or yyyy-MM-dd#HH:mm:ss:SSS (UTC).
    #[arg(short = 's', long = "timestamp", value_parser = time_arg)]
    timestamp: i64,
    /// false: an offset only moves back (never skips messages).
    #[arg(short = 'f', long = "force", default_value_t = true, action = clap::ArgAction::Set, value_name = "true|false")]
    force: bool,
    /// The broker of the one queue to reset (with -q).
    #[arg(short = 'b', long = "broker", value_name = "ADDR", requires = "queue")]
    broker: Option<String>,
    /// Reset only this queue (with -b).
    #[arg(short = 'q', long = "queue", requires = "broker")]
    queue: Option<i32>,
    /// With -b and -q: the offset to set instead of the one found by time.
    #[arg(short = 'o', long = "offset", requires = "queue")]
    offset: Option<i64>,
    /// Only the brokers of this cluster.
    #[arg(short = 'c', long = "cluster", value_name = "CLUSTER")]
    cluster: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueOffset {
    broker_name: String,
    queue_id: i32,
    offset: i64,
}

pub async fn reset_offset_by_time(ctx: &Ctx, a: ResetOffsetByTimeArgs) -> Result<String> {
    let (group, topic) = (a.group.trim(), a.topic.trim());
    let mut offsets: Vec<QueueOffset> = match (&a.broker, a.queue) {
        (Some(addr), Some(queue_id)) => {
            let route = ctx.admin.topic_route(topic).await?;
            let broker_name = route
                .broker_datas
                .iter()
                .find(|b| b.broker_addrs.values().any(|x| x == addr))
                .map(|b| b.broker_name.clone())
                .with_context(|| format!("broker {addr} does not serve topic {topic}"))?;
            let mq = MessageQueue::new(topic, broker_name.clone(), queue_id);
            let offset = ctx
                .admin
                .reset_offset_of_queue(addr, &mq, group, a.offset, a.timestamp)
                .await?;
            vec![QueueOffset {
                broker_name,
                queue_id,
                offset,
            }]
        }
        _ => ctx
            .admin
            .reset_offset_by_time(topic, group, a.timestamp, a.force, a.cluster.as_deref())
            .await?
            .into_iter()
            .map(|(mq, offset)| QueueOffset {
                broker_name: mq.broker_name,
                queue_id: mq.queue_id,
                offset,
            })
            .collect(),
    };
    offsets.sort_by(|x, y| (&x.broker_name, x.queue_id).cmp(&(&y.broker_name, y.queue_id)));
    if ctx.json {
        return Ok(json(&serde_json::json!({
            "group": group,
            "topic": topic,
            "timestamp": a.timestamp,
            "force": a.force,
            "offsets": offsets,
        })));
    }
    let mut text = format!(
        "reset consumer offset by specified group[{group}], topic[{topic}], force[{}], \
         timestamp[{}]\n",
        a.force, a.timestamp
    );
    let mut table = Table::new(&["brokerName", "queueId", "offset"]);
    for o in offsets {
        table.row(vec![
            o.broker_name,
            o.queue_id.to_string(),
            o.offset.to_string(),
        ]);
    }
    text.push_str(&table.render());
    Ok(text)
}
