//! The typed containerd layer: the only code of this crate that touches tonic.
//!
//! One module per containerd service Warren uses. Each call takes and returns containerd's
//! own messages (warren-proto's generated types), and every failure comes back as a
//! [`RuntimeError`] whose [`kind`](RuntimeError::kind) says what happened, keeping the gRPC
//! status as its source. Calls that are safe to repeat (reads, deletes, kills, waits) are
//! retried while the daemon restarts, up to the handle's reconnect deadline; the others are
//! made once, and a connection that breaks under them is reported as
//! [`RuntimeError::Interrupted`]. The orchestration above (pull, create, start, stop, logs,
//! exec, network) never sees a gRPC status.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use warren_proto::Clients;

use crate::{ErrorKind, RuntimeError};

pub(crate) mod containers;
pub(crate) mod content;
pub(crate) mod diff;
pub(crate) mod events;
pub(crate) mod images;
pub(crate) mod leases;
pub(crate) mod server;
pub(crate) mod snapshots;
mod stale_snapshot;
pub(crate) mod tasks;
pub(crate) mod transfer;

/// A connection to one containerd namespace (optionally under a lease), with its retry
/// policy. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Containerd {
    clients: Clients,
    socket: Arc<PathBuf>,
    reconnect_deadline: Duration,
}

/// What a tonic call returns.
type Reply<T> = Result<tonic::Response<T>, tonic::Status>;

impl Containerd {
    /// The daemon reached through `clients` at `socket`; calls safe to repeat wait up to
    /// `reconnect_deadline` for a restarting daemon.
    pub(crate) fn new(clients: Clients, socket: PathBuf, reconnect_deadline: Duration) -> Self {
        Containerd {
            clients,
            socket: Arc::new(socket),
            reconnect_deadline,
        }
    }

    /// The same connection, with every call made under `lease` (containerd's GC keeps what
    /// the calls create until the lease is deleted).
    pub(crate) fn with_lease(&self, lease: &str) -> Result<Self, RuntimeError> {
        Ok(Containerd {
            clients: self.clients.with_lease(lease)?,
            ..self.clone()
        })
    }

    /// Make `call` with `req`, again (with a fresh copy of `req`) while the daemon is
    /// unreachable, until the reconnect deadline.
    async fn retrying<Q, T, F, Fut>(
        &self,
        op: &'static str,
        req: Q,
        call: F,
    ) -> Result<T, RuntimeError>
    where
        Q: Clone,
        F: Fn(Clients, Q) -> Fut,
        Fut: Future<Output = Reply<T>>,
    {
        tracing::trace!(call = op, "containerd");
        let started = Instant::now();
        let mut delay = Duration::from_millis(20);
        loop {
            match call(self.clients.clone(), req.clone()).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(s) if unreachable(&s) => {
                    if started.elapsed() >= self.reconnect_deadline {
                        return Err(RuntimeError::Unavailable {
                            socket: self.socket.to_path_buf(),
                            waited: started.elapsed(),
                            message: s.message().to_string(),
                            source: Some(Box::new(s)),
                        });
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(500));
                }
                Err(s) => return Err(status_error(op, s)),
            }
        }
    }

    /// Make `call` with `req` once: a call that must not be repeated.
    async fn once<Q, T, F, Fut>(&self, op: &'static str, req: Q, call: F) -> Result<T, RuntimeError>
    where
        F: FnOnce(Clients, Q) -> Fut,
        Fut: Future<Output = Reply<T>>,
    {
        tracing::trace!(call = op, "containerd");
        call(self.clients.clone(), req)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| status_error(op, s))
    }
}

/// Calls of one service, each a method named as containerd's RPC (in snake case), taking its
/// request message and returning its response message.
macro_rules! rpcs {
    ($service:ident, $client:ident { $(
        $(#[$doc:meta])*
        $mode:ident $name:ident($req:ty) -> $resp:ty = $op:literal;
    )* }) => {
        /// The calls of one containerd service; see [`super::Containerd`].
        pub(crate) struct $service<'a>(pub(super) &'a super::Containerd);

        impl super::Containerd {
            #[doc = concat!("The ", stringify!($service), " service.")]
            pub(crate) fn $client(&self) -> $service<'_> {
                $service(self)
            }
        }

        impl $service<'_> {
            $(
                $(#[$doc])*
                pub(crate) async fn $name(&self, req: $req) -> Result<$resp, crate::RuntimeError> {
                    self.0
                        .$mode($op, req, |c, r| async move { c.$client().$name(r).await })
                        .await
                }
            )*
        }
    };
}
pub(crate) use rpcs;

/// A stream of replies from the daemon (events, a blob's bytes).
pub(crate) struct Replies<T> {
    op: &'static str,
    inner: tonic::Streaming<T>,
}

impl<T> Replies<T> {
    pub(super) fn new(op: &'static str, inner: tonic::Streaming<T>) -> Self {
        Replies { op, inner }
    }

    /// The next reply; `None` once the daemon ended the stream.
    pub(crate) async fn next(&mut self) -> Option<Result<T, RuntimeError>> {
        self.inner
            .message()
            .await
            .map_err(|s| status_error(self.op, s))
            .transpose()
    }
}

impl<T> futures::Stream for Replies<T> {
    type Item = Result<T, RuntimeError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let op = self.op;
        std::pin::Pin::new(&mut self.inner)
            .poll_next(cx)
            .map(|item| item.map(|r| r.map_err(|s| status_error(op, s))))
    }
}

/// True for statuses that mean "no daemon to talk to right now, or the connection to it
/// broke": UNAVAILABLE (nothing listens on the socket), and any status tonic made itself
/// from a transport failure under a call (the daemon died, or it closed the connection with
/// GOAWAY). Statuses the daemon sent carry no source error; those tonic builds from a
/// failed connection, stream or frame keep it, whatever code they map to (UNKNOWN,
/// INTERNAL, RESOURCE_EXHAUSTED for `too_many_pings`, ...). Only calls safe to repeat are
/// retried on these.
fn unreachable(status: &tonic::Status) -> bool {
    use std::error::Error;
    status.code() == tonic::Code::Unavailable || status.source().is_some()
}

/// The error for a failed call `op`: [`RuntimeError::Interrupted`] if the connection broke
/// under it, else [`RuntimeError::Daemon`] with the status's kind, keeping the status.
fn status_error(op: &'static str, status: tonic::Status) -> RuntimeError {
    if unreachable(&status) {
        return RuntimeError::Interrupted {
            op,
            message: status.message().to_string(),
            source: Some(Box::new(status)),
        };
    }
    RuntimeError::Daemon {
        op,
        kind: kind_of(status.code()),
        message: status.message().to_string(),
        source: Some(Box::new(status)),
    }
}

/// An error the daemon did not send but that stands for one in `op` (a stream that ended
/// too early, a reply out of order).
fn protocol_error(op: &'static str, message: impl Into<String>) -> RuntimeError {
    RuntimeError::Daemon {
        op,
        kind: ErrorKind::Internal,
        message: message.into(),
        source: None,
    }
}

/// The kind of failure a gRPC status code from containerd stands for.
fn kind_of(code: tonic::Code) -> ErrorKind {
    use tonic::Code as C;
    match code {
        C::InvalidArgument | C::OutOfRange => ErrorKind::InvalidInput,
        C::NotFound => ErrorKind::NotFound,
        C::AlreadyExists => ErrorKind::AlreadyExists,
        C::FailedPrecondition | C::Aborted => ErrorKind::WrongState,
        C::Unavailable => ErrorKind::Unavailable,
        C::Cancelled => ErrorKind::Cancelled,
        C::DeadlineExceeded => ErrorKind::Timeout,
        C::PermissionDenied | C::Unauthenticated => ErrorKind::PermissionDenied,
        C::ResourceExhausted => ErrorKind::LimitExceeded,
        C::Unimplemented => ErrorKind::Unsupported,
        C::DataLoss => ErrorKind::Integrity,
        C::Ok | C::Unknown | C::Internal => ErrorKind::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daemon_error_keeps_its_status_and_kind() {
        let e = status_error("Containers.Get", tonic::Status::not_found("no such thing"));
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let source = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<tonic::Status>())
            .expect("a tonic::Status");
        assert_eq!(source.code(), tonic::Code::NotFound);
        assert!(e.is_missing_object());
        assert_eq!(
            e.to_string(),
            "containerd Containers.Get failed (not found): no such thing"
        );
        let e = status_error("Tasks.Start", tonic::Status::unavailable("gone"));
        assert_eq!(e.kind(), ErrorKind::Interrupted);
        // A broken connection keeps the status it was told of, too.
        let source = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<tonic::Status>())
            .expect("a tonic::Status");
        assert_eq!(source.message(), "gone");
        let e = status_error("Tasks.Wait", tonic::Status::cancelled("context canceled"));
        assert_eq!(e.kind(), ErrorKind::Cancelled);
    }
}
