//! Running generated specs under the pinned runc, with a busybox rootfs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use warren_spec::{BuildContext, SpecRequest};

pub(crate) fn deps_dir() -> PathBuf {
    std::env::var_os("WARREN_DEPS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/warren-deps"))
}

fn tool(name: &str) -> PathBuf {
    let p = deps_dir().join("tools/bin").join(name);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo xtask deps` first",
        p.display()
    );
    p
}

/// True if root; otherwise prints why `test` is skipped.
pub(crate) fn root_or_skip(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        // Straight to stderr, past the test harness's output capture, so the skip is seen.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED {test}: runc needs root");
    }
    root
}

/// A bundle (config.json + busybox rootfs) and runc state, removed with everything runc made.
pub(crate) struct Bundle {
    pub dir: tempfile::TempDir,
    pub id: String,
    pub namespace: String,
}

const APPLETS: &[&str] = &[
    "sh", "cat", "echo", "sleep", "head", "tail", "touch", "ls", "true", "grep", "id", "dd",
];

impl Bundle {
    pub(crate) fn new() -> Bundle {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = tempfile::Builder::new()
            .prefix("wsr-")
            .tempdir_in("/tmp")
            .unwrap();
        let rootfs = dir.path().join("rootfs");
        for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "run", "data"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::copy(tool("busybox"), rootfs.join("bin/busybox")).unwrap();
        for a in APPLETS {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
        }
        std::fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(rootfs.join("etc/group"), "root:x:0:\napp:x:1000:\n").unwrap();
        Bundle {
            dir,
            id: format!("c{}-{n}", std::process::id()),
            namespace: format!("wst-{}-{n}", std::process::id()),
        }
    }

    pub(crate) fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// A request for this bundle running `sh -c script`.
    pub(crate) fn request(&self, script: &str) -> SpecRequest {
        SpecRequest::default()
            .id(self.id.clone())
            .namespace(self.namespace.clone())
            .cmd(vec!["sh".into(), "-c".into(), script.into()])
            .env(vec!["PATH=/bin".into()])
    }

    /// Build `req`, write it, `runc run` it; returns (exit code, stdout+stderr).
    pub(crate) fn run(&self, req: &SpecRequest) -> (i32, String) {
        let spec = req
            .build(&BuildContext::host().with_rootfs(self.rootfs()))
            .expect("a valid spec");
        self.run_json(&spec.to_json().unwrap())
    }

    /// Run an already serialised spec.
    pub(crate) fn run_json(&self, json: &[u8]) -> (i32, String) {
        std::fs::write(self.dir.path().join("config.json"), json).unwrap();
        let out = Command::new(tool("runc"))
            .arg("--root")
            .arg(self.dir.path().join("state"))
            .arg("run")
            .arg("--bundle")
            .arg(self.dir.path())
            .arg(&self.id)
            .output()
            .expect("runc runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = Command::new(tool("runc"))
            .arg("--root")
            .arg(self.dir.path().join("state"))
            .args(["delete", "-f", &self.id])
            .output();
        // runc removes the container's cgroups; the namespace parent is ours to remove.
        if let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in ctrls.flatten() {
                let _ = std::fs::remove_dir(c.path().join(&self.namespace).join(&self.id));
                let _ = std::fs::remove_dir(c.path().join(&self.namespace));
            }
        }
    }
}
