//! Wall-clock milliseconds, for the status report's timestamps and rates only (timeouts use
//! tokio's monotonic clock).

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
