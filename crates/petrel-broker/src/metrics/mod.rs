//! Prometheus metrics with RocketMQ 5.x's names and labels (`BrokerMetricsConstant`,
//! `RemotingMetricsConstant`, `DefaultStoreMetricsConstant`), served at `/metrics` when
//! `metricsExporterType=PROM` ([`http`]).
//!
//! Nothing here counts on the hot path except the RPC latency histogram ([`rpc`]): message
//! and byte counters are the running totals the broker already keeps for
//! VIEW_BROKER_STATS_DATA (`stats::StatsItems`), and the expensive gauges (consumer lag and
//! in-flight messages per group and topic, storage figures) are computed when Prometheus
//! scrapes, with at most `exposition::SERIES_PER_FAMILY_MAX` series per family.
//!
//! Where Petrel differs from RocketMQ's OpenTelemetry exporter: counters are cumulative
//! (`metricsInDelta` is ignored); `rocketmq_messages_in_total` has no `message_type` label
//! (the statistics it reads are per topic only); connection gauges carry no
//! `language`/`version` labels. Petrel-only families start with `petrel_`.

pub mod exposition;
pub mod http;
pub mod rpc;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::RwLock;
use petrel_protocol::message::RecordView;
use petrel_protocol::mix_all::stats;
use petrel_protocol::topic::{is_dlq_topic, is_retry_topic, is_system_topic};

use crate::broker::BrokerInner;
use crate::clock::now_ms;
use exposition::{Exposition, Kind};
use rpc::RpcLatency;

/// One replica's distance behind this broker, for `petrel_replication_lag_bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaLag {
    /// The replica's address (or id).
    pub replica: String,
    /// CommitLog bytes the replica has yet to confirm.
    pub lag_bytes: i64,
}

/// What the replication service installs so that scrapes can ask for its lag.
pub type ReplicationLagFn = dyn Fn() -> Vec<ReplicaLag> + Send + Sync;

/// The broker's metrics state.
#[derive(Default)]
pub struct BrokerMetrics {
    /// `rocketmq_rpc_latency`.
    pub rpc: RpcLatency,
    replication_lag: RwLock<Option<Arc<ReplicationLagFn>>>,
}

impl std::fmt::Debug for BrokerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerMetrics").finish_non_exhaustive()
    }
}

impl BrokerMetrics {
    /// The hook replication fills: called at each scrape, it lists each replica's lag
    /// (`petrel_replication_lag_bytes`). Without it the family is empty.
    pub fn set_replication_lag(&self, lag: Arc<ReplicationLagFn>) {
        *self.replication_lag.write() = Some(lag);
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// Splits a `topic@group` statistics key (neither name may contain `@`).
fn split_group_key(key: &str) -> Option<(&str, &str)> {
    key.split_once('@')
}

/// A group's position on one topic, summed over its queues.
#[derive(Debug, Default, Clone, Copy)]
struct Progress {
    lag: i64,
    inflight: i64,
    /// Age of the oldest message not yet consumed, ms (0 when caught up).
    lag_latency_ms: i64,
}

fn progress(
    broker: &BrokerInner,
    topic: &str,
    group: &str,
    queues: &BTreeMap<i32, i64>,
) -> Progress {
    let now = now_ms();
    let mut p = Progress::default();
    for (&queue_id, &committed) in queues {
        let max = broker.store.get_max_offset_in_queue(topic, queue_id).max(0);
        let committed = committed.max(0);
        let lag = (max - committed).max(0);
        p.lag += lag;
        let pulled = broker
            .offsets
            .pull_offset(group, topic, queue_id)
            .unwrap_or(committed)
            .max(committed);
        p.inflight += (pulled.min(max) - committed).max(0);
        if lag > 0 {
            if let Some(stored) = broker
                .store
                .get_message_store_timestamp(topic, queue_id, committed)
                .filter(|t| *t > 0)
            {
                p.lag_latency_ms = p.lag_latency_ms.max(now - stored);
            }
        }
    }
    p
}

/// A gauge family read from each group's [`Progress`]: name, help, value.
type ProgressFamily = (&'static str, &'static str, fn(&Progress) -> i64);

/// The whole scrape.
pub fn render(broker: &BrokerInner) -> String {
    let config = &broker.config;
    let mut e = Exposition::new(&[
        ("cluster", &config.broker_cluster_name),
        ("node_type", "broker"),
        ("node_id", &config.broker_name),
    ]);
    messages(broker, &mut e);
    consumers(broker, &mut e);
    rpc_latency(broker, &mut e);
    storage(broker, &mut e);
    e.finish()
}

fn messages(broker: &BrokerInner, e: &mut Exposition) {
    let items = &broker.stats.items;
    let topic_family = |e: &mut Exposition, name, help, stat| {
        e.family(name, help, Kind::Counter);
        let mut totals = items.totals(stat);
        totals.sort();
        for (topic, value) in totals {
            // RocketMQ leaves retry and DLQ topics out of the in-bound counters.
            if is_retry_topic(&topic) || is_dlq_topic(&topic) {
                continue;
            }
            let system = bool_text(is_system_topic(&topic));
            e.sample(&[("topic", &topic), ("is_system", system)], value as f64);
        }
    };
    topic_family(
        e,
        "rocketmq_messages_in_total",
        "Messages stored, per topic.",
        stats::TOPIC_PUT_NUMS,
    );
    topic_family(
        e,
        "rocketmq_throughput_in_total",
        "Bytes stored (whole records), per topic.",
        stats::TOPIC_PUT_SIZE,
    );
    let group_family = |e: &mut Exposition, name, help, stat| {
        e.family(name, help, Kind::Counter);
        let mut totals = items.totals(stat);
        totals.sort();
        for (key, value) in totals {
            let Some((topic, group)) = split_group_key(&key) else {
                continue;
            };
            e.sample(
                &[
                    ("topic", topic),
                    ("consumer_group", group),
                    ("is_retry", bool_text(is_retry_topic(topic))),
                    ("is_system", bool_text(is_system_topic(topic))),
                ],
                value as f64,
            );
        }
    };
    group_family(
        e,
        "rocketmq_messages_out_total",
        "Messages delivered to consumers, per topic and consumer group.",
        stats::GROUP_GET_NUMS,
    );
    group_family(
        e,
        "rocketmq_throughput_out_total",
        "Bytes delivered to consumers, per topic and consumer group.",
        stats::GROUP_GET_SIZE,
    );
    group_family(
        e,
        "petrel_send_back_messages_total",
        "Messages consumers sent back for retry, per topic and consumer group.",
        stats::SNDBCK_PUT_NUMS,
    );
}

fn consumers(broker: &BrokerInner, e: &mut Exposition) {
    e.family(
        "rocketmq_topic_number",
        "Topics on this broker.",
        Kind::Gauge,
    );
    e.sample(&[], broker.topics.names().len() as f64);
    e.family(
        "rocketmq_consumer_group_number",
        "Subscription groups on this broker.",
        Kind::Gauge,
    );
    e.sample(&[], broker.groups.all().len() as f64);

    let consumers: usize = broker
        .clients
        .consumer_groups()
        .iter()
        .map(|g| broker.clients.consumer_connections(g).len())
        .sum();
    let producers: usize = broker
        .clients
        .producer_groups()
        .iter()
        .map(|g| broker.clients.producer_group(g).len())
        .sum();
    e.family(
        "rocketmq_consumer_connections",
        "Consumer clients connected.",
        Kind::Gauge,
    );
    e.sample(&[], consumers as f64);
    e.family(
        "rocketmq_producer_connections",
        "Producer clients connected.",
        Kind::Gauge,
    );
    e.sample(&[], producers as f64);

    // Computed now, from the committed offsets (one entry per group and topic).
    let mut rows = Vec::new();
    for (key, queues) in broker.offsets.snapshot() {
        let Some((topic, group)) = split_group_key(&key) else {
            continue;
        };
        rows.push((
            topic.to_string(),
            group.to_string(),
            progress(broker, topic, group, &queues),
        ));
    }
    let families: [ProgressFamily; 3] = [
        (
            "rocketmq_consumer_lag_messages",
            "Messages stored but not yet consumed (committed), per consumer group and topic.",
            |p| p.lag,
        ),
        (
            "rocketmq_consumer_inflight_messages",
            "Messages pulled but not yet committed, per consumer group and topic.",
            |p| p.inflight,
        ),
        (
            "rocketmq_consumer_lag_latency",
            "Age of the oldest message not yet consumed, ms, per consumer group and topic.",
            |p| p.lag_latency_ms,
        ),
    ];
    for (name, help, value) in families {
        e.family(name, help, Kind::Gauge);
        for (topic, group, p) in &rows {
            e.sample(
                &[
                    ("topic", topic),
                    ("consumer_group", group),
                    ("is_retry", bool_text(is_retry_topic(topic))),
                    ("is_system", bool_text(is_system_topic(topic))),
                ],
                value(p) as f64,
            );
        }
    }
}

fn rpc_latency(broker: &BrokerInner, e: &mut Exposition) {
    e.family(
        "rocketmq_rpc_latency",
        "Time to answer a request, ms, by request code, response code and result.",
        Kind::Histogram,
    );
    for s in broker.metrics.rpc.snapshot() {
        let (request_code, response_code) = (
            s.key.request_code.to_string(),
            s.key.response_code.to_string(),
        );
        e.histogram(
            &[
                ("protocol_type", "remoting"),
                ("request_code", &request_code),
                ("response_code", &response_code),
                ("is_long_polling", bool_text(s.key.is_long_polling)),
                ("result", s.key.result),
            ],
            &rpc::RPC_LATENCY_BUCKETS_MS,
            &s.counts,
            s.sum_ms,
        );
    }
}

fn storage(broker: &BrokerInner, e: &mut Exposition) {
    let store = &broker.store;
    let min = store.commit_log_min_offset();
    let max = store.commit_log_max_offset();
    let max_u = u64::try_from(max).unwrap_or(0);
    let gauges: [(&'static str, &str, f64); 4] = [
        (
            "rocketmq_storage_size",
            "Bytes of CommitLog data kept.",
            (max - min).max(0) as f64,
        ),
        (
            "rocketmq_storage_flush_behind_bytes",
            "CommitLog bytes written but not yet flushed.",
            max_u.saturating_sub(store.flushed_offset()) as f64,
        ),
        (
            "rocketmq_storage_dispatch_behind_bytes",
            "CommitLog bytes not yet dispatched to ConsumeQueues and the index.",
            max_u.saturating_sub(store.dispatched_offset()) as f64,
        ),
        (
            "rocketmq_broker_permission",
            "brokerPermission (6: read and write).",
            broker.live.get().broker_permission as f64,
        ),
    ];
    for (name, help, value) in gauges {
        e.family(name, help, Kind::Gauge);
        e.sample(&[], value);
    }
    let earliest = store
        .look_message_by_offset(min)
        .and_then(|record| RecordView::parse(&record).ok().map(|v| v.store_timestamp()))
        .filter(|t| *t > 0);
    e.family(
        "rocketmq_storage_message_reserve_time",
        "Age of the oldest message kept, ms.",
        Kind::Gauge,
    );
    e.sample(&[], earliest.map_or(0, |t| (now_ms() - t).max(0)) as f64);
    e.family(
        "petrel_storage_disk_used_ratio",
        "Fraction of the store's disk in use.",
        Kind::Gauge,
    );
    e.sample(&[], store.disk_used_percent() / 100.0);

    let s = store.stats();
    let counts: Vec<u64> = s
        .flush_latency_buckets
        .iter()
        .map(|b| b.load(Ordering::Relaxed))
        .collect();
    let bounds: Vec<f64> = petrel_store::FLUSH_LATENCY_BUCKETS_MS
        .iter()
        .map(|&ms| ms as f64)
        .collect();
    e.family(
        "petrel_storage_flush_latency",
        "Time of one CommitLog flush (msync), ms.",
        Kind::Histogram,
    );
    e.histogram(
        &[],
        &bounds,
        &counts,
        s.flush_micros_total.load(Ordering::Relaxed) as f64 / 1_000.0,
    );

    let forced = [
        (
            "petrel_storage_forced_deleted_messages_total",
            "Messages deleted inside fileReservedTime by forced cleaning (cleanFileForciblyEnable).",
            &s.forced_deleted_messages,
        ),
        (
            "petrel_storage_forced_deleted_unconsumed_total",
            "Of those, messages some consumer group had not consumed (past the lowest committed \
             offset of their queue, or in a queue no group committed on).",
            &s.forced_deleted_unconsumed,
        ),
    ];
    for (name, help, count) in forced {
        e.family(name, help, Kind::Counter);
        e.sample(&[], count.load(Ordering::Relaxed) as f64);
    }

    e.family(
        "petrel_replication_lag_bytes",
        "CommitLog bytes each replica has yet to confirm (empty without replicas).",
        Kind::Gauge,
    );
    let hook = broker.metrics.replication_lag.read().clone();
    if let Some(lag) = hook {
        for r in lag() {
            e.sample(&[("replica", &r.replica)], r.lag_bytes as f64);
        }
    }
}
