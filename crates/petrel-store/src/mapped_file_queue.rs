//! `MappedFileQueue`: the ordered, contiguous segments of one log (RocketMQ's `MappedFileQueue`).
//! Segment `i` covers logical offsets `[from_i, from_i + file_size)` and `from_{i+1} = from_i + file_size`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::error::{Result, StoreError};
use crate::io::FaultInjector;
use crate::mapped_file::{parse_file_name, MappedFile};

pub struct MappedFileQueue {
    dir: PathBuf,
    file_size: u64,
    files: RwLock<Vec<Arc<MappedFile>>>,
}

impl std::fmt::Debug for MappedFileQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFileQueue")
            .field("dir", &self.dir)
            .field("files", &self.files.read().len())
            .finish()
    }
}

/// Segments loaded from disk but not yet recovered; recovery owns them exclusively.
pub struct LoadedSegments {
    pub files: Vec<MappedFile>,
}

impl MappedFileQueue {
    /// Opens the segments in `dir` (creating `dir` if needed). Names must be offsets, sizes must
    /// match and offsets must be contiguous; anything else is reported, not guessed at.
    pub fn load(dir: &Path, file_size: u64) -> Result<LoadedSegments> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir)
            .map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?
        {
            let entry =
                entry.map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(offset) = parse_file_name(name) {
                entries.push((offset, entry.path()));
            } else if !name.starts_with('.') {
                tracing::warn!(path = %entry.path().display(), "ignoring a file that is not a segment");
            }
        }
        entries.sort_by_key(|(offset, _)| *offset);
        let mut files = Vec::with_capacity(entries.len());
        for (i, (offset, path)) in entries.iter().enumerate() {
            if offset % file_size != 0 {
                return Err(corrupt(
                    path,
                    format!("offset {offset} is not a multiple of the segment size {file_size}"),
                ));
            }
            if i > 0 && *offset != entries[i - 1].0 + file_size {
                return Err(corrupt(
                    path,
                    format!("segment does not follow {}", entries[i - 1].1.display()),
                ));
            }
            let found_bytes = std::fs::metadata(path)
                .map_err(|e| StoreError::io(format!("reading {}", path.display()), e))?
                .len();
            if found_bytes != file_size {
                return Err(StoreError::SegmentSize {
                    path: path.clone(),
                    found_bytes,
                    expected_bytes: file_size,
                });
            }
            let file = MappedFile::open(path, *offset, file_size)
                .map_err(|e| corrupt(path, e.to_string()))?;
            files.push(file);
        }
        Ok(LoadedSegments { files })
    }

    /// Shares recovered segments.
    pub fn new(dir: PathBuf, file_size: u64, files: Vec<MappedFile>) -> Self {
        Self {
            dir,
            file_size,
            files: RwLock::new(files.into_iter().map(Arc::new).collect()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    pub fn last(&self) -> Option<Arc<MappedFile>> {
        self.files.read().last().cloned()
    }

    pub fn first(&self) -> Option<Arc<MappedFile>> {
        self.files.read().first().cloned()
    }

    pub fn snapshot(&self) -> Vec<Arc<MappedFile>> {
        self.files.read().clone()
    }

    pub fn len(&self) -> usize {
        self.files.read().len()
    }

    fn is_empty(&self) -> bool {
        self.files.read().is_empty()
    }

    /// The segment holding logical `offset`.
    pub fn find(&self, offset: u64) -> Option<Arc<MappedFile>> {
        let files = self.files.read();
        let first = files.first()?.file_from_offset();
        if offset < first {
            return None;
        }
        let index = ((offset - first) / self.file_size) as usize;
        files
            .get(index)
            .filter(|f| f.file_from_offset() <= offset)
            .cloned()
    }

    /// Appends a new segment; it must follow the last one.
    pub fn push(&self, file: Arc<MappedFile>) {
        let mut files = self.files.write();
        debug_assert!(files
            .last()
            .is_none_or(|l| l.file_from_offset() + self.file_size == file.file_from_offset()));
        files.push(file);
    }

    /// Creates the segment at `from` directly (when no pre-allocated one is ready).
    pub fn create(&self, from: u64, faults: &dyn FaultInjector) -> io::Result<Arc<MappedFile>> {
        if self.is_empty() {
            std::fs::create_dir_all(&self.dir)?;
        }
        Ok(Arc::new(MappedFile::create(
            &self.dir,
            from,
            self.file_size,
            faults,
        )?))
    }

    /// Lowest logical offset held (start of the first segment), or `None` when empty.
    pub fn min_offset(&self) -> Option<u64> {
        self.files.read().first().map(|f| f.file_from_offset())
    }

    /// One past the last published byte, or `None` when empty.
    pub fn max_offset(&self) -> Option<u64> {
        self.files.read().last().map(|f| f.wrote_offset())
    }

    /// Removes the first `n` segments from the queue and deletes their files. Readers holding an
    /// `Arc` keep their mapping until they drop it.
    pub fn remove_first(&self, n: usize) -> Vec<PathBuf> {
        let removed: Vec<Arc<MappedFile>> = {
            let mut files = self.files.write();
            let n = n.min(files.len());
            files.drain(..n).collect()
        };
        let mut paths = Vec::new();
        for file in removed {
            match file.delete() {
                Ok(()) => paths.push(file.path().to_path_buf()),
                Err(e) => {
                    tracing::warn!(path = %file.path().display(), error = %e, "could not delete segment")
                }
            }
        }
        paths
    }

    /// Flushes every segment with unflushed bytes; returns the logical flushed offset.
    pub fn flush(&self, faults: &dyn FaultInjector) -> io::Result<Option<u64>> {
        let files = self.snapshot();
        let mut flushed = None;
        for file in &files {
            if file.flushed_position() < file.wrote_position() {
                file.flush(faults)?;
            }
            flushed = Some(file.file_from_offset() + file.flushed_position());
        }
        Ok(flushed)
    }
}

fn corrupt(path: &Path, reason: String) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    }
}
