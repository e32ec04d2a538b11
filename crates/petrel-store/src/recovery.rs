//! CommitLog recovery: find where the valid log ends and cut everything after it.
//!
//! The scan starts at a *safe point*: the checkpoint's flushed offset, which is always a record
//! boundary whose preceding bytes an fsync covered. From there every record is validated
//! ([`validate_record`]: magic, sizes, body CRC, physical offset, topic, properties) and the scan
//! stops at the first zero TOTALSIZE, bad record or torn tail. Everything after that point is
//! zeroed (so stale bytes can never be read as records later) and later segments are deleted.
//! If the record at the safe point itself is invalid, the checkpoint is not trusted and the scan
//! restarts at the beginning of that segment.
//!
//! A log Apache RocketMQ wrote is cut only at a torn tail ([`CutPolicy::TornTailOnly`]): an
//! invalid record followed by anything but zeros is damage, or a record Petrel's stricter checks
//! refuse, and cutting there would drop the records after it. The open fails instead, naming the
//! segment and the offset.

use petrel_protocol::message::{peek_record, Peek, RecordView};

use crate::commit_log::validate_record;
use crate::error::{Result, StoreError};
use crate::mapped_file::MappedFile;

/// The outcome of recovering the CommitLog.
#[derive(Debug)]
pub struct RecoveredLog {
    /// Segments to keep, positions set.
    pub files: Vec<MappedFile>,
    /// One past the last valid byte.
    pub end_offset: u64,
    /// Store timestamp of the last valid record scanned (0 if none was scanned).
    pub last_store_timestamp: i64,
    /// Why the scan stopped, if it stopped on something other than clean end of data.
    pub truncated_because: Option<String>,
    /// Records validated during the scan.
    pub records_scanned: u64,
}

enum Step {
    Record { size: u64, store_timestamp: i64 },
    Blank,
    End,
    Bad(String),
}

fn step(file: &mut MappedFile, rel: u64, offset: u64) -> Step {
    let file_size = file.file_size();
    let Some(head) = file.read_raw(rel, 8) else {
        return Step::Bad(format!("no room for a record head at {offset}"));
    };
    match peek_record(head) {
        Ok(Peek::End) => Step::End,
        Ok(Peek::Blank { total_size }) => {
            if rel + total_size as u64 == file_size {
                Step::Blank
            } else {
                Step::Bad(format!(
                    "blank marker at {offset} does not reach the end of its segment"
                ))
            }
        }
        Ok(Peek::Message { total_size }) => {
            let size = total_size as u64;
            if rel + size > file_size {
                return Step::Bad(format!(
                    "record at {offset} of {size} bytes runs past its segment"
                ));
            }
            let Some(bytes) = file.read_raw(rel, size) else {
                return Step::Bad(format!("record at {offset} unreadable"));
            };
            match validate_record(bytes, offset) {
                Ok(_) => {
                    let store_timestamp = RecordView::parse(bytes)
                        .map(|v| v.store_timestamp())
                        .unwrap_or(0);
                    Step::Record {
                        size,
                        store_timestamp,
                    }
                }
                Err(reason) => Step::Bad(format!("record at {offset}: {reason}")),
            }
        }
        Err(e) => Step::Bad(format!("record head at {offset}: {e}")),
    }
}

/// Where recovery may cut the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutPolicy {
    /// At the first invalid record (Petrel's own log: its writer publishes TOTALSIZE last, so
    /// anything invalid after the safe point is a torn or unwritten tail).
    AtFirstInvalid,
    /// Only where nothing but zeros follows the invalid record (a log another broker wrote).
    TornTailOnly,
}

/// Whether every byte from logical `offset` to the end of the log is zero.
fn zeros_from(files: &mut [MappedFile], offset: u64) -> bool {
    const STEP_BYTES: u64 = 1024 * 1024;
    for file in files.iter_mut() {
        let (from, size) = (file.file_from_offset(), file.file_size());
        let mut at = offset.saturating_sub(from).min(size);
        while at < size {
            let len = STEP_BYTES.min(size - at);
            match file.read_raw(at, len) {
                Some(bytes) if bytes.iter().all(|b| *b == 0) => at += len,
                _ => return false,
            }
        }
    }
    true
}

/// Recovers the CommitLog from its loaded segments, starting the scan at `safe_point`.
///
/// `zero_tail` zeroes the bytes after the end even when the scan ended cleanly; recovery after
/// an unclean stop asks for it, because pages written back out of order can leave valid-looking
/// records beyond a hole. After a torn or bad record the tail is always zeroed.
///
/// `cut_at` ends the log at the last record boundary at or before it, whatever follows (a
/// replica dropping what a new master does not share); the scan must start at or before it.
pub fn recover_commit_log(
    mut files: Vec<MappedFile>,
    safe_point: Option<u64>,
    zero_tail: bool,
    cut_policy: CutPolicy,
    cut_at: Option<u64>,
) -> Result<RecoveredLog> {
    let Some(first) = files.first() else {
        return Ok(RecoveredLog {
            files,
            end_offset: 0,
            last_store_timestamp: 0,
            truncated_because: None,
            records_scanned: 0,
        });
    };
    let file_size = first.file_size();
    let first_from = first.file_from_offset();
    let last_end = files
        .last()
        .map(|f| f.file_from_offset() + file_size)
        .unwrap_or(first_from);

    // Where to begin: the safe point if it is inside the log, else the start of the last segment.
    let mut start = match safe_point {
        Some(p) if p >= first_from && p <= last_end => p,
        _ => first_from,
    };
    let index_of = |offset: u64| ((offset - first_from) / file_size) as usize;
    // Distrust a safe point that does not land on a record, blank or end.
    {
        let i = index_of(start);
        let rel = start - first_from - i as u64 * file_size;
        if i < files.len() && rel != 0 {
            if let Step::Bad(reason) = step(&mut files[i], rel, start) {
                tracing::warn!(safe_point = start, %reason, "checkpoint does not point at a record; rescanning its segment");
                start -= rel;
            }
        }
    }

    let mut offset = start;
    let mut last_store_timestamp = 0;
    let mut records_scanned = 0;
    let mut asked_cut = false;
    let truncated_because = loop {
        let i = index_of(offset);
        if i >= files.len() {
            break None;
        }
        let rel = offset - files[i].file_from_offset();
        if rel == file_size {
            offset = files[i].file_from_offset() + file_size;
            continue;
        }
        if cut_at.is_some_and(|cut| offset >= cut) {
            asked_cut = true;
            break Some(format!("cut at {offset} (asked: {cut_at:?})"));
        }
        match step(&mut files[i], rel, offset) {
            Step::Record { size, .. } if cut_at.is_some_and(|cut| offset + size > cut) => {
                asked_cut = true;
                break Some(format!(
                    "cut at {offset}, the start of the record holding {cut_at:?}"
                ));
            }
            Step::Record {
                size,
                store_timestamp,
            } => {
                offset += size;
                last_store_timestamp = store_timestamp;
                records_scanned += 1;
            }
            Step::Blank => offset = files[i].file_from_offset() + file_size,
            Step::End => break None,
            Step::Bad(reason) => break Some(reason),
        }
    };
    let end_offset = offset;
    if let (Some(reason), CutPolicy::TornTailOnly, false) =
        (&truncated_because, cut_policy, asked_cut)
    {
        let i = index_of(end_offset);
        let rel = end_offset - files[i].file_from_offset();
        // A torn record keeps the TOTALSIZE it was written with; skip what it claims if that
        // fits, else only its head.
        let claimed = files[i]
            .read_raw(rel, 4)
            .map(|b| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
            .filter(|n| *n >= 8 && rel + n <= file_size)
            .unwrap_or(8);
        if !zeros_from(&mut files[i..], end_offset + claimed) {
            return Err(StoreError::Corrupt {
                path: files[i].path().to_path_buf(),
                reason: format!(
                    "{reason}, and data follows it, so it is not a torn tail. The store was \
                     written by Apache RocketMQ and Petrel does not cut such a log in the middle \
                     (the records after CommitLog offset {end_offset} would be lost): check the \
                     disk and the file, or restore the store from a backup"
                ),
            });
        }
    }

    // Cut: keep the segments up to the one holding the end (the segment starting at the end,
    // when it falls on a boundary); zero that one after the end; delete the rest.
    let keep = (index_of(end_offset) + 1).min(files.len());
    for file in files.drain(keep..) {
        tracing::warn!(path = %file.path().display(), "deleting CommitLog segment after the recovered end");
        file.delete()
            .map_err(|e| StoreError::io(format!("deleting {}", file.path().display()), e))?;
    }
    for file in files.iter_mut() {
        let from = file.file_from_offset();
        if from + file_size <= end_offset {
            file.set_positions(file_size);
        } else if !zero_tail && truncated_because.is_none() {
            file.set_positions(end_offset - from);
        } else {
            let rel = end_offset - from;
            file.truncate_to(rel)
                .map_err(|e| StoreError::io(format!("truncating {}", file.path().display()), e))?;
        }
    }
    match &truncated_because {
        Some(reason) if asked_cut => {
            tracing::warn!(end_offset, %reason, "CommitLog cut where asked");
        }
        Some(reason) => {
            tracing::warn!(end_offset, %reason, "CommitLog truncated at the first invalid record");
        }
        None => {}
    }
    Ok(RecoveredLog {
        files,
        end_offset,
        last_store_timestamp,
        truncated_because,
        records_scanned,
    })
}
