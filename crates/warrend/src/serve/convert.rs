//! Between the node API's messages and warren-runtime's types: a `ContainerSpec` becomes a
//! `ContainerRequest` (rejecting bad fields with InvalidArgument before anything is made),
//! and runtime records become summaries. warrend's own settings ride on container labels
//! under `warrend.`, so a restarted warrend reads them back from containerd.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::SystemTime;

use tonic::Status;
use warren_proto::warren::node::v1 as api;
use warren_runtime::{
    ContainerInfo, ContainerRequest, ExitStatus, NetworkMode, PortMapping, PullPolicy,
};

use super::restart::Policy;

/// The labels warrend keeps on its containers.
pub mod labels {
    /// Every warrend label starts with this; requests may not set them.
    pub const PREFIX: &str = "warrend.";
    /// The restart policy (`no`, `on-failure[:max]`, `always`).
    pub const RESTART: &str = "warrend.restart";
    /// The network mode as given (`bridge`, `none`, `host` or a namespace path).
    pub const NETWORK: &str = "warrend.network";
    /// Published ports, comma-separated in Docker syntax.
    pub const PORTS: &str = "warrend.ports";
    /// `true`: delete the container once it has exited (`run --rm`).
    pub const REMOVE: &str = "warrend.remove";
    /// The digest of the node API spec a container was created from: a second `Create`
    /// with the same id is answered by comparing it.
    pub const SPEC_DIGEST: &str = "warrend.spec-digest";
}

pub(super) fn invalid(field: &str, value: impl std::fmt::Debug, allowed: &str) -> Status {
    super::api::errors::detailed(
        tonic::Code::InvalidArgument,
        format!("invalid {field} {value:?}: {allowed}"),
        api::ErrorReason::InvalidInput,
        field,
    )
}

/// A fresh container id: 12 hex digits, as Docker users are used to.
pub fn new_id() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// The runtime request for `spec`, with `default_network` when it names none; `remove`
/// marks it for deletion after its exit.
pub fn request(
    spec: &api::ContainerSpec,
    default_network: &str,
    remove: bool,
) -> Result<ContainerRequest, Status> {
    if spec.image.is_empty() {
        return Err(invalid("image", "", "an image reference is required"));
    }
    let id = if spec.id.is_empty() {
        new_id()
    } else {
        spec.id.clone()
    };
    let pull = match spec.pull.as_str() {
        "" | "missing" => PullPolicy::IfMissing,
        "always" => PullPolicy::Always,
        "never" => PullPolicy::Never,
        other => return Err(invalid("pull", other, "missing, always or never")),
    };
    let policy: Policy = spec
        .restart
        .parse()
        .map_err(|e: String| invalid("restart", &spec.restart, &e))?;
    if remove && policy != Policy::No {
        return Err(invalid(
            "restart",
            &spec.restart,
            "a container removed at exit (--rm) cannot have a restart policy",
        ));
    }
    let network_name = if spec.network.is_empty() {
        default_network
    } else {
        spec.network.as_str()
    };
    let ports = spec
        .ports
        .iter()
        .map(|p| PortMapping::from_str(p).map_err(|e| Status::invalid_argument(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let network = match network_name {
        "bridge" => NetworkMode::Bridge { ports },
        "none" | "host" if !ports.is_empty() => {
            return Err(invalid(
                "ports",
                spec.ports.join(","),
                "ports can only be published with the bridge network",
            ))
        }
        "none" => NetworkMode::None,
        "host" => NetworkMode::Host,
        path if path.starts_with('/') => NetworkMode::Join(PathBuf::from(path)),
        other => {
            return Err(invalid(
                "network",
                other,
                "bridge, none, host or the absolute path of a network namespace",
            ))
        }
    };
    for key in spec.labels.keys() {
        if key.starts_with(labels::PREFIX) {
            return Err(invalid(
                "label",
                key,
                "keys under warrend. are warrend's own",
            ));
        }
    }
    let mut all_labels: BTreeMap<String, String> = spec
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    all_labels.insert(labels::RESTART.into(), policy.to_string());
    all_labels.insert(labels::NETWORK.into(), network_name.to_string());
    if !spec.ports.is_empty() {
        all_labels.insert(labels::PORTS.into(), spec.ports.join(","));
    }
    if remove {
        all_labels.insert(labels::REMOVE.into(), "true".into());
    }
    let positive = |v: i64, field: &str| -> Result<Option<i64>, Status> {
        match v {
            0 => Ok(None),
            v if v > 0 => Ok(Some(v)),
            v => Err(invalid(field, v, "a positive number (0: no limit)")),
        }
    };
    if spec.cpus < 0.0 || !spec.cpus.is_finite() {
        return Err(invalid(
            "cpus",
            spec.cpus,
            "a positive number of CPUs (0: no limit)",
        ));
    }
    let mut resources = warren_spec::Resources::default();
    resources.cpus = (spec.cpus > 0.0).then_some(spec.cpus);
    resources.memory_bytes = positive(spec.memory_bytes, "memory")?;
    resources.pids = positive(spec.pids_limit, "pids-limit")?;
    let mut mounts = warren_spec::Mounts::default().volumes(
        spec.volumes
            .iter()
            .map(|v| {
                warren_spec::Volume::new(PathBuf::from(&v.source), PathBuf::from(&v.destination))
                    .read_only(v.read_only)
            })
            .collect(),
    );
    mounts.secrets_dir = non_empty(&spec.secret_dir).map(PathBuf::from);
    let security = security(spec)?;
    let health = super::health::convert::overrides(spec, policy, &mut all_labels)?;
    let mut req = ContainerRequest::new(id, spec.image.clone())
        .pull(pull)
        .env(spec.env.clone())
        .resources(resources)
        .mounts(mounts)
        .network(network)
        .readonly_rootfs(spec.read_only)
        .labels(all_labels)
        .security(security)
        .tty(spec.tty)
        .open_stdin(spec.open_stdin)
        .health(health);
    req.entrypoint = spec.has_entrypoint.then(|| spec.entrypoint.clone());
    req.cmd = (!spec.cmd.is_empty()).then(|| spec.cmd.clone());
    req.working_dir = non_empty(&spec.working_dir);
    req.user = non_empty(&spec.user);
    req.hostname = non_empty(&spec.hostname);
    req.stop_signal = non_empty(&spec.stop_signal);
    req.console_size = spec
        .console_size
        .as_ref()
        .map(|s| (clamp16(s.cols), clamp16(s.rows)));
    req.shim_group = non_empty(&spec.shim_group);
    super::run_flags::apply(spec, &mut req)?;
    Ok(req)
}

/// `--security-opt`, `--cap-add`, `--cap-drop`, `--privileged`, `--oom-score-adj`.
fn security(spec: &api::ContainerSpec) -> Result<warren_spec::Security, Status> {
    let mut s = warren_spec::Security::default()
        .cap_add(spec.cap_add.clone())
        .cap_drop(spec.cap_drop.clone())
        .privileged(spec.privileged)
        .oom_score_adj(spec.oom_score_adj);
    for opt in &spec.security_opt {
        // Docker takes `key=value` and the older `key:value`.
        let (key, value) = match opt.split_once(['=', ':']) {
            Some((k, v)) => (k, Some(v)),
            None => (opt.as_str(), None),
        };
        match (key, value) {
            ("seccomp", Some(v)) => {
                s.seccomp = v
                    .parse()
                    .map_err(|e: warren_spec::SpecError| Status::invalid_argument(e.to_string()))?
            }
            ("no-new-privileges", None | Some("true")) => s.allow_new_privileges = false,
            ("no-new-privileges", Some("false")) => s.allow_new_privileges = true,
            _ => {
                return Err(invalid(
                    "security-opt",
                    opt,
                    "seccomp=unconfined, seccomp=<profile file or JSON>, \
                     no-new-privileges[=true|false] (AppArmor and SELinux options are not \
                     supported)",
                ))
            }
        }
    }
    s.validate()
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    Ok(s)
}

/// A terminal dimension as the runtime takes it.
pub fn clamp16(v: u32) -> u16 {
    v.min(u32::from(u16::MAX)) as u16
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// A protobuf timestamp.
pub fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

/// The API's exit record.
pub fn exit(e: &ExitStatus) -> api::Exit {
    api::Exit {
        code: e.code,
        exited_at: e.exited_at.map(timestamp),
        oom_killed: e.oom_killed,
    }
}

/// The summary of a container; `restart_count` and `ip` come from warrend's own state.
pub fn summary(
    c: &ContainerInfo,
    restart_count: u32,
    ip: Option<std::net::Ipv4Addr>,
) -> api::ContainerSummary {
    api::ContainerSummary {
        id: c.id.clone(),
        image: c.image.clone(),
        state: c.status.state.to_string(),
        pid: c.status.pid.unwrap_or(0),
        created_at: c.created_at.map(timestamp),
        exit: c.status.exit.as_ref().map(exit),
        restart: c
            .labels
            .get(labels::RESTART)
            .cloned()
            .unwrap_or_else(|| "no".into()),
        restart_count,
        ip: ip.map(|ip| ip.to_string()).unwrap_or_default(),
        health: String::new(),
        started_at: c.started_at.map(timestamp),
        labels: user_labels(c),
    }
}

/// The labels a user set (warrend's own hidden).
pub fn user_labels(c: &ContainerInfo) -> std::collections::HashMap<String, String> {
    c.labels
        .iter()
        .filter(|(k, _)| !k.starts_with(labels::PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The API's image record.
pub fn image(i: &warren_runtime::Image) -> api::ImageInfo {
    api::ImageInfo {
        name: i.name.clone(),
        digest: i.digest.clone(),
        media_type: i.media_type.clone(),
        size: i.size.min(i64::MAX as u64) as i64,
        entrypoint: i.config.entrypoint.clone(),
        cmd: i.config.cmd.clone(),
        env: i.config.env.clone(),
        working_dir: i.config.working_dir.clone().unwrap_or_default(),
        user: i.config.user.clone().unwrap_or_default(),
        stop_signal: i.config.stop_signal.clone().unwrap_or_default(),
    }
}

/// A containerd task event as the API shows it (its cursor is set when it is recorded).
pub fn container_event(e: warren_runtime::ContainerEvent) -> api::Event {
    let mut out = api::Event {
        container_id: e.container_id,
        time: e.time.map(timestamp),
        ..Default::default()
    };
    let kind = match e.kind {
        warren_runtime::ContainerEventKind::Created { pid } => {
            out.pid = pid;
            "created"
        }
        warren_runtime::ContainerEventKind::Started { pid } => {
            out.pid = pid;
            "started"
        }
        warren_runtime::ContainerEventKind::Exited { exec_id, exit_code } => {
            out.exit_code = exit_code;
            out.exec_id = exec_id.unwrap_or_default();
            "exited"
        }
        warren_runtime::ContainerEventKind::Oom => "oom",
        warren_runtime::ContainerEventKind::Deleted { exit_code } => {
            out.exit_code = exit_code;
            "deleted"
        }
        warren_runtime::ContainerEventKind::Paused => "paused",
        warren_runtime::ContainerEventKind::Resumed => "resumed",
        warren_runtime::ContainerEventKind::Removed => "removed",
    };
    out.kind = kind.to_string();
    out
}

/// One of warrend's own events (restart and health decisions) as the API shows it.
pub fn node_event(e: crate::serve::NodeEvent) -> api::Event {
    let (kind, health_status) = crate::serve::health::split_kind(e.kind);
    api::Event {
        container_id: e.container_id,
        time: Some(timestamp(std::time::SystemTime::now())),
        kind,
        health_status,
        pid: e.pid,
        exit_code: e.exit_code,
        exec_id: e.exec_id,
        cursor: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> api::ContainerSpec {
        api::ContainerSpec {
            image: "busybox".into(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_to_the_configured_network_and_a_fresh_id() {
        let r = request(&spec(), "bridge", false).unwrap();
        assert_eq!(r.id.len(), 12);
        assert!(matches!(r.network, NetworkMode::Bridge { .. }));
        assert_eq!(r.labels[labels::RESTART], "no");
        assert_eq!(r.labels[labels::NETWORK], "bridge");
    }

    #[test]
    fn rejects_bad_fields_with_what_is_allowed() {
        type Edit = Box<dyn Fn(&mut api::ContainerSpec)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|s| s.image.clear()), "image"),
            (Box::new(|s| s.pull = "sometimes".into()), "pull"),
            (Box::new(|s| s.restart = "maybe".into()), "restart"),
            (Box::new(|s| s.network = "weird".into()), "network"),
            (Box::new(|s| s.cpus = -1.0), "cpus"),
            (Box::new(|s| s.memory_bytes = -5), "memory"),
            (
                Box::new(|s| {
                    s.network = "none".into();
                    s.ports = vec!["80:80".into()];
                }),
                "ports",
            ),
            (
                Box::new(|s| {
                    s.labels.insert("warrend.restart".into(), "always".into());
                }),
                "label",
            ),
        ];
        for (edit, field) in cases {
            let mut s = spec();
            edit(&mut s);
            let e = request(&s, "bridge", false).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument);
            assert!(e.message().contains(field), "{field}: {}", e.message());
        }
    }

    #[test]
    fn remove_and_restart_do_not_mix() {
        let mut s = spec();
        s.restart = "always".into();
        assert!(request(&s, "none", true).is_err());
    }

    #[test]
    fn limits_and_volumes_carry_over() {
        let mut s = spec();
        s.cpus = 0.5;
        s.memory_bytes = 64 << 20;
        s.volumes.push(api::Volume {
            source: "/srv".into(),
            destination: "/data".into(),
            read_only: true,
        });
        s.ports = vec!["127.0.0.1:8080:80".into()];
        let r = request(&s, "bridge", false).unwrap();
        assert_eq!(r.resources.cpus, Some(0.5));
        assert_eq!(r.resources.memory_bytes, Some(64 << 20));
        assert!(r.mounts.volumes[0].read_only);
        assert_eq!(r.labels[labels::PORTS], "127.0.0.1:8080:80");
    }
}
