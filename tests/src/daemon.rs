//! One private containerd per test binary, started on first use and torn down at exit.
//!
//! The daemon gets a temporary root and state under `/tmp` (short, so the socket path fits a
//! unix socket), the CRI plugin disabled, and the line's shim and runc first in `PATH`. It is
//! ready when `grpc.health.v1.Health/Check` says SERVING. At process exit (after every test,
//! whether it passed or panicked) an `atexit` hook kills every task left in the daemon, stops
//! it, kills any shim still serving its namespaces, unmounts what it mounted and removes the
//! temporary directory.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use warren_proto::grpc::health::v1::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

use crate::cleanup;
use crate::deps;

/// A running private containerd.
pub struct TestDaemon {
    dir: PathBuf,
    socket: PathBuf,
    child: Mutex<Option<Child>>,
}

static SHARED: OnceLock<TestDaemon> = OnceLock::new();

/// The daemon of this test binary, started on first use.
pub fn shared() -> &'static TestDaemon {
    SHARED.get_or_init(|| {
        let daemon = TestDaemon::start().unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: registering a plain extern "C" function with no captured state.
        unsafe { libc::atexit(teardown_at_exit) };
        daemon
    })
}

extern "C" fn teardown_at_exit() {
    if let Some(d) = SHARED.get() {
        d.teardown();
    }
}

impl TestDaemon {
    fn start() -> Result<TestDaemon, String> {
        let containerd = deps::containerd();
        let dir = tempfile::Builder::new()
            .prefix("wt-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("temp dir: {e}"))?
            .keep();
        let socket = dir.join("c.sock");
        let config = dir.join("config.toml");
        std::fs::write(&config, config_toml(&dir, &socket)).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("containerd.log")).map_err(|e| e.to_string())?;
        let child = Command::new(&containerd)
            .arg("--config")
            .arg(&config)
            .env("PATH", deps::daemon_path_env())
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", containerd.display()))?;
        let daemon = TestDaemon {
            dir,
            socket,
            child: Mutex::new(Some(child)),
        };
        daemon.wait_serving(Duration::from_secs(20))?;
        Ok(daemon)
    }

    /// The gRPC socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The daemon's temporary directory (root, state, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pid of the daemon process.
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().ok()?.as_ref().map(Child::id)
    }

    /// A fresh channel to the daemon.
    pub async fn channel(&self) -> Channel {
        warren_proto::connect(&self.socket)
            .await
            .unwrap_or_else(|e| panic!("connecting to the test daemon: {e}"))
    }

    fn wait_serving(&self, limit: Duration) -> Result<(), String> {
        let socket = self.socket.clone();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self
                .child
                .lock()
                .unwrap()
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!(
                    "containerd exited during start-up ({status}): {}",
                    self.log_tail()
                ));
            }
            if serving(&socket) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "containerd not SERVING after {limit:?}: {}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    fn teardown(&self) {
        cleanup::remove_all_tasks(&self.socket);
        if let Some(mut child) = self.child.lock().ok().and_then(|mut c| c.take()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = child.wait();
        }
        cleanup::kill_shims_of(&self.socket);
        cleanup::unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn serving(socket: &Path) -> bool {
    let socket = socket.to_path_buf();
    cleanup::block_on(async move {
        let Ok(channel) = warren_proto::connect(&socket).await else {
            return false;
        };
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await;
        matches!(reply, Ok(r) if r.get_ref().status == ServingStatus::Serving as i32)
    })
}

/// The daemon's config: every path explicit, CRI off, config version by line.
fn config_toml(dir: &Path, socket: &Path) -> String {
    let line = deps::line();
    let version = if line.starts_with("1.") { 2 } else { 3 };
    let d = dir.display();
    format!(
        "version = {version}\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
         disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
         [grpc]\n  address = \"{s}\"\n[ttrpc]\n  address = \"{s}.ttrpc\"\n\
         [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{d}/opt\"\n",
        s = socket.display()
    )
}
