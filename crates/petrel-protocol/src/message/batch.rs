//! The SEND_BATCH_MESSAGE body: per-message items of
//! `TOTALSIZE i32, MAGICCODE i32 (0), BODYCRC i32 (0), FLAG i32, BODY i32+n, PROPERTIES i16+n`.

use bytes::BufMut;

use super::reader::{i32_at, len_i16_at, len_i32_at, slice};
use super::{DecodeError, EncodeError};

/// One message of a batch body, borrowing the body bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchItem<'a> {
    pub flag: i32,
    pub body: &'a [u8],
    pub properties: &'a [u8],
}

/// Iterates the items of a batch body; yields an error (then stops) at the first bad item.
#[derive(Debug, Clone)]
pub struct BatchIter<'a> {
    buf: &'a [u8],
    at: usize,
    failed: bool,
}

/// Decodes a batch body lazily.
pub fn decode_batch(buf: &[u8]) -> BatchIter<'_> {
    BatchIter {
        buf,
        at: 0,
        failed: false,
    }
}

const FIXED_LEN: usize = 4 + 4 + 4 + 4 + 4 + 2;

fn decode_item(buf: &[u8]) -> Result<(BatchItem<'_>, usize), DecodeError> {
    let total = len_i32_at(buf, 0, "batch TOTALSIZE")?;
    if total < FIXED_LEN {
        return Err(DecodeError::BadLength(format!(
            "batch item TOTALSIZE {total} is below {FIXED_LEN}"
        )));
    }
    let item = slice(buf, 0, total, "batch item")?;
    let flag = i32_at(item, 12, "batch FLAG")?;
    let body_len = len_i32_at(item, 16, "batch BODY length")?;
    let body = slice(item, 20, body_len, "batch BODY")?;
    let props_len_at = 20 + body_len;
    let props_len = len_i16_at(item, props_len_at, "batch PROPERTIES length")?;
    let properties = slice(item, props_len_at + 2, props_len, "batch PROPERTIES")?;
    let end = props_len_at + 2 + props_len;
    if end != total {
        return Err(DecodeError::BadLength(format!(
            "batch item TOTALSIZE {total} but fields add up to {end}"
        )));
    }
    Ok((
        BatchItem {
            flag,
            body,
            properties,
        },
        total,
    ))
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = Result<BatchItem<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.buf.len() {
            return None;
        }
        match decode_item(&self.buf[self.at..]) {
            Ok((item, used)) => {
                self.at += used;
                Some(Ok(item))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl BatchItem<'_> {
    /// Encodes this item as a producer does (magic and CRC written as zero).
    pub fn encode(&self, buf: &mut impl BufMut) -> Result<usize, EncodeError> {
        if self.properties.len() > i16::MAX as usize {
            return Err(EncodeError::PropertiesTooLong(self.properties.len()));
        }
        let total = FIXED_LEN + self.body.len() + self.properties.len();
        let total_i32 =
            i32::try_from(total).map_err(|_| EncodeError::BodyTooLarge(self.body.len()))?;
        buf.put_i32(total_i32);
        buf.put_i32(0);
        buf.put_i32(0);
        buf.put_i32(self.flag);
        buf.put_i32(self.body.len() as i32);
        buf.put_slice(self.body);
        buf.put_i16(self.properties.len() as i16);
        buf.put_slice(self.properties);
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_a_batch_of_items() {
        let items = [
            BatchItem {
                flag: 0,
                body: b"one",
                properties: b"KEYS\x01a\x02",
            },
            BatchItem {
                flag: 5,
                body: b"",
                properties: b"",
            },
        ];
        let mut buf = Vec::new();
        for item in &items {
            item.encode(&mut buf).unwrap();
        }
        let decoded: Vec<_> = decode_batch(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(decoded, items);
    }

    #[test]
    fn stops_at_the_first_bad_item() {
        let mut buf = Vec::new();
        BatchItem {
            flag: 0,
            body: b"ok",
            properties: b"",
        }
        .encode(&mut buf)
        .unwrap();
        buf.extend_from_slice(&[0, 0, 0, 30, 0, 0]);
        let mut iter = decode_batch(&buf);
        assert!(iter.next().unwrap().is_ok());
        assert!(iter.next().unwrap().is_err());
        assert!(iter.next().is_none());
    }

    proptest! {
        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            for item in decode_batch(&bytes) {
                let _ = item;
            }
        }
    }
}
