//! The broker's counters (sends, pulls, messages in and out), the rates GET_BROKER_RUNTIME_INFO
//! derives from them, and the named statistics VIEW_BROKER_STATS_DATA reads ([`StatsItems`]:
//! per topic and per `topic@group`, over the last minute, hour and day). Processors count;
//! `processor/admin_broker.rs` and `processor/admin_stats.rs` read. They live here, beside the
//! runtime that owns them, so that `broker.rs` needs nothing from a processor.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use petrel_protocol::remoting::body::{BrokerStatsData, BrokerStatsItem};

/// Counters for runtime info.
#[derive(Debug, Default)]
pub struct BrokerStats {
    pub send_requests: AtomicU64,
    pub pull_requests: AtomicU64,
    pub messages_put: AtomicU64,
    pub messages_got: AtomicU64,
    /// Samples behind the rates GET_BROKER_RUNTIME_INFO reports.
    pub runtime_rates: RuntimeRates,
    /// RocketMQ's named statistics (`TOPIC_PUT_NUMS`, `GROUP_GET_NUMS`, ...).
    pub items: StatsItems,
}

/// Counters whose rates runtime info reports: messages stored (`putTps`), messages sent to
/// consumers (`getTransferredTps`), pull requests (`getTotalTps`).
const RATE_COUNTERS: usize = 3;
/// RocketMQ's rate windows, seconds.
const RATE_WINDOWS_S: [i64; 3] = [10, 60, 600];
/// Samples closer together than this are not kept (bounds the ring to about 600 entries).
const RATE_SAMPLE_INTERVAL_MS_MIN: i64 = 1_000;
/// Hard cap on kept samples.
const RATE_SAMPLES_MAX: usize = 1_024;

type Counts = [u64; RATE_COUNTERS];

/// Turns running totals into rates over RocketMQ's 10 s / 60 s / 600 s windows.
///
/// RocketMQ samples its counters every second on a thread; Petrel samples only when runtime
/// info is read. A window's rate is taken from the newest sample at or before the window's
/// start (or from the broker's start, when all counters were 0), so it is an average over at
/// least the window: exact when tools poll more often than the window, longer otherwise.
#[derive(Debug, Default)]
pub struct RuntimeRates {
    samples: Mutex<VecDeque<(i64, Counts)>>,
}

impl RuntimeRates {
    /// Records `counts` taken at `now_ms` and returns each counter's rate (per second) over
    /// each window, for a broker that started at `boot_ms`.
    pub fn sample(&self, boot_ms: i64, now_ms: i64, counts: Counts) -> [[f64; 3]; RATE_COUNTERS] {
        let mut samples = self.samples.lock();
        let mut rates = [[0.0; 3]; RATE_COUNTERS];
        for (w, window_s) in RATE_WINDOWS_S.iter().enumerate() {
            let start = now_ms - window_s * 1000;
            let (base_ms, base) = samples
                .iter()
                .rev()
                .find(|(t, _)| *t <= start)
                .copied()
                .unwrap_or((boot_ms, [0; RATE_COUNTERS]));
            let elapsed_ms = (now_ms - base_ms).max(1) as f64;
            for (c, rate) in rates.iter_mut().enumerate() {
                rate[w] = counts[c].saturating_sub(base[c]) as f64 * 1000.0 / elapsed_ms;
            }
        }
        let oldest_needed = now_ms - RATE_WINDOWS_S[2] * 1000;
        while samples.len() >= 2 && samples[1].0 <= oldest_needed {
            samples.pop_front();
        }
        if samples
            .back()
            .is_none_or(|(t, _)| now_ms - t >= RATE_SAMPLE_INTERVAL_MS_MIN)
        {
            samples.push_back((now_ms, counts));
            if samples.len() > RATE_SAMPLES_MAX {
                samples.pop_front();
            }
        }
        rates
    }
}

/// Most statistics kept (one per topic or `topic@group` and name); beyond it new keys are not
/// counted (about 1 KiB each).
const STATS_ITEMS_MAX: usize = 100_000;

/// A statistic's windows, as RocketMQ's `StatsItem` keeps them: `(window, sampling interval,
/// samples kept)`, ms. The minute is read from 10 s samples, the hour from 10 min samples, the
/// day from hourly samples.
const STATS_WINDOWS_MS: [(i64, i64, usize); 3] = [
    (60_000, 10_000, 7),
    (3_600_000, 600_000, 7),
    (86_400_000, 3_600_000, 25),
];

/// RocketMQ's named statistics: for each name and key, a running total and count, sampled so
/// that VIEW_BROKER_STATS_DATA can answer the total, rate and average over the last minute,
/// hour and day.
///
/// RocketMQ samples every statistic on timers; Petrel samples one when it is counted or read,
/// at most once per sampling interval, so an idle statistic costs nothing. A statistic exists
/// from its first count, as in RocketMQ (reading one never counted answers "not exist").
#[derive(Debug, Default)]
pub struct StatsItems {
    items: RwLock<HashMap<&'static str, HashMap<String, Arc<StatsItem>>>>,
    count: AtomicU64,
}

#[derive(Debug)]
struct StatsItem {
    value: AtomicU64,
    times: AtomicU64,
    /// When the next sample is due, ms.
    next_sample_ms: AtomicI64,
    /// Per window, samples oldest first.
    samples: Mutex<[VecDeque<Snapshot>; 3]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Snapshot {
    at_ms: i64,
    value: u64,
    times: u64,
}

impl StatsItems {
    /// Counts `value` (messages, bytes) in one event under `name`/`key` at `now_ms`.
    pub fn add(&self, name: &'static str, key: &str, value: u64, now_ms: i64) {
        let existing = self
            .items
            .read()
            .get(name)
            .and_then(|keys| keys.get(key))
            .cloned();
        let item = match existing {
            Some(item) => item,
            None => {
                if self.count.load(Ordering::Relaxed) >= STATS_ITEMS_MAX as u64 {
                    return;
                }
                let mut items = self.items.write();
                let item = items
                    .entry(name)
                    .or_default()
                    .entry(key.to_string())
                    .or_insert_with(|| {
                        self.count.fetch_add(1, Ordering::Relaxed);
                        Arc::new(StatsItem::new(now_ms))
                    });
                Arc::clone(item)
            }
        };
        item.value.fetch_add(value, Ordering::Relaxed);
        item.times.fetch_add(1, Ordering::Relaxed);
        item.sample_if_due(now_ms);
    }

    /// The statistic over the last minute, hour and day, or `None` if it was never counted.
    pub fn data(&self, name: &str, key: &str, now_ms: i64) -> Option<BrokerStatsData> {
        let item = self.items.read().get(name)?.get(key)?.clone();
        Some(item.data(now_ms))
    }
}

impl StatsItem {
    fn new(now_ms: i64) -> Self {
        let start = Snapshot {
            at_ms: now_ms,
            value: 0,
            times: 0,
        };
        Self {
            value: AtomicU64::new(0),
            times: AtomicU64::new(0),
            next_sample_ms: AtomicI64::new(now_ms + STATS_WINDOWS_MS[0].1),
            samples: Mutex::new(std::array::from_fn(|_| VecDeque::from([start]))),
        }
    }

    fn now(&self, now_ms: i64) -> Snapshot {
        Snapshot {
            at_ms: now_ms,
            value: self.value.load(Ordering::Relaxed),
            times: self.times.load(Ordering::Relaxed),
        }
    }

    fn sample_if_due(&self, now_ms: i64) {
        if now_ms < self.next_sample_ms.load(Ordering::Relaxed) {
            return;
        }
        let now = self.now(now_ms);
        let mut samples = self.samples.lock();
        for (series, (_, interval_ms, keep)) in samples.iter_mut().zip(STATS_WINDOWS_MS) {
            if series
                .back()
                .is_none_or(|last| now_ms - last.at_ms >= interval_ms)
            {
                series.push_back(now);
                while series.len() > keep {
                    series.pop_front();
                }
            }
        }
        self.next_sample_ms
            .store(now_ms + STATS_WINDOWS_MS[0].1, Ordering::Relaxed);
    }

    /// `StatsItem.computeStatsData` over each window: from the newest sample at or before the
    /// window's start (or the oldest kept) to now.
    fn data(&self, now_ms: i64) -> BrokerStatsData {
        self.sample_if_due(now_ms);
        let now = self.now(now_ms);
        let samples = self.samples.lock();
        let item = |w: usize| {
            let (window_ms, _, _) = STATS_WINDOWS_MS[w];
            let series = &samples[w];
            let first = series
                .iter()
                .rev()
                .find(|s| s.at_ms <= now_ms - window_ms)
                .or(series.front())
                .copied()
                .unwrap_or(now);
            let sum = now.value.saturating_sub(first.value);
            let times = now.times.saturating_sub(first.times);
            let elapsed_ms = now.at_ms - first.at_ms;
            BrokerStatsItem {
                sum: i64::try_from(sum).unwrap_or(i64::MAX),
                tps: if elapsed_ms > 0 {
                    sum as f64 * 1000.0 / elapsed_ms as f64
                } else {
                    0.0
                },
                avgpt: if times > 0 {
                    sum as f64 / times as f64
                } else {
                    0.0
                },
            }
        };
        BrokerStatsData {
            stats_minute: item(0),
            stats_hour: item(1),
            stats_day: item(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_cover_at_least_their_window() {
        let rates = RuntimeRates::default();
        // First read, 20 s after boot, 200 puts: every window averages since boot.
        let r = rates.sample(0, 20_000, [200, 0, 0]);
        assert_eq!(r[0], [10.0, 10.0, 10.0]);
        // 10 s later, 100 more: the 10 s window starts at the last sample.
        let r = rates.sample(0, 30_000, [300, 0, 0]);
        assert_eq!(r[0][0], 10.0);
        // Idle for 15 s: the 10 s window sees nothing new; 60 s and 600 s still reach boot.
        let r = rates.sample(0, 45_000, [300, 0, 0]);
        assert_eq!(r[0], [0.0, 300.0 / 45.0, 300.0 / 45.0]);
        // Reads closer than a second apart do not grow the ring.
        rates.sample(0, 45_100, [300, 0, 0]);
        assert_eq!(rates.samples.lock().len(), 3);
        // Long after, only the newest sample before the 600 s window is kept as a base.
        rates.sample(0, 2_000_000, [300, 0, 0]);
        assert_eq!(rates.samples.lock().len(), 2);
    }

    #[test]
    fn stats_items_sum_and_rate_over_their_windows() {
        let items = StatsItems::default();
        assert_eq!(items.data("TOPIC_PUT_NUMS", "t", 0), None, "never counted");
        // 6 messages in 3 sends within the first 30 s.
        items.add("TOPIC_PUT_NUMS", "t", 1, 0);
        items.add("TOPIC_PUT_NUMS", "t", 2, 10_000);
        items.add("TOPIC_PUT_NUMS", "t", 3, 30_000);
        let d = items.data("TOPIC_PUT_NUMS", "t", 30_000).unwrap();
        assert_eq!(d.stats_minute.sum, 6);
        assert_eq!(d.stats_minute.tps, 6.0 * 1000.0 / 30_000.0);
        assert_eq!(d.stats_minute.avgpt, 2.0);
        assert_eq!(d.stats_day.sum, 6);
        // Two minutes later: nothing in the last minute, everything in the hour and the day.
        let d = items.data("TOPIC_PUT_NUMS", "t", 150_000).unwrap();
        assert_eq!(d.stats_minute.sum, 0);
        assert_eq!(d.stats_hour.sum, 6);
        assert_eq!(d.stats_day.sum, 6);
        // Keys and names are separate.
        assert_eq!(items.data("TOPIC_PUT_SIZE", "t", 0), None);
        assert_eq!(items.data("TOPIC_PUT_NUMS", "u", 0), None);
    }
}
