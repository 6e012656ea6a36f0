//! The one error type of this crate.

use std::path::PathBuf;
use std::time::Duration;

/// Why a supervisor could not start, adopt or stop its containerd.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The containerd binary was not found or cannot be executed.
    #[error("containerd binary {binary}: {reason}")]
    Binary { binary: PathBuf, reason: String },

    /// `containerd --version` printed something we cannot read.
    #[error("cannot tell the version of {binary} from {output:?}")]
    UnknownVersion { binary: PathBuf, output: String },

    /// A directory we need cannot be created or written.
    #[error("{what} {path} is not usable: {reason}")]
    Directory {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },

    /// The socket path is longer than a unix socket allows (containerd also binds
    /// `<path>.ttrpc`, so the limit is below the kernel's 108 bytes).
    #[error(
        "socket path {path} is {len} bytes; at most {max} are allowed (choose a shorter state dir)"
    )]
    SocketPathTooLong {
        path: PathBuf,
        len: usize,
        max: usize,
    },

    /// Another process answers on the socket we would use.
    #[error("{path} is already served by another process; stop it or choose another state dir")]
    SocketInUse { path: PathBuf },

    /// Another supervisor holds the state dir.
    #[error("another supervisor holds {path}")]
    Locked { path: PathBuf },

    /// The extra TOML given by the caller does not parse or merge.
    #[error("invalid extra containerd config: {reason}")]
    ExtraConfig { reason: String },

    /// containerd exited while starting: its own complaint is in `stderr_tail`.
    #[error("containerd exited during start-up ({status}):\n{stderr_tail}")]
    ExitedDuringStart { status: String, stderr_tail: String },

    /// containerd did not become healthy in time.
    #[error("containerd did not answer its health check within {timeout:?}:\n{stderr_tail}")]
    StartTimeout {
        timeout: Duration,
        stderr_tail: String,
    },

    /// An I/O error on one of our own files.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The supervisor has already stopped.
    #[error("the supervisor has stopped")]
    Stopped,
}

impl Error {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
