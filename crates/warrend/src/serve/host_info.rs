//! Facts about the node that `warrend info` reports: the runc in use, the cgroup layout and
//! the node's capacity.

use std::path::PathBuf;

use crate::config::Config;
use crate::deps;

/// What `info` shows about the host.
#[derive(Debug, Clone)]
pub struct HostInfo {
    /// `runc --version`'s first line (e.g. `runc version 1.1.5+ds1`), or why it is unknown.
    pub runc_version: String,
    /// `v1`, `hybrid` or `v2`.
    pub cgroup_version: String,
    /// Who manages the containers' cgroups: `cgroupfs` (runc writes them directly).
    pub cgroup_driver: String,
    /// CPUs, memory and pids of the node.
    pub capacity: warren_spec::host::Capacity,
}

/// The runc containers are run with: the configured folder's, else the one on `PATH`.
fn runc(config: &Config) -> Option<PathBuf> {
    config
        .containerd
        .runc_dir
        .clone()
        .or_else(deps::runc_dir)
        .map(|d| d.join("runc"))
}

/// Look once, at start-up.
pub async fn detect(config: &Config) -> HostInfo {
    let runc_version = match runc(config) {
        Some(path) => match tokio::process::Command::new(&path)
            .arg("--version")
            .output()
            .await
        {
            Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
            Ok(out) => format!("unknown ({} --version: {})", path.display(), out.status),
            Err(e) => format!("unknown ({}: {e})", path.display()),
        },
        None => "unknown (no runc found)".into(),
    };
    let (facts, capacity) = tokio::task::spawn_blocking(|| {
        (
            warren_spec::host::HostFacts::detect(),
            warren_spec::host::Capacity::detect(),
        )
    })
    .await
    .expect("reading the host's cgroup facts and capacity does not panic");
    let facts = Some(facts);
    HostInfo {
        runc_version,
        cgroup_version: facts.map(|f| f.mode.to_string()).unwrap_or_default(),
        cgroup_driver: "cgroupfs".into(),
        capacity,
    }
}
