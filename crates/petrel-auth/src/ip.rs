//! Source-address matching.
//!
//! ACL 2.0 (`IPAddressUtils.isIPInRange`): a policy entry's source is an IP address (compared
//! as written) or a CIDR block. ACL 1.0 (`RemoteAddressStrategyFactory`) had its own
//! patterns for `whiteRemoteAddress` and `globalWhiteRemoteAddresses`, kept by
//! [`V1AddressPattern`].

use std::net::IpAddr;

use crate::AuthError;

/// Whether `ip` is `range`: the same address, or inside the CIDR block `range`.
pub fn in_range(ip: &str, range: &str) -> bool {
    let range = range.trim();
    let Some((net, prefix)) = range.split_once('/') else {
        return same_address(ip, range);
    };
    let (Ok(net), Ok(prefix), Ok(ip)) = (
        net.parse::<IpAddr>(),
        prefix.parse::<u32>(),
        ip.parse::<IpAddr>(),
    ) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

fn same_address(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// An IP address or a CIDR block (`IPAddressUtils.isValidIPOrCidr`).
pub fn is_ip_or_cidr(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('/') {
        None => s.parse::<IpAddr>().is_ok(),
        Some((net, prefix)) => match (net.parse::<IpAddr>(), prefix.parse::<u32>()) {
            (Ok(IpAddr::V4(_)), Ok(p)) => p <= 32,
            (Ok(IpAddr::V6(_)), Ok(p)) => p <= 128,
            _ => false,
        },
    }
}

/// An ACL 1.0 remote-address pattern: blank (matches nothing), `*` (everything),
/// `192.168.0.1`, `192.168.0.1,192.168.0.2`, `192.168.0.{1,2}`, `192.168.*.*`,
/// `192.168.0.1-100`. IPv6 addresses are accepted written out exactly; IPv6 ranges are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V1AddressPattern {
    Nothing,
    Everything,
    Set(Vec<IpAddr>),
    /// The first `fixed.len()` octets equal, the next in `low..=high`, the rest anything.
    Range {
        fixed: Vec<u8>,
        low: u8,
        high: u8,
    },
}

impl V1AddressPattern {
    pub fn parse(pattern: &str) -> Result<V1AddressPattern, AuthError> {
        let p = pattern.trim();
        let bad = || {
            AuthError::Invalid(format!(
                "remote address pattern {pattern:?}: expected *, an address, a list a,b, a.b.c.{{x,y}}, a.b.*.* or a.b.c.x-y"
            ))
        };
        if p.is_empty() {
            return Ok(V1AddressPattern::Nothing);
        }
        if p == "*" || p == "*.*.*.*" || p == "*:*:*:*:*:*:*:*" {
            return Ok(V1AddressPattern::Everything);
        }
        if let Some(inner) = p.strip_suffix('}') {
            let (head, list) = inner.rsplit_once('{').ok_or_else(bad)?;
            let head = head.strip_suffix('.').ok_or_else(bad)?;
            if head.split('.').count() != 3 {
                return Err(bad());
            }
            let set = list
                .split(',')
                .map(|last| format!("{head}.{}", last.trim()).parse::<IpAddr>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| bad())?;
            return Ok(V1AddressPattern::Set(set));
        }
        if p.contains(',') {
            let set = p
                .split(',')
                .map(|a| a.trim().parse::<IpAddr>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| bad())?;
            return Ok(V1AddressPattern::Set(set));
        }
        if p.contains('*') || p.contains('-') {
            let parts: Vec<&str> = p.split('.').map(str::trim).collect();
            if parts.len() != 4 {
                return Err(bad());
            }
            let mut fixed = Vec::new();
            let mut i = 0;
            while i < 4 && !parts[i].contains('*') && !parts[i].contains('-') {
                fixed.push(parts[i].parse::<u8>().map_err(|_| bad())?);
                i += 1;
            }
            if i == 0 || i == 4 {
                return Err(bad());
            }
            let (low, high) = if parts[i] == "*" {
                (0, 255)
            } else {
                let (l, h) = parts[i].split_once('-').ok_or_else(bad)?;
                let (l, h) = (
                    l.parse::<u8>().map_err(|_| bad())?,
                    h.parse::<u8>().map_err(|_| bad())?,
                );
                if l > h {
                    return Err(bad());
                }
                (l, h)
            };
            if parts[i + 1..].iter().any(|x| *x != "*") {
                return Err(bad());
            }
            return Ok(V1AddressPattern::Range { fixed, low, high });
        }
        Ok(V1AddressPattern::Set(vec![p.parse().map_err(|_| bad())?]))
    }

    pub fn matches(&self, ip: &str) -> bool {
        match self {
            V1AddressPattern::Nothing => false,
            V1AddressPattern::Everything => true,
            V1AddressPattern::Set(set) => ip.parse::<IpAddr>().is_ok_and(|ip| set.contains(&ip)),
            V1AddressPattern::Range { fixed, low, high } => {
                let Ok(IpAddr::V4(v4)) = ip.parse::<IpAddr>() else {
                    return false;
                };
                let o = v4.octets();
                o[..fixed.len()] == fixed[..] && (*low..=*high).contains(&o[fixed.len()])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cidr_and_exact() {
        assert!(in_range("10.1.2.3", "10.0.0.0/8"));
        assert!(!in_range("11.1.2.3", "10.0.0.0/8"));
        assert!(in_range("127.0.0.1", "127.0.0.1"));
        assert!(in_range("1.2.3.4", "0.0.0.0/0"));
        assert!(in_range("::1", "::1/128"));
        assert!(!in_range("::1", "127.0.0.1/8"));
        assert!(is_ip_or_cidr("192.168.0.0/16"));
        assert!(!is_ip_or_cidr("192.168.0.0/33"));
        assert!(!is_ip_or_cidr("192.168.*.*"));
    }

    #[test]
    fn v1_patterns() {
        let m = |p: &str, ip: &str| V1AddressPattern::parse(p).unwrap().matches(ip);
        assert!(!m("", "1.2.3.4"));
        assert!(m("*", "1.2.3.4"));
        assert!(m("192.168.0.{1,2}", "192.168.0.2"));
        assert!(!m("192.168.0.{1,2}", "192.168.0.3"));
        assert!(m("192.168.*.*", "192.168.9.9"));
        assert!(!m("192.168.*.*", "192.169.9.9"));
        assert!(m("192.168.1.10-20", "192.168.1.15"));
        assert!(!m("192.168.1.10-20", "192.168.1.21"));
        assert!(m("10.0.0.1,10.0.0.2", "10.0.0.2"));
        assert!(V1AddressPattern::parse("192.168.*.1").is_err());
        assert!(V1AddressPattern::parse("fe80::*").is_err());
    }

    proptest! {
        #[test]
        fn cidr_agrees_with_prefix_arithmetic(a in any::<u32>(), b in any::<u32>(), p in 0u32..=32) {
            let net = std::net::Ipv4Addr::from(a);
            let ip = std::net::Ipv4Addr::from(b);
            let expected = p == 0 || (a >> (32 - p)) == (b >> (32 - p));
            prop_assert_eq!(in_range(&ip.to_string(), &format!("{net}/{p}")), expected);
        }

        #[test]
        fn nothing_panics_on_any_pattern(p in ".{0,40}", ip in ".{0,40}") {
            let _ = in_range(&ip, &p);
            let _ = is_ip_or_cidr(&p);
            if let Ok(pat) = V1AddressPattern::parse(&p) { let _ = pat.matches(&ip); }
        }
    }
}
