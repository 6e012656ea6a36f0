//! The secure Linux default every container starts from: containerd's default spec, plus
//! `noNewPrivileges` and a read-only cgroup mount.

use oci_spec::runtime::{
    Capability, LinuxCapabilitiesBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType, Mount, MountBuilder,
};

use crate::SpecError;

/// The capabilities a container process keeps (bounding, effective and permitted; never
/// inheritable or ambient): containerd's and Docker's default set.
pub const CAPABILITIES: &[Capability] = &[
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// Paths hidden from the container (kernel internals and hardware interfaces).
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths the container may read but never write.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Open files per process (soft and hard).
pub(crate) const NOFILE: u64 = 1024;

/// `caps` as the process's bounding, effective and permitted sets (never inheritable or
/// ambient).
pub(crate) fn capabilities(
    caps: &[Capability],
) -> Result<oci_spec::runtime::LinuxCapabilities, SpecError> {
    let set: oci_spec::runtime::Capabilities = caps.iter().copied().collect();
    Ok(LinuxCapabilitiesBuilder::default()
        .bounding(set.clone())
        .effective(set.clone())
        .permitted(set)
        .inheritable(oci_spec::runtime::Capabilities::new())
        .ambient(oci_spec::runtime::Capabilities::new())
        .build()?)
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()?)
}

/// The read-only option of a bind mount: `rro` (runc's recursive read-only: every mount
/// below the bound one is read-only too, through `mount_setattr`, kernel 5.12 and later) where
/// `recursive` says the host supports it, plain `ro` otherwise.
pub(crate) fn read_only(recursive: bool) -> &'static str {
    if recursive {
        "rro"
    } else {
        "ro"
    }
}

/// The standard mounts (`/dev/shm` of `shm_size` bytes, default 64 MiB). With the host's network namespace the kernel refuses a fresh sysfs
/// mount, so the host's /sys is bound read-only instead (as Docker does), recursively where
/// `recursive_ro`. A privileged container gets /sys and its cgroups writable.
pub(crate) fn mounts(
    host_network: bool,
    privileged: bool,
    recursive_ro: bool,
    shm_size: Option<u64>,
) -> Result<Vec<Mount>, SpecError> {
    let shm_size = format!("size={}k", shm_size.map_or(65536, |b| b.div_ceil(1024)));
    let ro = if privileged {
        "rw"
    } else {
        read_only(recursive_ro)
    };
    let sys = if host_network {
        mount(
            "/sys",
            "bind",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", ro],
        )?
    } else {
        let ro = if privileged { "rw" } else { "ro" };
        mount("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", ro])?
    };
    let cgroup_ro = if privileged { "rw" } else { "ro" };
    Ok(vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        sys,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", cgroup_ro],
        )?,
        mount(
            "/run",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
    ])
}

/// How the container's network namespace is set up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Network {
    /// A new, empty namespace (loopback only).
    #[default]
    New,
    /// Join an existing namespace, e.g. one a CNI plugin configured (`/var/run/netns/x`).
    /// It may be shared (another container's, the host's own through `/proc/1/ns/net`), so
    /// `net.*` sysctls are refused.
    Path(std::path::PathBuf),
    /// Join a namespace made for this container alone (the runtime's bridge networking
    /// makes one per container): joined by path like [`Network::Path`], and the container's
    /// own, so `net.*` sysctls are allowed.
    Own(std::path::PathBuf),
    /// Share the host's network.
    Host,
}

/// The container's namespaces: its own pid, ipc, uts and mount namespaces, the network as
/// asked, and (where `cgroup_ns`: hosts with cgroup v2, as Docker does there) its own cgroup
/// namespace, so it sees its own cgroup as the root of `/sys/fs/cgroup`.
pub(crate) fn namespaces(
    network: &Network,
    cgroup_ns: bool,
) -> Result<Vec<LinuxNamespace>, SpecError> {
    let mut out = Vec::with_capacity(6);
    for typ in [
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Mount,
    ] {
        out.push(LinuxNamespaceBuilder::default().typ(typ).build()?);
    }
    if cgroup_ns {
        out.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Cgroup)
                .build()?,
        );
    }
    match network {
        Network::Host => {}
        Network::New => out.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Network)
                .build()?,
        ),
        Network::Path(p) | Network::Own(p) => {
            crate::validate::absolute("network namespace", p)?;
            out.push(
                LinuxNamespaceBuilder::default()
                    .typ(LinuxNamespaceType::Network)
                    .path(p)
                    .build()?,
            )
        }
    }
    Ok(out)
}
