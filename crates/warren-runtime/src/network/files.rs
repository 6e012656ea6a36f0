//! A bridge container's own `/etc/hosts` and `/etc/resolv.conf`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use super::DnsConfig;
use crate::RuntimeError;

/// The file names in the container's directory.
pub(crate) const HOSTS: &str = "hosts";
pub(crate) const RESOLV_CONF: &str = "resolv.conf";

/// What goes into a container's `/etc/hosts` and `/etc/resolv.conf`.
#[derive(Debug, Clone, Default)]
pub(crate) struct NetworkFiles {
    /// The container's host name, and its domain name if any.
    pub hostname: String,
    pub domainname: Option<String>,
    /// Its address on the bridge network.
    pub ip: Option<Ipv4Addr>,
    /// The request's DNS settings.
    pub dns: DnsConfig,
    /// The network's DNS servers, used when the request names none.
    pub default_servers: Vec<IpAddr>,
    /// Extra `/etc/hosts` lines, addresses resolved.
    pub extra_hosts: Vec<(String, IpAddr)>,
    /// The container shares the host's network: start from the host's own files, keeping
    /// loopback name servers (they are reachable there).
    pub host_network: bool,
}

/// Write both files into `dir` (see [`NetworkFiles`]): hosts with loopback, the extra
/// entries and `hostname` at `ip`; resolv.conf with the request's servers, else the
/// network's, else the host's that a container can reach, and the request's search
/// domains and options, else the host's.
pub(crate) async fn write(dir: &Path, files: &NetworkFiles) -> Result<(), RuntimeError> {
    let mut hosts = if files.host_network {
        let mut h = tokio::fs::read_to_string("/etc/hosts")
            .await
            .unwrap_or_default();
        if !h.is_empty() && !h.ends_with('\n') {
            h.push('\n');
        }
        h
    } else {
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    };
    for (name, ip) in &files.extra_hosts {
        hosts.push_str(&format!("{ip}\t{name}\n"));
    }
    if let Some(ip) = files.ip {
        let name = &files.hostname;
        match &files.domainname {
            Some(d) => hosts.push_str(&format!("{ip}\t{name}.{d} {name}\n")),
            None => hosts.push_str(&format!("{ip}\t{name}\n")),
        }
    }
    let host_resolv = tokio::fs::read_to_string("/etc/resolv.conf")
        .await
        .unwrap_or_default();
    let resolv = resolv_conf(&host_resolv, files);
    for (name, text) in [(HOSTS, hosts), (RESOLV_CONF, resolv)] {
        let path = dir.join(name);
        tokio::fs::write(&path, text)
            .await
            .map_err(|e| RuntimeError::Io {
                op: "writing the container's network files",
                path: path.to_path_buf(),
                source: e,
            })?;
    }
    Ok(())
}

fn resolv_conf(host: &str, files: &NetworkFiles) -> String {
    let dns = &files.dns;
    let mut out = String::new();
    let given: &[IpAddr] = if dns.servers.is_empty() {
        &files.default_servers
    } else {
        &dns.servers
    };
    let mut servers: Vec<String> = given.iter().map(IpAddr::to_string).collect();
    if !dns.search.is_empty() {
        out.push_str(&format!("search {}\n", dns.search.join(" ")));
    }
    if !dns.options.is_empty() {
        out.push_str(&format!("options {}\n", dns.options.join(" ")));
    }
    for line in host.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") if given.is_empty() => {
                if let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) {
                    if files.host_network || !ip.is_loopback() {
                        servers.push(ip.to_string());
                    }
                }
            }
            Some("search") if dns.search.is_empty() => {
                out.push_str(line);
                out.push('\n');
            }
            Some("options") if dns.options.is_empty() => {
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
        let mut files = NetworkFiles::default();
        assert_eq!(
            resolv_conf(host, &files),
            "search example.org\nnameserver 192.0.2.1\n"
        );
        files.default_servers = vec!["198.51.100.7".parse().unwrap()];
        let given = resolv_conf(host, &files);
        assert_eq!(given, "search example.org\nnameserver 198.51.100.7\n");
        files.host_network = true;
        files.default_servers.clear();
        assert!(resolv_conf(host, &files).contains("nameserver 127.0.0.53"));
    }

    #[test]
    fn the_request_replaces_servers_search_and_options() {
        let host = "nameserver 192.0.2.1\nsearch example.org\noptions ndots:5\n";
        let files = NetworkFiles {
            dns: DnsConfig::default()
                .servers(vec!["203.0.113.9".parse().unwrap()])
                .search(vec!["a.test".into(), "b.test".into()])
                .options(vec!["ndots:2".into()]),
            default_servers: vec!["198.51.100.7".parse().unwrap()],
            ..Default::default()
        };
        assert_eq!(
            resolv_conf(host, &files),
            "search a.test b.test\noptions ndots:2\nnameserver 203.0.113.9\n"
        );
    }
}
