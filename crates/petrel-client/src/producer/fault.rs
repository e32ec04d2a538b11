//! Latency-based fault avoidance (RocketMQ's `MQFaultStrategy` / `LatencyFaultTolerance`):
//! a broker that answered slowly or failed is avoided for a while, longer the worse it did.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Latency thresholds (ms) and how long a broker at or over each is avoided (ms); the
/// values of the 5.x Java client.
const LATENCY_MAX_MS: [u64; 7] = [50, 100, 550, 1_800, 3_000, 5_000, 15_000];
const NOT_AVAILABLE_MS: [u64; 7] = [0, 0, 2_000, 5_000, 6_000, 10_000, 30_000];
/// A failed call counts as this latency (so the broker is avoided for 10 s).
pub const ISOLATION_LATENCY_MS: u64 = 10_000;

#[derive(Debug, Clone, Copy)]
struct Item {
    latency_ms: u64,
    available_from: Instant,
}

#[derive(Debug, Default)]
pub struct LatencyFaultTolerance {
    items: Mutex<HashMap<String, Item>>,
}

impl LatencyFaultTolerance {
    /// Records a call to `broker_name` that took `latency_ms` (or failed, with `isolation`).
    pub fn update(&self, broker_name: &str, latency_ms: u64, isolation: bool) {
        let latency_ms = if isolation {
            ISOLATION_LATENCY_MS
        } else {
            latency_ms
        };
        let avoid = not_available_for(latency_ms);
        let mut items = self.items.lock();
        if avoid.is_zero() && !items.contains_key(broker_name) {
            return; // keep the map small while all is well
        }
        items.insert(
            broker_name.to_string(),
            Item {
                latency_ms,
                available_from: Instant::now() + avoid,
            },
        );
    }

    pub fn is_available(&self, broker_name: &str) -> bool {
        self.items
            .lock()
            .get(broker_name)
            .is_none_or(|i| Instant::now() >= i.available_from)
    }

    /// Among `candidates`, the broker to use when every one is being avoided: the one that
    /// becomes available first, then the lowest latency.
    pub fn least_bad<'a>(&self, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
        let items = self.items.lock();
        candidates.min_by_key(|b| {
            items
                .get(*b)
                .map(|i| (i.available_from, i.latency_ms))
                .unwrap_or((Instant::now(), 0))
        })
    }
}

fn not_available_for(latency_ms: u64) -> Duration {
    for i in (0..LATENCY_MAX_MS.len()).rev() {
        if latency_ms >= LATENCY_MAX_MS[i] {
            return Duration::from_millis(NOT_AVAILABLE_MS[i]);
        }
    }
    Duration::ZERO
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_brokers_stay_available_and_slow_or_failed_ones_are_avoided() {
        let f = LatencyFaultTolerance::default();
        f.update("fast", 3, false);
        assert!(f.is_available("fast"));
        f.update("slow", 600, false);
        assert!(!f.is_available("slow"));
        f.update("down", 0, true);
        assert!(!f.is_available("down"));
        assert!(f.is_available("never-seen"));
        // Every candidate avoided: the one avoided for the shortest time.
        assert_eq!(f.least_bad(["down", "slow"].into_iter()), Some("slow"));
        // A good call lifts the avoidance.
        f.update("slow", 2, false);
        assert!(f.is_available("slow"));
    }

    #[test]
    fn thresholds_match_the_java_client() {
        assert_eq!(not_available_for(99), Duration::ZERO);
        assert_eq!(not_available_for(550), Duration::from_millis(2_000));
        assert_eq!(
            not_available_for(ISOLATION_LATENCY_MS),
            Duration::from_millis(10_000)
        );
        assert_eq!(not_available_for(60_000), Duration::from_millis(30_000));
    }
}
