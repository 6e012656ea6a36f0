//! Reading a container cgroup's usage, the same way on cgroup v1, hybrid and v2 hosts.

use std::path::{Path, PathBuf};

use super::{HostFacts, ROOT};
use crate::SpecError;

/// One sample of a container's cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// CPU time used, nanoseconds.
    pub cpu_usage_ns: u64,
    pub memory_usage_bytes: u64,
    /// The memory limit, `None` when unlimited.
    pub memory_limit_bytes: Option<u64>,
    /// Processes the kernel's OOM killer killed in this cgroup.
    pub oom_kills: u64,
    pub pids_current: u64,
    /// The pids limit, `None` when unlimited.
    pub pids_limit: Option<u64>,
}

fn read(path: PathBuf) -> Result<String, SpecError> {
    std::fs::read_to_string(&path).map_err(|source| SpecError::Host { path, source })
}

fn number(path: PathBuf) -> Result<u64, SpecError> {
    let text = read(path.clone())?;
    text.trim().parse().map_err(|_| SpecError::Host {
        path,
        source: std::io::Error::other(format!("not a number: {:?}", text.trim())),
    })
}

/// `max` (or v1's huge "unlimited" values) means no limit.
fn limit(path: PathBuf) -> Result<Option<u64>, SpecError> {
    let text = read(path.clone())?;
    let t = text.trim();
    if t == "max" {
        return Ok(None);
    }
    let n: u64 = t.parse().map_err(|_| SpecError::Host {
        path,
        source: std::io::Error::other(format!("not a limit: {t:?}")),
    })?;
    // v1 reports "no limit" as the largest page-aligned i64.
    Ok((n < (i64::MAX as u64) / 2).then_some(n))
}

fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(char::is_whitespace)?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

fn v1_dir(controller: &str, cgroup: &Path) -> PathBuf {
    let rel = cgroup.strip_prefix("/").unwrap_or(cgroup);
    let dir = Path::new(ROOT).join(controller).join(rel);
    if dir.exists() || controller != "cpuacct" {
        return dir;
    }
    // Some hosts co-mount cpu and cpuacct.
    Path::new(ROOT).join("cpu,cpuacct").join(rel)
}

/// Read the statistics of cgroup `cgroups_path` (as in the spec: `/<namespace>/<id>`).
pub fn read_stats(cgroups_path: &str, facts: &HostFacts) -> Result<CgroupStats, SpecError> {
    let cgroup = Path::new(cgroups_path);
    if facts.uses_v1() {
        let mem = v1_dir("memory", cgroup);
        let pids = v1_dir("pids", cgroup);
        let oom = read(mem.join("memory.oom_control"))?;
        Ok(CgroupStats {
            cpu_usage_ns: number(v1_dir("cpuacct", cgroup).join("cpuacct.usage"))?,
            memory_usage_bytes: number(mem.join("memory.usage_in_bytes"))?,
            memory_limit_bytes: limit(mem.join("memory.limit_in_bytes"))?,
            oom_kills: keyed(&oom, "oom_kill").unwrap_or(0),
            pids_current: number(pids.join("pids.current"))?,
            pids_limit: limit(pids.join("pids.max"))?,
        })
    } else {
        let dir = Path::new(ROOT).join(cgroup.strip_prefix("/").unwrap_or(cgroup));
        let cpu = read(dir.join("cpu.stat"))?;
        let events = read(dir.join("memory.events"))?;
        Ok(CgroupStats {
            cpu_usage_ns: keyed(&cpu, "usage_usec").unwrap_or(0) * 1000,
            memory_usage_bytes: number(dir.join("memory.current"))?,
            memory_limit_bytes: limit(dir.join("memory.max"))?,
            oom_kills: keyed(&events, "oom_kill").unwrap_or(0),
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
        assert_eq!(keyed(oom, "oom_kill"), Some(3));
        assert_eq!(keyed(oom, "nope"), None);
    }

    #[test]
    fn missing_cgroup_is_an_error_naming_the_file() {
        let facts = HostFacts::detect();
        let err = read_stats("/warren-no-such/none", &facts).unwrap_err();
        assert!(err.to_string().contains("warren-no-such"), "{err}");
    }

    #[test]
    fn root_cgroup_of_this_host_reads() {
        let facts = HostFacts::detect();
        assert!(facts.cpus >= 1);
        if facts.uses_v1() {
            assert!(
                facts.controllers.contains(&"memory".to_string()),
                "{facts:?}"
            );
        }
    }
}
