//! Not part of the API (hidden from the docs, may change in any release): the network
//! set-up alone, without containerd, for `cargo xtask bench network`.

use std::path::Path;

use super::{cni, netns, NetworkConfig, PluginCall};
use crate::RuntimeError;

/// One pinned network namespace, CNI ADD of loopback and bridge, DEL, and the namespace
/// removed: the steps the runtime takes for a bridge container without published ports.
pub async fn add_del(net: &NetworkConfig, dir: &Path, id: &str) -> Result<(), RuntimeError> {
    let plugin_dir = net.plugin_dir_or_default();
    let ns = dir.join(format!("ns-{id}"));
    let bridge = net.bridge_plugin()?;
    netns::create(&ns).await?;
    let call = |command, ifname| PluginCall {
        command,
        container_id: id,
        netns: &ns,
        ifname,
        plugin_dir: &plugin_dir,
    };
    let lo = cni::config(
        &net.name,
        serde_json::json!({"type": "loopback"}),
        None,
        None,
    );
    cni::exec(&call("ADD", "lo"), &lo).await?;
    let add = cni::config(&net.name, bridge.clone(), None, None);
    let result = cni::exec(&call("ADD", "eth0"), &add).await?;
    let del = cni::config(&net.name, bridge, Some(&result), None);
    cni::exec(&call("DEL", "eth0"), &del).await?;
    netns::remove(&ns).await
}
