//! The one error type of this crate: every variant names the field, the value, and what is
//! allowed, so a caller can show it to a person as is.

use std::path::PathBuf;

/// Why a request cannot become a spec, or why host facts could not be read. When a build
/// returns this, nothing has been created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// A resource limit out of range.
    #[error("invalid {field} {value}: {allowed}")]
    InvalidLimit {
        /// The request field, e.g. `cpus`, `memory`, `pids`.
        field: &'static str,
        /// The value given, as text (with its unit where it has one).
        value: String,
        /// What would have been accepted.
        allowed: String,
    },

    /// A path that cannot be used: relative, with `..`, shadowing `/proc`, missing on the host...
    #[error("invalid {field} {path:?}: {reason}")]
    InvalidPath {
        /// Which path of the request, e.g. `volume destination`, `secrets dir`.
        field: &'static str,
        /// The path given.
        path: PathBuf,
        /// What is wrong with it and what is allowed.
        reason: String,
    },

    /// A value that contains something it may not (a NUL byte, a missing `=`, ...).
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidValue {
        /// Which value of the request, e.g. `env`, `container id`, `stop signal`.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it and what is allowed.
        reason: String,
    },

    /// A user or group name that the image's /etc/passwd or /etc/group does not define.
    #[error("unknown {kind} {name:?}: {reason}")]
    UnknownUser {
        /// `user` or `group`.
        kind: &'static str,
        /// The name looked up.
        name: String,
        /// Where it was looked up, or why it could not be.
        reason: String,
    },

    /// A file read from an image or a container (its `/etc/passwd`, `/etc/group`) that is
    /// not a plain, small regular file: a FIFO, a device, a directory, or one over the size
    /// read from it. Such files are never opened for reading.
    #[error("refusing to read {path:?}: {reason}")]
    UnsafeFile {
        /// The file, as seen from the host.
        path: PathBuf,
        /// What it is, or which limit it passes.
        reason: String,
    },

    /// Neither the request nor the image says what to run.
    #[error("no command: the image has no entrypoint or cmd and the request gives none")]
    NoCommand,

    /// oci-spec refused to build a part of the spec (a bug here: inputs are validated first).
    #[error("building the OCI spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),

    /// The spec could not be turned into JSON.
    #[error("serialising the OCI spec to JSON: {0}")]
    Json(#[from] serde_json::Error),

    /// Reading a host cgroup file failed (missing cgroup, unexpected contents).
    #[error("reading {path}: {source}")]
    Host {
        /// The file read.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },

    /// A seccomp profile file that cannot be used: unreadable, not a regular file, too big, not
    /// JSON, or with a value that is not allowed (an unknown action, architecture, operator...).
    #[error("seccomp profile {path:?}: {reason}")]
    SeccompProfile {
        /// The profile file given (`--security-opt seccomp=...`).
        path: PathBuf,
        /// What is wrong with it and what is allowed.
        reason: String,
    },

    /// A cgroup controller needed for statistics is not available on this host.
    #[error("no {controller} cgroup controller on this host (cgroup {mode})")]
    NoController {
        /// The controller, e.g. `memory`, `pids`.
        controller: &'static str,
        /// The host's cgroup layout.
        mode: crate::host::CgroupMode,
    },
}

impl SpecError {
    pub(crate) fn value(field: &'static str, value: &str, reason: impl Into<String>) -> Self {
        SpecError::InvalidValue {
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn path(
        field: &'static str,
        path: impl Into<PathBuf>,
        reason: impl Into<String>,
    ) -> Self {
        SpecError::InvalidPath {
            field,
            path: path.into(),
            reason: reason.into(),
        }
    }
}
