//! `warrend port`: a container's published ports.

use anyhow::bail;
use clap::Args;
use warren_client::Node;

use crate::cli::json;
use crate::cli::output::print_json;

/// A container port as `port` takes it: `80` or `80/tcp`, `53/udp`.
fn private_port(s: &str) -> Result<(u16, String), String> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "tcp"));
    let bad = || format!("{s:?} is not a container port: expected PORT or PORT/tcp|udp (1-65535)");
    let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(bad)?;
    if proto != "tcp" && proto != "udp" {
        return Err(bad());
    }
    Ok((port, proto.to_string()))
}

/// Options of `port`.
#[derive(Args)]
pub struct PortArgs {
    /// The container.
    pub id: String,
    /// Only this container port: PORT or PORT/tcp|udp.
    #[arg(value_parser = private_port)]
    pub private_port: Option<(u16, String)>,
}

/// One published port of a container spec (`[HOST_IP:]HOST_PORT:CONTAINER_PORT[/proto]`)
/// as (container port, proto, host ip, host port).
fn published(spec: &str) -> Option<(u16, String, String, String)> {
    let (rest, proto) = spec.rsplit_once('/').unwrap_or((spec, "tcp"));
    let (host, container) = rest.rsplit_once(':')?;
    let (ip, host_port) = match host.rsplit_once(':') {
        Some((ip, p)) => (ip.trim_matches(['[', ']']).to_string(), p.to_string()),
        None => ("0.0.0.0".to_string(), host.to_string()),
    };
    let ip = if ip.is_empty() { "0.0.0.0".into() } else { ip };
    Some((container.parse().ok()?, proto.to_string(), ip, host_port))
}

fn host_addr(ip: &str, port: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// `warrend port`: the published ports, as `docker port` prints them.
pub async fn port(node: &Node, a: PortArgs, json: bool) -> anyhow::Result<u8> {
    let detail = node.inspect(a.id.clone()).await?;
    let mut ports: Vec<_> = detail.ports.iter().filter_map(|p| published(p)).collect();
    if let Some((want, proto)) = &a.private_port {
        ports.retain(|p| p.0 == *want && p.1 == *proto);
        if ports.is_empty() {
            bail!("container {} publishes no port {want}/{proto}", a.id);
        }
    }
    ports.sort();
    if json {
        print_json(
            &ports
                .iter()
                .map(|(port, proto, ip, host_port)| json::Port::new(*port, proto, ip, host_port))
                .collect::<Vec<_>>(),
        );
    } else if a.private_port.is_some() {
        for (_, _, ip, host_port) in &ports {
            println!("{}", host_addr(ip, host_port));
        }
    } else {
        for (port, proto, ip, host_port) in &ports {
            println!("{port}/{proto} -> {}", host_addr(ip, host_port));
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_ports_in_docker_form() {
        assert_eq!(
            published("8080:80"),
            Some((80, "tcp".into(), "0.0.0.0".into(), "8080".into()))
        );
        assert_eq!(
            published("127.0.0.1:5353:53/udp"),
            Some((53, "udp".into(), "127.0.0.1".into(), "5353".into()))
        );
        assert_eq!(
            published("[::1]:8443:443/tcp"),
            Some((443, "tcp".into(), "::1".into(), "8443".into()))
        );
        assert_eq!(host_addr("::1", "8443"), "[::1]:8443");
        assert_eq!(published("nonsense"), None);
    }

    #[test]
    fn container_ports_are_checked_before_anything_is_sent() {
        assert_eq!(private_port("80").unwrap(), (80, "tcp".to_string()));
        assert_eq!(private_port("53/udp").unwrap(), (53, "udp".to_string()));
        for bad in ["0", "http", "80/sctp", "70000"] {
            assert!(private_port(bad).is_err(), "{bad}");
        }
    }
}
