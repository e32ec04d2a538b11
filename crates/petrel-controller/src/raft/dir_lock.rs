//! One controller per store directory: an exclusive `flock` on `{controllerStorePath}/lock`,
//! held for the controller's life (two controllers appending to one raft log would corrupt
//! it).

#![allow(unsafe_code)] // one libc call, see SAFETY

use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// The held lock; released when dropped (the file closes).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    pub fn acquire(dir: &Path) -> io::Result<DirLock> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        // SAFETY: flock on a valid descriptor owned by `file`.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is locked by another controller ({err}); give each controller its own controllerStorePath",
                    path.display()
                ),
            ));
        }
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_controller_cannot_take_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err();
        assert!(err.to_string().contains("locked by another controller"));
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }
}
