//! Cluster commands: clusterList, brokerStatus.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::{ArgGroup, Args};
use petrel_client::admin::cluster::BrokerFigures;
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
    #[serde(flatten)]
    figures: BrokerFigures,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
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
            Ok(table) => line.figures = BrokerFigures::from_runtime_info(&table, now_ms()),
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
                l.figures.in_total_yest.to_string(),
                l.figures.out_total_yest.to_string(),
                l.figures.in_total_today.to_string(),
                l.figures.out_total_today.to_string(),
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
                l.figures.version.clone(),
                format!(
                    "{:.2}({},0ms)",
                    l.figures.in_tps, l.figures.send_thread_pool_queue_size
                ),
                format!(
                    "{:.2}({},0ms)",
                    l.figures.out_tps, l.figures.pull_thread_pool_queue_size
                ),
                l.figures.page_cache_lock_time_mills.clone(),
                format!("{:.2}", l.figures.hours_of_data),
                format!("{:.4}", l.figures.commit_log_disk_ratio),
                l.figures.activated.to_string(),
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
