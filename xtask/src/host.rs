//! Host packages the tests need that cannot run from a private folder: `iptables` (the CNI
//! bridge and portmap plugins call it for masquerading and published ports; it needs its
//! shared libraries and kernel-matching extensions installed system-wide).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Result};

use crate::run::status;

/// Packages installed with apt when their binary is missing: (binary, package).
const HOST_PACKAGES: &[(&str, &str)] = &[("iptables", "iptables")];

fn on_path(binary: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .any(|d| Path::new(d).join(binary).is_file());
    found
}

/// Install what is missing (as root, through the host's apt); nothing when all is there.
pub fn ensure() -> Result<()> {
    let missing: Vec<&str> = HOST_PACKAGES
        .iter()
        .filter(|(bin, _)| !on_path(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "the tests need {} installed (apt-get install {}); run as root to have xtask do it",
            missing.join(", "),
            missing.join(" ")
        );
    }
    eprintln!("xtask: installing host packages: {}", missing.join(", "));
    status(Command::new("apt-get").args(["update", "-qq"]))?;
    status(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// True when the effective uid (from /proc/self/status) is 0.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}
