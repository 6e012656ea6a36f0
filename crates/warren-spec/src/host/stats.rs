//! Reading a container cgroup's usage, the same way on cgroup v1, hybrid and v2 hosts.

use std::path::{Path, PathBuf};

use super::{CgroupMode, HostFacts};
use crate::SpecError;

/// One sample of a container's cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// CPU time used by all its processes, nanoseconds (v1 `cpuacct.usage`, v2 `cpu.stat`
    /// `usage_usec` × 1000).
    pub cpu_usage_ns: u64,
    /// Memory charged to the cgroup, page cache included (v1 `memory.usage_in_bytes`, v2
    /// `memory.current`).
    pub memory_usage_bytes: u64,
    /// Page cache the kernel may drop first (`total_inactive_file` / `inactive_file`):
    /// usage minus this is the "working set" Docker and the kubelet report.
    pub memory_inactive_file_bytes: u64,
    /// The memory limit, `None` when unlimited.
    pub memory_limit_bytes: Option<u64>,
    /// Processes the kernel's OOM killer killed in this cgroup (v1 `memory.oom_control`
    /// `oom_kill`, kernel 4.13+; v2 `memory.events` `oom_kill`).
    pub oom_kills: u64,
    /// Processes (and threads) in the cgroup now.
    pub pids_current: u64,
    /// The pids limit, `None` when unlimited.
    pub pids_limit: Option<u64>,
}

impl CgroupStats {
    /// Usage minus inactive page cache: what the container really holds.
    pub fn memory_working_set_bytes(&self) -> u64 {
        self.memory_usage_bytes
            .saturating_sub(self.memory_inactive_file_bytes)
    }
}

fn read(path: PathBuf) -> Result<String, SpecError> {
    std::fs::read_to_string(&path).map_err(|source| SpecError::Host { path, source })
}

fn malformed(path: PathBuf, what: &str, text: &str) -> SpecError {
    SpecError::Host {
        path,
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("expected {what}, found {text:?}"),
        ),
    }
}

fn number(path: PathBuf) -> Result<u64, SpecError> {
    let text = read(path.clone())?;
    let t = text.trim();
    t.parse().map_err(|_| malformed(path, "a number", t))
}

/// Above this, a v1 limit means "unlimited" (the kernel reports the largest page-aligned
/// `i64`, 9223372036854771712, for an unlimited memory cgroup).
const V1_UNLIMITED: u64 = (i64::MAX as u64) / 2;

/// `max` (v2) or v1's huge sentinel means no limit.
fn limit(path: PathBuf) -> Result<Option<u64>, SpecError> {
    let text = read(path.clone())?;
    let t = text.trim();
    if t == "max" {
        return Ok(None);
    }
    let n: u64 = t
        .parse()
        .map_err(|_| malformed(path, "a number or \"max\"", t))?;
    Ok((n < V1_UNLIMITED).then_some(n))
}

/// The value of `key` in a flat keyed file (`key value` per line); 0 when absent, as the
/// kernel omits counters it does not keep.
fn keyed(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse().ok()).flatten()
        })
        .unwrap_or(0)
}

fn v1_dir(facts: &HostFacts, controller: &'static str, path: &str) -> Result<PathBuf, SpecError> {
    facts
        .cgroup_dir(controller, path)
        .ok_or(SpecError::NoController {
            controller,
            mode: facts.mode,
        })
}

/// Read the statistics of cgroup `cgroups_path` (as in the spec: `/<namespace>/<id>`).
///
/// Fails with [`SpecError::Host`] naming the file if the cgroup does not exist (the
/// container was never started or is gone) or a file holds something unexpected.
pub fn read_stats(cgroups_path: &str, facts: &HostFacts) -> Result<CgroupStats, SpecError> {
    if facts.mode != CgroupMode::V2 {
        let mem = v1_dir(facts, "memory", cgroups_path)?;
        let pids = v1_dir(facts, "pids", cgroups_path)?;
        let cpu = v1_dir(facts, "cpuacct", cgroups_path)?;
        let oom = read(mem.join("memory.oom_control"))?;
        let stat = read(mem.join("memory.stat"))?;
        Ok(CgroupStats {
            cpu_usage_ns: number(cpu.join("cpuacct.usage"))?,
            memory_usage_bytes: number(mem.join("memory.usage_in_bytes"))?,
            memory_inactive_file_bytes: keyed(&stat, "total_inactive_file"),
            memory_limit_bytes: limit(mem.join("memory.limit_in_bytes"))?,
            oom_kills: keyed(&oom, "oom_kill"),
            pids_current: number(pids.join("pids.current"))?,
            pids_limit: limit(pids.join("pids.max"))?,
        })
    } else {
        let root = facts
            .unified_mount
            .as_deref()
            .unwrap_or(Path::new(super::CGROUP_ROOT));
        let dir = root.join(cgroups_path.trim_start_matches('/'));
        let cpu = read(dir.join("cpu.stat"))?;
        let events = read(dir.join("memory.events"))?;
        let stat = read(dir.join("memory.stat"))?;
        Ok(CgroupStats {
            cpu_usage_ns: keyed(&cpu, "usage_usec").saturating_mul(1000),
            memory_usage_bytes: number(dir.join("memory.current"))?,
            memory_inactive_file_bytes: keyed(&stat, "inactive_file"),
            memory_limit_bytes: limit(dir.join("memory.max"))?,
            oom_kills: keyed(&events, "oom_kill"),
            pids_current: number(dir.join("pids.current"))?,
            pids_limit: limit(dir.join("pids.max"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_values() {
        let oom = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(keyed(oom, "oom_kill"), 3);
        assert_eq!(keyed(oom, "nope"), 0);
    }

    #[test]
    fn limits() {
        let d = tempfile::tempdir().unwrap();
        for (text, want) in [
            ("max\n", None),
            ("9223372036854771712\n", None),
            ("67108864\n", Some(64 << 20)),
        ] {
            std::fs::write(d.path().join("l"), text).unwrap();
            assert_eq!(limit(d.path().join("l")).unwrap(), want, "{text}");
        }
        std::fs::write(d.path().join("l"), "lots").unwrap();
        let err = limit(d.path().join("l")).unwrap_err().to_string();
        assert!(
            err.contains("expected a number") && err.contains("lots"),
            "{err}"
        );
    }

    #[test]
    fn missing_cgroup_is_an_error_naming_the_file() {
        let facts = HostFacts::detect();
        let err = read_stats("/warren-no-such/none", &facts).unwrap_err();
        assert!(err.to_string().contains("warren-no-such"), "{err}");
    }

    #[test]
    fn missing_controller_is_named() {
        let mut facts = HostFacts::detect();
        facts.mode = CgroupMode::V1;
        facts.mount_points.remove("memory");
        let err = read_stats("/x", &facts).unwrap_err().to_string();
        assert_eq!(err, "no memory cgroup controller on this host (cgroup v1)");
    }
}
