//! `MappedFile`: one fixed-size, memory-mapped segment file (RocketMQ's `MappedFile`).
//!
//! # Invariants (what makes the `unsafe` below sound)
//! - Bytes below `wrote_position` are immutable while the file is shared: readers may borrow
//!   them for as long as they hold the `Arc<MappedFile>`.
//! - Bytes at or above `wrote_position` are written only by the single writer of the file (the
//!   holder of the CommitLog append lock, or the dispatcher thread for ConsumeQueue and index
//!   files), and only become readable when the writer publishes a larger `wrote_position`
//!   (release store; readers load with acquire).
//! - Truncation (recovery) takes `&mut self`, so it happens before the file is shared.
//! - The file is fully allocated on disk at creation (`fallocate`), so a write through the map
//!   can never hit a hole on a full disk (which would raise SIGBUS).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{MmapOptions, MmapRaw};
use parking_lot::Mutex;

use crate::io::FaultInjector;

pub struct MappedFile {
    path: PathBuf,
    file: File,
    map: MmapRaw,
    file_from_offset: u64,
    file_size: u64,
    /// Bytes written and published to readers.
    wrote_position: AtomicU64,
    /// Bytes known to be on disk.
    flushed_position: AtomicU64,
    /// Serialises flushes of this file (the flush thread and shutdown may race).
    flush_lock: Mutex<()>,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("path", &self.path)
            .field("from", &self.file_from_offset)
            .field("wrote", &self.wrote_position())
            .finish()
    }
}

/// Segment file names: the start offset as 20 zero-padded decimal digits.
pub fn file_name(offset: u64) -> String {
    format!("{offset:020}")
}

/// Parses a segment file name back into its start offset.
pub fn parse_file_name(name: &str) -> Option<u64> {
    if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

impl MappedFile {
    /// Creates a new segment of `file_size` bytes starting at logical offset `from`.
    pub fn create(
        dir: &Path,
        from: u64,
        file_size: u64,
        faults: &dyn FaultInjector,
    ) -> io::Result<Self> {
        let path = dir.join(file_name(from));
        faults.before_create(&path)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        allocate(&file, file_size).map_err(|e| {
            let _ = std::fs::remove_file(&path);
            io::Error::new(
                e.kind(),
                format!("allocating {} bytes for {}: {e}", file_size, path.display()),
            )
        })?;
        Self::map(path, file, from, file_size, 0)
    }

    /// Opens an existing segment; it must have exactly `file_size` bytes.
    pub fn open(path: &Path, from: u64, file_size: u64) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        if len != file_size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is {len} bytes, expected {file_size}", path.display()),
            ));
        }
        // Until recovery says otherwise, treat the whole file as written (readers are not
        // attached yet; recovery sets the real position).
        Self::map(path.to_path_buf(), file, from, file_size, file_size)
    }

    fn map(path: PathBuf, file: File, from: u64, file_size: u64, wrote: u64) -> io::Result<Self> {
        let map = MmapOptions::new().len(file_size as usize).map_raw(&file)?;
        Ok(Self {
            path,
            file,
            map,
            file_from_offset: from,
            file_size,
            wrote_position: AtomicU64::new(wrote),
            flushed_position: AtomicU64::new(wrote),
            flush_lock: Mutex::new(()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn file_from_offset(&self) -> u64 {
        self.file_from_offset
    }
    pub fn file_size(&self) -> u64 {
        self.file_size
    }
    pub fn wrote_position(&self) -> u64 {
        self.wrote_position.load(Ordering::Acquire)
    }
    pub fn flushed_position(&self) -> u64 {
        self.flushed_position.load(Ordering::Acquire)
    }
    /// Logical offset one past the last published byte.
    pub fn wrote_offset(&self) -> u64 {
        self.file_from_offset + self.wrote_position()
    }

    /// Writes `data` at `pos` without publishing it.
    ///
    /// # Panics
    /// If `[pos, pos + data.len())` does not lie inside the file (checked in release builds too:
    /// a bad position must never write outside the map).
    ///
    /// # Safety
    /// The caller must be this file's single writer (see the module invariants): no other thread
    /// writes this file concurrently, and `pos >= wrote_position()` (so no reader can see the
    /// bytes being written).
    pub unsafe fn write_unpublished(&self, pos: u64, data: &[u8]) {
        let end = pos.checked_add(data.len() as u64);
        assert!(
            end.is_some_and(|end| end <= self.file_size),
            "write of {} bytes at {pos} runs past the {}-byte file {}",
            data.len(),
            self.file_size,
            self.path.display()
        );
        debug_assert!(pos >= self.wrote_position());
        // SAFETY: `[pos, pos + len)` is inside the map (asserted above); the caller's contract
        // makes us the only writer and keeps readers off unpublished bytes (module invariants).
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.map.as_mut_ptr().add(pos as usize),
                data.len(),
            );
        }
    }

    /// Makes bytes up to `pos` visible to readers. Only the single writer calls this.
    ///
    /// # Panics
    /// If `pos` is past the end of the file: [`Self::read`] trusts the published position as a
    /// bound of the map, so this check (one comparison, in release builds too) is what keeps a
    /// safe `read` inside the mapping.
    pub fn publish(&self, pos: u64) {
        self.assert_in_file(pos);
        self.wrote_position.store(pos, Ordering::Release);
    }

    /// The bound every published position obeys (see [`Self::publish`]).
    fn assert_in_file(&self, pos: u64) {
        assert!(
            pos <= self.file_size,
            "position {pos} is past the end of the {}-byte file {}",
            self.file_size,
            self.path.display()
        );
    }

    /// Borrows published bytes `[pos, pos + len)`, or `None` if they are not all published.
    pub fn read(&self, pos: u64, len: u64) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.wrote_position() {
            return None;
        }
        // SAFETY: in bounds, because `end <= wrote_position <= file_size` (every store of
        // `wrote_position` asserts the second bound, in release builds too); published, hence
        // immutable while `self` lives (module invariants).
        Some(unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(pos as usize), len as usize)
        })
    }

    /// Reads any bytes of the file regardless of publication. Only for recovery, which owns
    /// the file exclusively (`&mut self`).
    pub fn read_raw(&mut self, pos: u64, len: u64) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.file_size {
            return None;
        }
        // SAFETY: in bounds; `&mut self` excludes concurrent writers.
        Some(unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(pos as usize), len as usize)
        })
    }

    /// A zero-copy `Bytes` of published bytes that keeps this segment mapped while it lives.
    pub fn slice(self: &Arc<Self>, pos: u64, len: u64) -> Option<Bytes> {
        self.read(pos, len)?;
        Some(Bytes::from_owner(SegmentSlice {
            file: Arc::clone(self),
            pos: pos as usize,
            len: len as usize,
        }))
    }

    /// Recovery: declares everything before `pos` valid, and zeroes the rest of the file so that
    /// stale bytes can never be mistaken for records later. Panics if `pos` is past the end.
    pub fn truncate_to(&mut self, pos: u64) -> io::Result<()> {
        self.assert_in_file(pos);
        crate::io::zero_range(&self.file, pos, self.file_size)?;
        self.file.sync_data()?;
        self.wrote_position.store(pos, Ordering::Release);
        self.flushed_position.store(pos, Ordering::Release);
        Ok(())
    }

    /// Replaces bytes at `pos`, published or not. Only for opening, which owns the file
    /// exclusively (`&mut self`: no reader can hold a slice of it yet). Used to re-derive
    /// ConsumeQueue tag codes another broker wrote differently.
    ///
    /// # Panics
    /// If `[pos, pos + data.len())` does not lie inside the file.
    pub fn overwrite(&mut self, pos: u64, data: &[u8]) {
        let end = pos.checked_add(data.len() as u64);
        assert!(
            end.is_some_and(|end| end <= self.file_size),
            "overwrite of {} bytes at {pos} runs past the {}-byte file {}",
            data.len(),
            self.file_size,
            self.path.display()
        );
        // SAFETY: `[pos, pos + len)` is inside the map (asserted above); `&mut self` excludes
        // every other reader and writer of the mapping.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.map.as_mut_ptr().add(pos as usize),
                data.len(),
            );
        }
        let flushed = self.flushed_position.load(Ordering::Acquire).min(pos);
        self.flushed_position.store(flushed, Ordering::Release);
    }

    /// Allocates the blocks of a file opened from disk (files written by Apache RocketMQ are
    /// sparse), so that writes through the map never hit a hole on a full disk (SIGBUS), as
    /// for files Petrel creates. Existing content is kept.
    pub fn allocate_blocks(&self) -> io::Result<()> {
        allocate(&self.file, self.file_size).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "allocating the {} bytes of {}: {e}",
                    self.file_size,
                    self.path.display()
                ),
            )
        })
    }

    /// Sets the positions of a file whose content after `pos` is known to be zero. Panics if
    /// `pos` is past the end.
    pub fn set_positions(&mut self, pos: u64) {
        self.assert_in_file(pos);
        self.wrote_position.store(pos, Ordering::Release);
        self.flushed_position.store(pos, Ordering::Release);
    }

    /// Flushes published bytes to disk; returns the flushed position.
    pub fn flush(&self, faults: &dyn FaultInjector) -> io::Result<u64> {
        let _guard = self.flush_lock.lock();
        let wrote = self.wrote_position();
        let flushed = self.flushed_position();
        if wrote > flushed {
            faults.before_flush(&self.path)?;
            self.map
                .flush_range(flushed as usize, (wrote - flushed) as usize)?;
            self.flushed_position.store(wrote, Ordering::Release);
        }
        Ok(wrote)
    }

    /// Flushes the whole mapping, whatever the positions say (recovery: a killed process may
    /// have left dirty pages that no flush of ours covered).
    pub fn flush_all(&self) -> io::Result<()> {
        let _guard = self.flush_lock.lock();
        self.map.flush()
    }

    /// Pre-faults pages `[from, to)` for writing so that the writer does not take page faults
    /// on first touch. Uses `MADV_POPULATE_WRITE` (Linux 5.14+), which faults pages in without
    /// changing their content, so it is safe while the writer is writing the same file.
    /// Returns false if the kernel does not support it.
    pub fn warm_range(&self, from: u64, to: u64) -> bool {
        let to = to.min(self.file_size);
        if from >= to {
            return true;
        }
        const MADV_POPULATE_WRITE: libc::c_int = 23;
        // SAFETY: an in-bounds range of our own mapping; the advice does not modify memory.
        let rc = unsafe {
            libc::madvise(
                self.map.as_mut_ptr().add(from as usize) as *mut libc::c_void,
                (to - from) as usize,
                MADV_POPULATE_WRITE,
            )
        };
        rc == 0
    }

    /// Removes the file from disk (the mapping stays valid while referenced).
    pub fn delete(&self) -> io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// Allocates the file's blocks so that writes through the map never fault on a full disk
/// (a store on a full disk whose map meets an unallocated page dies of SIGBUS).
pub(crate) fn allocate(file: &File, len: u64) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    file.set_len(len)?;
    // SAFETY: valid fd, non-negative range.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len as libc::off_t) };
    match rc {
        0 => Ok(()),
        // File systems without fallocate support: keep the sparse file.
        libc::EOPNOTSUPP | libc::EINVAL => Ok(()),
        err => Err(io::Error::from_raw_os_error(err)),
    }
}

/// Owner of a zero-copy slice handed out as `Bytes`.
struct SegmentSlice {
    file: Arc<MappedFile>,
    pos: usize,
    len: usize,
}

impl AsRef<[u8]> for SegmentSlice {
    fn as_ref(&self) -> &[u8] {
        // The range was checked as published when the slice was made, and stays valid.
        self.file
            .read(self.pos as u64, self.len as u64)
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::NoFaults;

    #[test]
    fn names_are_twenty_digit_offsets() {
        assert_eq!(file_name(1073741824), "00000000001073741824");
        assert_eq!(parse_file_name("00000000001073741824"), Some(1073741824));
        assert_eq!(parse_file_name("0000000000107374182"), None);
        assert_eq!(parse_file_name("0000000000107374182x"), None);
    }

    #[test]
    fn only_published_bytes_are_readable() {
        let dir = tempfile::tempdir().unwrap();
        let file = Arc::new(MappedFile::create(dir.path(), 4096, 8192, &NoFaults).unwrap());
        assert_eq!(
            std::fs::metadata(dir.path().join("00000000000000004096"))
                .unwrap()
                .len(),
            8192
        );
        // SAFETY: this test is the file's only writer, and nothing is published yet.
        unsafe { file.write_unpublished(0, b"hello") };
        assert!(file.read(0, 5).is_none());
        file.publish(5);
        assert_eq!(file.read(0, 5).unwrap(), b"hello");
        assert!(file.read(3, 3).is_none());
        let bytes = file.slice(1, 3).unwrap();
        drop(file);
        assert_eq!(&bytes[..], b"ell");
    }

    #[test]
    fn truncate_zeroes_the_tail_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(0));
        {
            let file = MappedFile::create(dir.path(), 0, 16384, &NoFaults).unwrap();
            // SAFETY: this test is the file's only writer, and nothing is published yet.
            unsafe { file.write_unpublished(0, &[7u8; 10000]) };
            file.publish(10000);
            file.flush(&NoFaults).unwrap();
        }
        let mut file = MappedFile::open(&path, 0, 16384).unwrap();
        file.truncate_to(100).unwrap();
        drop(file);
        let data = std::fs::read(&path).unwrap();
        assert!(data[..100].iter().all(|&b| b == 7));
        assert!(data[100..].iter().all(|&b| b == 0));
    }

    #[test]
    fn overwrite_replaces_published_bytes_and_marks_them_unflushed() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = small_file(dir.path());
        // SAFETY: single writer, nothing published yet.
        unsafe { file.write_unpublished(0, b"abcdef") };
        file.publish(6);
        file.flush(&NoFaults).unwrap();
        file.overwrite(2, b"XY");
        assert_eq!(file.read(0, 6), Some(&b"abXYef"[..]));
        assert_eq!(file.flushed_position(), 2);
        file.flush(&NoFaults).unwrap();
        assert_eq!(file.flushed_position(), 6);
    }

    #[test]
    #[should_panic(expected = "runs past")]
    fn overwrite_past_the_end_panics() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = small_file(dir.path());
        let size = file.file_size();
        file.overwrite(size - 1, b"XY");
    }

    #[test]
    fn allocating_a_sparse_file_keeps_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(0));
        let sparse = std::fs::File::create(&path).unwrap();
        sparse.set_len(64 * 1024).unwrap();
        std::os::unix::fs::FileExt::write_at(&sparse, &[7], 100).unwrap();
        drop(sparse);
        let file = MappedFile::open(&path, 0, 64 * 1024).unwrap();
        file.allocate_blocks().unwrap();
        assert_eq!(file.read(100, 1), Some(&[7u8][..]));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 64 * 1024);
    }

    #[test]
    fn open_rejects_a_file_of_the_wrong_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(0));
        std::fs::write(&path, b"short").unwrap();
        assert!(MappedFile::open(&path, 0, 4096).is_err());
    }

    fn small_file(dir: &Path) -> MappedFile {
        MappedFile::create(dir, 0, 4096, &NoFaults).unwrap()
    }

    #[test]
    #[should_panic(expected = "past the end")]
    fn publishing_past_the_end_panics_instead_of_exposing_memory_beyond_the_map() {
        let dir = tempfile::tempdir().unwrap();
        let file = small_file(dir.path());
        file.publish(4097);
    }

    #[test]
    fn publishing_exactly_the_end_is_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let file = small_file(dir.path());
        file.publish(4096);
        assert_eq!(file.read(4090, 6).map(<[u8]>::len), Some(6));
        assert!(file.read(4090, 7).is_none());
    }

    #[test]
    #[should_panic(expected = "runs past")]
    fn writing_past_the_end_panics_before_touching_memory() {
        let dir = tempfile::tempdir().unwrap();
        let file = small_file(dir.path());
        // SAFETY: this test is the file's only writer and nothing is published; the range is
        // out of bounds on purpose, and the bounds check panics before anything is written.
        unsafe { file.write_unpublished(4094, b"abc") };
    }

    #[test]
    #[should_panic(expected = "runs past")]
    fn a_write_whose_end_overflows_panics() {
        let dir = tempfile::tempdir().unwrap();
        let file = small_file(dir.path());
        // SAFETY: as above; `pos + len` overflows u64, which the bounds check catches.
        unsafe { file.write_unpublished(u64::MAX, b"a") };
    }

    #[test]
    #[should_panic(expected = "past the end")]
    fn recovery_cannot_set_a_position_past_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = small_file(dir.path());
        file.set_positions(8192);
    }
}
