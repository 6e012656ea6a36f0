//! The handle callers keep: where the daemon listens, what it is doing, and how to stop it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::builder::SupervisorBuilder;
use crate::events::{Event, Phase, Status};
use crate::lock::StateLock;
use crate::monitor::Command;
use crate::start::Ctx;
use crate::version::DaemonVersion;
use crate::Error;

pub(crate) struct Inner {
    pub ctx: Arc<Ctx>,
    pub commands: mpsc::Sender<Command>,
    pub _lock: StateLock,
}

/// A supervised containerd. Cheap to clone; every clone is the same supervisor.
///
/// In [`Mode::Managed`](crate::Mode::Managed) the daemon is stopped (SIGTERM, then SIGKILL
/// after the shutdown timeout) when [`shutdown`](Self::shutdown) is called or the last clone
/// is dropped; the stop then runs on the tokio runtime in the background, and if the runtime
/// itself is gone the daemon is killed. In detached mode dropping leaves it running.
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("address", &self.address())
            .field("status", &*self.inner.ctx.status.borrow())
            .finish()
    }
}

impl Supervisor {
    /// Options for a daemon whose persistent data goes under `root_dir` and whose sockets,
    /// pid file, config and runtime state go under `state_dir` (keep that path short: the
    /// socket lives in it and must fit a unix socket).
    pub fn builder(root_dir: impl AsRef<Path>, state_dir: impl AsRef<Path>) -> SupervisorBuilder {
        SupervisorBuilder::new(root_dir.as_ref(), state_dir.as_ref())
    }

    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Supervisor { inner }
    }

    /// The daemon's gRPC socket.
    pub fn address(&self) -> &Path {
        &self.inner.ctx.paths.socket
    }

    /// The config file written for the daemon.
    pub fn config_path(&self) -> &Path {
        &self.inner.ctx.paths.config
    }

    /// The daemon's pid, while one runs.
    pub fn pid(&self) -> Option<u32> {
        self.inner.ctx.status.borrow().pid
    }

    /// The containerd line of the binary.
    pub fn version(&self) -> DaemonVersion {
        self.inner.ctx.version
    }

    /// The current status (phase, pid, generation, restarts).
    pub fn status(&self) -> Status {
        self.inner.ctx.status.borrow().clone()
    }

    /// Follow status changes.
    pub fn watch_status(&self) -> watch::Receiver<Status> {
        self.inner.ctx.status.subscribe()
    }

    /// Lifecycle events from now on.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.inner.ctx.events.subscribe()
    }

    /// How long callers should be prepared to wait for the daemon to (re)start: the
    /// start-up timeout.
    pub fn wait_timeout(&self) -> Duration {
        self.inner.ctx.opts.startup_timeout
    }

    /// The last lines the daemon printed.
    pub fn output_tail(&self) -> String {
        self.inner.ctx.tail.text()
    }

    /// The daemon's log file in detached mode (`<state>/containerd.log`).
    pub fn detached_log(&self) -> PathBuf {
        self.inner.ctx.paths.log_file.clone()
    }

    /// Wait until the daemon is healthy (again), at most `timeout`.
    pub async fn wait_healthy(&self, timeout: Duration) -> Result<Status, Error> {
        let mut rx = self.watch_status();
        let wait = async move {
            rx.wait_for(|s| s.phase == Phase::Healthy || s.phase == Phase::Stopped)
                .await
                .map(|s| s.clone())
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(s)) if s.phase == Phase::Healthy => Ok(s),
            Ok(_) => Err(Error::Stopped),
            Err(_) => Err(Error::StartTimeout {
                timeout,
                stderr_tail: self.output_tail(),
            }),
        }
    }

    /// Stop the daemon (SIGTERM, SIGKILL after the shutdown timeout), remove its pid file
    /// and sockets, and wait until that is done. Shims and their containers keep running.
    pub async fn shutdown(self) -> Result<(), Error> {
        let (done, rx) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Shutdown(done))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }
}
