//! A real `warrend serve` for the end-to-end tests: its own root and state dirs, its own
//! managed containerd of the line under test, its own bridge, subnet and namespace, and
//! HTTP on a free loopback port. The CLI is the same binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::network::remove_bridge;
use crate::{cleanup, deps, unique_namespace};

/// The `warrend` binary: `WARREN_WARREND_BIN`, else next to the test executable's folder
/// (`target/<profile>/warrend`, built by `cargo xtask integration`).
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("WARREN_WARREND_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("warrend"))
        .expect("target/<profile>/");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build -p warrend` (cargo xtask integration does)",
        path.display()
    );
    path
}

/// A running warrend; on drop it is killed and everything it ran is removed.
pub struct Warrend {
    pub dir: tempfile::TempDir,
    pub namespace: String,
    pub bridge: String,
    pub subnet_prefix: String,
    pub registry: Option<String>,
    child: Option<Child>,
    extra: Vec<String>,
}

impl Warrend {
    /// Start one that may pull from the plain-HTTP registry at `registry` (host:port).
    pub fn start(registry: Option<&str>) -> Warrend {
        Self::start_with(registry, &[])
    }

    /// The same with more lines in its config file (TOML sections, e.g. `[logs]`).
    pub fn start_with_config(registry: Option<&str>, config: &str) -> Warrend {
        Self::start_full(registry, &[], config)
    }

    /// The same with more `serve` flags.
    pub fn start_with(registry: Option<&str>, extra: &[&str]) -> Warrend {
        Self::start_full(registry, extra, "")
    }

    fn start_full(registry: Option<&str>, extra: &[&str], more_config: &str) -> Warrend {
        let dir = tempfile::Builder::new()
            .prefix("wd-")
            .tempdir_in("/tmp")
            .unwrap();
        let n: u8 = rand::random();
        let mut w = Warrend {
            namespace: unique_namespace("wd"),
            bridge: format!("wd{:08x}", rand::random::<u32>()),
            subnet_prefix: format!("10.230.{n}."),
            registry: registry.map(str::to_string),
            dir,
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        let config = format!(
            "[network]\nname = \"wd-{:08x}\"\nbridge = \"{}\"\nsubnet = \"{}0/24\"\n{more_config}",
            rand::random::<u32>(),
            w.bridge,
            w.subnet_prefix
        );
        std::fs::write(w.dir.path().join("warrend.toml"), config).unwrap();
        w.spawn();
        w
    }

    /// Start the daemon process (again, after a kill) and wait until it answers.
    pub fn spawn(&mut self) {
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("serve.log"))
            .unwrap();
        let _ = std::fs::remove_file(self.http_addr_file());
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .arg("--config")
            .arg(d.join("warrend.toml"))
            .arg("--socket")
            .arg(self.socket())
            .arg("--root")
            .arg(d.join("root"))
            .arg("--state-dir")
            .arg(d.join("state"))
            .arg("--namespace")
            .arg(&self.namespace)
            .arg("--containerd-bin-dir")
            .arg(deps::containerd_bin_dir())
            .arg("--runc-bin-dir")
            .arg(deps::tools_bin_dir())
            .arg("--cni-bin-dir")
            .arg(deps::cni_bin_dir())
            .arg("--http-address")
            .arg("127.0.0.1:0")
            .args(&self.extra)
            .env(
                "WARREN_LOG",
                std::env::var("WARREN_TEST_LOG")
                    .unwrap_or_else(|_| "info,warrend=debug".to_string()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(r) = &self.registry {
            cmd.arg("--insecure-registry").arg(r);
        }
        self.child = Some(cmd.spawn().expect("starting warrend serve"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.http_addr_file().exists() && self.cli(&["info"]).status.success() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("warrend serve exited with {status}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "warrend did not answer within 60 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The API socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("w.sock")
    }

    /// The managed containerd's socket.
    pub fn containerd_socket(&self) -> PathBuf {
        self.dir.path().join("state/containerd/containerd.sock")
    }

    fn http_addr_file(&self) -> PathBuf {
        self.dir.path().join("state/http.addr")
    }

    /// `127.0.0.1:port` of /healthz and /metrics.
    pub fn http_addr(&self) -> String {
        std::fs::read_to_string(self.http_addr_file())
            .unwrap()
            .trim()
            .to_string()
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Run `warrend ARGS` against this daemon.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(binary())
            .arg("--socket")
            .arg(self.socket())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running the warrend CLI")
    }

    /// Run it and return stdout, panicking (with the output and the daemon's log) on a
    /// non-zero exit.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "warrend {args:?} failed ({}):\n{}\n--- serve.log ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run it with `--json` and parse the output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// SIGKILL the daemon (its containerd and containers live on).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM the daemon and wait for it to exit (at most `limit`).
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("a running warrend");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("warrend did not exit within {limit:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// GET `path` from the HTTP endpoint: status and body.
    pub fn http_get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.http_addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let code = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (code, body.to_string())
    }

    /// The managed containerd's pid, from the supervisor's pid file (0 if none).
    pub fn containerd_pid(&self) -> i32 {
        std::fs::read_to_string(self.dir.path().join("state/containerd/containerd.pid"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("pid = ").map(|v| v.trim().parse().ok()))
            })
            .flatten()
            .unwrap_or(0)
    }
}

impl Drop for Warrend {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- warrend serve.log ---\n{}", self.log());
            if std::env::var_os("WARREN_TEST_LOG").is_some() {
                let containerd = self.dir.path().join("root/containerd.log");
                let text = std::fs::read_to_string(containerd).unwrap_or_default();
                eprintln!("--- containerd.log ---\n{text}");
            }
        }
        // Whatever a failed test left: processes and records, then the containers' networks
        // (CNI DEL from the runtime's cached results), then the daemon.
        let socket = self.containerd_socket();
        if socket.exists() {
            cleanup::remove_all_tasks(&socket);
            cleanup::kill_shims_of(&socket);
        }
        crate::network::teardown_state(&self.dir.path().join("root/runtime"));
        // The managed containerd (and any shim) name the test's dir on their command line.
        cleanup::kill_mentioning(&self.dir.path().display().to_string());
        cleanup::remove_cgroups(&self.namespace);
        cleanup::unmount_under(self.dir.path());
        remove_bridge(&self.bridge);
    }
}

/// A registry with a busybox image (cmd `sh`) and its reference.
pub async fn registry_with_busybox(tag: &str) -> (crate::registry::Registry, String) {
    let registry = crate::registry::Registry::start();
    let image = format!("{}/warren/busybox:{tag}", registry.addr());
    crate::images::push(&image, &[crate::images::busybox_layer()], &["sh"]).await;
    (registry, image)
}

/// Poll `f` every 50 ms until it gives `Some`, for at most `limit` (a bound against hangs,
/// not a speed assertion).
pub fn until<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
