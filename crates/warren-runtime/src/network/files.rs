//! A bridge container's own `/etc/hosts` and `/etc/resolv.conf`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use crate::RuntimeError;

/// The file names in the container's directory.
pub const HOSTS: &str = "hosts";
pub const RESOLV_CONF: &str = "resolv.conf";

/// Write both files into `dir`: hosts with loopback and `hostname` at `ip`; resolv.conf with
/// `dns`, else the host's nameservers that are reachable from a container (not loopback),
/// keeping the host's `search` and `options` lines.
pub async fn write(
    dir: &Path,
    hostname: &str,
    ip: Option<Ipv4Addr>,
    dns: &[IpAddr],
) -> Result<(), RuntimeError> {
    let mut hosts =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    if let Some(ip) = ip {
        hosts.push_str(&format!("{ip}\t{hostname}\n"));
    }
    let host_resolv = tokio::fs::read_to_string("/etc/resolv.conf")
        .await
        .unwrap_or_default();
    let resolv = resolv_conf(&host_resolv, dns);
    for (name, text) in [(HOSTS, hosts), (RESOLV_CONF, resolv)] {
        let path = dir.join(name);
        tokio::fs::write(&path, text)
            .await
            .map_err(|e| RuntimeError::Io {
                op: "writing the container's network files",
                path: path.display().to_string(),
                source: e,
            })?;
    }
    Ok(())
}

fn resolv_conf(host: &str, dns: &[IpAddr]) -> String {
    let mut out = String::new();
    let mut servers: Vec<String> = dns.iter().map(IpAddr::to_string).collect();
    for line in host.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") if dns.is_empty() => {
                if let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) {
                    if !ip.is_loopback() {
                        servers.push(ip.to_string());
                    }
                }
            }
            Some("search") | Some("options") => {
                out.push_str(line);
                out.push('\n');
            }
            _ => {}
        }
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_resolvers_are_dropped() {
        let host = "nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch example.org\n";
        assert_eq!(
            resolv_conf(host, &[]),
            "search example.org\nnameserver 192.0.2.1\n"
        );
        let given = resolv_conf(host, &["198.51.100.7".parse().unwrap()]);
        assert_eq!(given, "search example.org\nnameserver 198.51.100.7\n");
    }
}
