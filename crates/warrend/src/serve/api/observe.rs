//! Looking at containers: logs, exec, events, stats, and the daemon's own info.

use futures::StreamExt;
use tokio::sync::mpsc;
use tonic::Status;
use warren_proto::warren::node::v1 as api;
use warren_runtime::{ContainerEvent, ContainerEventKind, ContainerState, LogOptions};

use super::errors::status;
use super::{log_line, Stream};
use crate::serve::{convert, Daemon, NodeEvent};

/// A container's output; with `follow`, new lines until its process ends; `since` and
/// `until` bound it in time.
pub async fn logs(d: &Daemon, req: api::LogsRequest) -> Result<Stream<api::LogLine>, Status> {
    let (since, until) = super::everyday::log_bounds(&req);
    let follow = super::everyday::follow_until(req.follow, until);
    let mut options = LogOptions::default().follow(follow);
    options.tail = (req.tail > 0).then_some(req.tail as usize);
    let lines =
        d.rt.container_logs(&req.id, &options)
            .await
            .map_err(|e| status(d, "logs", e))?;
    let d = d.clone();
    let lines: Stream<api::LogLine> =
        Box::pin(lines.map(move |l| l.map(|l| log_line(&l)).map_err(|e| status(&d, "logs", e))));
    Ok(super::everyday::log_window(lines, since, until, follow))
}

/// Run a command in a running container and collect its output.
pub async fn exec(d: &Daemon, req: api::ExecRequest) -> Result<api::ExecResponse, Status> {
    let mut request = warren_runtime::ExecRequest::new(req.args).env(req.env);
    request.working_dir = (!req.working_dir.is_empty()).then_some(req.working_dir);
    request.user = (!req.user.is_empty()).then_some(req.user);
    let out =
        d.rt.exec(&req.id, &request)
            .await
            .map_err(|e| status(d, "exec", e))?;
    Ok(api::ExecResponse {
        exit_code: out.exit_code,
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

fn container_event(e: ContainerEvent) -> api::Event {
    let mut out = api::Event {
        container_id: e.container_id,
        time: e.time.map(convert::timestamp),
        ..Default::default()
    };
    let kind = match e.kind {
        ContainerEventKind::Created { pid } => {
            out.pid = pid;
            "created"
        }
        ContainerEventKind::Started { pid } => {
            out.pid = pid;
            "started"
        }
        ContainerEventKind::Exited { exec_id, exit_code } => {
            out.exit_code = exit_code;
            out.exec_id = exec_id.unwrap_or_default();
            "exited"
        }
        ContainerEventKind::Oom => "oom",
        ContainerEventKind::Deleted { exit_code } => {
            out.exit_code = exit_code;
            "deleted"
        }
        ContainerEventKind::Paused => "paused",
        ContainerEventKind::Resumed => "resumed",
        ContainerEventKind::Removed => "removed",
    };
    out.kind = kind.to_string();
    out
}

fn node_event(e: NodeEvent) -> api::Event {
    let (kind, health_status) = crate::serve::health::split_kind(e.kind);
    api::Event {
        container_id: e.container_id,
        time: Some(convert::timestamp(std::time::SystemTime::now())),
        kind,
        health_status,
        pid: e.pid,
        exit_code: e.exit_code,
        exec_id: e.exec_id,
    }
}

/// containerd's task events of the namespace and warrend's restart decisions, from now on.
pub async fn events(d: &Daemon) -> Result<Stream<api::Event>, Status> {
    let mut from_containerd = d.rt.events().await.map_err(|e| status(d, "events", e))?;
    let mut from_warrend = d.events.subscribe();
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                e = from_containerd.next() => match e {
                    Some(Ok(e)) => Ok(container_event(e)),
                    Some(Err(e)) => Err(Status::unavailable(format!("the event stream broke: {e}"))),
                    None => break,
                },
                e = from_warrend.recv() => match e {
                    Ok(e) => Ok(node_event(e)),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                },
                _ = tx.closed() => break,
            };
            let last = next.is_err();
            if tx.send(next).await.is_err() || last {
                break;
            }
        }
    });
    Ok(super::stream(rx))
}

/// CPU, memory and pids of a running container.
pub async fn stats(d: &Daemon, req: api::ContainerRef) -> Result<api::Stats, Status> {
    let m =
        d.rt.container_metrics(&req.id)
            .await
            .map_err(|e| status(d, "stats", e))?;
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

/// Versions, addresses and the running count.
pub async fn info(d: &Daemon) -> Result<api::InfoResponse, Status> {
    let version = d
        .clients
        .version()
        .version(())
        .await
        .map_err(|e| Status::unavailable(format!("containerd does not answer: {}", e.message())))?
        .into_inner()
        .version;
    let running =
        d.rt.list_containers()
            .await
            .map_err(|e| status(d, "info", e))?
            .iter()
            .filter(|c| c.status.state == ContainerState::Running)
            .count();
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
    })
}
