//! `rocketmq_rpc_latency`: how long the broker took to answer each request, by request code,
//! response code, long polling and result, in RocketMQ's buckets (ms). Recorded by the
//! broker's request handler around the dispatch table; read at scrape time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

/// RocketMQ's `rocketmq_rpc_latency` bucket bounds, ms (`RemotingMetricsManager`).
pub const RPC_LATENCY_BUCKETS_MS: [f64; 9] =
    [1.0, 3.0, 5.0, 7.0, 10.0, 100.0, 1_000.0, 2_000.0, 3_000.0];
/// Most label combinations kept (request code × response code × result: in practice a few
/// hundred); beyond it new combinations are not recorded.
const RPC_SERIES_MAX: usize = 4_096;

/// The labels of one series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RpcKey {
    pub request_code: i32,
    pub response_code: i32,
    pub is_long_polling: bool,
    /// RocketMQ's `result` label: `success`, `oneway`, `process_request_failed`.
    pub result: &'static str,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; RPC_LATENCY_BUCKETS_MS.len() + 1],
    sum_micros: AtomicU64,
}

/// A snapshot of one series for the exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcSeries {
    pub key: RpcKey,
    /// Per bucket (not cumulative), the overflow last.
    pub counts: Vec<u64>,
    pub sum_ms: f64,
}

/// Every series' histogram.
#[derive(Debug, Default)]
pub struct RpcLatency {
    series: RwLock<HashMap<RpcKey, Arc<Histogram>>>,
}

impl RpcLatency {
    /// Counts one request answered after `elapsed`.
    pub fn record(&self, key: RpcKey, elapsed: Duration) {
        let existing = self.series.read().get(&key).cloned();
        let histogram = match existing {
            Some(h) => h,
            None => {
                let mut series = self.series.write();
                if series.len() >= RPC_SERIES_MAX && !series.contains_key(&key) {
                    return;
                }
                Arc::clone(series.entry(key).or_default())
            }
        };
        let ms = elapsed.as_secs_f64() * 1_000.0;
        let bucket = RPC_LATENCY_BUCKETS_MS
            .iter()
            .position(|&bound| ms <= bound)
            .unwrap_or(RPC_LATENCY_BUCKETS_MS.len());
        histogram.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        histogram.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Every series, sorted by its labels.
    pub fn snapshot(&self) -> Vec<RpcSeries> {
        let mut out: Vec<RpcSeries> = self
            .series
            .read()
            .iter()
            .map(|(key, h)| RpcSeries {
                key: *key,
                counts: h
                    .buckets
                    .iter()
                    .map(|b| b.load(Ordering::Relaxed))
                    .collect(),
                sum_ms: h.sum_micros.load(Ordering::Relaxed) as f64 / 1_000.0,
            })
            .collect();
        out.sort_by_key(|s| s.key);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_rocketmq_buckets() {
        let rpc = RpcLatency::default();
        let key = RpcKey {
            request_code: 10,
            response_code: 0,
            is_long_polling: false,
            result: "success",
        };
        rpc.record(key, Duration::from_micros(500));
        rpc.record(key, Duration::from_millis(4));
        rpc.record(key, Duration::from_secs(5));
        let s = &rpc.snapshot()[0];
        assert_eq!(s.counts, vec![1, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(s.sum_ms, 5_004.5);
    }
}
