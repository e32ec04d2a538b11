//! `haStatus` (mqadmin's `HAStatusSubCommand`): replication state of a master (its slaves,
//! their acknowledged offsets and lag) or of a slave (its link to the master), from
//! `GET_BROKER_HA_STATUS`. Its own file so that other admin work merges cleanly.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::{ArgGroup, Args};

use super::output::{json, Table};
use super::Ctx;

#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct HaStatusArgs {
    /// The broker's address (a master or a slave).
    #[arg(short = 'b', long = "brokerAddr", value_name = "ADDR")]
    broker_addr: Option<String>,
    /// Every master of this cluster.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: Option<String>,
}

/// `haStatus` (mqadmin's `HAStatusSubCommand`): a master's slaves with their acknowledged
/// offsets and lag in bytes and time, or a slave's link to its master.
pub async fn ha_status(ctx: &Ctx, a: HaStatusArgs) -> Result<String> {
    let addrs = match (&a.broker_addr, &a.cluster_name) {
        (Some(addr), _) => vec![addr.clone()],
        (None, cluster) => ctx
            .admin
            .brokers(cluster.as_deref())
            .await?
            .into_iter()
            .filter(|b| b.broker_id == petrel_protocol::mix_all::MASTER_ID)
            .map(|b| b.addr)
            .collect(),
    };
    let mut all = BTreeMap::new();
    for addr in addrs {
        let info = ctx.admin.broker_ha_status(&addr).await?;
        all.insert(addr, info);
    }
    if ctx.json {
        return Ok(json(&all));
    }
    let mut out = String::new();
    for (addr, info) in &all {
        if info.master {
            let mut head = Table::new(&[
                "#MasterAddr",
                "#MasterCommitLogMaxOffset",
                "#SlaveNum",
                "#InSyncSlaveNum",
            ]);
            head.row(vec![
                addr.clone(),
                info.master_commit_log_max_offset.to_string(),
                info.ha_connection_info.len().to_string(),
                info.in_sync_slave_nums.to_string(),
            ]);
            out.push_str(&head.render());
            let mut slaves = Table::new(&[
                "#SlaveAddr",
                "#SlaveAckOffset",
                "#Diff(bytes)",
                "#Behind(ms)",
                "#TransferSpeed(KB/s)",
                "#Status",
                "#TransferFromWhere",
            ]);
            for c in &info.ha_connection_info {
                slaves.row(vec![
                    c.addr.clone(),
                    c.slave_ack_offset.to_string(),
                    c.diff.to_string(),
                    c.behind_millis.to_string(),
                    format!("{:.2}", c.transferred_byte_in_second as f64 / 1024.0),
                    if c.in_sync { "OK" } else { "Fall Behind" }.to_string(),
                    c.transfer_from_where.to_string(),
                ]);
            }
            out.push('\n');
            out.push_str(&slaves.render());
        } else {
            let c = &info.ha_client_runtime_info;
            let mut table = Table::new(&[
                "#SlaveAddr",
                "#MasterAddr",
                "#SlaveMaxOffset",
                "#MasterOffset",
                "#Diff(bytes)",
                "#TransferSpeed(KB/s)",
                "#LastReadTime",
                "#Activated",
            ]);
            table.row(vec![
                addr.clone(),
                c.master_addr.clone(),
                c.max_offset.to_string(),
                c.master_flush_offset.to_string(),
                (c.master_flush_offset - c.max_offset).max(0).to_string(),
                format!("{:.2}", c.transferred_byte_in_second as f64 / 1024.0),
                c.last_read_timestamp.to_string(),
                c.activated.to_string(),
            ]);
            out.push_str(&table.render());
        }
        out.push('\n');
    }
    Ok(out)
}
