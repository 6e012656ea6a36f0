//! Where to find containerd, runc and the CNI plugins when no flag or config names them:
//! `PATH` and the usual system folders first, then what `cargo xtask deps` fetched into the
//! workspace's `target/warren-deps` (found relative to this executable).

use std::path::{Path, PathBuf};

/// The containerd lines `cargo xtask deps` fetches, newest first.
const LINES: [&str; 3] = ["2.1", "1.7", "1.6"];

/// `target/warren-deps`, if this binary was built in a workspace that fetched it.
fn fetched() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("WARREN_DEPS_DIR") {
        return Some(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/warrend → target/warren-deps
    let dir = exe.parent()?.parent()?.join("warren-deps");
    dir.is_dir().then_some(dir)
}

/// The folder of `name` on `PATH`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).find(|d| d.join(name).is_file())
}

/// The folder holding `containerd` and its shim.
pub fn containerd_bin_dir() -> Option<PathBuf> {
    on_path("containerd").or_else(|| {
        let deps = fetched()?;
        LINES
            .iter()
            .map(|l| deps.join(format!("containerd-{l}/bin")))
            .find(|d| d.join("containerd").is_file())
    })
}

/// The folder holding `runc`.
pub fn runc_dir() -> Option<PathBuf> {
    on_path("runc").or_else(|| {
        let d = fetched()?.join("tools/bin");
        d.join("runc").is_file().then_some(d)
    })
}

/// The folder holding the CNI plugins.
pub fn cni_bin_dir() -> Option<PathBuf> {
    let system = Path::new("/opt/cni/bin");
    if system.join("bridge").is_file() {
        return Some(system.to_path_buf());
    }
    let d = fetched()?.join("cni/bin");
    d.join("bridge").is_file().then_some(d)
}
