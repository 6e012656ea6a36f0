//! Per-RPC timing: every call made through [`crate::Clients`] emits one `tracing` event with
//! the method's path and how long the daemon took to answer, so a caller can see where its
//! time goes (e.g. `RUST_LOG=warren::rpc=debug`, or a subscriber that sums them up).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tower::Service;

/// The `tracing` target of the per-RPC events. Fields: `rpc` (the gRPC path, e.g.
/// `/containerd.services.tasks.v1.Tasks/Start`), `micros` (request sent → response headers
/// received: for a unary call, the daemon's whole handling), `ok`.
pub const RPC_TARGET: &str = "warren::rpc";

/// A transport wrapper that times each call (see the module docs). Costs one check of
/// whether the event is enabled when it is not.
#[derive(Clone, Debug)]
pub struct Timed<S> {
    inner: S,
}

impl<S> Timed<S> {
    /// Time the calls made through `inner`.
    pub fn new(inner: S) -> Self {
        Timed { inner }
    }
}

impl<S, B> Service<http::Request<B>> for Timed<S>
where
    S: Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let timed = tracing::enabled!(target: RPC_TARGET, tracing::Level::DEBUG)
            .then(|| (Instant::now(), request.uri().path().to_string()));
        let response = self.inner.call(request);
        Box::pin(async move {
            let result = response.await;
            if let Some((start, rpc)) = timed {
                tracing::debug!(
                    target: RPC_TARGET,
                    rpc = %rpc,
                    micros = start.elapsed().as_micros() as u64,
                    ok = result.is_ok(),
                    "rpc"
                );
            }
            result
        })
    }
}
