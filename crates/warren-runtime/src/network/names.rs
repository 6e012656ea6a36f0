//! What a container's `/etc/hosts` and `/etc/resolv.conf` say beyond the defaults: Docker's
//! `--add-host`, `--dns`, `--dns-search`, `--dns-option` and `--domainname`, each checked
//! before anything is created.

use std::net::IpAddr;
use std::str::FromStr;

use crate::RuntimeError;

/// DNS settings for the container's `/etc/resolv.conf`. Empty fields keep the defaults:
/// the network's DNS servers (else the host's reachable ones) and the host's `search` and
/// `options` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct DnsConfig {
    /// Name servers, replacing the defaults (`--dns`).
    pub servers: Vec<IpAddr>,
    /// Search domains, replacing the host's (`--dns-search`).
    pub search: Vec<String>,
    /// Resolver options such as `ndots:2`, replacing the host's (`--dns-option`).
    pub options: Vec<String>,
}

impl DnsConfig {
    /// Nothing set: the container gets the defaults.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.search.is_empty() && self.options.is_empty()
    }

    /// Check the domains and options (servers are addresses by type).
    pub fn validate(&self) -> Result<(), RuntimeError> {
        for d in &self.search {
            check_name("dns search domain", d)?;
        }
        for o in &self.options {
            let ok = !o.is_empty() && o.len() <= 64 && o.chars().all(|c| c.is_ascii_graphic());
            if !ok {
                return Err(RuntimeError::InvalidRequest {
                    field: "dns option",
                    value: o.clone(),
                    allowed: "one resolver option without spaces, e.g. ndots:2 or rotate".into(),
                });
            }
        }
        Ok(())
    }
}

/// Where an extra `/etc/hosts` entry points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAddress {
    /// This address.
    Ip(IpAddr),
    /// The host, as the container reaches it: the bridge network's gateway (Docker's
    /// `host-gateway`).
    HostGateway,
}

/// An extra line of the container's `/etc/hosts` (`--add-host name:ip`).
#[derive(Debug, Clone, PartialEq, Eq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct HostEntry {
    /// The host name.
    #[setters(into)]
    pub name: String,
    /// Its address.
    pub address: HostAddress,
}

impl HostEntry {
    /// `name` resolving to `address` in the container's `/etc/hosts`.
    pub fn new(name: impl Into<String>, address: HostAddress) -> HostEntry {
        HostEntry {
            name: name.into(),
            address,
        }
    }
}

impl FromStr for HostEntry {
    type Err = RuntimeError;

    /// Docker's syntax: `NAME:IP` (an IPv6 address may follow the first `:`, or be given
    /// as `NAME=IP` or in brackets) or `NAME:host-gateway`.
    fn from_str(s: &str) -> Result<Self, RuntimeError> {
        let bad = || RuntimeError::InvalidRequest {
            field: "add-host",
            value: s.to_string(),
            allowed: "NAME:IP or NAME:host-gateway, e.g. db:10.0.0.5".into(),
        };
        let (name, addr) = s
            .split_once('=')
            .or_else(|| s.split_once(':'))
            .ok_or_else(bad)?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let address = if addr == "host-gateway" {
            HostAddress::HostGateway
        } else {
            HostAddress::Ip(addr.parse().map_err(|_| bad())?)
        };
        let entry = HostEntry {
            name: name.to_string(),
            address,
        };
        entry.validate()?;
        Ok(entry)
    }
}

impl HostEntry {
    /// The name must be a host name.
    pub fn validate(&self) -> Result<(), RuntimeError> {
        check_name("add-host name", &self.name)
    }
}

/// A DNS name: 1 to 253 ASCII letters, digits, `-`, `_` or `.`.
fn check_name(field: &'static str, name: &str) -> Result<(), RuntimeError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(RuntimeError::InvalidRequest {
            field,
            value: name.to_string(),
            allowed: "1 to 253 ASCII letters, digits, '-', '_' or '.'".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_host_in_docker_syntax() {
        let e: HostEntry = "db:10.0.0.5".parse().unwrap();
        assert_eq!(e.address, HostAddress::Ip("10.0.0.5".parse().unwrap()));
        let e: HostEntry = "v6:2001:db8::1".parse().unwrap();
        assert_eq!(e.address, HostAddress::Ip("2001:db8::1".parse().unwrap()));
        let e: HostEntry = "v6=[::1]".parse().unwrap();
        assert_eq!(e.address, HostAddress::Ip("::1".parse().unwrap()));
        let e: HostEntry = "host.docker.internal:host-gateway".parse().unwrap();
        assert_eq!(e.address, HostAddress::HostGateway);
        for bad in [
            "db",
            "db:",
            ":1.2.3.4",
            "d b:1.2.3.4",
            "db:300.1.1.1",
            "db:gateway",
        ] {
            assert!(bad.parse::<HostEntry>().is_err(), "{bad}");
        }
    }

    #[test]
    fn dns_settings_are_checked() {
        let ok = DnsConfig {
            search: vec!["example.org".into()],
            options: vec!["ndots:2".into()],
            ..Default::default()
        };
        ok.validate().unwrap();
        for bad in [
            DnsConfig {
                search: vec!["a b".into()],
                ..Default::default()
            },
            DnsConfig {
                options: vec!["ndots 2".into()],
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err());
        }
    }
}
