//! The node API's `ContainerSpec` as a [`NodeSpec`]: every field checked on its own (enum
//! values this warrend knows, oneofs that are set, sizes and limits in range, addresses and
//! paths well formed), with the field at fault named by its path in the request. What needs
//! the image or the node is checked later by warren-runtime, still before anything is made.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use warren_proto::warren::node::v1 as api;
use warren_spec::container::{ContainerRequest, PullPolicy};
use warren_spec::health::HealthOverrides;
use warren_spec::network::{DnsConfig, HostAddress, HostEntry, NetworkMode, PortMapping, Protocol};
use warren_spec::{Device, Seccomp, Security, Tmpfs, Ulimit, Volume};

use super::to_api::ULIMIT_KINDS;
use super::{clamp16, NetworkChoice, NodeSpec, Policy};

/// A field of a request that is not acceptable: which (its path, e.g.
/// `spec.resources.memory_bytes`), the value, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the request.
    pub field: String,
    /// The value given, as text.
    pub value: String,
    /// What the field accepts.
    pub allowed: String,
}

impl FieldError {
    /// `field` holds `value`, which is not one of `allowed`.
    pub fn new(
        field: impl Into<String>,
        value: impl std::fmt::Debug,
        allowed: impl Into<String>,
    ) -> FieldError {
        FieldError {
            field: field.into(),
            value: format!("{value:?}"),
            allowed: allowed.into(),
        }
    }
}

impl FieldError {
    /// The CLI flag that sets this field, if one does (e.g. `--memory` for
    /// `spec.resources.memory_bytes`), so a person who typed flags reads their names.
    pub fn flag(&self) -> Option<&'static str> {
        // The path without its indices: `spec.process.ulimits[2].kind` -> `spec.process.ulimits.kind`.
        let mut bare = String::with_capacity(self.field.len());
        let mut depth = 0;
        for c in self.field.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                c if depth == 0 => bare.push(c),
                _ => {}
            }
        }
        FLAGS
            .iter()
            .filter(|(path, _)| bare == *path || bare.starts_with(&format!("{path}.")))
            .max_by_key(|(path, _)| path.len())
            .map(|(_, flag)| *flag)
    }
}

/// The CLI flag of each field (and of the fields below it).
const FLAGS: &[(&str, &str)] = &[
    ("spec.pull", "--pull"),
    ("spec.process.stop_signal", "--stop-signal"),
    ("spec.process.ulimits", "--ulimit"),
    ("spec.resources.cpus", "--cpus"),
    ("spec.resources.memory_bytes", "--memory"),
    ("spec.resources.memory_swap_bytes", "--memory-swap"),
    (
        "spec.resources.memory_reservation_bytes",
        "--memory-reservation",
    ),
    ("spec.resources.cpu_shares", "--cpu-shares"),
    ("spec.resources.pids_limit", "--pids-limit"),
    ("spec.resources.cpuset_cpus", "--cpuset-cpus"),
    ("spec.storage.volumes", "--volume"),
    ("spec.storage.tmpfs", "--tmpfs"),
    ("spec.storage.shm_size_bytes", "--shm-size"),
    ("spec.storage.secrets_dir", "--secret-dir"),
    ("spec.confinement", "--security-opt"),
    ("spec.confinement.cap_add", "--cap-add"),
    ("spec.confinement.cap_drop", "--cap-drop"),
    ("spec.confinement.oom_score_adj", "--oom-score-adj"),
    ("spec.confinement.devices", "--device"),
    ("spec.network", "--network"),
    ("spec.network.node_default.ports", "--publish"),
    ("spec.network.bridge.ports", "--publish"),
    ("spec.network.dns_servers", "--dns"),
    ("spec.network.extra_hosts", "--add-host"),
    ("spec.restart", "--restart"),
    ("spec.health.shell_command", "--health-cmd"),
    ("spec.health.interval", "--health-interval"),
    ("spec.health.timeout", "--health-timeout"),
    ("spec.health.start_period", "--health-start-period"),
    ("spec.health.disable", "--no-healthcheck"),
    ("spec.health.restart_on_unhealthy", "--restart-on-unhealthy"),
    ("spec.labels", "--label"),
];

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.flag() {
            Some(flag) => write!(
                f,
                "invalid {} {} ({flag}): {}",
                self.field, self.value, self.allowed
            ),
            None => write!(f, "invalid {} {}: {}", self.field, self.value, self.allowed),
        }
    }
}

impl std::error::Error for FieldError {}

type R<T> = Result<T, FieldError>;

/// Keys under this prefix are warrend's own labels.
const OWN_LABELS: &str = "warrend.";

impl TryFrom<&api::ContainerSpec> for NodeSpec {
    type Error = FieldError;

    fn try_from(s: &api::ContainerSpec) -> R<NodeSpec> {
        if s.image.trim().is_empty() {
            return Err(FieldError::new(
                "spec.image",
                &s.image,
                "an image reference is required, e.g. busybox or registry:5000/app:1",
            ));
        }
        let mut r = ContainerRequest::new(s.id.clone(), s.image.clone());
        r.pull = pull_policy(s.pull)?;
        process(s.process.as_ref(), &mut r)?;
        if let Some(res) = &s.resources {
            r.resources = resources(res)?;
        }
        storage(s.storage.as_ref(), &mut r)?;
        confinement(s.confinement.as_ref(), &mut r)?;
        let network = network(s.network.as_ref(), &mut r)?;
        let restart = restart(s.restart.as_ref())?;
        let restart_on_unhealthy = health(s.health.as_ref(), restart, &mut r)?;
        if let Some(key) = s.labels.keys().find(|k| k.starts_with(OWN_LABELS)) {
            return Err(FieldError::new(
                format!("spec.labels[{key}]"),
                key,
                "keys under warrend. are warrend's own",
            ));
        }
        r.labels = s.labels.clone().into_iter().collect();
        r.shim_group = non_empty(&s.shim_group);
        Ok(NodeSpec {
            request: r,
            network,
            restart,
            restart_on_unhealthy,
        })
    }
}

impl TryFrom<api::ContainerSpec> for NodeSpec {
    type Error = FieldError;

    fn try_from(s: api::ContainerSpec) -> R<NodeSpec> {
        NodeSpec::try_from(&s)
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// An enum field's value, refused when this warrend does not know it (a newer client's).
fn known<E: TryFrom<i32>>(field: &str, v: i32, allowed: &str) -> R<E> {
    E::try_from(v)
        .map_err(|_| FieldError::new(field, v, format!("unknown value; one of {allowed}")))
}

fn absolute(field: &str, p: &str) -> R<PathBuf> {
    if !p.starts_with('/') {
        return Err(FieldError::new(field, p, "an absolute path"));
    }
    if p.contains('\0') {
        return Err(FieldError::new(field, p, "a path without NUL bytes"));
    }
    Ok(PathBuf::from(p))
}

fn pull_policy(v: i32) -> R<PullPolicy> {
    Ok(
        match known(
            "spec.pull",
            v,
            "PULL_POLICY_MISSING, PULL_POLICY_ALWAYS, PULL_POLICY_NEVER",
        )? {
            api::PullPolicy::Unspecified | api::PullPolicy::Missing => PullPolicy::IfMissing,
            api::PullPolicy::Always => PullPolicy::Always,
            api::PullPolicy::Never => PullPolicy::Never,
        },
    )
}

fn process(p: Option<&api::ProcessSpec>, r: &mut ContainerRequest) -> R<()> {
    let Some(p) = p else { return Ok(()) };
    r.entrypoint = p.entrypoint.as_ref().map(|a| a.args.clone());
    r.cmd = p.cmd.as_ref().map(|a| a.args.clone());
    r.env = p.env.clone();
    r.working_dir = p.working_dir.clone();
    r.user = p.user.clone();
    r.tty = p.tty;
    r.open_stdin = p.open_stdin;
    r.console_size = p
        .console_size
        .as_ref()
        .map(|s| (clamp16(s.cols), clamp16(s.rows)));
    if let Some(sig) = &p.stop_signal {
        warren_spec::units::parse_signal(sig)
            .map_err(|e| FieldError::new("spec.process.stop_signal", sig, e.to_string()))?;
    }
    r.stop_signal = p.stop_signal.clone();
    r.ulimits = p
        .ulimits
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let field = format!("spec.process.ulimits[{i}]");
            let kind = known::<api::UlimitKind>(&format!("{field}.kind"), u.kind, "ULIMIT_KIND_*")?;
            let kind = ULIMIT_KINDS
                .iter()
                .find(|(_, a)| *a == kind)
                .map(|(lib, _)| *lib)
                .ok_or_else(|| {
                    FieldError::new(
                        format!("{field}.kind"),
                        u.kind,
                        "a limit's kind is required",
                    )
                })?;
            let limit = Ulimit::new(kind, u.soft, u.hard);
            limit
                .validate()
                .map_err(|e| FieldError::new(field, (u.soft, u.hard), e.to_string()))?;
            Ok(limit)
        })
        .collect::<R<_>>()?;
    Ok(())
}

fn resources(res: &api::Resources) -> R<warren_spec::Resources> {
    let f = |name: &str| format!("spec.resources.{name}");
    let at_least_one = |name: &str, v: Option<i64>| -> R<Option<i64>> {
        match v {
            Some(v) if v < 1 => Err(FieldError::new(
                f(name),
                v,
                "at least 1 (leave it unset for no limit)",
            )),
            v => Ok(v),
        }
    };
    let mut out = warren_spec::Resources::default();
    if let Some(c) = res.cpus {
        if !(c > 0.0 && c.is_finite()) {
            return Err(FieldError::new(
                f("cpus"),
                c,
                "more than 0 CPUs, e.g. 0.5 (leave it unset for no limit)",
            ));
        }
    }
    out.cpus = res.cpus;
    out.memory_bytes = at_least_one("memory_bytes", res.memory_bytes)?;
    out.memory_swap_bytes = match res.memory_swap_bytes {
        Some(v) if v < 1 && v != -1 => {
            return Err(FieldError::new(
                f("memory_swap_bytes"),
                v,
                "at least 1 byte, or -1 for unlimited swap",
            ))
        }
        v => v,
    };
    out.memory_reservation_bytes =
        at_least_one("memory_reservation_bytes", res.memory_reservation_bytes)?;
    if let Some(w) = res.cpu_shares {
        if !(2..=262_144).contains(&w) {
            return Err(FieldError::new(f("cpu_shares"), w, "2 to 262144"));
        }
    }
    out.cpu_shares = res.cpu_shares;
    out.pids = at_least_one("pids_limit", res.pids_limit)?;
    if let Some(set) = &res.cpuset_cpus {
        if set.trim().is_empty() {
            return Err(FieldError::new(
                f("cpuset_cpus"),
                set,
                "CPU numbers and ranges, e.g. 0-1,3",
            ));
        }
    }
    out.cpuset = res.cpuset_cpus.clone();
    Ok(out)
}

fn storage(s: Option<&api::Storage>, r: &mut ContainerRequest) -> R<()> {
    let Some(s) = s else { return Ok(()) };
    r.readonly_rootfs = s.read_only_rootfs;
    let m = &mut r.mounts;
    m.volumes = s
        .volumes
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let field = |n: &str| format!("spec.storage.volumes[{i}].{n}");
            Ok(Volume::new(
                absolute(&field("source"), &v.source)?,
                absolute(&field("destination"), &v.destination)?,
            )
            .read_only(v.read_only))
        })
        .collect::<R<_>>()?;
    m.tmpfs = s
        .tmpfs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let field = |n: &str| format!("spec.storage.tmpfs[{i}].{n}");
            let mut out = Tmpfs::new(absolute(&field("destination"), &t.destination)?);
            if t.size_bytes == Some(0) {
                return Err(FieldError::new(field("size_bytes"), 0, "at least 1 byte"));
            }
            if let Some(mode) = t.mode.filter(|m| *m > 0o7777) {
                return Err(FieldError::new(
                    field("mode"),
                    format!("{mode:o}"),
                    "a mode of at most 7777 (octal)",
                ));
            }
            out.size_bytes = t.size_bytes;
            out.mode = t.mode;
            out.options = t.options.clone();
            Ok(out)
        })
        .collect::<R<_>>()?;
    if s.shm_size_bytes == Some(0) {
        return Err(FieldError::new(
            "spec.storage.shm_size_bytes",
            0,
            "at least 1 byte (unset: 64 MiB)",
        ));
    }
    m.shm_size_bytes = s.shm_size_bytes;
    m.secrets_dir = s
        .secrets_dir
        .as_deref()
        .map(|d| absolute("spec.storage.secrets_dir", d))
        .transpose()?;
    Ok(())
}

fn confinement(c: Option<&api::Confinement>, r: &mut ContainerRequest) -> R<()> {
    use api::confinement::Seccomp as S;
    let Some(c) = c else { return Ok(()) };
    for (list, names) in [("cap_add", &c.cap_add), ("cap_drop", &c.cap_drop)] {
        for (i, name) in names.iter().enumerate() {
            if !name.trim().eq_ignore_ascii_case("ALL") {
                warren_spec::capability("capability", name).map_err(|_| {
                    FieldError::new(
                        format!("spec.confinement.{list}[{i}]"),
                        name,
                        "a capability name such as NET_ADMIN or CAP_SYS_TIME, or ALL",
                    )
                })?;
            }
        }
    }
    if let Some(oom) = c.oom_score_adj.filter(|v| !(-1000..=1000).contains(v)) {
        return Err(FieldError::new(
            "spec.confinement.oom_score_adj",
            oom,
            "-1000 to 1000 (unset: 0)",
        ));
    }
    let mut s = Security::default()
        .privileged(c.privileged)
        .cap_add(c.cap_add.clone())
        .cap_drop(c.cap_drop.clone())
        .oom_score_adj(c.oom_score_adj.unwrap_or(0));
    s.allow_new_privileges = c.allow_new_privileges;
    s.seccomp = match &c.seccomp {
        None => Seccomp::Default,
        Some(S::SeccompUnconfined(_)) => Seccomp::Unconfined,
        Some(S::SeccompProfileJson(json)) => {
            let limit = warren_spec::seccomp::MAX_PROFILE_BYTES;
            if json.len() as u64 > limit || !json.trim_start().starts_with('{') {
                return Err(FieldError::new(
                    "spec.confinement.seccomp_profile_json",
                    json.chars().take(40).collect::<String>(),
                    format!("a JSON object of at most {limit} bytes"),
                ));
            }
            Seccomp::Json(json.clone())
        }
        Some(S::SeccompProfilePath(p)) => {
            Seccomp::Profile(absolute("spec.confinement.seccomp_profile_path", p)?)
        }
    };
    s.validate()
        .map_err(|e| FieldError::new("spec.confinement", "", e.to_string()))?;
    r.security = s;
    r.devices = c
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let field = |n: &str| format!("spec.confinement.devices[{i}].{n}");
            let host = absolute(&field("host_path"), &d.host_path)?;
            let mut out = Device::new(host);
            if let Some(p) = &d.container_path {
                out.container_path = absolute(&field("container_path"), p)?;
            }
            if let Some(p) = &d.permissions {
                if p.is_empty() || !p.chars().all(|c| "rwm".contains(c)) {
                    return Err(FieldError::new(field("permissions"), p, "any of r, w, m"));
                }
                out.permissions = p.clone();
            }
            Ok(out)
        })
        .collect::<R<_>>()?;
    r.sysctls = c.sysctls.clone().into_iter().collect();
    Ok(())
}

fn port(field: &str, p: &api::Port) -> R<PortMapping> {
    let number = |name: &str, v: u32| -> R<u16> {
        u16::try_from(v)
            .ok()
            .filter(|v| *v != 0)
            .ok_or_else(|| FieldError::new(format!("{field}.{name}"), v, "a port from 1 to 65535"))
    };
    let mut out = PortMapping::new(
        number("host_port", p.host_port)?,
        number("container_port", p.container_port)?,
    );
    out.host_ip = p
        .host_ip
        .as_deref()
        .map(|ip| {
            ip.parse::<IpAddr>().map_err(|_| {
                FieldError::new(format!("{field}.host_ip"), ip, "an IPv4 or IPv6 address")
            })
        })
        .transpose()?;
    out.protocol = match known(
        &format!("{field}.protocol"),
        p.protocol,
        "PROTOCOL_TCP, PROTOCOL_UDP",
    )? {
        api::Protocol::Unspecified | api::Protocol::Tcp => Protocol::Tcp,
        api::Protocol::Udp => Protocol::Udp,
    };
    Ok(out)
}

fn network(n: Option<&api::Network>, r: &mut ContainerRequest) -> R<NetworkChoice> {
    use api::network::Mode;
    let Some(n) = n else {
        return Ok(NetworkChoice::default());
    };
    let ports = |kind: &str, ports: &[api::Port]| -> R<Vec<PortMapping>> {
        ports
            .iter()
            .enumerate()
            .map(|(i, p)| port(&format!("spec.network.{kind}.ports[{i}]"), p))
            .collect()
    };
    let choice = match &n.mode {
        None => NetworkChoice::default(),
        Some(Mode::NodeDefault(d)) => NetworkChoice::NodeDefault {
            ports: ports("node_default", &d.ports)?,
        },
        Some(Mode::Bridge(b)) => NetworkChoice::Mode(NetworkMode::Bridge {
            ports: ports("bridge", &b.ports)?,
        }),
        Some(Mode::None(_)) => NetworkChoice::Mode(NetworkMode::None),
        Some(Mode::Host(_)) => NetworkChoice::Mode(NetworkMode::Host),
        Some(Mode::NamespacePath(p)) => NetworkChoice::Mode(NetworkMode::Join(absolute(
            "spec.network.namespace_path",
            p,
        )?)),
    };
    r.hostname = n.hostname.clone();
    r.domainname = n.domainname.clone();
    let mut dns = DnsConfig::default();
    dns.servers = n
        .dns_servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.parse::<IpAddr>().map_err(|_| {
                FieldError::new(
                    format!("spec.network.dns_servers[{i}]"),
                    s,
                    "an IPv4 or IPv6 address",
                )
            })
        })
        .collect::<R<_>>()?;
    dns.search = n.dns_search.clone();
    dns.options = n.dns_options.clone();
    r.dns = dns;
    r.extra_hosts = n
        .extra_hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let field = |n: &str| format!("spec.network.extra_hosts[{i}]{n}");
            if h.name.is_empty() || h.name.contains(char::is_whitespace) {
                return Err(FieldError::new(
                    field(".name"),
                    &h.name,
                    "a host name without spaces",
                ));
            }
            let address = match &h.address {
                None => {
                    return Err(FieldError::new(
                        field(".address"),
                        "",
                        "an ip or host_gateway",
                    ))
                }
                Some(api::host_entry::Address::HostGateway(_)) => HostAddress::HostGateway,
                Some(api::host_entry::Address::Ip(ip)) => {
                    HostAddress::Ip(ip.parse().map_err(|_| {
                        FieldError::new(field(".ip"), ip, "an IPv4 or IPv6 address")
                    })?)
                }
            };
            Ok(HostEntry::new(h.name.clone(), address))
        })
        .collect::<R<_>>()?;
    Ok(choice)
}

fn restart(p: Option<&api::RestartPolicy>) -> R<Policy> {
    let Some(p) = p else { return Ok(Policy::No) };
    let mode = known(
        "spec.restart.mode",
        p.mode,
        "RESTART_MODE_NO, RESTART_MODE_ON_FAILURE, RESTART_MODE_ALWAYS",
    )?;
    match (mode, p.max_retries) {
        (api::RestartMode::OnFailure, Some(0)) => Err(FieldError::new(
            "spec.restart.max_retries",
            0,
            "at least 1 (unset: no limit)",
        )),
        (api::RestartMode::OnFailure, max) => Ok(Policy::OnFailure(max)),
        (_, Some(max)) => Err(FieldError::new(
            "spec.restart.max_retries",
            max,
            "only with RESTART_MODE_ON_FAILURE",
        )),
        (api::RestartMode::Always, None) => Ok(Policy::Always),
        (api::RestartMode::Unspecified | api::RestartMode::No, None) => Ok(Policy::No),
    }
}

fn duration(field: &str, d: Option<&prost_types::Duration>) -> R<Option<Duration>> {
    api_duration(&format!("spec.health.{field}"), d)
}

/// An API duration as a `Duration`: unset is `None`; a negative or malformed one is
/// refused naming `field`, its path in the request.
pub fn api_duration(field: &str, d: Option<&prost_types::Duration>) -> R<Option<Duration>> {
    let Some(d) = d else { return Ok(None) };
    if d.seconds < 0 || d.nanos < 0 || d.nanos >= 1_000_000_000 {
        return Err(FieldError::new(
            field,
            (d.seconds, d.nanos),
            "a duration of 0 or more (seconds >= 0, 0 <= nanos < 10^9)",
        ));
    }
    Ok(Some(Duration::new(d.seconds as u64, d.nanos as u32)))
}

/// The health overrides into `r`; answers `restart_on_unhealthy`.
fn health(h: Option<&api::HealthCheck>, policy: Policy, r: &mut ContainerRequest) -> R<bool> {
    let Some(h) = h else { return Ok(false) };
    let mut o = HealthOverrides::default().disable(h.disable);
    o.cmd = h.shell_command.clone();
    o.interval = duration("interval", h.interval.as_ref())?;
    o.timeout = duration("timeout", h.timeout.as_ref())?;
    o.start_period = duration("start_period", h.start_period.as_ref())?;
    o.retries = h.retries;
    for (name, d) in [
        ("interval", o.interval),
        ("timeout", o.timeout),
        ("start_period", o.start_period),
    ] {
        if let Some(d) = d.filter(|d| !d.is_zero() && *d < warren_spec::health::MIN_DURATION) {
            return Err(FieldError::new(
                format!("spec.health.{name}"),
                d,
                "0 (the image's value) or at least 1ms",
            ));
        }
    }
    if o.disable && o.any_set() {
        return Err(FieldError::new(
            "spec.health.disable",
            true,
            "no check at all: no other field of the health check may be set",
        ));
    }
    o.validate()
        .map_err(|e| FieldError::new("spec.health.shell_command", &o.cmd, e.to_string()))?;
    if h.restart_on_unhealthy {
        if !matches!(policy, Policy::OnFailure(_)) {
            return Err(FieldError::new(
                "spec.health.restart_on_unhealthy",
                policy.to_string(),
                "needs the restart policy on-failure[:max] (the policy that restarts the killed container)",
            ));
        }
        if h.disable {
            return Err(FieldError::new(
                "spec.health.restart_on_unhealthy",
                true,
                "needs a health check, and disable (--no-healthcheck) turns them off",
            ));
        }
    }
    r.health = o;
    Ok(h.restart_on_unhealthy)
}
