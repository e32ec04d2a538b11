//! An in-process dedup store with TTLs: for one consumer process, or tests. Records vanish
//! with the process; use [`super::RedisDedupStore`] to survive restarts and share records
//! between consumers.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{Claim, DedupError, DedupStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Consuming,
    Consumed,
}

/// Records in a map; expired ones are dropped on access and swept as the map grows.
#[derive(Debug)]
pub struct MemoryDedupStore {
    records: Mutex<HashMap<String, (State, Instant)>>,
    /// Bound on the number of records (oldest-expiring dropped first beyond it).
    max_records: usize,
}

impl Default for MemoryDedupStore {
    fn default() -> Self {
        Self::new(1_000_000)
    }
}

impl MemoryDedupStore {
    pub fn new(max_records: usize) -> Self {
        Self {
            records: Mutex::new(HashMap::new()),
            max_records: max_records.max(1),
        }
    }

    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.records
            .lock()
            .values()
            .filter(|(_, until)| *until > now)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn make_room(&self, records: &mut HashMap<String, (State, Instant)>, now: Instant) {
        if records.len() < self.max_records {
            return;
        }
        records.retain(|_, (_, until)| *until > now);
        if records.len() >= self.max_records {
            // Still full of live records: drop the ones that expire first.
            let mut expiries: Vec<Instant> = records.values().map(|(_, u)| *u).collect();
            let cut = records.len() - self.max_records + 1;
            expiries.select_nth_unstable(cut - 1);
            let threshold = expiries[cut - 1];
            let mut dropped = 0;
            records.retain(|_, (_, until)| {
                if dropped < cut && *until <= threshold {
                    dropped += 1;
                    false
                } else {
                    true
                }
            });
        }
    }
}

impl DedupStore for MemoryDedupStore {
    fn try_claim(&self, key: &str, consuming_ttl: Duration) -> Result<Claim, DedupError> {
        let now = Instant::now();
        let mut records = self.records.lock();
        if let Some((state, until)) = records.get(key) {
            if *until > now {
                return Ok(match state {
                    State::Consuming => Claim::InProgress,
                    State::Consumed => Claim::Consumed,
                });
            }
        }
        self.make_room(&mut records, now);
        records.insert(key.to_string(), (State::Consuming, now + consuming_ttl));
        Ok(Claim::Acquired)
    }

    fn mark_consumed(&self, key: &str, consumed_ttl: Duration) -> Result<(), DedupError> {
        let now = Instant::now();
        let mut records = self.records.lock();
        if !records.contains_key(key) {
            self.make_room(&mut records, now);
        }
        records.insert(key.to_string(), (State::Consumed, now + consumed_ttl));
        Ok(())
    }

    fn release(&self, key: &str) -> Result<(), DedupError> {
        let mut records = self.records.lock();
        if matches!(records.get(key), Some((State::Consuming, _))) {
            records.remove(key);
        }
        Ok(())
    }
}
