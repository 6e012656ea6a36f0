//! The one error type of this crate.

/// What can go wrong in a runtime call. Every variant says what was being done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// An image reference that cannot be parsed.
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },

    /// A namespace or other identifier containerd would reject.
    #[error(transparent)]
    Proto(#[from] warren_proto::Error),

    /// The daemon did not answer within the reconnect deadline.
    #[error("containerd at {socket} is unavailable (waited {waited_ms} ms): {message}")]
    Unavailable {
        socket: String,
        waited_ms: u128,
        message: String,
    },

    /// containerd answered an RPC with an error.
    #[error("containerd {op} failed ({code:?}): {message}")]
    Daemon {
        op: &'static str,
        code: tonic::Code,
        message: String,
    },

    /// The registry refused or failed a request.
    #[error("registry error while {op} {reference}: {message}")]
    Registry {
        op: &'static str,
        reference: String,
        message: String,
    },

    /// The image's content is not what its manifest promised.
    #[error("image {reference} is inconsistent: {reason}")]
    BadImage { reference: String, reason: String },

    /// No manifest in the image's index matches the wanted platform.
    #[error("image {reference} has no manifest for {platform} (it has: {available})")]
    NoMatchingPlatform {
        reference: String,
        platform: String,
        available: String,
    },

    /// Something asked for does not exist.
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
}

impl RuntimeError {
    pub(crate) fn daemon(op: &'static str, status: tonic::Status) -> Self {
        RuntimeError::Daemon {
            op,
            code: status.code(),
            message: status.message().to_string(),
        }
    }
}
