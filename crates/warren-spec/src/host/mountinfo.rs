//! Where this host mounts its cgroup hierarchies, from `/proc/self/mountinfo`.
//!
//! We parse mountinfo ourselves because `cgroups-rs` 0.5 cannot answer the questions we ask:
//! its mountinfo reader drops `cgroup2` mounts (so a hybrid host looks like plain v1), its
//! `V1::root()` panics when no v1 hierarchy is mounted, and it matches named hierarchies such
//! as `name=systemd` by the wrong option. The parser is pure so every layout is unit-tested.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The cgroup v1 controllers a mount may carry (anything else in the super options, such as
/// `rw`, `relatime`, `clone_children` or `name=systemd`, is not a controller).
const V1_CONTROLLERS: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
];

/// The cgroup mounts of one mount namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupMounts {
    /// Each mounted v1 controller and its mount point (co-mounted controllers such as
    /// `cpu,cpuacct` share one).
    pub v1: BTreeMap<String, PathBuf>,
    /// The first `cgroup2` mount: `/sys/fs/cgroup` on a v2 host, `/sys/fs/cgroup/unified` on
    /// a hybrid one.
    pub unified: Option<PathBuf>,
}

/// Undo mountinfo's octal escapes (`\040` for a space, `\011`, `\012`, `\134`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|_| bytes[i] == b'\\')
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u8::from_str_radix(d, 8).ok());
        match octal {
            Some(b) => {
                out.push(b);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse the text of a mountinfo file.
pub fn parse(text: &str) -> CgroupMounts {
    let mut mounts = CgroupMounts::default();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount_point) = left.split(' ').nth(4) else {
            continue;
        };
        let mut right = right.split(' ');
        let (Some(fstype), Some(_source), Some(super_opts)) =
            (right.next(), right.next(), right.next())
        else {
            continue;
        };
        let mount_point = PathBuf::from(unescape(mount_point));
        match fstype {
            "cgroup2" => {
                mounts.unified.get_or_insert(mount_point);
            }
            "cgroup" => {
                for opt in super_opts.split(',') {
                    if V1_CONTROLLERS.contains(&opt) {
                        mounts
                            .v1
                            .entry(opt.to_string())
                            .or_insert_with(|| mount_point.clone());
                    }
                }
            }
            _ => {}
        }
    }
    mounts
}

/// The cgroup mounts this process sees (empty if mountinfo cannot be read).
pub fn read() -> CgroupMounts {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse(&t))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
";

    const V2: &str = "\
24 1 0:22 / /sys rw - sysfs sysfs rw
30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    #[test]
    fn hybrid_layout() {
        let m = parse(HYBRID);
        assert_eq!(m.unified, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert_eq!(
            m.v1.keys().collect::<Vec<_>>(),
            ["cpu", "cpuacct", "memory", "pids"]
        );
        assert_eq!(m.v1["cpuacct"], PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
    }

    #[test]
    fn v2_layout() {
        let m = parse(V2);
        assert_eq!(m.unified, Some(PathBuf::from("/sys/fs/cgroup")));
        assert!(m.v1.is_empty());
    }

    #[test]
    fn escapes_and_junk() {
        let m =
            parse("garbage\n1 2 3:4 / /mnt/with\\040space rw - cgroup cgroup rw,memory\n1 2 - x\n");
        assert_eq!(m.v1["memory"], PathBuf::from("/mnt/with space"));
        assert_eq!(unescape("a\\134b\\"), "a\\b\\");
    }
}
