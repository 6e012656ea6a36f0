//! A [`NodeSpec`] as the node API's `ContainerSpec`: every field set that differs from its
//! default, nothing lost ([`super::roundtrip`] checks that `from_api` gives it back).

use std::path::Path;
use std::time::Duration;

use warren_proto::warren::node::v1 as api;
use warren_spec::container::{ContainerRequest, PullPolicy};
use warren_spec::network::{HostAddress, NetworkMode, PortMapping};
use warren_spec::{Seccomp, UlimitKind};

use super::{NetworkChoice, NodeSpec, Policy};

impl From<&NodeSpec> for api::ContainerSpec {
    fn from(s: &NodeSpec) -> api::ContainerSpec {
        let r = &s.request;
        api::ContainerSpec {
            id: r.id.clone(),
            image: r.image.clone(),
            pull: pull_policy(r.pull) as i32,
            process: Some(process(r)),
            resources: Some(resources(&r.resources)),
            storage: Some(storage(r)),
            confinement: Some(confinement(r)),
            network: Some(network(s)),
            restart: Some(restart_policy(s.restart)),
            health: health(s),
            labels: r.labels.clone().into_iter().collect(),
            shim_group: r.shim_group.clone().unwrap_or_default(),
        }
    }
}

impl From<NodeSpec> for api::ContainerSpec {
    fn from(s: NodeSpec) -> api::ContainerSpec {
        api::ContainerSpec::from(&s)
    }
}

fn pull_policy(p: PullPolicy) -> api::PullPolicy {
    match p {
        PullPolicy::IfMissing => api::PullPolicy::Missing,
        PullPolicy::Always => api::PullPolicy::Always,
        PullPolicy::Never => api::PullPolicy::Never,
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn process(r: &ContainerRequest) -> api::ProcessSpec {
    let args = |a: &Option<Vec<String>>| a.as_ref().map(|args| api::Args { args: args.clone() });
    api::ProcessSpec {
        entrypoint: args(&r.entrypoint),
        cmd: args(&r.cmd),
        env: r.env.clone(),
        working_dir: r.working_dir.clone(),
        user: r.user.clone(),
        tty: r.tty,
        open_stdin: r.open_stdin,
        console_size: r.console_size.map(|(cols, rows)| api::TerminalSize {
            cols: cols.into(),
            rows: rows.into(),
        }),
        stop_signal: r.stop_signal.clone(),
        ulimits: r
            .ulimits
            .iter()
            .map(|u| api::Ulimit {
                kind: ulimit_kind(u.kind) as i32,
                soft: u.soft,
                hard: u.hard,
            })
            .collect(),
    }
}

/// The API's name of each limit, in the order of both enums.
pub(super) const ULIMIT_KINDS: [(UlimitKind, api::UlimitKind); 16] = [
    (UlimitKind::As, api::UlimitKind::As),
    (UlimitKind::Core, api::UlimitKind::Core),
    (UlimitKind::Cpu, api::UlimitKind::Cpu),
    (UlimitKind::Data, api::UlimitKind::Data),
    (UlimitKind::Fsize, api::UlimitKind::Fsize),
    (UlimitKind::Locks, api::UlimitKind::Locks),
    (UlimitKind::Memlock, api::UlimitKind::Memlock),
    (UlimitKind::Msgqueue, api::UlimitKind::Msgqueue),
    (UlimitKind::Nice, api::UlimitKind::Nice),
    (UlimitKind::Nofile, api::UlimitKind::Nofile),
    (UlimitKind::Nproc, api::UlimitKind::Nproc),
    (UlimitKind::Rss, api::UlimitKind::Rss),
    (UlimitKind::Rtprio, api::UlimitKind::Rtprio),
    (UlimitKind::Rttime, api::UlimitKind::Rttime),
    (UlimitKind::Sigpending, api::UlimitKind::Sigpending),
    (UlimitKind::Stack, api::UlimitKind::Stack),
];

fn ulimit_kind(k: UlimitKind) -> api::UlimitKind {
    ULIMIT_KINDS
        .iter()
        .find(|(lib, _)| *lib == k)
        .map_or(api::UlimitKind::Unspecified, |(_, a)| *a)
}

fn resources(r: &warren_spec::Resources) -> api::Resources {
    api::Resources {
        cpus: r.cpus,
        memory_bytes: r.memory_bytes,
        memory_swap_bytes: r.memory_swap_bytes,
        memory_reservation_bytes: r.memory_reservation_bytes,
        cpu_shares: r.cpu_shares,
        pids_limit: r.pids,
        cpuset_cpus: r.cpuset.clone(),
    }
}

fn storage(r: &ContainerRequest) -> api::Storage {
    let m = &r.mounts;
    api::Storage {
        read_only_rootfs: r.readonly_rootfs,
        volumes: m
            .volumes
            .iter()
            .map(|v| api::Volume {
                source: path(&v.source),
                destination: path(&v.destination),
                read_only: v.read_only,
            })
            .collect(),
        tmpfs: m
            .tmpfs
            .iter()
            .map(|t| api::Tmpfs {
                destination: path(&t.destination),
                size_bytes: t.size_bytes,
                mode: t.mode,
                options: t.options.clone(),
            })
            .collect(),
        shm_size_bytes: m.shm_size_bytes,
        secrets_dir: m.secrets_dir.as_deref().map(path),
    }
}

fn confinement(r: &ContainerRequest) -> api::Confinement {
    use api::confinement::Seccomp as S;
    let s = &r.security;
    api::Confinement {
        privileged: s.privileged,
        seccomp: match &s.seccomp {
            Seccomp::Default => None,
            Seccomp::Unconfined => Some(S::SeccompUnconfined(api::Unconfined {})),
            Seccomp::Json(json) => Some(S::SeccompProfileJson(json.clone())),
            Seccomp::Profile(p) => Some(S::SeccompProfilePath(path(p))),
        },
        allow_new_privileges: s.allow_new_privileges,
        cap_add: s.cap_add.clone(),
        cap_drop: s.cap_drop.clone(),
        oom_score_adj: (s.oom_score_adj != 0).then_some(s.oom_score_adj),
        devices: r
            .devices
            .iter()
            .map(|d| api::Device {
                host_path: path(&d.host_path),
                container_path: Some(path(&d.container_path)),
                permissions: Some(d.permissions.clone()),
            })
            .collect(),
        sysctls: r.sysctls.clone().into_iter().collect(),
    }
}

fn port(p: &PortMapping) -> api::Port {
    api::Port {
        host_ip: p.host_ip.map(|ip| ip.to_string()),
        host_port: p.host_port.into(),
        container_port: p.container_port.into(),
        protocol: match p.protocol {
            warren_spec::network::Protocol::Tcp => api::Protocol::Tcp,
            warren_spec::network::Protocol::Udp => api::Protocol::Udp,
        } as i32,
    }
}

fn network(s: &NodeSpec) -> api::Network {
    use api::network::Mode;
    let r = &s.request;
    let ports = |p: &[PortMapping]| p.iter().map(port).collect();
    api::Network {
        mode: Some(match &s.network {
            NetworkChoice::NodeDefault { ports: p } => {
                Mode::NodeDefault(api::DefaultNetwork { ports: ports(p) })
            }
            NetworkChoice::Mode(NetworkMode::Bridge { ports: p }) => {
                Mode::Bridge(api::BridgeNetwork { ports: ports(p) })
            }
            NetworkChoice::Mode(NetworkMode::None) => Mode::None(api::NoNetwork {}),
            NetworkChoice::Mode(NetworkMode::Host) => Mode::Host(api::HostNetwork {}),
            NetworkChoice::Mode(NetworkMode::Join(p)) => Mode::NamespacePath(path(p)),
        }),
        hostname: r.hostname.clone(),
        domainname: r.domainname.clone(),
        dns_servers: r.dns.servers.iter().map(|ip| ip.to_string()).collect(),
        dns_search: r.dns.search.clone(),
        dns_options: r.dns.options.clone(),
        extra_hosts: r
            .extra_hosts
            .iter()
            .map(|h| api::HostEntry {
                name: h.name.clone(),
                address: Some(match h.address {
                    HostAddress::Ip(ip) => api::host_entry::Address::Ip(ip.to_string()),
                    HostAddress::HostGateway => {
                        api::host_entry::Address::HostGateway(api::HostGateway {})
                    }
                }),
            })
            .collect(),
    }
}

/// A restart policy as the API has it.
pub fn restart_policy(p: Policy) -> api::RestartPolicy {
    let (mode, max_retries) = match p {
        Policy::No => (api::RestartMode::No, None),
        Policy::OnFailure(max) => (api::RestartMode::OnFailure, max),
        Policy::Always => (api::RestartMode::Always, None),
    };
    api::RestartPolicy {
        mode: mode as i32,
        max_retries,
    }
}

fn duration(d: Option<Duration>) -> Option<prost_types::Duration> {
    d.map(|d| prost_types::Duration {
        seconds: d.as_secs().min(i64::MAX as u64) as i64,
        nanos: d.subsec_nanos() as i32,
    })
}

fn health(s: &NodeSpec) -> Option<api::HealthCheck> {
    let h = &s.request.health;
    if *h == warren_spec::health::HealthOverrides::default() && !s.restart_on_unhealthy {
        return None;
    }
    Some(api::HealthCheck {
        shell_command: h.cmd.clone(),
        interval: duration(h.interval),
        timeout: duration(h.timeout),
        start_period: duration(h.start_period),
        retries: h.retries,
        disable: h.disable,
        restart_on_unhealthy: s.restart_on_unhealthy,
    })
}
