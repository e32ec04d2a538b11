//! The epoch file of controller mode (`{storePathRootDir}/epochFileCheckpoint`, RocketMQ's
//! `EpochFileCache`): which master epoch wrote which stretch of the CommitLog.
//!
//! Each master change gets a new epoch from the controller; the new master appends
//! `(epoch, its CommitLog end)` before it takes a write, and replicas keep their master's list.
//! Two brokers' logs agree up to the end of the newest epoch both hold with the same start
//! ([`consistent_point`]); a returning old master cuts its log there before it follows the new
//! one, which is how no divergent record survives a failover.
//!
//! Format (RocketMQ's `CheckpointFile`): line 1 the entry count, line 2 the CRC32 of the entry
//! lines (each with its `\n`) masked to 31 bits, then `epoch-startOffset` per line. Written to a
//! temporary file, fsynced and renamed, with a `.bak` copy; a main file that fails its CRC falls
//! back to the copy.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file's name under `storePathRootDir`.
pub const EPOCH_FILE_NAME: &str = "epochFileCheckpoint";
/// More entries than this is a file nobody wrote (one per master change).
pub const MAX_EPOCH_ENTRIES: usize = 100_000;

/// One epoch: where its first record starts in the CommitLog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum EpochError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: {reason}; neither it nor its .bak copy can be read. Delete both only if this \
         broker's CommitLog is empty or will be cut, then restart"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("epoch {epoch} at {start_offset} does not follow epoch {last_epoch} at {last_start}")]
    NotMonotonic {
        epoch: i32,
        start_offset: u64,
        last_epoch: i32,
        last_start: u64,
    },
}

/// The epoch file of one broker.
#[derive(Debug)]
pub struct EpochFile {
    path: PathBuf,
    entries: Vec<EpochEntry>,
}

impl EpochFile {
    /// Loads `{root}/epochFileCheckpoint` (or its `.bak`); none at all is an empty list.
    pub fn load(root: &Path) -> Result<Self, EpochError> {
        let path = root.join(EPOCH_FILE_NAME);
        let bak = bak_path(&path);
        let entries = match read(&path) {
            Ok(Some(entries)) => entries,
            Ok(None) => read(&bak)?.unwrap_or_default(),
            Err(main_error) => match read(&bak) {
                Ok(Some(entries)) => {
                    tracing::warn!(error = %main_error, "epoch file unreadable; using its .bak copy");
                    entries
                }
                _ => return Err(main_error),
            },
        };
        Ok(Self { path, entries })
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    /// The newest epoch (0 before the first master).
    pub fn last_epoch(&self) -> i32 {
        self.entries.last().map_or(0, |e| e.epoch)
    }

    /// Records that `epoch` starts at `start_offset` (a new master: its CommitLog end).
    pub fn append(&mut self, epoch: i32, start_offset: u64) -> Result<(), EpochError> {
        if let Some(last) = self.entries.last() {
            if epoch <= last.epoch || start_offset < last.start_offset {
                return Err(EpochError::NotMonotonic {
                    epoch,
                    start_offset,
                    last_epoch: last.epoch,
                    last_start: last.start_offset,
                });
            }
        }
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        self.save()
    }

    /// A replica takes its master's list: its log is a prefix of the master's, so the master's
    /// epochs describe it.
    pub fn replace_all(&mut self, entries: Vec<EpochEntry>) -> Result<(), EpochError> {
        if let Some(bad) = entries
            .windows(2)
            .find(|w| w[1].epoch <= w[0].epoch || w[1].start_offset < w[0].start_offset)
        {
            return Err(EpochError::NotMonotonic {
                epoch: bad[1].epoch,
                start_offset: bad[1].start_offset,
                last_epoch: bad[0].epoch,
                last_start: bad[0].start_offset,
            });
        }
        if entries == self.entries {
            return Ok(());
        }
        self.entries = entries;
        self.save()
    }

    /// Drops the epochs that start after `end_offset` (a replica about to become master holds
    /// none of their records).
    pub fn truncate_after(&mut self, end_offset: u64) -> Result<(), EpochError> {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset <= end_offset);
        if self.entries.len() != before {
            self.save()?;
        }
        Ok(())
    }

    /// The entries with their end offsets (the next entry's start; `max_offset` for the last),
    /// as GET_BROKER_EPOCH_CACHE reports them.
    pub fn ranges(&self, max_offset: u64) -> Vec<(EpochEntry, u64)> {
        ranges(&self.entries, max_offset)
    }

    fn save(&self) -> Result<(), EpochError> {
        let text = render(&self.entries);
        write_durably(&self.path, text.as_bytes())?;
        write_durably(&bak_path(&self.path), text.as_bytes())
    }
}

/// Each entry with its end: the next entry's start, `end` for the last.
pub fn ranges(entries: &[EpochEntry], end: u64) -> Vec<(EpochEntry, u64)> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| (*e, entries.get(i + 1).map_or(end, |n| n.start_offset)))
        .collect()
}

/// Where two logs stop agreeing: the end of the newest epoch both hold with the same start,
/// the smaller of the two ends (RocketMQ's `findConsistentPoint`). `local_end`/`remote_end` are
/// the logs' ends (the last epoch's end). `None`: no epoch in common.
pub fn consistent_point(
    local: &[EpochEntry],
    local_end: u64,
    remote: &[EpochEntry],
    remote_end: u64,
) -> Option<u64> {
    let remote = ranges(remote, remote_end);
    ranges(local, local_end)
        .into_iter()
        .rev()
        .find_map(|(l, l_end)| {
            remote
                .iter()
                .find(|(r, _)| r.epoch == l.epoch && r.start_offset == l.start_offset)
                .map(|(_, r_end)| l_end.min(*r_end))
        })
}

fn bak_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".bak");
    PathBuf::from(p)
}

fn crc31(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes) & 0x7FFF_FFFF
}

fn render(entries: &[EpochEntry]) -> String {
    let body: String = entries
        .iter()
        .map(|e| format!("{}-{}\n", e.epoch, e.start_offset))
        .collect();
    format!("{}\n{}\n{body}", entries.len(), crc31(body.as_bytes()))
}

/// `Ok(None)`: no file.
fn read(path: &Path) -> Result<Option<Vec<EpochEntry>>, EpochError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(EpochError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    parse(&text)
        .map(Some)
        .map_err(|reason| EpochError::Corrupt {
            path: path.to_path_buf(),
            reason,
        })
}

fn parse(text: &str) -> Result<Vec<EpochEntry>, String> {
    let mut lines = text.split_inclusive('\n');
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("the first line is not an entry count")?;
    if count > MAX_EPOCH_ENTRIES {
        return Err(format!("{count} entries is more than {MAX_EPOCH_ENTRIES}"));
    }
    let crc: u32 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("the second line is not a CRC")?;
    let body: Vec<&str> = lines.collect();
    if body.len() != count {
        return Err(format!("says {count} entries, holds {}", body.len()));
    }
    if crc != 0 && crc31(body.concat().as_bytes()) != crc {
        return Err("CRC mismatch".into());
    }
    body.iter()
        .map(|line| {
            let (epoch, start) = line
                .trim()
                .split_once('-')
                .ok_or_else(|| format!("{line:?} is not epoch-startOffset"))?;
            Ok(EpochEntry {
                epoch: epoch
                    .parse()
                    .map_err(|_| format!("bad epoch in {line:?}"))?,
                start_offset: start
                    .parse()
                    .map_err(|_| format!("bad start offset in {line:?}"))?,
            })
        })
        .collect()
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), EpochError> {
    let io = |source| EpochError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(epoch: i32, start_offset: u64) -> EpochEntry {
        EpochEntry {
            epoch,
            start_offset,
        }
    }

    #[test]
    fn the_file_round_trips_in_rocketmqs_text_form_and_falls_back_to_its_copy() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = EpochFile::load(dir.path()).unwrap();
        assert_eq!(f.last_epoch(), 0);
        f.append(1, 0).unwrap();
        f.append(2, 4096).unwrap();
        let text = fs::read_to_string(dir.path().join(EPOCH_FILE_NAME)).unwrap();
        let body = "1-0\n2-4096\n";
        assert_eq!(
            text,
            format!(
                "2\n{}\n{body}",
                crc32fast::hash(body.as_bytes()) & 0x7FFF_FFFF
            )
        );
        assert_eq!(
            EpochFile::load(dir.path()).unwrap().entries(),
            &[e(1, 0), e(2, 4096)]
        );
        // A torn main file: the .bak copy is read.
        fs::write(dir.path().join(EPOCH_FILE_NAME), "2\n123\n1-0\n").unwrap();
        assert_eq!(EpochFile::load(dir.path()).unwrap().entries().len(), 2);
        fs::write(dir.path().join("epochFileCheckpoint.bak"), "junk").unwrap();
        assert!(matches!(
            EpochFile::load(dir.path()),
            Err(EpochError::Corrupt { .. })
        ));
    }

    #[test]
    fn epochs_only_grow_and_a_new_master_drops_epochs_it_holds_nothing_of() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = EpochFile::load(dir.path()).unwrap();
        f.append(1, 0).unwrap();
        assert!(f.append(1, 10).is_err());
        assert!(f.replace_all(vec![e(1, 0), e(3, 50), e(2, 60)]).is_err());
        f.replace_all(vec![e(1, 0), e(2, 100), e(3, 200)]).unwrap();
        f.truncate_after(150).unwrap();
        f.append(4, 150).unwrap();
        assert_eq!(f.entries(), &[e(1, 0), e(2, 100), e(4, 150)]);
        assert_eq!(
            f.ranges(170),
            vec![(e(1, 0), 100), (e(2, 100), 150), (e(4, 150), 170)]
        );
    }

    #[test]
    fn the_consistent_point_is_the_end_of_the_newest_shared_epoch() {
        // The old master wrote epoch 1 to 500; the new master had 400 of it when it took
        // epoch 2 at 400.
        let old = [e(1, 0)];
        let new = [e(1, 0), e(2, 400)];
        assert_eq!(consistent_point(&old, 500, &new, 900), Some(400));
        // A replica behind the new master keeps all it has.
        assert_eq!(consistent_point(&[e(1, 0)], 300, &new, 900), Some(300));
        // Same history: the shorter end.
        assert_eq!(consistent_point(&new, 700, &new, 900), Some(700));
        // An epoch of the same number but another start is not shared.
        assert_eq!(
            consistent_point(&[e(1, 0), e(2, 450)], 800, &new, 900),
            Some(400)
        );
        assert_eq!(consistent_point(&[e(5, 0)], 10, &new, 900), None);
        assert_eq!(consistent_point(&[], 0, &new, 900), None);
    }
}
