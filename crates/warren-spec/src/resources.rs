//! Resource limits, as Warren's runtime defines them: CPU in cores, memory in bytes.
//!
//! The spec carries cgroup v1 style values on every host; runc translates them for cgroup v2
//! (shares to `cpu.weight`, quota/period to `cpu.max`, limit to `memory.max`, swap to
//! `memory.swap.max` as swap minus limit). Every value emitted here is valid on both: shares
//! stay within v1's 2..=262144, which maps onto v2's weight range 1..=10000.

use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxMemoryBuilder, LinuxPidsBuilder,
    LinuxResources, LinuxResourcesBuilder,
};

use crate::SpecError;

/// CFS period used for CPU quotas: 100 ms, the kernel's default.
pub(crate) const CPU_PERIOD_US: u64 = 100_000;
/// cgroup v1 `cpu.shares` for one core.
pub(crate) const SHARES_PER_CPU: f64 = 1024.0;
/// The smallest CPU limit: the kernel refuses CFS quotas under 1 ms per period.
pub const MIN_CPUS: f64 = 0.01;
/// The smallest memory limit we accept. Measured under runc 1.1.5 on cgroup v1 (the ignored
/// test `measure_minimum_memory`): 2 MiB fails because runc's own init already uses about
/// 2.3 MiB of the cgroup, 3 MiB starts busybox `true`. 6 MiB (Docker's minimum too) leaves
/// room for a real process to get going.
pub const MIN_MEMORY_BYTES: i64 = 6 * 1024 * 1024;
const MIN_SHARES: u64 = 2;
const MAX_SHARES: u64 = 262_144;

/// What a container may use. Every field is optional: `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct Resources {
    /// CPU limit in cores (0.5 = half a core): sets both shares and a CFS quota.
    pub cpus: Option<f64>,
    /// Hard memory limit in bytes; unless `memory_swap_bytes` says otherwise, swap is
    /// limited to the same value, so no swap is used.
    pub memory_bytes: Option<i64>,
    /// Memory plus swap in bytes (Docker's `--memory-swap`): at least `memory_bytes`, or -1
    /// for unlimited swap. Needs `memory_bytes`.
    pub memory_swap_bytes: Option<i64>,
    /// Relative CPU weight (Docker's `--cpu-shares`, 2 to 262144, 1024 is one CPU's worth);
    /// replaces the shares `cpus` implies, keeps its quota.
    pub cpu_shares: Option<u64>,
    /// Soft memory limit in bytes (at most `memory_bytes`).
    pub memory_reservation_bytes: Option<i64>,
    /// Maximum number of processes.
    pub pids: Option<i64>,
    /// CPUs the container may run on, e.g. `0-1,3`.
    #[setters(into)]
    pub cpuset: Option<String>,
}

/// The CPU shares and quota for `cpus` cores.
pub(crate) fn cpu_mapping(cpus: f64) -> (u64, i64) {
    let shares = ((cpus * SHARES_PER_CPU).round() as u64).clamp(MIN_SHARES, MAX_SHARES);
    let quota = (cpus * CPU_PERIOD_US as f64).round() as i64;
    (shares, quota)
}

impl Resources {
    /// Check every limit against what the kernel, runc and this host allow.
    pub fn validate(&self, host_cpus: usize) -> Result<(), SpecError> {
        if let Some(cpus) = self.cpus {
            if !cpus.is_finite() || cpus < MIN_CPUS || cpus > host_cpus as f64 {
                return Err(SpecError::InvalidLimit {
                    field: "cpus",
                    value: cpus.to_string(),
                    allowed: format!(
                        "a number of cores from {MIN_CPUS} to {host_cpus} (this host's CPUs)"
                    ),
                });
            }
        }
        if let Some(mem) = self.memory_bytes {
            if mem < MIN_MEMORY_BYTES {
                return Err(SpecError::InvalidLimit {
                    field: "memory",
                    value: format!("{mem} bytes"),
                    allowed: format!(
                        "at least {MIN_MEMORY_BYTES} bytes (6 MiB): less cannot start a container"
                    ),
                });
            }
        }
        if let Some(swap) = self.memory_swap_bytes {
            let Some(mem) = self.memory_bytes else {
                return Err(SpecError::InvalidLimit {
                    field: "memory swap",
                    value: format!("{swap} bytes"),
                    allowed: "only with a memory limit (--memory)".into(),
                });
            };
            if swap != -1 && swap < mem {
                return Err(SpecError::InvalidLimit {
                    field: "memory swap",
                    value: format!("{swap} bytes"),
                    allowed: format!(
                        "memory plus swap: at least the memory limit ({mem} bytes), or -1 for unlimited swap"
                    ),
                });
            }
        }
        if let Some(shares) = self.cpu_shares {
            if !(MIN_SHARES..=MAX_SHARES).contains(&shares) {
                return Err(SpecError::InvalidLimit {
                    field: "cpu shares",
                    value: shares.to_string(),
                    allowed: format!("{MIN_SHARES} to {MAX_SHARES} (1024 is one CPU's worth)"),
                });
            }
        }
        if let Some(res) = self.memory_reservation_bytes {
            let max = self.memory_bytes.unwrap_or(i64::MAX);
            if res <= 0 || res > max {
                return Err(SpecError::InvalidLimit {
                    field: "memory reservation",
                    value: format!("{res} bytes"),
                    allowed: "more than 0 and at most the memory limit".into(),
                });
            }
        }
        if let Some(pids) = self.pids {
            if pids <= 0 {
                return Err(SpecError::InvalidLimit {
                    field: "pids",
                    value: pids.to_string(),
                    allowed: "at least 1".into(),
                });
            }
        }
        if let Some(set) = &self.cpuset {
            validate_cpuset(set, host_cpus)?;
        }
        Ok(())
    }

    /// The `linux.resources` of a new container: these limits plus the default device rule
    /// (deny everything; runc then allows its standard set of device nodes).
    pub fn to_linux(&self, host_cpus: usize) -> Result<LinuxResources, SpecError> {
        let deny_all = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()?;
        let mut r = self.update(host_cpus)?;
        r.set_devices(Some(vec![deny_all]));
        Ok(r)
    }

    /// The `LinuxResources` for a live update of a running container (no device rules).
    pub fn update(&self, host_cpus: usize) -> Result<LinuxResources, SpecError> {
        self.validate(host_cpus)?;
        let mut b = LinuxResourcesBuilder::default();
        if self.cpus.is_some() || self.cpuset.is_some() || self.cpu_shares.is_some() {
            let mut cpu = LinuxCpuBuilder::default();
            if let Some(cpus) = self.cpus {
                let (shares, quota) = cpu_mapping(cpus);
                cpu = cpu.shares(shares).quota(quota).period(CPU_PERIOD_US);
            }
            if let Some(shares) = self.cpu_shares {
                cpu = cpu.shares(shares);
            }
            if let Some(set) = &self.cpuset {
                cpu = cpu.cpus(set.clone());
            }
            b = b.cpu(cpu.build()?);
        }
        if self.memory_bytes.is_some() || self.memory_reservation_bytes.is_some() {
            let mut mem = LinuxMemoryBuilder::default();
            if let Some(limit) = self.memory_bytes {
                mem = mem
                    .limit(limit)
                    .swap(self.memory_swap_bytes.unwrap_or(limit));
            }
            if let Some(res) = self.memory_reservation_bytes {
                mem = mem.reservation(res);
            }
            b = b.memory(mem.build()?);
        }
        if let Some(pids) = self.pids {
            b = b.pids(LinuxPidsBuilder::default().limit(pids).build()?);
        }
        Ok(b.build()?)
    }
}

fn validate_cpuset(set: &str, host_cpus: usize) -> Result<(), SpecError> {
    let bad = |why: &str| SpecError::InvalidLimit {
        field: "cpuset",
        value: format!("{set:?}"),
        allowed: format!(
            "{why}; CPUs are numbered 0 to {} here, e.g. \"0-1,3\"",
            host_cpus.saturating_sub(1)
        ),
    };
    if set.is_empty() {
        return Err(bad("must not be empty"));
    }
    for part in set.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = match (a.trim().parse(), b.trim().parse()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return Err(bad("comma-separated CPU numbers or ranges")),
        };
        if a > b {
            return Err(bad("ranges must go upwards"));
        }
        if b >= host_cpus {
            return Err(bad("names a CPU this host does not have"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn half_a_core() {
        assert_eq!(cpu_mapping(0.5), (512, 50_000));
        assert_eq!(cpu_mapping(2.0), (2048, 200_000));
        assert_eq!(cpu_mapping(0.01), (10, 1_000));
    }

    #[test]
    fn memory_means_no_swap() {
        let r = Resources {
            memory_bytes: Some(64 << 20),
            ..Default::default()
        };
        let l = r.to_linux(2).unwrap();
        let m = l.memory().unwrap();
        assert_eq!((m.limit(), m.swap()), (Some(64 << 20), Some(64 << 20)));
        assert_eq!(l.devices().as_ref().unwrap().len(), 1);
    }

    #[test]
    fn swap_and_shares_as_docker_means_them() {
        let r = Resources {
            cpus: Some(1.0),
            cpu_shares: Some(512),
            memory_bytes: Some(64 << 20),
            memory_swap_bytes: Some(-1),
            ..Default::default()
        };
        let l = r.to_linux(2).unwrap();
        let cpu = l.cpu().as_ref().unwrap();
        assert_eq!((cpu.shares(), cpu.quota()), (Some(512), Some(100_000)));
        assert_eq!(l.memory().unwrap().swap(), Some(-1));
    }

    #[test]
    fn rejects() {
        let bad = [
            Resources {
                cpus: Some(f64::NAN),
                ..Default::default()
            },
            Resources {
                cpus: Some(0.0),
                ..Default::default()
            },
            Resources {
                cpus: Some(-1.0),
                ..Default::default()
            },
            Resources {
                cpus: Some(3.0),
                ..Default::default()
            },
            Resources {
                cpus: Some(f64::INFINITY),
                ..Default::default()
            },
            Resources {
                memory_bytes: Some(1 << 20),
                ..Default::default()
            },
            Resources {
                pids: Some(0),
                ..Default::default()
            },
            Resources {
                memory_bytes: Some(64 << 20),
                memory_reservation_bytes: Some(128 << 20),
                ..Default::default()
            },
            Resources {
                cpuset: Some("0-4".into()),
                ..Default::default()
            },
            Resources {
                cpuset: Some("1-0".into()),
                ..Default::default()
            },
            Resources {
                cpuset: Some("a".into()),
                ..Default::default()
            },
            Resources {
                memory_swap_bytes: Some(64 << 20),
                ..Default::default()
            },
            Resources {
                memory_bytes: Some(64 << 20),
                memory_swap_bytes: Some(32 << 20),
                ..Default::default()
            },
            Resources {
                cpu_shares: Some(1),
                ..Default::default()
            },
        ];
        for r in bad {
            let err = r.validate(2).unwrap_err().to_string();
            assert!(err.starts_with("invalid "), "{err}");
        }
        let err = Resources {
            cpus: Some(3.0),
            ..Default::default()
        }
        .validate(2)
        .unwrap_err();
        assert!(err.to_string().contains("0.01 to 2"), "{err}");
    }

    proptest! {
        #[test]
        fn shares_and_quota_track_cores(cpus in 0.01f64..=256.0) {
            let (shares, quota) = cpu_mapping(cpus);
            prop_assert!((MIN_SHARES..=MAX_SHARES).contains(&shares));
            prop_assert!((quota as f64 - cpus * 100_000.0).abs() <= 0.5);
            prop_assert!(quota >= 1_000);
            if cpus * 1024.0 >= 2.0 && cpus * 1024.0 <= 262_144.0 {
                prop_assert!((shares as f64 - cpus * 1024.0).abs() <= 0.5);
            }
        }

        #[test]
        fn valid_requests_always_map(cpus in 0.01f64..=2.0, mem in MIN_MEMORY_BYTES..(1i64 << 40), pids in 1i64..100_000) {
            let r = Resources { cpus: Some(cpus), memory_bytes: Some(mem), pids: Some(pids), ..Default::default() };
            let l = r.to_linux(2).unwrap();
            prop_assert_eq!(l.cpu().as_ref().unwrap().period(), Some(CPU_PERIOD_US));
            prop_assert_eq!(l.memory().unwrap().swap(), Some(mem));
            prop_assert_eq!(l.pids().unwrap().limit(), pids);
        }
    }
}
