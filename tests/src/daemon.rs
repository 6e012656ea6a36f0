//! One private containerd per test binary, started through `warren-supervisor` on first use
//! and torn down at exit.
//!
//! The daemon gets a temporary root and state under `/tmp` (short, so the socket path fits a
//! unix socket), the CRI plugin disabled, and the line's shim and runc first in `PATH`. The
//! supervisor and its monitor live on a runtime of their own, because every `#[tokio::test]`
//! has its own runtime that ends with the test. At process exit (after every test, whether it
//! passed or panicked) an `atexit` hook kills and deletes every task left in the daemon, shuts
//! it down, kills any shim still serving it, unmounts what it mounted and removes the
//! temporary directory.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use tonic::transport::Channel;
use warren_supervisor::Supervisor;

use crate::cleanup;
use crate::deps;

/// A supervisor for a private daemon of the line under test in `dir` (for tests that kill or
/// stop their daemon, and for benches), with the line's shim and runc first in `PATH`.
pub fn private(dir: &Path) -> warren_supervisor::SupervisorBuilder {
    Supervisor::builder(dir.join("root"), dir.join("state"))
        .binary(deps::containerd())
        .env("PATH", deps::daemon_path_env())
}

/// A private containerd of the line under test, started in a new temporary directory
/// under /tmp (named `prefix...`): short socket paths, and the caller owns the directory.
pub async fn private_in_tmp(prefix: &str) -> (tempfile::TempDir, Supervisor) {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .unwrap();
    let sup = private(dir.path())
        .log_file(dir.path().join("containerd.log"))
        .start()
        .await
        .expect("start a private containerd");
    (dir, sup)
}

/// A running private containerd.
pub struct TestDaemon {
    dir: PathBuf,
    supervisor: Supervisor,
    runtime: tokio::runtime::Runtime,
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
        let dir = tempfile::Builder::new()
            .prefix("wt-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("temp dir: {e}"))?
            .keep();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-daemon")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        // Protected from the OOM killer as a node's daemon would be: containers must not
        // inherit it (the security tests check they get 0).
        let builder = private(&dir)
            .log_file(dir.join("containerd.log"))
            .shutdown_timeout(Duration::from_secs(10))
            .oom_score_adj(-500);
        let handle = runtime.handle().clone();
        let supervisor = std::thread::spawn(move || handle.block_on(builder.start()))
            .join()
            .map_err(|_| "supervisor start panicked".to_string())?
            .map_err(|e| format!("starting containerd {}: {e}", deps::line()))?;
        Ok(TestDaemon {
            dir,
            supervisor,
            runtime,
        })
    }

    /// The gRPC socket.
    pub fn socket(&self) -> &Path {
        self.supervisor.address()
    }

    /// The daemon's temporary directory (root, state, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The supervisor that runs the daemon.
    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// The pid of the daemon process.
    pub fn pid(&self) -> Option<u32> {
        self.supervisor.pid()
    }

    /// A fresh channel to the daemon.
    pub async fn channel(&self) -> Channel {
        warren_proto::connect(self.socket())
            .await
            .unwrap_or_else(|e| panic!("connecting to the test daemon: {e}"))
    }

    fn teardown(&self) {
        cleanup::remove_all_tasks(self.socket());
        let supervisor = self.supervisor.clone();
        let handle = self.runtime.handle().clone();
        let _ = std::thread::spawn(move || handle.block_on(supervisor.shutdown())).join();
        cleanup::kill_shims_of(self.socket());
        cleanup::unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
