//! Looking at containers: logs, exec, events, stats, and the daemon's own info.

use futures::StreamExt;
use warren_proto::warren::node::v1 as api;
use warren_runtime::{ContainerState, LogOptions};

use super::{log_line, Stream};
use crate::serve::errors::{status, ApiError};
use crate::serve::{convert, Daemon};

/// A container's output; with `follow`, new lines until its process ends; `since` and
/// `until` bound it in time.
pub async fn logs(d: &Daemon, req: api::LogsRequest) -> Result<Stream<api::LogLine>, ApiError> {
    let (since, until) = super::everyday::log_bounds(&req);
    let follow = super::everyday::follow_until(req.follow, until);
    let mut options = LogOptions::default().follow(follow);
    options.tail = (req.tail > 0).then_some(req.tail as usize);
    let lines =
        d.rt.container_logs(&req.id, &options)
            .await
            .map_err(ApiError::runtime("logs"))?;
    let d = d.clone();
    let lines: Stream<api::LogLine> =
        Box::pin(lines.map(move |l| l.map(|l| log_line(&l)).map_err(|e| status(&d, "logs", e))));
    Ok(super::everyday::log_window(lines, since, until, follow))
}

/// Run a command in a running container and collect its output.
pub async fn exec(d: &Daemon, req: api::ExecRequest) -> Result<api::ExecResponse, ApiError> {
    let mut request = warren_runtime::ExecRequest::new(req.args).env(req.env);
    request.working_dir = (!req.working_dir.is_empty()).then_some(req.working_dir);
    request.user = (!req.user.is_empty()).then_some(req.user);
    let out =
        d.rt.exec(&req.id, &request)
            .await
            .map_err(ApiError::runtime("exec"))?;
    Ok(api::ExecResponse {
        exit_code: out.exit_code,
        stdout: out.stdout,
        stderr: out.stderr,
        truncated: out.truncated,
    })
}

/// The node's container events: after `req.after` if given (see [`crate::serve::journal`]),
/// then live ones.
pub async fn events(d: &Daemon, req: api::EventsRequest) -> Result<Stream<api::Event>, ApiError> {
    Ok(super::stream(d.journal.subscribe(req.after.as_ref())?))
}

/// CPU, memory and pids of a running container.
pub async fn stats(d: &Daemon, req: api::ContainerRef) -> Result<api::Stats, ApiError> {
    let m =
        d.rt.container_metrics(&req.id)
            .await
            .map_err(ApiError::runtime("stats"))?;
    Ok(api::Stats {
        id: req.id,
        cpu_usage_ns: m.cpu_usage_ns,
        memory_usage_bytes: m.memory_usage_bytes,
        memory_limit_bytes: m.memory_limit_bytes.unwrap_or(0),
        pids: m.pids,
        pids_limit: m.pids_limit.unwrap_or(0),
        oom_kills: m.oom_kills,
        time: m.timestamp.map(convert::timestamp),
    })
}

/// Versions, addresses, the running count, and the node as a scheduler sees it.
pub async fn info(d: &Daemon) -> Result<api::InfoResponse, ApiError> {
    let version =
        d.rt.daemon_version()
            .await
            .map_err(ApiError::runtime("info"))?
            .version;
    let running =
        d.rt.list_containers()
            .await
            .map_err(ApiError::runtime("info"))?
            .iter()
            .filter(|c| c.status.state == ContainerState::Running)
            .count();
    let node = &d.config.node;
    let capacity = d.host.capacity;
    let reserved = warren_spec::host::Capacity {
        cpus: node.reserved.cpus,
        memory_bytes: node.reserved.memory_bytes,
        pids: node.reserved.pids,
    };
    let resources = |c: warren_spec::host::Capacity| api::NodeResources {
        cpus: c.cpus,
        memory_bytes: c.memory_bytes,
        pids: c.pids,
    };
    Ok(api::InfoResponse {
        warrend_version: env!("CARGO_PKG_VERSION").to_string(),
        containerd_version: version,
        containerd_address: d.containerd.address().display().to_string(),
        containerd_managed: d.containerd.is_managed(),
        namespace: d.config.namespace(),
        containers_running: running as u32,
        runc_version: d.host.runc_version.clone(),
        cgroup_version: d.host.cgroup_version.clone(),
        cgroup_driver: d.host.cgroup_driver.clone(),
        node_name: node.name(),
        node_labels: node.labels.clone().into_iter().collect(),
        capacity: Some(resources(capacity)),
        allocatable: Some(resources(capacity.less(reserved))),
        api_version: "v1".into(),
    })
}
