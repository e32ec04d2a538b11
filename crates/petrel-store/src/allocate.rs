//! Background creation of the next CommitLog segment (RocketMQ's `AllocateMappedFileService`).
//!
//! Creating a segment allocates its blocks; with `warm_mapped_file_enable` its pages are then
//! pre-faulted, which on a 1 GiB segment takes far longer than an append may. So the writer asks
//! for the segment after the one it just started, a background thread creates it, and the
//! roll-over append finds it ready. Warming happens after the segment is handed over, in 16 MiB
//! steps, and never blocks the writer: `MADV_POPULATE_WRITE` does not change page content, so
//! it can run while the writer fills the same file. If the segment is not created yet the writer
//! waits for the one in progress, or creates it itself when nothing was requested.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::io::FaultInjector;
use crate::mapped_file::MappedFile;

struct State {
    /// Offset the writer will need next.
    requested: Option<u64>,
    /// Offset being created right now.
    in_progress: Option<u64>,
    /// A created segment not yet taken.
    ready: Option<(u64, io::Result<Arc<MappedFile>>)>,
    shutdown: bool,
}

struct Inner {
    dir: PathBuf,
    file_size: u64,
    warm: bool,
    faults: Arc<dyn FaultInjector>,
    state: Mutex<State>,
    cv: Condvar,
}

pub struct Allocator {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Allocator {
    pub fn start(
        dir: PathBuf,
        file_size: u64,
        warm: bool,
        faults: Arc<dyn FaultInjector>,
    ) -> io::Result<Self> {
        let inner = Arc::new(Inner {
            dir,
            file_size,
            warm,
            faults,
            state: Mutex::new(State {
                requested: None,
                in_progress: None,
                ready: None,
                shutdown: false,
            }),
            cv: Condvar::new(),
        });
        let worker = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name("petrel-allocate".into())
            .spawn(move || worker.run())?;
        Ok(Self {
            inner,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Asks for the segment at `from` to be prepared in the background.
    pub fn prepare(&self, from: u64) {
        let mut state = self.inner.state.lock();
        if state.shutdown {
            return;
        }
        state.requested = Some(from);
        self.inner.cv.notify_all();
    }

    /// The segment starting at `from`: the prepared one if it matches, otherwise made now.
    pub fn take(&self, from: u64) -> io::Result<Arc<MappedFile>> {
        let mut state = self.inner.state.lock();
        loop {
            match state.ready.take() {
                Some((offset, result)) if offset == from => {
                    state.requested = None;
                    match result {
                        Ok(file) => return Ok(file),
                        Err(e) => {
                            tracing::warn!(offset = from, error = %e, "background segment creation failed; retrying inline");
                            break;
                        }
                    }
                }
                // A prepared segment for another offset cannot be used; discard it.
                Some((_, Ok(stale))) => {
                    let _ = stale.delete();
                }
                Some((_, Err(_))) | None => {}
            }
            if state.in_progress == Some(from) || (state.requested == Some(from) && !state.shutdown)
            {
                self.inner.cv.wait(&mut state);
                continue;
            }
            break;
        }
        if state.requested == Some(from) {
            state.requested = None;
        }
        drop(state);
        let file = MappedFile::create(
            &self.inner.dir,
            from,
            self.inner.file_size,
            &*self.inner.faults,
        )?;
        Ok(Arc::new(file))
    }

    /// Stops the thread and deletes a prepared segment nobody took.
    pub fn shutdown(&self) {
        {
            let mut state = self.inner.state.lock();
            state.shutdown = true;
            self.inner.cv.notify_all();
        }
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
        if let Some((_, Ok(file))) = self.inner.state.lock().ready.take() {
            let _ = file.delete();
        }
    }
}

impl Drop for Allocator {
    fn drop(&mut self) {
        let mut state = self.inner.state.lock();
        state.shutdown = true;
        self.inner.cv.notify_all();
    }
}

/// Bytes pre-faulted per step, between checks for shutdown.
const WARM_STEP_BYTES: u64 = 16 * 1024 * 1024;

impl Inner {
    fn warm(&self, file: &MappedFile) {
        let mut at = 0;
        while at < file.file_size() {
            if self.state.lock().shutdown {
                return;
            }
            if !file.warm_range(at, at + WARM_STEP_BYTES) {
                tracing::debug!("MADV_POPULATE_WRITE unsupported; segments are not pre-faulted");
                return;
            }
            at += WARM_STEP_BYTES;
        }
    }

    fn run(&self) {
        let mut state = self.state.lock();
        loop {
            if state.shutdown {
                return;
            }
            let wanted = state
                .requested
                .filter(|r| state.ready.as_ref().is_none_or(|(o, _)| o != r));
            let Some(from) = wanted else {
                self.cv.wait(&mut state);
                continue;
            };
            state.in_progress = Some(from);
            drop(state);
            let result =
                MappedFile::create(&self.dir, from, self.file_size, &*self.faults).map(Arc::new);
            let to_warm = result.as_ref().ok().filter(|_| self.warm).cloned();
            state = self.state.lock();
            state.in_progress = None;
            if let Some((_, Ok(stale))) = state.ready.replace((from, result)) {
                let _ = stale.delete();
            }
            self.cv.notify_all();
            if let Some(file) = to_warm {
                drop(state);
                self.warm(&file);
                state = self.state.lock();
            }
            self.cv.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::NoFaults;

    #[test]
    fn prepares_the_requested_segment_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let alloc =
            Allocator::start(dir.path().to_path_buf(), 8192, true, Arc::new(NoFaults)).unwrap();
        alloc.prepare(8192);
        let file = alloc.take(8192).unwrap();
        assert_eq!(file.file_from_offset(), 8192);
        // A segment nobody asked for is created inline.
        let other = alloc.take(16384).unwrap();
        assert_eq!(other.file_from_offset(), 16384);
        alloc.prepare(24576);
        alloc.shutdown();
        // The prepared, untaken segment is removed at shutdown (if it was made in time).
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
