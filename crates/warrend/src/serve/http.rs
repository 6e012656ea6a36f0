//! Loopback HTTP: `/healthz` (200 when containerd answers, 503 when it does not) and
//! `/metrics` (OpenMetrics text, which Prometheus scrapes).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::task::JoinHandle;

use super::Daemon;

const METRICS_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Bind `addr` and serve until the task is aborted. The bound address (useful with port 0)
/// is written to `<state>/http.addr`.
pub async fn serve(daemon: Daemon, addr: SocketAddr) -> anyhow::Result<JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the HTTP address {addr} (http.address)"))?;
    let bound = listener.local_addr()?;
    let addr_file = daemon.config.paths.state.join("http.addr");
    tokio::fs::write(&addr_file, format!("{bound}\n"))
        .await
        .with_context(|| format!("writing {}", addr_file.display()))?;
    tracing::info!(address = %bound, "serving /healthz and /metrics");
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(daemon);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the HTTP server stopped");
        }
    }))
}

async fn healthz(State(d): State<Daemon>) -> impl IntoResponse {
    let version = tokio::time::timeout(Duration::from_secs(2), d.rt.daemon_version());
    match version.await {
        Ok(Ok(v)) => (StatusCode::OK, format!("ok: containerd {}\n", v.version)),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("containerd does not answer: {e}\n"),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "containerd did not answer within 2 s\n".to_string(),
        ),
    }
}

async fn metrics(State(d): State<Daemon>) -> impl IntoResponse {
    let body = d.metrics.render(&d).await;
    ([(header::CONTENT_TYPE, METRICS_TYPE)], body)
}
