//! Facts about this host's cgroups, and statistics of a container's cgroup.
//!
//! The layout is decided with `cgroups-rs` (a `statfs` of `/sys/fs/cgroup` for the unified
//! mode) and our own `/proc/self/mountinfo` parser for where each controller is mounted
//! (`cgroups-rs` 0.5 cannot see a hybrid host's cgroup2 mount; see [`mountinfo`]).
//! Statistics are read from the cgroup files directly: `cgroups-rs` 0.5 unwraps on
//! unexpected file contents and cannot tell a missing cgroup from an empty one, and a stats
//! call must do neither.
//!
//! # Blocking
//! Everything here reads a handful of small kernel-generated files under `/sys/fs/cgroup`
//! and `/proc` (a [`read_stats`] call is a few dozen microseconds; see the crate's bench).
//! These reads never wait on a disk or the network, so calling them from an async task is
//! acceptable; a caller that wants to be strict wraps them in `tokio::task::spawn_blocking`.

mod capacity;
mod devices;
pub mod mountinfo;
mod stats;

pub use capacity::Capacity;
pub use devices::devices;

pub use stats::{read_stats, CgroupStats};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a cgroup v2 host (and the runtime) mount the unified hierarchy.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Which cgroup layout the host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// Only cgroup v1 hierarchies.
    V1,
    /// v1 controllers, plus a cgroup2 mount (usually at /sys/fs/cgroup/unified) holding few or
    /// no controllers; runc and containerd put limits through the v1 files.
    Hybrid,
    /// Only the unified (v2) hierarchy.
    V2,
}

impl fmt::Display for CgroupMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CgroupMode::V1 => "v1",
            CgroupMode::Hybrid => "hybrid",
            CgroupMode::V2 => "v2",
        })
    }
}

/// What the host offers containers: its cgroup layout, controllers and CPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// v1, hybrid or v2.
    pub mode: CgroupMode,
    /// Controllers that carry limits (`cpu`, `memory`, `pids`, ...), sorted: the v1
    /// controllers on a v1 or hybrid host, the unified hierarchy's on a v2 host.
    pub controllers: Vec<String>,
    /// Controllers enabled in the cgroup2 hierarchy of a hybrid host (often none, sometimes
    /// `hugetlb` or `misc`); equal to `controllers` on a v2 host, empty on v1.
    pub unified_controllers: Vec<String>,
    /// Where each v1 controller is mounted (`cpuacct` may live at `.../cpu,cpuacct`); on a v2
    /// host every controller maps to the unified mount.
    pub mount_points: BTreeMap<String, PathBuf>,
    /// The cgroup2 mount, if any.
    pub unified_mount: Option<PathBuf>,
    /// Online CPUs: the upper bound of a CPU limit.
    pub cpus: usize,
}

/// True if the kernel can make a bind mount read-only with everything below it
/// (`mount_setattr` with `AT_RECURSIVE`, Linux 5.12): runc's `rro` mount option needs it.
pub fn supports_recursive_read_only() -> bool {
    crate::seccomp::kernel::host() >= (5, 12)
}

/// Online CPUs of this host (at least 1).
pub fn cpu_count() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::_NPROCESSORS_ONLN)
        .ok()
        .flatten()
        .map(|n| n.max(1) as usize)
        .unwrap_or(1)
}

fn controllers_file(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let mut list: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    list.sort();
    list
}

impl HostFacts {
    /// Look at this host's cgroup mounts. Never fails: a host without cgroups is reported as
    /// v1 with no controllers (statistics then fail with [`crate::SpecError::NoController`]).
    pub fn detect() -> HostFacts {
        let cpus = cpu_count();
        let mounts = mountinfo::read();
        if cgroups_rs::fs::hierarchies::is_cgroup2_unified_mode() {
            let root = PathBuf::from(CGROUP_ROOT);
            let controllers = controllers_file(&root);
            return HostFacts {
                mode: CgroupMode::V2,
                mount_points: controllers
                    .iter()
                    .map(|c| (c.clone(), root.clone()))
                    .collect(),
                unified_controllers: controllers.clone(),
                controllers,
                unified_mount: Some(root),
                cpus,
            };
        }
        let unified_controllers = mounts
            .unified
            .as_deref()
            .map(controllers_file)
            .unwrap_or_default();
        HostFacts {
            mode: if mounts.unified.is_some() {
                CgroupMode::Hybrid
            } else {
                CgroupMode::V1
            },
            controllers: mounts.v1.keys().cloned().collect(),
            unified_controllers,
            mount_points: mounts.v1,
            unified_mount: mounts.unified,
            cpus,
        }
    }

    /// True if limits go through cgroup v1 files (v1 and hybrid hosts).
    pub fn uses_v1(&self) -> bool {
        self.mode != CgroupMode::V2
    }

    /// True if `controller` (e.g. `memory`) can carry limits here.
    pub fn has_controller(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// The directory of cgroup `cgroups_path` (as in the spec, `/<namespace>/<id>`) for
    /// `controller`, or `None` if the controller is not mounted. runc resolves an absolute
    /// cgroups path the same way: under the controller's mount point.
    pub fn cgroup_dir(&self, controller: &str, cgroups_path: &str) -> Option<PathBuf> {
        let rel = cgroups_path.trim_start_matches('/');
        self.mount_points.get(controller).map(|m| m.join(rel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_host() {
        let facts = HostFacts::detect();
        assert!(facts.cpus >= 1);
        if facts.uses_v1() {
            for c in ["cpu", "memory"] {
                assert!(facts.has_controller(c), "{facts:?}");
            }
            let mem = facts.cgroup_dir("memory", "/warren/x").unwrap();
            assert!(mem.ends_with("warren/x"), "{mem:?}");
        }
        if facts.mode == CgroupMode::V2 {
            assert_eq!(facts.unified_mount.as_deref(), Some(Path::new(CGROUP_ROOT)));
        }
        assert_eq!(facts.cgroup_dir("no-such-controller", "/a"), None);
    }
}
