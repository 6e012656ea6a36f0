//! The CNI exec protocol: a plugin is a binary run with the command and the container in
//! environment variables and its network configuration on stdin; it answers a result (or an
//! error object) as JSON on stdout.
//!
//! Written here rather than taken from a crate: the crates.io CNI crates are for writing
//! plugins, not for running them, and the runtime side is one process call per plugin.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::backend::PluginCall;
use super::config::CNI_VERSION;
use crate::RuntimeError;

/// Plugin `conf` (its own configuration object, `type` naming the binary) of network
/// `name` as the plugin reads it: the version and name, the previous plugin's result and
/// the runtime config injected as the CNI spec says.
pub(crate) fn config(
    name: &str,
    mut conf: Value,
    prev_result: Option<&Value>,
    runtime_config: Option<&Value>,
) -> Value {
    conf["cniVersion"] = Value::from(CNI_VERSION);
    conf["name"] = Value::from(name);
    if let Some(prev) = prev_result {
        conf["prevResult"] = prev.clone();
    }
    if let Some(rc) = runtime_config {
        conf["runtimeConfig"] = rc.clone();
    }
    conf
}

/// Run the plugin binary `conf["type"]` from the call's plugin folder with `conf` on its
/// stdin. Returns its result for `ADD` (`Null` for `DEL` and `CHECK`); a plugin's error
/// object becomes [`RuntimeError::CniPlugin`] with its code and message.
pub(crate) async fn exec(call: &PluginCall<'_>, conf: &Value) -> Result<Value, RuntimeError> {
    let plugin = conf["type"].as_str().unwrap_or_default().to_string();
    let binary: PathBuf = call.plugin_dir.join(&plugin);
    let failed = |message: String| RuntimeError::CniPlugin {
        plugin: plugin.clone(),
        command: call.command,
        code: 0,
        message,
    };
    if !binary.is_file() {
        return Err(failed(format!(
            "not found at {} (install Debian's containernetworking-plugins or set the \
             network's plugin_dir)",
            binary.display()
        )));
    }
    let mut child = tokio::process::Command::new(&binary)
        .env_clear()
        .env("CNI_COMMAND", call.command)
        .env("CNI_CONTAINERID", call.container_id)
        .env("CNI_NETNS", call.netns)
        .env("CNI_IFNAME", call.ifname)
        .env("CNI_PATH", call.plugin_dir)
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into()),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(format!("cannot run {}: {e}", binary.display())))?;
    let input = serde_json::to_vec(conf).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&input).await;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| failed(format!("waiting for {}: {e}", binary.display())))?;
    let parsed: Option<Value> = serde_json::from_slice(&out.stdout).ok();
    if !out.status.success() {
        let (code, message) = match &parsed {
            Some(v) if v.get("msg").is_some() => {
                let mut m = v["msg"].as_str().unwrap_or_default().to_string();
                if let Some(d) = v.get("details").and_then(Value::as_str) {
                    if !d.is_empty() {
                        m = format!("{m}: {d}");
                    }
                }
                (v["code"].as_u64().unwrap_or(0) as u32, m)
            }
            _ => (
                0,
                format!(
                    "exited with {}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ),
        };
        return Err(RuntimeError::CniPlugin {
            plugin,
            command: call.command,
            code,
            message,
        });
    }
    match call.command {
        "ADD" => parsed.ok_or_else(|| failed("answered ADD without a JSON result".into())),
        _ => Ok(Value::Null),
    }
}

/// The first IPv4 address (without its prefix length) in a CNI result.
pub(crate) fn first_ipv4(result: &Value) -> Option<std::net::Ipv4Addr> {
    result["ips"].as_array()?.iter().find_map(|ip| {
        let addr = ip["address"].as_str()?;
        addr.split('/').next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_comes_from_the_result() {
        let r: Value = serde_json::from_str(
            r#"{"cniVersion":"1.0.0","ips":[{"address":"10.88.0.7/16","gateway":"10.88.0.1","interface":2}]}"#,
        )
        .unwrap();
        assert_eq!(first_ipv4(&r), Some(std::net::Ipv4Addr::new(10, 88, 0, 7)));
        assert_eq!(first_ipv4(&Value::Null), None);
    }
}
