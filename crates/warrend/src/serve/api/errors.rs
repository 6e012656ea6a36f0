//! Runtime errors as gRPC statuses: the code says what kind of failure it is (so a client
//! can tell bad input from a missing object from a daemon outage), the message is the
//! runtime's own, which already says what was wrong and what to do.

use tonic::{Code, Status};
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
        ErrorKind::PermissionDenied => Code::PermissionDenied,
        ErrorKind::Integrity => Code::DataLoss,
        ErrorKind::LimitExceeded => Code::ResourceExhausted,
        ErrorKind::Unsupported => Code::Unimplemented,
        _ => Code::Internal,
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
    Status::new(code, e.to_string())
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
        };
        assert_eq!(code(&down), Code::Unavailable);
    }
}
