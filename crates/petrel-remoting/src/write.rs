//! Writing queued frames with as few syscalls as possible: vectored writes over the encoded
//! headers and the zero-copy body chunks of several frames at once.

use std::io::IoSlice;

use bytes::{Buf, Bytes};
use tokio::io::AsyncWriteExt;

/// Most slices handed to one `writev` (Linux's IOV_MAX is 1024).
const MAX_IO_SLICES: usize = 256;

/// Writes every chunk, in order, handling partial writes.
pub(crate) async fn write_all_chunks<W: AsyncWriteExt + Unpin>(
    writer: &mut W,
    chunks: &mut Vec<Bytes>,
) -> std::io::Result<()> {
    let mut start = 0;
    while start < chunks.len() {
        let written = {
            let slices: Vec<IoSlice<'_>> = chunks[start..]
                .iter()
                .filter(|c| !c.is_empty())
                .take(MAX_IO_SLICES)
                .map(|c| IoSlice::new(c))
                .collect();
            if slices.is_empty() {
                break;
            }
            writer.write_vectored(&slices).await?
        };
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        let mut left = written;
        while left > 0 && start < chunks.len() {
            let chunk = &mut chunks[start];
            if chunk.len() <= left {
                left -= chunk.len();
                start += 1;
            } else {
                chunk.advance(left);
                left = 0;
            }
        }
        while start < chunks.len() && chunks[start].is_empty() {
            start += 1;
        }
    }
    chunks.clear();
    Ok(())
}
