//! Cluster commands: clusterList, brokerStatus.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::{ArgGroup, Args};
use serde::Serialize;

use super::output::{json, now_ms, Table};
use super::Ctx;

#[derive(Args)]
pub struct ClusterListArgs {
    /// Message totals of yesterday and today instead of rates.
    #[arg(short = 'm', long = "moreStats")]
    more_stats: bool,
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: Option<String>,
}

/// One broker's line, as `--json` prints it.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct BrokerLine {
    cluster_name: String,
    broker_name: String,
    broker_id: i64,
    addr: String,
    version: String,
    /// Messages stored per second (last 10 s).
    in_tps: f64,
    /// Messages delivered per second (last 10 s).
    out_tps: f64,
    send_thread_pool_queue_size: String,
    pull_thread_pool_queue_size: String,
    page_cache_lock_time_mills: String,
    /// Hours between the oldest stored message and now.
    hours_of_data: f64,
    commit_log_disk_ratio: f64,
    in_total_yest: i64,
    out_total_yest: i64,
    in_total_today: i64,
    out_total_today: i64,
    activated: bool,
    /// Why the broker's runtime info could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn first_rate(text: Option<&String>) -> f64 {
    text.and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.0)
}

fn number(table: &BTreeMap<String, String>, key: &str) -> i64 {
    table.get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn broker_line(table: &BTreeMap<String, String>, line: &mut BrokerLine) {
    let get = |k: &str| table.get(k).cloned().unwrap_or_default();
    line.version = get("brokerVersionDesc");
    line.in_tps = first_rate(table.get("putTps"));
    line.out_tps = first_rate(table.get("getTransferredTps"));
    line.send_thread_pool_queue_size = get("sendThreadPoolQueueSize");
    line.pull_thread_pool_queue_size = get("pullThreadPoolQueueSize");
    line.page_cache_lock_time_mills = get("pageCacheLockTimeMills");
    let earliest = number(table, "earliestMessageTimeStamp");
    line.hours_of_data = if earliest > 0 {
        (now_ms() - earliest) as f64 / 3_600_000.0
    } else {
        0.0
    };
    line.commit_log_disk_ratio = table
        .get("commitLogDiskRatio")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let (put_yest, put_today, put_now) = (
        number(table, "msgPutTotalYesterdayMorning"),
        number(table, "msgPutTotalTodayMorning"),
        number(table, "msgPutTotalTodayNow"),
    );
    let (get_yest, get_today, get_now) = (
        number(table, "msgGetTotalYesterdayMorning"),
        number(table, "msgGetTotalTodayMorning"),
        number(table, "msgGetTotalTodayNow"),
    );
    line.in_total_yest = put_today - put_yest;
    line.out_total_yest = get_today - get_yest;
    line.in_total_today = put_now - put_today;
    line.out_total_today = get_now - get_today;
    line.activated = get("brokerActive") == "true";
}

pub async fn cluster_list(ctx: &Ctx, a: ClusterListArgs) -> Result<String> {
    let brokers = ctx.admin.brokers(a.cluster_name.as_deref()).await?;
    let mut lines = Vec::new();
    for b in brokers {
        let mut line = BrokerLine {
            cluster_name: b.cluster.clone(),
            broker_name: b.broker_name.clone(),
            broker_id: b.broker_id,
            addr: b.addr.clone(),
            ..Default::default()
        };
        // One broker that does not answer should not hide the others.
        match ctx.admin.broker_runtime_info(&b.addr).await {
            Ok(table) => broker_line(&table, &mut line),
            Err(e) => line.error = Some(e.to_string()),
        }
        lines.push(line);
    }
    if ctx.json {
        return Ok(json(&serde_json::json!({ "brokers": lines })));
    }
    let mut out = if a.more_stats {
        let mut table = Table::new(&[
            "Cluster Name",
            "Broker Name",
            "InTotalYest",
            "OutTotalYest",
            "InTotalToday",
            "OutTotalToday",
        ]);
        for l in &lines {
            table.row(vec![
                l.cluster_name.clone(),
                l.broker_name.clone(),
                l.in_total_yest.to_string(),
                l.out_total_yest.to_string(),
                l.in_total_today.to_string(),
                l.out_total_today.to_string(),
            ]);
        }
        table.render()
    } else {
        let mut table = Table::new(&[
            "Cluster Name",
            "Broker Name",
            "BID",
            "Addr",
            "Version",
            "InTPS(LOAD)",
            "OutTPS(LOAD)",
            "PCWait(ms)",
            "Hour",
            "SPACE",
            "ACTIVATED",
        ]);
        for l in &lines {
            table.row(vec![
                l.cluster_name.clone(),
                l.broker_name.clone(),
                l.broker_id.to_string(),
                l.addr.clone(),
                l.version.clone(),
                format!("{:.2}({},0ms)", l.in_tps, l.send_thread_pool_queue_size),
                format!("{:.2}({},0ms)", l.out_tps, l.pull_thread_pool_queue_size),
                l.page_cache_lock_time_mills.clone(),
                format!("{:.2}", l.hours_of_data),
                format!("{:.4}", l.commit_log_disk_ratio),
                l.activated.to_string(),
            ]);
        }
        table.render()
    };
    for l in lines.iter().filter(|l| l.error.is_some()) {
        out.push_str(&format!(
            "\nWARN: {} {}: {}\n",
            l.broker_name,
            l.addr,
            l.error.as_deref().unwrap_or("")
        ));
    }
    Ok(out)
}

#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct BrokerStatusArgs {
    /// The broker's address.
    #[arg(short = 'b', long = "brokerAddr", value_name = "ADDR")]
    broker_addr: Option<String>,
    /// Every broker (masters and slaves) of this cluster.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: Option<String>,
}

pub async fn broker_status(ctx: &Ctx, a: BrokerStatusArgs) -> Result<String> {
    let addrs = match (&a.broker_addr, &a.cluster_name) {
        (Some(addr), _) => vec![addr.clone()],
        (None, cluster) => ctx
            .admin
            .brokers(cluster.as_deref())
            .await?
            .into_iter()
            .map(|b| b.addr)
            .collect(),
    };
    let mut all = BTreeMap::new();
    for addr in addrs {
        let table = ctx.admin.broker_runtime_info(&addr).await?;
        all.insert(addr, table);
    }
    if ctx.json {
        return Ok(json(&all));
    }
    let key_width = all
        .values()
        .flat_map(|t| t.keys())
        .map(|k| k.len())
        .max()
        .unwrap_or(0);
    let addr_width = all.keys().map(String::len).max().unwrap_or(0);
    let mut out = String::new();
    let with_addr = a.broker_addr.is_none();
    for (addr, table) in &all {
        for (k, v) in table {
            if with_addr {
                out.push_str(&format!("{addr:<addr_width$}  "));
            }
            out.push_str(&format!("{k:<key_width$}: {v}\n"));
        }
    }
    Ok(out)
}
