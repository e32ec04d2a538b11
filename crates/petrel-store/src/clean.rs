//! Retention: which CommitLog segments to delete, as a pure decision over plain inputs (the
//! store executes it; tests assert it exactly).
//!
//! RocketMQ's rules: a sealed segment is *expired* once `fileReservedTime` hours have passed
//! since its last write. Expired segments are deleted at the hours listed in `deleteWhen`, or at
//! any hour when disk use reaches `diskMaxUsedSpaceRatio`, or when an operator asks. Above
//! `diskSpaceCleanForciblyRatio` the oldest segments go even if not expired — in Petrel only
//! with `cleanFileForciblyEnable=true` (RocketMQ's default is on; Petrel's is off, because it
//! deletes acknowledged messages that no consumer may have read: a full disk refuses writes
//! instead, and such a deletion, when enabled, is logged as a warning with its offsets and the
//! number of messages it removed that some consumer group had not consumed, and counted in
//! [`StoreStats`](crate::StoreStats)). Deletion always
//! takes a prefix of the log (the minimum offset must stay contiguous), never the active
//! segment, and at most `deleteFilesBatchMax` segments per round.
//!
//! The decision ([`plan_commit_log_deletion`]) is pure. `StoreInner::clean` gathers its inputs
//! (sealed segments, disk usage, the clock), executes it and lets ConsumeQueues and IndexFiles
//! follow; the `petrel-clean` thread (`run`) calls it every `cleanResourceInterval`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::DeleteWhenError;
use crate::store::StoreInner;
use crate::store::StoreStats;

/// A sealed (no longer written) CommitLog segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedSegment {
    pub from: u64,
    /// Store timestamp of the last write into the segment (approximated from below by the
    /// first record of the next segment), if known.
    pub last_write_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanPolicy {
    pub file_reserved_time_hours: u64,
    pub delete_when_hours: Vec<u32>,
    pub disk_max_used_space_ratio: u32,
    pub disk_space_clean_forcibly_ratio: u32,
    pub clean_file_forcibly_enable: bool,
    pub delete_files_batch_max: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanReason {
    Scheduled,
    DiskAboveMaxUsed,
    DiskAboveForcibly,
    Manual,
}

/// How many of the oldest sealed segments to delete, and why (`None` when nothing goes).
pub fn plan_commit_log_deletion(
    now_ms: i64,
    local_hour: u32,
    disk_used_percent: f64,
    manual: bool,
    sealed: &[SealedSegment],
    policy: &CleanPolicy,
) -> Option<(usize, CleanReason)> {
    let forcibly = policy.clean_file_forcibly_enable
        && disk_used_percent >= f64::from(policy.disk_space_clean_forcibly_ratio);
    let reason = if forcibly {
        CleanReason::DiskAboveForcibly
    } else if disk_used_percent >= f64::from(policy.disk_max_used_space_ratio) {
        CleanReason::DiskAboveMaxUsed
    } else if manual {
        CleanReason::Manual
    } else if policy.delete_when_hours.contains(&local_hour) {
        CleanReason::Scheduled
    } else {
        return None;
    };
    let reserved_ms = (policy.file_reserved_time_hours as i64).saturating_mul(3_600_000);
    let count = sealed
        .iter()
        .take(policy.delete_files_batch_max)
        .take_while(|s| {
            forcibly
                || s.last_write_ms
                    .is_some_and(|t| t.saturating_add(reserved_ms) <= now_ms)
        })
        .count();
    (count > 0).then_some((count, reason))
}

/// How far consumer groups have consumed, as the broker knows it (the store knows no groups).
/// Installed with [`MessageStore::set_consumed_offsets`](crate::MessageStore::set_consumed_offsets);
/// asked only when a forced deletion has removed messages of a queue.
pub trait ConsumedOffsets: Send + Sync {
    /// The lowest offset any consumer group has committed on the queue (the next message that
    /// group will consume); `None` when no group has committed one.
    fn min_committed_offset(&self, topic: &str, queue_id: i32) -> Option<i64>;
}

/// The queue offsets `[from, to)` a deletion removed from one ConsumeQueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedRange {
    pub topic: String,
    pub queue_id: i32,
    pub from: i64,
    pub to: i64,
    /// The lowest offset a consumer group has committed on the queue, if any.
    pub min_committed: Option<i64>,
}

impl RemovedRange {
    pub fn removed(&self) -> u64 {
        (self.to - self.from).max(0) as u64
    }

    /// Removed messages at or after the lowest committed offset: some group had not consumed
    /// them. A queue no group has committed on counts in full (nobody is known to have read
    /// it).
    pub fn unconsumed(&self) -> u64 {
        let first_unread = self.min_committed.map_or(self.from, |c| c.max(self.from));
        (self.to - first_unread).max(0) as u64
    }
}

/// What one forced deletion removed, summed over its queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForcedDeletionCount {
    pub messages: u64,
    pub unconsumed: u64,
}

pub fn count_forced_deletion(ranges: &[RemovedRange]) -> ForcedDeletionCount {
    ranges
        .iter()
        .fold(ForcedDeletionCount::default(), |c, r| ForcedDeletionCount {
            messages: c.messages + r.removed(),
            unconsumed: c.unconsumed + r.unconsumed(),
        })
}

/// The queues a forced deletion left unread messages in, for its warning: at most
/// [`WARN_QUEUES_MAX`], most unread first, as `topic/queueId: offsets from..to (n unconsumed)`.
fn describe_unconsumed(ranges: &[RemovedRange]) -> String {
    let mut hit: Vec<&RemovedRange> = ranges.iter().filter(|r| r.unconsumed() > 0).collect();
    hit.sort_by_key(|r| std::cmp::Reverse(r.unconsumed()));
    let mut parts: Vec<String> = hit
        .iter()
        .take(WARN_QUEUES_MAX)
        .map(|r| {
            format!(
                "{}/{}: offsets {}..{} ({} unconsumed)",
                r.topic,
                r.queue_id,
                r.from,
                r.to,
                r.unconsumed()
            )
        })
        .collect();
    if hit.len() > WARN_QUEUES_MAX {
        parts.push(format!("and {} more queues", hit.len() - WARN_QUEUES_MAX));
    }
    parts.join("; ")
}

/// Queues named in a forced deletion's warning.
const WARN_QUEUES_MAX: usize = 10;

/// Above `diskSpaceCleanForciblyRatio` with forced cleaning off: say so, at most once a minute.
fn warn_kept_unexpired(used: f64, policy: &CleanPolicy, warning_level_ratio: u32) {
    static LAST_WARN_MS: AtomicI64 = AtomicI64::new(i64::MIN);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let last = LAST_WARN_MS.load(Ordering::Relaxed);
    if now_ms.saturating_sub(last) < KEPT_UNEXPIRED_WARN_INTERVAL_MS
        || LAST_WARN_MS
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    tracing::warn!(
        disk_used_percent = used,
        clean_forcibly_ratio = policy.disk_space_clean_forcibly_ratio,
        writes_stop_at_percent = warning_level_ratio,
        "the disk is above diskSpaceCleanForciblyRatio; segments inside fileReservedTime are \
         kept (cleanFileForciblyEnable=false), so writes stop with 'disk full' at \
         diskSpaceWarningLevelRatio. Add disk space, lower fileReservedTime, or set \
         cleanFileForciblyEnable=true to let retention delete unread messages"
    );
}

/// At most one "kept unexpired segments" warning per this many milliseconds.
const KEPT_UNEXPIRED_WARN_INTERVAL_MS: i64 = 60_000;

/// Parses `deleteWhen`: hours of the day separated by `;` (`"04"`, `"04;16"`).
pub fn parse_delete_when(s: &str) -> Result<Vec<u32>, DeleteWhenError> {
    let hours = s
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.parse::<u32>() {
            Ok(h) if h < 24 => Ok(h),
            _ => Err(DeleteWhenError::NotAnHour(p.to_string())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if hours.is_empty() {
        return Err(DeleteWhenError::Empty);
    }
    Ok(hours)
}

/// The hour of the day in local time for epoch milliseconds (RocketMQ's `deleteWhen` is local).
pub fn local_hour(ms: i64) -> u32 {
    let secs = (ms / 1000) as libc::time_t;
    // SAFETY: `libc::tm` is plain old data (integers and a pointer), for which all-zero bytes
    // are a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals we own; localtime_r only writes into `tm`.
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if ok {
        tm.tm_hour as u32
    } else {
        ((ms / 3_600_000) % 24) as u32
    }
}

impl StoreInner {
    /// One retention round; returns the number of CommitLog segments deleted.
    pub(crate) fn clean(&self, manual: bool) -> usize {
        self.update_disk_usage();
        let Ok(delete_when_hours) = parse_delete_when(&self.config.delete_when) else {
            return 0;
        };
        let policy = CleanPolicy {
            file_reserved_time_hours: self.config.file_reserved_time_hours,
            delete_when_hours,
            disk_max_used_space_ratio: self.config.disk_max_used_space_ratio,
            disk_space_clean_forcibly_ratio: self.config.disk_space_clean_forcibly_ratio,
            clean_file_forcibly_enable: self.config.clean_file_forcibly_enable,
            delete_files_batch_max: self.config.delete_files_batch_max,
        };
        let files = self.commit_log.queue().snapshot();
        // Sealed segments: all but the last. A segment's last write is bounded by the first
        // record of the segment after it.
        let dispatched = self.dispatch.dispatched.load(Ordering::Acquire);
        let sealed: Vec<SealedSegment> = files
            .windows(2)
            .map(|w| SealedSegment {
                from: w[0].file_from_offset(),
                last_write_ms: self
                    .commit_log
                    .read_record(w[1].file_from_offset())
                    .and_then(|b| {
                        petrel_protocol::message::RecordView::parse(&b)
                            .ok()
                            .map(|v| v.store_timestamp())
                    }),
            })
            // Never delete what the dispatcher has not passed yet.
            .take_while(|s| s.from + self.commit_log.queue().file_size() <= dispatched)
            .collect();
        let now = self.config.clock.now_ms();
        let used = self.disk_used_percent();
        if !policy.clean_file_forcibly_enable
            && used >= f64::from(policy.disk_space_clean_forcibly_ratio)
        {
            warn_kept_unexpired(used, &policy, self.config.disk_space_warning_level_ratio);
        }
        let decision =
            plan_commit_log_deletion(now, local_hour(now), used, manual, &sealed, &policy);
        let Some((count, reason)) = decision else {
            return 0;
        };
        let min_before = self.commit_log.min_offset();
        let removed = self.commit_log.queue().remove_first(count);
        let min_after = self.commit_log.min_offset();
        let min = min_after as i64;
        let queues = self.consume_queues.all();
        let queue_min_before: Vec<i64> = queues.iter().map(|cq| cq.min_offset()).collect();
        for cq in &queues {
            cq.delete_expired(min);
        }
        if let Some(index) = &self.index {
            index.delete_expired(min);
        }
        if reason == CleanReason::DiskAboveForcibly {
            let consumed = self.consumed_offsets.read().clone();
            let ranges: Vec<RemovedRange> = queues
                .iter()
                .zip(queue_min_before)
                .filter_map(|(cq, from)| {
                    let to = cq.min_offset();
                    (to > from).then(|| RemovedRange {
                        topic: cq.topic().to_string(),
                        queue_id: cq.queue_id(),
                        from,
                        to,
                        min_committed: consumed
                            .as_ref()
                            .and_then(|c| c.min_committed_offset(cq.topic(), cq.queue_id())),
                    })
                })
                .collect();
            let counted = count_forced_deletion(&ranges);
            record_forced_deletion(&self.stats, counted);
            tracing::warn!(
                segments = removed.len(),
                from_offset = min_before,
                to_offset = min_after,
                disk_used_percent = used,
                removed_messages = counted.messages,
                unconsumed_messages = counted.unconsumed,
                unconsumed_queues = %describe_unconsumed(&ranges),
                "deleted CommitLog segments inside fileReservedTime to free disk space \
                 (cleanFileForciblyEnable=true): {} messages removed, {} of them not yet \
                 consumed by some consumer group. Add disk space or lower fileReservedTime",
                counted.messages,
                counted.unconsumed
            );
        } else {
            tracing::info!(
                ?reason,
                segments = removed.len(),
                from_offset = min_before,
                to_offset = min_after,
                "deleted expired CommitLog segments"
            );
        }
        removed.len()
    }
}

fn record_forced_deletion(stats: &StoreStats, counted: ForcedDeletionCount) {
    stats
        .forced_deleted_messages
        .fetch_add(counted.messages, Ordering::Relaxed);
    stats
        .forced_deleted_unconsumed
        .fetch_add(counted.unconsumed, Ordering::Relaxed);
}

/// The `petrel-clean` thread: every `cleanResourceInterval`, re-reads disk usage and runs one
/// retention round.
pub(crate) fn run(inner: Arc<StoreInner>) {
    let interval = Duration::from_millis(inner.config.clean_resource_interval_ms);
    while !inner.sleep(interval) {
        inner.clean(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn policy() -> CleanPolicy {
        CleanPolicy {
            file_reserved_time_hours: 72,
            delete_when_hours: vec![4],
            disk_max_used_space_ratio: 75,
            disk_space_clean_forcibly_ratio: 85,
            clean_file_forcibly_enable: true,
            delete_files_batch_max: 10,
        }
    }

    fn segs(ages_h: &[i64], now: i64) -> Vec<SealedSegment> {
        ages_h
            .iter()
            .enumerate()
            .map(|(i, a)| SealedSegment {
                from: i as u64 * 100,
                last_write_ms: Some(now - a * H),
            })
            .collect()
    }

    #[test]
    fn deletes_expired_prefix_at_the_scheduled_hour_only() {
        let now = 1_000 * H;
        let sealed = segs(&[100, 80, 10, 90], now);
        assert_eq!(
            plan_commit_log_deletion(now, 4, 10.0, false, &sealed, &policy()),
            Some((2, CleanReason::Scheduled))
        );
        assert_eq!(
            plan_commit_log_deletion(now, 5, 10.0, false, &sealed, &policy()),
            None
        );
    }

    #[test]
    fn high_disk_use_deletes_expired_at_any_hour_and_forcibly_deletes_unexpired() {
        let now = 1_000 * H;
        let sealed = segs(&[100, 10, 5], now);
        assert_eq!(
            plan_commit_log_deletion(now, 13, 80.0, false, &sealed, &policy()),
            Some((1, CleanReason::DiskAboveMaxUsed))
        );
        assert_eq!(
            plan_commit_log_deletion(now, 13, 86.0, false, &sealed, &policy()),
            Some((3, CleanReason::DiskAboveForcibly))
        );
        // Petrel's default: forced cleaning off, so only the expired prefix goes.
        let mut keep = policy();
        keep.clean_file_forcibly_enable = false;
        assert_eq!(
            plan_commit_log_deletion(now, 13, 99.0, false, &sealed, &keep),
            Some((1, CleanReason::DiskAboveMaxUsed))
        );
    }

    #[test]
    fn respects_the_batch_cap_and_unknown_ages() {
        let now = 1_000 * H;
        let mut p = policy();
        p.delete_files_batch_max = 2;
        assert_eq!(
            plan_commit_log_deletion(now, 4, 0.0, false, &segs(&[99, 99, 99], now), &p),
            Some((2, CleanReason::Scheduled))
        );
        let unknown = [SealedSegment {
            from: 0,
            last_write_ms: None,
        }];
        assert_eq!(
            plan_commit_log_deletion(now, 4, 0.0, true, &unknown, &p),
            None
        );
    }

    fn range(from: i64, to: i64, min_committed: Option<i64>) -> RemovedRange {
        RemovedRange {
            topic: "T".into(),
            queue_id: 0,
            from,
            to,
            min_committed,
        }
    }

    #[test]
    fn a_forced_deletion_counts_what_the_slowest_group_had_not_consumed() {
        // Read up to 60: 60..100 of the removed 0..100 were unread.
        assert_eq!(range(0, 100, Some(60)).unconsumed(), 40);
        // Read past the removed range: nothing unread removed.
        assert_eq!(range(0, 100, Some(150)).unconsumed(), 0);
        // Committed below the queue's minimum (an old offset): all removed were unread.
        assert_eq!(range(50, 100, Some(10)).unconsumed(), 50);
        // No group committed on the queue: nobody is known to have read them.
        assert_eq!(range(0, 100, None).unconsumed(), 100);
        assert_eq!(
            count_forced_deletion(&[
                range(0, 100, Some(60)),
                range(10, 30, Some(30)),
                range(0, 5, None)
            ]),
            ForcedDeletionCount {
                messages: 125,
                unconsumed: 45
            }
        );
        let text = describe_unconsumed(&[range(0, 100, Some(60)), range(0, 5, Some(5))]);
        assert_eq!(text, "T/0: offsets 0..100 (40 unconsumed)");
    }

    #[test]
    fn parses_delete_when() {
        assert_eq!(parse_delete_when("04").unwrap(), vec![4]);
        assert_eq!(parse_delete_when("04;16").unwrap(), vec![4, 16]);
        assert_eq!(
            parse_delete_when("24"),
            Err(DeleteWhenError::NotAnHour("24".into()))
        );
        assert_eq!(parse_delete_when(" ; "), Err(DeleteWhenError::Empty));
        assert_eq!(
            parse_delete_when("04;x").map_err(|e| e.to_string()),
            Err("\"x\" is not an hour of the day (00-23)".to_string())
        );
    }
}
