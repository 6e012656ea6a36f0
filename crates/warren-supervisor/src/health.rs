//! Is the daemon alive, and is it ours?
//!
//! Liveness is `grpc.health.v1.Health/Check` answering SERVING within a deadline (containerd
//! says SERVING as soon as its gRPC server is up). Identity is `Introspection/Server`: from
//! 1.7 it reports the daemon's pid; every line reports the uuid it keeps under its root.

use std::path::Path;
use std::time::Duration;

use warren_proto::containerd::services::introspection::v1::introspection_client::IntrospectionClient;
use warren_proto::grpc::health::v1::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

/// True if the daemon at `socket` says SERVING within `timeout`. A stopped (SIGSTOP) daemon
/// still accepts connections into the kernel's backlog but never answers: the timeout
/// catches it.
pub(crate) async fn serving(socket: &Path, timeout: Duration) -> bool {
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

/// Who answers at `socket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerInfo {
    /// The daemon's uuid (kept in `<root>/io.containerd.grpc.v1.introspection/uuid`).
    pub uuid: String,
    /// Its pid; 0 on 1.6, which does not report it.
    pub pid: u64,
}

/// Ask the daemon at `socket` who it is; `None` if it does not say within `timeout`.
pub(crate) async fn server_info(socket: &Path, timeout: Duration) -> Option<ServerInfo> {
    let ask = async {
        let channel = warren_proto::connect(socket).await.ok()?;
        let reply = IntrospectionClient::new(channel).server(()).await.ok()?;
        let reply = reply.into_inner();
        Some(ServerInfo {
            uuid: reply.uuid,
            pid: reply.pid,
        })
    };
    tokio::time::timeout(timeout, ask).await.ok().flatten()
}
