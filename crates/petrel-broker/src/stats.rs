//! The broker's counters (sends, pulls, messages in and out), the rates GET_BROKER_RUNTIME_INFO
//! derives from them, the daily totals, and the named statistics VIEW_BROKER_STATS_DATA reads
//! ([`StatsItems`]: per topic and per `topic@group`, over the last minute, hour and day), as
//! RocketMQ's `BrokerStatsManager`, `StoreStatsService` and `BrokerStats` keep them.
//! Processors count; [`run`] samples everything on a timer (once a second), as RocketMQ's
//! scheduled samplers do, so a window's rate holds whether or not a tool polls;
//! `processor/admin_broker.rs`, `processor/admin_stats.rs` and `metrics/` read. They live here,
//! beside the runtime that owns them, so that `broker.rs` needs nothing from a processor.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use petrel_protocol::remoting::body::{BrokerStatsData, BrokerStatsItem};
use tokio::sync::watch;

use crate::broker::BrokerInner;
use crate::clock::now_ms;

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
    /// Messages stored and sent to consumers at the last two midnights.
    pub daily: Mutex<DailyTotals>,
}

/// How often [`run`] samples the broker's counters.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// A day, ms (the daily totals roll at each UTC midnight).
const DAY_MS: i64 = 86_400_000;

/// Counters whose rates runtime info reports: messages stored (`putTps`), messages sent to
/// consumers (`getTransferredTps`), pull requests (`getTotalTps`), timers indexed
/// (`timerEnqueueTps`) and timers delivered (`timerDequeueTps`).
pub const RATE_COUNTERS: usize = 5;
/// RocketMQ's rate windows, seconds.
const RATE_WINDOWS_S: [i64; 3] = [10, 60, 600];
/// Samples closer together than this are not kept (bounds the ring to about 600 entries).
const RATE_SAMPLE_INTERVAL_MS_MIN: i64 = 1_000;
/// Hard cap on kept samples.
const RATE_SAMPLES_MAX: usize = 1_024;

/// Running totals of the [`RATE_COUNTERS`] counters, in that order.
pub type Counts = [u64; RATE_COUNTERS];

/// Turns running totals into rates over RocketMQ's 10 s / 60 s / 600 s windows.
///
/// As RocketMQ's `StoreStatsService`, the broker samples its counters every second ([`run`]);
/// a read samples too. A window's rate is taken from the newest sample at or before the
/// window's start (or from the broker's start, for a broker younger than the window), so it is
/// an average over the window, give or take a second.
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

/// The shortest span a TPS is computed over, ms.
const STATS_TPS_ELAPSED_MS_MIN: i64 = 1_000;

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
/// As RocketMQ does, every statistic is sampled on a timer ([`StatsItems::sample_all`], from
/// [`run`]), and when it is read; counting only adds. A window's figures run from its base
/// sample to the moment of reading, so the minute's TPS shows a load from its first second.
/// A statistic exists from its first count, as in RocketMQ (reading one never counted answers
/// "not exist").
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
    }

    /// Samples every statistic whose sampling interval has passed (the timer's work).
    pub fn sample_all(&self, now_ms: i64) {
        let items: Vec<Arc<StatsItem>> = self
            .items
            .read()
            .values()
            .flat_map(|keys| keys.values().cloned())
            .collect();
        for item in items {
            item.sample_if_due(now_ms);
        }
    }

    /// The statistic's messages per second over the last minute, 0.0 if it was never counted
    /// (`BrokerStatsManager.tpsTopicPutNums`, `tpsGroupGetNums`).
    pub fn minute_tps(&self, name: &str, key: &str, now_ms: i64) -> f64 {
        self.data(name, key, now_ms)
            .map_or(0.0, |d| d.stats_minute.tps)
    }

    /// Every key of `name` with its running total since the broker started, for metrics.
    pub fn totals(&self, name: &str) -> Vec<(String, u64)> {
        self.items
            .read()
            .get(name)
            .map(|keys| {
                keys.iter()
                    .map(|(k, item)| (k.clone(), item.value.load(Ordering::Relaxed)))
                    .collect()
            })
            .unwrap_or_default()
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
            // A statistic younger than a second is averaged over one (what it counted in its
            // first milliseconds is a rate, not nothing, and not a burst divided by ~0).
            let elapsed_ms = (now.at_ms - first.at_ms).max(STATS_TPS_ELAPSED_MS_MIN);
            BrokerStatsItem {
                sum: i64::try_from(sum).unwrap_or(i64::MAX),
                tps: sum as f64 * 1000.0 / elapsed_ms as f64,
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

/// RocketMQ's `BrokerStats`: the store's running totals of messages stored and sent to
/// consumers, as they were at the last two midnights (UTC; RocketMQ uses the JVM's time zone),
/// for runtime info's `msgPutTotalYesterdayMorning`, `msgPutTotalTodayMorning` and the `Get`
/// pair. Until the broker's first midnight both are 0, as in RocketMQ, which is exact: the
/// running totals count from the broker's start.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DailyTotals {
    /// The UTC day (days since the epoch) of the last roll; `None` before the first sample.
    day: Option<i64>,
    pub put_yesterday_morning: u64,
    pub put_today_morning: u64,
    pub get_yesterday_morning: u64,
    pub get_today_morning: u64,
}

impl DailyTotals {
    /// Notes the running totals at `now_ms`; at the first sample of a new day, today's
    /// morning figures become yesterday's and the current totals become today's.
    pub fn observe(&mut self, now_ms: i64, put_total: u64, get_total: u64) {
        let day = now_ms.div_euclid(DAY_MS);
        match self.day {
            None => self.day = Some(day),
            Some(last) if day > last => {
                self.day = Some(day);
                self.put_yesterday_morning = self.put_today_morning;
                self.get_yesterday_morning = self.get_today_morning;
                self.put_today_morning = put_total;
                self.get_today_morning = get_total;
            }
            Some(_) => {}
        }
    }
}

/// The counters runtime info turns into rates, read now.
pub fn rate_counts(broker: &BrokerInner) -> Counts {
    let store = broker.store.stats();
    let timers = broker.timers.counters();
    [
        store.put_message_count.load(Ordering::Relaxed),
        store.get_message_count.load(Ordering::Relaxed),
        broker.stats.pull_requests.load(Ordering::Relaxed),
        timers.0,
        timers.1,
    ]
}

/// Samples the broker's statistics every [`SAMPLE_INTERVAL`] until shutdown: the runtime
/// rates, the named statistics and the daily totals.
pub async fn run(broker: Arc<BrokerInner>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SAMPLE_INTERVAL) => {}
            _ = shutdown.changed() => return,
        }
        let now = now_ms();
        let counts = rate_counts(&broker);
        broker
            .stats
            .runtime_rates
            .sample(broker.started_ms, now, counts);
        broker.stats.items.sample_all(now);
        broker.stats.daily.lock().observe(now, counts[0], counts[1]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_cover_at_least_their_window() {
        let rates = RuntimeRates::default();
        // First read, 20 s after boot, 200 puts: every window averages since boot.
        let r = rates.sample(0, 20_000, [200, 0, 0, 0, 0]);
        assert_eq!(r[0], [10.0, 10.0, 10.0]);
        // 10 s later, 100 more: the 10 s window starts at the last sample.
        let r = rates.sample(0, 30_000, [300, 0, 0, 0, 0]);
        assert_eq!(r[0][0], 10.0);
        // Idle for 15 s: the 10 s window sees nothing new; 60 s and 600 s still reach boot.
        let r = rates.sample(0, 45_000, [300, 0, 0, 0, 0]);
        assert_eq!(r[0], [0.0, 300.0 / 45.0, 300.0 / 45.0]);
        // Reads closer than a second apart do not grow the ring.
        rates.sample(0, 45_100, [300, 0, 0, 0, 0]);
        assert_eq!(rates.samples.lock().len(), 3);
        // Long after, only the newest sample before the 600 s window is kept as a base.
        rates.sample(0, 2_000_000, [300, 0, 0, 0, 0]);
        assert_eq!(rates.samples.lock().len(), 2);
    }

    #[test]
    fn stats_items_sum_and_rate_over_their_windows() {
        let items = StatsItems::default();
        assert_eq!(items.data("TOPIC_PUT_NUMS", "t", 0), None, "never counted");
        // 6 messages in 3 sends within the first 30 s, sampled by the timer in between.
        items.add("TOPIC_PUT_NUMS", "t", 1, 0);
        items.sample_all(10_000);
        items.add("TOPIC_PUT_NUMS", "t", 2, 10_000);
        items.sample_all(20_000);
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

    #[test]
    fn minute_tps_is_zero_for_what_was_never_counted() {
        let items = StatsItems::default();
        assert_eq!(items.minute_tps("TOPIC_PUT_NUMS", "t", 0), 0.0);
        items.add("TOPIC_PUT_NUMS", "t", 50, 0);
        assert_eq!(items.minute_tps("TOPIC_PUT_NUMS", "t", 10_000), 5.0);
        // Read in the millisecond it was counted: averaged over a second, not 0 or infinite.
        items.add("GROUP_GET_NUMS", "t@g", 3, 20_000);
        assert_eq!(items.minute_tps("GROUP_GET_NUMS", "t@g", 20_000), 3.0);
        assert_eq!(items.totals("TOPIC_PUT_NUMS"), vec![("t".to_string(), 50)]);
    }

    #[test]
    fn daily_totals_roll_at_midnight() {
        let mut daily = DailyTotals::default();
        // Started mid-day: nothing recorded until the first midnight.
        daily.observe(DAY_MS * 10 + 5_000, 100, 40);
        assert_eq!(
            (daily.put_today_morning, daily.put_yesterday_morning),
            (0, 0)
        );
        daily.observe(DAY_MS * 10 + 80_000_000, 900, 400);
        assert_eq!(daily.put_today_morning, 0);
        // First sample after midnight: today's morning is the running total then.
        daily.observe(DAY_MS * 11 + 1_000, 1_000, 500);
        assert_eq!(
            (daily.put_today_morning, daily.get_today_morning),
            (1_000, 500)
        );
        assert_eq!(
            (daily.put_yesterday_morning, daily.get_yesterday_morning),
            (0, 0)
        );
        // The next midnight moves it to yesterday.
        daily.observe(DAY_MS * 12 + 1_000, 3_000, 2_000);
        assert_eq!(daily.put_yesterday_morning, 1_000);
        assert_eq!(daily.put_today_morning, 3_000);
        assert_eq!(daily.get_yesterday_morning, 500);
    }
}
