//! Controller mode (RocketMQ 5.x AutoSwitch HA) commands, with mqadmin's names and flags:
//! `getControllerMetaData`, `getSyncStateSet`, `getBrokerEpoch`, `electMaster`,
//! `getControllerConfig`, `updateControllerConfig` and `cleanBrokerMetadata`, over
//! `petrel_client::admin::controller`. Key/value blocks with mqadmin's `#Key` names, tables for
//! lists, one JSON document with `--json`.
//!
//! mqadmin's two-letter short flag `-bn` (brokerName) is `--bn` here (clap's short flags are one
//! letter); `-bn NAME` is caught and answered with that advice.

use std::future::Future;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{ArgGroup, Args};
use petrel_client::admin::controller::{
    CleanBrokerData, ControllerMetadata, ElectedMaster, EpochEntry, ReplicaIdentity, SyncStateData,
};
use serde::Serialize;

use super::output::{json, Table};
use super::Ctx;

/// What `-bn NAME` (mqadmin's two-letter flag) reaches clap as: `-b n`.
const BN_ADVICE: &str = "mqadmin's `-bn NAME` is written `--bn NAME` here (`-b` is another flag)";

/// `-i`'s value when given without one (mqadmin's default).
const DEFAULT_INTERVAL_SECONDS: &str = "3";

/// `-i [SECONDS]`: repeat every so many seconds until interrupted.
#[derive(Args, Clone, Copy)]
pub struct Interval {
    /// Repeat every SECONDS (default 3) until interrupted.
    #[arg(
        short = 'i',
        long = "interval",
        value_name = "SECONDS",
        num_args = 0..=1,
        default_missing_value = DEFAULT_INTERVAL_SECONDS,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    interval: Option<u64>,
}

#[derive(Args)]
pub struct GetControllerMetaDataArgs {
    /// A controller's address (`;`-separated: the first that answers).
    #[arg(short = 'a', long = "controllerAddress", value_name = "ADDR")]
    controller: String,
}

/// `getControllerMetaData` (mqadmin's `GetControllerMetaDataSubCommand`, 1005): the controller
/// group, its leader and its peers.
pub async fn get_controller_meta_data(ctx: &Ctx, a: GetControllerMetaDataArgs) -> Result<String> {
    let metadata = ctx.admin.controller_metadata(&a.controller).await?;
    if ctx.json {
        return Ok(json(&metadata));
    }
    Ok(render_metadata(&metadata))
}

fn render_metadata(m: &ControllerMetadata) -> String {
    let none = |v: &Option<String>, what: &str| v.clone().unwrap_or_else(|| what.to_string());
    let mut rows = vec![
        ("ControllerGroup", none(&m.group, "")),
        (
            "ControllerLeaderId",
            none(&m.controller_leader_id, "none (no leader elected yet)"),
        ),
        (
            "ControllerLeaderAddress",
            none(&m.controller_leader_address, "none"),
        ),
        ("IsLeader", format!("{} ({} answered)", m.is_leader, m.addr)),
    ];
    rows.extend(m.peers.iter().map(|p| ("Peer", p.clone())));
    fields(&rows)
}

#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_name", "cluster_name"])))]
pub struct GetSyncStateSetArgs {
    /// A controller's address (`;`-separated: the first that answers names the leader).
    #[arg(short = 'a', long = "controllerAddress", value_name = "ADDR")]
    controller: String,
    /// The broker set (broker name) to show.
    #[arg(short = 'b', long = "brokerName", value_name = "NAME")]
    broker_name: Option<String>,
    /// Every broker name of this cluster, as the name server (-n) lists them.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: Option<String>,
    #[command(flatten)]
    interval: Interval,
}

/// `getSyncStateSet` (mqadmin's `GetSyncStateSetSubCommand`: 1005 to find the leader, 1006):
/// each broker set's master, epochs and replicas in and out of the SyncStateSet.
pub async fn get_sync_state_set(ctx: &Ctx, a: GetSyncStateSetArgs) -> Result<String> {
    repeat(a.interval, || async {
        let names = match (&a.broker_name, &a.cluster_name) {
            (Some(name), _) => vec![name.clone()],
            (None, Some(cluster)) => {
                let names = ctx.admin.broker_names_of_cluster(cluster).await?;
                if names.is_empty() {
                    bail!("cluster {cluster} has no broker registered with the name server");
                }
                names
            }
            (None, None) => unreachable!("clap requires -b or -c"),
        };
        let data = ctx.admin.sync_state_data(&a.controller, &names).await?;
        Ok(if ctx.json {
            json(&data)
        } else {
            render_sync_state(&data)
        })
    })
    .await
}

fn render_sync_state(data: &SyncStateData) -> String {
    let mut out = String::new();
    for (name, info) in &data.replicas_info_table {
        if !out.is_empty() {
            out.push('\n');
        }
        let master_id = info
            .master_broker_id
            .map(|id| id.to_string())
            .unwrap_or_else(|| "none (no master)".into());
        out.push_str(&fields(&[
            ("BrokerName", name.clone()),
            ("MasterBrokerId", master_id),
            (
                "MasterAddr",
                info.master_address.clone().unwrap_or_else(|| "none".into()),
            ),
            ("MasterEpoch", info.master_epoch.to_string()),
            ("SyncStateSetEpoch", info.sync_state_set_epoch.to_string()),
            ("SyncStateSetNums", info.in_sync_replicas.len().to_string()),
        ]));
        out.push('\n');
        let mut replicas = Table::new(&["Replica", "BrokerId", "BrokerAddr", "Alive"]);
        let rows = info
            .in_sync_replicas
            .iter()
            .map(|r| ("InSync", r))
            .chain(info.not_in_sync_replicas.iter().map(|r| ("NotInSync", r)));
        for (kind, r) in rows {
            replicas.row(replica_row(kind, r));
        }
        out.push_str(&replicas.render());
    }
    for name in &data.unknown_broker_names {
        out.push_str(&format!(
            "\nWARN: the controller at {} has no data for broker name {name} (no broker of it \
             registered in controller mode, or its data was cleaned)\n",
            data.controller
        ));
    }
    out
}

fn replica_row(kind: &str, r: &ReplicaIdentity) -> Vec<String> {
    vec![
        kind.to_string(),
        r.broker_id.to_string(),
        r.broker_address.clone(),
        r.alive
            .map(|a| a.to_string())
            .unwrap_or_else(|| "unknown".into()),
    ]
}

#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_name", "cluster_name"])))]
pub struct GetBrokerEpochArgs {
    /// Every broker (master and slaves) of this broker name, as the name server (-n) lists them.
    #[arg(short = 'b', long = "brokerName", value_name = "NAME")]
    broker_name: Option<String>,
    /// Every broker of this cluster.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: Option<String>,
    #[command(flatten)]
    interval: Interval,
}

/// One broker's epochs, as `--json` prints them.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct BrokerEpochs {
    cluster_name: String,
    broker_name: String,
    /// The broker's own id (its controller broker id; a master is listed as 0 by name servers).
    broker_id: i64,
    broker_addr: String,
    /// The last epoch ends at `max_offset`, as mqadmin prints it.
    epoch_list: Vec<EpochEntry>,
    max_offset: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// `getBrokerEpoch` (mqadmin's `GetBrokerEpochSubCommand`, 1007 to each broker): each
/// controller-mode broker's epochs with the CommitLog range written under each.
pub async fn get_broker_epoch(ctx: &Ctx, a: GetBrokerEpochArgs) -> Result<String> {
    repeat(a.interval, || async {
        let brokers = match (&a.broker_name, &a.cluster_name) {
            (Some(name), _) => ctx.admin.brokers_of_name(name).await?,
            (None, Some(cluster)) => ctx.admin.brokers(Some(cluster)).await?,
            (None, None) => unreachable!("clap requires -b or -c"),
        };
        let mut lines = Vec::new();
        for b in brokers {
            let mut line = BrokerEpochs {
                cluster_name: b.cluster.clone(),
                broker_name: b.broker_name.clone(),
                broker_id: b.broker_id,
                broker_addr: b.addr.clone(),
                ..Default::default()
            };
            // One broker that does not answer (or is not in controller mode) should not hide
            // the others.
            match ctx.admin.broker_epoch_cache(&b.addr).await {
                Ok(cache) => {
                    line.cluster_name = cache.cluster_name;
                    line.broker_name = cache.broker_name;
                    line.broker_id = cache.broker_id;
                    line.max_offset = cache.max_offset;
                    line.epoch_list = close_last_epoch(cache.epoch_list, cache.max_offset);
                }
                Err(e) => line.error = Some(e.to_string()),
            }
            lines.push(line);
        }
        if !lines.is_empty() && lines.iter().all(|l| l.error.is_some()) {
            let reasons: Vec<String> = lines
                .iter()
                .map(|l| format!("{}: {}", l.broker_addr, l.error.as_deref().unwrap_or("")))
                .collect();
            bail!(
                "no broker answered with its epochs ({}); brokers keep epochs only in controller \
                 mode (enableControllerMode=true)",
                reasons.join("; ")
            );
        }
        Ok(if ctx.json {
            json(&serde_json::json!({ "brokers": lines }))
        } else {
            render_epochs(&lines)
        })
    })
    .await
}

/// The current (last) epoch is open-ended (`Long.MAX_VALUE`); it ends, for now, at the
/// CommitLog's end, as mqadmin prints it.
fn close_last_epoch(mut epochs: Vec<EpochEntry>, max_offset: i64) -> Vec<EpochEntry> {
    if let Some(last) = epochs.last_mut() {
        last.end_offset = max_offset;
    }
    epochs
}

fn render_epochs(lines: &[BrokerEpochs]) -> String {
    let mut out = String::new();
    for l in lines.iter().filter(|l| l.error.is_none()) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&fields(&[
            ("ClusterName", l.cluster_name.clone()),
            ("BrokerName", l.broker_name.clone()),
            ("BrokerAddr", l.broker_addr.clone()),
            ("BrokerId", l.broker_id.to_string()),
            ("MaxOffset", l.max_offset.to_string()),
        ]));
        out.push('\n');
        let mut table = Table::new(&["Epoch", "StartOffset", "EndOffset"]);
        for e in &l.epoch_list {
            table.row(vec![
                e.epoch.to_string(),
                e.start_offset.to_string(),
                e.end_offset.to_string(),
            ]);
        }
        out.push_str(&table.render());
    }
    for l in lines.iter().filter(|l| l.error.is_some()) {
        out.push_str(&format!(
            "\nWARN: {} {}: {}\n",
            l.broker_name,
            l.broker_addr,
            l.error.as_deref().unwrap_or("")
        ));
    }
    out
}

#[derive(Args)]
pub struct ElectMasterArgs {
    /// A controller's address (`;`-separated: the first that answers names the leader).
    #[arg(short = 'a', long = "controllerAddress", value_name = "ADDR")]
    controller: String,
    /// The broker set's cluster.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: String,
    /// The broker set (broker name); mqadmin's `-bn`.
    #[arg(long = "brokerName", visible_alias = "bn", value_name = "NAME")]
    broker_name: String,
    /// The controller broker id of the broker to make master (see getSyncStateSet).
    #[arg(short = 'b', long = "brokerId", value_name = "ID", value_parser = broker_id_arg)]
    broker_id: i64,
}

/// `electMaster` (mqadmin's `ReElectMasterSubCommand`, 1002 with `designateElect`): makes the
/// given broker the master of its set, if the controller agrees.
pub async fn elect_master(ctx: &Ctx, a: ElectMasterArgs) -> Result<String> {
    let elected = ctx
        .admin
        .elect_master(&a.controller, &a.cluster_name, &a.broker_name, a.broker_id)
        .await?;
    if ctx.json {
        return Ok(json(&elected));
    }
    Ok(render_elected(&a.cluster_name, &a.broker_name, &elected))
}

fn render_elected(cluster: &str, broker_name: &str, e: &ElectedMaster) -> String {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "none".into());
    let mut out = fields(&[
        ("ClusterName", cluster.to_string()),
        ("BrokerName", broker_name.to_string()),
        (
            "BrokerMasterId",
            opt(e.master_broker_id.map(|v| v.to_string())),
        ),
        ("BrokerMasterAddr", opt(e.master_address.clone())),
        ("MasterEpoch", opt(e.master_epoch.map(|v| v.to_string()))),
        (
            "SyncStateSetEpoch",
            opt(e.sync_state_set_epoch.map(|v| v.to_string())),
        ),
        (
            "SyncStateSet",
            e.sync_state_set
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
    ]);
    if !e.broker_member_group.broker_addrs.is_empty() {
        out.push('\n');
        let mut members = Table::new(&["BrokerId", "BrokerAddr"]);
        for (id, addr) in &e.broker_member_group.broker_addrs {
            members.row(vec![id.to_string(), addr.clone()]);
        }
        out.push_str(&members.render());
    }
    out
}

#[derive(Args)]
pub struct GetControllerConfigArgs {
    /// Controller addresses, `;`-separated: each one's configuration is shown.
    #[arg(short = 'a', long = "controllerAddress", value_name = "ADDRS")]
    controllers: String,
}

/// `getControllerConfig` (mqadmin's `GetControllerConfigSubCommand`, 1010 to each controller).
pub async fn get_controller_config(ctx: &Ctx, a: GetControllerConfigArgs) -> Result<String> {
    let mut all = Vec::new();
    for addr in addrs(&a.controllers)? {
        let config = ctx.admin.controller_config(&addr).await?;
        all.push((addr, config));
    }
    if ctx.json {
        let doc: serde_json::Map<String, serde_json::Value> = all
            .iter()
            .map(|(addr, config)| {
                let props = config
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect::<serde_json::Map<_, _>>();
                (addr.clone(), serde_json::Value::Object(props))
            })
            .collect();
        return Ok(json(&doc));
    }
    Ok(all
        .iter()
        .map(|(addr, config)| render_config(addr, config))
        .collect())
}

fn render_config(addr: &str, config: &[(String, String)]) -> String {
    let width = config
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!("============{addr}============\n");
    for (k, v) in config {
        out.push_str(&format!("{k:<width$} = {v}\n"));
    }
    out
}

#[derive(Args)]
pub struct UpdateControllerConfigArgs {
    /// Controller addresses, `;`-separated: each one is changed (each keeps its own config).
    #[arg(short = 'a', long = "controllerAddress", value_name = "ADDRS")]
    controllers: String,
    /// The key to change.
    #[arg(short = 'k', long = "key", value_name = "KEY")]
    key: String,
    /// Its new value.
    #[arg(short = 'v', long = "value", value_name = "VALUE")]
    value: String,
}

/// `updateControllerConfig` (mqadmin's `UpdateControllerConfigSubCommand`, 1009 to each
/// controller). Every controller is asked even if one fails; the error names those that did.
pub async fn update_controller_config(ctx: &Ctx, a: UpdateControllerConfigArgs) -> Result<String> {
    let (key, value) = (a.key.trim(), a.value.trim());
    let mut updated = Vec::new();
    let mut failed = Vec::new();
    for addr in addrs(&a.controllers)? {
        match ctx.admin.update_controller_config(&addr, key, value).await {
            Ok(()) => updated.push(addr),
            // Every error names the controller it is about.
            Err(e) => failed.push(e.to_string()),
        }
    }
    if !failed.is_empty() {
        let done = if updated.is_empty() {
            String::new()
        } else {
            format!(" (updated on {})", updated.join(", "))
        };
        bail!("{}{done}", failed.join("; "));
    }
    if ctx.json {
        return Ok(json(&serde_json::json!({
            "controllers": updated, "key": key, "value": value
        })));
    }
    Ok(format!(
        "update controller config success! [{}]\n{key} : {value}\n",
        updated.join(", ")
    ))
}

#[derive(Args)]
pub struct CleanBrokerMetadataArgs {
    /// A controller's address (`;`-separated: the first that answers names the leader).
    #[arg(short = 'a', long = "controllerAddress", value_name = "ADDR")]
    controller: String,
    /// The broker set (broker name); mqadmin's `-bn`.
    #[arg(long = "brokerName", visible_alias = "bn", value_name = "NAME")]
    broker_name: String,
    /// The broker set's cluster (required unless -l).
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: Option<String>,
    /// Controller broker ids to forget, `;`-separated (e.g. `1;2`); default: the whole set.
    #[arg(
        short = 'b',
        long = "brokerControllerIdsToClean",
        value_name = "IDS",
        value_parser = broker_ids_arg
    )]
    broker_ids: Option<BrokerIds>,
    /// Also forget brokers that are still alive (heartbeating).
    #[arg(short = 'l', long = "cleanLivingBroker")]
    clean_living_broker: bool,
}

/// `-b 1;2;3`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerIds(Vec<i64>);

/// `cleanBrokerMetadata` (mqadmin's `CleanControllerBrokerMetaSubCommand`, 1011 on the leader).
pub async fn clean_broker_metadata(ctx: &Ctx, a: CleanBrokerMetadataArgs) -> Result<String> {
    let clean = CleanBrokerData {
        cluster_name: a.cluster_name,
        broker_name: a.broker_name,
        broker_ids: a.broker_ids.map(|ids| ids.0).unwrap_or_default(),
        clean_living_broker: a.clean_living_broker,
    };
    ctx.admin
        .clean_controller_broker_data(&a.controller, &clean)
        .await?;
    if ctx.json {
        return Ok(json(&serde_json::json!({
            "brokerName": clean.broker_name,
            "brokerIds": clean.broker_ids,
            "cleaned": true
        })));
    }
    Ok(format!(
        "clear broker {} metadata from controller success!\n",
        clean.broker_name
    ))
}

/// `-b ID` of electMaster.
fn broker_id_arg(text: &str) -> Result<i64, String> {
    if text == "n" {
        return Err(BN_ADVICE.into());
    }
    text.trim().parse().map_err(|_| {
        format!("{text:?} is not a broker id: give the controller broker id, a number (getSyncStateSet lists them)")
    })
}

/// `-b 1;2;3` of cleanBrokerMetadata.
fn broker_ids_arg(text: &str) -> Result<BrokerIds, String> {
    if text == "n" {
        return Err(BN_ADVICE.into());
    }
    let ids = text
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| format!("{s:?} is not a broker id: write ids as 1;2;3"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err("no broker id given: write ids as 1;2;3".into());
    }
    Ok(BrokerIds(ids))
}

/// `a:1;b:2` → each address.
fn addrs(list: &str) -> Result<Vec<String>> {
    let addrs: Vec<String> = list
        .split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect();
    if addrs.is_empty() {
        bail!("no controller address given: pass -a host:port (a controller's port in controllerDLegerPeers)");
    }
    Ok(addrs)
}

/// `#Key` lines with the values aligned (mqadmin prints `#Key\tvalue`).
fn fields(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| {
            let key = format!("#{k}");
            format!("{key:<width$}  {v}").trim_end().to_string() + "\n"
        })
        .collect()
}

/// One round (no `-i`), or a round every `-i` seconds printed as it comes until interrupted;
/// a failed round is reported on stderr and the next one still runs, as a monitor should.
async fn repeat<F, Fut>(interval: Interval, round: F) -> Result<String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<String>>,
{
    let Some(seconds) = interval.interval else {
        return round().await;
    };
    loop {
        match round().await {
            Ok(text) => {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                // A closed pipe (`| head`) ends the command quietly.
                if stdout
                    .write_all(text.as_bytes())
                    .and_then(|_| stdout.write_all(b"\n"))
                    .and_then(|_| stdout.flush())
                    .is_err()
                {
                    return Ok(String::new());
                }
            }
            Err(e) => eprintln!("petrel admin: error: {e:#}"),
        }
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use petrel_client::admin::controller::ReplicasInfo;
    use petrel_protocol::remoting::body::BrokerMemberGroup;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(clap::Subcommand)]
    #[command(rename_all = "camelCase")]
    enum Command {
        ElectMaster(ElectMasterArgs),
        CleanBrokerMetadata(CleanBrokerMetadataArgs),
        GetSyncStateSet(GetSyncStateSetArgs),
    }

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("admin").chain(args.iter().copied())).map(|c| c.command)
    }

    #[test]
    fn elect_master_takes_mqadmins_flags_with_bn_as_a_long_flag() {
        let Ok(Command::ElectMaster(a)) = parse(&[
            "electMaster",
            "-a",
            "127.0.0.1:9878",
            "-c",
            "C",
            "--bn",
            "broker-a",
            "-b",
            "2",
        ]) else {
            panic!("electMaster did not parse");
        };
        assert_eq!(
            (
                a.controller.as_str(),
                a.cluster_name.as_str(),
                a.broker_name.as_str(),
                a.broker_id
            ),
            ("127.0.0.1:9878", "C", "broker-a", 2)
        );
        // mqadmin's spelling reaches clap as `-b n`: the error says how to write it here.
        let Err(e) = parse(&[
            "electMaster",
            "-a",
            "x:1",
            "-c",
            "C",
            "-bn",
            "broker-a",
            "-b",
            "2",
        ]) else {
            panic!("-bn was accepted");
        };
        assert!(e.to_string().contains("--bn NAME"), "{e}");
        let Err(e) = parse(&[
            "electMaster",
            "-a",
            "x:1",
            "-c",
            "C",
            "--bn",
            "b",
            "-b",
            "two",
        ]) else {
            panic!("a non-numeric id was accepted");
        };
        assert!(e.to_string().contains("not a broker id"), "{e}");
    }

    #[test]
    fn clean_broker_metadata_reads_semicolon_ids() {
        let Ok(Command::CleanBrokerMetadata(a)) = parse(&[
            "cleanBrokerMetadata",
            "-a",
            "x:1",
            "--bn",
            "b",
            "-b",
            "1;2",
            "-l",
        ]) else {
            panic!("cleanBrokerMetadata did not parse");
        };
        assert_eq!(a.broker_ids, Some(BrokerIds(vec![1, 2])));
        assert!(a.clean_living_broker);
        assert!(a.cluster_name.is_none());
        assert!(parse(&["cleanBrokerMetadata", "-a", "x:1", "--bn", "b", "-b", "1;x"]).is_err());
    }

    #[test]
    fn sync_state_set_needs_one_target_and_repeats_every_three_seconds_by_default() {
        let Ok(Command::GetSyncStateSet(a)) =
            parse(&["getSyncStateSet", "-a", "x:1", "-b", "broker-a", "-i"])
        else {
            panic!("getSyncStateSet did not parse");
        };
        assert_eq!(a.interval.interval, Some(3));
        assert!(parse(&["getSyncStateSet", "-a", "x:1", "-b", "b", "-i", "0"]).is_err());
        assert!(parse(&["getSyncStateSet", "-a", "x:1"]).is_err());
        assert!(parse(&["getSyncStateSet", "-a", "x:1", "-b", "b", "-c", "C"]).is_err());
        let Ok(Command::GetSyncStateSet(a)) = parse(&["getSyncStateSet", "-a", "x:1", "-c", "C"])
        else {
            panic!("getSyncStateSet -c did not parse");
        };
        assert_eq!(a.interval.interval, None);
    }

    #[test]
    fn metadata_names_the_leader_and_each_peer() {
        let m = ControllerMetadata {
            addr: "127.0.0.1:9868".into(),
            group: Some("group1".into()),
            controller_leader_id: Some("n0".into()),
            controller_leader_address: Some("127.0.0.1:9878".into()),
            is_leader: false,
            peers: vec!["n0-127.0.0.1:9878".into(), "n1-127.0.0.1:9868".into()],
        };
        assert_eq!(
            render_metadata(&m),
            "#ControllerGroup          group1\n\
             #ControllerLeaderId       n0\n\
             #ControllerLeaderAddress  127.0.0.1:9878\n\
             #IsLeader                 false (127.0.0.1:9868 answered)\n\
             #Peer                     n0-127.0.0.1:9878\n\
             #Peer                     n1-127.0.0.1:9868\n"
        );
        let leaderless = ControllerMetadata {
            controller_leader_id: None,
            controller_leader_address: None,
            ..m
        };
        assert!(render_metadata(&leaderless).contains("none (no leader elected yet)"));
    }

    #[test]
    fn sync_state_set_shows_the_master_and_replicas_in_and_out_of_the_set() {
        let replica = |id: i64, alive: Option<bool>| ReplicaIdentity {
            alive,
            broker_address: format!("127.0.0.1:3091{id}"),
            broker_id: id,
            broker_name: "broker-a".into(),
        };
        let data = SyncStateData {
            controller: "127.0.0.1:9878".into(),
            replicas_info_table: [(
                "broker-a".to_string(),
                ReplicasInfo {
                    in_sync_replicas: vec![replica(1, Some(true))],
                    master_address: Some("127.0.0.1:30911".into()),
                    master_broker_id: Some(1),
                    master_epoch: 2,
                    not_in_sync_replicas: vec![replica(2, None)],
                    sync_state_set_epoch: 3,
                },
            )]
            .into_iter()
            .collect(),
            unknown_broker_names: vec!["broker-x".into()],
        };
        let text = render_sync_state(&data);
        assert_eq!(
            text,
            "#BrokerName         broker-a\n\
             #MasterBrokerId     1\n\
             #MasterAddr         127.0.0.1:30911\n\
             #MasterEpoch        2\n\
             #SyncStateSetEpoch  3\n\
             #SyncStateSetNums   1\n\
             \n\
             #Replica   #BrokerId  #BrokerAddr      #Alive\n\
             InSync     1          127.0.0.1:30911  true\n\
             NotInSync  2          127.0.0.1:30912  unknown\n\
             \n\
             WARN: the controller at 127.0.0.1:9878 has no data for broker name broker-x (no \
             broker of it registered in controller mode, or its data was cleaned)\n"
        );
    }

    #[test]
    fn epochs_end_the_current_one_at_the_commit_log_end() {
        let epochs = close_last_epoch(
            vec![
                EpochEntry {
                    epoch: 1,
                    start_offset: 0,
                    end_offset: 100,
                },
                EpochEntry {
                    epoch: 2,
                    start_offset: 100,
                    end_offset: i64::MAX,
                },
            ],
            250,
        );
        let line = BrokerEpochs {
            cluster_name: "C".into(),
            broker_name: "broker-a".into(),
            broker_id: 1,
            broker_addr: "127.0.0.1:30911".into(),
            epoch_list: epochs,
            max_offset: 250,
            error: None,
        };
        let failed = BrokerEpochs {
            broker_name: "broker-a".into(),
            broker_addr: "127.0.0.1:30912".into(),
            error: Some("not in controller mode".into()),
            ..Default::default()
        };
        assert_eq!(
            render_epochs(&[line, failed]),
            "#ClusterName  C\n\
             #BrokerName   broker-a\n\
             #BrokerAddr   127.0.0.1:30911\n\
             #BrokerId     1\n\
             #MaxOffset    250\n\
             \n\
             #Epoch  #StartOffset  #EndOffset\n\
             1       0             100\n\
             2       100           250\n\
             \n\
             WARN: broker-a 127.0.0.1:30912: not in controller mode\n"
        );
    }

    #[test]
    fn an_election_shows_the_new_master_and_the_members() {
        let elected = ElectedMaster {
            master_broker_id: Some(2),
            master_address: Some("127.0.0.1:30912".into()),
            master_epoch: Some(3),
            sync_state_set_epoch: Some(4),
            broker_member_group: BrokerMemberGroup {
                broker_addrs: [
                    (1, "127.0.0.1:30911".to_string()),
                    (2, "127.0.0.1:30912".into()),
                ]
                .into_iter()
                .collect(),
                broker_name: "broker-a".into(),
                cluster: "C".into(),
            },
            sync_state_set: [2].into_iter().collect(),
        };
        assert_eq!(
            render_elected("C", "broker-a", &elected),
            "#ClusterName        C\n\
             #BrokerName         broker-a\n\
             #BrokerMasterId     2\n\
             #BrokerMasterAddr   127.0.0.1:30912\n\
             #MasterEpoch        3\n\
             #SyncStateSetEpoch  4\n\
             #SyncStateSet       2\n\
             \n\
             #BrokerId  #BrokerAddr\n\
             1          127.0.0.1:30911\n\
             2          127.0.0.1:30912\n"
        );
    }

    #[test]
    fn config_prints_key_equals_value_lines_per_controller() {
        let config = vec![
            ("controllerDLegerGroup".to_string(), "group1".to_string()),
            ("enableElectUncleanMaster".into(), "false".into()),
        ];
        assert_eq!(
            render_config("127.0.0.1:9878", &config),
            "============127.0.0.1:9878============\n\
             controllerDLegerGroup    = group1\n\
             enableElectUncleanMaster = false\n"
        );
    }
}
