//! Facts about this host's cgroups, and statistics of a container's cgroup.
//!
//! Detection uses `cgroups-rs` (unified mode, the v1 controllers' mount points). Statistics
//! are read from the cgroup files directly: `cgroups-rs` 0.5 panics on some unexpected file
//! contents and cannot tell a missing cgroup from an empty one, and a stats call must do
//! neither.

mod stats;

pub use stats::{read_stats, CgroupStats};

use std::path::PathBuf;

/// Which cgroup layout the host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// Only cgroup v1 hierarchies.
    V1,
    /// v1 controllers, plus a controller-less cgroup2 mount at /sys/fs/cgroup/unified; runc
    /// and containerd use v1 for limits.
    Hybrid,
    /// Only the unified (v2) hierarchy.
    V2,
}

/// What the host offers containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    pub mode: CgroupMode,
    /// Controllers available for limits (`cpu`, `memory`, `pids`, ...), sorted.
    pub controllers: Vec<String>,
    /// Online CPUs.
    pub cpus: usize,
}

/// Online CPUs of this host.
pub fn cpu_count() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::_NPROCESSORS_ONLN)
        .ok()
        .flatten()
        .map(|n| n.max(1) as usize)
        .unwrap_or(1)
}

pub(crate) const ROOT: &str = "/sys/fs/cgroup";

impl HostFacts {
    /// Look at /sys/fs/cgroup.
    pub fn detect() -> HostFacts {
        let cpus = cpu_count();
        if cgroups_rs::fs::hierarchies::is_cgroup2_unified_mode() {
            let controllers =
                std::fs::read_to_string(format!("{ROOT}/cgroup.controllers")).unwrap_or_default();
            let mut controllers: Vec<String> =
                controllers.split_whitespace().map(str::to_string).collect();
            controllers.sort();
            return HostFacts {
                mode: CgroupMode::V2,
                controllers,
                cpus,
            };
        }
        let v1 = cgroups_rs::fs::hierarchies::V1::new();
        let mut controllers: Vec<String> = [
            "cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer", "hugetlb",
        ]
        .iter()
        .filter(|c| {
            use cgroups_rs::fs::Hierarchy;
            v1.root().join(c).is_dir()
        })
        .map(|c| c.to_string())
        .collect();
        controllers.sort();
        let unified = PathBuf::from(ROOT).join("unified/cgroup.procs").exists();
        HostFacts {
            mode: if unified {
                CgroupMode::Hybrid
            } else {
                CgroupMode::V1
            },
            controllers,
            cpus,
        }
    }

    /// True if limits go through cgroup v1 files.
    pub fn uses_v1(&self) -> bool {
        self.mode != CgroupMode::V2
    }
}
