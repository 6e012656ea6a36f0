//! What a container asks for: the image, how to run it, with which limits, mounts,
//! confinement and network. Plain data, checked where it is used; warren-runtime's
//! `create_container` takes it, and warren-client builds node API specs from it.

use std::collections::BTreeMap;

use crate::health::HealthOverrides;
use crate::network::{DnsConfig, HostEntry, NetworkMode};
use crate::{Device, Mounts, Resources, Security, Ulimit};

/// When warren-runtime's `create_container` pulls the image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Pull only when the namespace does not have the image (the default).
    #[default]
    IfMissing,
    /// Always ask the registry (cheap when nothing changed: no blob is fetched again).
    Always,
    /// Never pull: a missing image is a `NotFound` error.
    Never,
}

/// What to run: an image, how to run it, with which limits and mounts. Plain data with
/// `Default`; `id` and `image` are required.
///
/// The command follows Docker's rules: `entrypoint` replaces the image's entrypoint (and
/// drops its cmd), `cmd` replaces the image's cmd; `env` is merged over the image's.
#[derive(Debug, Clone, Default, PartialEq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct ContainerRequest {
    /// Container id: containerd's identifier rule (letters, digits, `.`, `_`, `-`; at most
    /// 76 characters). Also the snapshot key and the hostname unless `hostname` is set.
    #[setters(into)]
    pub id: String,
    /// Image reference, e.g. `busybox` or `registry:5000/app@sha256:...`.
    #[setters(into)]
    pub image: String,
    /// When to pull the image.
    pub pull: PullPolicy,
    /// Replaces the image's entrypoint.
    #[setters(skip)]
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's cmd.
    #[setters(skip)]
    pub cmd: Option<Vec<String>>,
    /// `NAME=value` entries merged over the image's.
    #[setters(skip)]
    pub env: Vec<String>,
    /// Replaces the image's working dir.
    #[setters(into)]
    pub working_dir: Option<String>,
    /// Replaces the image's user: `uid`, `uid:gid`, `name` or `name:group` (names are
    /// resolved in the image's `/etc/passwd` and `/etc/group`).
    #[setters(into)]
    pub user: Option<String>,
    /// The container's hostname (default: its id).
    #[setters(into)]
    pub hostname: Option<String>,
    /// CPU, memory and pids limits.
    pub resources: Resources,
    /// Secrets, volumes, tmpfs, resolv.conf and hosts.
    pub mounts: Mounts,
    /// Networking: loopback only (default), the host's, the runtime's bridge network with
    /// published ports, or an existing namespace.
    pub network: NetworkMode,
    /// The signal that asks the container to stop (`SIGTERM`, `TERM`, `15`); default: the
    /// image's, else SIGTERM.
    #[setters(into)]
    pub stop_signal: Option<String>,
    /// Mount the image's filesystem read-only.
    pub readonly_rootfs: bool,
    /// Give the process a terminal (`docker run -t`): one output stream, with the terminal's
    /// line endings; its size can be changed while it runs (`Attached::resize`).
    pub tty: bool,
    /// Keep a stdin open that clients attach to (`docker run -i`); it stays open between
    /// attachments until warren-runtime's `AttachInput::close_stdin`.
    pub open_stdin: bool,
    /// The terminal's size at start, `(columns, rows)` (with `tty`).
    pub console_size: Option<(u16, u16)>,
    /// Capabilities, seccomp, no-new-privileges, OOM score and `privileged`; the default is
    /// the secure one (Docker's 14 capabilities, its default seccomp profile, no new
    /// privileges, OOM score 0).
    pub security: Security,
    /// Labels recorded on the container (keys under `io.warren.` are reserved).
    pub labels: BTreeMap<String, String>,
    /// Share one runc shim with the other containers that name the same group (containerd's
    /// `io.containerd.runc.v2.group` annotation). A shim takes about 4.4 MiB of memory (PSS)
    /// per container on its own and about 0.6 MiB per container when ten share it (measured by
    /// `cargo xtask bench scale`); the group's shim lives until its last container is
    /// deleted, and killing it ends every container of the group. A name by containerd's
    /// identifier rule; `None`: a shim of its own.
    #[setters(into)]
    pub shim_group: Option<String>,
    /// Process resource limits (Docker's `--ulimit`); `nofile` defaults to 1024:1024.
    pub ulimits: Vec<Ulimit>,
    /// Host devices made available inside (Docker's `--device`).
    pub devices: Vec<Device>,
    /// Kernel parameters of the container's own namespaces (Docker's `--sysctl`): `net.*`
    /// (not with the host's network), `fs.mqueue.*` and the IPC ones.
    pub sysctls: BTreeMap<String, String>,
    /// The NIS domain name (Docker's `--domainname`).
    #[setters(into)]
    pub domainname: Option<String>,
    /// Name servers, search domains and resolver options for `/etc/resolv.conf`.
    pub dns: DnsConfig,
    /// Extra `/etc/hosts` entries (Docker's `--add-host`).
    pub extra_hosts: Vec<HostEntry>,
    /// Health check overrides (`--health-*`, `--no-healthcheck`), merged over the image's
    /// `Healthcheck`; the result is recorded on the container (warren-runtime's `HEALTH_LABEL`).
    pub health: HealthOverrides,
}

impl ContainerRequest {
    /// A request to run `image` as container `id`, everything else at its default; change
    /// the rest with the setters (`.cmd(...)`, `.resources(...)`, ...).
    pub fn new(id: impl Into<String>, image: impl Into<String>) -> ContainerRequest {
        ContainerRequest {
            id: id.into(),
            image: image.into(),
            ..Default::default()
        }
    }

    /// Replace the image's entrypoint (and drop its cmd) with `args`.
    pub fn entrypoint<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.entrypoint = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// Replace the image's cmd with `args`.
    pub fn cmd<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.cmd = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// Set the `NAME=value` entries merged over the image's environment.
    pub fn env<S: Into<String>>(mut self, env: impl IntoIterator<Item = S>) -> Self {
        self.env = env.into_iter().map(Into::into).collect();
        self
    }
}
