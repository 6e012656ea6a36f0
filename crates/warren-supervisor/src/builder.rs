//! `Supervisor::builder(root, state)`: the options, each with its default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backoff::BackoffBounds;
use crate::handle::Supervisor;
use crate::options::{Mode, Options};
use crate::Error;

/// Options of a supervisor. Build with [`Supervisor::builder`], then [`start`](Self::start).
#[derive(Debug, Clone)]
pub struct SupervisorBuilder {
    options: Options,
}

impl Supervisor {
    /// Options for a daemon whose persistent data goes under `root_dir` and whose socket,
    /// pid file, config, lock and runtime state go under `state_dir` (keep that path short:
    /// the socket lives in it and must fit a unix socket, see
    /// [`MAX_SOCKET_PATH`](crate::MAX_SOCKET_PATH)).
    pub fn builder(root_dir: impl AsRef<Path>, state_dir: impl AsRef<Path>) -> SupervisorBuilder {
        SupervisorBuilder {
            options: Options::new(root_dir.as_ref(), state_dir.as_ref()),
        }
    }
}

impl SupervisorBuilder {
    /// The containerd binary: a path, or a name looked up in `PATH` (default `containerd`).
    pub fn binary(mut self, binary: impl Into<PathBuf>) -> Self {
        self.options.binary = binary.into();
        self
    }

    /// Set an environment variable for the daemon, over what it inherits from us (e.g.
    /// `PATH`, so it finds the right shim and runc first). `PATH` set here is also where a
    /// bare binary name is looked up. `NOTIFY_SOCKET`, `LISTEN_*` and `WATCHDOG_*` are never
    /// inherited (containerd would answer our service manager as if it were the service),
    /// but can be set here on purpose.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.env.push((key.into(), value.into()));
        self
    }

    /// containerd's log level (default `info`): trace, debug, info, warn, error, fatal or
    /// panic.
    pub fn log_level(mut self, level: impl Into<String>) -> Self {
        self.options.log_level = level.into();
        self
    }

    /// Serve containerd's debug (pprof) socket at `<state>/debug.sock` (default off).
    pub fn debug_socket(mut self, on: bool) -> Self {
        self.options.debug_socket = on;
        self
    }

    /// TOML merged over the config we write (tables merge key by key). Checked at `start`.
    pub fn extra_config(mut self, toml: impl Into<String>) -> Self {
        self.options.extra_config = Some(toml.into());
        self
    }

    /// Load the CRI plugin (default off: Warren does not need Kubernetes' API).
    pub fn cri(mut self, on: bool) -> Self {
        self.options.cri = on;
        self
    }

    /// containerd's OOM score adjustment, -1000 to 1000 (its `oom_score` setting; default
    /// unchanged). containerd.service uses -999 so the kernel kills containers first.
    pub fn oom_score_adj(mut self, adj: i32) -> Self {
        self.options.oom_score_adj = Some(adj);
        self
    }

    /// Managed (default) or detached: whether the daemon dies with the supervisor.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.options.mode = mode;
        self
    }

    /// How long a start may take to answer its health check (default 15 s).
    pub fn startup_timeout(mut self, t: Duration) -> Self {
        self.options.startup_timeout = t;
        self
    }

    /// Deadline of one health check (default 3 s).
    pub fn health_timeout(mut self, t: Duration) -> Self {
        self.options.health_timeout = t;
        self
    }

    /// Time between health checks of a running daemon (default 2 s).
    pub fn health_interval(mut self, t: Duration) -> Self {
        self.options.health_interval = t;
        self
    }

    /// Failed checks in a row after which a live daemon is killed and restarted (default 3).
    pub fn unhealthy_threshold(mut self, n: u32) -> Self {
        self.options.unhealthy_threshold = n.max(1);
        self
    }

    /// How long SIGTERM may take before SIGKILL (default 15 s).
    pub fn shutdown_timeout(mut self, t: Duration) -> Self {
        self.options.shutdown_timeout = t;
        self
    }

    /// Restart back-off bounds (default: immediate, then 100 ms doubling to 30 s).
    pub fn backoff(mut self, bounds: BackoffBounds) -> Self {
        self.options.backoff = bounds;
        self
    }

    /// Also append the daemon's output to this file (mode 0600), rotated to `.1` and `.2`
    /// once it holds 10 MiB. A detached daemon cannot write into a pipe of ours (it would
    /// die of SIGPIPE once we exit), so its output goes only to this file,
    /// `<state>/containerd.log` by default, and is not rotated (containerd writes it).
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.log_file = Some(path.into());
        self
    }

    /// Preflight, then adopt our still-running daemon or start a new one, and return once it
    /// answers its health check.
    ///
    /// Dropping the returned future before it completes kills a daemon it spawned.
    pub async fn start(self) -> Result<Supervisor, Error> {
        crate::start::start(self.options).await
    }
}
