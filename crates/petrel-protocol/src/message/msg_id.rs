//! The offset message id: store host IP + port (i32) + CommitLog offset (i64), upper-case hex.
//! 32 characters for IPv4 hosts, 56 for IPv6 (`MessageDecoder.createMessageId`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::DecodeError;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Renders the offset msgId of a record stored at `physical_offset` on `store_host`.
pub fn encode_offset_msg_id(store_host: SocketAddr, physical_offset: i64) -> String {
    let mut raw = Vec::with_capacity(28);
    match store_host.ip() {
        IpAddr::V4(ip) => raw.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => raw.extend_from_slice(&ip.octets()),
    }
    raw.extend_from_slice(&i32::from(store_host.port()).to_be_bytes());
    raw.extend_from_slice(&physical_offset.to_be_bytes());
    let mut out = String::with_capacity(raw.len() * 2);
    for b in raw {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xF)] as char);
    }
    out
}

fn unhex(s: &str) -> Result<Vec<u8>, DecodeError> {
    let bad = || DecodeError::BadMessageId(s.to_string());
    if s.len() % 2 != 0 {
        return Err(bad());
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| (c as char).to_digit(16).ok_or_else(bad);
            Ok((digit(pair[0])? << 4 | digit(pair[1])?) as u8)
        })
        .collect()
}

/// Decodes an offset msgId into the store host and CommitLog offset.
pub fn decode_offset_msg_id(msg_id: &str) -> Result<(SocketAddr, i64), DecodeError> {
    let raw = unhex(msg_id)?;
    let (ip, rest): (IpAddr, &[u8]) = match raw.len() {
        16 => {
            let o = &raw[..4];
            (IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], o[3])), &raw[4..])
        }
        28 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&raw[..16]);
            (IpAddr::V6(Ipv6Addr::from(o)), &raw[16..])
        }
        _ => return Err(DecodeError::BadMessageId(msg_id.to_string())),
    };
    let port = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
    let mut off = [0u8; 8];
    off.copy_from_slice(&rest[4..12]);
    let port = u16::try_from(port).map_err(|_| DecodeError::BadMessageId(msg_id.to_string()))?;
    Ok((SocketAddr::new(ip, port), i64::from_be_bytes(off)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rocketmq_form() {
        let id = encode_offset_msg_id("127.0.0.1:10911".parse().unwrap(), 0x1234);
        assert_eq!(id, "7F00000100002A9F0000000000001234");
        assert_eq!(
            decode_offset_msg_id(&id).unwrap(),
            ("127.0.0.1:10911".parse().unwrap(), 0x1234)
        );
        assert_eq!(decode_offset_msg_id(&id.to_lowercase()).unwrap().1, 0x1234);
    }

    #[test]
    fn ipv6_ids_are_56_chars() {
        let addr: SocketAddr = "[fe80::1]:10911".parse().unwrap();
        let id = encode_offset_msg_id(addr, 7);
        assert_eq!(id.len(), 56);
        assert_eq!(decode_offset_msg_id(&id).unwrap(), (addr, 7));
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "XYZ",
            "7F000001",
            "7F00000100002A9F000000000000123G",
            "é",
        ] {
            assert!(decode_offset_msg_id(bad).is_err(), "{bad}");
        }
    }
}
