//! A fake host network (`warren_runtime::NetworkBackend`): namespaces are paths in a set,
//! and the plugins answer as loopback, bridge with host-local IPAM, and portmap would, with
//! the addresses they hand out and the port rules they add kept by container id. Every
//! call is logged as `"<COMMAND> <plugin>"` (or `"netns create"`, `"netns remove"`,
//! `"protect loopback"`); a test makes calls fail or hold. No root: nothing touches the
//! host.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use warren_runtime::network::{NetworkBackend, PluginCall};
use warren_runtime::RuntimeError;

/// The fake's state, for tests to look at.
#[derive(Debug, Default)]
pub struct NetState {
    /// Namespaces that exist, by path.
    pub namespaces: BTreeSet<PathBuf>,
    /// Addresses handed out by IPAM, by the id the plugins were given.
    pub addresses: BTreeMap<String, Ipv4Addr>,
    /// Containers with port rules, by the id the plugins were given.
    pub port_rules: BTreeSet<String>,
    /// Every call, in order.
    pub calls: Vec<String>,
    /// Calls that fail, with how many more times they fail.
    fail: BTreeMap<String, u32>,
    /// Calls that wait while listed here.
    stall: BTreeSet<String>,
    next_host: u8,
}

impl NetState {
    /// How many times `call` was made.
    pub fn count(&self, call: &str) -> usize {
        self.calls.iter().filter(|c| *c == call).count()
    }

    /// Whether nothing is held: no namespace, address or port rule.
    pub fn is_clean(&self) -> bool {
        self.namespaces.is_empty() && self.addresses.is_empty() && self.port_rules.is_empty()
    }
}

/// See the module docs. Clones share their state.
#[derive(Debug, Default, Clone)]
pub struct FakeNetwork {
    state: Arc<Mutex<NetState>>,
}

impl FakeNetwork {
    /// Make `call` fail from now on.
    pub fn fail(&self, call: &str) {
        self.fail_times(call, u32::MAX);
    }

    /// Make `call` fail the next `times` times.
    pub fn fail_times(&self, call: &str, times: u32) {
        self.state().fail.insert(call.to_string(), times);
    }

    /// Let `call` succeed again.
    pub fn heal(&self, call: &str) {
        self.state().fail.remove(call);
    }

    /// Hold `call` until [`release`](Self::release).
    pub fn stall(&self, call: &str) {
        self.state().stall.insert(call.to_string());
    }

    /// Let held calls of `call` go on.
    pub fn release(&self, call: &str) {
        self.state().stall.remove(call);
    }

    /// A look at the state.
    pub fn state(&self) -> std::sync::MutexGuard<'_, NetState> {
        self.state.lock().unwrap()
    }

    /// Log `call`, wait while it is stalled, and fail it if the test asked for that.
    async fn enter(&self, call: &str) -> Result<(), RuntimeError> {
        self.state().calls.push(call.to_string());
        while self.state().stall.contains(call) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let mut s = self.state();
        match s.fail.get_mut(call) {
            Some(0) | None => Ok(()),
            Some(n) => {
                if *n != u32::MAX {
                    *n -= 1;
                }
                Err(RuntimeError::CniPlugin {
                    plugin: call.to_string(),
                    command: "",
                    code: 11,
                    message: format!("{call}: injected failure"),
                })
            }
        }
    }
}

fn io_error(path: &Path, kind: std::io::ErrorKind) -> RuntimeError {
    RuntimeError::Io {
        op: "fake netns",
        path: path.to_path_buf(),
        source: kind.into(),
    }
}

#[async_trait::async_trait]
impl NetworkBackend for FakeNetwork {
    async fn create_namespace(&self, path: &Path) -> Result<(), RuntimeError> {
        self.enter("netns create").await?;
        if !self.state().namespaces.insert(path.to_path_buf()) {
            return Err(io_error(path, std::io::ErrorKind::AlreadyExists));
        }
        Ok(())
    }

    async fn namespace_exists(&self, path: &Path) -> bool {
        self.state().namespaces.contains(path)
    }

    async fn remove_namespace(&self, path: &Path) -> Result<(), RuntimeError> {
        self.enter("netns remove").await?;
        self.state().namespaces.remove(path);
        Ok(())
    }

    async fn run_plugin(
        &self,
        call: &PluginCall<'_>,
        config: &Value,
    ) -> Result<Value, RuntimeError> {
        let plugin = config["type"].as_str().unwrap_or_default();
        self.enter(&format!("{} {plugin}", call.command)).await?;
        let mut s = self.state();
        let id = call.container_id.to_string();
        let in_namespace = s.namespaces.contains(call.netns);
        match (call.command, plugin) {
            ("ADD", _) if !in_namespace => Err(RuntimeError::CniPlugin {
                plugin: plugin.into(),
                command: "ADD",
                code: 999,
                message: format!("no namespace at {}", call.netns.display()),
            }),
            ("ADD", "loopback") => Ok(json!({"cniVersion": "1.0.0"})),
            ("ADD", "bridge") => {
                s.next_host += 1;
                let ip = Ipv4Addr::new(10, 88, 0, s.next_host + 1);
                s.addresses.insert(id, ip);
                Ok(json!({
                    "cniVersion": "1.0.0",
                    "ips": [{"address": format!("{ip}/16"), "gateway": "10.88.0.1"}],
                }))
            }
            ("ADD", "portmap") => {
                assert!(
                    config.get("prevResult").is_some(),
                    "portmap without prevResult"
                );
                s.port_rules.insert(id);
                Ok(config["prevResult"].clone())
            }
            ("DEL", "bridge") => {
                s.addresses.remove(&id);
                Ok(Value::Null)
            }
            ("DEL", "portmap") => {
                s.port_rules.remove(&id);
                Ok(Value::Null)
            }
            ("CHECK", "bridge") if !s.addresses.contains_key(&id) => Err(RuntimeError::CniPlugin {
                plugin: plugin.into(),
                command: "CHECK",
                code: 999,
                message: "no address".into(),
            }),
            _ => Ok(Value::Null),
        }
    }

    async fn protect_host_loopback(&self) -> Result<(), RuntimeError> {
        self.enter("protect loopback").await
    }
}
