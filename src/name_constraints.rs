//! The names a constrained CA may issue for: X.509 Name Constraints
//! (RFC 5280 §4.2.1.10), written into the CA certificate by `ca init
//! --name-constraint` and read back from it, so the proxy decrypts only hosts
//! inside them and tunnels the rest with their own certificates.
//!
//! - `example.com` permits `example.com` and every name under it;
//! - `.example.com` permits only names under it;
//! - `10.0.0.0/8` or `127.0.0.1` permits IP addresses in that range.
//!
//! When only DNS names are given, every IP address is *excluded*
//! (`0.0.0.0/0`, `::/0`): otherwise clients would accept this CA's
//! certificates for any IP address, which the constraint is meant to prevent.

use rcgen::{CidrSubnet, GeneralSubtree, NameConstraints};
use std::net::IpAddr;

/// Errors in a `--name-constraint` list.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScopeError {
    /// The item is neither a DNS name nor an IP address or range.
    #[error(
        "{0:?} is not a DNS name (example.com), an IP address (127.0.0.1) or a range (10.0.0.0/8)"
    )]
    Invalid(String),
}

/// Permitted DNS subtrees and IP ranges. An empty scope means unconstrained.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameScope {
    /// Lower-case DNS names without a trailing dot (a leading dot: subdomains only).
    pub dns: Vec<String>,
    /// IP ranges as (network address, prefix length in bits).
    pub ips: Vec<(IpAddr, u8)>,
}

fn parse_ip_range(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
        None => max,
    };
    Some((addr, prefix))
}

fn valid_dns(name: &str) -> bool {
    let bare = name.strip_prefix('.').unwrap_or(name);
    !bare.is_empty()
        && bare.len() <= 253
        && bare.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn in_range(ip: IpAddr, (net, prefix): (IpAddr, u8)) -> bool {
    fn bits(a: &[u8], b: &[u8], prefix: u8) -> bool {
        let full = usize::from(prefix / 8);
        let rest = prefix % 8;
        a[..full] == b[..full] && (rest == 0 || (a[full] ^ b[full]) & (0xffu8 << (8 - rest)) == 0)
    }
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => bits(&a.octets(), &b.octets(), prefix),
        (IpAddr::V6(a), IpAddr::V6(b)) => bits(&a.octets(), &b.octets(), prefix),
        _ => false,
    }
}

impl NameScope {
    /// Parse `--name-constraint` items (`example.com`, `*.okta.com` is read
    /// as `okta.com`, `.example.com`, `127.0.0.1`, `10.0.0.0/8`).
    pub fn parse(items: &[String]) -> Result<NameScope, ScopeError> {
        let mut scope = NameScope::default();
        for raw in items {
            let item = raw.trim();
            if item.is_empty() {
                continue;
            }
            if let Some(range) = parse_ip_range(item) {
                if !scope.ips.contains(&range) {
                    scope.ips.push(range);
                }
                continue;
            }
            let name = item
                .strip_prefix("*.")
                .unwrap_or(item)
                .trim_end_matches('.')
                .to_ascii_lowercase();
            if !valid_dns(&name) {
                return Err(ScopeError::Invalid(raw.clone()));
            }
            if !scope.dns.contains(&name) {
                scope.dns.push(name);
            }
        }
        Ok(scope)
    }

    /// True when nothing is constrained.
    pub fn is_unconstrained(&self) -> bool {
        self.dns.is_empty() && self.ips.is_empty()
    }

    /// May a certificate for `host` (a DNS name or IP literal, `[::1]` too)
    /// be issued under this scope? Always true when unconstrained.
    pub fn permits(&self, host: &str) -> bool {
        if self.is_unconstrained() {
            return true;
        }
        let host = host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.ips.iter().any(|r| in_range(ip, *r));
        }
        self.dns.iter().any(|c| match c.strip_prefix('.') {
            Some(parent) => host.ends_with(&format!(".{parent}")),
            None => host == *c || host.ends_with(&format!(".{c}")),
        })
    }

    /// The extension for the CA certificate (`None` when unconstrained).
    pub fn to_rcgen(&self) -> Option<NameConstraints> {
        if self.is_unconstrained() {
            return None;
        }
        let mut permitted: Vec<GeneralSubtree> = self
            .dns
            .iter()
            .map(|d| GeneralSubtree::DnsName(d.clone()))
            .collect();
        permitted.extend(
            self.ips
                .iter()
                .map(|(ip, p)| GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(*ip, *p))),
        );
        let excluded = if self.ips.is_empty() {
            vec![
                GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(IpAddr::from([0u8; 4]), 0)),
                GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(IpAddr::from([0u8; 16]), 0)),
            ]
        } else {
            Vec::new()
        };
        Some(NameConstraints {
            permitted_subtrees: permitted,
            excluded_subtrees: excluded,
        })
    }

    /// Read the permitted subtrees back from a CA certificate (DER). An
    /// unconstrained certificate gives an empty scope; `None` when the
    /// certificate cannot be parsed.
    pub fn from_cert_der(der: &[u8]) -> Option<NameScope> {
        use x509_parser::extensions::GeneralName;
        use x509_parser::prelude::FromDer;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
        let mut scope = NameScope::default();
        let Ok(Some(ext)) = cert.name_constraints() else {
            return Some(scope);
        };
        for sub in ext.value.permitted_subtrees.iter().flatten() {
            match &sub.base {
                GeneralName::DNSName(d) => scope.dns.push(d.to_ascii_lowercase()),
                GeneralName::IPAddress(b) => match b.len() {
                    8 => {
                        let addr: [u8; 4] = b[..4].try_into().ok()?;
                        let mask = u32::from_be_bytes(b[4..].try_into().ok()?);
                        scope
                            .ips
                            .push((IpAddr::from(addr), mask.count_ones() as u8));
                    }
                    32 => {
                        let addr: [u8; 16] = b[..16].try_into().ok()?;
                        let mask = u128::from_be_bytes(b[16..].try_into().ok()?);
                        scope
                            .ips
                            .push((IpAddr::from(addr), mask.count_ones() as u8));
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        Some(scope)
    }

    /// The scope as `--name-constraint` would take it (`example.com,10.0.0.0/8`).
    pub fn describe(&self) -> String {
        let mut items: Vec<String> = self.dns.clone();
        items.extend(self.ips.iter().map(|(ip, p)| {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if *p == max {
                ip.to_string()
            } else {
                format!("{ip}/{p}")
            }
        }));
        items.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(items: &[&str]) -> NameScope {
        NameScope::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn dns_subtrees_permit_the_name_and_below_only() {
        let s = scope(&["example.com", "*.Okta.com", ".corp.test"]);
        assert!(s.permits("example.com"));
        assert!(s.permits("login.EXAMPLE.com."));
        assert!(!s.permits("badexample.com"));
        assert!(s.permits("dev-1.okta.com"));
        assert!(s.permits("okta.com"));
        assert!(!s.permits("corp.test"));
        assert!(s.permits("a.corp.test"));
        assert!(!s.permits("bank.example"));
        assert!(!s.permits("127.0.0.1"), "no IP is permitted by DNS names");
        assert!(NameScope::default().permits("anything"));
    }

    #[test]
    fn ip_ranges() {
        let s = scope(&["127.0.0.0/8", "::1"]);
        assert!(s.permits("127.4.5.6"));
        assert!(s.permits("[::1]"));
        assert!(!s.permits("128.0.0.1"));
        assert!(!s.permits("localhost"));
        assert_eq!(s.describe(), "127.0.0.0/8,::1");
        assert!(NameScope::parse(&["exa mple.com".into()]).is_err());
        assert!(NameScope::parse(&["10.0.0.0/40".into()]).is_err());
    }
}
