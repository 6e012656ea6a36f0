//! [`HostNetwork`]: the host's own network behind [`NetworkBackend`].

use std::path::Path;

use serde_json::Value;

use super::backend::{NetworkBackend, PluginCall};
use super::{cni, localnet, netns};
use crate::RuntimeError;

/// The host's own network: namespaces pinned by bind mounts, the CNI plugin binaries run
/// as child processes, one iptables rule guarding loopback. Needs root. The default.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct HostNetwork;

#[async_trait::async_trait]
impl NetworkBackend for HostNetwork {
    async fn create_namespace(&self, path: &Path) -> Result<(), RuntimeError> {
        netns::create(path).await
    }

    async fn namespace_exists(&self, path: &Path) -> bool {
        netns::is_pinned(path).await
    }

    async fn remove_namespace(&self, path: &Path) -> Result<(), RuntimeError> {
        netns::remove(path).await
    }

    async fn run_plugin(
        &self,
        call: &PluginCall<'_>,
        config: &Value,
    ) -> Result<Value, RuntimeError> {
        cni::exec(call, config).await
    }

    async fn protect_host_loopback(&self) -> Result<(), RuntimeError> {
        localnet::protect_host_loopback().await
    }
}
