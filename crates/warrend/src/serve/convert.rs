//! Between the node API's messages and warren-runtime's types: a `ContainerSpec` becomes a
//! `ContainerRequest` (rejecting bad fields with InvalidArgument before anything is made),
//! and runtime records become summaries. warrend's own settings ride on container labels
//! under `warrend.`, so a restarted warrend reads them back from containerd.

use std::time::SystemTime;

use tonic::Status;
use warren_proto::warren::node::v1 as api;
use warren_runtime::{ContainerInfo, ContainerRequest, ExitStatus};

use super::labels;
pub use crate::spec::clamp16;
use crate::spec::{NodeSpec, Policy};

/// The labels warrend keeps on its containers.
pub(super) fn invalid(field: &str, value: impl std::fmt::Debug, allowed: &str) -> Status {
    super::errors::detailed(
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

/// An INVALID_ARGUMENT status naming the field at fault.
pub fn field_error(e: crate::spec::FieldError) -> Status {
    super::errors::detailed(
        tonic::Code::InvalidArgument,
        e.to_string(),
        api::ErrorReason::InvalidInput,
        &e.field,
    )
}

/// The runtime request for `node` (a spec read by [`crate::spec`], which checked every
/// field), on the node's `default_network` when it names none, with a fresh id when it has
/// none and warrend's labels; `remove` marks it for deletion after its exit.
pub fn request(
    node: NodeSpec,
    default_network: &str,
    remove: bool,
) -> Result<ContainerRequest, Status> {
    if remove && node.restart != Policy::No {
        return Err(invalid(
            "spec.restart",
            node.restart.to_string(),
            "a container removed at exit (--rm) cannot have a restart policy",
        ));
    }
    let mut req = node.request;
    if req.id.is_empty() {
        req.id = new_id();
    }
    req.network = node.network.resolve(default_network).map_err(field_error)?;
    let labels = &mut req.labels;
    labels.insert(labels::RESTART.into(), node.restart.to_string());
    labels.insert(labels::NETWORK.into(), node.network.name(default_network));
    let ports = node.network.ports();
    if !ports.is_empty() {
        let text: Vec<String> = ports.iter().map(crate::spec::port_text).collect();
        labels.insert(labels::PORTS.into(), text.join(","));
    }
    if remove {
        labels.insert(labels::REMOVE.into(), "true".into());
    }
    if node.restart_on_unhealthy {
        labels.insert(labels::RESTART_ON_UNHEALTHY.into(), "true".into());
    }
    Ok(req)
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

/// The API's container state.
pub fn state(s: warren_runtime::ContainerState) -> api::ContainerState {
    use warren_runtime::ContainerState as S;
    match s {
        S::Created => api::ContainerState::Created,
        S::Running => api::ContainerState::Running,
        S::Paused => api::ContainerState::Paused,
        S::Stopped => api::ContainerState::Stopped,
        S::Unknown => api::ContainerState::Unknown,
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
        state: state(c.status.state).into(),
        pid: c.status.pid.unwrap_or(0),
        created_at: c.created_at.map(timestamp),
        exit: c.status.exit.as_ref().map(exit),
        restart: Some(crate::spec::restart_policy(
            c.labels
                .get(labels::RESTART)
                .and_then(|p| p.parse().ok())
                .unwrap_or_default(),
        )),
        restart_count,
        ip: ip.map(|ip| ip.to_string()).unwrap_or_default(),
        health: api::HealthStatus::Unspecified.into(),
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
    use api::EventKind as K;
    let kind = match e.kind {
        warren_runtime::ContainerEventKind::Created { pid } => {
            out.pid = pid;
            K::Created
        }
        warren_runtime::ContainerEventKind::Started { pid } => {
            out.pid = pid;
            K::Started
        }
        warren_runtime::ContainerEventKind::Exited { exec_id, exit_code } => {
            out.exit_code = exit_code;
            out.exec_id = exec_id.unwrap_or_default();
            K::Exited
        }
        warren_runtime::ContainerEventKind::Oom => K::Oom,
        warren_runtime::ContainerEventKind::Deleted { exit_code } => {
            out.exit_code = exit_code;
            K::Deleted
        }
        warren_runtime::ContainerEventKind::Paused => K::Paused,
        warren_runtime::ContainerEventKind::Resumed => K::Resumed,
        warren_runtime::ContainerEventKind::Removed => K::Removed,
    };
    out.kind = kind.into();
    out
}

/// One of warrend's own events (restart and health decisions) as the API shows it.
pub fn node_event(e: crate::serve::NodeEvent) -> api::Event {
    let (kind, health_status) = crate::serve::health::split_kind(&e.kind);
    api::Event {
        container_id: e.container_id,
        time: Some(timestamp(std::time::SystemTime::now())),
        kind: kind.into(),
        health_status: health_status.into(),
        pid: e.pid,
        exit_code: e.exit_code,
        exec_id: e.exec_id,
        cursor: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_runtime::NetworkMode;

    fn spec() -> api::ContainerSpec {
        api::ContainerSpec {
            image: "busybox".into(),
            ..Default::default()
        }
    }

    /// The request for an API spec, read as the server reads it.
    fn read(
        spec: &api::ContainerSpec,
        network: &str,
        remove: bool,
    ) -> Result<ContainerRequest, Status> {
        request(
            NodeSpec::try_from(spec).map_err(field_error)?,
            network,
            remove,
        )
    }

    fn port(host: u32, container: u32) -> api::Port {
        api::Port {
            host_port: host,
            container_port: container,
            ..Default::default()
        }
    }

    #[test]
    fn defaults_to_the_configured_network_and_a_fresh_id() {
        let r = read(&spec(), "bridge", false).unwrap();
        assert_eq!(r.id.len(), 12);
        assert!(matches!(r.network, NetworkMode::Bridge { .. }));
        assert_eq!(r.labels[labels::RESTART], "no");
        assert_eq!(r.labels[labels::NETWORK], "bridge");
        let r = read(&spec(), "none", false).unwrap();
        assert_eq!(r.network, NetworkMode::None);
    }

    #[test]
    fn ports_on_a_default_network_that_is_not_the_bridge_are_refused() {
        let mut s = spec();
        s.network = Some(api::Network {
            mode: Some(api::network::Mode::NodeDefault(api::DefaultNetwork {
                ports: vec![port(8080, 80)],
            })),
            ..Default::default()
        });
        let r = read(&s, "bridge", false).unwrap();
        assert_eq!(r.labels[labels::PORTS], "8080:80");
        let e = read(&s, "none", false).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(
            e.message().contains("spec.network.node_default.ports"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn remove_and_restart_do_not_mix() {
        let mut s = spec();
        s.restart = Some(api::RestartPolicy {
            mode: api::RestartMode::Always as i32,
            max_retries: None,
        });
        let e = read(&s, "none", true).unwrap_err();
        assert!(e.message().contains("spec.restart"), "{}", e.message());
        assert!(read(&s, "none", false).is_ok());
    }

    #[test]
    fn warrend_labels_record_what_it_needs_after_a_restart() {
        let mut s = spec();
        s.restart = Some(api::RestartPolicy {
            mode: api::RestartMode::OnFailure as i32,
            max_retries: Some(3),
        });
        s.health = Some(api::HealthCheck {
            shell_command: Some("true".into()),
            restart_on_unhealthy: true,
            ..Default::default()
        });
        s.network = Some(api::Network {
            mode: Some(api::network::Mode::Bridge(api::BridgeNetwork {
                ports: vec![api::Port {
                    host_ip: Some("127.0.0.1".into()),
                    protocol: api::Protocol::Udp as i32,
                    ..port(5353, 53)
                }],
            })),
            ..Default::default()
        });
        s.id = "web".into();
        let r = read(&s, "none", false).unwrap();
        assert_eq!(r.id, "web");
        assert_eq!(r.labels[labels::RESTART], "on-failure:3");
        assert_eq!(r.labels[labels::NETWORK], "bridge");
        assert_eq!(r.labels[labels::PORTS], "127.0.0.1:5353:53/udp");
        assert_eq!(r.labels[super::labels::RESTART_ON_UNHEALTHY], "true");
    }
}
