//! `warrend probe`: is this containerd build usable on this node?

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use warren_proto::containerd::services::introspection::v1::PluginsRequest;
use warren_proto::{Clients, Namespace};
use warren_supervisor::Supervisor;

/// Options of `warrend probe`.
#[derive(Args)]
pub struct ProbeArgs {
    /// Folder with `containerd`, `containerd-shim-runc-v2` (and `ctr`); default: `PATH`.
    #[arg(long)]
    containerd_bin_dir: Option<PathBuf>,
    /// Folder with `runc`, put on the daemon's `PATH` after the containerd folder.
    #[arg(long)]
    runc_bin_dir: Option<PathBuf>,
}

pub async fn run(args: ProbeArgs) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("warren-probe-")
        .tempdir_in("/tmp")
        .context("creating a temporary directory under /tmp")?;
    let mut path: Vec<String> = Vec::new();
    path.extend(
        args.containerd_bin_dir
            .iter()
            .map(|d| d.display().to_string()),
    );
    path.extend(args.runc_bin_dir.iter().map(|d| d.display().to_string()));
    path.push(std::env::var("PATH").unwrap_or_default());
    let binary = match &args.containerd_bin_dir {
        Some(d) => d.join("containerd"),
        None => PathBuf::from("containerd"),
    };

    let started = Instant::now();
    let supervisor = Supervisor::builder(dir.path().join("root"), dir.path().join("state"))
        .binary(binary)
        .env("PATH", path.join(":"))
        .start()
        .await
        .context("starting containerd")?;
    let ready = started.elapsed();

    let channel = warren_proto::connect(supervisor.address()).await?;
    let clients = Clients::new(channel, &Namespace::new("warren")?);
    let version = clients.version().version(()).await?.into_inner();
    let plugins = clients
        .introspection()
        .plugins(PluginsRequest::default())
        .await?
        .into_inner()
        .plugins;
    let failed = plugins.iter().filter(|p| p.init_err.is_some()).count();
    let overlay = plugins
        .iter()
        .any(|p| p.id == "overlayfs" && p.init_err.is_none());

    println!(
        "containerd {} (revision {}) pid {} SERVING after {:.0} ms",
        version.version,
        if version.revision.is_empty() {
            "-"
        } else {
            &version.revision
        },
        supervisor.pid().unwrap_or_default(),
        ready.as_secs_f64() * 1e3
    );
    println!(
        "  {} plugins loaded, {} skipped or failed; overlayfs snapshotter {}",
        plugins.len() - failed,
        failed,
        if overlay { "ok" } else { "NOT available" }
    );
    supervisor.shutdown().await.context("stopping containerd")?;
    Ok(())
}
