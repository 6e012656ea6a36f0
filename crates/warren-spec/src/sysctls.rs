//! Kernel parameters set inside the container (`docker run --sysctl net.core.somaxconn=1024`).
//! Only parameters the container's own namespaces hold are allowed (what runc accepts), so a
//! container can never change the host's kernel.

use std::collections::BTreeMap;

use crate::defaults::Network;
use crate::SpecError;

/// IPC-namespaced parameters (with the `fs.mqueue.` family).
const IPC: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Check every parameter against the container's namespaces: the IPC ones and `fs.mqueue.*`
/// (every container has its own IPC namespace), and `net.*` only in a network namespace
/// made for the container ([`Network::New`], [`Network::Own`]): one joined by path may be
/// the host's or another container's. Keys use `.` (a `/` is read as `.`); values are one line.
pub(crate) fn validate(
    sysctls: &BTreeMap<String, String>,
    network: &Network,
) -> Result<(), SpecError> {
    for (key, value) in sysctls {
        let ok_chars = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
        if !ok_chars {
            return Err(SpecError::value(
                "sysctl",
                key,
                "a name of letters, digits, '.', '_', '-' or '/'",
            ));
        }
        let name = key.replace('/', ".");
        let allowed = if IPC.contains(&name.as_str()) || name.starts_with("fs.mqueue.") {
            true
        } else if name.starts_with("net.") {
            if !matches!(network, Network::New | Network::Own(_)) {
                return Err(SpecError::value(
                    "sysctl",
                    key,
                    "net.* parameters need a network namespace made for the container \
                     (--network none or the bridge), not the host's or a joined one",
                ));
            }
            true
        } else {
            false
        };
        if !allowed {
            let hint = if name == "kernel.hostname" || name == "kernel.domainname" {
                " (use --hostname or --domainname)"
            } else {
                ""
            };
            return Err(SpecError::value(
                "sysctl",
                key,
                format!(
                    "not a namespaced parameter{hint}; allowed: net.*, fs.mqueue.*, {}",
                    IPC.join(", ")
                ),
            ));
        }
        if value.is_empty() || value.contains(['\0', '\n']) {
            return Err(SpecError::value(
                "sysctl value",
                value,
                "must be one non-empty line",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(k: &str, v: &str) -> BTreeMap<String, String> {
        [(k.to_string(), v.to_string())].into()
    }

    #[test]
    fn only_namespaced_parameters() {
        let own = Network::New;
        for ok in [
            "net.core.somaxconn",
            "net/ipv4/ip_forward",
            "kernel.shmmax",
            "fs.mqueue.msg_max",
        ] {
            validate(&one(ok, "1"), &own).unwrap();
        }
        for bad in [
            "kernel.panic",
            "vm.overcommit_memory",
            "kernel.hostname",
            "fs.file-max",
            "net core",
            "",
        ] {
            assert!(validate(&one(bad, "1"), &own).is_err(), "{bad}");
        }
        assert!(validate(&one("net.core.somaxconn", "1"), &Network::Host).is_err());
        let joined = Network::Path("/proc/1/ns/net".into());
        assert!(validate(&one("net.ipv4.ip_forward", "1"), &joined).is_err());
        let bridge = Network::Own("/run/warren/netns/c1".into());
        validate(&one("net.core.somaxconn", "1"), &bridge).unwrap();
        assert!(validate(&one("net.core.somaxconn", "1\n2"), &own).is_err());
    }
}
