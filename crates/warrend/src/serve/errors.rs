//! Runtime errors as gRPC statuses: the code says what kind of failure it is (so a client
//! can tell bad input from a missing object from a daemon outage), the message is the
//! runtime's own, which already says what was wrong and what to do, and the details carry
//! an `ErrorDetail` with Warren's reason (and the field at fault) for programs.

use prost::Message;
use tonic::{Code, Status};
use warren_proto::google::rpc::Status as RpcStatus;
use warren_proto::warren::node::v1::{ErrorDetail, ErrorReason};
use warren_runtime::{ErrorKind, RuntimeError};

use crate::serve::Daemon;

/// The status code for a runtime error, from its kind.
pub fn code(e: &RuntimeError) -> Code {
    match e.kind() {
        ErrorKind::InvalidInput => Code::InvalidArgument,
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::AlreadyExists => Code::AlreadyExists,
        ErrorKind::WrongState | ErrorKind::StartFailed => Code::FailedPrecondition,
        ErrorKind::Unavailable | ErrorKind::Interrupted => Code::Unavailable,
        ErrorKind::Timeout => Code::DeadlineExceeded,
        ErrorKind::Cancelled => Code::Cancelled,
        ErrorKind::PermissionDenied => Code::PermissionDenied,
        ErrorKind::Integrity => Code::DataLoss,
        ErrorKind::LimitExceeded => Code::ResourceExhausted,
        ErrorKind::Unsupported => Code::Unimplemented,
        _ => Code::Internal,
    }
}

/// Warren's reason for a runtime error's kind.
pub fn reason(kind: ErrorKind) -> ErrorReason {
    match kind {
        ErrorKind::InvalidInput => ErrorReason::InvalidInput,
        ErrorKind::NotFound => ErrorReason::NotFound,
        ErrorKind::AlreadyExists => ErrorReason::AlreadyExists,
        ErrorKind::WrongState => ErrorReason::WrongState,
        ErrorKind::StartFailed => ErrorReason::StartFailed,
        ErrorKind::Unavailable => ErrorReason::Unavailable,
        ErrorKind::Interrupted => ErrorReason::Interrupted,
        ErrorKind::Timeout => ErrorReason::Timeout,
        ErrorKind::Cancelled => ErrorReason::Cancelled,
        ErrorKind::Registry => ErrorReason::Registry,
        ErrorKind::PermissionDenied => ErrorReason::PermissionDenied,
        ErrorKind::Integrity => ErrorReason::Integrity,
        ErrorKind::LimitExceeded => ErrorReason::LimitExceeded,
        ErrorKind::Network => ErrorReason::Network,
        ErrorKind::Unsupported => ErrorReason::Unsupported,
        ErrorKind::Io => ErrorReason::Io,
        _ => ErrorReason::Internal,
    }
}

/// The reason a status made without a runtime error implies, from its code.
fn reason_of_code(code: Code) -> ErrorReason {
    match code {
        Code::InvalidArgument => ErrorReason::InvalidInput,
        Code::NotFound => ErrorReason::NotFound,
        Code::AlreadyExists => ErrorReason::AlreadyExists,
        Code::FailedPrecondition => ErrorReason::WrongState,
        Code::Unavailable => ErrorReason::Unavailable,
        Code::DeadlineExceeded => ErrorReason::Timeout,
        Code::Cancelled => ErrorReason::Cancelled,
        Code::PermissionDenied | Code::Unauthenticated => ErrorReason::PermissionDenied,
        Code::DataLoss => ErrorReason::Integrity,
        Code::ResourceExhausted => ErrorReason::LimitExceeded,
        Code::Unimplemented => ErrorReason::Unsupported,
        Code::OutOfRange => ErrorReason::EventsMissed,
        _ => ErrorReason::Internal,
    }
}

/// `code` and `message` with an `ErrorDetail` of `reason` (and `field`) in the details.
pub fn detailed(code: Code, message: String, reason: ErrorReason, field: &str) -> Status {
    let detail = ErrorDetail {
        reason: reason as i32,
        field: field.to_string(),
    };
    let any = prost_types::Any {
        type_url: format!(
            "type.googleapis.com/{}",
            <ErrorDetail as prost::Name>::full_name()
        ),
        value: detail.encode_to_vec(),
    };
    let rpc = RpcStatus {
        code: code as i32,
        message: message.clone(),
        details: vec![any],
    };
    Status::with_details(code, message, rpc.encode_to_vec().into())
}

/// `s` with an `ErrorDetail` implied by its code, unless it has details already. The field
/// of an invalid argument is what its message starts with (`field: ...`), if anything.
pub fn with_detail(s: Status) -> Status {
    if s.code() == Code::Ok || !s.details().is_empty() {
        return s;
    }
    let field = match s.code() {
        Code::InvalidArgument => s
            .message()
            .split_once(": ")
            .map(|(f, _)| f)
            .filter(|f| !f.contains(' '))
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    };
    detailed(
        s.code(),
        s.message().to_string(),
        reason_of_code(s.code()),
        &field,
    )
}

/// Why a node API call failed, as its handler says it. It becomes a gRPC status once, at
/// the handler boundary ([`ApiError::into_status`], called by `guard::call`), where a
/// runtime failure is also logged and counted.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The runtime refused or failed step `op` of the call (`create`, `start`, ...).
    #[error("{source}")]
    Runtime {
        /// The step, as counted in `warrend_errors_total`.
        op: &'static str,
        /// The runtime's error, with its kind and cause.
        #[source]
        source: RuntimeError,
    },
    /// A status the handler made itself (a missing field, a spec it could not read, a
    /// selector it refused): passed on as it is, with an `ErrorDetail` implied by its code.
    #[error("{}", .0.message())]
    Status(#[from] Status),
}

impl ApiError {
    /// For `map_err`: the runtime's failure of step `op`.
    pub fn runtime(op: &'static str) -> impl FnOnce(RuntimeError) -> ApiError {
        move |source| ApiError::Runtime { op, source }
    }

    /// The status code the client gets.
    pub fn code(&self) -> Code {
        match self {
            ApiError::Runtime { source, .. } => code(source),
            ApiError::Status(s) => s.code(),
        }
    }

    /// The status the client gets (and, for a runtime failure, the log line and count).
    pub fn into_status(self, d: &Daemon) -> Status {
        match self {
            ApiError::Runtime { op, source } => status(d, op, source),
            ApiError::Status(s) => with_detail(s),
        }
    }
}

/// Log and count a failed `op`, and turn it into a status.
pub fn status(d: &Daemon, op: &str, e: RuntimeError) -> Status {
    let code = code(&e);
    // Bad input is the caller's error, not the runtime's.
    if !matches!(
        code,
        Code::InvalidArgument | Code::NotFound | Code::AlreadyExists | Code::FailedPrecondition
    ) {
        d.metrics.error(op);
        tracing::warn!(op, error = %e, "runtime call failed");
    } else {
        tracing::debug!(op, error = %e, "request refused");
    }
    let field = match &e {
        RuntimeError::InvalidRequest { field, .. } => field,
        _ => "",
    };
    detailed(code, e.to_string(), reason(e.kind()), field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_failure_get_distinct_codes() {
        let bad = RuntimeError::InvalidRequest {
            field: "memory",
            value: "-1".into(),
            allowed: "a positive number".into(),
        };
        assert_eq!(code(&bad), Code::InvalidArgument);
        let missing = RuntimeError::NotFound {
            kind: "container",
            id: "x".into(),
        };
        assert_eq!(code(&missing), Code::NotFound);
        let down = RuntimeError::Unavailable {
            socket: "/s".into(),
            waited: std::time::Duration::from_millis(5),
            message: "gone".into(),
            source: None,
        };
        assert_eq!(code(&down), Code::Unavailable);
        let cancelled = RuntimeError::Cancelled { op: "exec" };
        assert_eq!(code(&cancelled), Code::Cancelled);
        assert_eq!(reason(cancelled.kind()), ErrorReason::Cancelled);
    }

    fn detail_of(s: &Status) -> ErrorDetail {
        let rpc = RpcStatus::decode(s.details()).unwrap();
        assert_eq!(rpc.code, s.code() as i32);
        let any = &rpc.details[0];
        assert_eq!(
            any.type_url,
            "type.googleapis.com/warren.node.v1.ErrorDetail"
        );
        ErrorDetail::decode(any.value.as_slice()).unwrap()
    }

    #[test]
    fn every_error_carries_its_reason_and_field() {
        let s = detailed(
            Code::InvalidArgument,
            "no".into(),
            ErrorReason::InvalidInput,
            "memory",
        );
        let d = detail_of(&s);
        assert_eq!(d.reason(), ErrorReason::InvalidInput);
        assert_eq!(d.field, "memory");
        let s = with_detail(Status::invalid_argument("label_selector[1]: bad"));
        assert_eq!(detail_of(&s).field, "label_selector[1]");
        let s = with_detail(Status::invalid_argument("a container id is required"));
        assert_eq!(detail_of(&s).field, "");
        let s = with_detail(Status::out_of_range("gone"));
        assert_eq!(detail_of(&s).reason(), ErrorReason::EventsMissed);
        // Details already there stay.
        let again = with_detail(s.clone());
        assert_eq!(again.details(), s.details());
    }
}
