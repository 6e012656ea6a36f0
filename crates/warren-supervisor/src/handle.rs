//! The handle callers keep: where the daemon listens, what it is doing, and how to stop it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use nix::sys::signal::Signal;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::ctx::Ctx;
use crate::events::{Event, Phase, Status};
use crate::monitor::Command;
use crate::version::ReleaseLine;
use crate::Error;

pub(crate) struct Inner {
    pub ctx: Arc<Ctx>,
    pub commands: mpsc::Sender<Command>,
}

impl Drop for Inner {
    /// The last handle is gone. The monitor task notices (its command channel closes) and
    /// stops a managed daemon; SIGTERM is sent from here as well, so the stop begins before
    /// drop returns even if the runtime is busy or shutting down.
    fn drop(&mut self) {
        if !self.ctx.managed() {
            return;
        }
        if let Some(pidfd) = self.ctx.current.lock().ok().and_then(|c| c.clone()) {
            let _ = crate::pidfd::send_signal(&pidfd, Signal::SIGTERM);
            let _ = crate::pidfd::send_signal(&pidfd, Signal::SIGCONT);
        }
    }
}

/// A supervised containerd. Cheap to clone (`Send + Sync`); every clone is the same
/// supervisor.
///
/// **Dropping the last clone** of a [`Mode::Managed`](crate::Mode::Managed) supervisor stops
/// the daemon: SIGTERM is sent before `drop` returns, then the monitor task waits for the
/// exit (SIGKILL after the shutdown timeout), removes the pid file and sockets and releases
/// the state-dir lock. A clean exit takes containerd a few milliseconds; call
/// [`shutdown`](Self::shutdown) to wait for it. If the tokio runtime ends first, the daemon is
/// SIGKILLed as the monitor task is dropped; if our whole process dies, the kernel SIGKILLs it
/// (`PR_SET_PDEATHSIG`). Shims and their containers survive all of these.
///
/// Dropping the last clone of a [`Mode::Detached`](crate::Mode::Detached) supervisor leaves
/// the daemon running, for a later supervisor on the same dirs to adopt.
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
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Supervisor { inner }
    }

    /// The daemon's gRPC socket (`<state>/containerd.sock`), for `warren_proto::connect`.
    pub fn address(&self) -> &Path {
        &self.inner.ctx.paths.socket
    }

    /// The config file written for the daemon (`<state>/containerd.toml`).
    pub fn config_path(&self) -> &Path {
        &self.inner.ctx.paths.config
    }

    /// The daemon's pid, while one runs.
    pub fn pid(&self) -> Option<u32> {
        self.inner.ctx.status.borrow().pid
    }

    /// The containerd line of the binary.
    pub fn version(&self) -> ReleaseLine {
        self.inner.ctx.version
    }

    /// The current status: phase, pid, generation, restarts.
    pub fn status(&self) -> Status {
        self.inner.ctx.status.borrow().clone()
    }

    /// Follow status changes. Runtime clients watch `generation` to know when to redial.
    pub fn watch_status(&self) -> watch::Receiver<Status> {
        self.inner.ctx.status.subscribe()
    }

    /// Lifecycle events from now on (a slow receiver loses the oldest past 256).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.inner.ctx.events.subscribe()
    }

    /// [`events`](Self::events) as a stream that skips over what a slow reader missed; it
    /// ends after [`Event::Stopped`] or [`Event::Released`].
    pub fn event_stream(&self) -> impl Stream<Item = Event> + Send + Unpin + 'static {
        Box::pin(futures::stream::unfold(
            (self.events(), false),
            |(mut rx, ended)| async move {
                if ended {
                    return None;
                }
                loop {
                    match rx.recv().await {
                        Ok(e) => {
                            let last = matches!(e, Event::Stopped | Event::Released { .. });
                            return Some((e, (rx, last)));
                        }
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::debug!(missed, "supervisor event stream lagged");
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }

    /// The daemon's last lines of output (up to 40).
    pub fn output_tail(&self) -> String {
        self.inner.ctx.tail.text()
    }

    /// Where the daemon's output is appended, if anywhere besides `tracing`: the
    /// [`log_file`](crate::SupervisorBuilder::log_file) option, or `<state>/containerd.log` for a
    /// detached daemon.
    pub fn log_file(&self) -> Option<PathBuf> {
        if self.inner.ctx.managed() {
            self.inner.ctx.opts.log_file.clone()
        } else {
            Some(self.inner.ctx.detached_log())
        }
    }

    /// Wait until the daemon is healthy (again), at most `timeout`.
    pub async fn wait_healthy(&self, timeout: Duration) -> Result<Status, Error> {
        let mut rx = self.watch_status();
        let wait = async move {
            rx.wait_for(|s| matches!(s.phase, Phase::Healthy | Phase::Stopped))
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

    /// Wait until the supervisor has stopped (someone called [`shutdown`](Self::shutdown)),
    /// at most `timeout`: dockerd's `WaitTimeout`.
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<(), Error> {
        let mut rx = self.watch_status();
        let wait = async move {
            let _ = rx
                .wait_for(|s| matches!(s.phase, Phase::Stopped | Phase::Released))
                .await;
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::WaitTimeout { timeout })
    }

    /// Stop the daemon (SIGTERM to its pid only, SIGKILL after the shutdown timeout), remove
    /// its pid file and sockets, and wait until that is done. Shims and their containers keep
    /// running. In detached mode too: shutdown stops the daemon. Stopping a stopped
    /// supervisor is fine.
    pub async fn shutdown(self) -> Result<(), Error> {
        let (done, rx) = oneshot::channel();
        let sent = self.inner.commands.send(Command::Shutdown(done)).await;
        if sent.is_ok() && rx.await.is_ok() {
            return Ok(());
        }
        match self.status().phase {
            Phase::Stopped => Ok(()),
            _ => Err(Error::Stopped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Supervisor>();
    }
}
