//! The daemon process, watched and signalled through a pidfd whether we spawned it or adopted
//! it: its exit wakes us at once (no polling), and a signal can never reach another process
//! that reused its pid.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::unix::AsyncFd;

use crate::exit::DaemonExit;
use crate::output::{self, Tail};
use crate::{isolation, pidfd, proc_info, spawner, Error};

/// A running (or just exited) containerd.
#[derive(Debug)]
pub(crate) struct Daemon {
    pid: i32,
    pidfd: AsyncFd<Arc<OwnedFd>>,
    /// Set when we spawned it: we reap it, and so learn its exit status.
    child: Option<Child>,
    exit: Option<DaemonExit>,
    /// SIGKILL it if this value is dropped while it runs (a managed daemon, or any daemon
    /// whose start-up was abandoned).
    kill_on_drop: bool,
}

/// How to spawn the daemon.
pub(crate) struct SpawnSpec<'a> {
    pub binary: &'a Path,
    pub config: &'a Path,
    pub env: &'a [(String, String)],
    /// Managed: output piped to tracing (and `log_file` if set), SIGKILLed by the kernel if
    /// our process dies. Detached: output appended to `log_file` only (a pipe would SIGPIPE
    /// the daemon once we exit), and it outlives us.
    pub managed: bool,
    pub log_file: Option<PathBuf>,
    pub tail: Tail,
}

impl Daemon {
    /// Start containerd in a session of its own, stdin `/dev/null`, working directory `/`
    /// (containerd looks for shims in its working directory first), environment scrubbed.
    pub(crate) async fn spawn(spec: SpawnSpec<'_>) -> Result<Daemon, Error> {
        let mut cmd = Command::new(spec.binary);
        cmd.arg("--config")
            .arg(spec.config)
            .stdin(Stdio::null())
            .current_dir("/");
        isolation::scrub_env(&mut cmd);
        for (k, v) in spec.env {
            cmd.env(k, v);
        }
        match (&spec.log_file, spec.managed) {
            (_, true) => {
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
            (Some(path), false) => {
                let log = output::open_log(path)?;
                let log2 = log
                    .try_clone()
                    .map_err(|e| Error::io("opening daemon log", path, e))?;
                cmd.stdout(log).stderr(log2);
            }
            (None, false) => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let managed = spec.managed;
        isolation::set_apart(&mut cmd, managed);
        let mut child = spawner::spawn(cmd).await.map_err(|source| Error::Spawn {
            binary: spec.binary.to_path_buf(),
            source,
        })?;
        let pid = child.id() as i32;
        // The child is not reaped until we wait for it, so its pid cannot be reused here.
        let pidfd = match pidfd::open(pid) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        if managed {
            let log = spec.log_file.clone().map(|p| {
                Arc::new(std::sync::Mutex::new(output::RotatingLog::new(
                    p,
                    output::LOG_MAX_BYTES,
                )))
            });
            if let Some(out) = child.stdout.take() {
                output::forward_std(out, "stdout", spec.tail.clone(), log.clone());
            }
            if let Some(err) = child.stderr.take() {
                output::forward_std(err, "stderr", spec.tail, log);
            }
        }
        Ok(Daemon {
            pid,
            pidfd,
            child: Some(child),
            exit: None,
            kill_on_drop: true,
        })
    }

    /// Watch a process we did not spawn, provided it still started at `start_time` once we
    /// hold its pidfd (it may have died and its pid been reused since it was checked).
    pub(crate) fn adopt(pid: i32, start_time: u64, kill_on_drop: bool) -> Result<Daemon, Error> {
        let pidfd = pidfd::open(pid)?;
        match proc_info::identity(pid) {
            Some(id) if id.start_time == start_time => Ok(Daemon {
                pid,
                pidfd,
                child: None,
                exit: None,
                kill_on_drop,
            }),
            _ => Err(Error::io(
                "adopting",
                format!("/proc/{pid}"),
                std::io::Error::from_raw_os_error(libc::ESRCH),
            )),
        }
    }

    /// The daemon's pid.
    pub(crate) fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// A shared handle on the pidfd, to signal this very process from elsewhere.
    pub(crate) fn pidfd(&self) -> Arc<OwnedFd> {
        self.pidfd.get_ref().clone()
    }

    /// Whether dropping this value SIGKILLs a still-running daemon.
    pub(crate) fn set_kill_on_drop(&mut self, on: bool) {
        self.kill_on_drop = on;
    }

    /// The exit status, once [`wait`](Self::wait) has seen the exit.
    pub(crate) fn exited(&self) -> Option<DaemonExit> {
        self.exit
    }

    /// Wait for the daemon to exit (and reap it if it is our child). Cancel-safe.
    pub(crate) async fn wait(&mut self) -> DaemonExit {
        if let Some(status) = self.exit {
            return status;
        }
        // A pidfd turns readable when the process has exited.
        if self.pidfd.readable().await.is_err() {
            // Only when the runtime is shutting down: we cannot tell, so claim nothing.
            return DaemonExit::default();
        }
        let status = match &mut self.child {
            Some(child) => loop {
                match child.try_wait() {
                    Ok(Some(status)) => break status.into(),
                    // Readable means exited, so the zombie is there to reap; a retry only
                    // covers the thread-group teardown that may still be in flight.
                    Ok(None) => tokio::time::sleep(Duration::from_millis(1)).await,
                    Err(_) => break DaemonExit::default(),
                }
            },
            None => DaemonExit::default(),
        };
        self.exit = Some(status);
        status
    }

    /// Send `signal` to the daemon's pid only, never its group: shims must survive. Does
    /// nothing once it has exited.
    pub(crate) fn signal(&self, signal: Signal) {
        if self.exit.is_none() {
            let _ = pidfd::send_signal(self.pidfd.get_ref(), signal);
        }
    }

    /// SIGKILL the daemon and wait until it is gone.
    pub(crate) async fn kill(&mut self) -> DaemonExit {
        self.signal(Signal::SIGKILL);
        self.wait().await
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.exit.is_some() {
            return;
        }
        if self.kill_on_drop {
            self.signal(Signal::SIGKILL);
        }
        // Never leave a zombie: reap our child once it exits, without blocking here.
        if let Some(mut child) = self.child.take() {
            if !matches!(child.try_wait(), Ok(Some(_))) {
                let _ = std::thread::Builder::new()
                    .name("containerd-reaper".into())
                    .spawn(move || {
                        let _ = child.wait();
                    });
            }
        }
    }
}
