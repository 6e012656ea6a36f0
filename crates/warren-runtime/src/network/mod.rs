//! Container networking with the standard CNI plugins: per container a network namespace
//! pinned under its state directory, attached to a bridge (`bridge` + `host-local` IPAM,
//! `loopback`, and `portmap` for published ports), with its own `/etc/hosts` and
//! `/etc/resolv.conf`. The CNI result is cached beside it, so the address and the teardown
//! survive a restart of the process that set it up.

mod backend;
#[doc(hidden)]
pub mod bench;
pub(crate) mod cni;
pub(crate) mod config;
pub(crate) mod files;
mod host;
mod localnet;
pub(crate) mod netns;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

pub use backend::{NetworkBackend, PluginCall};
pub use config::{NetworkConfig, Subnet};
pub use host::HostNetwork;
pub use warren_spec::network::{
    DnsConfig, HostAddress, HostEntry, NetworkMode, PortMapping, Protocol,
};

use crate::undo::Undo;
use crate::{ContainerdRuntime, RuntimeError};

/// The interface name containers see.
const IFNAME: &str = "eth0";
/// The cached state of a container's network, in its directory.
const STATE_FILE: &str = "network.json";

/// A published port as the portmap plugin takes it.
fn port_to_cni(p: &PortMapping) -> Value {
    let mut v = json!({
        "hostPort": p.host_port,
        "containerPort": p.container_port,
        "protocol": match p.protocol { Protocol::Tcp => "tcp", Protocol::Udp => "udp" },
    });
    if let Some(ip) = p.host_ip {
        v["hostIP"] = json!(ip.to_string());
    }
    v
}

/// The id the plugins know container `id` by: unique on the host, because the bridge plugin
/// names its masquerade chain after network name and this id, and host-local keys addresses
/// by it. Two handles (namespaces, state dirs) with a container `web` each on one network
/// must not share a chain: the first DEL would flush the other's rules and then fail.
fn cni_id(id: &str, netns: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(netns.as_os_str().as_encoded_bytes());
    format!("{id}-{}", &hex::encode(digest)[..12])
}

/// Refuse a host port published twice (same protocol, overlapping host address).
pub(crate) fn check_ports(ports: &[PortMapping]) -> Result<(), RuntimeError> {
    for (i, a) in ports.iter().enumerate() {
        let clash = ports[..i].iter().any(|b| {
            a.host_port == b.host_port
                && a.protocol == b.protocol
                && (a.host_ip.is_none() || b.host_ip.is_none() || a.host_ip == b.host_ip)
        });
        if clash {
            return Err(RuntimeError::InvalidRequest {
                field: "published port",
                value: format!("{}/{:?}", a.host_port, a.protocol).to_lowercase(),
                allowed: "each host port (and protocol) published once".into(),
            });
        }
    }
    Ok(())
}

/// A container's network as set up, cached in its directory.
#[derive(Debug, Clone)]
struct Attached {
    /// The id the plugins were given (`CNI_CONTAINERID`), see [`cni_id`].
    cni_id: String,
    /// The plugin chain as run (so teardown uses the same, even if the config changed).
    plugins: Vec<Value>,
    network: String,
    plugin_dir: PathBuf,
    runtime_config: Value,
    result: Value,
}

impl Attached {
    fn to_json(&self) -> Value {
        json!({
            "containerId": self.cni_id,
            "plugins": self.plugins,
            "network": self.network,
            "pluginDir": self.plugin_dir,
            "runtimeConfig": self.runtime_config,
            "result": self.result,
        })
    }

    fn from_json(v: &Value, id: &str) -> Option<Attached> {
        Some(Attached {
            cni_id: v["containerId"].as_str().unwrap_or(id).to_string(),
            plugins: v["plugins"].as_array()?.clone(),
            network: v["network"].as_str()?.to_string(),
            plugin_dir: PathBuf::from(v["pluginDir"].as_str()?),
            runtime_config: v["runtimeConfig"].clone(),
            result: v["result"].clone(),
        })
    }
}

impl ContainerdRuntime {
    /// The bridge network this handle puts `NetworkMode::Bridge` containers on.
    pub fn network_config(&self) -> &NetworkConfig {
        &self.inner.network
    }

    /// The pinned network namespace of bridge container `id`.
    pub(crate) fn netns_path(&self, id: &str) -> PathBuf {
        self.inner.containers.dir(id).join("netns")
    }

    /// Set up container `id`'s bridge network: namespace, loopback, bridge + IPAM,
    /// published ports, hosts and resolv.conf. On failure everything done is undone.
    pub(crate) async fn network_up(
        &self,
        id: &str,
        files: files::NetworkFiles,
        ports: &[PortMapping],
    ) -> Result<(), RuntimeError> {
        let config = &self.inner.network;
        config.validate()?;
        let dir = self.inner.containers.dir(id);
        let owned = dir.clone();
        crate::files::blocking(
            "creating the container's directory",
            dir.clone(),
            move || crate::files::private_dir(&owned),
        )
        .await?;
        let netns = self.netns_path(id);
        match self.inner.network_backend.create_namespace(&netns).await {
            Err(RuntimeError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                // Another create of this id is under way (or one was cut short: deleting
                // the id clears what it left).
                return Err(self.already_exists(id));
            }
            Err(e) => {
                // Only if empty: anything in it belongs to another set-up of the id.
                let _ = tokio::fs::remove_dir(&dir).await;
                return Err(e);
            }
            Ok(()) => {}
        }
        let mut undo = Undo::new("network up");
        let (rt, owned) = (self.clone(), id.to_string());
        undo.push("take the network down", async move {
            rt.undo_network(&owned).await
        });
        let attached = self.attach_network(id, &netns, files, ports).await;
        undo.check(attached).await?;
        undo.commit();
        Ok(())
    }

    async fn attach_network(
        &self,
        id: &str,
        netns: &Path,
        mut files: files::NetworkFiles,
        ports: &[PortMapping],
    ) -> Result<(), RuntimeError> {
        let config = &self.inner.network;
        let plugin_dir = config.plugin_dir_or_default();
        let mut plugins = vec![config.bridge_plugin()?];
        if !ports.is_empty() {
            // portmap's SNAT opens the host's loopback to the bridge: close it first.
            self.inner.network_backend.protect_host_loopback().await?;
            plugins.push(json!({
                "type": "portmap",
                "capabilities": {"portMappings": true},
                "snat": true,
            }));
        }
        let runtime_config = json!({
            "portMappings": ports.iter().map(port_to_cni).collect::<Vec<_>>(),
        });
        let cni_id = cni_id(id, netns);
        let lo = PluginCall {
            command: "ADD",
            container_id: &cni_id,
            netns,
            ifname: "lo",
            plugin_dir: &plugin_dir,
        };
        let loopback = cni::config(&config.name, json!({"type": "loopback"}), None, None);
        self.run_plugin(&lo, &loopback).await?;
        // Recorded before the chain runs, so a failure part-way is torn down with DEL.
        let mut attached = Attached {
            cni_id: cni_id.clone(),
            plugins: plugins.clone(),
            network: config.name.clone(),
            plugin_dir: plugin_dir.clone(),
            runtime_config: runtime_config.clone(),
            result: Value::Null,
        };
        self.save_attached(id, &attached).await?;
        let call = PluginCall {
            command: "ADD",
            container_id: &cni_id,
            netns,
            ifname: IFNAME,
            plugin_dir: &plugin_dir,
        };
        let mut prev: Option<Value> = None;
        for plugin in plugins {
            let rc = plugin.get("capabilities").map(|_| &runtime_config);
            let conf = cni::config(&config.name, plugin, prev.as_ref(), rc);
            prev = Some(self.run_plugin(&call, &conf).await?);
        }
        attached.result = prev.unwrap_or(Value::Null);
        self.save_attached(id, &attached).await?;
        files.ip = cni::first_ipv4(&attached.result);
        files.default_servers = config.dns.clone();
        files::write(&self.inner.containers.dir(id), &files).await
    }

    /// The host's address as containers reach it (`host-gateway`): the bridge's gateway.
    pub fn host_gateway(&self) -> Result<IpAddr, RuntimeError> {
        Ok(IpAddr::V4(self.inner.network.validate()?.1))
    }

    /// Write `/etc/hosts` and `/etc/resolv.conf` for a container that is not on the bridge
    /// (with `--add-host` or `--dns` settings), in its (private) directory.
    pub(crate) async fn write_network_files(
        &self,
        id: &str,
        mut files: files::NetworkFiles,
    ) -> Result<(), RuntimeError> {
        let dir = self.inner.containers.dir(id);
        let owned = dir.clone();
        crate::files::blocking(
            "creating the container's directory",
            dir.clone(),
            move || crate::files::private_dir(&owned),
        )
        .await?;
        files.default_servers = self.inner.network.dns.clone();
        files::write(&dir, &files).await
    }

    async fn save_attached(&self, id: &str, attached: &Attached) -> Result<(), RuntimeError> {
        let path = self.inner.containers.dir(id).join(STATE_FILE);
        let bytes = serde_json::to_vec_pretty(&attached.to_json()).unwrap_or_default();
        tokio::fs::write(&path, bytes)
            .await
            .map_err(|e| RuntimeError::Io {
                op: "saving the container's network state",
                path: path.to_path_buf(),
                source: e,
            })
    }

    async fn load_attached(&self, id: &str) -> Option<Attached> {
        let path = self.inner.containers.dir(id).join(STATE_FILE);
        let bytes = tokio::fs::read(&path).await.ok()?;
        Attached::from_json(&serde_json::from_slice(&bytes).ok()?, id)
    }

    /// Undo a network set-up of container `id`: take it down, then remove the container's
    /// folder. A teardown that fails keeps both, so deleting the id retries it.
    pub(crate) async fn undo_network(&self, id: &str) {
        match self.network_down(id).await {
            Ok(()) => {
                let _ = tokio::fs::remove_dir_all(self.inner.containers.dir(id)).await;
            }
            Err(e) => tracing::warn!(container = %id, error = %e, "undoing the network failed"),
        }
    }

    /// Tear down container `id`'s network, if it has one: CNI DEL of the chain as it was
    /// set up (freeing the address, the veth and the port rules), then the namespace.
    /// Every plugin is asked even if one fails; on a failure the cached state and the
    /// namespace are kept, so calling this again (deleting the container again) retries.
    pub(crate) async fn network_down(&self, id: &str) -> Result<(), RuntimeError> {
        let netns = self.netns_path(id);
        if let Some(attached) = self.load_attached(id).await {
            // A namespace that is gone (or only its file is left, after a reboot) is passed
            // as empty, which the spec allows for DEL: IPAM and the rest are still freed.
            let ns_arg = if self.inner.network_backend.namespace_exists(&netns).await {
                netns.clone()
            } else {
                PathBuf::new()
            };
            let call = PluginCall {
                command: "DEL",
                container_id: &attached.cni_id,
                netns: &ns_arg,
                ifname: IFNAME,
                plugin_dir: &attached.plugin_dir,
            };
            let prev = (!attached.result.is_null()).then_some(&attached.result);
            let mut failed = None;
            for plugin in attached.plugins.iter().rev() {
                let rc = plugin.get("capabilities").map(|_| &attached.runtime_config);
                let conf = cni::config(&attached.network, plugin.clone(), prev, rc);
                // Plugins running at once contend for the xtables lock; DEL is idempotent,
                // so a failed one is tried again before it counts as failed.
                for attempt in 0..4u64 {
                    match self.run_plugin(&call, &conf).await {
                        Ok(_) => break,
                        Err(e) if attempt == 3 => {
                            tracing::warn!(container = %id, error = %e, "CNI DEL failed");
                            failed.get_or_insert(e);
                        }
                        Err(_) => {
                            tokio::time::sleep(std::time::Duration::from_millis(100 << attempt))
                                .await
                        }
                    }
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
            let state = self.inner.containers.dir(id).join(STATE_FILE);
            let _ = tokio::fs::remove_file(state).await;
        }
        self.inner.network_backend.remove_namespace(&netns).await
    }

    /// One plugin run through the handle's [`NetworkBackend`].
    async fn run_plugin(&self, call: &PluginCall<'_>, conf: &Value) -> Result<Value, RuntimeError> {
        tracing::debug!(command = call.command, plugin = %conf["type"], container = call.container_id, "CNI");
        self.inner.network_backend.run_plugin(call, conf).await
    }

    /// The IPv4 address of bridge container `id`, from its cached CNI result (no exec into
    /// the container); `None` for a container without a bridge network.
    pub async fn container_ip(&self, id: &str) -> Result<Option<Ipv4Addr>, RuntimeError> {
        crate::container_id::check_id(id)?;
        if self.container_record(id).await?.is_none() {
            return Err(crate::container_id::not_found(id));
        }
        Ok(self
            .load_attached(id)
            .await
            .and_then(|a| cni::first_ipv4(&a.result)))
    }

    /// Ask the plugins whether container `id`'s network is still as they set it up (CNI
    /// CHECK); an error says what is wrong. `portmap` is not asked: its 1.1.1 CHECK looks
    /// for IPv6 chains it never creates for IPv4-only mappings, and fails on a healthy
    /// container.
    pub async fn check_network(&self, id: &str) -> Result<(), RuntimeError> {
        crate::container_id::check_id(id)?;
        let Some(attached) = self.load_attached(id).await else {
            if self.container_record(id).await?.is_none() {
                return Err(crate::container_id::not_found(id));
            }
            return Err(RuntimeError::InvalidRequest {
                field: "container",
                value: id.to_string(),
                allowed: "a container created with NetworkMode::Bridge (only those have a \
                          CNI network to check)"
                    .into(),
            });
        };
        let netns = self.netns_path(id);
        let call = PluginCall {
            command: "CHECK",
            container_id: &attached.cni_id,
            netns: &netns,
            ifname: IFNAME,
            plugin_dir: &attached.plugin_dir,
        };
        for plugin in &attached.plugins {
            if plugin["type"] == "portmap" {
                continue;
            }
            let rc = plugin.get("capabilities").map(|_| &attached.runtime_config);
            let conf = cni::config(
                &attached.network,
                plugin.clone(),
                Some(&attached.result),
                rc,
            );
            self.run_plugin(&call, &conf).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_port_is_published_once() {
        let twice: Vec<PortMapping> = ["8080:80", "127.0.0.1:8080:81"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        assert!(check_ports(&twice).is_err());
        let apart: Vec<PortMapping> = ["8080:80", "8080:80/udp", "8081:80"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        assert!(check_ports(&apart).is_ok());
    }
}
