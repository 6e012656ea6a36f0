//! How a container asks to be networked: its network mode, published ports in Docker's
//! syntax, and what its `/etc/hosts` and `/etc/resolv.conf` say beyond the defaults
//! (Docker's `--add-host`, `--dns`, `--dns-search`, `--dns-option`), each checked before
//! anything is created. warren-runtime sets these up with CNI.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use crate::SpecError;

/// How a container is networked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetworkMode {
    /// A network namespace of its own with only loopback (the default: nothing reaches it).
    #[default]
    None,
    /// The host's network namespace.
    Host,
    /// Its own namespace on the runtime's bridge network, with an address, DNS, and these
    /// published ports.
    Bridge {
        /// Host ports forwarded into the container.
        ports: Vec<PortMapping>,
    },
    /// Join an existing network namespace (e.g. another container's or one set up by the
    /// caller's own CNI code).
    Join(PathBuf),
}

/// A TCP or UDP port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TCP (the default in port specs).
    Tcp,
    /// UDP.
    Udp,
}

/// A published port: `HOST_IP:HOST_PORT` on the host forwards to `CONTAINER_PORT`. Parse
/// Docker's syntax: `8080:80`, `127.0.0.1:8080:80/tcp`, `5353:53/udp`.
#[derive(Debug, Clone, PartialEq, Eq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct PortMapping {
    /// The host address to listen on (default: all).
    pub host_ip: Option<IpAddr>,
    /// The port on the host.
    pub host_port: u16,
    /// The port inside the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
}

impl PortMapping {
    /// TCP port `host_port` on every host address forwarded to `container_port`.
    pub fn new(host_port: u16, container_port: u16) -> PortMapping {
        PortMapping {
            host_ip: None,
            host_port,
            container_port,
            protocol: Protocol::Tcp,
        }
    }
}

impl FromStr for PortMapping {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<PortMapping, SpecError> {
        let bad = || SpecError::InvalidValue {
            field: "published port",
            value: s.to_string(),
            reason: "[HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp], ports 1 to 65535".into(),
        };
        let (spec, protocol) = match s.rsplit_once('/') {
            Some((p, "tcp")) => (p, Protocol::Tcp),
            Some((p, "udp")) => (p, Protocol::Udp),
            Some(_) => return Err(bad()),
            None => (s, Protocol::Tcp),
        };
        let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad);
        let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
        let (host_ip, host_port, container_port) = match parts.as_slice() {
            [c, h] => (None, port(h)?, port(c)?),
            [c, h, ip] => {
                let ip = ip.trim_start_matches('[').trim_end_matches(']');
                (Some(ip.parse().map_err(|_| bad())?), port(h)?, port(c)?)
            }
            _ => return Err(bad()),
        };
        Ok(PortMapping {
            host_ip,
            host_port,
            container_port,
            protocol,
        })
    }
}

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
    pub fn validate(&self) -> Result<(), SpecError> {
        for d in &self.search {
            check_name("dns search domain", d)?;
        }
        for o in &self.options {
            let ok = !o.is_empty() && o.len() <= 64 && o.chars().all(|c| c.is_ascii_graphic());
            if !ok {
                return Err(SpecError::InvalidValue {
                    field: "dns option",
                    value: o.clone(),
                    reason: "one resolver option without spaces, e.g. ndots:2 or rotate".into(),
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
    type Err = SpecError;

    /// Docker's syntax: `NAME:IP` (an IPv6 address may follow the first `:`, or be given
    /// as `NAME=IP` or in brackets) or `NAME:host-gateway`.
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let bad = || SpecError::InvalidValue {
            field: "add-host",
            value: s.to_string(),
            reason: "NAME:IP or NAME:host-gateway, e.g. db:10.0.0.5".into(),
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
    pub fn validate(&self) -> Result<(), SpecError> {
        check_name("add-host name", &self.name)
    }
}

/// A DNS name: 1 to 253 ASCII letters, digits, `-`, `_` or `.`.
fn check_name(field: &'static str, name: &str) -> Result<(), SpecError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(SpecError::InvalidValue {
            field,
            value: name.to_string(),
            reason: "1 to 253 ASCII letters, digits, '-', '_' or '.'".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_like_docker() {
        let p: PortMapping = "127.0.0.1:8080:80/tcp".parse().unwrap();
        assert_eq!(
            p,
            PortMapping {
                host_ip: Some("127.0.0.1".parse().unwrap()),
                host_port: 8080,
                container_port: 80,
                protocol: Protocol::Tcp
            }
        );
        let p: PortMapping = "5353:53/udp".parse().unwrap();
        assert_eq!((p.host_ip, p.protocol), (None, Protocol::Udp));
        for bad in ["80", "0:80", "x:80:80", "80:80/sctp", "70000:80", "1:2:3:4"] {
            assert!(bad.parse::<PortMapping>().is_err(), "{bad}");
        }
    }

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
