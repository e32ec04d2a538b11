//! Bounds-checked big-endian reads from a slice; every read names the field for the error.

use super::DecodeError;

pub(crate) fn slice<'a>(
    buf: &'a [u8],
    at: usize,
    len: usize,
    field: &'static str,
) -> Result<&'a [u8], DecodeError> {
    match at.checked_add(len) {
        Some(end) if end <= buf.len() => Ok(&buf[at..end]),
        _ => Err(DecodeError::Truncated {
            field,
            at,
            needed: len,
            available: buf.len().saturating_sub(at),
        }),
    }
}

fn array<const N: usize>(
    buf: &[u8],
    at: usize,
    field: &'static str,
) -> Result<[u8; N], DecodeError> {
    let bytes = slice(buf, at, N, field)?;
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    Ok(out)
}

pub(crate) fn u8_at(buf: &[u8], at: usize, field: &'static str) -> Result<u8, DecodeError> {
    Ok(array::<1>(buf, at, field)?[0])
}

pub(crate) fn i16_at(buf: &[u8], at: usize, field: &'static str) -> Result<i16, DecodeError> {
    Ok(i16::from_be_bytes(array(buf, at, field)?))
}

pub(crate) fn i32_at(buf: &[u8], at: usize, field: &'static str) -> Result<i32, DecodeError> {
    Ok(i32::from_be_bytes(array(buf, at, field)?))
}

/// A length field read as i32 that must be non-negative.
pub(crate) fn len_i32_at(buf: &[u8], at: usize, field: &'static str) -> Result<usize, DecodeError> {
    let v = i32_at(buf, at, field)?;
    usize::try_from(v).map_err(|_| DecodeError::BadLength(format!("{field} is negative ({v})")))
}

/// A length field read as i16 that must be non-negative.
pub(crate) fn len_i16_at(buf: &[u8], at: usize, field: &'static str) -> Result<usize, DecodeError> {
    let v = i16_at(buf, at, field)?;
    usize::try_from(v).map_err(|_| DecodeError::BadLength(format!("{field} is negative ({v})")))
}
