//! Errors of node API calls: what kind of failure it was (Warren's reason, which warrend
//! sends in every error status), the field at fault for bad input, and warrend's message.

use prost::Message;
use warren_proto::google::rpc::Status as RpcStatus;
use warren_proto::warren::node::v1::{ErrorDetail, ErrorReason};

/// What kind of failure a call met; the same kinds as warren-runtime's `ErrorKind`, plus
/// the client's own (the daemon could not be reached, an event cursor is too old).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request or one of its values is not acceptable; nothing was created.
    InvalidInput,
    /// The container, image or file does not exist.
    NotFound,
    /// An object with this name exists already.
    AlreadyExists,
    /// The object is not in a state the call can work with.
    WrongState,
    /// The container's process could not be started.
    StartFailed,
    /// warrend, containerd or a registry cannot be reached now; trying later may work.
    Unavailable,
    /// containerd went away in the middle of the call; finished steps were undone.
    Interrupted,
    /// Someone stopped waiting for an answer.
    Timeout,
    /// The call was cancelled before it ended (warrend was shutting down, or a proxy
    /// gave up); what it had started was ended, so making it again is safe.
    Cancelled,
    /// A registry refused or failed the request.
    Registry,
    /// Credentials are missing or wrong, or the socket is not ours to use.
    PermissionDenied,
    /// Content does not match its digest.
    Integrity,
    /// Something is bigger than Warren reads, or a resource ran out.
    LimitExceeded,
    /// A CNI plugin failed.
    Network,
    /// Something this warrend or its containerd does not support.
    Unsupported,
    /// A file on the node could not be read or written.
    Io,
    /// An event cursor can no longer be resumed from: list again, then watch from now.
    EventsMissed,
    /// A bug in warrend or containerd, or a failure nobody could classify.
    Internal,
}

impl ErrorKind {
    fn of_reason(r: ErrorReason) -> Option<ErrorKind> {
        Some(match r {
            ErrorReason::Unspecified => return None,
            ErrorReason::InvalidInput => ErrorKind::InvalidInput,
            ErrorReason::NotFound => ErrorKind::NotFound,
            ErrorReason::AlreadyExists => ErrorKind::AlreadyExists,
            ErrorReason::WrongState => ErrorKind::WrongState,
            ErrorReason::StartFailed => ErrorKind::StartFailed,
            ErrorReason::Unavailable => ErrorKind::Unavailable,
            ErrorReason::Interrupted => ErrorKind::Interrupted,
            ErrorReason::Timeout => ErrorKind::Timeout,
            ErrorReason::Registry => ErrorKind::Registry,
            ErrorReason::PermissionDenied => ErrorKind::PermissionDenied,
            ErrorReason::Integrity => ErrorKind::Integrity,
            ErrorReason::LimitExceeded => ErrorKind::LimitExceeded,
            ErrorReason::Network => ErrorKind::Network,
            ErrorReason::Unsupported => ErrorKind::Unsupported,
            ErrorReason::Io => ErrorKind::Io,
            ErrorReason::Internal => ErrorKind::Internal,
            ErrorReason::EventsMissed => ErrorKind::EventsMissed,
            ErrorReason::Cancelled => ErrorKind::Cancelled,
        })
    }

    /// The kind a status code implies, for statuses without Warren's detail (a proxy's, or
    /// the transport's own).
    fn of_code(code: tonic::Code) -> ErrorKind {
        use tonic::Code as C;
        match code {
            C::InvalidArgument => ErrorKind::InvalidInput,
            C::NotFound => ErrorKind::NotFound,
            C::AlreadyExists => ErrorKind::AlreadyExists,
            C::FailedPrecondition => ErrorKind::WrongState,
            C::Unavailable | C::Aborted => ErrorKind::Unavailable,
            C::DeadlineExceeded => ErrorKind::Timeout,
            C::Cancelled => ErrorKind::Cancelled,
            C::PermissionDenied | C::Unauthenticated => ErrorKind::PermissionDenied,
            C::DataLoss => ErrorKind::Integrity,
            C::ResourceExhausted => ErrorKind::LimitExceeded,
            C::Unimplemented => ErrorKind::Unsupported,
            C::OutOfRange => ErrorKind::EventsMissed,
            _ => ErrorKind::Internal,
        }
    }

    /// True where the same call may work if made again later.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Unavailable
                | ErrorKind::Interrupted
                | ErrorKind::Timeout
                | ErrorKind::Cancelled
        )
    }
}

/// A failed node API call.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The socket could not be connected to.
    #[error("{message}")]
    Connect {
        /// What went wrong and what to do, naming the socket.
        message: String,
        /// `Unavailable`, or `PermissionDenied` for a socket this user may not use.
        kind: ErrorKind,
    },
    /// warrend (or the transport) answered with an error status. Shown as the status's
    /// message, after "the daemon went away: " when the connection broke.
    #[error("{}{message}", if transport_broke(*code, message) { WENT_AWAY } else { "" })]
    Status {
        /// Warren's kind of failure.
        kind: ErrorKind,
        /// The gRPC status code.
        code: tonic::Code,
        /// The status's own message: warrend's (what was wrong and what is allowed), or
        /// the transport's.
        message: String,
        /// For invalid input: the request field at fault.
        field: Option<String>,
    },
}

impl ClientError {
    /// What kind of failure it was.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Connect { kind, .. } | ClientError::Status { kind, .. } => *kind,
        }
    }

    /// The request field at fault, for invalid input.
    pub fn field(&self) -> Option<&str> {
        match self {
            ClientError::Status { field, .. } => field.as_deref(),
            ClientError::Connect { .. } => None,
        }
    }

    /// The message alone, without the words the client puts before it: for a status,
    /// warrend's (or the transport's) text, which is what a line about one container or
    /// image shows; for a failed connect, the whole explanation.
    pub fn status_message(&self) -> &str {
        match self {
            ClientError::Status { message, .. } | ClientError::Connect { message, .. } => message,
        }
    }

    /// The gRPC status code (`Unavailable` for a failed connect).
    pub fn code(&self) -> tonic::Code {
        match self {
            ClientError::Status { code, .. } => *code,
            ClientError::Connect { .. } => tonic::Code::Unavailable,
        }
    }
}

/// What the client shows before the message of a status that says the connection broke.
const WENT_AWAY: &str = "the daemon went away: ";

/// True for the statuses tonic makes itself when the connection to warrend broke.
fn transport_broke(code: tonic::Code, message: &str) -> bool {
    code == tonic::Code::Unavailable && message.contains("transport")
}

/// Warren's detail of a status, if it carries one.
fn detail(s: &tonic::Status) -> Option<ErrorDetail> {
    let rpc = RpcStatus::decode(s.details()).ok()?;
    rpc.details
        .iter()
        .find(|a| a.type_url.ends_with("/warren.node.v1.ErrorDetail"))
        .and_then(|a| ErrorDetail::decode(a.value.as_slice()).ok())
}

impl From<tonic::Status> for ClientError {
    fn from(s: tonic::Status) -> ClientError {
        let detail = detail(&s);
        let kind = detail
            .as_ref()
            .and_then(|d| ErrorKind::of_reason(d.reason()))
            .unwrap_or_else(|| ErrorKind::of_code(s.code()));
        ClientError::Status {
            kind,
            code: s.code(),
            message: s.message().to_string(),
            field: detail.map(|d| d.field).filter(|f| !f.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_detail(code: tonic::Code, reason: ErrorReason, field: &str) -> tonic::Status {
        let d = ErrorDetail {
            reason: reason as i32,
            field: field.into(),
        };
        let rpc = RpcStatus {
            code: code as i32,
            message: "m".into(),
            details: vec![prost_types::Any {
                type_url: "type.googleapis.com/warren.node.v1.ErrorDetail".into(),
                value: d.encode_to_vec(),
            }],
        };
        tonic::Status::with_details(code, "m", rpc.encode_to_vec().into())
    }

    #[test]
    fn the_reason_wins_over_the_code_and_the_field_is_kept() {
        let e = ClientError::from(with_detail(
            tonic::Code::FailedPrecondition,
            ErrorReason::StartFailed,
            "",
        ));
        assert_eq!(e.kind(), ErrorKind::StartFailed);
        assert_eq!(e.field(), None);
        let e = ClientError::from(with_detail(
            tonic::Code::InvalidArgument,
            ErrorReason::InvalidInput,
            "image",
        ));
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some("image"));
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn a_status_without_detail_gets_the_kind_of_its_code() {
        let e = ClientError::from(tonic::Status::out_of_range("old"));
        assert_eq!(e.kind(), ErrorKind::EventsMissed);
        let e = ClientError::from(tonic::Status::unavailable("transport error"));
        assert!(e.kind().is_retryable());
        assert_eq!(e.to_string(), "the daemon went away: transport error");
        assert_eq!(e.status_message(), "transport error");
        let e = ClientError::from(tonic::Status::not_found("no such container"));
        assert_eq!(e.to_string(), "no such container");
        assert_eq!(e.status_message(), "no such container");
    }
}
