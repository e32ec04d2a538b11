//! The ROCKETMQ binary header (serialize type 1), `RocketMQSerializable.java` (§3).
//!
//! ```text
//! code i16 | language i8 | version i16 | opaque i32 | flag i32
//! | remark length i32 | remark bytes
//! | extFields length i32 | { key length i16 | key | value length i32 | value }*
//! ```
//!
//! A zero-length remark is `None`. Java decodes a zero-length key or value as `null` and so
//! treats the entry as absent; we drop such entries for the same effect. Every length is
//! checked against the bytes that remain, so no input can make the decoder read out of bounds
//! or allocate more than the header's own size.

use bytes::{BufMut, BytesMut};

use super::codes::{LanguageCode, SerializeType};
use super::error::{FrameEncodeError, FrameError};
use super::ext_fields::ExtFields;
use super::frame::RemotingCommand;

/// Size of the fixed fields before the remark: code, language, version, opaque, flag.
pub const FIXED_BYTES: usize = 2 + 1 + 2 + 4 + 4;

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], FrameError> {
        let available = self.buf.len() - self.at;
        if n > available {
            return Err(FrameError::Truncated {
                field,
                at: self.at,
                needed: n,
                available,
            });
        }
        let bytes = &self.buf[self.at..self.at + n];
        self.at += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], FrameError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    fn i8(&mut self, field: &'static str) -> Result<u8, FrameError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, FrameError> {
        self.array(field).map(i16::from_be_bytes)
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, FrameError> {
        self.array(field).map(i32::from_be_bytes)
    }

    fn len(&mut self, field: &'static str, len: i32) -> Result<usize, FrameError> {
        usize::try_from(len).map_err(|_| FrameError::NegativeFieldLength { field, len })
    }

    /// A string whose length was just read; empty when `len` is 0.
    fn str(&mut self, field: &'static str, len: usize) -> Result<&'a str, FrameError> {
        let bytes = self.take(field, len)?;
        std::str::from_utf8(bytes).map_err(|_| FrameError::NotUtf8(field))
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.at
    }
}

/// Decodes a binary header into a command with an empty body.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, FrameError> {
    let mut r = Reader { buf: header, at: 0 };
    let code = i32::from(r.i16("code")?);
    let language = LanguageCode::from_code(r.i8("language")?);
    let version = i32::from(r.i16("version")?);
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;
    let remark_len = r.i32("remark length")?;
    let remark_len = r.len("remark", remark_len)?;
    let remark = match r.str("remark", remark_len)? {
        "" => None,
        s => Some(s.to_owned()),
    };
    let section_len = r.i32("extFields length")?;
    let section_len = r.len("extFields", section_len)?;
    let section = r.take("extFields", section_len)?;
    if r.remaining() > 0 {
        return Err(FrameError::TrailingBytes(r.remaining()));
    }
    let mut ext_fields = ExtFields::new();
    let mut s = Reader {
        buf: section,
        at: 0,
    };
    while s.remaining() > 0 {
        let key_len = i32::from(s.i16("extFields key length")?);
        let key_len = s.len("extFields key", key_len)?;
        let key = s.str("extFields key", key_len)?;
        let value_len = s.i32("extFields value length")?;
        let value_len = s.len("extFields value", value_len)?;
        let value = s.str("extFields value", value_len)?;
        if !key.is_empty() && !value.is_empty() {
            ext_fields.insert(key, value);
        }
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        serialize_type: SerializeType::RocketMq,
        body: Default::default(),
    })
}

/// Appends `cmd`'s header in the binary layout. Fails (writing nothing) when the code or
/// version does not fit an int16 or a key is longer than 32 767 bytes.
pub fn encode(cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), FrameEncodeError> {
    let code = i16::try_from(cmd.code).map_err(|_| FrameEncodeError::CodeOutOfRange(cmd.code))?;
    let version =
        i16::try_from(cmd.version).map_err(|_| FrameEncodeError::VersionOutOfRange(cmd.version))?;
    let remark = cmd.remark.as_deref().unwrap_or("");
    let remark_len = i32::try_from(remark.len()).map_err(|_| FrameEncodeError::StringTooLong {
        field: "remark",
        len: remark.len(),
    })?;
    let mut section_len = 0usize;
    for (key, value) in cmd.ext_fields.iter() {
        if i16::try_from(key.len()).is_err() {
            return Err(FrameEncodeError::StringTooLong {
                field: "extFields key",
                len: key.len(),
            });
        }
        section_len += 2 + key.len() + 4 + value.len();
    }
    let section_len_field =
        i32::try_from(section_len).map_err(|_| FrameEncodeError::HeaderTooLarge(section_len))?;

    dst.reserve(FIXED_BYTES + 4 + remark.len() + 4 + section_len);
    dst.put_i16(code);
    dst.put_u8(cmd.language.code());
    dst.put_i16(version);
    dst.put_i32(cmd.opaque);
    dst.put_i32(cmd.flag);
    dst.put_i32(remark_len);
    dst.put_slice(remark.as_bytes());
    dst.put_i32(section_len_field);
    for (key, value) in cmd.ext_fields.iter() {
        // Lengths were checked above; a value shorter than i32::MAX follows from section_len.
        dst.put_i16(key.len() as i16);
        dst.put_slice(key.as_bytes());
        dst.put_i32(value.len() as i32);
        dst.put_slice(value.as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RemotingCommand {
        RemotingCommand {
            code: 11,
            language: LanguageCode::Java,
            version: 401,
            opaque: 7,
            flag: 2,
            remark: Some("hi".into()),
            ext_fields: [("queueId", "3")].into_iter().collect(),
            serialize_type: SerializeType::RocketMq,
            ..RemotingCommand::default()
        }
    }

    #[test]
    fn writes_the_documented_layout() {
        let mut dst = BytesMut::new();
        encode(&sample(), &mut dst).unwrap();
        let expected: &[u8] = &[
            0, 11, // code
            0,  // language JAVA
            1, 145, // version 401
            0, 0, 0, 7, // opaque
            0, 0, 0, 2, // flag
            0, 0, 0, 2, b'h', b'i', // remark
            0, 0, 0, 14, // extFields section
            0, 7, b'q', b'u', b'e', b'u', b'e', b'I', b'd', 0, 0, 0, 1, b'3',
        ];
        assert_eq!(&dst[..], expected);
        assert_eq!(decode(&dst).unwrap(), sample());
    }

    #[test]
    fn keeps_unknown_language_bytes() {
        let mut dst = BytesMut::new();
        encode(&sample(), &mut dst).unwrap();
        dst[2] = 42;
        let cmd = decode(&dst).unwrap();
        assert_eq!(cmd.language, LanguageCode::Unknown(42));
        let mut again = BytesMut::new();
        encode(&cmd, &mut again).unwrap();
        assert_eq!(again, dst);
    }

    #[test]
    fn drops_entries_with_empty_key_or_value_like_java_nulls() {
        let header: &[u8] = &[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // fixed
            0, 0, 0, 0, // no remark
            0, 0, 0, 14, // section
            0, 0, 0, 0, 0, 1, b'v', // empty key
            0, 1, b'k', 0, 0, 0, 0, // empty value
        ];
        let cmd = decode(header).unwrap();
        assert!(cmd.ext_fields.is_empty());
        assert_eq!(cmd.remark, None);
    }

    #[test]
    fn rejects_truncation_and_bad_lengths() {
        let mut dst = BytesMut::new();
        encode(&sample(), &mut dst).unwrap();
        for cut in 0..dst.len() {
            assert!(decode(&dst[..cut]).is_err(), "cut at {cut} decoded");
        }
        let mut negative = dst.clone();
        negative[13..17].copy_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            decode(&negative),
            Err(FrameError::NegativeFieldLength {
                field: "remark",
                len: -1
            })
        );
        let mut trailing = dst.to_vec();
        trailing.push(0);
        assert_eq!(decode(&trailing), Err(FrameError::TrailingBytes(1)));
        let mut bad_utf8 = dst.clone();
        bad_utf8[17] = 0xff;
        assert_eq!(decode(&bad_utf8), Err(FrameError::NotUtf8("remark")));
    }

    #[test]
    fn refuses_codes_that_do_not_fit_an_int16() {
        let mut cmd = sample();
        cmd.code = 200_050;
        let mut dst = BytesMut::new();
        assert_eq!(
            encode(&cmd, &mut dst),
            Err(FrameEncodeError::CodeOutOfRange(200_050))
        );
        assert!(dst.is_empty());
    }
}
