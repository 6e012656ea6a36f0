//! `container_security`: how a container is confined, read back from its record (the spec
//! containerd stores and the runtime's labels), for `inspect`.

use super::labels;
use crate::container_id::not_found;
use crate::{ContainerdRuntime, RuntimeError};

/// How a container is confined, as its spec says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SecurityInfo {
    /// Created with `privileged`: it has the host's devices and every capability.
    pub privileged: bool,
    /// The seccomp filter: `default`, `unconfined` or `custom`.
    pub seccomp: String,
    /// Processes cannot gain privileges through setuid binaries or file capabilities.
    pub no_new_privileges: bool,
    /// The capabilities its processes hold (`CAP_CHOWN`, ...), sorted.
    pub capabilities: Vec<String>,
    /// The OOM killer's score adjustment of its processes.
    pub oom_score_adj: i32,
    /// It has a cgroup namespace of its own.
    pub cgroup_namespace: bool,
    /// Its read-only binds are recursively read-only (`rro`); false where the kernel
    /// could not do it (before 5.12): mounts below a read-only bind may then be writable.
    pub read_only_binds_recursive: bool,
}

impl ContainerdRuntime {
    /// How container `id` is confined: capabilities, seccomp, no-new-privileges, OOM score,
    /// cgroup namespace, and whether its read-only binds are recursively read-only.
    pub async fn container_security(&self, id: &str) -> Result<SecurityInfo, RuntimeError> {
        super::check_id(id)?;
        let record = self
            .container_record(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let spec: serde_json::Value = record
            .spec
            .as_ref()
            .and_then(|s| serde_json::from_slice(&s.value).ok())
            .unwrap_or_default();
        Ok(from_spec(&spec, &record.labels))
    }
}

fn from_spec(
    spec: &serde_json::Value,
    labels: &std::collections::HashMap<String, String>,
) -> SecurityInfo {
    let process = &spec["process"];
    let mut capabilities: Vec<String> = process["capabilities"]["effective"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    capabilities.sort();
    let seccomp = labels.get(labels::SECCOMP).cloned().unwrap_or_else(|| {
        if spec["linux"]["seccomp"].is_null() {
            "unconfined".into()
        } else {
            "custom".into()
        }
    });
    let cgroup_namespace = spec["linux"]["namespaces"]
        .as_array()
        .is_some_and(|a| a.iter().any(|n| n["type"] == "cgroup"));
    let read_only_binds_recursive = spec["mounts"]
        .as_array()
        .map(|mounts| {
            !mounts.iter().any(|m| {
                m["type"] == "bind"
                    && m["options"]
                        .as_array()
                        .is_some_and(|o| o.iter().any(|x| x == "ro"))
            })
        })
        .unwrap_or(true);
    SecurityInfo {
        privileged: labels.get(labels::PRIVILEGED).is_some_and(|v| v == "true"),
        seccomp,
        no_new_privileges: process["noNewPrivileges"].as_bool().unwrap_or(false),
        capabilities,
        oom_score_adj: process["oomScoreAdj"].as_i64().unwrap_or(0) as i32,
        cgroup_namespace,
        read_only_binds_recursive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_from_a_built_spec() {
        let req = warren_spec::SpecRequest::default()
            .id("c")
            .image(warren_spec::ImageConfig {
                cmd: vec!["sh".into()],
                ..Default::default()
            });
        let mut ctx = warren_spec::BuildContext::host();
        ctx.recursive_read_only = false;
        ctx.cgroup_namespace = true;
        let spec = req.build(&ctx).unwrap().to_value().unwrap();
        let labels = [(labels::SECCOMP.to_string(), "default".to_string())]
            .into_iter()
            .collect();
        let info = from_spec(&spec, &labels);
        assert_eq!(info.seccomp, "default");
        assert!(info.no_new_privileges && info.cgroup_namespace && !info.privileged);
        assert_eq!(info.capabilities.len(), 14);
        assert!(info.capabilities.contains(&"CAP_CHOWN".to_string()));
        assert_eq!(info.oom_score_adj, 0);
        // No read-only bind in this spec: nothing is short of recursive.
        assert!(info.read_only_binds_recursive);
    }
}
