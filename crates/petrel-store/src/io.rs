//! The store's seams to the outside world: time, disk usage, and fault injection around the
//! operations whose failure matters (flush, file creation). Tests replace them; production uses
//! the system versions.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A clock that tests set by hand.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(now_ms: i64) -> Self {
        Self(AtomicI64::new(now_ms))
    }
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Used fraction of the file system holding a path, in percent (0–100).
pub trait DiskProbe: Send + Sync {
    fn used_percent(&self, path: &Path) -> io::Result<f64>;
}

#[derive(Debug, Default)]
pub struct StatvfsProbe;

impl DiskProbe for StatvfsProbe {
    fn used_percent(&self, path: &Path) -> io::Result<f64> {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
        // SAFETY: `libc::statvfs` is plain old data (integers), for which all-zero bytes are a
        // valid value.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: c_path is a valid NUL-terminated C string; statvfs only writes into `st`.
        let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut st) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let total = st.f_blocks as f64 * st.f_frsize as f64;
        if total <= 0.0 {
            return Ok(0.0);
        }
        let available = st.f_bavail as f64 * st.f_frsize as f64;
        Ok(((total - available) / total * 100.0).clamp(0.0, 100.0))
    }
}

/// Where tests can make I/O fail. Every hook defaults to success.
pub trait FaultInjector: Send + Sync {
    /// Called before a CommitLog/ConsumeQueue/IndexFile flush of `path`.
    fn before_flush(&self, _path: &Path) -> io::Result<()> {
        Ok(())
    }
    /// Called before a segment file is created.
    fn before_create(&self, _path: &Path) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct NoFaults;
impl FaultInjector for NoFaults {}

/// Zeroes `[from, to)` of a file: `FALLOC_FL_ZERO_RANGE` for the page-aligned middle (fast, and
/// the blocks stay allocated, so mapped writes there cannot fault on a full disk) and plain
/// zero writes for the unaligned edges and on file systems without it.
pub(crate) fn zero_range(file: &File, from: u64, to: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    use std::os::unix::io::AsRawFd;
    if to <= from {
        return Ok(());
    }
    const PAGE: u64 = 4096;
    let aligned_from = from.div_ceil(PAGE) * PAGE;
    let aligned_to = to / PAGE * PAGE;
    let zeros = vec![0u8; PAGE as usize];
    let write_zeros = |mut at: u64, end: u64| -> io::Result<()> {
        while at < end {
            let n = (end - at).min(PAGE) as usize;
            file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        Ok(())
    };
    if aligned_from >= aligned_to {
        return write_zeros(from, to);
    }
    write_zeros(from, aligned_from)?;
    // SAFETY: fallocate on a valid fd with an in-range, non-negative span.
    let rc = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE,
            aligned_from as libc::off_t,
            (aligned_to - aligned_from) as libc::off_t,
        )
    };
    if rc != 0 {
        // File systems without zero-range support: write the zeros instead.
        write_zeros(aligned_from, aligned_to)?;
    }
    write_zeros(aligned_to, to)
}

/// An exclusive advisory lock on the store directory, held for the life of the store.
///
/// Two locks on the `lock` file: `flock` (what earlier Petrel versions take) and a record lock
/// on its first byte, which is what Apache RocketMQ's broker holds (`FileChannel.tryLock(0, 1)`,
/// a POSIX record lock). On Linux the two kinds do not see each other, so without the second a
/// Petrel could open a store a running Apache broker is writing. The record lock is an
/// open-file-description lock (`F_OFD_SETLK`): it conflicts with RocketMQ's, is not shared with
/// other descriptors of this process, and goes away when the file is closed.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    pub(crate) fn acquire(path: &Path) -> io::Result<Self> {
        use std::os::unix::io::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        let locked = |err: io::Error| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is locked by another process, Petrel or Apache RocketMQ ({err})",
                    path.display()
                ),
            )
        };
        // SAFETY: flock on a valid fd.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(locked(io::Error::last_os_error()));
        }
        // SAFETY: `flock` is plain data; all-zero is a valid value before the fields are set.
        let mut range: libc::flock = unsafe { std::mem::zeroed() };
        range.l_type = libc::F_WRLCK as libc::c_short;
        range.l_whence = libc::SEEK_SET as libc::c_short;
        range.l_start = 0;
        range.l_len = 1;
        // SAFETY: fcntl on a valid fd with a pointer to a live, initialised `flock`.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut range) };
        if rc != 0 {
            return Err(locked(io::Error::last_os_error()));
        }
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod dir_lock_tests {
    use super::*;

    #[test]
    fn a_record_lock_like_apache_rocketmqs_keeps_the_store_closed() {
        use std::os::unix::io::AsRawFd;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        // What RocketMQ's broker holds: a POSIX record lock on byte 0 (FileChannel.tryLock).
        let rocketmq = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        // SAFETY: plain data, zeroed then set.
        let mut range: libc::flock = unsafe { std::mem::zeroed() };
        range.l_type = libc::F_WRLCK as libc::c_short;
        range.l_whence = libc::SEEK_SET as libc::c_short;
        range.l_len = 1;
        // SAFETY: valid fd and a live `flock`.
        let rc = unsafe { libc::fcntl(rocketmq.as_raw_fd(), libc::F_SETLK, &mut range) };
        assert_eq!(rc, 0);
        let err = DirLock::acquire(&path).unwrap_err();
        assert!(err.to_string().contains("Apache RocketMQ"), "{err}");
        drop(rocketmq);
        let held = DirLock::acquire(&path).unwrap();
        assert!(DirLock::acquire(&path).is_err(), "one Petrel per store");
        drop(held);
        DirLock::acquire(&path).unwrap();
    }
}
