//! The stored-message record: the CommitLog record, byte for byte the element of a pull body.
//!
//! Layout (`remoting-protocol.md` §8.1), all big-endian:
//!
//! | field | size | position (IPv4 hosts) |
//! |---|---|---|
//! | TOTALSIZE | 4 | 0 |
//! | MAGICCODE | 4 | 4 |
//! | BODYCRC | 4 | 8 |
//! | QUEUEID | 4 | 12 |
//! | FLAG | 4 | 16 |
//! | QUEUEOFFSET | 8 | 20 |
//! | PHYSICALOFFSET | 8 | 28 |
//! | SYSFLAG | 4 | 36 |
//! | BORNTIMESTAMP | 8 | 40 |
//! | BORNHOST | 8 or 20 | 48 |
//! | STORETIMESTAMP | 8 | 56 |
//! | STOREHOST | 8 or 20 | 64 |
//! | RECONSUMETIMES | 4 | 72 |
//! | PREPARED TRANSACTION OFFSET | 8 | 76 |
//! | BODY | 4 + n | 84 |
//! | TOPIC | 1 + n (V1) or 2 + n (V2) | |
//! | PROPERTIES | 2 + n | |
//!
//! A blank record (`TOTALSIZE`, `BLANK_MAGIC_CODE`) fills the end of a CommitLog segment when the
//! next record does not fit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::BufMut;

use super::reader::{i32_at, len_i16_at, len_i32_at, slice, u8_at};
use super::sys_flag::{BORNHOST_V6, STOREHOST_V6};
use super::{DecodeError, EncodeError};

/// V1 magic code: 1-byte topic length (`0xDAA320A7`).
pub const MESSAGE_MAGIC_CODE_V1: u32 = 0xDAA3_20A7;
/// V2 magic code: 2-byte topic length (`0xDAA320AB`), RocketMQ 5.x; used for topics over 127 bytes.
pub const MESSAGE_MAGIC_CODE_V2: u32 = 0xDAA3_20AB;
/// Magic code of the filler at the end of a CommitLog segment (`0xCBD43194`).
pub const BLANK_MAGIC_CODE: u32 = 0xCBD4_3194;
/// A segment must keep room for at least a blank marker (TOTALSIZE + MAGICCODE).
pub const END_FILE_MIN_BLANK_LENGTH: usize = 8;
/// Smallest possible message record: IPv4 hosts, empty body, 1-byte topic length, no properties.
pub const MIN_RECORD_SIZE: usize = 84 + 4 + 1 + 2;

/// The longest topic a record can carry (V2's signed 16-bit length).
pub const MAX_TOPIC_LEN_BYTES: usize = i16::MAX as usize;
/// The longest properties string a record can carry (signed 16-bit length).
pub const MAX_PROPERTIES_LEN_BYTES: usize = i16::MAX as usize;
/// Topics longer than this need the V2 layout (V1's topic length is a signed byte).
const V1_MAX_TOPIC_LEN_BYTES: usize = i8::MAX as usize;

pub(crate) const POS_TOTAL_SIZE: usize = 0;
pub(crate) const POS_MAGIC: usize = 4;
pub(crate) const POS_BODY_CRC: usize = 8;
pub(crate) const POS_QUEUE_ID: usize = 12;
pub(crate) const POS_FLAG: usize = 16;
pub(crate) const POS_QUEUE_OFFSET: usize = 20;
pub(crate) const POS_PHYSICAL_OFFSET: usize = 28;
pub(crate) const POS_SYS_FLAG: usize = 36;
pub(crate) const POS_BORN_TIMESTAMP: usize = 40;
pub(crate) const POS_BORN_HOST: usize = 48;

/// What a message needs to become a stored record. Offsets and the store timestamp are filled
/// in at append time with [`patch_record`].
#[derive(Debug, Clone)]
pub struct MessageToStore<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub flag: i32,
    pub body: &'a [u8],
    /// Encoded properties string (see [`super::Properties::encode`]).
    pub properties: &'a [u8],
    /// Producer sysFlag; the host IPv6 bits are set from the addresses below.
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
}

fn host_len(addr: &SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => 8,
        SocketAddr::V6(_) => 20,
    }
}

fn put_host(buf: &mut impl BufMut, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => buf.put_slice(&ip.octets()),
        IpAddr::V6(ip) => buf.put_slice(&ip.octets()),
    }
    buf.put_i32(i32::from(addr.port()));
}

/// CRC of a stored body as RocketMQ computes it (`UtilAll.crc32`: CRC-32 masked to 31 bits).
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

impl MessageToStore<'_> {
    fn uses_v2(&self) -> bool {
        self.topic.len() > V1_MAX_TOPIC_LEN_BYTES
    }

    /// The encoded size of this record.
    pub fn encoded_len(&self) -> usize {
        let topic_len_field = if self.uses_v2() { 2 } else { 1 };
        4 + 4
            + 4
            + 4
            + 4
            + 8
            + 8
            + 4
            + 8
            + host_len(&self.born_host)
            + 8
            + host_len(&self.store_host)
            + 4
            + 8
            + 4
            + self.body.len()
            + topic_len_field
            + self.topic.len()
            + 2
            + self.properties.len()
    }

    /// The sysFlag as stored: the producer's flag with the host address family bits set.
    pub fn stored_sys_flag(&self) -> i32 {
        let mut flag = self.sys_flag & !(BORNHOST_V6 | STOREHOST_V6);
        if self.born_host.is_ipv6() {
            flag |= BORNHOST_V6;
        }
        if self.store_host.is_ipv6() {
            flag |= STOREHOST_V6;
        }
        flag
    }
}

/// Appends the record for `msg` to `buf`, with queue offset, physical offset and store timestamp
/// set to zero, and returns its length. The body CRC is computed here, outside any append lock.
pub fn encode_record(
    msg: &MessageToStore<'_>,
    buf: &mut impl BufMut,
) -> Result<usize, EncodeError> {
    if msg.topic.len() > MAX_TOPIC_LEN_BYTES {
        return Err(EncodeError::TopicTooLong(msg.topic.len()));
    }
    if msg.properties.len() > MAX_PROPERTIES_LEN_BYTES {
        return Err(EncodeError::PropertiesTooLong(msg.properties.len()));
    }
    let total = msg.encoded_len();
    let total_i32 = i32::try_from(total).map_err(|_| EncodeError::BodyTooLarge(msg.body.len()))?;
    let body_len =
        i32::try_from(msg.body.len()).map_err(|_| EncodeError::BodyTooLarge(msg.body.len()))?;
    let v2 = msg.uses_v2();

    buf.put_i32(total_i32);
    buf.put_u32(if v2 {
        MESSAGE_MAGIC_CODE_V2
    } else {
        MESSAGE_MAGIC_CODE_V1
    });
    buf.put_i32(body_crc(msg.body));
    buf.put_i32(msg.queue_id);
    buf.put_i32(msg.flag);
    buf.put_i64(0); // queue offset, patched at append
    buf.put_i64(0); // physical offset, patched at append
    buf.put_i32(msg.stored_sys_flag());
    buf.put_i64(msg.born_timestamp);
    put_host(buf, &msg.born_host);
    buf.put_i64(0); // store timestamp, patched at append
    put_host(buf, &msg.store_host);
    buf.put_i32(msg.reconsume_times);
    buf.put_i64(msg.prepared_transaction_offset);
    buf.put_i32(body_len);
    buf.put_slice(msg.body);
    if v2 {
        buf.put_i16(msg.topic.len() as i16);
    } else {
        buf.put_u8(msg.topic.len() as u8);
    }
    buf.put_slice(msg.topic.as_bytes());
    buf.put_i16(msg.properties.len() as i16);
    buf.put_slice(msg.properties);
    Ok(total)
}

/// Position of STORETIMESTAMP in a record with the given sysFlag.
fn store_timestamp_pos(sys_flag: i32) -> usize {
    let born = if sys_flag & BORNHOST_V6 != 0 { 20 } else { 8 };
    POS_BORN_HOST + born
}

/// Fills the fields known only at append time into an encoded record.
///
/// `record` must be a record produced by [`encode_record`] (at least its fixed part).
pub fn patch_record(
    record: &mut [u8],
    queue_offset: i64,
    physical_offset: i64,
    store_timestamp: i64,
) {
    record[POS_QUEUE_OFFSET..POS_QUEUE_OFFSET + 8].copy_from_slice(&queue_offset.to_be_bytes());
    record[POS_PHYSICAL_OFFSET..POS_PHYSICAL_OFFSET + 8]
        .copy_from_slice(&physical_offset.to_be_bytes());
    let sys_flag = i32::from_be_bytes([
        record[POS_SYS_FLAG],
        record[POS_SYS_FLAG + 1],
        record[POS_SYS_FLAG + 2],
        record[POS_SYS_FLAG + 3],
    ]);
    let pos = store_timestamp_pos(sys_flag);
    record[pos..pos + 8].copy_from_slice(&store_timestamp.to_be_bytes());
}

/// Writes a blank end-of-segment marker covering `len` bytes (only its 8-byte head is written).
pub fn encode_blank(len: usize, buf: &mut impl BufMut) {
    buf.put_i32(len as i32);
    buf.put_u32(BLANK_MAGIC_CODE);
}

/// What the head of a slice of a CommitLog segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peek {
    /// A message record of this many bytes (not yet checked beyond its head).
    Message { total_size: usize },
    /// A blank marker: the rest of the segment (this many bytes) is filler.
    Blank { total_size: usize },
    /// Zero bytes: nothing was written here.
    End,
}

/// Reads the head (TOTALSIZE and MAGICCODE) of whatever starts at `buf[0]`.
pub fn peek_record(buf: &[u8]) -> Result<Peek, DecodeError> {
    let total = i32_at(buf, POS_TOTAL_SIZE, "TOTALSIZE")?;
    let magic = i32_at(buf, POS_MAGIC, "MAGICCODE")? as u32;
    if total == 0 && magic == 0 {
        return Ok(Peek::End);
    }
    let total_size = usize::try_from(total)
        .map_err(|_| DecodeError::BadLength(format!("TOTALSIZE is negative ({total})")))?;
    match magic {
        MESSAGE_MAGIC_CODE_V1 | MESSAGE_MAGIC_CODE_V2 => {
            if total_size < MIN_RECORD_SIZE {
                return Err(DecodeError::BadLength(format!(
                    "TOTALSIZE {total_size} is below the minimum record size {MIN_RECORD_SIZE}"
                )));
            }
            Ok(Peek::Message { total_size })
        }
        BLANK_MAGIC_CODE => {
            if total_size < END_FILE_MIN_BLANK_LENGTH {
                return Err(DecodeError::BadLength(format!(
                    "blank marker of {total_size} bytes"
                )));
            }
            Ok(Peek::Blank { total_size })
        }
        other => Err(DecodeError::BadMagic(other)),
    }
}

/// A decoded view of one stored record, borrowing its bytes. Construction checks that every
/// length field is consistent with TOTALSIZE; accessors then cannot fail.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    bytes: &'a [u8],
    sys_flag: i32,
    store_timestamp_pos: usize,
    store_host_pos: usize,
    reconsume_pos: usize,
    body_pos: usize,
    body_len: usize,
    topic_pos: usize,
    topic_len: usize,
    properties_pos: usize,
    properties_len: usize,
}

impl<'a> RecordView<'a> {
    /// Decodes the record at the start of `buf`. `buf` may extend past the record.
    pub fn parse(buf: &'a [u8]) -> Result<Self, DecodeError> {
        let total_size = match peek_record(buf)? {
            Peek::Message { total_size } => total_size,
            Peek::Blank { .. } => return Err(DecodeError::BadMagic(BLANK_MAGIC_CODE)),
            Peek::End => return Err(DecodeError::BadLength("TOTALSIZE is zero".into())),
        };
        let bytes = slice(buf, 0, total_size, "record")?;
        let magic = i32_at(bytes, POS_MAGIC, "MAGICCODE")? as u32;
        let sys_flag = i32_at(bytes, POS_SYS_FLAG, "SYSFLAG")?;
        let born_host_len = if sys_flag & BORNHOST_V6 != 0 { 20 } else { 8 };
        let store_host_len = if sys_flag & STOREHOST_V6 != 0 { 20 } else { 8 };
        let store_timestamp_pos = POS_BORN_HOST + born_host_len;
        let store_host_pos = store_timestamp_pos + 8;
        let reconsume_pos = store_host_pos + store_host_len;
        let body_len_pos = reconsume_pos + 4 + 8;
        let body_len = len_i32_at(bytes, body_len_pos, "BODY length")?;
        let body_pos = body_len_pos + 4;
        let topic_len_pos = body_pos
            .checked_add(body_len)
            .ok_or_else(|| DecodeError::BadLength("body length overflows".into()))?;
        let (topic_len, topic_pos) = if magic == MESSAGE_MAGIC_CODE_V2 {
            (
                len_i16_at(bytes, topic_len_pos, "TOPIC length")?,
                topic_len_pos + 2,
            )
        } else {
            // Java reads V1's topic length as a signed byte.
            let raw = u8_at(bytes, topic_len_pos, "TOPIC length")? as i8;
            let len = usize::try_from(raw)
                .map_err(|_| DecodeError::BadLength(format!("TOPIC length is negative ({raw})")))?;
            (len, topic_len_pos + 1)
        };
        let properties_len_pos = topic_pos + topic_len;
        let properties_len = len_i16_at(bytes, properties_len_pos, "PROPERTIES length")?;
        let properties_pos = properties_len_pos + 2;
        let end = properties_pos + properties_len;
        if end != total_size {
            return Err(DecodeError::BadLength(format!(
                "TOTALSIZE is {total_size} but the fields add up to {end}"
            )));
        }
        std::str::from_utf8(&bytes[topic_pos..topic_pos + topic_len])
            .map_err(|_| DecodeError::NotUtf8("topic"))?;
        Ok(Self {
            bytes,
            sys_flag,
            store_timestamp_pos,
            store_host_pos,
            reconsume_pos,
            body_pos,
            body_len,
            topic_pos,
            topic_len,
            properties_pos,
            properties_len,
        })
    }

    fn i32_at(&self, at: usize) -> i32 {
        let b = &self.bytes[at..at + 4];
        i32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    fn i64_at(&self, at: usize) -> i64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.bytes[at..at + 8]);
        i64::from_be_bytes(a)
    }

    /// A host (IPv4 + port or IPv6 + port) at a position `parse` placed inside the record.
    fn host_at(&self, at: usize, v6: bool) -> SocketAddr {
        let port = self.i32_at(at + if v6 { 16 } else { 4 }) as u16;
        if v6 {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&self.bytes[at..at + 16]);
            SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port)
        } else {
            let b = &self.bytes[at..at + 4];
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])), port)
        }
    }

    /// The whole record.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
    pub fn total_size(&self) -> usize {
        self.bytes.len()
    }
    pub fn magic(&self) -> u32 {
        self.i32_at(POS_MAGIC) as u32
    }
    pub fn body_crc(&self) -> i32 {
        self.i32_at(POS_BODY_CRC)
    }
    pub fn queue_id(&self) -> i32 {
        self.i32_at(POS_QUEUE_ID)
    }
    pub fn flag(&self) -> i32 {
        self.i32_at(POS_FLAG)
    }
    pub fn queue_offset(&self) -> i64 {
        self.i64_at(POS_QUEUE_OFFSET)
    }
    pub fn physical_offset(&self) -> i64 {
        self.i64_at(POS_PHYSICAL_OFFSET)
    }
    pub fn sys_flag(&self) -> i32 {
        self.sys_flag
    }
    pub fn born_timestamp(&self) -> i64 {
        self.i64_at(POS_BORN_TIMESTAMP)
    }
    pub fn born_host(&self) -> SocketAddr {
        self.host_at(POS_BORN_HOST, self.sys_flag & BORNHOST_V6 != 0)
    }
    pub fn store_timestamp(&self) -> i64 {
        self.i64_at(self.store_timestamp_pos)
    }
    pub fn store_host(&self) -> SocketAddr {
        self.host_at(self.store_host_pos, self.sys_flag & STOREHOST_V6 != 0)
    }
    pub fn reconsume_times(&self) -> i32 {
        self.i32_at(self.reconsume_pos)
    }
    pub fn prepared_transaction_offset(&self) -> i64 {
        self.i64_at(self.reconsume_pos + 4)
    }
    pub fn body(&self) -> &'a [u8] {
        &self.bytes[self.body_pos..self.body_pos + self.body_len]
    }
    pub fn topic(&self) -> &'a str {
        // Checked to be UTF-8 in parse.
        std::str::from_utf8(&self.bytes[self.topic_pos..self.topic_pos + self.topic_len])
            .unwrap_or_default()
    }
    pub fn properties(&self) -> &'a [u8] {
        &self.bytes[self.properties_pos..self.properties_pos + self.properties_len]
    }
    /// True when the stored body CRC matches the body.
    pub fn body_crc_matches(&self) -> bool {
        body_crc(self.body()) == self.body_crc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(a: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port)
    }

    fn sample<'a>(topic: &'a str, body: &'a [u8], props: &'a [u8]) -> MessageToStore<'a> {
        MessageToStore {
            topic,
            queue_id: 3,
            flag: 7,
            body,
            properties: props,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_123,
            born_host: v4([10, 0, 0, 1], 50000),
            store_host: v4([127, 0, 0, 1], 10911),
            reconsume_times: 2,
            prepared_transaction_offset: 0,
        }
    }

    #[test]
    fn encodes_the_documented_positions() {
        let msg = sample("TopicTest", b"hello", b"TAGS\x01A\x02");
        let mut buf = Vec::new();
        let len = encode_record(&msg, &mut buf).unwrap();
        patch_record(&mut buf, 42, 4096, 1_700_000_000_999);
        assert_eq!(len, buf.len());
        assert_eq!(len, 84 + 4 + 5 + 1 + 9 + 2 + 7);
        assert_eq!(&buf[0..4], &(len as i32).to_be_bytes());
        assert_eq!(&buf[4..8], &MESSAGE_MAGIC_CODE_V1.to_be_bytes());
        assert_eq!(&buf[12..16], &3i32.to_be_bytes());
        assert_eq!(&buf[16..20], &7i32.to_be_bytes());
        assert_eq!(&buf[20..28], &42i64.to_be_bytes());
        assert_eq!(&buf[28..36], &4096i64.to_be_bytes());
        assert_eq!(&buf[48..56], &[10, 0, 0, 1, 0, 0, 0xC3, 0x50]);
        assert_eq!(&buf[56..64], &1_700_000_000_999i64.to_be_bytes());
        assert_eq!(&buf[64..72], &[127, 0, 0, 1, 0, 0, 0x2A, 0x9F]);
        assert_eq!(&buf[84..88], &5i32.to_be_bytes());
        assert_eq!(&buf[88..93], b"hello");
        assert_eq!(buf[93], 9);
    }

    #[test]
    fn decodes_what_it_encodes() {
        let msg = sample("TopicTest", b"hello", b"TAGS\x01A\x02");
        let mut buf = Vec::new();
        encode_record(&msg, &mut buf).unwrap();
        patch_record(&mut buf, 42, 4096, 99);
        let view = RecordView::parse(&buf).unwrap();
        assert_eq!(view.topic(), "TopicTest");
        assert_eq!(view.body(), b"hello");
        assert_eq!(view.properties(), b"TAGS\x01A\x02");
        assert_eq!(view.queue_id(), 3);
        assert_eq!(view.queue_offset(), 42);
        assert_eq!(view.physical_offset(), 4096);
        assert_eq!(view.store_timestamp(), 99);
        assert_eq!(view.born_host(), msg.born_host);
        assert_eq!(view.store_host(), msg.store_host);
        assert_eq!(view.reconsume_times(), 2);
        assert!(view.body_crc_matches());
    }

    #[test]
    fn long_topics_use_v2_and_ipv6_hosts_set_their_flags() {
        let topic = "t".repeat(200);
        let mut msg = sample(&topic, b"x", b"");
        msg.born_host = "[::1]:1234".parse().unwrap();
        let mut buf = Vec::new();
        encode_record(&msg, &mut buf).unwrap();
        patch_record(&mut buf, 1, 2, 3);
        let view = RecordView::parse(&buf).unwrap();
        assert_eq!(view.magic(), MESSAGE_MAGIC_CODE_V2);
        assert_eq!(view.topic(), topic);
        assert_eq!(view.sys_flag() & BORNHOST_V6, BORNHOST_V6);
        assert_eq!(view.born_host(), msg.born_host);
        assert_eq!(view.store_timestamp(), 3);
    }

    #[test]
    fn body_crc_is_masked_to_31_bits() {
        // crc32("hello") = 0x3610A686, positive already; crc32 of b"\x00" = 0xD202EF8D -> masked.
        assert_eq!(body_crc(b"hello"), 0x3610_A686);
        assert_eq!(body_crc(b"\x00"), 0x5202_EF8D);
    }

    #[test]
    fn peek_distinguishes_message_blank_and_end() {
        let mut blank = Vec::new();
        encode_blank(512, &mut blank);
        assert_eq!(
            peek_record(&blank).unwrap(),
            Peek::Blank { total_size: 512 }
        );
        assert_eq!(peek_record(&[0u8; 8]).unwrap(), Peek::End);
        assert!(matches!(
            peek_record(&[0, 0, 0, 100, 1, 2, 3, 4]),
            Err(DecodeError::BadMagic(_))
        ));
        assert!(peek_record(&[0, 0, 0]).is_err());
    }

    #[test]
    fn rejects_a_length_that_disagrees_with_the_fields() {
        let msg = sample("T", b"body", b"");
        let mut buf = Vec::new();
        encode_record(&msg, &mut buf).unwrap();
        let n = buf.len() as i32 + 1;
        buf[0..4].copy_from_slice(&n.to_be_bytes());
        buf.push(0);
        assert!(matches!(
            RecordView::parse(&buf),
            Err(DecodeError::BadLength(_))
        ));
    }

    proptest! {
        #[test]
        fn round_trips_arbitrary_messages(
            topic in "[a-zA-Z0-9_%-]{1,300}",
            body in proptest::collection::vec(any::<u8>(), 0..300),
            props in "[ -~]{0,100}",
            queue_id in any::<i32>(),
            qo in any::<i64>(),
            po in any::<i64>(),
        ) {
            let msg = sample(&topic, &body, props.as_bytes());
            let msg = MessageToStore { queue_id, ..msg };
            let mut buf = Vec::new();
            encode_record(&msg, &mut buf).unwrap();
            patch_record(&mut buf, qo, po, 5);
            let view = RecordView::parse(&buf).unwrap();
            prop_assert_eq!(view.topic(), topic.as_str());
            prop_assert_eq!(view.body(), &body[..]);
            prop_assert_eq!(view.properties(), props.as_bytes());
            prop_assert_eq!(view.queue_id(), queue_id);
            prop_assert_eq!(view.queue_offset(), qo);
            prop_assert_eq!(view.physical_offset(), po);
        }

        #[test]
        fn parsing_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = RecordView::parse(&bytes);
            let _ = peek_record(&bytes);
        }

        #[test]
        fn every_truncation_of_a_record_is_rejected(cut in 0usize..150) {
            let msg = sample("TopicTest", b"some body bytes", b"KEYS\x01k\x02");
            let mut buf = Vec::new();
            let len = encode_record(&msg, &mut buf).unwrap();
            let cut = cut.min(len - 1);
            prop_assert!(RecordView::parse(&buf[..cut]).is_err());
        }
    }
}
