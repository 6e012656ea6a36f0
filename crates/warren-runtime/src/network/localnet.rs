//! Keeping the host's loopback out of reach of container networks.
//!
//! The portmap plugin (with `snat`, which publishing on 127.0.0.1 needs) turns on
//! `route_localnet` on the bridge, so the host accepts packets arriving from the bridge for
//! 127.0.0.0/8: any container, or anything else on the bridge, could then reach services that
//! listen only on the host's loopback (the problem of CVE-2020-8558). Like Kubernetes, Warren
//! adds one host-wide rule that drops packets for 127.0.0.0/8 that come from elsewhere
//! than loopback and are not the DNAT'ed traffic of a published port or its replies.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::process::Command;

use crate::RuntimeError;

/// The rule, as `iptables` arguments after the chain.
const RULE: &[&str] = &[
    "-d",
    "127.0.0.0/8",
    "!",
    "-s",
    "127.0.0.0/8",
    "-m",
    "conntrack",
    "!",
    "--ctstate",
    "RELATED,ESTABLISHED,DNAT",
    "-m",
    "comment",
    "--comment",
    "warren: container networks never reach host loopback",
    "-j",
    "DROP",
];

/// Set once the rule was found or added by this process.
static ENSURED: AtomicBool = AtomicBool::new(false);

async fn iptables(op: &str) -> Result<std::process::Output, RuntimeError> {
    Command::new("iptables")
        .args(["-w", "5", "-t", "filter", op, "INPUT"])
        .args(if op == "-I" { &["1"][..] } else { &[][..] })
        .args(RULE)
        .output()
        .await
        .map_err(|source| RuntimeError::Io {
            op: "running iptables",
            path: "iptables".into(),
            source,
        })
}

/// Make sure the host's INPUT chain drops packets for 127.0.0.0/8 from container networks.
pub(crate) async fn protect_host_loopback() -> Result<(), RuntimeError> {
    if ENSURED.load(Ordering::Relaxed) {
        return Ok(());
    }
    if !iptables("-C").await?.status.success() {
        let out = iptables("-I").await?;
        if !out.status.success() {
            return Err(RuntimeError::CniPlugin {
                plugin: "iptables".into(),
                command: "ADD",
                code: out.status.code().unwrap_or(-1) as u32,
                message: format!(
                    "adding the host-loopback drop rule: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        tracing::info!("added the iptables rule that keeps container networks off 127.0.0.0/8");
    }
    ENSURED.store(true, Ordering::Relaxed);
    Ok(())
}
