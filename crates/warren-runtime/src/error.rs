//! The one error type of this crate.

/// What can go wrong in a runtime call. Every variant says what was being done, and with what.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// An image reference that cannot be parsed. Nothing was created.
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference {
        /// The image reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A namespace or other identifier containerd would reject.
    #[error(transparent)]
    Proto(#[from] warren_proto::Error),

    /// The daemon did not answer within the reconnect deadline.
    #[error("containerd at {} is unavailable (waited {} ms): {message}", socket.display(), waited.as_millis())]
    Unavailable {
        /// containerd's socket.
        socket: std::path::PathBuf,
        /// How long the call waited for the daemon.
        waited: std::time::Duration,
        /// The underlying error's own message.
        message: String,
        /// The underlying error, where there is one (a `tonic::Status`, an I/O or HTTP
        /// error, a daemon error this one refines), for logs and for callers who look
        /// further.
        #[source]
        source: Option<BoxError>,
    },

    /// The connection to containerd broke while a call that must not be repeated was in
    /// flight (the daemon died or restarted). The operation's finished steps were undone
    /// once the daemon was back; running it again is safe.
    #[error("containerd went away during {op} ({message}); finished steps were undone, the call can be made again")]
    Interrupted {
        /// The operation that was under way.
        op: &'static str,
        /// The underlying error's own message.
        message: String,
        /// The underlying error, where there is one (a `tonic::Status`, an I/O or HTTP
        /// error, a daemon error this one refines), for logs and for callers who look
        /// further.
        #[source]
        source: Option<BoxError>,
    },

    /// The caller stopped waiting for the operation (it dropped the future or the stream):
    /// what the operation had started was ended and undone.
    #[error("{op}: the caller stopped waiting; what it had started was ended")]
    Cancelled {
        /// The operation that was under way.
        op: &'static str,
    },

    /// A CNI plugin failed (its own message, and the CNI error code when it gave one).
    /// Whatever the network set-up had done was undone.
    #[error("CNI plugin {plugin} failed on {command} (code {code}): {message}")]
    CniPlugin {
        /// The plugin's type, e.g. `bridge`.
        plugin: String,
        /// The CNI command: `ADD`, `DEL` or `CHECK`.
        command: &'static str,
        /// The error code it answered with.
        code: u32,
        /// The underlying error's own message.
        message: String,
    },

    /// containerd answered an RPC with an error (or did not answer in time).
    #[error("containerd {op} failed ({kind}): {message}")]
    Daemon {
        /// The operation that was under way.
        op: &'static str,
        /// What kind of failure containerd reported (from its gRPC status code).
        kind: ErrorKind,
        /// containerd's own message.
        message: String,
        /// containerd's status as received (a `tonic::Status`), for logs and for callers who
        /// want its code or details; `None` when Warren gave up waiting for an answer.
        #[source]
        source: Option<BoxError>,
    },

    /// containerd answered with something this version of Warren cannot read (e.g. metrics
    /// of an unknown type from a newer shim).
    #[error("containerd {op} answered with {what}, which this Warren cannot read")]
    Unsupported {
        /// The operation that was under way.
        op: &'static str,
        /// What came back.
        what: String,
    },

    /// The registry could not be reached at all (connection refused, DNS, TLS, timeout).
    #[error("registry {registry} is unreachable while {op}: {message}")]
    RegistryUnreachable {
        /// The operation that was under way.
        op: &'static str,
        /// The registry host.
        registry: String,
        /// The underlying error's own message.
        message: String,
        /// The underlying error, where there is one (a `tonic::Status`, an I/O or HTTP
        /// error, a daemon error this one refines), for logs and for callers who look
        /// further.
        #[source]
        source: Option<BoxError>,
    },

    /// The registry refused our credentials, or wants some and we have none for it
    /// (set them in `RegistryOptions::credentials`).
    #[error(
        "registry {registry} refused access while {op} (credentials missing or wrong): {message}"
    )]
    Unauthorized {
        /// The operation that was under way.
        op: &'static str,
        /// The registry host.
        registry: String,
        /// The underlying error's own message.
        message: String,
        /// The underlying error, where there is one (a `tonic::Status`, an I/O or HTTP
        /// error, a daemon error this one refines), for logs and for callers who look
        /// further.
        #[source]
        source: Option<BoxError>,
    },

    /// The registry does not have this image (unknown repository, tag or digest).
    #[error("image {reference} is not in its registry: {message}")]
    UnknownImage {
        /// The image reference as given.
        reference: String,
        /// The underlying error's own message.
        message: String,
        /// The underlying error, where there is one (a `tonic::Status`, an I/O or HTTP
        /// error, a daemon error this one refines), for logs and for callers who look
        /// further.
        #[source]
        source: Option<BoxError>,
    },

    /// A blob's bytes do not hash to the digest its descriptor names (or have another size).
    #[error("blob {digest} of {reference} does not match its digest: {message}")]
    DigestMismatch {
        /// The image reference as given.
        reference: String,
        /// The blob's expected digest.
        digest: String,
        /// The underlying error's own message.
        message: String,
        /// The underlying error, where there is one (a `tonic::Status`, an I/O or HTTP
        /// error, a daemon error this one refines), for logs and for callers who look
        /// further.
        #[source]
        source: Option<BoxError>,
    },

    /// Something a registry or an archive sent is bigger than Warren reads (see
    /// [`crate::images::limits`]). It was not read past the limit, and nothing is left of
    /// the pull or import.
    #[error("{what} of {subject} is over the {limit}-byte limit{detail}")]
    TooLarge {
        /// What was being read: `manifest`, `config`, `layer`, `archive metadata`...
        what: &'static str,
        /// The image reference or archive path.
        subject: String,
        /// The limit, in bytes.
        limit: u64,
        /// More about it (the size the source declared, or "" when it just kept sending).
        detail: String,
    },

    /// A limit Warren keeps on what a registry, an archive or a layer may make it do was
    /// reached: unpacked bytes of a layer or an image, and the like. The operation stopped
    /// at the limit and left nothing behind; `setting` says how to change the limit.
    #[error("{subject}: {what}: over the {limit} of {value} (set by {setting})")]
    LimitExceeded {
        /// The image reference, layer or archive concerned.
        subject: String,
        /// What happened, e.g. "the layer unpacks to more bytes".
        what: String,
        /// The limit's name, e.g. "per-layer unpacked size limit".
        limit: &'static str,
        /// Its value, e.g. "64 GiB".
        value: String,
        /// The option (and warrend setting) that sets it.
        setting: &'static str,
    },

    /// The file system holding containerd's content or snapshots has less free space than
    /// the configured floor: the pull or import stopped before filling it.
    #[error("only {free} bytes are free on {} ({what}), below the floor of {floor} bytes (set by {setting}); free some space or lower the floor", path.display())]
    LowDiskSpace {
        /// What was under way, e.g. "pulling docker.io/library/busybox:latest".
        what: String,
        /// The directory checked.
        path: std::path::PathBuf,
        /// Bytes free there.
        free: u64,
        /// The floor.
        floor: u64,
        /// The option (and warrend setting) that sets it.
        setting: &'static str,
    },

    /// A registry went silent (no byte for the idle timeout), or a connection or the whole
    /// pull took longer than allowed. Nothing of the pull is left behind.
    #[error("registry {registry} timed out while {op}: {what} (set by {setting})")]
    RegistryTimeout {
        /// The operation that was under way.
        op: &'static str,
        /// The registry host.
        registry: String,
        /// Which limit, and its value, e.g. "no byte for 60 s".
        what: String,
        /// The option (and warrend setting) that sets it.
        setting: &'static str,
    },

    /// The registry refused or failed a request in another way.
    #[error("registry error while {op} {reference}: {message}")]
    Registry {
        /// The operation that was under way.
        op: &'static str,
        /// The image reference as given.
        reference: String,
        /// The underlying error's own message.
        message: String,
        /// The underlying error, where there is one (a `tonic::Status`, an I/O or HTTP
        /// error, a daemon error this one refines), for logs and for callers who look
        /// further.
        #[source]
        source: Option<BoxError>,
    },

    /// The image's content is not what its manifest promised.
    #[error("image {reference} is inconsistent: {reason}")]
    BadImage {
        /// The image reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },

    /// No manifest in the image's index matches the wanted platform.
    #[error("image {reference} has no manifest for {platform} (it has: {available})")]
    NoMatchingPlatform {
        /// The image reference as given.
        reference: String,
        /// The platform wanted.
        platform: String,
        /// The platforms the index has.
        available: String,
    },

    /// An image archive that is neither an OCI image layout nor a `docker save` tarball, or
    /// is damaged.
    #[error("image archive {}: {reason}", path.display())]
    Archive {
        /// The file or archive concerned (empty when there is none).
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Reading a local file failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// The operation that was under way.
        op: &'static str,
        /// The file or archive concerned (empty when there is none).
        path: std::path::PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },

    /// A task the runtime ran the work on ended without an answer: it panicked (a bug), or
    /// the async runtime was shutting down and cancelled it.
    #[error("{op}: the task doing it {}", if source.is_panic() { "panicked (a bug in Warren)" } else { "was cancelled (the runtime is shutting down)" })]
    Task {
        /// The operation that was under way.
        op: &'static str,
        /// tokio's account of how the task ended.
        #[source]
        source: tokio::task::JoinError,
    },

    /// A request that cannot be carried out as given. Nothing was created.
    #[error("invalid {field} {value:?}: {allowed}")]
    InvalidRequest {
        /// The field of the request.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },

    /// The container spec could not be built from the request and the image. Nothing was
    /// created.
    #[error("container {id}: {source}")]
    Spec {
        /// The container.
        id: String,
        /// What warren-spec refused.
        #[source]
        source: warren_spec::SpecError,
    },

    /// A container with this id already exists in the namespace.
    #[error("container {id} already exists in namespace {namespace}")]
    AlreadyExists {
        /// The id.
        id: String,
        /// The namespace.
        namespace: String,
    },

    /// The operation needs the container in another state (e.g. exec needs it running).
    #[error("container {id} is {state}: {op} needs it {needs}")]
    WrongState {
        /// The container.
        id: String,
        /// The operation.
        op: &'static str,
        /// Its state now.
        state: String,
        /// The state the operation needs.
        needs: &'static str,
    },

    /// The container's process could not be started (e.g. its command is not in the image).
    /// Nothing the start made is left behind.
    #[error("container {id} failed to start: {message}")]
    StartFailed {
        /// The container.
        id: String,
        /// containerd's and runc's explanation.
        message: String,
        /// The underlying error, where there is one (a `tonic::Status`, an I/O or HTTP
        /// error, a daemon error this one refines), for logs and for callers who look
        /// further.
        #[source]
        source: Option<BoxError>,
    },

    /// Something asked for does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What kind of object: `container`, `image`, `task`...
        kind: &'static str,
        /// Its id or name.
        id: String,
    },
}

/// The boxed source of a [`RuntimeError`] variant that wraps another error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure a [`RuntimeError`] is: what a caller decides on (retry, report bad
/// input, treat as absent) without matching every variant or knowing gRPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request or one of its values is not acceptable; nothing was created.
    InvalidInput,
    /// The container, image, task or file does not exist.
    NotFound,
    /// An object with this name exists already.
    AlreadyExists,
    /// The object is not in a state the operation can work with (e.g. exec on a stopped
    /// container), or containerd refused for a precondition.
    WrongState,
    /// The container's process could not be started.
    StartFailed,
    /// containerd or the registry cannot be reached now; trying later may work.
    Unavailable,
    /// containerd went away in the middle of the call; finished steps were undone.
    Interrupted,
    /// Warren stopped waiting for an answer.
    Timeout,
    /// The caller stopped waiting (or the async runtime shut down) before the operation
    /// ended; what it had started was ended.
    Cancelled,
    /// The registry refused or failed the request.
    Registry,
    /// Credentials are missing or wrong.
    PermissionDenied,
    /// Content does not match its digest, or an image contradicts itself.
    Integrity,
    /// Something is bigger than Warren reads, or containerd ran out of a resource.
    LimitExceeded,
    /// A CNI plugin failed.
    Network,
    /// Something this Warren or this containerd does not support.
    Unsupported,
    /// A local file could not be read or written.
    Io,
    /// Anything else: a bug in Warren or containerd, or a failure it cannot classify.
    Internal,
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::WrongState => "wrong state",
            ErrorKind::StartFailed => "start failed",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Registry => "registry error",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::Integrity => "integrity error",
            ErrorKind::LimitExceeded => "limit exceeded",
            ErrorKind::Network => "network error",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Io => "I/O error",
            ErrorKind::Internal => "internal error",
        };
        f.write_str(s)
    }
}

impl RuntimeError {
    /// A refusal of one of warren-spec's checks of a request for container `id`: a bad
    /// value is worded as the runtime's own refusals are (`InvalidRequest`), anything else
    /// names the container.
    pub(crate) fn of_request_check(id: &str, e: warren_spec::SpecError) -> RuntimeError {
        match e {
            warren_spec::SpecError::InvalidValue {
                field,
                value,
                reason,
            } => RuntimeError::InvalidRequest {
                field,
                value,
                allowed: reason,
            },
            source => RuntimeError::Spec {
                id: id.to_string(),
                source,
            },
        }
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// use warren_runtime::{ErrorKind, RuntimeError};
    /// let e = RuntimeError::NotFound { kind: "container", id: "web-1".into() };
    /// assert_eq!(e.kind(), ErrorKind::NotFound);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        use RuntimeError as E;
        match self {
            E::InvalidReference { .. }
            | E::InvalidRequest { .. }
            | E::Spec { .. }
            | E::Archive { .. }
            | E::Proto(warren_proto::Error::InvalidIdentifier { .. }) => ErrorKind::InvalidInput,
            E::Proto(
                warren_proto::Error::NoSocket { .. } | warren_proto::Error::Connect { .. },
            ) => ErrorKind::Unavailable,
            E::Proto(_) => ErrorKind::Internal,
            E::Unavailable { .. } | E::RegistryUnreachable { .. } => ErrorKind::Unavailable,
            E::Interrupted { .. } => ErrorKind::Interrupted,
            E::CniPlugin { .. } => ErrorKind::Network,
            E::Daemon { kind, .. } => *kind,
            E::Unsupported { .. } => ErrorKind::Unsupported,
            E::Unauthorized { .. } => ErrorKind::PermissionDenied,
            E::UnknownImage { .. } | E::NoMatchingPlatform { .. } | E::NotFound { .. } => {
                ErrorKind::NotFound
            }
            E::DigestMismatch { .. } | E::BadImage { .. } => ErrorKind::Integrity,
            E::TooLarge { .. } | E::LimitExceeded { .. } | E::LowDiskSpace { .. } => {
                ErrorKind::LimitExceeded
            }
            E::RegistryTimeout { .. } => ErrorKind::Timeout,
            E::Registry { .. } => ErrorKind::Registry,
            E::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            E::Io { .. } => ErrorKind::Io,
            E::Task { source, .. } if source.is_cancelled() => ErrorKind::Cancelled,
            E::Cancelled { .. } => ErrorKind::Cancelled,
            E::Task { .. } => ErrorKind::Internal,
            E::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            E::WrongState { .. } => ErrorKind::WrongState,
            E::StartFailed { .. } => ErrorKind::StartFailed,
        }
    }

    /// Whether containerd said the object does not exist (not a missing local file).
    pub(crate) fn is_missing_object(&self) -> bool {
        matches!(
            self,
            RuntimeError::NotFound { .. }
                | RuntimeError::Daemon {
                    kind: ErrorKind::NotFound,
                    ..
                }
        )
    }

    /// The underlying message of a daemon error (containerd's own words), or the whole
    /// error's text for any other: what a wrapping error quotes.
    pub(crate) fn daemon_message(&self) -> String {
        match self {
            RuntimeError::Daemon { message, .. } | RuntimeError::Interrupted { message, .. } => {
                message.clone()
            }
            e => e.to_string(),
        }
    }

    /// containerd did not answer `op` within `waited`.
    pub(crate) fn daemon_timeout(op: &'static str, waited: std::time::Duration) -> Self {
        RuntimeError::Daemon {
            op,
            kind: ErrorKind::Timeout,
            message: format!("no answer within {} s", waited.as_secs()),
            source: None,
        }
    }
}

/// `Ok(None)` when containerd answered NotFound: for lookups where absence is an answer.
pub(crate) fn found<T>(result: Result<T, RuntimeError>) -> Result<Option<T>, RuntimeError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_missing_object() => Ok(None),
        Err(e) => Err(e),
    }
}

/// For clean-up steps: an object that is already gone is fine, any other failure is logged
/// (`what` names the step) and the clean-up goes on.
pub(crate) fn warn_unless_missing<T>(result: Result<T, RuntimeError>, what: &str, object: &str) {
    match result {
        Ok(_) => {}
        Err(e) if e.is_missing_object() => {}
        Err(e) => tracing::warn!(object, error = %e, "could not {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_not_found_but_not_a_missing_object() {
        let e = RuntimeError::Io {
            op: "read",
            path: "/nope".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(!e.is_missing_object());
    }
}
