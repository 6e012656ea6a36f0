//! One test's world: a short temp dir (the socket must fit a unix socket) holding the
//! daemon's root and state, a containerd namespace, and the guards that clean all of it up
//! even after a panic: daemons, shims, container processes, cgroups, mounts, files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use warren_proto::{Clients, Namespace};
use warren_supervisor::{BackoffBounds, Phase, Supervisor, SupervisorBuilder};
use warren_tests::{busybox, cleanup, deps, unique_namespace};

pub struct Env {
    pub dir: PathBuf,
    pub ns: String,
    runc_root: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("ws-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let runc_root = dir.join("runc");
        Env {
            dir,
            ns: unique_namespace("warren-sup-test"),
            runc_root,
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    pub fn socket(&self) -> PathBuf {
        self.state().join("containerd.sock")
    }

    pub fn pid_file(&self) -> PathBuf {
        self.state().join("containerd.pid")
    }

    /// runc's state for this test's containers (never the host's shared default).
    pub fn runc_root(&self) -> &Path {
        &self.runc_root
    }

    /// A supervisor for this env's dirs with quick health checks and a short back-off.
    pub fn builder(&self) -> SupervisorBuilder {
        builder_for(&self.root(), &self.state())
    }

    /// Pids of live containerd processes started with this env's config.
    pub fn daemons(&self) -> Vec<i32> {
        daemons_using(&self.state().join("containerd.toml"))
    }

    /// Start a busybox container `id` running `sleep 1000` through the daemon at this env's
    /// socket; returns the container process's pid.
    pub async fn run_sleeper(&self, rootfs: &busybox::Rootfs, id: &str) -> u32 {
        let c = self.clients().await;
        busybox::run(
            &c,
            rootfs.path(),
            self.runc_root(),
            &self.ns,
            id,
            &["sleep", "1000"],
        )
        .await
    }

    /// Raw clients in this env's namespace.
    pub async fn clients(&self) -> Clients {
        let channel = warren_proto::connect(self.socket()).await.expect("connect");
        Clients::new(channel, &Namespace::new(&self.ns).unwrap())
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for pid in self.daemons() {
            kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        cleanup::kill_shims_of(&self.socket());
        cleanup::remove_cgroups(&self.ns);
        cleanup::unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Quick health checks (a hung daemon is caught in about 2 s) and a short back-off.
pub fn builder_for(root: &Path, state: &Path) -> SupervisorBuilder {
    Supervisor::builder(root, state)
        .binary(deps::containerd())
        .env("PATH", deps::daemon_path_env())
        .health_interval(Duration::from_millis(200))
        .health_timeout(Duration::from_millis(500))
        .unhealthy_threshold(3)
        .shutdown_timeout(Duration::from_secs(5))
        .backoff(BackoffBounds {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(1),
            reset_after: Duration::from_secs(10),
        })
}

/// Live (non-zombie) processes whose command line names `config`.
pub fn daemons_using(config: &Path) -> Vec<i32> {
    let needle = config.to_string_lossy().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains("containerd") && cmdline.contains(&needle) && alive(*pid as u32)
        })
        .collect()
}

pub fn kill(pid: i32, signal: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
}

/// True if `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}

/// True if `pid` is gone entirely (not even a zombie) within `limit`.
pub async fn reaped_within(pid: u32, limit: Duration) -> bool {
    wait_until(limit, || !Path::new(&format!("/proc/{pid}")).exists()).await
}

/// True if `pid` is dead (or a zombie) within `limit`.
pub async fn gone_within(pid: u32, limit: Duration) -> bool {
    wait_until(limit, || !alive(pid)).await
}

pub async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done()
}

/// Wait until the supervisor reports a healthy daemon of at least `generation`; its pid.
pub async fn healthy_generation(sup: &Supervisor, generation: u64) -> u32 {
    let mut rx = sup.watch_status();
    let s = tokio::time::timeout(
        Duration::from_secs(20),
        rx.wait_for(|s| s.phase == Phase::Healthy && s.generation >= generation),
    )
    .await
    .expect("healthy again in time")
    .expect("status channel open")
    .clone();
    s.pid.expect("a pid")
}

/// A child process that is killed and reaped when dropped.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
