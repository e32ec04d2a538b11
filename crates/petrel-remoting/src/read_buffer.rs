//! A connection's read buffer: what bounds the memory a peer can make us hold for frames that
//! have not fully arrived.
//!
//! - Frames up to `read_buffer_bytes` (64 KiB) are read into a buffer of that size and copied
//!   out whole, so a request in processing never pins the read buffer and the buffer is reused.
//! - A larger frame gets a buffer that grows, doubling, **as its bytes arrive** and never past
//!   the frame's size: a length prefix claiming 8 MiB costs no memory until 8 MiB have come.
//! - Large frames are admitted against a budget shared by all connections of a server
//!   ([`crate::RemotingConfig::max_large_frame_bytes_total`]), each for its declared size,
//!   once its first `read_buffer_bytes` have arrived; a frame that does not fit waits (its
//!   connection reads no more, so its peer's TCP window closes) until others are done, within
//!   the frame read timeout. So however many peers lie about frame sizes, the memory held for
//!   large frames stays under the budget. The charge travels with the frame's request and is
//!   returned when the request is done.
//! - A connection waiting between frames holds no buffer ([`ReadBuffer::release`]).
//! - Nothing outlives the connection: the buffer and its charge go with the reader task.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use petrel_protocol::remoting::{check, FrameError, RemotingCommand, LENGTH_PREFIX_BYTES};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The least free space worth a read syscall into the base buffer; with less, the partial
/// frame is moved to the front of (or into a fresh) base buffer first.
const MIN_READ_BYTES: usize = 4 * 1024;

/// Bytes of a large frame held against the shared budget (returned when dropped).
#[derive(Debug)]
pub(crate) struct LargeFrameCharge {
    _permit: OwnedSemaphorePermit,
}

/// Why no more bytes can be read for now.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PrepareError {
    #[error("frame of {0} bytes cannot be charged to the large-frame budget")]
    TooLargeForBudget(usize),
}

pub(crate) struct ReadBuffer {
    buf: BytesMut,
    base_bytes: usize,
    max_frame_bytes: usize,
    budget: Arc<Semaphore>,
    /// Bytes beyond `base_bytes` the current buffer holds against the budget.
    charge: Option<OwnedSemaphorePermit>,
}

impl ReadBuffer {
    pub(crate) fn new(base_bytes: usize, max_frame_bytes: usize, budget: Arc<Semaphore>) -> Self {
        let base_bytes = base_bytes.max(MIN_READ_BYTES);
        ReadBuffer {
            buf: BytesMut::new(),
            base_bytes,
            max_frame_bytes,
            budget,
            charge: None,
        }
    }

    /// Bytes received and not yet taken as frames.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Frees the buffer when it holds nothing (the next [`Self::prepare`] allocates one).
    pub(crate) fn release(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
            self.charge = None;
        }
    }

    /// Bytes of memory this buffer holds (its capacity from the read position on).
    #[cfg(test)]
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// The next whole frame, decoded, with the budget charge of its bytes when it was large.
    pub(crate) fn next_frame(
        &mut self,
    ) -> Result<Option<(RemotingCommand, Option<LargeFrameCharge>)>, FrameError> {
        let Some(frame_bytes) = check(&self.buf, self.max_frame_bytes)? else {
            return Ok(None);
        };
        if frame_bytes <= self.base_bytes {
            let frame = Bytes::copy_from_slice(&self.buf[..frame_bytes]);
            let _ = self.buf.split_to(frame_bytes);
            return RemotingCommand::decode(frame).map(|c| Some((c, None)));
        }
        // A large frame: its buffer was grown for it and holds nothing else (growth stops at
        // the frame's end), so the whole charge is its own. The large allocation leaves with
        // the frame; the next read starts a base-size buffer.
        let frame = self.buf.split_to(frame_bytes).freeze();
        self.buf = BytesMut::new();
        let charge = self
            .charge
            .take()
            .map(|permit| LargeFrameCharge { _permit: permit });
        RemotingCommand::decode(frame).map(|c| Some((c, charge)))
    }

    /// Size of the frame at the front, prefix included, once its length prefix has arrived
    /// (already validated by [`Self::next_frame`]'s check).
    fn head_frame_bytes(&self) -> Option<usize> {
        let prefix: [u8; LENGTH_PREFIX_BYTES] =
            self.buf.get(..LENGTH_PREFIX_BYTES)?.try_into().ok()?;
        let length = usize::try_from(i32::from_be_bytes(prefix)).ok()?;
        Some(LENGTH_PREFIX_BYTES + length)
    }

    /// Makes room for the next read, waiting for budget when a large frame needs it. The
    /// caller bounds the wait (the frame read timeout).
    pub(crate) async fn prepare(&mut self) -> Result<(), PrepareError> {
        let len = self.buf.len();
        let spare = self.buf.capacity() - len;
        let head = self.head_frame_bytes().unwrap_or(0);
        if head <= self.base_bytes {
            if spare >= MIN_READ_BYTES {
                return Ok(());
            }
            // Reuse the allocation when no frame shares it any more; else start a new one.
            if !self.buf.try_reclaim(self.base_bytes - len) {
                let mut fresh = BytesMut::with_capacity(self.base_bytes);
                fresh.extend_from_slice(&self.buf);
                self.buf = fresh;
            }
            self.charge = None;
            return Ok(());
        }
        if spare > 0 {
            return Ok(());
        }
        // A large frame filled its buffer. The frame is admitted against the budget once, for
        // its whole size: a connection holds either nothing or all it needs, so frames that
        // wait for budget never wait for each other (charging growth step by step would let
        // several half-read frames each hold part of the budget and wait forever for the
        // rest). Memory still grows only with the bytes: double the buffer (at least one
        // base buffer more), up to the frame's size.
        if self.charge.is_none() {
            let wanted = u32::try_from(head.saturating_sub(self.base_bytes))
                .map_err(|_| PrepareError::TooLargeForBudget(head))?;
            let permit = Arc::clone(&self.budget)
                .acquire_many_owned(wanted)
                .await
                .map_err(|_| PrepareError::TooLargeForBudget(head))?;
            self.charge = Some(permit);
        }
        let target = head.min(len.saturating_mul(2).max(len + self.base_bytes));
        let mut grown = BytesMut::with_capacity(target);
        grown.extend_from_slice(&self.buf);
        self.buf = grown;
        Ok(())
    }

    /// The buffer to read into (has free space after [`Self::prepare`]).
    pub(crate) fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body_len: usize) -> Bytes {
        RemotingCommand::request(10)
            .with_body(vec![7u8; body_len])
            .to_bytes()
            .unwrap()
    }

    async fn feed(rb: &mut ReadBuffer, bytes: &[u8]) {
        let mut at = 0;
        while at < bytes.len() {
            rb.prepare().await.unwrap();
            let buf = rb.buf_mut();
            let n = (buf.capacity() - buf.len()).min(bytes.len() - at);
            buf.extend_from_slice(&bytes[at..at + n]);
            at += n;
        }
    }

    #[tokio::test]
    async fn a_large_frame_grows_its_buffer_only_as_its_bytes_arrive() {
        let budget = Arc::new(Semaphore::new(64 << 20));
        let mut rb = ReadBuffer::new(64 << 10, 16 << 20, Arc::clone(&budget));
        let big = frame(8 << 20);
        // The prefix and 1 MiB arrive: the buffer holds at most twice what arrived.
        feed(&mut rb, &big[..1 << 20]).await;
        assert!(rb.next_frame().unwrap().is_none());
        assert!(rb.capacity_bytes() <= 2 << 20, "{}", rb.capacity_bytes());
        // The frame is admitted for its declared size.
        let charged = (64 << 20) - budget.available_permits();
        assert!(
            ((8 << 20) - (64 << 10)..=8 << 20).contains(&charged),
            "{charged}"
        );
        // The rest arrives: one frame, carrying the charge, which is returned with it.
        feed(&mut rb, &big[1 << 20..]).await;
        let (cmd, charge) = rb.next_frame().unwrap().unwrap();
        assert_eq!(cmd.body.len(), 8 << 20);
        assert!(charge.is_some());
        assert!(budget.available_permits() < 64 << 20);
        drop((cmd, charge));
        assert_eq!(budget.available_permits(), 64 << 20);
        // The next small frame goes into a base-size buffer again.
        feed(&mut rb, &frame(10)).await;
        assert!(rb.next_frame().unwrap().is_some());
        assert!(rb.capacity_bytes() <= 64 << 10);
    }

    #[tokio::test]
    async fn small_frames_are_copied_out_and_the_buffer_is_reused() {
        let budget = Arc::new(Semaphore::new(1 << 20));
        let mut rb = ReadBuffer::new(64 << 10, 16 << 20, Arc::clone(&budget));
        let mut held = Vec::new();
        for _ in 0..100 {
            feed(&mut rb, &frame(1000)).await;
            held.push(rb.next_frame().unwrap().unwrap());
            assert!(rb.capacity_bytes() <= 64 << 10);
        }
        assert_eq!(budget.available_permits(), 1 << 20);
        assert_eq!(rb.buffered_bytes(), 0);
    }

    #[tokio::test]
    async fn a_large_frame_waits_for_budget_held_by_others() {
        let budget = Arc::new(Semaphore::new(1 << 20));
        let held = Arc::clone(&budget)
            .acquire_many_owned(1 << 20)
            .await
            .unwrap();
        let mut rb = ReadBuffer::new(64 << 10, 16 << 20, Arc::clone(&budget));
        let big = frame(512 << 10);
        feed(&mut rb, &big[..64 << 10]).await;
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), rb.prepare()).await;
        assert!(waited.is_err(), "growth must wait for the budget");
        drop(held);
        feed(&mut rb, &big[64 << 10..]).await;
        assert!(rb.next_frame().unwrap().is_some());
    }
}
