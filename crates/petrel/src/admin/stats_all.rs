//! `statsAll`: every topic's put rate and each consuming group's get rate and backlog, as
//! mqadmin's `StatsAllSubCommand` prints them (from the masters' `TOPIC_PUT_NUMS` and
//! `GROUP_GET_NUMS` statistics and the groups' consume stats).

use anyhow::Result;
use clap::Args;
use petrel_client::admin::{BrokerStatsData, ConsumeStats};
use petrel_protocol::mix_all::{stats, MASTER_ID};
use petrel_protocol::topic::{is_dlq_topic, is_retry_topic};
use serde::Serialize;

use super::output::json;
use super::Ctx;

#[derive(Args)]
pub struct StatsAllArgs {
    /// Only topics with messages in or out in the last 24 hours.
    #[arg(short = 'a', long = "activeTopic")]
    active_topic: bool,
    /// Only this topic.
    #[arg(short = 't', long = "topic")]
    topic: Option<String>,
}

/// One line: a topic, and one of its consumer groups (none: `NO_CONSUMER`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatsLine {
    topic: String,
    consumer_group: Option<String>,
    accumulation: i64,
    in_tps: f64,
    out_tps: Option<f64>,
    in_msg_24_hour: i64,
    out_msg_24_hour: Option<i64>,
}

/// mqadmin's `compute24HourSum`: the day's sum, else the hour's, else the minute's.
fn sum_24_hours(d: &BrokerStatsData) -> i64 {
    [d.stats_day.sum, d.stats_hour.sum, d.stats_minute.sum]
        .into_iter()
        .find(|s| *s != 0)
        .unwrap_or(0)
}

/// `ConsumeStats.computeTotalDiff`.
fn total_diff(stats: &ConsumeStats) -> i64 {
    stats
        .offset_table
        .values()
        .map(|o| o.broker_offset - o.consumer_offset)
        .sum()
}

/// The minute's TPS and 24-hour sum of a statistic over `masters` (missing ones count 0).
async fn over_masters(ctx: &Ctx, masters: &[String], name: &str, key: &str) -> (f64, i64) {
    let (mut tps, mut sum) = (0.0, 0);
    for addr in masters {
        if let Ok(d) = ctx.admin.view_broker_stats_data(addr, name, key).await {
            tps += d.stats_minute.tps;
            sum += sum_24_hours(&d);
        }
    }
    (tps, sum)
}

async fn topic_lines(ctx: &Ctx, topic: &str, active_only: bool) -> Result<Vec<StatsLine>> {
    let route = ctx.admin.topic_route(topic).await?;
    let masters: Vec<String> = route
        .broker_datas
        .iter()
        .filter_map(|b| b.broker_addrs.get(&MASTER_ID).cloned())
        .collect();
    let groups = ctx.admin.topic_consumed_by(topic).await.unwrap_or_default();
    let (in_tps, in_24h) = over_masters(ctx, &masters, stats::TOPIC_PUT_NUMS, topic).await;
    let mut lines = Vec::new();
    if groups.is_empty() {
        if !active_only || in_24h > 0 {
            lines.push(StatsLine {
                topic: topic.to_string(),
                consumer_group: None,
                accumulation: 0,
                in_tps,
                out_tps: None,
                in_msg_24_hour: in_24h,
                out_msg_24_hour: None,
            });
        }
        return Ok(lines);
    }
    for group in groups {
        let key = stats::group_key(topic, &group);
        let (out_tps, out_24h) = over_masters(ctx, &masters, stats::GROUP_GET_NUMS, &key).await;
        let accumulation = ctx
            .admin
            .consume_stats(&group, Some(topic), None)
            .await
            .map(|s| total_diff(&s).max(0))
            .unwrap_or(0);
        if !active_only || in_24h > 0 || out_24h > 0 {
            lines.push(StatsLine {
                topic: topic.to_string(),
                consumer_group: Some(group),
                accumulation,
                in_tps,
                out_tps: Some(out_tps),
                in_msg_24_hour: in_24h,
                out_msg_24_hour: Some(out_24h),
            });
        }
    }
    Ok(lines)
}

pub async fn stats_all(ctx: &Ctx, a: StatsAllArgs) -> Result<String> {
    let topics = ctx.admin.topic_list().await?;
    let mut lines = Vec::new();
    for topic in topics
        .iter()
        .filter(|t| !is_retry_topic(t) && !is_dlq_topic(t))
        .filter(|t| {
            a.topic
                .as_deref()
                .is_none_or(|only| only.trim() == t.as_str())
        })
    {
        // A topic deleted meanwhile, or one whose broker does not answer, is skipped, as
        // mqadmin does.
        if let Ok(mut more) = topic_lines(ctx, topic, a.active_topic).await {
            lines.append(&mut more);
        }
    }
    if ctx.json {
        return Ok(json(&serde_json::json!({ "stats": lines })));
    }
    let mut out = format!(
        "{:<32}  {:<32} {:>12} {:>11} {:>11} {:>14} {:>14}\n",
        "#Topic",
        "#Consumer Group",
        "#Accumulation",
        "#InTPS",
        "#OutTPS",
        "#InMsg24Hour",
        "#OutMsg24Hour"
    );
    for l in &lines {
        match (&l.consumer_group, l.out_tps, l.out_msg_24_hour) {
            (Some(group), Some(out_tps), Some(out_24h)) => out.push_str(&format!(
                "{:<64}  {:<64} {:>12} {:>11.2} {:>11.2} {:>14} {:>14}\n",
                l.topic, group, l.accumulation, l.in_tps, out_tps, l.in_msg_24_hour, out_24h
            )),
            _ => out.push_str(&format!(
                "{:<64}  {:<32} {:>12} {:>11.2} {:>11} {:>14} {:>14}\n",
                l.topic, "", 0, l.in_tps, "", l.in_msg_24_hour, "NO_CONSUMER"
            )),
        }
    }
    Ok(out)
}
