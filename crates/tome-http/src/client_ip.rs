//! The client's address: the TCP peer, or — when the peer is a trusted proxy — the nearest
//! untrusted address in `X-Forwarded-For`.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::ConnectInfo;
use axum::http::Request;

use crate::wire::{Headers, text};

/// An IP address or CIDR range, e.g. `10.0.0.0/8`, `127.0.0.1`, `::1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, prefix) = match s.trim().split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = ip
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("bad prefix length in {s:?}"))?,
            None => max,
        };
        Ok(IpRange { addr, prefix })
    }
}

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32)
                    == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128)
                    == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn masked(v: u128, prefix: u8, bits: u8) -> u128 {
    if prefix == 0 { 0 } else { v >> (bits - prefix) }
}

/// The address rate limits are counted against.
pub fn client_ip<B>(req: &Request<B>, trusted: &[IpRange]) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip());
    client_ip_from(req.headers(), peer, trusted)
}

/// [`client_ip`] from a request's headers and its TCP peer.
pub fn client_ip_from<H: Headers + ?Sized>(
    headers: &H,
    peer: Option<IpAddr>,
    trusted: &[IpRange],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.iter().any(|t| t.contains(peer)) {
        return Some(peer);
    }
    // Walk X-Forwarded-For from the right (nearest hop) past our own proxies.
    let forwarded = headers
        .header_values("x-forwarded-for")
        .rev()
        .filter_map(text)
        .flat_map(|v| v.rsplit(','))
        .filter_map(|a| parse_ip(a.trim()));
    let mut client = peer;
    for hop in forwarded {
        client = hop;
        if !trusted.iter().any(|t| t.contains(hop)) {
            break;
        }
    }
    Some(client)
}

/// `s` as an IP address, as `IpAddr::from_str` reads it; dotted-quad IPv4 (what proxies send
/// nearly always) without the general parser, which cost more than the rest of a cached read's
/// address handling.
fn parse_ip(s: &str) -> Option<IpAddr> {
    let quad = || {
        let mut octets = [0u8; 4];
        let mut parts = s.split('.');
        for octet in &mut octets {
            let part = parts.next()?.as_bytes();
            let plain = matches!(part.len(), 1..=3)
                && part.iter().all(u8::is_ascii_digit)
                && (part.len() == 1 || part[0] != b'0');
            if !plain {
                return None;
            }
            let n = part.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
            *octet = u8::try_from(n).ok()?;
        }
        parts.next().is_none().then_some(IpAddr::from(octets))
    };
    quad().or_else(|| s.parse().ok())
}

/// The rate-limit bucket name of a client address: the address itself for IPv4, its /64
/// network for IPv6 — one IPv6 subscriber or host usually holds a whole /64, so counting single
/// addresses would let one client spread its requests over 2^64 buckets.
pub fn client_bucket(ip: Option<IpAddr>) -> String {
    match ip {
        None => "unknown".to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => dotted(v4),
            None => {
                let net = std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1));
                format!("{net}/64")
            }
        },
        Some(IpAddr::V4(v4)) => dotted(v4),
    }
}

/// `v4` in dotted decimal, without the formatting machinery (this runs on every public request).
fn dotted(v4: std::net::Ipv4Addr) -> String {
    let mut s = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        s.push_str(itoa::Buffer::new().format(octet));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    #[test]
    fn addresses_parse_as_the_standard_parser_reads_them() {
        for s in [
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "10.254.3.77",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "",
            "1.2.3.4 ",
            "::1",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "1.2.3.-4",
            "+1.2.3.4",
            "a.b.c.d",
            "1.2.3.0400",
            "99999.1.1.1",
        ] {
            assert_eq!(parse_ip(s), s.parse::<IpAddr>().ok(), "{s:?}");
        }
    }

    #[test]
    fn dotted_matches_display() {
        for ip in ["0.0.0.0", "10.254.3.77", "255.255.255.255", "192.168.0.1"] {
            let v4: std::net::Ipv4Addr = ip.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
            assert_eq!(dotted(v4), ip);
        }
    }

    #[test]
    fn ranges() {
        let r: IpRange = "10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(r.contains("10.1.2.3".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(!r.contains("11.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!("::1".parse::<IpRange>().is_ok());
        assert!("10.0.0.0/33".parse::<IpRange>().is_err());
        assert!("nonsense".parse::<IpRange>().is_err());
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let a = client_bucket("2001:db8:1:2:aaaa::1".parse().ok());
        let b = client_bucket("2001:db8:1:2:bbbb::9".parse().ok());
        let c = client_bucket("2001:db8:1:3::1".parse().ok());
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(client_bucket("::ffff:10.1.2.3".parse().ok()), "10.1.2.3");
        assert_eq!(client_bucket("10.1.2.3".parse().ok()), "10.1.2.3");
        assert_eq!(client_bucket(None), "unknown");
    }

    #[test]
    fn forwarded_hops_are_walked_from_the_nearest_past_trusted_proxies() {
        let trusted: Vec<IpRange> = vec!["10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))];
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            "6.6.6.6, 1.1.1.1, 10.0.0.5"
                .parse()
                .unwrap_or_else(|_| panic!()),
        );
        headers.append(
            "x-forwarded-for",
            "10.0.0.6".parse().unwrap_or_else(|_| panic!()),
        );
        let ip = client_ip_from(&headers, "10.0.0.1".parse().ok(), &trusted);
        assert_eq!(ip, "1.1.1.1".parse().ok());
        // An untrusted peer's X-Forwarded-For is ignored.
        assert_eq!(
            client_ip_from(&headers, "8.8.8.8".parse().ok(), &trusted),
            "8.8.8.8".parse().ok()
        );
    }
}
