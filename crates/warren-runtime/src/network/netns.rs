//! Network namespaces pinned to a file: created on a thread of their own (entering a
//! namespace changes the calling thread, which must never be a tokio worker), kept alive by
//! a bind mount, released by unmounting.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

use crate::RuntimeError;

fn io_err(op: &'static str, path: &Path, e: impl Into<std::io::Error>) -> RuntimeError {
    RuntimeError::Io {
        op,
        path: path.to_path_buf(),
        source: e.into(),
    }
}

/// Create a new network namespace pinned at `path` (its parent must exist). The file must not
/// exist yet: an error of kind `AlreadyExists` says another set-up holds that path.
pub(crate) async fn create(path: &Path) -> Result<(), RuntimeError> {
    let target = path.to_path_buf();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("warren-netns".into())
        .spawn(move || {
            let _ = tx.send(create_on_this_thread(&target));
        })
        .map_err(|e| io_err("starting a thread to create a netns", path, e))?;
    rx.await.map_err(|_| {
        io_err(
            "creating a netns",
            path,
            std::io::Error::other("thread died"),
        )
    })?
}

fn create_on_this_thread(path: &Path) -> Result<(), RuntimeError> {
    // Exclusive: two set-ups of one id must not share (and then tear down) one namespace.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| io_err("creating the netns file", path, e))?;
    let pinned = unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|e| io_err("creating a netns (unshare)", path, e))
        .and_then(|()| {
            let own = PathBuf::from(format!("/proc/self/task/{}/ns/net", nix::unistd::gettid()));
            mount(
                Some(&own),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| io_err("pinning the netns (bind mount)", path, e))
        });
    if pinned.is_err() {
        let _ = std::fs::remove_file(path);
    }
    // This thread now lives in the new namespace; it ends here and takes nothing with it.
    pinned
}

/// True if `path` holds a pinned network namespace (a bind mount of nsfs). After a reboot
/// the file outlives its mount: it is then an empty file and no namespace.
pub(crate) async fn is_pinned(path: &Path) -> bool {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        nix::sys::statfs::statfs(&path)
            .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::NSFS_MAGIC)
    })
    .await
    .unwrap_or(false)
}

/// Unpin and remove the namespace at `path`; missing is fine.
pub(crate) async fn remove(path: &Path) -> Result<(), RuntimeError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        if !path.exists() {
            return Ok(());
        }
        match umount2(&path, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) => {}
            Err(e) => return Err(io_err("unpinning the netns", &path, e)),
        }
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io_err("removing the netns file", &path, e))
            }
            _ => Ok(()),
        }
    })
    .await
    .map_err(|e| RuntimeError::Task {
        op: "removing a netns",
        source: e,
    })?
}
