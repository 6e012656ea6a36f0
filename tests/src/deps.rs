//! Where the pinned binaries fetched by `cargo xtask deps` live.
//!
//! `cargo xtask` exports `WARREN_DEPS_DIR` and `WARREN_CONTAINERD_LINE`; a plain `cargo test`
//! falls back to `<workspace>/target/warren-deps` and line `1.6`.

use std::path::{Path, PathBuf};

/// The containerd lines the suite supports, oldest first.
pub const LINES: [&str; 3] = ["1.6", "1.7", "2.1"];

/// The folder `cargo xtask deps` fills.
pub fn deps_dir() -> PathBuf {
    match std::env::var_os("WARREN_DEPS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/warren-deps"),
    }
}

/// The containerd line under test (`1.6`, `1.7` or `2.1`).
pub fn line() -> String {
    std::env::var("WARREN_CONTAINERD_LINE").unwrap_or_else(|_| LINES[0].to_string())
}

/// Folder holding `containerd`, `containerd-shim-runc-v2` and `ctr` of the line under test.
pub fn containerd_bin_dir() -> PathBuf {
    deps_dir()
        .join(format!("containerd-{}", line()))
        .join("bin")
}

/// Folder holding `runc`, `busybox` (static) and `docker-registry`.
pub fn tools_bin_dir() -> PathBuf {
    deps_dir().join("tools").join("bin")
}

/// Folder holding the CNI plugins (`bridge`, `host-local`, `loopback`, `portmap`).
pub fn cni_bin_dir() -> PathBuf {
    deps_dir().join("cni").join("bin")
}

/// Path of one binary, panicking with the fix when `cargo xtask deps` has not run.
pub fn require(path: PathBuf) -> PathBuf {
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask deps` first (or `cargo xtask integration`)",
        path.display()
    );
    path
}

/// The containerd binary of the line under test.
pub fn containerd() -> PathBuf {
    require(containerd_bin_dir().join("containerd"))
}

/// `PATH` for a daemon under test: the line's shim first, then runc, then the host's.
pub fn daemon_path_env() -> String {
    let host = std::env::var("PATH").unwrap_or_default();
    format!(
        "{}:{}:{}",
        containerd_bin_dir().display(),
        tools_bin_dir().display(),
        host
    )
}
