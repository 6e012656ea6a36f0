//! Containers: create, start, stop, delete, status, logs, wait, exec, pause/resume, live
//! resource updates, metrics and events, on top of warren-spec and the image half.
//!
//! Every multi-step operation undoes its finished steps when a later one fails, so a failed
//! call leaves no container record, snapshot, task, lease, FIFO or log file behind.

mod attach;
mod control;
mod create;
mod events;
mod exec;
mod exec_attach;
mod exec_stream;
mod fifo;
mod health;
pub(crate) mod io;
pub(crate) mod labels;
mod logs;
mod metrics;
mod output_end;
mod security;
pub mod shims;
mod signal;
mod stale_exec;
pub(crate) mod start;
mod status;
pub(crate) use status::not_found;
mod stop;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::RuntimeError;

pub use attach::{AttachInput, AttachOutput, AttachOutputStream, Attached};
pub use events::{ContainerEvent, ContainerEventKind};
pub use exec::{ExecOutput, ExecRequest, MAX_EXEC_OUTPUT};
pub use exec_attach::{ExecSession, ExecWait};
pub use exec_stream::{ExecEvent, ExecStream};
pub use health::HEALTH_LABEL;
pub use logs::{LogLine, LogOptions, LogStream};
pub use metrics::ContainerMetrics;
pub use security::SecurityInfo;
pub use status::{ContainerInfo, ContainerState, ContainerStatus, ExitStatus};

/// The runtime containerd runs our containers with.
pub const RUNTIME_NAME: &str = "io.containerd.runc.v2";

/// Refuse an id containerd would refuse (letters, digits and single `.`, `_`, `-`; at most
/// 76 characters) before it is used for anything, a path under the state directory above
/// all: `../x` must never name a file outside it.
pub(crate) fn check_id(id: &str) -> Result<(), RuntimeError> {
    warren_proto::namespace::validate_identifier("container id", id)?;
    Ok(())
}

/// Where and how containers keep their files; from [`crate::RuntimeOptions`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `<state_dir>/<namespace>`: one directory per container below it.
    pub state_dir: PathBuf,
    pub runc_binary: Option<PathBuf>,
    pub runc_root: Option<PathBuf>,
    pub log_max_bytes: u64,
    pub log_max_files: usize,
    /// The logger binary the shim runs (`None`: this process copies output from FIFOs).
    pub logger: Option<PathBuf>,
}

impl Settings {
    /// The container's own directory: its log files and stdio FIFOs.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.state_dir.join(id)
    }

    /// The logger spec of container `id`.
    pub fn logger_spec(&self, id: &str, tty: bool, stdin: bool) -> crate::logger::Spec {
        crate::logger::Spec {
            path: self.dir(id).join(crate::logger::LOG_FILE),
            max_bytes: self.log_max_bytes,
            max_files: self.log_max_files,
            tty,
            stdin,
            // Without a terminal, the shim connects no stdin to a binary:// logger's task.
            fifos: stdin && !tty,
        }
    }
}

/// When [`create_container`](crate::ContainerdRuntime::create_container) pulls the image.
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
    pub resources: warren_spec::Resources,
    /// Secrets, volumes, tmpfs, resolv.conf and hosts.
    pub mounts: warren_spec::Mounts,
    /// Networking: loopback only (default), the host's, the runtime's bridge network with
    /// published ports, or an existing namespace.
    pub network: crate::network::NetworkMode,
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
    /// attachments until [`AttachInput::close_stdin`](crate::AttachInput::close_stdin).
    pub open_stdin: bool,
    /// The terminal's size at start, `(columns, rows)` (with `tty`).
    pub console_size: Option<(u16, u16)>,
    /// Capabilities, seccomp, no-new-privileges, OOM score and `privileged`; the default is
    /// the secure one (Docker's 14 capabilities, its default seccomp profile, no new
    /// privileges, OOM score 0).
    pub security: warren_spec::Security,
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
    pub ulimits: Vec<warren_spec::Ulimit>,
    /// Host devices made available inside (Docker's `--device`).
    pub devices: Vec<warren_spec::Device>,
    /// Kernel parameters of the container's own namespaces (Docker's `--sysctl`): `net.*`
    /// (not with the host's network), `fs.mqueue.*` and the IPC ones.
    pub sysctls: BTreeMap<String, String>,
    /// The NIS domain name (Docker's `--domainname`).
    #[setters(into)]
    pub domainname: Option<String>,
    /// Name servers, search domains and resolver options for `/etc/resolv.conf`.
    pub dns: crate::network::DnsConfig,
    /// Extra `/etc/hosts` entries (Docker's `--add-host`).
    pub extra_hosts: Vec<crate::network::HostEntry>,
    /// Health check overrides (`--health-*`, `--no-healthcheck`), merged over the image's
    /// `Healthcheck`; the result is recorded on the container ([`HEALTH_LABEL`]).
    pub health: warren_spec::health::HealthOverrides,
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

pub(crate) fn to_system_time(t: Option<&prost_types::Timestamp>) -> Option<SystemTime> {
    let t = t?;
    if t.seconds <= 0 {
        return None;
    }
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::new(t.seconds as u64, t.nanos.max(0) as u32))
}
