//! The one error type of this crate: every variant names the field, the value, and what is
//! allowed, so a caller can show it to a person as is.

use std::path::PathBuf;

/// Why a request cannot become a spec (nothing is created when this is returned).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// A resource limit out of range.
    #[error("invalid {field} {value}: {allowed}")]
    InvalidLimit {
        field: &'static str,
        value: String,
        allowed: String,
    },

    /// A mount path (or the secrets dir, a volume source, ...) that cannot be used.
    #[error("invalid {field} {path:?}: {reason}")]
    InvalidPath {
        field: &'static str,
        path: PathBuf,
        reason: String,
    },

    /// A value that contains something it may not (a NUL byte, a missing `=`, ...).
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidValue {
        field: &'static str,
        value: String,
        reason: String,
    },

    /// A user or group name that the image's /etc/passwd or /etc/group does not define.
    #[error("unknown {kind} {name:?}: {reason}")]
    UnknownUser {
        kind: &'static str,
        name: String,
        reason: String,
    },

    /// Neither the request nor the image says what to run.
    #[error("no command: the image has no entrypoint or cmd and the request gives none")]
    NoCommand,

    /// oci-spec refused to build a part of the spec.
    #[error("building the OCI spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),

    /// Reading host cgroup facts or statistics failed.
    #[error("reading {path}: {source}")]
    Host {
        path: PathBuf,
        #[source]
        source: std::io::Error,
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
