//! The JSON the CLI prints (`--json`, `inspect`, `events`): one typed view per JSON object,
//! built from the node API's messages (which are not `Serialize`) and serialized by serde.
//!
//! Field order: the CLI's JSON has always had its keys in alphabetical order (serde_json
//! without its `preserve_order` feature keeps objects sorted), so every struct here
//! declares its fields alphabetically and maps are printed sorted by key ([`sorted`]).
//! Reordering fields changes the output; the tests pin it byte for byte.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use warren_client::Word;
use warren_proto::warren::node::v1 as api;

use super::health_args::nanos;
use super::output::rfc3339;

/// A protobuf map (a `HashMap`) with its keys sorted, as JSON objects are printed.
fn sorted(m: &HashMap<String, String>) -> BTreeMap<&str, &str> {
    m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// How a process ended: `exit` of `ps --json`, `inspect` and `run --json`.
#[derive(Serialize, Debug)]
pub struct Exit {
    pub code: u32,
    /// RFC 3339, or "" if unknown.
    pub exited_at: String,
    pub oom_killed: bool,
}

impl From<&api::Exit> for Exit {
    fn from(e: &api::Exit) -> Self {
        Exit {
            code: e.code,
            exited_at: rfc3339(&e.exited_at),
            oom_killed: e.oom_killed,
        }
    }
}

/// A container summary: each element of `ps --json`.
#[derive(Serialize, Debug)]
pub struct Summary<'a> {
    pub created_at: String,
    /// `null` while it has not exited.
    pub exit: Option<Exit>,
    /// The health word; "" without a health check.
    pub health: &'static str,
    pub id: &'a str,
    pub image: &'a str,
    pub ip: &'a str,
    pub labels: BTreeMap<&'a str, &'a str>,
    pub pid: u32,
    /// As Docker writes it: `no`, `on-failure[:MAX]`, `always`.
    pub restart: String,
    pub restart_count: u32,
    pub started_at: String,
    pub state: &'static str,
}

impl<'a> From<&'a api::ContainerSummary> for Summary<'a> {
    fn from(c: &'a api::ContainerSummary) -> Self {
        Summary {
            created_at: rfc3339(&c.created_at),
            exit: c.exit.as_ref().map(Exit::from),
            health: c.health().word(),
            id: &c.id,
            image: &c.image,
            ip: &c.ip,
            labels: sorted(&c.labels),
            pid: c.pid,
            restart: warren_client::restart_text(c.restart.as_ref()),
            restart_count: c.restart_count,
            started_at: rfc3339(&c.started_at),
            state: c.state().word(),
        }
    }
}

/// One health check run: each element of `health.log` in `inspect`.
#[derive(Serialize, Debug)]
pub struct HealthResult<'a> {
    pub end: String,
    pub exit_code: i32,
    pub output: &'a str,
    pub start: String,
}

impl<'a> From<&'a api::HealthResult> for HealthResult<'a> {
    fn from(r: &'a api::HealthResult) -> Self {
        HealthResult {
            end: rfc3339(&r.end),
            exit_code: r.exit_code,
            output: &r.output,
            start: rfc3339(&r.start),
        }
    }
}

/// `inspect`'s `health` object, for a container with a health check.
#[derive(Serialize, Debug)]
pub struct Health<'a> {
    pub failing_streak: u32,
    /// Nanoseconds, 0 when unset (as are the other `_ns`).
    pub interval_ns: i64,
    pub log: Vec<HealthResult<'a>>,
    pub restart_on_unhealthy: bool,
    pub retries: u32,
    pub start_period_ns: i64,
    pub status: &'static str,
    pub test: &'a [String],
    pub timeout_ns: i64,
}

impl<'a> From<&'a api::Health> for Health<'a> {
    fn from(h: &'a api::Health) -> Self {
        Health {
            failing_streak: h.failing_streak,
            interval_ns: nanos(h.interval.as_ref()),
            log: h.log.iter().map(HealthResult::from).collect(),
            restart_on_unhealthy: h.restart_on_unhealthy,
            retries: h.retries,
            start_period_ns: nanos(h.start_period.as_ref()),
            status: h.status().word(),
            test: &h.test,
            timeout_ns: nanos(h.timeout.as_ref()),
        }
    }
}

/// `inspect`'s `health`: the full [`Health`] object when the container has a health check
/// in its detail, else the summary's health word.
#[derive(Serialize, Debug)]
#[serde(untagged)]
pub enum InspectHealth<'a> {
    Word(&'static str),
    Checked(Health<'a>),
}

/// `inspect`'s `security` object.
#[derive(Serialize, Debug)]
pub struct Security<'a> {
    pub capabilities: &'a [String],
    pub cgroup_namespace: bool,
    pub no_new_privileges: bool,
    pub oom_score_adj: i32,
    pub privileged: bool,
    pub read_only_binds_recursive: bool,
    pub seccomp: &'static str,
}

impl<'a> From<&'a api::Security> for Security<'a> {
    fn from(s: &'a api::Security) -> Self {
        Security {
            capabilities: &s.capabilities,
            cgroup_namespace: s.cgroup_namespace,
            no_new_privileges: s.no_new_privileges,
            oom_score_adj: s.oom_score_adj,
            privileged: s.privileged,
            read_only_binds_recursive: s.read_only_binds_recursive,
            seccomp: s.seccomp().word(),
        }
    }
}

/// One container of `inspect` (which prints an array of them, pretty): the [`Summary`]'s
/// fields with the detail's `labels`, `network`, `ports`, `log_dir`, and `health` and
/// `security` when known, merged in alphabetical order. The summary's fields are absent
/// (not `null`) if the node sent no summary.
#[derive(Serialize, Debug, Default)]
pub struct Inspect<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<Option<Exit>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<InspectHealth<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<&'a str>,
    /// The detail's labels (the summary's are the same).
    pub labels: BTreeMap<&'a str, &'a str>,
    pub log_dir: &'a str,
    pub network: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    pub ports: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<Security<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
}

impl<'a> From<&'a api::ContainerDetail> for Inspect<'a> {
    fn from(d: &'a api::ContainerDetail) -> Self {
        let mut v = Inspect {
            health: d.health.as_ref().map(|h| InspectHealth::Checked(h.into())),
            labels: sorted(&d.labels),
            log_dir: &d.log_dir,
            network: &d.network,
            ports: &d.ports,
            security: d.security.as_ref().map(Security::from),
            ..Default::default()
        };
        if let Some(s) = d.summary.as_ref().map(Summary::from) {
            v.created_at = Some(s.created_at);
            v.exit = Some(s.exit);
            v.health.get_or_insert(InspectHealth::Word(s.health));
            v.id = Some(s.id);
            v.image = Some(s.image);
            v.ip = Some(s.ip);
            v.pid = Some(s.pid);
            v.restart = Some(s.restart);
            v.restart_count = Some(s.restart_count);
            v.started_at = Some(s.started_at);
            v.state = Some(s.state);
        }
        v
    }
}

/// An image: `pull --json`, and each element of `images --json` and `import --json`.
#[derive(Serialize, Debug)]
pub struct Image<'a> {
    pub cmd: &'a [String],
    pub digest: &'a str,
    pub entrypoint: &'a [String],
    pub env: &'a [String],
    pub media_type: &'a str,
    pub name: &'a str,
    pub size: i64,
    pub stop_signal: &'a str,
    pub user: &'a str,
    pub working_dir: &'a str,
}

impl<'a> From<&'a api::ImageInfo> for Image<'a> {
    fn from(i: &'a api::ImageInfo) -> Self {
        Image {
            cmd: &i.cmd,
            digest: &i.digest,
            entrypoint: &i.entrypoint,
            env: &i.env,
            media_type: &i.media_type,
            name: &i.name,
            size: i.size,
            stop_signal: &i.stop_signal,
            user: &i.user,
            working_dir: &i.working_dir,
        }
    }
}

/// `create --json`: the new container's id.
#[derive(Serialize, Debug)]
pub struct Created<'a> {
    pub id: &'a str,
}

/// `run --detach --json`: the container and its process, once started.
#[derive(Serialize, Debug)]
pub struct Started<'a> {
    pub id: &'a str,
    pub pid: u32,
}

/// `run --json` (attached): the last line, how the container ended.
#[derive(Serialize, Debug)]
pub struct Exited<'a> {
    pub exit: Exit,
    pub id: &'a str,
}

/// One line of output: `logs --json` and `run --json` (attached), one per line.
#[derive(Serialize, Debug)]
pub struct LogLine<'a> {
    /// `stdout` or `stderr`.
    pub stream: &'static str,
    pub text: &'a str,
    pub time: String,
}

impl<'a> From<&'a api::LogLine> for LogLine<'a> {
    fn from(l: &'a api::LogLine) -> Self {
        LogLine {
            stream: l.stream().word(),
            text: &l.text,
            time: rfc3339(&l.time),
        }
    }
}

/// `exec --json`: the command's exit code and output (not UTF-8 is replaced with U+FFFD).
#[derive(Serialize, Debug)]
pub struct ExecOutput<'a> {
    pub exit_code: u32,
    pub stderr: Cow<'a, str>,
    pub stdout: Cow<'a, str>,
    /// Only when output was dropped, so that other output keeps its keys.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl<'a> From<&'a api::ExecResponse> for ExecOutput<'a> {
    fn from(r: &'a api::ExecResponse) -> Self {
        ExecOutput {
            exit_code: r.exit_code,
            stderr: String::from_utf8_lossy(&r.stderr),
            stdout: String::from_utf8_lossy(&r.stdout),
            truncated: r.truncated,
        }
    }
}

/// One event: each line of `events`.
#[derive(Serialize, Debug)]
pub struct Event<'a> {
    pub container: &'a str,
    /// `EPOCH:SEQUENCE`, what `events --after` takes; `null` if the node sent none.
    pub cursor: Option<String>,
    pub exec_id: &'a str,
    pub exit_code: u32,
    pub health_status: &'static str,
    pub kind: &'static str,
    pub pid: u32,
    pub time: String,
}

impl<'a> From<&'a api::Event> for Event<'a> {
    fn from(e: &'a api::Event) -> Self {
        Event {
            container: &e.container_id,
            cursor: e
                .cursor
                .as_ref()
                .map(|c| format!("{}:{}", c.epoch, c.sequence)),
            exec_id: &e.exec_id,
            exit_code: e.exit_code,
            health_status: e.health_status().word(),
            kind: e.kind().word(),
            pid: e.pid,
            time: rfc3339(&e.time),
        }
    }
}

/// A node's resources: `capacity` and `allocatable` of `info --json`.
#[derive(Serialize, Debug)]
pub struct Resources {
    /// Not finite is printed as `null`.
    pub cpus: f64,
    pub memory_bytes: u64,
    pub pids: u64,
}

impl From<&api::NodeResources> for Resources {
    fn from(r: &api::NodeResources) -> Self {
        Resources {
            cpus: r.cpus,
            memory_bytes: r.memory_bytes,
            pids: r.pids,
        }
    }
}

/// `info --json`.
#[derive(Serialize, Debug)]
pub struct Info<'a> {
    pub allocatable: Option<Resources>,
    pub api_version: &'a str,
    pub capacity: Option<Resources>,
    pub cgroup_driver: &'a str,
    pub cgroup_version: &'a str,
    pub containerd_address: &'a str,
    pub containerd_managed: bool,
    pub containerd_version: &'a str,
    pub containers_running: u32,
    pub namespace: &'a str,
    pub node_labels: BTreeMap<&'a str, &'a str>,
    pub node_name: &'a str,
    pub runc_version: &'a str,
    pub warrend_version: &'a str,
}

impl<'a> From<&'a api::InfoResponse> for Info<'a> {
    fn from(i: &'a api::InfoResponse) -> Self {
        Info {
            allocatable: i.allocatable.as_ref().map(Resources::from),
            api_version: &i.api_version,
            capacity: i.capacity.as_ref().map(Resources::from),
            cgroup_driver: &i.cgroup_driver,
            cgroup_version: &i.cgroup_version,
            containerd_address: &i.containerd_address,
            containerd_managed: i.containerd_managed,
            containerd_version: &i.containerd_version,
            containers_running: i.containers_running,
            namespace: &i.namespace,
            node_labels: sorted(&i.node_labels),
            node_name: &i.node_name,
            runc_version: &i.runc_version,
            warrend_version: &i.warrend_version,
        }
    }
}

/// One container's sample: each element of `stats --json`.
#[derive(Serialize, Debug)]
pub struct Stats {
    /// Percent of one core between the two samples; `null` if not computed (or not finite).
    pub cpu_percent: Option<f64>,
    pub cpu_usage_ns: u64,
    pub id: String,
    pub memory_limit_bytes: u64,
    pub memory_usage_bytes: u64,
    pub oom_kills: u64,
    pub pids: u64,
    pub pids_limit: u64,
    pub time: String,
}

impl Stats {
    /// The sample `s`, with the CPU percentage computed from it and the one before.
    pub fn new(s: &api::Stats, cpu_percent: Option<f64>) -> Self {
        Stats {
            cpu_percent,
            cpu_usage_ns: s.cpu_usage_ns,
            id: s.id.clone(),
            memory_limit_bytes: s.memory_limit_bytes,
            memory_usage_bytes: s.memory_usage_bytes,
            oom_kills: s.oom_kills,
            pids: s.pids,
            pids_limit: s.pids_limit,
            time: rfc3339(&s.time),
        }
    }
}

/// One process: each element of `top --json`.
#[derive(Serialize, Debug)]
pub struct Process<'a> {
    pub command: &'a str,
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub user: &'a str,
}

impl<'a> From<&'a api::Process> for Process<'a> {
    fn from(p: &'a api::Process) -> Self {
        Process {
            command: &p.command,
            pid: p.pid,
            ppid: p.ppid,
            uid: p.uid,
            user: &p.user,
        }
    }
}

/// One published port: each element of `port --json`.
#[derive(Serialize, Debug)]
pub struct Port<'a> {
    /// `PORT/PROTO`.
    pub container_port: String,
    pub host_ip: &'a str,
    pub host_port: &'a str,
}

impl<'a> Port<'a> {
    /// Container port `port`/`proto` published on `host_ip`:`host_port`.
    pub fn new(port: u16, proto: &str, host_ip: &'a str, host_port: &'a str) -> Self {
        Port {
            container_port: format!("{port}/{proto}"),
            host_ip,
            host_port,
        }
    }
}

/// What a prune removed: `container prune --json` and `image prune --json`.
#[derive(Serialize, Debug)]
pub struct Pruned<'a> {
    pub bytes_reclaimed: u64,
    pub removed: &'a [String],
}

impl<'a> From<&'a api::PruneResponse> for Pruned<'a> {
    fn from(r: &'a api::PruneResponse) -> Self {
        Pruned {
            bytes_reclaimed: r.bytes_reclaimed,
            removed: &r.removed,
        }
    }
}

#[cfg(test)]
mod tests;
