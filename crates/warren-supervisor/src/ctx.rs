//! What start-up and the monitor share: the settings, the paths, the status they publish, and
//! the steps of bringing one daemon up (spawn, wait until it serves, check it is ours) or
//! down.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::blocking::blocking;
use crate::config::Paths;
use crate::events::{Event, Phase, Status};
use crate::options::{Mode, Options};
use crate::output::Tail;
use crate::process::{Daemon, SpawnSpec};
use crate::version::ReleaseLine;
use crate::{health, pidfile, preflight, proc_info, Error};

/// How often start-up asks the health service (a healthy start lands 20–120 ms after spawn).
const STARTUP_POLL: Duration = Duration::from_millis(10);

/// Where each line keeps the uuid its Introspection service reports (1.6 and 1.7 run it as
/// a service plugin, 2.x as a gRPC plugin).
const UUID_FILES: [&str; 2] = [
    "io.containerd.grpc.v1.introspection/uuid",
    "io.containerd.service.v1.introspection-service/uuid",
];

/// Everything needed to (re)start and watch the daemon.
pub(crate) struct Ctx {
    pub opts: Options,
    pub binary: PathBuf,
    pub paths: Paths,
    pub version: ReleaseLine,
    pub tail: Tail,
    pub events: broadcast::Sender<Event>,
    pub status: watch::Sender<Status>,
    /// The pidfd of the daemon of the moment, so that dropping the last handle can signal it
    /// at once, without waiting for the monitor task to be polled.
    pub current: Mutex<Option<Arc<OwnedFd>>>,
}

impl Ctx {
    pub(crate) fn managed(&self) -> bool {
        self.opts.mode == Mode::Managed
    }

    pub(crate) fn emit(&self, event: Event) {
        tracing::debug!(?event, "containerd supervisor");
        let _ = self.events.send(event);
    }

    pub(crate) fn set(&self, f: impl FnOnce(&mut Status)) {
        self.status.send_modify(f);
    }

    fn set_current(&self, pidfd: Option<Arc<OwnedFd>>) {
        if let Ok(mut c) = self.current.lock() {
            *c = pidfd;
        }
    }

    /// Where a detached daemon writes its output.
    pub(crate) fn detached_log(&self) -> PathBuf {
        self.opts
            .log_file
            .clone()
            .unwrap_or_else(|| self.paths.log_file.clone())
    }

    /// Spawn a new daemon (after clearing stale sockets) and record it in the pid file.
    pub(crate) async fn spawn(&self) -> Result<Daemon, Error> {
        for socket in self.paths.sockets() {
            preflight::clear_stale_socket(socket)?;
        }
        preflight::root_unused(&self.paths.root)?;
        let generation = self.status.borrow().generation + 1;
        self.set(|s| {
            s.phase = Phase::Starting;
            s.pid = None;
            s.generation = generation;
        });
        self.emit(Event::Starting { generation });
        self.tail.clear();
        let managed = self.managed();
        let mut daemon = Daemon::spawn(SpawnSpec {
            binary: &self.binary,
            config: &self.paths.config,
            env: &self.opts.env,
            managed,
            log_file: if managed {
                self.opts.log_file.clone()
            } else {
                Some(self.detached_log())
            },
            tail: self.tail.clone(),
        })
        .await?;
        let pid = daemon.pid();
        tracing::info!(pid, generation, binary = %self.binary.display(), "started containerd");
        let recorded = match proc_info::identity(pid as i32) {
            Some(id) => {
                let (file, config) = (self.paths.pid_file.clone(), self.paths.config.clone());
                blocking(move || pidfile::write(&file, &id, &config)).await
            }
            // Gone already: wait_serving reports how it ended.
            None => Ok(()),
        };
        if let Err(e) = recorded {
            daemon.kill().await;
            return Err(e);
        }
        self.set_current(Some(daemon.pidfd()));
        Ok(daemon)
    }

    /// Take over a running daemon of ours, recorded by an earlier supervisor.
    pub(crate) fn adopt(&self, id: &proc_info::Identity) -> Result<Daemon, Error> {
        let daemon = Daemon::adopt(id.pid, id.start_time, self.managed())?;
        let generation = self.status.borrow().generation + 1;
        self.set(|s| {
            s.phase = Phase::Starting;
            s.pid = Some(daemon.pid());
            s.generation = generation;
        });
        self.emit(Event::Adopted {
            pid: daemon.pid(),
            generation,
        });
        self.set_current(Some(daemon.pidfd()));
        Ok(daemon)
    }

    /// Wait until `daemon` serves and is the one answering on our socket; then publish it as
    /// healthy (counting a restart if `restart`).
    pub(crate) async fn ready(&self, daemon: &mut Daemon, restart: bool) -> Result<(), Error> {
        self.wait_serving(daemon).await?;
        self.check_identity(daemon).await?;
        // From now on a detached daemon outlives this value; a managed one never does.
        daemon.set_kill_on_drop(self.managed());
        let (pid, generation) = (daemon.pid(), self.status.borrow().generation);
        self.set(|s| {
            s.phase = Phase::Healthy;
            s.pid = Some(pid);
            s.failed_attempts = 0;
            s.restarts += u64::from(restart);
        });
        self.emit(Event::Healthy { pid, generation });
        Ok(())
    }

    /// Poll the health check until SERVING, but fail at once if the daemon exits, and at the
    /// start-up deadline even if a check hangs.
    async fn wait_serving(&self, daemon: &mut Daemon) -> Result<(), Error> {
        let deadline = Instant::now() + self.opts.startup_timeout;
        let socket = &self.paths.socket;
        let poll = async {
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if health::serving(socket, self.opts.health_timeout.min(left)).await {
                    return;
                }
                tokio::time::sleep(STARTUP_POLL).await;
            }
        };
        tokio::select! {
            () = poll => Ok(()),
            status = daemon.wait() => Err(Error::ExitedDuringStart {
                status,
                stderr_tail: self.last_words().await,
            }),
            () = tokio::time::sleep_until(deadline) => Err(Error::StartTimeout {
                timeout: self.opts.startup_timeout,
                stderr_tail: self.last_words().await,
            }),
        }
    }

    /// The daemon's last lines, once its final ones have had a moment to arrive.
    async fn last_words(&self) -> String {
        tokio::time::sleep(Duration::from_millis(30)).await;
        if !self.managed() {
            self.tail.load_file(&self.detached_log());
        }
        self.tail.text()
    }

    /// The daemon answering must be ours: its pid (reported from 1.7 on) and its uuid, which
    /// it keeps under our root. Another containerd pointed at our socket would steal it.
    async fn check_identity(&self, daemon: &Daemon) -> Result<(), Error> {
        let Some(info) = health::server_info(&self.paths.socket, self.opts.health_timeout).await
        else {
            tracing::warn!("containerd does not say who it is; trusting its health check");
            return Ok(());
        };
        let foreign = || Error::ForeignDaemon {
            path: self.paths.socket.clone(),
            ours: daemon.pid(),
            answered: info.pid,
        };
        if info.pid != 0 && info.pid != u64::from(daemon.pid()) {
            return Err(foreign());
        }
        let recorded = UUID_FILES
            .iter()
            .find_map(|f| std::fs::read_to_string(self.paths.root.join(f)).ok());
        match recorded {
            Some(uuid) if uuid.trim() != info.uuid => Err(foreign()),
            _ => Ok(()),
        }
    }

    /// Kill a daemon that will not do (failed start-up, hung), reap it, forget it.
    pub(crate) async fn discard(&self, daemon: &mut Daemon) -> crate::DaemonExit {
        let status = daemon.kill().await;
        self.forget(daemon);
        status
    }

    /// The daemon is gone: remove its pid file.
    pub(crate) fn forget(&self, daemon: &Daemon) {
        // The file may already name a newer daemon only if someone else wrote it: check.
        if pidfile::names(&self.paths.pid_file, daemon.pid()) {
            pidfile::remove(&self.paths.pid_file);
        }
        self.set_current(None);
    }

    /// SIGTERM (to the pid only: shims must survive), SIGKILL after the shutdown timeout.
    pub(crate) async fn stop(&self, daemon: &mut Daemon) {
        daemon.signal(Signal::SIGTERM);
        // A stopped process cannot act on SIGTERM until continued.
        daemon.signal(Signal::SIGCONT);
        match tokio::time::timeout(self.opts.shutdown_timeout, daemon.wait()).await {
            Ok(status) => tracing::info!(pid = daemon.pid(), %status, "containerd stopped"),
            Err(_) => {
                tracing::warn!(
                    pid = daemon.pid(),
                    timeout = ?self.opts.shutdown_timeout,
                    "containerd ignored SIGTERM; killing it"
                );
                daemon.kill().await;
            }
        }
        self.forget(daemon);
    }

    /// The supervisor is done and the daemon gone: remove the sockets, say so.
    pub(crate) fn finish_stopped(&self) {
        for socket in self.paths.sockets() {
            // Only if dead: never pull a socket from under a live server.
            let _ = preflight::clear_stale_socket(socket);
        }
        self.set_current(None);
        self.set(|s| {
            s.phase = Phase::Stopped;
            s.pid = None;
        });
        self.emit(Event::Stopped);
    }

    /// A detached supervisor let go: the daemon (if any) runs on.
    pub(crate) fn finish_released(&self, pid: Option<u32>) {
        self.set_current(None);
        self.set(|s| {
            s.phase = Phase::Released;
            s.pid = pid;
        });
        self.emit(Event::Released { pid });
    }
}
