//! How far a container is confined beyond its namespaces: capabilities, seccomp,
//! no-new-privileges, the OOM score, and `privileged`, with Docker's flag meanings
//! (`--cap-add`, `--cap-drop`, `--security-opt seccomp=...`, `--security-opt
//! no-new-privileges=false`, `--oom-score-adj`, `--privileged`).

use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use oci_spec::runtime::{Capability, LinuxSeccomp};

use crate::defaults::CAPABILITIES;
use crate::SpecError;

/// Which seccomp filter a container's processes (and its execs) run under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Seccomp {
    /// Docker's and containerd's default profile, resolved for the container's effective
    /// capabilities (see [`crate::seccomp::default_profile`]).
    #[default]
    Default,
    /// No filter at all (`seccomp=unconfined`): every syscall the capabilities allow.
    Unconfined,
    /// A profile file in Docker's or the OCI format (`seccomp=/path/profile.json`), read and
    /// validated when the spec is built.
    Profile(PathBuf),
    /// A profile's JSON itself (what Docker's CLI sends after reading the file), validated
    /// when the spec is built.
    Json(String),
}

impl Seccomp {
    /// `default`, `unconfined` or `custom`: what kind of filter this is, for display.
    pub fn kind(&self) -> &'static str {
        match self {
            Seccomp::Default => "default",
            Seccomp::Unconfined => "unconfined",
            Seccomp::Profile(_) | Seccomp::Json(_) => "custom",
        }
    }
}

impl FromStr for Seccomp {
    type Err = SpecError;

    /// `default`, `unconfined`, the absolute path of a profile file, or a profile's JSON.
    fn from_str(s: &str) -> Result<Self, SpecError> {
        match s.trim_start() {
            "default" | "" => Ok(Seccomp::Default),
            "unconfined" => Ok(Seccomp::Unconfined),
            p if p.starts_with('/') => Ok(Seccomp::Profile(PathBuf::from(p))),
            j if j.starts_with('{') => Ok(Seccomp::Json(s.to_string())),
            _ => Err(SpecError::value(
                "seccomp",
                s,
                "default, unconfined, the absolute path of a profile file, or a profile's JSON",
            )),
        }
    }
}

/// The security settings of a container. `Default` is the secure default: the 14 default
/// capabilities, the default seccomp profile, no new privileges, OOM score 0.
#[derive(Debug, Clone, PartialEq, Eq, Default, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct Security {
    /// The seccomp filter.
    pub seccomp: Seccomp,
    /// Let processes gain privileges through setuid/setgid binaries and file capabilities
    /// (`--security-opt no-new-privileges=false`). Default: not allowed.
    pub allow_new_privileges: bool,
    /// Capabilities added to the default set (`NET_ADMIN`, `CAP_NET_ADMIN` or `ALL`).
    pub cap_add: Vec<String>,
    /// Capabilities removed from the default set (names as for `cap_add`; `ALL` removes
    /// every one, and then only `cap_add` counts).
    pub cap_drop: Vec<String>,
    /// Docker's `--privileged`, **which gives the container the host**: every capability,
    /// no seccomp filter (unless a profile is named), no masked or read-only `/proc` paths,
    /// a writable `/sys` and cgroup mount, and every host device. For trusted system tools
    /// only.
    pub privileged: bool,
    /// The OOM killer's preference for the container's processes, -1000 to 1000 (default 0,
    /// whatever the score of the process that starts it: containers do not inherit the
    /// daemon's protection).
    pub oom_score_adj: i32,
}

/// Every capability this crate knows, for `--privileged` and `--cap-add ALL`.
pub const ALL_CAPABILITIES: &[Capability] = &[
    Capability::AuditControl,
    Capability::AuditRead,
    Capability::AuditWrite,
    Capability::BlockSuspend,
    Capability::Bpf,
    Capability::CheckpointRestore,
    Capability::Chown,
    Capability::DacOverride,
    Capability::DacReadSearch,
    Capability::Fowner,
    Capability::Fsetid,
    Capability::IpcLock,
    Capability::IpcOwner,
    Capability::Kill,
    Capability::Lease,
    Capability::LinuxImmutable,
    Capability::MacAdmin,
    Capability::MacOverride,
    Capability::Mknod,
    Capability::NetAdmin,
    Capability::NetBindService,
    Capability::NetBroadcast,
    Capability::NetRaw,
    Capability::Perfmon,
    Capability::Setgid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::Setuid,
    Capability::SysAdmin,
    Capability::SysBoot,
    Capability::SysChroot,
    Capability::SysModule,
    Capability::SysNice,
    Capability::SysPacct,
    Capability::SysPtrace,
    Capability::SysRawio,
    Capability::SysResource,
    Capability::SysTime,
    Capability::SysTtyConfig,
    Capability::Syslog,
    Capability::WakeAlarm,
];

/// A capability by name: `NET_ADMIN`, `net_admin` or `CAP_NET_ADMIN`.
pub fn capability(field: &'static str, name: &str) -> Result<Capability, SpecError> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    Capability::from_str(bare).map_err(|_| {
        SpecError::value(
            field,
            name,
            "a capability name such as NET_ADMIN or CAP_SYS_TIME, or ALL",
        )
    })
}

fn is_all(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("ALL")
}

impl Security {
    /// The capabilities the container's processes hold (bounding, effective and permitted
    /// alike), in a stable order: the default set (or every one when privileged), minus
    /// `cap_drop`, plus `cap_add`, as Docker computes them.
    pub fn capabilities(&self) -> Result<Vec<Capability>, SpecError> {
        let mut set: Vec<Capability> = if self.privileged || self.cap_add.iter().any(|c| is_all(c))
        {
            ALL_CAPABILITIES.to_vec()
        } else {
            CAPABILITIES.to_vec()
        };
        if self.cap_drop.iter().any(|c| is_all(c)) {
            set.clear();
        }
        for name in self.cap_drop.iter().filter(|c| !is_all(c)) {
            let cap = capability("cap-drop", name)?;
            set.retain(|c| *c != cap);
        }
        for name in self.cap_add.iter().filter(|c| !is_all(c)) {
            let cap = capability("cap-add", name)?;
            if !set.contains(&cap) {
                set.push(cap);
            }
        }
        set.sort_by_key(|c| c.to_string());
        Ok(set)
    }

    /// The spec's `linux.seccomp`: `None` for no filter.
    pub fn seccomp_profile(&self, caps: &[Capability]) -> Result<Option<LinuxSeccomp>, SpecError> {
        match &self.seccomp {
            Seccomp::Profile(path) => crate::seccomp::load_profile(path, caps).map(Some),
            Seccomp::Json(json) if json.len() as u64 > crate::seccomp::MAX_PROFILE_BYTES => {
                Err(SpecError::value(
                    "seccomp",
                    "<inline profile>",
                    format!(
                        "a profile of at most {} bytes",
                        crate::seccomp::MAX_PROFILE_BYTES
                    ),
                ))
            }
            Seccomp::Json(json) => crate::seccomp::profile_from_json(
                Path::new("<seccomp profile given inline>"),
                json.as_bytes(),
                caps,
            )
            .map(Some),
            Seccomp::Unconfined => Ok(None),
            Seccomp::Default if self.privileged => Ok(None),
            Seccomp::Default => Ok(Some(crate::seccomp::default_profile(caps))),
        }
    }

    /// The filter this container actually gets: `default`, `unconfined` (asked for, or
    /// privileged without a profile) or `custom`.
    pub fn seccomp_kind(&self) -> &'static str {
        match self.seccomp {
            Seccomp::Default if self.privileged => "unconfined",
            ref s => s.kind(),
        }
    }

    /// Check what can be checked without building (the OOM score, the capability names).
    pub fn validate(&self) -> Result<(), SpecError> {
        if !(-1000..=1000).contains(&self.oom_score_adj) {
            return Err(SpecError::InvalidLimit {
                field: "oom-score-adj",
                value: self.oom_score_adj.to_string(),
                allowed: "-1000 to 1000".into(),
            });
        }
        self.capabilities().map(|_| ())
    }
}

/// Refuse a path inside a process's file-descriptor table (`/proc/self/fd/7`,
/// `/proc/1/task/1/fd/3`, `/proc/thread-self/fd`): as a working directory or a mount source
/// such a path can reach a directory the runtime left open on the host (CVE-2024-21626),
/// whatever the runtime version does about it.
pub(crate) fn not_in_fd_table(field: &'static str, path: &Path) -> Result<(), SpecError> {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let is_proc_id = |s: &str| s == "self" || s == "thread-self" || s.parse::<u32>().is_ok();
    let hit = match parts.as_slice() {
        [proc, id, fd, ..] if proc == "proc" && is_proc_id(id) && fd == "fd" => true,
        [proc, id, task, tid, fd, ..]
            if proc == "proc"
                && is_proc_id(id)
                && task == "task"
                && is_proc_id(tid)
                && fd == "fd" =>
        {
            true
        }
        _ => false,
    };
    if hit {
        return Err(SpecError::path(
            field,
            path,
            "must not be inside a process's file-descriptor table (/proc/<pid>/fd)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Security) -> Vec<String> {
        s.capabilities()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn capabilities_follow_dockers_rules() {
        let default = Security::default();
        assert_eq!(default.capabilities().unwrap().len(), 14);
        let s = Security {
            cap_add: vec!["net_admin".into(), "CAP_SYS_TIME".into()],
            cap_drop: vec!["NET_RAW".into()],
            ..Default::default()
        };
        let n = names(&s);
        assert_eq!(n.len(), 15);
        assert!(n.iter().any(|c| c == "NET_ADMIN") && n.iter().any(|c| c == "SYS_TIME"));
        assert!(!n.iter().any(|c| c == "NET_RAW"));
        let only = Security {
            cap_drop: vec!["ALL".into()],
            cap_add: vec!["CHOWN".into()],
            ..Default::default()
        };
        assert_eq!(names(&only), ["CHOWN"]);
        let all = Security {
            privileged: true,
            ..Default::default()
        };
        assert_eq!(all.capabilities().unwrap().len(), ALL_CAPABILITIES.len());
        let bad = Security {
            cap_add: vec!["SUPERPOWER".into()],
            ..Default::default()
        };
        let err = bad.capabilities().unwrap_err().to_string();
        assert!(
            err.contains("cap-add") && err.contains("SUPERPOWER"),
            "{err}"
        );
    }

    #[test]
    fn seccomp_choice() {
        let caps = Security::default().capabilities().unwrap();
        assert!(Security::default()
            .seccomp_profile(&caps)
            .unwrap()
            .is_some());
        let unconfined = Security {
            seccomp: "unconfined".parse().unwrap(),
            ..Default::default()
        };
        assert!(unconfined.seccomp_profile(&caps).unwrap().is_none());
        let privileged = Security {
            privileged: true,
            ..Default::default()
        };
        assert!(privileged.seccomp_profile(&caps).unwrap().is_none());
        assert!("relative.json".parse::<Seccomp>().is_err());
        let missing = Security {
            seccomp: "/nonexistent/profile.json".parse().unwrap(),
            ..Default::default()
        };
        assert!(missing.seccomp_profile(&caps).is_err());
    }

    #[test]
    fn fd_table_paths_are_refused() {
        for bad in [
            "/proc/self/fd/7",
            "/proc/self/fd",
            "/proc/thread-self/fd/3",
            "/proc/1/fd/4",
            "/proc/12/task/13/fd/5/x",
            "//proc/./self/fd/7",
        ] {
            assert!(
                not_in_fd_table("working dir", Path::new(bad)).is_err(),
                "{bad}"
            );
        }
        for ok in [
            "/proc",
            "/proc/self/status",
            "/srv/fd/1",
            "/data/proc/self/fd",
        ] {
            assert!(
                not_in_fd_table("working dir", Path::new(ok)).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn oom_score_range() {
        let s = Security {
            oom_score_adj: 1001,
            ..Default::default()
        };
        assert!(s.validate().is_err());
    }
}
