//! Who the client is. Behind a reverse proxy every connection comes from the proxy, so the address
//! the abuse limits count by has to come from what the proxy says in `X-Forwarded-For` (or RFC
//! 7239 `Forwarded`). Anyone can send those headers, so they are read only when the TCP peer is a
//! proxy the operator trusts (`trusted_proxies`), and only as far to the left as trusted proxies
//! vouch for each hop: an entry a trusted proxy appended names whoever connected to it, anything
//! left of the first untrusted hop was written by that hop and may be made up.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::ControlFlow;

use axum::http::header::FORWARDED;
use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose word on the client's address is taken (`trusted_proxies`); empty trusts
/// nobody, so the TCP peer is the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// An entry of `trusted_proxies` that is not an address or a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadProxyEntry {
    pub entry: String,
    pub why: String,
}

impl std::fmt::Display for BadProxyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {}", self.entry, self.why)
    }
}

impl std::error::Error for BadProxyEntry {}

impl TrustedProxies {
    /// Addresses (`127.0.0.1`, `::1`) and CIDR ranges (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, BadProxyEntry> {
        entries
            .iter()
            .map(|e| parse_net(e.as_ref()))
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

fn parse_net(entry: &str) -> Result<IpNet, BadProxyEntry> {
    let bad = |why: String| BadProxyEntry {
        entry: entry.to_owned(),
        why,
    };
    let text = entry.trim();
    let net = if text.contains('/') {
        let net: IpNet = text.parse().map_err(|_| {
            bad("is not a CIDR range (an address, a slash and a prefix length, e.g. 10.0.0.0/8 or fd00::/8)".into())
        })?;
        // 10.1.0.0/8 is more likely a typo for /16 than a way to say 10.0.0.0/8: refuse to guess.
        if net.trunc() != net {
            return Err(bad(format!(
                "has bits set after its /{} prefix (the range is {})",
                net.prefix_len(),
                net.trunc()
            )));
        }
        net
    } else {
        let ip: IpAddr = text.parse().map_err(|_| {
            bad(
                "is not an IP address or a CIDR range (e.g. 127.0.0.1, 10.0.0.0/8, fd00::/8)"
                    .into(),
            )
        })?;
        IpNet::from(ip)
    };
    // Addresses are compared in canonical form (::ffff:1.2.3.4 is 1.2.3.4), so ranges must be too.
    Ok(match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::V4(
                ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).expect("a prefix of at most 32"),
            ),
            None => net,
        },
        _ => net,
    })
}

/// The client's address: the TCP peer's, unless the peer is a trusted proxy; then the rightmost
/// hop of `X-Forwarded-For` (every such header, in order) that is not itself a trusted proxy, or,
/// without `X-Forwarded-For`, the same of the `for=` of RFC 7239 `Forwarded`. A hop that is not an
/// address (`unknown`, an obfuscated identifier, garbage, a missing `for=`) ends the walk at the
/// last trusted hop, as does a list of nothing but trusted proxies. Always in canonical form.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let mut walk = Walk {
        last_trusted: peer,
        trusted,
    };
    let forwarded_for = headers.get_all("x-forwarded-for");
    if forwarded_for.iter().next().is_some() {
        for value in forwarded_for.iter().rev() {
            let Ok(value) = value.to_str() else {
                return walk.last_trusted;
            };
            for hop in value.rsplit(',') {
                if let ControlFlow::Break(ip) = walk.step(node(hop.trim_matches([' ', '\t']))) {
                    return ip;
                }
            }
        }
        return walk.last_trusted;
    }
    for value in headers.get_all(FORWARDED).iter().rev() {
        // A malformed value may hide where its elements end, so none of it is believed.
        let Some(fors) = value.to_str().ok().and_then(forwarded_fors) else {
            return walk.last_trusted;
        };
        for hop in fors.into_iter().rev() {
            if let ControlFlow::Break(ip) = walk.step(hop.and_then(node)) {
                return ip;
            }
        }
    }
    walk.last_trusted
}

/// From the right of a list of hops: past trusted proxies, up to the first address that is not one.
struct Walk<'a> {
    last_trusted: IpAddr,
    trusted: &'a TrustedProxies,
}

impl Walk<'_> {
    fn step(&mut self, hop: Option<IpAddr>) -> ControlFlow<IpAddr> {
        match hop {
            Some(ip) if self.trusted.contains(ip) => {
                self.last_trusted = ip;
                ControlFlow::Continue(())
            }
            Some(ip) => ControlFlow::Break(ip),
            None => ControlFlow::Break(self.last_trusted),
        }
    }
}

/// One hop as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711` (ports may be RFC 7239's obfuscated `_name`). Canonical (an IPv4-mapped
/// IPv6 address is its IPv4 address).
fn node(hop: &str) -> Option<IpAddr> {
    let ip = if let Some(rest) = hop.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        if !after.is_empty() && !is_port(after.strip_prefix(':')?) {
            return None;
        }
        IpAddr::V6(host.parse::<Ipv6Addr>().ok()?)
    } else if let Ok(ip) = hop.parse::<IpAddr>() {
        ip
    } else {
        let (host, port) = hop.split_once(':')?;
        if !is_port(port) {
            return None;
        }
        IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
    };
    Some(ip.to_canonical())
}

fn is_port(p: &str) -> bool {
    let b = p.as_bytes();
    match b.split_first() {
        Some((b'_', rest)) => {
            !rest.is_empty()
                && rest
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        }
        _ => (1..=5).contains(&b.len()) && b.iter().all(u8::is_ascii_digit),
    }
}

/// The `for=` of each element of one `Forwarded` value, left to right (None for an element
/// without one), with quoted strings unquoted; None when the value does not follow RFC 7239's
/// grammar (an unquoted value may hold `:` and `[]`, which some proxies send for IPv6).
fn forwarded_fors(value: &str) -> Option<Vec<Option<&str>>> {
    let b = value.as_bytes();
    let mut i = 0;
    let skip_space = |i: &mut usize| {
        while *i < b.len() && matches!(b[*i], b' ' | b'\t') {
            *i += 1;
        }
    };
    let mut elements = Vec::new();
    let mut this_for: Option<&str> = None;
    let mut seen_for = false;
    loop {
        skip_space(&mut i);
        let name_start = i;
        while i < b.len() && is_tchar(b[i]) {
            i += 1;
        }
        if i > name_start {
            let name = &value[name_start..i];
            if b.get(i) != Some(&b'=') {
                return None;
            }
            i += 1;
            let v = if b.get(i) == Some(&b'"') {
                i += 1;
                let start = i;
                loop {
                    match b.get(i)? {
                        b'"' => break,
                        b'\\' => i += 2,
                        _ => i += 1,
                    }
                }
                let v = value.get(start..i)?;
                i += 1;
                v
            } else {
                let start = i;
                while i < b.len() && (is_tchar(b[i]) || matches!(b[i], b':' | b'[' | b']')) {
                    i += 1;
                }
                if i == start {
                    return None;
                }
                &value[start..i]
            };
            if name.eq_ignore_ascii_case("for") {
                // Each parameter may occur once per element: two would leave which one is meant open.
                if seen_for {
                    return None;
                }
                seen_for = true;
                this_for = Some(v);
            }
            skip_space(&mut i);
        }
        match b.get(i) {
            None => {
                elements.push(this_for);
                return Some(elements);
            }
            Some(b';') => i += 1,
            Some(b',') => {
                elements.push(this_for.take());
                seen_for = false;
                i += 1;
            }
            Some(_) => return None,
        }
    }
}

/// RFC 9110's token characters.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// What the abuse limits count a client under: an IPv4 address alone, an IPv6 client by its /64
/// (one subscriber's network: anyone given a /64 could otherwise take a fresh address per request).
pub fn rate_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// The client a request came from (see [`client_address`]). `.0` is the key the abuse limits count
/// it under ([`rate_key`]; `unknown` when the server was not started with connection info, as in
/// router unit tests), `.1` its address. `viewer` extracts it.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String, pub Option<IpAddr>);

impl ClientIp {
    /// The key the abuse limits count this client's requests under.
    pub fn key(&self) -> String {
        format!("ip:{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// The proxies in front of paperboy in most tests: the peer, 127.0.0.1, and a private range.
    const PROXIES: &[&str] = &["127.0.0.1", "10.0.0.0/8"];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries).unwrap()
    }

    /// A request's headers, (name, value), in order.
    type Headers<'a> = &'a [(&'a str, &'a [u8])];

    /// The client of a request from `peer` with these headers.
    fn client(peer: &str, proxies: &[&str], headers: Headers) -> IpAddr {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        client_address(ip(peer), &map, &trusted(proxies))
    }

    fn xff(peer: &str, proxies: &[&str], value: &str) -> IpAddr {
        client(peer, proxies, &[("x-forwarded-for", value.as_bytes())])
    }

    fn fwd(peer: &str, proxies: &[&str], value: &str) -> IpAddr {
        client(peer, proxies, &[("forwarded", value.as_bytes())])
    }

    /// For each case, the client of a request from 127.0.0.1 with those headers is `want`.
    fn assert_clients(proxies: &[&str], cases: &[(Headers, &str)]) {
        for (headers, want) in cases {
            assert_eq!(
                client("127.0.0.1", proxies, headers),
                ip(want),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn settings_entries_are_addresses_or_ranges() {
        let t = trusted(&[
            "127.0.0.1",
            " 10.0.0.0/8 ",
            "fd00::/8",
            "::1",
            "::ffff:192.0.2.0/120",
        ]);
        for yes in [
            "127.0.0.1",
            "10.200.3.4",
            "fd12::1",
            "::1",
            "192.0.2.9",
            "::ffff:10.0.0.1",
        ] {
            assert!(t.contains(ip(yes)), "{yes}");
        }
        for no in [
            "127.0.0.2",
            "11.0.0.1",
            "fe80::1",
            "::2",
            "192.0.3.1",
            "2001:db8::1",
        ] {
            assert!(!t.contains(ip(no)), "{no}");
        }
        for bad in [
            "",
            "localhost",
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0/8",
            "1.2.3.4:80",
            "[::1]",
        ] {
            let e = TrustedProxies::parse(&[bad]).unwrap_err();
            assert_eq!(e.entry, bad);
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
        let e = TrustedProxies::parse(&["127.0.0.1", "10.1.0.0/8"]).unwrap_err();
        assert_eq!(e.entry, "10.1.0.0/8");
        assert!(e.why.contains("10.0.0.0/8"), "{e}");
        assert!(TrustedProxies::parse::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn without_a_trusted_peer_the_headers_are_ignored() {
        let forged = [
            ("x-forwarded-for", b"198.51.100.1".as_slice()),
            ("forwarded", b"for=198.51.100.2"),
        ];
        assert_eq!(client("192.0.2.7", &[], &forged), ip("192.0.2.7"));
        assert_eq!(
            client("192.0.2.7", &["127.0.0.1", "10.0.0.0/8"], &forged),
            ip("192.0.2.7")
        );
        // The peer is canonical too.
        assert_eq!(client("::ffff:192.0.2.7", &[], &forged), ip("192.0.2.7"));
    }

    #[test]
    fn x_forwarded_for_gives_the_rightmost_untrusted_hop() {
        let p = &["127.0.0.1", "10.0.0.0/8", "fd00::/8"];
        for (value, want) in [
            ("203.0.113.9", "203.0.113.9"),
            // Entries left of the proxy's are the client's to make up.
            ("1.1.1.1, 8.8.8.8, 203.0.113.9", "203.0.113.9"),
            // Through a chain of trusted proxies, past each of them.
            ("1.1.1.1,203.0.113.9 ,10.1.1.1,\tfd00::7", "203.0.113.9"),
            // Ports, brackets, IPv6 and IPv4-mapped forms.
            ("203.0.113.9:4711", "203.0.113.9"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
            // A mapped proxy address is the proxy.
            ("203.0.113.9, ::ffff:10.0.0.3", "203.0.113.9"),
            // Only trusted proxies: the leftmost of them is as far as anyone vouches.
            ("10.0.0.5, 10.0.0.6", "10.0.0.5"),
        ] {
            assert_eq!(xff("127.0.0.1", p, value), ip(want), "{value:?}");
        }
        assert_clients(
            p,
            &[
                // Several headers are one list, in order.
                (
                    &[
                        ("x-forwarded-for", b"1.1.1.1, 203.0.113.9"),
                        ("x-forwarded-for", b"10.0.0.2"),
                    ],
                    "203.0.113.9",
                ),
                // X-Forwarded-For wins over Forwarded.
                (
                    &[
                        ("forwarded", b"for=198.51.100.2"),
                        ("x-forwarded-for", b"203.0.113.9"),
                    ],
                    "203.0.113.9",
                ),
            ],
        );
    }

    #[test]
    fn a_hop_that_is_not_an_address_stops_at_the_last_trusted_one() {
        for garbage in [
            "",
            " ",
            "unknown",
            "_hidden",
            "203.0.113.9:",
            "203.0.113.9:99999999",
            "203.0.113.9:http",
            "[2001:db8::1",
            "[2001:db8::1]x",
            "[203.0.113.9]",
            "2001:db8::1:80:1:2:3:4:5",
            "fe80::1%eth0",
            "203.0.113.9 203.0.113.8",
            "\"203.0.113.9\"",
            "999.1.1.1",
            "localhost",
        ] {
            // Between a client and a trusted proxy, or the whole header.
            let between = format!("198.51.100.1, {garbage}, 10.0.0.9");
            for (value, want) in [(between.as_str(), "10.0.0.9"), (garbage, "127.0.0.1")] {
                assert_eq!(xff("127.0.0.1", PROXIES, value), ip(want), "{value:?}");
            }
        }
        // Not UTF-8: nothing in that header is believed, headers right of it still are.
        assert_clients(
            PROXIES,
            &[
                (&[("x-forwarded-for", b"198.51.100.1\xff")], "127.0.0.1"),
                (
                    &[
                        ("x-forwarded-for", b"\xff198.51.100.1"),
                        ("x-forwarded-for", b"10.0.0.4, 203.0.113.9"),
                    ],
                    "203.0.113.9",
                ),
            ],
        );
    }

    #[test]
    fn huge_lists_are_walked_without_trouble() {
        let spoofed = vec!["198.51.100.1"; 20_000].join(", ");
        assert_eq!(
            xff("127.0.0.1", PROXIES, &format!("{spoofed}, 203.0.113.9")),
            ip("203.0.113.9")
        );
        let proxies = vec!["10.0.0.1"; 20_000].join(",");
        assert_eq!(
            xff("127.0.0.1", PROXIES, &format!("203.0.113.9,{proxies}")),
            ip("203.0.113.9")
        );
        let commas = ",".repeat(50_000);
        assert_eq!(xff("127.0.0.1", PROXIES, &commas), ip("127.0.0.1"));
        let elements = vec!["for=198.51.100.1;proto=http"; 20_000].join(", ");
        assert_eq!(
            fwd(
                "127.0.0.1",
                PROXIES,
                &format!("{elements}, for=203.0.113.9")
            ),
            ip("203.0.113.9")
        );
        let quotes = "\"".repeat(50_000);
        assert_eq!(
            fwd("127.0.0.1", PROXIES, &format!("for={quotes}")),
            ip("127.0.0.1")
        );
        let escapes = "\\".repeat(50_001);
        assert_eq!(
            fwd("127.0.0.1", PROXIES, &format!("for=\"{escapes}")),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn forwarded_gives_the_rightmost_untrusted_for() {
        for (value, want) in [
            ("for=203.0.113.9", "203.0.113.9"),
            (
                "for=198.51.100.1;proto=https, For=\"203.0.113.9:4711\";by=10.0.0.1, for=10.0.0.2",
                "203.0.113.9",
            ),
            ("for=\"[2001:db8::1]:4711\"", "2001:db8::1"),
            ("for=\"[2001:db8::1]\"", "2001:db8::1"),
            ("for=\"203.0.113.9:_abc\"", "203.0.113.9"),
        ] {
            assert_eq!(fwd("127.0.0.1", PROXIES, value), ip(want), "{value:?}");
        }
        // Several headers are one list.
        assert_clients(
            PROXIES,
            &[(
                &[
                    ("forwarded", b"for=203.0.113.9"),
                    ("forwarded", b"for=10.0.0.2;proto=http"),
                ],
                "203.0.113.9",
            )],
        );
        // Unknown and obfuscated clients, and elements without for=, end at the last trusted hop.
        for stop in [
            "for=unknown",
            "for=_hidden",
            "for=\"_x:80\"",
            "proto=http",
            "",
        ] {
            assert_eq!(
                fwd(
                    "127.0.0.1",
                    PROXIES,
                    &format!("for=198.51.100.1, {stop}, for=10.0.0.2")
                ),
                ip("10.0.0.2"),
                "{stop:?}"
            );
        }
    }

    #[test]
    fn a_malformed_forwarded_value_is_not_believed() {
        for bad in [
            // An open quote would swallow the element the proxy appended after it.
            "for=\"198.51.100.1, for=203.0.113.9",
            "for=198.51.100.1;for=198.51.100.2",
            "for",
            "for=",
            "for =198.51.100.1",
            "for=198.51.100.1 x",
            "=198.51.100.1",
            "for=\"198.51.100.1\"x",
            "for=198.51.100.1\"",
        ] {
            assert_eq!(fwd("127.0.0.1", PROXIES, bad), ip("127.0.0.1"), "{bad:?}");
            // Values right of it, from the proxies nearer paperboy, still count.
            assert_clients(
                PROXIES,
                &[(
                    &[
                        ("forwarded", bad.as_bytes()),
                        ("forwarded", b"for=10.0.0.3, for=10.0.0.4"),
                    ],
                    "10.0.0.3",
                )],
            );
        }
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        assert_eq!(rate_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(
            rate_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            "2001:db8:1:2::/64"
        );
        assert_ne!(rate_key(ip("2001:db8:1:3::1")), "2001:db8:1:2::/64");
        assert_eq!(rate_key(ip("::1")), "::/64");
        assert_eq!(rate_key(ip("192.0.2.1")), "192.0.2.1");
        assert_eq!(rate_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
        assert_ne!(rate_key(ip("192.0.2.1")), rate_key(ip("192.0.2.2")));
    }
}
