//! The node API's unix socket: root only (mode 0600), or root and one group (0660).
//!
//! A socket file left by a warrend that died is replaced; one that a live warrend answers
//! on is not (two daemons on one socket would fight over the same containers).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{bail, Context};
use tokio::net::{UnixListener, UnixStream};

/// Bind `path` with the right owner and mode.
pub async fn bind(path: &Path, group: Option<&str>) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            bail!(
                "another warrend already serves {}: stop it first, or give this one its own --socket",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing the stale socket {}", path.display()))?;
    }
    // Bind under a umask that leaves no window in which others could connect.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let listener = bound.with_context(|| format!("binding the API socket {}", path.display()))?;
    if let Some(name) = group {
        let group = nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .with_context(|| format!("api.group: no group named {name:?}"))?;
        nix::unistd::chown(path, None, Some(group.gid))
            .with_context(|| format!("giving {} to group {name}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    }
    Ok(listener)
}
