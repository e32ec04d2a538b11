//! The broker's counters (sends, pulls, messages in and out) and the rates GET_BROKER_RUNTIME_INFO
//! derives from them. Processors count; `processor/admin_broker.rs` reads. They live here, beside
//! the runtime that owns them, so that `broker.rs` needs nothing from a processor.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;

use parking_lot::Mutex;

/// Counters for runtime info.
#[derive(Debug, Default)]
pub struct BrokerStats {
    pub send_requests: AtomicU64,
    pub pull_requests: AtomicU64,
    pub messages_put: AtomicU64,
    pub messages_got: AtomicU64,
    /// Samples behind the rates GET_BROKER_RUNTIME_INFO reports.
    pub runtime_rates: RuntimeRates,
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
}
