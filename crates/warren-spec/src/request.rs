//! A request to run an image, and the spec it becomes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxBuilder, LinuxDeviceCgroupBuilder, ProcessBuilder, RootBuilder, Spec, SpecBuilder,
    UserBuilder,
};

use crate::defaults::{self, Network};
use crate::devices::Device;
use crate::image_config::{self, ImageConfig};
use crate::mounts::Mounts;
use crate::resources::Resources;
use crate::security::{not_in_fd_table, Security};
use crate::ulimits::Ulimit;
use crate::validate::{identifier, no_nul};
use crate::{user, SpecError};

/// Everything needed to run one container. Plain data with `Default`: fill what you need.
#[derive(Debug, Clone, Default, PartialEq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct SpecRequest {
    /// Container id (containerd's identifier rule). Required.
    #[setters(into)]
    pub id: String,
    /// containerd namespace, used for the cgroup path `/<namespace>/<id>` (default `warren`).
    #[setters(into)]
    pub namespace: Option<String>,
    /// The image's run configuration.
    pub image: ImageConfig,
    /// Replaces the image's entrypoint (and drops its cmd).
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's cmd.
    pub cmd: Option<Vec<String>>,
    /// `NAME=value` entries merged over the image's.
    pub env: Vec<String>,
    /// Replaces the image's working dir (absolute; default `/`).
    #[setters(into)]
    pub working_dir: Option<String>,
    /// Replaces the image's user: `uid`, `uid:gid`, `name` or `name:group`.
    #[setters(into)]
    pub user: Option<String>,
    /// Default: the container id, cut to 63 characters.
    #[setters(into)]
    pub hostname: Option<String>,
    /// CPU, memory and pids limits.
    pub resources: Resources,
    /// Secrets, volumes, tmpfs, the network files and `/dev/shm`'s size.
    pub mounts: Mounts,
    /// The network namespace: a new one, a path to join, or the host's.
    pub network: Network,
    /// `root.path`: default `rootfs` (relative to the bundle, where containerd's shim mounts
    /// the snapshot); an absolute path runs a prepared rootfs directly.
    #[setters(into)]
    pub root_path: Option<PathBuf>,
    /// Mount the image's filesystem read-only.
    pub readonly_rootfs: bool,
    /// The process gets a terminal (a pty the shim holds): `docker run -t`.
    pub terminal: bool,
    /// The terminal's size at start, `(columns, rows)` (with `terminal`).
    pub console_size: Option<(u16, u16)>,
    /// OCI annotations for the runtime (e.g. containerd's shim group).
    pub annotations: BTreeMap<String, String>,
    /// Capabilities, seccomp, no-new-privileges, OOM score, privileged.
    pub security: Security,
    /// Process resource limits (`--ulimit`); `nofile` defaults to 1024.
    pub ulimits: Vec<Ulimit>,
    /// Host devices made available (`--device`).
    pub devices: Vec<Device>,
    /// Namespaced kernel parameters (`--sysctl`).
    pub sysctls: BTreeMap<String, String>,
    /// The NIS domain name (`--domainname`; default none).
    #[setters(into)]
    pub domainname: Option<String>,
}

/// What building needs to know about the host and the image's files.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// CPUs of this host: the upper bound of a CPU limit.
    pub host_cpus: usize,
    /// The image's unpacked rootfs, to resolve user and group names (optional).
    pub rootfs: Option<PathBuf>,
    /// Give the container a cgroup namespace of its own (hosts with cgroup v2 only, where
    /// Docker does the same; on v1 a private cgroup namespace hides nothing useful).
    pub cgroup_namespace: bool,
    /// Read-only binds are recursively read-only (runc's `rro`; kernel 5.12 and later).
    pub recursive_read_only: bool,
}

impl BuildContext {
    /// This host's facts (CPU count, cgroup version, kernel), no rootfs.
    pub fn host() -> BuildContext {
        use std::sync::OnceLock;
        static V2: OnceLock<bool> = OnceLock::new();
        BuildContext {
            host_cpus: crate::host::cpu_count(),
            rootfs: None,
            cgroup_namespace: *V2.get_or_init(|| {
                crate::host::HostFacts::detect().mode == crate::host::CgroupMode::V2
            }),
            recursive_read_only: crate::host::supports_recursive_read_only(),
        }
    }

    /// Resolve user names against `rootfs`.
    pub fn with_rootfs(mut self, rootfs: impl Into<PathBuf>) -> Self {
        self.rootfs = Some(rootfs.into());
        self
    }
}

/// A generated spec plus what the runtime needs beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// The OCI runtime spec.
    pub spec: Spec,
    /// The signal that asks the container to stop (from the image; default SIGTERM).
    pub stop_signal: i32,
}

impl ContainerSpec {
    /// The spec as a JSON value, deterministic: oci-spec keeps capabilities in hash sets, so
    /// their lists are sorted here (the same request always gives the same bytes).
    pub fn to_value(&self) -> Result<serde_json::Value, SpecError> {
        let mut v = serde_json::to_value(&self.spec)
            .map_err(|e| SpecError::value("spec", "", e.to_string()))?;
        if let Some(caps) = v
            .pointer_mut("/process/capabilities")
            .and_then(|c| c.as_object_mut())
        {
            for list in caps.values_mut() {
                if let Some(items) = list.as_array_mut() {
                    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                }
            }
        }
        Ok(v)
    }

    /// The spec as containerd and runc read it.
    pub fn to_json(&self) -> Result<Vec<u8>, SpecError> {
        serde_json::to_vec(&self.to_value()?)
            .map_err(|e| SpecError::value("spec", "", e.to_string()))
    }
}

fn hostname(req: &SpecRequest) -> Result<String, SpecError> {
    let name = match &req.hostname {
        Some(h) => h.clone(),
        None => req.id.chars().take(63).collect(),
    };
    host_name("hostname", &name)?;
    Ok(name)
}

/// A host or domain name: 1 to 63 ASCII letters, digits, `-` or `.`.
fn host_name(field: &'static str, name: &str) -> Result<(), SpecError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !ok {
        return Err(SpecError::value(
            field,
            name,
            "1 to 63 ASCII letters, digits, '-' or '.'",
        ));
    }
    Ok(())
}

impl SpecRequest {
    /// Validate everything, then generate the spec. Nothing is created either way.
    pub fn build(&self, ctx: &BuildContext) -> Result<ContainerSpec, SpecError> {
        identifier("container id", &self.id)?;
        let namespace = self.namespace.as_deref().unwrap_or("warren");
        identifier("namespace", namespace)?;
        let args =
            image_config::args(&self.image, self.entrypoint.as_deref(), self.cmd.as_deref())?;
        let env = image_config::env(&self.image.env, &self.env)?;
        let cwd = self
            .working_dir
            .as_deref()
            .or(self.image.working_dir.as_deref())
            .unwrap_or("/");
        no_nul("working dir", cwd)?;
        if !cwd.starts_with('/') {
            return Err(SpecError::path(
                "working dir",
                cwd,
                "must be an absolute path",
            ));
        }
        not_in_fd_table("working dir", Path::new(cwd))?;
        self.security.validate()?;
        let caps = self.security.capabilities()?;
        let seccomp = self.security.seccomp_profile(&caps)?;
        let privileged = self.security.privileged;
        let stop_signal = image_config::stop_signal(self.image.stop_signal.as_deref())?;
        let user_spec = self.user.as_deref().or(self.image.user.as_deref());
        let u = user::resolve(user_spec, ctx.rootfs.as_deref())?;
        let hostname = hostname(self)?;
        if let Some(d) = &self.domainname {
            host_name("domainname", d)?;
        }
        let mut resources = self.resources.to_linux(ctx.host_cpus)?;
        let extra_mounts = self.mounts.to_oci(ctx.recursive_read_only)?;
        let rlimits = crate::ulimits::rlimits(&self.ulimits)?;
        let (device_nodes, device_rules) = crate::devices::to_oci(&self.devices)?;
        if !device_rules.is_empty() {
            let mut rules = resources.devices().clone().unwrap_or_default();
            rules.extend(device_rules);
            resources.set_devices(Some(rules));
        }
        crate::sysctls::validate(&self.sysctls, &self.network)?;
        for (k, v) in &self.annotations {
            no_nul("annotation", k)?;
            no_nul("annotation", v)?;
        }
        let root_path = self
            .root_path
            .clone()
            .unwrap_or_else(|| PathBuf::from("rootfs"));
        no_nul("root path", &root_path.to_string_lossy())?;

        let mut user = UserBuilder::default().uid(u.uid).gid(u.gid);
        if !u.additional_gids.is_empty() {
            user = user.additional_gids(u.additional_gids);
        }
        let mut process = ProcessBuilder::default().terminal(self.terminal);
        if let (true, Some((cols, rows))) = (self.terminal, self.console_size) {
            process = process.console_size(
                oci_spec::runtime::BoxBuilder::default()
                    .width(u64::from(cols))
                    .height(u64::from(rows))
                    .build()?,
            );
        }
        let process = process
            .user(user.build()?)
            .args(args)
            .env(env)
            .cwd(cwd)
            .capabilities(defaults::capabilities(&caps)?)
            .rlimits(rlimits)
            .no_new_privileges(!self.security.allow_new_privileges)
            .oom_score_adj(self.security.oom_score_adj)
            .build()?;
        let host_network = self.network == Network::Host;
        let mut mounts = defaults::mounts(
            host_network,
            privileged,
            ctx.recursive_read_only,
            self.mounts.shm_size_bytes,
        )?;
        // A mount the request gives replaces the default at the same place (a `--tmpfs /run`).
        mounts.retain(|d| {
            !extra_mounts
                .iter()
                .any(|m| m.destination() == d.destination())
        });
        mounts.extend(extra_mounts);
        let paths = |list: &[&str]| -> Vec<String> {
            if privileged {
                Vec::new()
            } else {
                list.iter().map(|p| p.to_string()).collect()
            }
        };
        let mut linux = LinuxBuilder::default()
            .cgroups_path(Path::new("/").join(namespace).join(&self.id))
            .resources(resources)
            .namespaces(defaults::namespaces(&self.network, ctx.cgroup_namespace)?)
            .masked_paths(paths(defaults::MASKED_PATHS))
            .readonly_paths(paths(defaults::READONLY_PATHS));
        if let Some(seccomp) = seccomp {
            linux = linux.seccomp(seccomp);
        }
        let mut sysctls: std::collections::HashMap<String, String> = self
            .sysctls
            .iter()
            .map(|(k, v)| (k.replace('/', "."), v.clone()))
            .collect();
        if let Some(d) = &self.domainname {
            // runc before 1.2 ignores the spec's `domainname`; the parameter of the
            // container's own UTS namespace works on every version.
            sysctls.insert("kernel.domainname".into(), d.clone());
        }
        if !sysctls.is_empty() {
            linux = linux.sysctl(sysctls);
        }
        if privileged {
            linux = linux.devices(crate::host::devices());
        } else if !device_nodes.is_empty() {
            linux = linux.devices(device_nodes);
        }
        let mut linux = linux.build()?;
        if privileged {
            // Every device, as Docker's --privileged allows.
            if let Some(r) = linux.resources().clone() {
                let mut r = r;
                r.set_devices(Some(vec![LinuxDeviceCgroupBuilder::default()
                    .allow(true)
                    .access("rwm")
                    .build()?]));
                linux.set_resources(Some(r));
            }
        }
        let mut spec = SpecBuilder::default()
            .version("1.0.2")
            .process(process)
            .root(
                RootBuilder::default()
                    .path(root_path)
                    .readonly(self.readonly_rootfs)
                    .build()?,
            )
            .hostname(hostname)
            .mounts(mounts)
            .linux(linux)
            .build()?;
        spec.set_domainname(self.domainname.clone());
        if !self.annotations.is_empty() {
            spec.set_annotations(Some(self.annotations.clone().into_iter().collect()));
        } else {
            spec.set_annotations(None);
        }
        Ok(ContainerSpec { spec, stop_signal })
    }
}
