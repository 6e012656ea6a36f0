//! What the node has for containers: online CPUs, physical memory and process ids, as a
//! scheduler counts them.

/// The node's resources.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    /// Online CPUs.
    pub cpus: f64,
    /// Physical memory in bytes (`MemTotal` of `/proc/meminfo`).
    pub memory_bytes: u64,
    /// Process ids the kernel hands out (`/proc/sys/kernel/pid_max`).
    pub pids: u64,
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line.split_whitespace().skip(1);
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => n.checked_mul(1024),
        _ => None,
    }
}

impl Capacity {
    /// Read this host's (0 for what cannot be read).
    pub fn detect() -> Capacity {
        let memory_bytes = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| mem_total(&t))
            .unwrap_or(0);
        let pids = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        Capacity {
            cpus: super::cpu_count() as f64,
            memory_bytes,
            pids,
        }
    }

    /// What is left once `reserved` is set aside (never below zero).
    pub fn less(self, reserved: Capacity) -> Capacity {
        Capacity {
            cpus: (self.cpus - reserved.cpus).max(0.0),
            memory_bytes: self.memory_bytes.saturating_sub(reserved.memory_bytes),
            pids: self.pids.saturating_sub(reserved.pids),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_is_read_in_bytes() {
        let text = "MemTotal:       24605920 kB\nMemFree:  1 kB\n";
        assert_eq!(mem_total(text), Some(24_605_920 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn this_host_has_cpus_memory_and_pids() {
        let c = Capacity::detect();
        assert!(c.cpus >= 1.0 && c.memory_bytes > 0 && c.pids > 0, "{c:?}");
    }

    #[test]
    fn a_reservation_is_taken_off_and_never_below_zero() {
        let c = Capacity {
            cpus: 2.0,
            memory_bytes: 100,
            pids: 10,
        };
        let r = Capacity {
            cpus: 0.5,
            memory_bytes: 200,
            pids: 1,
        };
        assert_eq!(
            c.less(r),
            Capacity {
                cpus: 1.5,
                memory_bytes: 0,
                pids: 9
            }
        );
    }
}
