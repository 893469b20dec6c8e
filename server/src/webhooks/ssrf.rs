//! SSRF defence: which addresses a webhook may reach. A receiver must be on the public
//! internet unless the operator allow-lists its range (`webhook-allow-cidrs`). The
//! check runs on every address the host resolves to, at creation and again before
//! every delivery, and the delivery connects to the address that was checked (so a
//! DNS answer that changes between check and connect cannot redirect it).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address range, `addr/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `v6/n` or a bare address (a single host).
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{addr:?} is not an IP address"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("prefix {p:?} is not 0..={max}"))?,
        };
        Ok(Cidr { net, prefix })
    }

    /// Whether `ip` is inside the range (IPv4 ranges also match v4-mapped IPv6).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let (whole, rest) = (usize::from(prefix / 8), prefix % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[whole] & mask) == (b[whole] & mask)
}

fn in4(a: Ipv4Addr, net: [u8; 4], prefix: u8) -> bool {
    prefix_eq(&a.octets(), &net, prefix)
}

/// Why an IPv4 address is not a public one, or None.
fn refused_v4(a: Ipv4Addr) -> Option<&'static str> {
    const RANGES: [([u8; 4], u8, &str); 16] = [
        ([169, 254, 169, 254], 32, "the cloud metadata address"),
        ([0, 0, 0, 0], 8, "an unspecified (\"this network\") address"),
        ([10, 0, 0, 0], 8, "a private address"),
        ([172, 16, 0, 0], 12, "a private address"),
        ([192, 168, 0, 0], 16, "a private address"),
        ([127, 0, 0, 0], 8, "a loopback address"),
        ([169, 254, 0, 0], 16, "a link-local address"),
        ([100, 64, 0, 0], 10, "a carrier-grade NAT (shared) address"),
        ([192, 0, 0, 0], 24, "an IETF protocol assignment address"),
        ([192, 0, 2, 0], 24, "a documentation address"),
        ([198, 51, 100, 0], 24, "a documentation address"),
        ([203, 0, 113, 0], 24, "a documentation address"),
        ([198, 18, 0, 0], 15, "a benchmarking address"),
        (
            [192, 88, 99, 0],
            24,
            "a 6to4 relay anycast address (deprecated)",
        ),
        ([224, 0, 0, 0], 4, "a multicast address"),
        ([240, 0, 0, 0], 4, "a reserved or broadcast address"),
    ];
    RANGES
        .iter()
        .find(|(net, p, _)| in4(a, *net, *p))
        .map(|(_, _, why)| *why)
}

/// Why an IPv6 address is not a public one, or None. Addresses that embed an IPv4
/// address (v4-mapped, v4-translated, v4-compatible, NAT64, 6to4) are judged by it.
fn refused_v6(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    if a == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Some("the cloud metadata address");
    }
    if a.is_unspecified() {
        return Some("an unspecified address");
    }
    if a.is_loopback() {
        return Some("a loopback address");
    }
    if let Some(v4) = a.to_ipv4_mapped() {
        return refused_v4(v4);
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[..6] == [0, 0, 0, 0, 0, 0] {
        return Some("an IPv4-compatible (deprecated) address");
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        // NAT64's well-known prefix, and SIIT's IPv4-translated form (::ffff:0:a.b.c.d).
        return refused_v4(embedded(s[6], s[7]));
    }
    if s[..3] == [0x64, 0xff9b, 1] {
        return Some("a local-use NAT64 address (64:ff9b:1::/48)");
    }
    if s[0] == 0x2002 {
        return refused_v4(embedded(s[1], s[2])).or(Some("a 6to4 address"));
    }
    match s[0] {
        x if x & 0xfe00 == 0xfc00 => Some("a unique local (private) address"),
        x if x & 0xffc0 == 0xfe80 => Some("a link-local address"),
        x if x & 0xffc0 == 0xfec0 => Some("a site-local address"),
        x if x & 0xff00 == 0xff00 => Some("a multicast address"),
        0x2001 if s[1] == 0x0db8 => Some("a documentation address"),
        0x3fff if s[1] & 0xf000 == 0 => Some("a documentation address"),
        0x2001 if s[1] == 2 && s[2] == 0 => Some("a benchmarking address"),
        0x2001 if s[1] == 0 => Some("a Teredo tunnel address"),
        0x0100 if s[1..4] == [0, 0, 0] => Some("a discard-only address"),
        _ => None,
    }
}

/// Why `ip` may not be reached, or None when it may: a public address, or one inside
/// an allow-listed range.
pub fn refusal(ip: IpAddr, allow: &[Cidr]) -> Option<&'static str> {
    if allow.iter().any(|c| c.contains(ip)) {
        return None;
    }
    match ip {
        IpAddr::V4(a) => refused_v4(a),
        IpAddr::V6(a) => refused_v6(a),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn refused(s: &str) -> bool {
        refusal(s.parse().unwrap(), &[]).is_some()
    }

    #[test]
    fn private_and_special_addresses_are_refused() {
        for a in [
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.7",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:127.0.0.1",
            "fd00:ec2::254",
            "fc00::1",
            "fdff::1",
            "fe80::1",
            "ff02::1",
            "fec0::1",
            "2001:db8::1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "::10.0.0.1",
            "2001::1",
            "2001:2::1",
            "3fff::1",
            "3fff:fff:ffff::1",
            "64:ff9b:1::a00:1",
            "64:ff9b:1:ffff::8.8.8.8",
            "::ffff:0:a00:1",
            "::ffff:0:7f00:1",
            "192.88.99.1",
            "198.19.255.255",
        ] {
            assert!(refused(a), "{a} should be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.1",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "::ffff:0:808:808",
            "2001:3::1",
            "3fff:1000::1",
            "192.88.100.1",
        ] {
            assert!(!refused(a), "{a} should pass");
        }
        assert_eq!(
            refusal("169.254.169.254".parse().unwrap(), &[]),
            Some("the cloud metadata address")
        );
    }

    #[test]
    fn allow_list_opens_exactly_its_range() {
        let allow = [
            Cidr::parse("127.0.0.1/32").unwrap(),
            Cidr::parse("10.1.0.0/16").unwrap(),
        ];
        assert_eq!(refusal("127.0.0.1".parse().unwrap(), &allow), None);
        assert_eq!(refusal("::ffff:127.0.0.1".parse().unwrap(), &allow), None);
        assert!(refusal("127.0.0.2".parse().unwrap(), &allow).is_some());
        assert_eq!(refusal("10.1.200.3".parse().unwrap(), &allow), None);
        assert!(refusal("10.2.0.1".parse().unwrap(), &allow).is_some());
        assert!(refusal("::1".parse().unwrap(), &allow).is_some());
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nonsense/8").is_err());
        assert!(Cidr::parse("::/0")
            .unwrap()
            .contains("2001:db8::1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/7")
            .unwrap()
            .contains("11.255.0.1".parse().unwrap()));
    }
}
