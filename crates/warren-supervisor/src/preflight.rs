//! Checks made before anything is spawned, so that mistakes fail fast and clearly.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::Error;

/// The longest socket path containerd can bind: the kernel allows 107 bytes plus NUL, and
/// containerd also binds `<path>.ttrpc` (6 more); measured: 98 bytes work, 99 fail.
pub const MAX_SOCKET_PATH: usize = 98;

/// Find `binary`: a path with a slash is taken as is, a bare name is looked up in `PATH`.
pub(crate) fn resolve_binary(binary: &Path, path_env: Option<&str>) -> Result<PathBuf, Error> {
    let fail = |reason: &str| Error::Binary {
        binary: binary.to_path_buf(),
        reason: reason.to_string(),
    };
    let found = if binary.components().count() > 1 || binary.is_absolute() {
        binary.to_path_buf()
    } else {
        let path_env = path_env
            .map(str::to_string)
            .or_else(|| std::env::var("PATH").ok())
            .unwrap_or_default();
        path_env
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(binary))
            .find(|p| p.is_file())
            .ok_or_else(|| fail("not found in PATH"))?
    };
    let meta = std::fs::metadata(&found).map_err(|e| Error::Binary {
        binary: found.clone(),
        reason: e.to_string(),
    })?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(Error::Binary {
            binary: found,
            reason: "is not an executable file".into(),
        });
    }
    std::fs::canonicalize(&found).map_err(|e| Error::Binary {
        binary: found,
        reason: e.to_string(),
    })
}

/// Create `dir` (mode 0711 for new ones) and prove we can write in it: an unwritable dir
/// fails here with the system's own message, before containerd would fail on it.
pub(crate) fn usable_dir(what: &'static str, dir: &Path) -> Result<(), Error> {
    let fail = |reason: String| Error::Directory {
        what,
        path: dir.to_path_buf(),
        reason,
    };
    if dir.to_str().is_none() {
        return Err(fail(
            "is not UTF-8, which containerd's TOML config cannot hold".into(),
        ));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(dir)
        .map_err(|e| fail(e.to_string()))?;
    let probe = dir.join(format!(".warren-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| fail(format!("cannot write: {e}")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The socket path must fit a unix socket, with room for containerd's `.ttrpc` sibling.
pub(crate) fn socket_path(path: &Path) -> Result<(), Error> {
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(Error::SocketPathTooLong {
            path: path.to_path_buf(),
            len,
            max: MAX_SOCKET_PATH,
        });
    }
    Ok(())
}

/// Remove a socket file nobody answers on; refuse if someone does. A non-socket file in the
/// way is an error too: we never delete what we did not create.
pub(crate) fn clear_stale_socket(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("checking socket", path, e)),
    };
    if !meta.file_type().is_socket() {
        return Err(Error::Directory {
            what: "socket path",
            path: path.to_path_buf(),
            reason: "exists and is not a socket".into(),
        });
    }
    // Only a refused connection proves that nobody listens (a stopped daemon still accepts
    // into its backlog, so it counts as alive).
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(Error::SocketInUse {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
            tracing::debug!(path = %path.display(), "removing a stale socket");
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(Error::io("removing stale socket", path, e))
                }
                _ => Ok(()),
            }
        }
        Err(e) => Err(Error::io("probing socket", path, e)),
    }
}

/// Refuse a root whose metadata database another process holds. containerd takes an
/// exclusive `flock` on it and a second daemon waits for that forever, without ever
/// serving: better a clear error now than a start-up timeout.
pub(crate) fn root_unused(root: &Path) -> Result<(), Error> {
    let db = root.join("io.containerd.metadata.v1.bolt").join("meta.db");
    let file = match std::fs::File::open(&db) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("opening", db, e)),
    };
    match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockSharedNonblock) {
        // Released at once when the guard drops.
        Ok(_probe) => Ok(()),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err(Error::RootInUse { path: db }),
        Err((_, e)) => Err(Error::io("probing the lock of", db, e.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_lookup() {
        assert!(resolve_binary(Path::new("sh"), Some("/usr/bin:/bin")).is_ok());
        let err = resolve_binary(Path::new("no-such-containerd"), Some("/usr/bin")).unwrap_err();
        assert!(err.to_string().contains("not found in PATH"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("containerd");
        std::fs::write(&plain, b"#!/bin/sh\n").unwrap();
        let err = resolve_binary(&plain, None).unwrap_err();
        assert!(err.to_string().contains("not an executable"), "{err}");
    }

    #[test]
    fn socket_length() {
        assert!(socket_path(Path::new(&format!("/{}", "a".repeat(97)))).is_ok());
        let err = socket_path(Path::new(&format!("/{}", "a".repeat(98)))).unwrap_err();
        assert!(matches!(err, Error::SocketPathTooLong { len: 99, .. }));
    }

    #[test]
    fn stale_socket_is_removed_live_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("s.sock");
        drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
        clear_stale_socket(&sock).unwrap();
        assert!(!sock.exists());
        let _live = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(matches!(
            clear_stale_socket(&sock),
            Err(Error::SocketInUse { .. })
        ));
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").unwrap();
        assert!(clear_stale_socket(&file).is_err());
        assert!(file.exists());
    }

    #[test]
    fn a_locked_metadata_db_means_the_root_is_in_use() {
        let root = tempfile::tempdir().unwrap();
        root_unused(root.path()).unwrap();
        let dir = root.path().join("io.containerd.metadata.v1.bolt");
        std::fs::create_dir_all(&dir).unwrap();
        let db = std::fs::File::create(dir.join("meta.db")).unwrap();
        root_unused(root.path()).unwrap();
        let held = nix::fcntl::Flock::lock(db, nix::fcntl::FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| e)
            .unwrap();
        assert!(matches!(
            root_unused(root.path()),
            Err(Error::RootInUse { .. })
        ));
        drop(held);
        root_unused(root.path()).unwrap();
    }
}
