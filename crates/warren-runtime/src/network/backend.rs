//! The seam between the runtime's network orchestration and the host: where namespaces are
//! made and how a CNI plugin is run. [`HostNetwork`](super::HostNetwork) is the real one
//! (pinned namespaces, plugin binaries, iptables); a test gives the runtime a fake through
//! [`RuntimeOptions::network_backend`](crate::RuntimeOptions::network_backend) and checks,
//! without root, what the orchestration above sets up and undoes.
//!
//! The orchestration stays in the runtime whatever the backend: the order of the chain,
//! the cached result and teardown, the retries of DEL and the undo of a failed set-up.

use std::path::Path;

use serde_json::Value;

use crate::RuntimeError;

/// One run of a CNI plugin: the `CNI_*` arguments. Made by the runtime, read by a
/// [`NetworkBackend`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PluginCall<'a> {
    /// `ADD`, `DEL` or `CHECK` (`CNI_COMMAND`).
    pub command: &'static str,
    /// The id the plugins know the container by (`CNI_CONTAINERID`; host-local keys its
    /// allocations by it).
    pub container_id: &'a str,
    /// The network namespace (`CNI_NETNS`; empty for a DEL whose namespace is gone).
    pub netns: &'a Path,
    /// The interface to create or remove inside the namespace (`CNI_IFNAME`).
    pub ifname: &'a str,
    /// Where the plugin binaries are (`CNI_PATH`).
    pub plugin_dir: &'a Path,
}

/// What the runtime needs from the host to put a container on a network. Every method
/// reports failures as [`RuntimeError`]s the runtime passes on.
#[async_trait::async_trait]
pub trait NetworkBackend: std::fmt::Debug + Send + Sync + 'static {
    /// Make a new network namespace pinned at `path`, whose parent exists. If `path`
    /// exists, fail with [`RuntimeError::Io`] of kind `AlreadyExists`: another set-up of
    /// the same container holds it.
    async fn create_namespace(&self, path: &Path) -> Result<(), RuntimeError>;

    /// Whether `path` holds a namespace (after a reboot only an empty file is left).
    async fn namespace_exists(&self, path: &Path) -> bool;

    /// Release the namespace at `path` and remove the file; missing is fine.
    async fn remove_namespace(&self, path: &Path) -> Result<(), RuntimeError>;

    /// Run the plugin `config["type"]` with `config` (the whole network configuration the
    /// plugin reads on stdin). Returns its result for `ADD`, `Null` otherwise; a plugin's
    /// error object is [`RuntimeError::CniPlugin`] with its code and message.
    async fn run_plugin(
        &self,
        call: &PluginCall<'_>,
        config: &Value,
    ) -> Result<Value, RuntimeError>;

    /// Called before a container publishes ports: keep the host's loopback out of reach
    /// of the bridge (see the operator guide's network section).
    async fn protect_host_loopback(&self) -> Result<(), RuntimeError>;
}
