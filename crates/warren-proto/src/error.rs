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
    NoSocket { path: PathBuf },

    /// The socket exists but the connection failed or timed out.
    #[error("cannot connect to containerd at {path}: {source}")]
    Connect {
        path: PathBuf,
        #[source]
        source: tonic::transport::Error,
    },

    /// A namespace (or lease id) that containerd would reject.
    #[error("invalid containerd {what} {value:?}: {reason}")]
    InvalidIdentifier {
        what: &'static str,
        value: String,
        reason: &'static str,
    },

    /// An `Any` payload of a different type than the caller expected.
    #[error("expected an Any of type {expected}, got {found:?}")]
    UnexpectedType { expected: String, found: String },

    /// An `Any` payload whose bytes do not decode as its declared type.
    #[error("cannot decode {type_url}: {source}")]
    Decode {
        type_url: String,
        #[source]
        source: prost::DecodeError,
    },
}
