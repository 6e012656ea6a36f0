//! The bridge network's settings and the CNI configuration generated from them.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;

use serde_json::{json, Value};

use crate::RuntimeError;

/// The CNI spec version our generated configurations speak (the Debian 12 plugins speak
/// 0.1.0 to 1.0.0).
pub(crate) const CNI_VERSION: &str = "1.0.0";

/// An IPv4 subnet such as `10.88.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// The network address (host bits zero).
    pub addr: Ipv4Addr,
    /// The prefix length, 8 to 30.
    pub prefix: u8,
}

impl Subnet {
    /// The first host address: the default gateway.
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) + 1)
    }

    /// True if `ip` lies in this subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - self.prefix);
        u32::from(ip) & mask == u32::from(self.addr)
    }
}

impl FromStr for Subnet {
    type Err = RuntimeError;

    fn from_str(s: &str) -> Result<Subnet, RuntimeError> {
        let bad = |why: &str| RuntimeError::InvalidRequest {
            field: "network subnet",
            value: s.to_string(),
            allowed: format!("an IPv4 network such as 10.88.0.0/16 ({why})"),
        };
        let (addr, prefix) = s.split_once('/').ok_or_else(|| bad("no /prefix"))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad("not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| bad("the prefix is not a number"))?;
        if !(8..=30).contains(&prefix) {
            return Err(bad("the prefix must be 8 to 30"));
        }
        let mask = u32::MAX << (32 - prefix);
        if u32::from(addr) & !mask != 0 {
            return Err(bad("host bits are set"));
        }
        Ok(Subnet { addr, prefix })
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// How bridge-mode containers are networked: one Linux bridge, one subnet, addresses from
/// CNI's `host-local` IPAM, outbound traffic masqueraded. Replace it in
/// [`RuntimeOptions::network`](crate::RuntimeOptions::network).
#[derive(Debug, Clone, PartialEq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct NetworkConfig {
    /// The CNI network name (also the IPAM store's directory name).
    #[setters(into)]
    pub name: String,
    /// The bridge device, at most 15 characters.
    #[setters(into)]
    pub bridge: String,
    /// The containers' subnet, e.g. `10.88.0.0/16`.
    #[setters(into)]
    pub subnet: String,
    /// The gateway (the bridge's address); default: the subnet's first host.
    pub gateway: Option<Ipv4Addr>,
    /// The MTU of the bridge and veths; default: the plugin's (the host's default route).
    pub mtu: Option<u32>,
    /// Masquerade traffic leaving the subnet (needs `iptables`).
    pub ip_masq: bool,
    /// DNS servers written into containers' `/etc/resolv.conf`; default: the host's
    /// non-loopback nameservers.
    pub dns: Vec<std::net::IpAddr>,
    /// Where the CNI plugins are (`bridge`, `host-local`, `loopback`, `portmap`); default:
    /// `/usr/lib/cni`, else `/opt/cni/bin`.
    #[setters(into)]
    pub plugin_dir: Option<PathBuf>,
    /// host-local's address store (one directory per network name inside); default: CNI's
    /// `/var/lib/cni/networks`, shared with every other user of this network name.
    #[setters(into)]
    pub ipam_dir: Option<PathBuf>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            name: "warren".into(),
            bridge: "warren0".into(),
            subnet: "10.88.0.0/16".into(),
            gateway: None,
            mtu: None,
            ip_masq: true,
            dns: Vec::new(),
            plugin_dir: None,
            ipam_dir: None,
        }
    }
}

impl NetworkConfig {
    /// Check every field; the parsed subnet and gateway.
    pub fn validate(&self) -> Result<(Subnet, Ipv4Addr), RuntimeError> {
        let invalid =
            |field: &'static str, value: &str, allowed: &str| RuntimeError::InvalidRequest {
                field,
                value: value.to_string(),
                allowed: allowed.to_string(),
            };
        let ident = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !ident(&self.name) || self.name.len() > 64 {
            return Err(invalid(
                "network name",
                &self.name,
                "1 to 64 letters, digits, '-', '_' or '.'",
            ));
        }
        if !ident(&self.bridge) || self.bridge.len() > 15 {
            return Err(invalid(
                "bridge name",
                &self.bridge,
                "1 to 15 letters, digits, '-', '_' or '.' (a Linux interface name)",
            ));
        }
        let subnet: Subnet = self.subnet.parse()?;
        let gateway = self.gateway.unwrap_or_else(|| subnet.first_host());
        if !subnet.contains(gateway) || gateway == subnet.addr {
            return Err(invalid(
                "network gateway",
                &gateway.to_string(),
                &format!("a host address inside {subnet}"),
            ));
        }
        if let Some(mtu) = self.mtu {
            if !(576..=65535).contains(&mtu) {
                return Err(invalid("network MTU", &mtu.to_string(), "576 to 65535"));
            }
        }
        Ok((subnet, gateway))
    }

    /// The plugin directory: the configured one, else the first standard one that exists.
    pub(crate) fn plugin_dir_or_default(&self) -> PathBuf {
        if let Some(d) = &self.plugin_dir {
            return d.clone();
        }
        ["/usr/lib/cni", "/opt/cni/bin"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.join("bridge").exists())
            .unwrap_or_else(|| PathBuf::from("/usr/lib/cni"))
    }

    /// The bridge plugin's configuration, host-local IPAM inside.
    pub(crate) fn bridge_plugin(&self) -> Result<Value, RuntimeError> {
        let (subnet, gateway) = self.validate()?;
        let ipam_dir = self
            .ipam_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/var/lib/cni/networks"));
        let mut bridge = json!({
            "type": "bridge",
            "bridge": self.bridge,
            "isGateway": true,
            "ipMasq": self.ip_masq,
            "hairpinMode": true,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": subnet.to_string(), "gateway": gateway.to_string()}]],
                "routes": [{"dst": "0.0.0.0/0"}],
                "dataDir": ipam_dir,
            },
        });
        if let Some(mtu) = self.mtu {
            bridge["mtu"] = json!(mtu);
        }
        Ok(bridge)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_checked() {
        let s: Subnet = "10.88.0.0/16".parse().unwrap();
        assert_eq!(s.first_host(), Ipv4Addr::new(10, 88, 0, 1));
        assert!(s.contains(Ipv4Addr::new(10, 88, 200, 3)));
        assert!(!s.contains(Ipv4Addr::new(10, 89, 0, 1)));
        for bad in [
            "10.88.0.1/16",
            "10.88.0.0",
            "10.88.0.0/31",
            "x/16",
            "10.88.0.0/abc",
        ] {
            assert!(bad.parse::<Subnet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn configs_are_checked() {
        assert!(NetworkConfig::default().validate().is_ok());
        let long = NetworkConfig {
            bridge: "a-very-long-bridge-name".into(),
            ..Default::default()
        };
        assert!(long.validate().is_err());
        let outside = NetworkConfig {
            gateway: Some(Ipv4Addr::new(192, 168, 1, 1)),
            ..Default::default()
        };
        assert!(outside.validate().is_err());
    }
}
