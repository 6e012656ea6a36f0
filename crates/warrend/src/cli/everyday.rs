//! The everyday container commands Docker users reach for: kill, restart, wait, top, port
//! and the prunes (`container prune`, `image prune`).

use std::io::IsTerminal;
use std::time::SystemTime;

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use tokio::io::AsyncBufReadExt;
use warren_client::{ClientError, Node};
use warren_proto::warren::node::v1 as api;

use super::json;
use super::output::{bytes, print_json, table};
use super::time_arg;
use super::value_parsers::check_signal;

/// Options of `kill`.
#[derive(Args)]
pub struct KillArgs {
    /// The signal: a name with or without SIG (HUP, SIGTERM, RTMIN+3) or a number.
    /// SIGKILL, or the container's stop signal, ends it for good: its restart policy does
    /// not start it again.
    #[arg(short, long, default_value = "KILL", value_parser = check_signal)]
    pub signal: String,
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// Options of `restart`.
#[derive(Args)]
pub struct RestartArgs {
    /// Seconds to wait after the stop signal before SIGKILL (default 10; 0 kills at once).
    #[arg(short, long, visible_alias = "timeout")]
    pub time: Option<u32>,
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// Options of `top`.
#[derive(Args)]
pub struct TopArgs {
    /// The container.
    pub id: String,
}

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

/// `--filter` of a prune: only `until=TIME`.
fn until_filter(s: &str) -> Result<SystemTime, String> {
    let Some(value) = s.strip_prefix("until=") else {
        return Err(format!(
            "{s:?} is not a supported filter: the one filter is until=DURATION|RFC3339|UNIX-SECONDS"
        ));
    };
    time_arg::parse(value)
}

/// Options of the prunes.
#[derive(Args)]
pub struct PruneArgs {
    /// Only what was created before a time: `until=24h`, `until=2026-01-02T15:04:05Z`.
    #[arg(long, value_name = "until=TIME", value_parser = until_filter)]
    pub filter: Option<SystemTime>,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(short, long)]
    pub force: bool,
}

/// Options of `image prune`.
#[derive(Args)]
pub struct ImagePruneArgs {
    /// Accepted for Docker's sake: every image warrend keeps has a name, so there are no
    /// dangling ones; `image prune` always removes every image no container uses.
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub prune: PruneArgs,
}

/// `warrend container ...`.
#[derive(Subcommand)]
pub enum ContainerCommand {
    /// Remove every stopped and created container.
    Prune(PruneArgs),
}

/// `warrend image ...`.
#[derive(Subcommand)]
pub enum ImageCommand {
    /// Remove every image no container (running or not) was created from.
    Prune(ImagePruneArgs),
}

/// Run `f` for each id, printing what it gives (the ids that succeeded by default), the
/// errors of the others; exit 1 if any failed.
async fn each<F, Fut>(ids: Vec<String>, mut f: F) -> anyhow::Result<u8>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<String, ClientError>>,
{
    let mut failed = false;
    for id in ids {
        match f(id.clone()).await {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("warrend: {id}: {}", e.status_message());
                failed = true;
            }
        }
    }
    Ok(failed as u8)
}

/// `warrend kill`.
pub async fn kill(node: &Node, a: KillArgs) -> anyhow::Result<u8> {
    let signal = a.signal.as_str();
    each(a.ids, |id| async move {
        node.kill(id.clone(), signal).await.map(|()| id)
    })
    .await
}

/// `warrend restart`.
pub async fn restart(node: &Node, a: RestartArgs) -> anyhow::Result<u8> {
    let timeout = a.time.map(|s| std::time::Duration::from_secs(s.into()));
    each(a.ids, |id| async move {
        node.restart(id.clone(), timeout).await.map(|_| id)
    })
    .await
}

/// `warrend wait`: each container's exit code, in the order given.
pub async fn wait(node: &Node, a: super::ids::IdsArgs) -> anyhow::Result<u8> {
    each(a.ids, |id| async move {
        node.wait(id).await.map(|e| e.code.to_string())
    })
    .await
}

/// `warrend top`: the container's processes with their host pids.
pub async fn top(node: &Node, a: TopArgs, json: bool) -> anyhow::Result<u8> {
    let list = node.top(a.id).await?;
    if json {
        print_json(&list.iter().map(json::Process::from).collect::<Vec<_>>());
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            let user = if p.user.is_empty() {
                p.uid.to_string()
            } else {
                p.user.clone()
            };
            vec![
                user,
                p.pid.to_string(),
                p.ppid.to_string(),
                p.command.clone(),
            ]
        })
        .collect();
    table(&["USER", "PID", "PPID", "COMMAND"], &rows);
    Ok(0)
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

/// Ask before a prune: yes with `-f`; else only a person at a terminal can say yes.
async fn confirmed(force: bool, what: &str) -> anyhow::Result<bool> {
    if force {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("not removing {what} without confirmation: stdin is not a terminal, so give -f/--force to prune without asking");
    }
    eprint!("This removes {what}. Are you sure? [y/N] ");
    let mut answer = String::new();
    tokio::io::BufReader::new(tokio::io::stdin())
        .read_line(&mut answer)
        .await?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

fn print_pruned(title: &str, r: &api::PruneResponse, show_bytes: bool, json: bool) {
    if json {
        print_json(&json::Pruned::from(r));
        return;
    }
    if !r.removed.is_empty() {
        println!("{title}:");
        for id in &r.removed {
            println!("{id}");
        }
        println!();
    }
    if show_bytes {
        println!("Total reclaimed space: {}", bytes(r.bytes_reclaimed));
    }
}

/// `warrend container prune`.
pub async fn container(node: &Node, cmd: ContainerCommand, json: bool) -> anyhow::Result<u8> {
    let ContainerCommand::Prune(a) = cmd;
    prune(node, Pruned::Containers, a.force, a.filter, json).await
}

/// `warrend image prune`.
pub async fn image(node: &Node, cmd: ImageCommand, json: bool) -> anyhow::Result<u8> {
    let ImageCommand::Prune(a) = cmd;
    prune(node, Pruned::Images, a.prune.force, a.prune.filter, json).await
}

/// What a prune removes.
#[derive(Clone, Copy)]
enum Pruned {
    Containers,
    Images,
}

/// Confirm, prune and print, as `docker container prune` and `docker image prune` do.
async fn prune(
    node: &Node,
    what: Pruned,
    force: bool,
    until: Option<SystemTime>,
    json: bool,
) -> anyhow::Result<u8> {
    let (warning, title) = match what {
        Pruned::Containers => ("every stopped and created container", "Deleted Containers"),
        Pruned::Images => ("every image no container uses", "Deleted Images"),
    };
    if !confirmed(force, warning).await? {
        return Ok(1);
    }
    let r = match what {
        Pruned::Containers => node.prune_containers(until).await,
        Pruned::Images => node.prune_images(until).await,
    }
    .map_err(|e| anyhow!("{}", e.status_message()))?;
    print_pruned(title, &r, matches!(what, Pruned::Images), json);
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
    fn arguments_are_checked_before_anything_is_sent() {
        for ok in ["HUP", "SIGUSR1", "9", "rtmin+3", "KILL"] {
            assert_eq!(check_signal(ok).unwrap(), ok);
        }
        for bad in ["NOPE", "0", "65", "-9", ""] {
            let e = check_signal(bad).unwrap_err().to_string();
            assert!(
                e.contains("is not a signal") && e.contains("1-64"),
                "{bad}: {e}"
            );
        }
        assert_eq!(private_port("80").unwrap(), (80, "tcp".to_string()));
        assert_eq!(private_port("53/udp").unwrap(), (53, "udp".to_string()));
        for bad in ["0", "http", "80/sctp", "70000"] {
            assert!(private_port(bad).is_err(), "{bad}");
        }
        assert!(until_filter("until=10m").is_ok());
        assert!(until_filter("label=x")
            .unwrap_err()
            .contains("not a supported filter"));
        assert!(until_filter("until=soon")
            .unwrap_err()
            .contains("not a time"));
    }
}
