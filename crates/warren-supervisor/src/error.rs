//! The one error type of this crate.

use std::path::PathBuf;
use std::time::Duration;

use crate::exit::DaemonExit;

/// Why a supervisor could not start, adopt or stop its containerd.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A builder option is out of range; nothing was created or started.
    #[error("invalid option {option} = {value}: {allowed}")]
    InvalidOption {
        /// The option's builder method.
        option: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },

    /// The containerd binary was not found or cannot be executed.
    #[error("containerd binary {binary}: {reason}")]
    Binary {
        /// The binary as given or as found in `PATH`.
        binary: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// `containerd --version` printed something we cannot read (not containerd?).
    #[error("cannot tell the containerd version of {binary} from {output:?}")]
    UnknownVersion {
        /// The binary that was run.
        binary: PathBuf,
        /// What it printed.
        output: String,
    },

    /// A directory we need cannot be created or written.
    #[error("{what} {path} is not usable: {reason}")]
    Directory {
        /// Which directory (`root dir`, `state dir`, `socket path`).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// What failed (the system's own message).
        reason: String,
    },

    /// The socket path is longer than a unix socket allows (containerd also binds
    /// `<path>.ttrpc`, so the limit is below the kernel's 108 bytes).
    #[error(
        "socket path {path} is {len} bytes; at most {max} are allowed (choose a shorter state dir)"
    )]
    SocketPathTooLong {
        /// The socket path.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
        /// The limit, [`MAX_SOCKET_PATH`](crate::MAX_SOCKET_PATH).
        max: usize,
    },

    /// Another process answers on the socket we would use.
    #[error("{path} is already served by another process; stop it or choose another state dir")]
    SocketInUse {
        /// The socket path.
        path: PathBuf,
    },

    /// Our socket answered, but not from the daemon we started: another containerd took it.
    #[error("{path} is served by another containerd (pid {answered}), not ours (pid {ours})")]
    ForeignDaemon {
        /// The socket path.
        path: PathBuf,
        /// The daemon we started.
        ours: u32,
        /// The pid the answering daemon reported.
        answered: u64,
    },

    /// Another process (a containerd we did not start) holds the metadata database under our
    /// root: a second daemon would hang on its lock forever.
    #[error(
        "{path} is locked by another process: a containerd we did not start uses this root dir"
    )]
    RootInUse {
        /// The metadata database.
        path: PathBuf,
    },

    /// Another supervisor holds the state dir.
    #[error("another supervisor holds {path}: one supervisor per state dir")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },

    /// The extra TOML given by the caller does not parse, or sets what the supervisor owns.
    #[error("invalid extra containerd config: {reason}")]
    ExtraConfig {
        /// What is wrong with it.
        reason: String,
    },

    /// The containerd process could not be spawned.
    #[error("spawning {binary}: {source}")]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },

    /// containerd exited while starting: its own complaint is in `stderr_tail`.
    #[error("containerd exited during start-up ({status}):\n{stderr_tail}")]
    ExitedDuringStart {
        /// How it exited.
        status: DaemonExit,
        /// Its last lines of output.
        stderr_tail: String,
    },

    /// containerd did not answer its health check in time.
    #[error("containerd did not answer its health check within {timeout:?}:\n{stderr_tail}")]
    StartTimeout {
        /// The start-up timeout.
        timeout: Duration,
        /// Its last lines of output.
        stderr_tail: String,
    },

    /// [`Supervisor::wait_timeout`](crate::Supervisor::wait_timeout) ran out.
    #[error("the supervisor did not stop within {timeout:?}")]
    WaitTimeout {
        /// How long we waited.
        timeout: Duration,
    },

    /// An I/O error on one of our own files.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },

    /// The supervisor has already stopped (or its runtime has shut down).
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
