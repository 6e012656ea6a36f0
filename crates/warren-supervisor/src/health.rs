//! Liveness: `grpc.health.v1.Health/Check` must answer SERVING within a deadline.

use std::path::Path;
use std::time::Duration;

use warren_proto::grpc::health::v1::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

/// True if the daemon at `socket` says SERVING within `timeout`. A stopped (SIGSTOP) daemon
/// still accepts connections in the kernel's backlog but never answers: the timeout catches it.
pub async fn serving(socket: &Path, timeout: Duration) -> bool {
    let check = async {
        let channel = warren_proto::connect(socket).await.ok()?;
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .ok()?;
        Some(reply.get_ref().status == ServingStatus::Serving as i32)
    };
    matches!(tokio::time::timeout(timeout, check).await, Ok(Some(true)))
}
