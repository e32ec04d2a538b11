//! The broker itself, for admin tools: GET_BROKER_RUNTIME_INFO (28), GET_BROKER_CONFIG (26),
//! UPDATE_BROKER_CONFIG (25: the keys Petrel reads while running, see `config::update`),
//! GET_TOPIC_CONFIG (351) and GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305).
//!
//! Runtime info uses RocketMQ's key names (`AdminBrokerProcessor.prepareRuntimeInfo`,
//! `DefaultMessageStore.getRuntimeInfo`, `StoreStatsService.getRuntimeInfo`) for what Petrel
//! measures (rates and daily totals sampled by `stats::run`, the timer service's figures), and
//! RocketMQ's idle values for machinery Petrel does not have (thread-pool queues), because
//! `mqadmin clusterList` parses several of them as numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use petrel_protocol::message::RecordView;
use petrel_protocol::remoting::body::{JsonBody, KVTable, TopicList};
use petrel_protocol::remoting::header::{
    GetBrokerConfigResponseHeader, GetTopicConfigRequestHeader,
};
use petrel_protocol::remoting::{
    response_code, RemotingCommand, CURRENT_VERSION, CURRENT_VERSION_DESC,
};
use petrel_protocol::topic::{reply_topic, SYSTEM_TOPICS};

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use crate::config::update::UpdateError;
use crate::response::{self, Refusal};
use crate::stats;

/// The runtime-info key that carries Petrel's own version (`brokerVersionDesc` holds the
/// RocketMQ release Petrel speaks, as one token, because tools split it by whitespace).
const PETREL_VERSION_KEY: &str = "petrelVersion";

/// RocketMQ's `MixAll.humanReadableByteCount(bytes, false)`: `512 B`, `1.5 KiB`, `2.0 GiB`.
fn human_readable_bytes(bytes: u64) -> String {
    const UNIT: f64 = 1024.0;
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / UNIT.ln()) as i32;
    let prefix = "KMGTPE".as_bytes()[(exp - 1).clamp(0, 5) as usize] as char;
    format!("{:.1} {prefix}iB", bytes as f64 / UNIT.powi(exp))
}

/// `StoreStatsService.getFormatRuntime`.
fn format_runtime(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        s / 86_400,
        s % 86_400 / 3_600,
        s % 3_600 / 60,
        s % 60
    )
}

/// The window rates as RocketMQ writes them: `"10s 60s 600s"`, Java `double` text.
fn rate_text(rates: [f64; 3]) -> String {
    format!("{:?} {:?} {:?}", rates[0], rates[1], rates[2])
}

/// GET_BROKER_RUNTIME_INFO: a `KVTable` of runtime figures.
///
/// Not reported (Petrel does not measure them): per-request latency maxima and distributions
/// (`putMessageEntireTimeMax`, `putMessageDistributeTime`, `putLatency99`, ...), found/missed
/// pull rates (`getFoundTps`, `getMissTps`), `commitLogDirCapacity`, thread-pool capacities.
/// The daily snapshots (`msg*TotalYesterdayMorning`, `msg*TotalTodayMorning`) are the running
/// totals at the last two UTC midnights (`stats::DailyTotals`; 0 until the first, as in
/// RocketMQ, the totals counting from the broker's start).
pub fn runtime_info(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let now = now_ms();
    let store = &broker.store;
    let store_stats = store.stats();
    let put_bytes = store_stats.put_message_bytes.load(Ordering::Relaxed);
    let counts = stats::rate_counts(broker);
    let (put_count, got_count) = (counts[0], counts[1]);
    let [put_tps, transferred_tps, total_tps, timer_enqueue_tps, timer_dequeue_tps] = broker
        .stats
        .runtime_rates
        .sample(broker.started_ms, now, counts);
    let daily = *broker.stats.daily.lock();
    let timer = broker.timers.figures(store, now);

    let commit_log_min = store.commit_log_min_offset();
    let commit_log_max = store.commit_log_max_offset();
    let max = u64::try_from(commit_log_max).unwrap_or(0);
    let earliest_message_ms = store
        .look_message_by_offset(commit_log_min)
        .and_then(|record| RecordView::parse(&record).ok().map(|v| v.store_timestamp()))
        .unwrap_or(-1);
    // RocketMQ rounds the used fraction up to whole percent.
    let disk_ratio = format!("{:?}", store.disk_used_percent().ceil() / 100.0);
    let commit_log_dir = broker.config.store_path_root_dir.join("commitlog");

    let mut table: BTreeMap<String, String> = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        table.insert(key.to_string(), value);
    };
    put("brokerVersionDesc", CURRENT_VERSION_DESC.to_string());
    put(
        PETREL_VERSION_KEY,
        format!("Petrel {}", env!("CARGO_PKG_VERSION")),
    );
    put("brokerVersion", CURRENT_VERSION.to_string());
    put("brokerActive", "true".into());
    // Petrel: where this broker accepts replicas (controller-mode replicas ask a new master).
    put("haServerAddr", broker.ha_server_addr.clone());
    put("bootTimestamp", broker.started_ms.to_string());
    put("runtime", format_runtime(now - broker.started_ms));
    put("startAcceptSendRequestTimeStamp", "0".into());

    put(
        "msgPutTotalYesterdayMorning",
        daily.put_yesterday_morning.to_string(),
    );
    put(
        "msgPutTotalTodayMorning",
        daily.put_today_morning.to_string(),
    );
    put("msgPutTotalTodayNow", put_count.to_string());
    put(
        "msgGetTotalYesterdayMorning",
        daily.get_yesterday_morning.to_string(),
    );
    put(
        "msgGetTotalTodayMorning",
        daily.get_today_morning.to_string(),
    );
    put("msgGetTotalTodayNow", got_count.to_string());
    put("putMessageTimesTotal", put_count.to_string());
    put("putMessageSizeTotal", put_bytes.to_string());
    put(
        "putMessageAverageSize",
        format!("{:?}", put_bytes as f64 / put_count.max(1) as f64),
    );
    put("putTps", rate_text(put_tps));
    put("getTransferredTps", rate_text(transferred_tps));
    // RocketMQ 4.x's spelling, which 4.9.x `mqadmin clusterList` reads (a 5.x broker lacks it
    // and that tool fails on it with a NullPointerException).
    put("getTransferedTps", rate_text(transferred_tps));
    put("getTotalTps", rate_text(total_tps));

    put("commitLogMinOffset", commit_log_min.to_string());
    put("commitLogMaxOffset", commit_log_max.to_string());
    put("commitLogDiskRatio", disk_ratio.clone());
    put(
        &format!("commitLogDiskRatio_{}", commit_log_dir.display()),
        disk_ratio.clone(),
    );
    put("consumeQueueDiskRatio", disk_ratio);
    put("earliestMessageTimeStamp", earliest_message_ms.to_string());
    put(
        "dispatchBehindBytes",
        max.saturating_sub(store.dispatched_offset()).to_string(),
    );
    put(
        "remainHowManyDataToFlush",
        human_readable_bytes(max.saturating_sub(store.flushed_offset())),
    );
    // RocketMQ's values when the transient store pool is off.
    put("remainTransientStoreBufferNumbs", i32::MAX.to_string());
    // Time the put lock has been held by the current writer; not measured.
    put("pageCacheLockTimeMills", "0".into());

    // Petrel serves requests on tasks, not through bounded thread-pool queues: nothing waits.
    for pool in ["send", "pull", "litePull", "query", "ack"] {
        put(&format!("{pool}ThreadPoolQueueSize"), "0".into());
        put(
            &format!("{pool}ThreadPoolQueueHeadWaitTimeMills"),
            "0".into(),
        );
    }
    put("EndTransactionQueueSize", "0".into());

    // The timer service (`TimerMessageStore`'s figures; its TPS over the last 10 s, as
    // RocketMQ's perf counter reports a recent rate).
    put("timerReadBehind", timer.read_behind_s.to_string());
    put("timerOffsetBehind", timer.offset_behind.to_string());
    put("timerCongestNum", timer.congest_num.to_string());
    put("timerEnqueueTps", format!("{:?}", timer_enqueue_tps[0]));
    put("timerDequeueTps", format!("{:?}", timer_dequeue_tps[0]));

    // Replication (Petrel's keys; `haStatus` has the detail).
    let ha = broker.ha_status();
    put("brokerRole", broker.config.broker_role.as_str().to_string());
    put("haServerAddr", broker.ha_server_addr.clone());
    if ha.master {
        put("haSlaveNums", ha.ha_connection_info.len().to_string());
        put("haInSyncSlaveNums", ha.in_sync_slave_nums.to_string());
        for (i, slave) in ha.ha_connection_info.iter().enumerate() {
            put(
                &format!("haSlave{i}"),
                format!(
                    "{} ackOffset={} behindBytes={} behindMs={} inSync={}",
                    slave.addr,
                    slave.slave_ack_offset,
                    slave.diff,
                    slave.behind_millis,
                    slave.in_sync
                ),
            );
        }
    } else {
        let client = &ha.ha_client_runtime_info;
        put("haMasterAddr", client.master_addr.clone());
        put("haMasterConnected", client.activated.to_string());
        put(
            "slaveFallBehindBytes",
            (client.master_flush_offset - client.max_offset)
                .max(0)
                .to_string(),
        );
        put(
            "haLastReadTimestamp",
            client.last_read_timestamp.to_string(),
        );
    }

    response::json(request, KVTable { table }.encode())
}

/// GET_BROKER_CONFIG: the effective configuration as Java properties text (`key=value` lines,
/// unescaped, as `MixAll.properties2String` writes them), changes made at run time included.
/// The `version` header is the config's data version: stamped with the start time, counted up
/// by each applied UPDATE_BROKER_CONFIG. Secrets are not sent: `initAuthenticationUser`'s
/// password and `innerClientAuthenticationCredentials`' secret key are masked (any signed user
/// may read the config).
pub fn broker_config(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let mut text = String::new();
    for (key, mut value) in broker.live.get().effective_properties() {
        if key == "initAuthenticationUser" && !value.is_empty() {
            value = mask_password(&value, "password");
        }
        if key == "innerClientAuthenticationCredentials" && !value.is_empty() {
            value = mask_password(&value, "secretKey");
        }
        text.push_str(&key);
        text.push('=');
        text.push_str(&value);
        text.push('\n');
    }
    let header = GetBrokerConfigResponseHeader {
        version: String::from_utf8(broker.live.data_version().encode()).unwrap_or_default(),
    };
    response::json(request, text.into_bytes()).with_header(&header)
}

/// The JSON object with its `field` (a password) replaced by `***` (the whole value when it
/// is not JSON).
fn mask_password(json: &str, field: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(mut user)) => {
            if user.contains_key(field) {
                user.insert(field.into(), "***".into());
            }
            serde_json::Value::Object(user).to_string()
        }
        _ => "***".to_string(),
    }
}

/// UPDATE_BROKER_CONFIG: the body's keys (Java properties) are applied if Petrel reads them
/// while running, and saved for the next start; a key read only at start that would change,
/// an unknown key, or a key Petrel does not act on refuses the whole request with a remark
/// naming it (`config::update`). A change of `brokerPermission` is reported to name servers
/// at once, as RocketMQ re-registers.
pub fn update_broker_config(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let changes = broker.live.update(&request.body, now_ms()).map_err(|e| {
        let code = match e {
            UpdateError::BlackListed => response_code::NO_PERMISSION,
            UpdateError::Save { .. } => response_code::SYSTEM_ERROR,
            _ => response_code::INVALID_PARAMETER,
        };
        Refusal::new(code, e.to_string())
    })?;
    for (key, value) in &changes {
        tracing::info!(%key, %value, "broker config changed at run time");
    }
    if changes.iter().any(|(key, _)| key == "brokerPermission") {
        broker.trigger_register();
    }
    Ok(response::ok(request))
}

/// GET_TOPIC_CONFIG: one topic's config (RocketMQ's `TopicConfigAndQueueMapping`, whose
/// `mappingDetail` is absent for topics that are not static).
pub fn topic_config(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetTopicConfigRequestHeader = response::header(request)?;
    let config = broker.topics.get(&h.topic).ok_or_else(|| {
        Refusal::new(
            response_code::TOPIC_NOT_EXIST,
            format!("No topic in this broker. topic: {}", h.topic),
        )
    })?;
    Ok(response::json(request, config.encode()))
}

/// GET_SYSTEM_TOPIC_LIST_FROM_BROKER: RocketMQ's system topics (`TopicValidator`'s set, as
/// `petrel_protocol::topic::SYSTEM_TOPICS` lists it) plus the ones this broker creates for its
/// cluster and broker names.
pub fn system_topic_list(broker: &BrokerInner, request: &RemotingCommand) -> RemotingCommand {
    let mut topic_list: BTreeSet<String> = SYSTEM_TOPICS.iter().map(|t| t.to_string()).collect();
    topic_list.insert(broker.config.broker_cluster_name.clone());
    topic_list.insert(broker.config.broker_name.clone());
    topic_list.insert(reply_topic(&broker.config.broker_cluster_name));
    let list = TopicList {
        broker_addr: None,
        topic_list,
    };
    response::json(request, list.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_like_rocketmq() {
        assert_eq!(human_readable_bytes(0), "0 B");
        assert_eq!(human_readable_bytes(1023), "1023 B");
        assert_eq!(human_readable_bytes(1536), "1.5 KiB");
        assert_eq!(human_readable_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(
            format_runtime(((2 * 24 + 3) * 3600 + 4 * 60 + 5) * 1000),
            "[ 2 days, 3 hours, 4 minutes, 5 seconds ]"
        );
    }
}
