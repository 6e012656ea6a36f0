//! The daemon process: one we spawned (a tokio child, reaped by us) or one we adopted from
//! a pid file (watched through a pidfd, so its exit is noticed at once without polling).

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::unix::AsyncFd;
use tokio::process::{Child, Command};

use crate::output::{self, Tail};
use crate::Error;

/// Variables that must not reach containerd: systemd's notify and socket-activation
/// protocol would make it talk to *our* service manager as if it were the service.
const SCRUBBED_ENV: &[&str] = &[
    "NOTIFY_SOCKET",
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "WATCHDOG_PID",
    "WATCHDOG_USEC",
];

/// A running (or just exited) containerd.
#[derive(Debug)]
pub enum Daemon {
    Spawned(Child),
    Adopted { pid: i32, pidfd: AsyncFd<OwnedFd> },
}

/// How to spawn the daemon.
pub struct SpawnSpec<'a> {
    pub binary: &'a Path,
    pub config: &'a Path,
    pub env: &'a [(String, String)],
    /// Managed: output piped to tracing and the daemon killed if we vanish. Detached: output
    /// to `log_file` only (a pipe would SIGPIPE the daemon once we exit), survives us.
    pub managed: bool,
    pub log_file: Option<PathBuf>,
    pub detached_log: &'a Path,
    pub tail: Tail,
}

impl Daemon {
    /// Start containerd in a session of its own with a scrubbed environment.
    pub fn spawn(spec: SpawnSpec<'_>) -> Result<Daemon, Error> {
        let mut cmd = Command::new(spec.binary);
        cmd.arg("--config").arg(spec.config).stdin(Stdio::null());
        for k in SCRUBBED_ENV {
            cmd.env_remove(k);
        }
        for (k, v) in spec.env {
            cmd.env(k, v);
        }
        if spec.managed {
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
        } else {
            let open = |p: &Path| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| Error::io("opening daemon log", p, e))
            };
            let log = open(spec.detached_log)?;
            let log2 = log
                .try_clone()
                .map_err(|e| Error::io("opening daemon log", spec.detached_log, e))?;
            cmd.stdout(log).stderr(log2).kill_on_drop(false);
        }
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| Error::Binary {
            binary: spec.binary.to_path_buf(),
            reason: e.to_string(),
        })?;
        if spec.managed {
            if let Some(out) = child.stdout.take() {
                output::forward(out, "stdout", spec.tail.clone(), spec.log_file.clone());
            }
            if let Some(err) = child.stderr.take() {
                output::forward(err, "stderr", spec.tail, spec.log_file);
            }
        }
        Ok(Daemon::Spawned(child))
    }

    /// Watch a process we did not spawn.
    pub fn adopt(pid: i32) -> Result<Daemon, Error> {
        // SAFETY: pidfd_open takes plain integers; a non-negative result is a new fd we own.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(Error::io(
                "pidfd_open",
                format!("/proc/{pid}"),
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: `fd` was just returned by pidfd_open and is owned by nobody else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // SAFETY: we own `owned` and never close or reuse it while the AsyncFd holds it.
        let pidfd = unsafe { AsyncFd::register(owned) }
            .map_err(|e| Error::io("watching pidfd", format!("/proc/{pid}"), e.into()))?;
        Ok(Daemon::Adopted { pid, pidfd })
    }

    /// The daemon's pid.
    pub fn pid(&self) -> Option<i32> {
        match self {
            Daemon::Spawned(c) => c.id().map(|p| p as i32),
            Daemon::Adopted { pid, .. } => Some(*pid),
        }
    }

    /// Wait for the daemon to exit; describe how. Cancel-safe.
    pub async fn wait(&mut self) -> String {
        match self {
            Daemon::Spawned(c) => match c.wait().await {
                Ok(status) => status.to_string(),
                Err(e) => format!("unknown status ({e})"),
            },
            Daemon::Adopted { pidfd, .. } => {
                // A pidfd becomes readable when the process exits.
                match pidfd.readable().await {
                    Ok(mut guard) => {
                        guard.retain_ready();
                        "exited (adopted process: status not available)".to_string()
                    }
                    Err(e) => format!("unknown status ({e})"),
                }
            }
        }
    }

    /// Send `signal` to the daemon's pid only, never its group: shims must survive.
    pub fn signal(&self, signal: Signal) {
        if let Some(pid) = self.pid() {
            let _ = kill(Pid::from_raw(pid), signal);
        }
    }
}
