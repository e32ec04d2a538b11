//! Opening a store directory, one named step per stage of recovery (see ARCHITECTURE.md,
//! "Recovery"): lock the directory and read what the last run left ([`lock_and_inspect`]),
//! recover the CommitLog ([`recover_log`]), load the derived ConsumeQueues and IndexFiles
//! ([`load_derived`]), decide where dispatch resumes ([`redispatch_start`], pure), re-dispatch
//! what they miss ([`catch_up`]) and mark the store as running ([`mark_running`]).
//! [`open`] runs them in order; `MessageStore::open` then starts the threads.
//!
//! A store Apache RocketMQ wrote opens the same way: its checkpoint has no Petrel section, so
//! the whole CommitLog is verified record by record, dispatch resumes from the start (entries
//! already in its ConsumeQueues and keys already in its IndexFiles are skipped), and the tag
//! codes RocketMQ writes differently are re-derived as the ConsumeQueues load.
//!
//! Nothing here runs concurrently with anything else: no thread of the store exists yet.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::allocate::Allocator;
use crate::checkpoint::{Checkpoint, CheckpointFile};
use crate::commit_log::CommitLog;
use crate::config::{ConfigError, StoreConfig};
use crate::consume_queue::{ConsumeQueueTable, Retag};
use crate::dispatch;
use crate::error::{Result, StoreError};
use crate::index::IndexService;
use crate::io::DirLock;
use crate::mapped_file_queue::MappedFileQueue;
use crate::recovery::{recover_commit_log, CutPolicy};
use crate::store::{RecoveryReport, StoreInner};

/// What the last run left behind, read under the directory lock.
struct LastRun {
    dir_lock: DirLock,
    /// No `abort` marker: the last run stopped through `shutdown`.
    clean_shutdown: bool,
    checkpoint: Option<Checkpoint>,
    /// The checkpoint holds RocketMQ's fields only: Apache RocketMQ wrote the store last.
    written_by_rocketmq: bool,
}

/// The CommitLog after recovery, ready to be shared.
struct RecoveredCommitLog {
    queue: MappedFileQueue,
    /// Offset of the first segment (0 when the log is empty).
    min_offset: u64,
    /// One past the last valid record.
    end_offset: u64,
    last_store_timestamp: i64,
    truncated_because: Option<String>,
    records_scanned: u64,
}

/// Opens (recovering if needed) the store at `config.store_path_root_dir`. Everything is on
/// disk and the `abort` marker exists when it returns; the caller starts the threads.
pub(crate) fn open(config: StoreConfig) -> Result<(Arc<StoreInner>, RecoveryReport)> {
    let started = Instant::now();
    config.validate()?;
    let last_run = lock_and_inspect(&config)?;
    let log = recover_log(&config, &last_run)?;
    let (consume_queues, index) = load_derived(&config, &last_run, &log)?;
    let redispatched_from = redispatch_start(
        consume_queues.is_empty(),
        last_run.checkpoint.as_ref(),
        log.min_offset,
        log.end_offset,
    );
    let allocator = Allocator::start(
        config.commit_log_dir(),
        config.mapped_file_size_commit_log,
        config.warm_mapped_file_enable,
        Arc::clone(&config.faults),
    )
    .map_err(|e| StoreError::io("starting the segment allocator", e))?;
    let commit_log = CommitLog::new(
        &config,
        log.queue,
        Default::default(),
        allocator,
        log.last_store_timestamp,
    );
    let mut inner = StoreInner::new(
        config,
        commit_log,
        consume_queues,
        index,
        log.end_offset,
        redispatched_from,
        last_run.dir_lock,
    );
    if let Some(cp) = &last_run.checkpoint {
        inner.replicated =
            crate::replica::ReplicatedOffsets::new(cp.master_flushed_offset, cp.confirm_phy_offset);
    }
    let inner = Arc::new(inner);
    catch_up(&inner, log.end_offset)?;
    mark_running(&inner)?;
    let report = RecoveryReport {
        clean_shutdown: last_run.clean_shutdown,
        commit_log_end: log.end_offset,
        truncated_because: log.truncated_because,
        records_scanned: log.records_scanned,
        redispatched_from,
        written_by_rocketmq: last_run.written_by_rocketmq,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    Ok((inner, report))
}

/// Creates the root directory, takes the directory lock (one process per store) and reads the
/// `abort` marker and the checkpoint.
fn lock_and_inspect(config: &StoreConfig) -> Result<LastRun> {
    let root = &config.store_path_root_dir;
    std::fs::create_dir_all(root)
        .map_err(|e| StoreError::io(format!("creating {}", root.display()), e))?;
    let dir_lock = DirLock::acquire(&config.lock_path())
        .map_err(|e| StoreError::io("locking the store", e))?;
    let checkpoint = Checkpoint::inspect(&config.checkpoint_path());
    Ok(LastRun {
        dir_lock,
        clean_shutdown: !config.abort_path().exists(),
        checkpoint: checkpoint.petrel().copied(),
        written_by_rocketmq: matches!(checkpoint, CheckpointFile::RocketMq { .. }),
    })
}

/// Where the CommitLog scan starts: the checkpoint's flushed offset after a clean stop (exact),
/// the start of the segment holding it after a crash (so that a flush the disk lost cannot
/// leave a hole behind the point), the beginning of the log without a checkpoint.
fn safe_point(
    checkpoint: Option<&Checkpoint>,
    clean_shutdown: bool,
    file_size: u64,
) -> Option<u64> {
    checkpoint.map(|c| {
        if clean_shutdown {
            c.commit_log_flushed_offset
        } else {
            c.commit_log_flushed_offset / file_size * file_size
        }
    })
}

/// Scans the CommitLog from the safe point, cuts the torn tail, and makes durable what a killed
/// process left in the page cache before anything is dispatched from it. The last segment,
/// which appends go to, gets all its blocks (another broker may have left it sparse).
fn recover_log(config: &StoreConfig, last_run: &LastRun) -> Result<RecoveredCommitLog> {
    let file_size = config.mapped_file_size_commit_log;
    let loaded = MappedFileQueue::load(&config.commit_log_dir(), file_size)?;
    let mut safe_point = safe_point(
        last_run.checkpoint.as_ref(),
        last_run.clean_shutdown,
        file_size,
    );
    if let Some(cut) = config.truncate_commit_log_at {
        // Scan the segment holding the cut from its start, so the cut lands on a record.
        let cut_segment = cut / file_size * file_size;
        safe_point = Some(safe_point.map_or(cut_segment, |p| p.min(cut_segment)));
    }
    let cut_policy = if last_run.written_by_rocketmq {
        CutPolicy::TornTailOnly
    } else {
        CutPolicy::AtFirstInvalid
    };
    let recovered = recover_commit_log(
        loaded.files,
        safe_point,
        !last_run.clean_shutdown,
        cut_policy,
        config.truncate_commit_log_at,
    )?;
    for file in &recovered.files {
        if file.file_from_offset() + file_size > safe_point.unwrap_or(0) {
            file.flush_all()
                .map_err(|e| StoreError::io(format!("flushing {}", file.path().display()), e))?;
        }
    }
    if let Some(last) = recovered.files.last() {
        last.allocate_blocks()
            .map_err(|e| StoreError::io("preparing the CommitLog", e))?;
    }
    let min_offset = recovered
        .files
        .first()
        .map(|f| f.file_from_offset())
        .unwrap_or(0);
    Ok(RecoveredCommitLog {
        queue: MappedFileQueue::new(config.commit_log_dir(), file_size, recovered.files),
        min_offset,
        end_offset: recovered.end_offset,
        last_store_timestamp: recovered.last_store_timestamp,
        truncated_because: recovered.truncated_because,
        records_scanned: recovered.records_scanned,
    })
}

/// Loads the ConsumeQueues (dropping entries at or past the log's end, moving their minimums up
/// to the log's start) and, if enabled, the IndexFiles (kept: queries verify every hit).
/// Without a Petrel checkpoint (a store another broker wrote, or one whose checkpoint is lost)
/// the tag codes of the hook's topics are re-derived from their records.
fn load_derived(
    config: &StoreConfig,
    last_run: &LastRun,
    log: &RecoveredCommitLog,
) -> Result<(ConsumeQueueTable, Option<IndexService>)> {
    refuse_what_cannot_be_read(config, log)?;
    let root = &config.store_path_root_dir;
    let ext = has_files(&root.join(CONSUME_QUEUE_EXT_DIR));
    if ext {
        tracing::info!("the store has RocketMQ ConsumeQueue extensions (consumequeue_ext/): every tag code is re-derived from its record; the extensions are not read");
    }
    let retag = (last_run.checkpoint.is_none() || ext).then_some(Retag {
        commit_log: &log.queue,
        hook: &*config.tag_code_hook,
        all_topics: ext,
    });
    let consume_queues = ConsumeQueueTable::load(
        &config.consume_queue_dir(),
        config.mapped_file_size_consume_queue,
        log.end_offset,
        retag,
    )?;
    for cq in consume_queues.all() {
        cq.correct_min_offset(log.min_offset as i64);
    }
    let index = if config.message_index_enable {
        let index = IndexService::load(
            &config.index_dir(),
            config.max_hash_slot_num,
            config.max_index_num,
        )?;
        index
            .fence_at(log.end_offset, config.clock.now_ms(), &*config.faults)
            .map_err(|e| StoreError::io("starting a new IndexFile", e))?;
        Some(index)
    } else {
        None
    };
    Ok((consume_queues, index))
}

/// Apache RocketMQ's ConsumeQueue extensions (`enableConsumeQueueExt=true`).
const CONSUME_QUEUE_EXT_DIR: &str = "consumequeue_ext";
/// Apache RocketMQ's batch ConsumeQueues (topics with `queue.type=BatchCQ`).
const BATCH_CONSUME_QUEUE_DIR: &str = "batchconsumequeue";

/// Whether `dir` holds any file, at any depth (a missing directory holds none).
fn has_files(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| match e.file_type() {
        Ok(t) if t.is_dir() => has_files(&e.path()),
        Ok(_) => true,
        Err(_) => false,
    })
}

/// Stops the open, naming what to do, where a store holds data Petrel would misread or drop:
/// RocketMQ's batch ConsumeQueues, whose records carry several messages under one queue offset
/// range; and ConsumeQueues with no CommitLog to point into (the CommitLog is elsewhere, e.g.
/// RocketMQ's `storePathCommitLog`), which recovery would empty.
fn refuse_what_cannot_be_read(config: &StoreConfig, log: &RecoveredCommitLog) -> Result<()> {
    let root = &config.store_path_root_dir;
    if has_files(&root.join(BATCH_CONSUME_QUEUE_DIR)) {
        return Err(ConfigError::new(
            "queue.type",
            format!(
                "{} holds batch ConsumeQueues (Apache RocketMQ topics with queue.type=BatchCQ), \
                 which Petrel does not read; consume those topics to the end (or delete them) \
                 in Apache RocketMQ before moving the store",
                root.join(BATCH_CONSUME_QUEUE_DIR).display()
            ),
        )
        .into());
    }
    // No segment file at all, not merely no valid record: a log torn at its first record after
    // a crash keeps its (zeroed) first segment, and its ConsumeQueue entries are rightly cut.
    if log.end_offset == 0
        && !has_files(&config.commit_log_dir())
        && has_files(&config.consume_queue_dir())
    {
        return Err(corrupt(
            &config.commit_log_dir(),
            format!(
                "the CommitLog has no segment file but {} holds ConsumeQueues, which recovery would empty. \
                 If the broker that wrote the store kept its CommitLog elsewhere \
                 (storePathCommitLog), move it to {}; to start afresh, delete {}",
                config.consume_queue_dir().display(),
                config.commit_log_dir().display(),
                config.consume_queue_dir().display()
            ),
        ));
    }
    Ok(())
}

/// Where dispatch resumes: the checkpoint's dispatched offset, kept inside the recovered log;
/// the log's start when there is no checkpoint or no ConsumeQueue at all (they were deleted, so
/// everything is rebuilt).
fn redispatch_start(
    no_consume_queues: bool,
    checkpoint: Option<&Checkpoint>,
    min_offset: u64,
    end_offset: u64,
) -> u64 {
    if no_consume_queues {
        return min_offset;
    }
    checkpoint
        .map(|c| c.dispatched_offset)
        .unwrap_or(min_offset)
        .clamp(min_offset, end_offset)
}

/// Re-dispatches up to the recovered end (entries already present are skipped), rebuilds the
/// queue-offset table from the ConsumeQueues, writes a checkpoint and reads disk usage.
fn catch_up(inner: &StoreInner, end_offset: u64) -> Result<()> {
    loop {
        let (_, caught_up) = dispatch::dispatch_some(inner, end_offset, usize::MAX)
            .map_err(|e| corrupt(&inner.config.store_path_root_dir, e.to_string()))?;
        if caught_up {
            break;
        }
    }
    inner
        .commit_log
        .set_topic_queue_table(inner.consume_queues.max_offsets());
    inner.checkpoint()?;
    inner.update_disk_usage();
    Ok(())
}

/// Creates the `abort` marker (durably), so that a crash from now on is recognised, and asks the
/// allocator for the segment after the last one.
fn mark_running(inner: &StoreInner) -> Result<()> {
    let root = &inner.config.store_path_root_dir;
    std::fs::write(inner.config.abort_path(), b"")
        .map_err(|e| StoreError::io("creating the abort marker", e))?;
    petrel_fs::sync_dir(root).map_err(|e| StoreError::io("syncing the store directory", e))?;
    let file_size = inner.config.mapped_file_size_commit_log;
    let next = inner
        .commit_log
        .queue()
        .last()
        .map(|f| f.file_from_offset() + file_size)
        .unwrap_or(0);
    inner.commit_log.allocator().prepare(next);
    Ok(())
}

fn corrupt(root: &Path, reason: String) -> StoreError {
    StoreError::Corrupt {
        path: root.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(flushed: u64, dispatched: u64) -> Checkpoint {
        Checkpoint {
            commit_log_flushed_offset: flushed,
            dispatched_offset: dispatched,
            ..Default::default()
        }
    }

    #[test]
    fn the_scan_starts_at_the_checkpoint_after_a_clean_stop_and_at_its_segment_after_a_crash() {
        let cp = checkpoint(2_500, 0);
        assert_eq!(safe_point(Some(&cp), true, 1_000), Some(2_500));
        assert_eq!(safe_point(Some(&cp), false, 1_000), Some(2_000));
        assert_eq!(safe_point(None, true, 1_000), None);
    }

    #[test]
    fn dispatch_resumes_at_the_checkpoint_kept_inside_the_log() {
        let cp = checkpoint(0, 700);
        assert_eq!(redispatch_start(false, Some(&cp), 100, 900), 700);
        // A checkpoint past the recovered end (the tail was cut) or before retention's minimum.
        assert_eq!(redispatch_start(false, Some(&cp), 100, 500), 500);
        assert_eq!(redispatch_start(false, Some(&cp), 800, 900), 800);
        assert_eq!(redispatch_start(false, None, 100, 900), 100);
        // ConsumeQueues deleted: rebuild everything.
        assert_eq!(redispatch_start(true, Some(&cp), 100, 900), 100);
    }
}
