//! The one error type of this crate.

use std::path::PathBuf;

/// What can go wrong while connecting to containerd or handling its payloads.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing exists at the socket path: the daemon is not running, or the path is wrong.
    #[error(
        "no containerd socket at {path}: is the daemon running, and is this its [grpc] address?"
    )]
    NoSocket {
        /// The socket path that was tried.
        path: PathBuf,
    },

    /// The socket path does not fit in a unix socket address (`sun_path`), so no connection
    /// to it can ever be made.
    #[error(
        "containerd socket path {path} is {len} bytes long; unix socket paths may be at most {max} bytes"
    )]
    SocketPathTooLong {
        /// The socket path that was given.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
        /// The longest path the kernel accepts.
        max: usize,
    },

    /// The socket exists but the connection failed or timed out.
    #[error("cannot connect to containerd at {path}: {source}")]
    Connect {
        /// The socket path that was tried.
        path: PathBuf,
        /// What tonic reported.
        #[source]
        source: tonic::transport::Error,
    },

    /// A namespace (or lease id) that containerd would reject.
    #[error(
        "invalid containerd {what} {value:?}: {reason} (allowed: ASCII letters and digits, \
         joined by single '.', '_' or '-', 1 to 76 characters)"
    )]
    InvalidIdentifier {
        /// What the identifier names: "namespace", "lease id", ...
        what: &'static str,
        /// The rejected value.
        value: String,
        /// The specific rule it breaks.
        reason: &'static str,
    },

    /// An `Any` payload of a different type than the caller expected.
    #[error("expected an Any of type {expected}, got {found:?}")]
    UnexpectedType {
        /// The full proto name the caller asked for.
        expected: String,
        /// The type URL the payload carries.
        found: String,
    },

    /// An `Any` payload whose bytes do not decode as its declared type.
    #[error("cannot decode {type_url}: {source}")]
    Decode {
        /// The payload's type URL.
        type_url: String,
        /// What prost reported.
        #[source]
        source: prost::DecodeError,
    },
}
