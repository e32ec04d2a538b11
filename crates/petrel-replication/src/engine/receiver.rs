//! A slave's side of the transfer: checks that every frame continues where the slave's log
//! ends, and hands the store only whole records (and blank markers with their segment's tail).
//!
//! The master cuts its CommitLog into frames anywhere, so a record may arrive in pieces; the
//! receiver keeps the unfinished one in memory (bounded by [`MAX_PENDING_BYTES`]) rather than
//! writing half a record to disk. A frame that does not start where the slave's log (plus what
//! it holds back) ends means the two logs do not match: RocketMQ's slave drops the connection
//! then, and so does this one — with the offsets in the error.

use petrel_protocol::ha::TransferHeader;
use petrel_protocol::message::{peek_record, Peek};

/// Most bytes held back waiting for the rest of a record: a record (at most `maxMessageSize`,
/// 4 MiB by default, plus its header) or a blank marker's tail is far smaller.
pub const MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiveError {
    #[error(
        "the master sent CommitLog offset {got} but this slave's log continues at {expected}: \
         the logs do not match"
    )]
    OffsetMismatch { expected: u64, got: u64 },
    #[error("negative offset or size in a frame header ({offset}, {size})")]
    BadHeader { offset: i64, size: i32 },
    #[error("the master's bytes at {offset} are not a record: {reason}")]
    NotARecord { offset: u64, reason: String },
    #[error("a record of {size} bytes at {offset} exceeds the {MAX_PENDING_BYTES}-byte limit")]
    TooLarge { offset: u64, size: usize },
}

/// Whole records ready for [`petrel_store::MessageStore::append_replicated`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub offset: u64,
    pub bytes: Vec<u8>,
}

#[derive(Debug)]
pub struct Receiver {
    /// CommitLog offset of `pending[0]`.
    pending_from: u64,
    pending: Vec<u8>,
    /// Nothing stored or received yet: the first frame may start anywhere (a new slave).
    fresh: bool,
}

impl Receiver {
    /// A receiver for a slave whose CommitLog ends at `store_end` (0: empty).
    pub fn new(store_end: u64) -> Self {
        Self {
            pending_from: store_end,
            pending: Vec::new(),
            fresh: store_end == 0,
        }
    }

    /// Where the next received byte belongs.
    pub fn next_offset(&self) -> u64 {
        self.pending_from + self.pending.len() as u64
    }

    /// Checks a frame's header (data or heartbeat) against where this log continues.
    pub fn on_header(&mut self, header: TransferHeader) -> Result<(), ReceiveError> {
        if header.physic_offset < 0 || header.body_size < 0 {
            return Err(ReceiveError::BadHeader {
                offset: header.physic_offset,
                size: header.body_size,
            });
        }
        let got = header.physic_offset as u64;
        if self.fresh {
            if header.body_size > 0 {
                self.fresh = false;
                self.pending_from = got;
            }
            return Ok(());
        }
        if got != self.next_offset() {
            return Err(ReceiveError::OffsetMismatch {
                expected: self.next_offset(),
                got,
            });
        }
        Ok(())
    }

    /// Takes a frame's body; returns the whole records it completes, if any.
    pub fn on_body(&mut self, body: &[u8]) -> Result<Option<Chunk>, ReceiveError> {
        self.pending.extend_from_slice(body);
        let mut whole = 0usize;
        while let Some(rest) = self.pending.get(whole..) {
            if rest.len() < 8 {
                break;
            }
            let offset = self.pending_from + whole as u64;
            let size = match peek_record(rest) {
                Ok(Peek::Message { total_size }) | Ok(Peek::Blank { total_size }) => total_size,
                Ok(Peek::End) => {
                    return Err(ReceiveError::NotARecord {
                        offset,
                        reason: "zero TOTALSIZE".into(),
                    })
                }
                Err(e) => {
                    return Err(ReceiveError::NotARecord {
                        offset,
                        reason: e.to_string(),
                    })
                }
            };
            if size > MAX_PENDING_BYTES {
                return Err(ReceiveError::TooLarge { offset, size });
            }
            if rest.len() < size {
                break;
            }
            whole += size;
        }
        if whole == 0 {
            return Ok(None);
        }
        let rest = self.pending.split_off(whole);
        let bytes = std::mem::replace(&mut self.pending, rest);
        let chunk = Chunk {
            offset: self.pending_from,
            bytes,
        };
        self.pending_from += whole as u64;
        Ok(Some(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use petrel_protocol::message::encode_blank;

    /// A fake record: TOTALSIZE, the message magic, then filler.
    fn record(len: usize) -> Vec<u8> {
        let mut r = vec![7u8; len];
        r[..4].copy_from_slice(&(len as i32).to_be_bytes());
        r[4..8].copy_from_slice(&petrel_protocol::message::MESSAGE_MAGIC_CODE_V1.to_be_bytes());
        r
    }

    fn header(offset: u64, size: usize) -> TransferHeader {
        TransferHeader {
            physic_offset: offset as i64,
            body_size: size as i32,
        }
    }

    #[test]
    fn records_cut_across_frames_are_handed_over_whole() {
        let mut stream = record(100);
        stream.extend(record(150));
        let mut rx = Receiver::new(1000);
        rx.on_header(header(1000, 120)).unwrap();
        let first = rx.on_body(&stream[..120]).unwrap().unwrap();
        assert_eq!((first.offset, first.bytes.len()), (1000, 100));
        rx.on_header(header(1120, 130)).unwrap();
        let second = rx.on_body(&stream[120..]).unwrap().unwrap();
        assert_eq!(
            (second.offset, second.bytes.as_slice()),
            (1100, &stream[100..])
        );
        assert_eq!(rx.next_offset(), 1250);
    }

    #[test]
    fn a_blank_marker_waits_for_its_segment_tail() {
        let mut blank = Vec::new();
        encode_blank(40, &mut blank);
        blank.resize(40, 0);
        let mut rx = Receiver::new(960);
        rx.on_header(header(960, 20)).unwrap();
        assert_eq!(rx.on_body(&blank[..20]).unwrap(), None);
        rx.on_header(header(980, 20)).unwrap();
        assert_eq!(rx.on_body(&blank[20..]).unwrap().unwrap().bytes, blank);
    }

    #[test]
    fn a_frame_that_does_not_continue_the_log_is_refused() {
        let mut rx = Receiver::new(1000);
        assert_eq!(
            rx.on_header(header(2000, 10)),
            Err(ReceiveError::OffsetMismatch {
                expected: 1000,
                got: 2000
            })
        );
        // Heartbeats are checked too.
        assert!(rx.on_header(header(999, 0)).is_err());
        assert!(rx.on_header(header(1000, 0)).is_ok());
    }

    #[test]
    fn an_empty_slave_starts_where_the_master_starts() {
        let mut rx = Receiver::new(0);
        rx.on_header(header(77, 0)).unwrap();
        rx.on_header(header(1 << 30, 100)).unwrap();
        let chunk = rx.on_body(&record(100)).unwrap().unwrap();
        assert_eq!(chunk.offset, 1 << 30);
        assert!(rx.on_header(header(5, 10)).is_err());
    }

    #[test]
    fn garbage_is_not_a_record() {
        let mut rx = Receiver::new(0);
        rx.on_header(header(0, 8)).unwrap();
        assert!(matches!(
            rx.on_body(&[0; 8]),
            Err(ReceiveError::NotARecord { offset: 0, .. })
        ));
        let mut rx = Receiver::new(0);
        rx.on_header(header(0, 8)).unwrap();
        let mut huge = record(8);
        huge[..4].copy_from_slice(&(i32::MAX).to_be_bytes());
        assert!(matches!(
            rx.on_body(&huge),
            Err(ReceiveError::TooLarge { .. }) | Err(ReceiveError::NotARecord { .. })
        ));
    }
}
