//! The wall clock, read in one place: RocketMQ stamps times as milliseconds since the Unix epoch
//! (store times, heartbeats, data versions, timer and delay due times), and so does Petrel.
//!
//! Pure decisions take the time as an argument instead of calling [`now_ms`], so tests can pass
//! any time they like; only the runtime edges read the clock.

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_milliseconds_since_the_epoch() {
        // 2020-09-13T12:26:40Z in ms: any clock this code runs on is past it.
        assert!(now_ms() > 1_600_000_000_000);
    }
}
