//! `Supervisor::builder(root, state)`: the options, each with its default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backoff::BackoffBounds;
use crate::handle::Supervisor;
use crate::Error;

/// Whether the daemon's life is tied to the supervisor's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Stopped when the supervisor shuts down or its last handle is dropped, and killed by
    /// the kernel if our process dies (default).
    Managed,
    /// Outlives the supervisor and our process; a later supervisor on the same dirs adopts it.
    Detached,
}

/// Options of a supervisor. Build with [`Supervisor::builder`], then [`start`](Self::start).
#[derive(Debug, Clone)]
pub struct SupervisorBuilder {
    pub(crate) root_dir: PathBuf,
    pub(crate) state_dir: PathBuf,
    pub(crate) binary: PathBuf,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) log_level: String,
    pub(crate) debug_socket: bool,
    pub(crate) extra_config: Option<String>,
    pub(crate) cri: bool,
    pub(crate) oom_score_adj: Option<i32>,
    pub(crate) mode: Mode,
    pub(crate) startup_timeout: Duration,
    pub(crate) health_timeout: Duration,
    pub(crate) health_interval: Duration,
    pub(crate) unhealthy_threshold: u32,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) backoff: BackoffBounds,
    pub(crate) log_file: Option<PathBuf>,
}

impl SupervisorBuilder {
    pub(crate) fn new(root_dir: &Path, state_dir: &Path) -> Self {
        SupervisorBuilder {
            root_dir: root_dir.to_path_buf(),
            state_dir: state_dir.to_path_buf(),
            binary: PathBuf::from("containerd"),
            env: Vec::new(),
            log_level: "info".into(),
            debug_socket: false,
            extra_config: None,
            cri: false,
            oom_score_adj: None,
            mode: Mode::Managed,
            startup_timeout: Duration::from_secs(15),
            health_timeout: Duration::from_secs(3),
            health_interval: Duration::from_secs(2),
            unhealthy_threshold: 3,
            shutdown_timeout: Duration::from_secs(15),
            backoff: BackoffBounds::default(),
            log_file: None,
        }
    }

    /// The containerd binary: a path, or a name looked up in `PATH` (default `containerd`).
    pub fn binary(mut self, binary: impl Into<PathBuf>) -> Self {
        self.binary = binary.into();
        self
    }

    /// Set an environment variable for the daemon, over what it inherits from us (e.g.
    /// `PATH`, so it finds the right shim and runc first). `PATH` set here is also where a
    /// bare binary name is looked up. `NOTIFY_SOCKET`, `LISTEN_*` and `WATCHDOG_*` are never
    /// inherited (containerd would answer our service manager as if it were the service),
    /// but can be set here on purpose.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// containerd's log level (default `info`): trace, debug, info, warn, error, fatal or
    /// panic.
    pub fn log_level(mut self, level: impl Into<String>) -> Self {
        self.log_level = level.into();
        self
    }

    /// Serve containerd's debug (pprof) socket at `<state>/debug.sock` (default off).
    pub fn debug_socket(mut self, on: bool) -> Self {
        self.debug_socket = on;
        self
    }

    /// TOML merged over the config we write (tables merge key by key). Checked at `start`.
    pub fn extra_config(mut self, toml: impl Into<String>) -> Self {
        self.extra_config = Some(toml.into());
        self
    }

    /// Load the CRI plugin (default off: Warren does not need Kubernetes' API).
    pub fn cri(mut self, on: bool) -> Self {
        self.cri = on;
        self
    }

    /// containerd's OOM score adjustment, -1000 to 1000 (its `oom_score` setting; default
    /// unchanged). containerd.service uses -999 so the kernel kills containers first.
    pub fn oom_score_adj(mut self, adj: i32) -> Self {
        self.oom_score_adj = Some(adj);
        self
    }

    /// Managed (default) or detached: whether the daemon dies with the supervisor.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// How long a start may take to answer its health check (default 15 s).
    pub fn startup_timeout(mut self, t: Duration) -> Self {
        self.startup_timeout = t;
        self
    }

    /// Deadline of one health check (default 3 s).
    pub fn health_timeout(mut self, t: Duration) -> Self {
        self.health_timeout = t;
        self
    }

    /// Time between health checks of a running daemon (default 2 s).
    pub fn health_interval(mut self, t: Duration) -> Self {
        self.health_interval = t;
        self
    }

    /// Failed checks in a row after which a live daemon is killed and restarted (default 3).
    pub fn unhealthy_threshold(mut self, n: u32) -> Self {
        self.unhealthy_threshold = n.max(1);
        self
    }

    /// How long SIGTERM may take before SIGKILL (default 15 s).
    pub fn shutdown_timeout(mut self, t: Duration) -> Self {
        self.shutdown_timeout = t;
        self
    }

    /// Restart back-off bounds (default: immediate, then 100 ms doubling to 30 s).
    pub fn backoff(mut self, bounds: BackoffBounds) -> Self {
        self.backoff = bounds;
        self
    }

    /// Also append the daemon's output to this file (mode 0600), rotated to `.1` and `.2`
    /// once it holds 10 MiB. A detached daemon cannot write into a pipe of ours (it would
    /// die of SIGPIPE once we exit), so its output goes only to this file,
    /// `<state>/containerd.log` by default, and is not rotated (containerd writes it).
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_file = Some(path.into());
        self
    }

    /// Reject options out of range, before anything is created.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let bad = |option, value: String, allowed| {
            Err(Error::InvalidOption {
                option,
                value,
                allowed,
            })
        };
        const LEVELS: [&str; 8] = [
            "trace", "debug", "info", "warn", "warning", "error", "fatal", "panic",
        ];
        if !LEVELS.contains(&self.log_level.as_str()) {
            return bad(
                "log_level",
                self.log_level.clone(),
                "one of trace, debug, info, warn, error, fatal, panic",
            );
        }
        if let Some(adj) = self.oom_score_adj.filter(|a| !(-1000..=1000).contains(a)) {
            return bad("oom_score_adj", adj.to_string(), "-1000 to 1000");
        }
        for (option, value) in [
            ("startup_timeout", self.startup_timeout),
            ("health_timeout", self.health_timeout),
            ("health_interval", self.health_interval),
            ("shutdown_timeout", self.shutdown_timeout),
        ] {
            if value.is_zero() {
                return bad(option, format!("{value:?}"), "more than zero");
            }
        }
        if self.backoff.initial > self.backoff.max {
            return bad(
                "backoff",
                format!("{:?}", self.backoff),
                "initial no longer than max",
            );
        }
        for (k, _) in &self.env {
            if k.is_empty() || k.contains('=') || k.contains('\0') {
                return bad("env", k.clone(), "a variable name without '=' or NUL");
            }
        }
        Ok(())
    }

    /// Preflight, then adopt our still-running daemon or start a new one, and return once it
    /// answers its health check.
    ///
    /// Dropping the returned future before it completes kills a daemon it spawned.
    pub async fn start(self) -> Result<Supervisor, Error> {
        crate::start::start(self).await
    }
}
