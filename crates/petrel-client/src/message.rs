//! Messages as users build them ([`Message`]) and as consumers receive them ([`MessageExt`]),
//! client-side unique ids (`UNIQ_KEY`) and body compression.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use petrel_protocol::message::{properties as prop, sys_flag, Properties, RecordView};

use crate::error::{ClientError, Result};

pub use petrel_protocol::remoting::body::MessageQueue;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub topic: String,
    pub body: Bytes,
    /// Application flag (`Message.flag`), stored and returned as is.
    pub flag: i32,
    pub properties: Properties,
}

impl Message {
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            topic: topic.into(),
            body: body.into(),
            ..Self::default()
        }
    }

    /// Sets the tag (`TAGS`), what consumers filter on.
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.properties.insert(prop::TAGS, tags);
        self
    }

    /// Sets business keys (`KEYS`, space-separated), indexed for lookup by key.
    pub fn with_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_string()).collect();
        self.properties.insert(prop::KEYS, joined.join(" "));
        self
    }

    /// Sets a user property.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name, value);
        self
    }

    /// Delivers the message after delay level `level` (1 = 1s ... 18 = 2h by default).
    pub fn with_delay_level(mut self, level: i32) -> Self {
        self.properties
            .insert(prop::DELAY_TIME_LEVEL, level.to_string());
        self
    }

    /// Delivers the message at `epoch_ms` (a 5.x timer message).
    pub fn with_deliver_time_ms(mut self, epoch_ms: i64) -> Self {
        self.properties
            .insert(prop::TIMER_DELIVER_MS, epoch_ms.to_string());
        self
    }

    /// Delivers the message `delay_ms` after the broker stores it (a 5.x timer message).
    pub fn with_delay_ms(mut self, delay_ms: i64) -> Self {
        self.properties
            .insert(prop::TIMER_DELAY_MS, delay_ms.to_string());
        self
    }

    pub fn tags(&self) -> Option<&str> {
        self.properties.get(prop::TAGS)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.properties
            .get(prop::KEYS)
            .unwrap_or("")
            .split(' ')
            .filter(|k| !k.is_empty())
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    /// The client-generated unique id, once the producer has set it.
    pub fn unique_key(&self) -> Option<&str> {
        self.properties.get(prop::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
    }
}

/// The reply to a request message (RocketMQ's `MessageUtil.createReplyMessage`): addressed to
/// the request's cluster's `{cluster}_REPLY_TOPIC`, carrying the request's `CORRELATION_ID`,
/// `REPLY_TO_CLIENT` and `TTL`, and marked `MSG_TYPE=reply` so that a producer sends it with
/// SEND_REPLY_MESSAGE and the broker pushes it to the requester. Fails if `request` is not a
/// request message as a broker delivered it (no `CLUSTER` or `REPLY_TO_CLIENT`).
pub fn create_reply_message(request: &MessageExt, body: impl Into<Bytes>) -> Result<Message> {
    let get = |name: &'static str| {
        request.property(name).ok_or_else(|| {
            ClientError::InvalidArgument(format!(
                "cannot reply to message {}: it has no {name} property (only a message sent \
                 with Producer::request, as delivered by a broker, can be replied to)",
                request.msg_id()
            ))
        })
    };
    let cluster = get(prop::CLUSTER)?;
    let reply_to = get(prop::MESSAGE_REPLY_TO_CLIENT)?;
    let mut reply = Message::new(petrel_protocol::topic::reply_topic(cluster), body);
    reply
        .properties
        .insert(prop::MESSAGE_TYPE, prop::REPLY_MESSAGE_FLAG);
    reply
        .properties
        .insert(prop::MESSAGE_REPLY_TO_CLIENT, reply_to);
    for name in [prop::CORRELATION_ID, prop::MESSAGE_TTL] {
        if let Some(v) = request.property(name) {
            reply.properties.insert(name, v);
        }
    }
    Ok(reply)
}

/// A message as stored and delivered, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    pub topic: String,
    /// The body, decompressed if the producer compressed it.
    pub body: Bytes,
    pub flag: i32,
    pub properties: Properties,
    pub broker_name: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub store_size: i32,
    pub sys_flag: i32,
    pub body_crc: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    /// The offset message id (store host + physical offset).
    pub offset_msg_id: String,
}

impl MessageExt {
    /// The id users see: the client's unique key if present (what `getMsgId()` returns in
    /// Java), else the offset message id.
    pub fn msg_id(&self) -> &str {
        self.properties
            .get(prop::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .unwrap_or(&self.offset_msg_id)
    }

    pub fn tags(&self) -> Option<&str> {
        self.properties.get(prop::TAGS)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.properties
            .get(prop::KEYS)
            .unwrap_or("")
            .split(' ')
            .filter(|k| !k.is_empty())
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    pub fn message_queue(&self) -> MessageQueue {
        MessageQueue::new(self.topic.clone(), self.broker_name.clone(), self.queue_id)
    }

    /// For a retried message: the topic it was first sent to (`RETRY_TOPIC`), else its topic.
    pub fn origin_topic(&self) -> &str {
        self.properties
            .get(prop::RETRY_TOPIC)
            .unwrap_or(&self.topic)
    }
}

/// Decodes the stored records of a pull response (or a query result), decompressing bodies.
/// A record that cannot be decoded fails the whole call: the caller must not skip it silently.
pub fn decode_messages(mut buf: &[u8], broker_name: &str) -> Result<Vec<MessageExt>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let view = RecordView::parse(buf).map_err(|e| ClientError::BadResponse {
            addr: broker_name.to_string(),
            reason: format!("stored message: {e}"),
        })?;
        out.push(from_view(&view, broker_name)?);
        buf = &buf[view.total_size()..];
    }
    Ok(out)
}

/// One stored record as a [`MessageExt`].
pub fn from_view(view: &RecordView<'_>, broker_name: &str) -> Result<MessageExt> {
    let bad = |reason: String| ClientError::BadResponse {
        addr: broker_name.to_string(),
        reason,
    };
    let properties =
        Properties::decode(view.properties()).map_err(|e| bad(format!("properties: {e}")))?;
    let mut sys = view.sys_flag();
    let body = if sys & sys_flag::COMPRESSED != 0 {
        let body =
            decompress(view.body(), sys).map_err(|e| bad(format!("compressed body: {e}")))?;
        sys &= !sys_flag::COMPRESSED;
        Bytes::from(body)
    } else {
        Bytes::copy_from_slice(view.body())
    };
    Ok(MessageExt {
        topic: view.topic().to_string(),
        body,
        flag: view.flag(),
        properties,
        broker_name: broker_name.to_string(),
        queue_id: view.queue_id(),
        queue_offset: view.queue_offset(),
        commit_log_offset: view.physical_offset(),
        store_size: view.total_size() as i32,
        sys_flag: sys,
        body_crc: view.body_crc(),
        born_timestamp: view.born_timestamp(),
        born_host: view.born_host(),
        store_timestamp: view.store_timestamp(),
        store_host: view.store_host(),
        reconsume_times: view.reconsume_times(),
        prepared_transaction_offset: view.prepared_transaction_offset(),
        offset_msg_id: petrel_protocol::message::encode_offset_msg_id(
            view.store_host(),
            view.physical_offset(),
        ),
    })
}

// Bits 8..10 of the sysFlag name the compression type (5.x); 0 there means zlib (4.x).
use sys_flag::{COMPRESSION_TYPE_MASK, COMPRESSION_ZLIB};

/// Compresses a body in RocketMQ's default format (zlib), returning the sysFlag bits to set.
pub fn compress(body: &[u8], level: u32) -> (Vec<u8>, i32) {
    let mut enc = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(body.len() / 2),
        flate2::Compression::new(level.min(9)),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(body);
    let out = enc.finish().unwrap_or_default();
    (out, sys_flag::COMPRESSED | COMPRESSION_ZLIB)
}

/// Decompresses a body whose sysFlag has COMPRESSED set. Bodies are bounded by the broker's
/// maximum message size; decompression stops at 64 MiB to bound a hostile input.
pub fn decompress(body: &[u8], sys_flag: i32) -> std::io::Result<Vec<u8>> {
    const MAX_DECOMPRESSED_BYTES: u64 = 64 * 1024 * 1024;
    match sys_flag & COMPRESSION_TYPE_MASK {
        0 | COMPRESSION_ZLIB => {
            let mut out = Vec::with_capacity(body.len() * 2);
            flate2::read::ZlibDecoder::new(body)
                .take(MAX_DECOMPRESSED_BYTES)
                .read_to_end(&mut out)?;
            Ok(out)
        }
        other => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!(
                "compression type {} (sysFlag bits 8..10) is not supported; only zlib",
                other >> 8
            ),
        )),
    }
}

/// Generates unique message ids in the Java client's layout (`MessageClientIDSetter`): hex of
/// ip (4 bytes), pid (2), a per-process random (4), ms since the start of the month (4) and a
/// counter (2). Tools read the ip and the approximate time back from it.
pub fn new_unique_key() -> String {
    struct Fixed {
        prefix: String,
        month_start_ms: i64,
    }
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    static COUNTER: AtomicU16 = AtomicU16::new(0);
    let fixed = FIXED.get_or_init(|| {
        let ip: [u8; 4] = match crate::config::ClientConfig::default()
            .client_ip
            .parse::<std::net::IpAddr>()
        {
            Ok(std::net::IpAddr::V4(v4)) => v4.octets(),
            _ => [127, 0, 0, 1],
        };
        let pid = std::process::id() as u16;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let random = nanos ^ (std::process::id().rotate_left(16));
        let mut prefix = String::with_capacity(20);
        push_hex(&mut prefix, &ip);
        push_hex(&mut prefix, &pid.to_be_bytes());
        push_hex(&mut prefix, &random.to_be_bytes());
        Fixed {
            prefix,
            month_start_ms: month_start_ms(now_ms()),
        }
    });
    let since = (coarse_now_ms() - fixed.month_start_ms) as i32;
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut id = String::with_capacity(32);
    id.push_str(&fixed.prefix);
    push_hex(&mut id, &since.to_be_bytes());
    push_hex(&mut id, &count.to_be_bytes());
    id
}

/// Appends upper-case hex (on every send: `format!` was a visible cost).
fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xF) as usize] as char);
    }
}

/// The wall clock at the kernel's tick resolution (a few ms), without reading the clock
/// source: on VMs whose clock source is not the TSC a precise read costs a syscall, and ids
/// only need the time roughly (the counter makes them unique).
fn coarse_now_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
    if rc != 0 {
        return now_ms();
    }
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The start (UTC) of the month `epoch_ms` falls in.
fn month_start_ms(epoch_ms: i64) -> i64 {
    let days = epoch_ms.div_euclid(86_400_000);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day_of_month = doy - (153 * mp + 2) / 5; // 0-based
    (days - day_of_month) * 86_400_000
}

/// A stored message for unit tests: topic `topic`, queue 0 of broker `b`, at `queue_offset`
/// (CommitLog offset 100 times that), body `x`, no properties. Tests change the fields they
/// care about with struct update syntax.
#[cfg(test)]
pub(crate) fn test_message(topic: &str, queue_offset: i64) -> MessageExt {
    let host = SocketAddr::from(([127, 0, 0, 1], 1));
    MessageExt {
        topic: topic.to_string(),
        body: Bytes::from_static(b"x"),
        flag: 0,
        properties: Properties::new(),
        broker_name: "b".into(),
        queue_id: 0,
        queue_offset,
        commit_log_offset: queue_offset * 100,
        store_size: 0,
        sys_flag: 0,
        body_crc: 0,
        born_timestamp: 0,
        born_host: host,
        store_timestamp: 0,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        offset_msg_id: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_rocketmq_properties() {
        let m = Message::new("T", "b")
            .with_tags("TagA")
            .with_keys(["k1", "k2"])
            .with_delay_level(3)
            .with_property("a", "1");
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.keys().collect::<Vec<_>>(), vec!["k1", "k2"]);
        assert_eq!(m.property("DELAY"), Some("3"));
        assert_eq!(m.property("a"), Some("1"));
    }

    #[test]
    fn unique_keys_have_the_java_layout_and_differ() {
        let a = new_unique_key();
        let b = new_unique_key();
        assert_eq!(a.len(), 32);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        assert_ne!(a, b);
        assert_eq!(a[..20], b[..20]);
    }

    #[test]
    fn month_start_is_the_first_of_the_month() {
        // 2026-11-24T09:00:00Z -> 2026-11-01T00:00:00Z
        assert_eq!(month_start_ms(1_795_510_800_000), 1_793_491_200_000);
        assert_eq!(month_start_ms(1_793_491_200_000), 1_793_491_200_000);
    }

    #[test]
    fn compression_round_trips_and_rejects_unknown_types() {
        let body = vec![b'x'; 10_000];
        let (c, flag) = compress(&body, 5);
        assert!(c.len() < 200);
        assert_eq!(decompress(&c, flag).unwrap(), body);
        // 4.x clients set only COMPRESSED: zlib.
        assert_eq!(decompress(&c, sys_flag::COMPRESSED).unwrap(), body);
        assert!(decompress(&c, sys_flag::COMPRESSED | (0x1 << 8)).is_err());
        assert!(decompress(b"garbage", sys_flag::COMPRESSED).is_err());
    }
}
