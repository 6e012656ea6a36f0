//! Helpers for the bridge-networking tests (`tests/tests/network.rs`): a fixture whose
//! network (bridge, subnet, IPAM store, network name) is private to one test, and views of
//! what the CNI plugins leave on the host (IPAM files, iptables rules).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use warren_runtime::{ExecRequest, NetworkConfig, NetworkMode};

use crate::containers::Fixture;
use crate::images::{busybox_layer, push};
use crate::registry::Registry;
use crate::{daemon, deps};

/// A test's bridge: removed when dropped, after tearing down (CNI DEL, unpinning) whatever
/// network a failed test left in the watched state dirs, so a panic leaves no namespace,
/// veth or iptables rule on the host.
pub struct NetGuard {
    bridge: String,
    states: Vec<PathBuf>,
}

impl NetGuard {
    /// The bridge device's name.
    pub fn name(&self) -> &str {
        &self.bridge
    }

    /// Also clear what is left in `state` (another handle's state dir on this network).
    pub fn watch(&mut self, state: &Path) {
        self.states.push(state.to_path_buf());
    }
}

impl std::fmt::Display for NetGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.bridge)
    }
}

impl Drop for NetGuard {
    fn drop(&mut self) {
        for state in &self.states {
            teardown_leftovers(state);
        }
        remove_bridge(&self.bridge);
    }
}

/// Tear down every container network whose CNI result is cached under `state` (a
/// runtime's state dir), as a failed test may leave them.
pub fn teardown_state(state: &Path) {
    teardown_leftovers(state);
}

/// Run CNI DEL from every cached `network.json` under `state`, then unpin every namespace
/// (the bridge plugin finds the rules to remove through the namespace's interface).
fn teardown_leftovers(state: &Path) {
    let left = files(state);
    for rel in left.iter().filter(|r| r.ends_with("/network.json")) {
        let path = state.join(rel);
        let Some(cached) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        else {
            continue;
        };
        let netns = path.with_file_name("netns");
        let plugin_dir = PathBuf::from(cached["pluginDir"].as_str().unwrap_or_default());
        let plugins = cached["plugins"].as_array().cloned().unwrap_or_default();
        for plugin in plugins.iter().rev() {
            let mut conf = plugin.clone();
            conf["cniVersion"] = "1.0.0".into();
            conf["name"] = cached["network"].clone();
            if !cached["result"].is_null() {
                conf["prevResult"] = cached["result"].clone();
            }
            if plugin.get("capabilities").is_some() {
                conf["runtimeConfig"] = cached["runtimeConfig"].clone();
            }
            let binary = plugin_dir.join(plugin["type"].as_str().unwrap_or_default());
            let child = Command::new(binary)
                .env_clear()
                .env("CNI_COMMAND", "DEL")
                .env(
                    "CNI_CONTAINERID",
                    cached["containerId"].as_str().unwrap_or_default(),
                )
                .env("CNI_NETNS", &netns)
                .env("CNI_IFNAME", "eth0")
                .env("CNI_PATH", &plugin_dir)
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            if let Ok(mut child) = child {
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = stdin.write_all(conf.to_string().as_bytes());
                }
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    for rel in left.iter().filter(|r| r.ends_with("/netns")) {
        let _ = nix::mount::umount2(&state.join(rel), nix::mount::MntFlags::MNT_DETACH);
    }
}

/// A fixture whose bridge network is private to this test (`n` picks the subnet), its IPAM
/// store, and the guard that removes the bridge (and a failed test's leftovers).
pub async fn fixture(prefix: &str, n: u8) -> (Fixture, tempfile::TempDir, NetGuard) {
    let registry = Registry::start();
    let image = format!("{}/warren/busybox:net", registry.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    let ipam = tempfile::tempdir().unwrap();
    let bridge = format!("wt{}{:05x}", n, rand::random::<u32>() & 0xfffff);
    let network = NetworkConfig::default()
        // Unique per run: the plugins name iptables chains after network name and container
        // id, so a run must not share them with what a crashed earlier run left behind.
        .name(format!("wt-{prefix}-{:08x}", rand::random::<u32>()))
        .bridge(bridge.clone())
        .subnet(format!("10.{}.{}.0/24", 200 + n, rand::random::<u8>()))
        .plugin_dir(deps::cni_bin_dir())
        .ipam_dir(ipam.path().to_path_buf());
    let fx =
        Fixture::with_network(prefix, registry, image, daemon::shared().socket(), network).await;
    let guard = NetGuard {
        bridge,
        states: vec![fx.state.path().to_path_buf()],
    };
    (fx, ipam, guard)
}

/// `10.x.y.` of the fixture's subnet.
pub fn subnet_prefix(fx: &Fixture) -> String {
    let subnet = &fx.rt.network_config().subnet;
    subnet
        .rsplit_once('.')
        .map(|(p, _)| format!("{p}."))
        .unwrap_or_default()
}

/// Remove the test's bridge (the bridge plugin never deletes it).
pub fn remove_bridge(name: &str) {
    let _ = std::process::Command::new("ip")
        .args(["link", "del", name])
        .output();
}

/// Run `sh -c script` in running container `id`: exit code and stdout + stderr.
pub async fn sh(fx: &Fixture, id: &str, script: &str) -> (i32, String) {
    let out = fx
        .rt
        .exec(id, &ExecRequest::new(["sh", "-c", script]))
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.exit_code as i32, text)
}

/// A request for container `id` running `cmd` on the fixture's bridge, publishing `ports`.
pub fn bridged(
    fx: &Fixture,
    id: &str,
    cmd: &[&str],
    ports: &[&str],
) -> warren_runtime::ContainerRequest {
    let mut req = fx.request(id, cmd);
    req.network = NetworkMode::Bridge {
        ports: ports.iter().map(|p| p.parse().unwrap()).collect(),
    };
    req
}

/// Every file under `dir`, relative (the IPAM store).
pub fn files(dir: &Path) -> BTreeSet<String> {
    crate::files_under(dir)
}

/// The host's iptables rules (all tables) that mention `needle` (this test's network name,
/// subnet or port: other tests change rules concurrently), without counters.
pub fn iptables(needles: &[String]) -> BTreeSet<String> {
    let out = std::process::Command::new("iptables-save")
        .output()
        .expect("iptables-save runs (cargo xtask deps installs iptables)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && needles.iter().any(|n| l.contains(n.as_str())))
        .map(|l| match l.rfind(" [") {
            Some(i) if l.starts_with(':') => l[..i].to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// The fixture's handle options again, as a restarted process would build them.
pub fn same_options(fx: &Fixture) -> warren_runtime::RuntimeOptions {
    warren_runtime::RuntimeOptions::default()
        .socket(daemon::shared().socket().to_path_buf())
        .namespace(fx.ns.clone())
        .state_dir(fx.state.path().to_path_buf())
        .log_max_bytes(64 * 1024)
        .log_driver(warren_runtime::LogDriver::Shim(crate::logger_binary()))
        .network(fx.rt.network_config().clone())
}

/// A second handle on the fixture's namespace and state (a restarted warrend).
pub fn same_handle(fx: &Fixture) -> warren_runtime::ContainerdRuntime {
    warren_runtime::ContainerdRuntime::with_options(same_options(fx)).unwrap()
}

/// The one file under `dir` whose path ends with `suffix`.
pub fn walk_for(dir: &Path, suffix: &str) -> PathBuf {
    let found: Vec<_> = files(dir)
        .into_iter()
        .filter(|f| f.ends_with(suffix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{suffix} under {}: {found:?}",
        dir.display()
    );
    dir.join(&found[0])
}
