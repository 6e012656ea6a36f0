//! Checks made before anything is spawned, so that mistakes fail fast and clearly.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::Error;

/// The longest socket path containerd can bind: the kernel allows 107 bytes plus NUL, and
/// containerd also binds `<path>.ttrpc` (6 more); measured: 98 bytes work, 99 fail.
pub const MAX_SOCKET_PATH: usize = 98;

/// Find `binary`: a path with a slash is taken as is, a bare name is looked up in `PATH`.
pub fn resolve_binary(binary: &Path, path_env: Option<&str>) -> Result<PathBuf, Error> {
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

/// Create `dir` (mode 0711 for new ones) and prove we can write in it.
pub fn usable_dir(what: &'static str, dir: &Path) -> Result<(), Error> {
    let fail = |reason: String| Error::Directory {
        what,
        path: dir.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let probe = dir.join(format!(".warren-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| fail(format!("cannot write: {e}")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The socket path must fit a unix socket, with room for containerd's `.ttrpc` sibling.
pub fn socket_path(path: &Path) -> Result<(), Error> {
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
pub fn clear_stale_socket(path: &Path) -> Result<(), Error> {
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
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(Error::SocketInUse {
            path: path.to_path_buf(),
        }),
        Err(_) => {
            tracing::debug!(path = %path.display(), "removing stale socket");
            std::fs::remove_file(path).map_err(|e| Error::io("removing stale socket", path, e))
        }
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
}
