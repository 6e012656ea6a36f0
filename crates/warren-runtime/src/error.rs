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
    #[error("containerd at {socket} is unavailable (waited {waited_ms} ms): {message}")]
    Unavailable {
        /// containerd's socket.
        socket: String,
        /// How long the call waited for the daemon, in milliseconds.
        waited_ms: u128,
        /// The underlying error's own message.
        message: String,
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

    /// containerd answered an RPC with an error.
    #[error("containerd {op} failed ({code:?}): {message}")]
    Daemon {
        /// The operation that was under way.
        op: &'static str,
        /// The error code it answered with.
        code: tonic::Code,
        /// The underlying error's own message.
        message: String,
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
    },

    /// The registry does not have this image (unknown repository, tag or digest).
    #[error("image {reference} is not in its registry: {message}")]
    UnknownImage {
        /// The image reference as given.
        reference: String,
        /// The underlying error's own message.
        message: String,
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

    /// The registry refused or failed a request in another way.
    #[error("registry error while {op} {reference}: {message}")]
    Registry {
        /// The operation that was under way.
        op: &'static str,
        /// The image reference as given.
        reference: String,
        /// The underlying error's own message.
        message: String,
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
    #[error("image archive {path}: {reason}")]
    Archive {
        /// The file or archive concerned (empty when there is none).
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Reading a local file failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation that was under way.
        op: &'static str,
        /// The file or archive concerned (empty when there is none).
        path: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
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

/// `Ok(None)` when containerd answered NotFound: for lookups where absence is an answer.
pub(crate) fn found<T>(result: Result<T, RuntimeError>) -> Result<Option<T>, RuntimeError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(RuntimeError::Daemon {
            code: tonic::Code::NotFound,
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// For clean-up steps: an object that is already gone is fine, any other failure is logged
/// (`what` names the step) and the clean-up goes on.
pub(crate) fn warn_unless_missing<T>(result: Result<T, RuntimeError>, what: &str, object: &str) {
    match result {
        Ok(_)
        | Err(RuntimeError::Daemon {
            code: tonic::Code::NotFound,
            ..
        }) => {}
        Err(e) => tracing::warn!(object, error = %e, "could not {what}"),
    }
}

impl RuntimeError {
    pub(crate) fn daemon(op: &'static str, status: tonic::Status) -> Self {
        if crate::client::daemon_unreachable(&status) {
            return RuntimeError::Interrupted {
                op,
                message: status.message().to_string(),
            };
        }
        RuntimeError::Daemon {
            op,
            code: status.code(),
            message: status.message().to_string(),
        }
    }
}
