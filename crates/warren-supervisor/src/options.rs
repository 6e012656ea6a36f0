//! The supervisor's options as [`SupervisorBuilder`](crate::SupervisorBuilder) collects
//! them, with their defaults and their check: what start-up and the monitor read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backoff::BackoffBounds;
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

/// A supervisor's options (see the builder's setters for what each means).
#[derive(Debug, Clone)]
pub(crate) struct Options {
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

impl Options {
    pub(crate) fn new(root_dir: &Path, state_dir: &Path) -> Self {
        Options {
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
}
