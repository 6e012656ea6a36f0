//! Container lifecycle calls: create, start, stop, delete, run, wait, list, inspect.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;
use tonic::Status;
use warren_proto::warren::node::v1 as api;
use warren_runtime::{ContainerInfo, ContainerState, LogOptions};

use super::{log_line, Stream};
use crate::serve::convert;
use crate::serve::errors::{status, ApiError};
use crate::serve::labels;
use crate::serve::{restart, Daemon};
use crate::spec::{api_duration, NodeSpec};

pub(super) fn default_network(d: &Daemon) -> &str {
    d.config.network.default_mode.as_deref().unwrap_or("bridge")
}

/// The spec of a create or run, read (and so checked field by field) once.
pub(super) fn spec_of(spec: Option<api::ContainerSpec>) -> Result<NodeSpec, Status> {
    let spec = spec.ok_or_else(|| Status::invalid_argument("a container spec is required"))?;
    NodeSpec::try_from(&spec).map_err(convert::field_error)
}

/// The id of the container a create or run makes, chosen now if the spec names none (so
/// that a call cut short can be undone by id). `None` without a spec.
pub fn name(spec: Option<&mut api::ContainerSpec>) -> Option<String> {
    let spec = spec?;
    if spec.id.is_empty() {
        spec.id = convert::new_id();
    }
    Some(spec.id.clone())
}

fn need_id(id: &str) -> Result<(), Status> {
    if id.is_empty() {
        return Err(Status::invalid_argument("a container id is required"));
    }
    Ok(())
}

pub(super) async fn create_timed(
    d: &Daemon,
    req: &warren_runtime::ContainerRequest,
) -> Result<String, ApiError> {
    let start = Instant::now();
    let id =
        d.rt.create_container(req)
            .await
            .map_err(ApiError::runtime("create"))?;
    d.metrics
        .create_duration
        .observe(start.elapsed().as_secs_f64());
    Ok(id)
}

/// Start `id` for its user (holding its turn: see [`crate::serve::restart::Restarts::hold`]).
pub(super) async fn start_timed(d: &Daemon, id: &str) -> Result<u32, ApiError> {
    d.restart.started_by_user(id).await;
    let start = Instant::now();
    let pid =
        d.rt.start_container(id)
            .await
            .map_err(ApiError::runtime("start"))?;
    d.metrics
        .start_duration
        .observe(start.elapsed().as_secs_f64());
    Ok(pid)
}

/// Create a container (pulling its image as its pull policy says). The same id with the
/// same spec again answers the existing container (see [`super::idempotent`]).
pub async fn create(d: &Daemon, req: api::CreateRequest) -> Result<api::CreateResponse, ApiError> {
    let spec = spec_of(req.spec)?;
    let digest = super::idempotent::spec_digest(&spec);
    let chosen_id = spec.request.id.clone();
    let mut request = convert::request(spec, default_network(d), false)?;
    request
        .labels
        .insert(labels::SPEC_DIGEST.to_string(), digest.clone());
    match create_timed(d, &request).await {
        Ok(id) => Ok(api::CreateResponse { id }),
        Err(ApiError::Runtime { source, .. })
            if source.kind() == warren_runtime::ErrorKind::AlreadyExists =>
        {
            let id = super::idempotent::existing(d, &chosen_id, &digest, source).await?;
            Ok(api::CreateResponse { id })
        }
        Err(e) => Err(e),
    }
}

/// Start a created or stopped container.
pub async fn start(d: &Daemon, req: api::ContainerRef) -> Result<api::StartResponse, ApiError> {
    need_id(&req.id)?;
    let _turn = d.restart.hold(&req.id).await;
    let pid = start_timed(d, &req.id).await?;
    Ok(api::StartResponse { pid })
}

/// How long a stop waits for the stop signal to work when the request does not say (Docker's
/// default too).
const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Stop a container; its restart policy does not bring it back.
pub async fn stop(d: &Daemon, req: api::StopRequest) -> Result<api::StopResponse, ApiError> {
    need_id(&req.id)?;
    let timeout = stop_timeout(req.timeout.as_ref())?;
    let _turn = d.restart.hold(&req.id).await;
    stop_held(d, &req.id, timeout).await?;
    Ok(api::StopResponse {})
}

/// A stop or restart request's timeout: unset is [`DEFAULT_STOP_TIMEOUT`].
pub(super) fn stop_timeout(t: Option<&prost_types::Duration>) -> Result<Duration, Status> {
    Ok(api_duration("timeout", t)
        .map_err(convert::field_error)?
        .unwrap_or(DEFAULT_STOP_TIMEOUT))
}

/// Stop `id` for its user; the caller holds its turn.
pub(super) async fn stop_held(d: &Daemon, id: &str, timeout: Duration) -> Result<(), ApiError> {
    d.rt.container_status(id)
        .await
        .map_err(ApiError::runtime("stop"))?;
    d.restart.stopped_by_user(id).await;
    d.rt.stop_container(id, timeout)
        .await
        .map_err(ApiError::runtime("stop"))?;
    Ok(())
}

/// Delete a stopped container (with `force`, kill a running one first).
pub async fn delete(d: &Daemon, req: api::DeleteRequest) -> Result<api::DeleteResponse, ApiError> {
    need_id(&req.id)?;
    let _turn = d.restart.hold(&req.id).await;
    let state =
        d.rt.container_status(&req.id)
            .await
            .map_err(ApiError::runtime("delete"))?
            .state;
    let running = matches!(state, ContainerState::Running | ContainerState::Paused);
    if running && !req.force {
        return Err(Status::failed_precondition(format!(
            "container {} is {state}: stop it first, or delete with force (rm -f)",
            req.id
        ))
        .into());
    }
    // Before anything ends it, so no restart policy brings it back meanwhile.
    d.restart.stopped_by_user(&req.id).await;
    if running {
        d.rt.stop_container(&req.id, Duration::ZERO)
            .await
            .map_err(ApiError::runtime("delete"))?;
    }
    d.rt.delete_container(&req.id)
        .await
        .map_err(ApiError::runtime("delete"))?;
    d.restart.forget(&req.id).await;
    Ok(api::DeleteResponse {})
}

fn run_event(e: api::run_event::Event) -> Result<api::RunEvent, Status> {
    Ok(api::RunEvent { event: Some(e) })
}

/// Create and start; the stream gives the id and pid, then (attached) every output line and
/// the exit. Removal at exit (`remove`) is done by the daemon even if the client leaves.
pub async fn run(d: &Daemon, req: api::RunRequest) -> Result<Stream<api::RunEvent>, ApiError> {
    let spec = spec_of(req.spec)?;
    let request = convert::request(spec, default_network(d), req.remove)?;
    let id = create_timed(d, &request).await?;
    let pid = match start_timed(d, &id).await {
        Ok(pid) => pid,
        Err(s) => {
            // Nothing is left of a run that could not start.
            if let Err(e) = d.rt.delete_container(&id).await {
                tracing::warn!(container = %id, error = %e, "could not delete after a failed start");
            }
            d.restart.forget(&id).await;
            return Err(s);
        }
    };
    let (tx, rx) = mpsc::channel(256);
    let _ = tx
        .send(run_event(api::run_event::Event::Id(id.clone())))
        .await;
    let _ = tx
        .send(run_event(api::run_event::Event::Started(
            api::StartResponse { pid },
        )))
        .await;
    if !req.attach {
        if req.remove {
            d.spawn(restart::remove_after_exit(d.clone(), id));
        }
        return Ok(super::stream(rx));
    }
    let d = d.clone();
    d.clone().spawn(async move {
        // Until the exit; at warrend's shutdown, the next warrend finds a `--rm` container
        // still to remove.
        let follow = async {
            let options = LogOptions::default().follow(true);
        match d.rt.container_logs(&id, &options).await {
            Ok(mut lines) => {
                while let Some(line) = lines.next().await {
                    match line {
                        Ok(l) => {
                            // A client that left does not stop the run (or its removal).
                            let _ = tx
                                .send(run_event(api::run_event::Event::Line(log_line(&l))))
                                .await;
                        }
                        Err(e) => {
                            tracing::warn!(container = %id, error = %e, "run: reading output failed");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(container = %id, error = %e, "run: cannot read output"),
        }
            d.rt.wait_container(&id).await
        };
        let Some(exit) = d.unless_stopping(follow).await else {
            return;
        };
        let exited = exit.is_ok();
        let result = match exit {
            Ok(e) => run_event(api::run_event::Event::Exit(convert::exit(&e))),
            Err(e) => Err(status(&d, "wait", e)),
        };
        let _ = tx.send(result).await;
        match (req.remove, exited) {
            (true, true) => restart::remove_exited(&d, &id).await,
            (true, false) => restart::remove_after_exit(d.clone(), id).await,
            _ => {}
        }
    });
    Ok(super::stream(rx))
}

/// Wait for a container's process to end.
pub async fn wait(d: &Daemon, req: api::ContainerRef) -> Result<api::Exit, ApiError> {
    need_id(&req.id)?;
    match d.rt.wait_container(&req.id).await {
        Ok(e) => Ok(convert::exit(&e)),
        Err(e @ warren_runtime::RuntimeError::NotFound { .. }) => {
            // It may exist and never have run: say so rather than "not found".
            match d.rt.container_status(&req.id).await {
                Ok(s) if s.state == ContainerState::Created => {
                    Err(Status::failed_precondition(format!(
                        "container {} has never been started: there is no exit to wait for (start it first)",
                        req.id
                    ))
                    .into())
                }
                _ => Err(ApiError::runtime("wait")(e)),
            }
        }
        Err(e) => Err(ApiError::runtime("wait")(e)),
    }
}

async fn summary(d: &Daemon, c: &ContainerInfo) -> api::ContainerSummary {
    let ip = if c.labels.get(labels::NETWORK).is_some_and(|n| n == "bridge") {
        d.rt.container_ip(&c.id).await.ok().flatten()
    } else {
        None
    };
    let mut s = convert::summary(c, d.restart.count(&c.id), ip);
    s.health = d.health.status(&c.id).into();
    s
}

/// Running containers (with `all`, every one) whose labels meet the selector.
pub async fn list(d: &Daemon, req: api::ListRequest) -> Result<api::ListResponse, ApiError> {
    let selector = super::selector::Selector::parse(&req.label_selector)?;
    let list =
        d.rt.list_containers()
            .await
            .map_err(ApiError::runtime("list"))?;
    let shown: Vec<_> = list
        .iter()
        .filter(|c| {
            req.all
                || matches!(
                    c.status.state,
                    ContainerState::Running | ContainerState::Paused
                )
        })
        .filter(|c| selector.matches(&convert::user_labels(c)))
        .collect();
    let containers = futures::future::join_all(shown.into_iter().map(|c| summary(d, c))).await;
    Ok(api::ListResponse { containers })
}

/// Everything warrend knows about one container.
pub async fn inspect(d: &Daemon, req: api::ContainerRef) -> Result<api::ContainerDetail, ApiError> {
    need_id(&req.id)?;
    let c = &d
        .rt
        .container_info(&req.id)
        .await
        .map_err(ApiError::runtime("inspect"))?;
    let summary = summary(d, c).await;
    let security =
        d.rt.container_security(&req.id)
            .await
            .map_err(ApiError::runtime("inspect"))?;
    Ok(api::ContainerDetail {
        tty: c.tty,
        open_stdin: c.open_stdin,
        health: d.health.detail(c),
        security: Some(api::Security {
            privileged: security.privileged,
            seccomp: match security.seccomp.as_str() {
                "unconfined" => api::SeccompKind::Unconfined,
                "custom" => api::SeccompKind::Custom,
                _ => api::SeccompKind::Default,
            }
            .into(),
            no_new_privileges: security.no_new_privileges,
            capabilities: security.capabilities,
            oom_score_adj: security.oom_score_adj,
            cgroup_namespace: security.cgroup_namespace,
            read_only_binds_recursive: security.read_only_binds_recursive,
        }),
        summary: Some(summary),
        labels: convert::user_labels(c),
        network: c.labels.get(labels::NETWORK).cloned().unwrap_or_default(),
        ports: c
            .labels
            .get(labels::PORTS)
            .map(|p| p.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        log_dir: d
            .rt
            .container_dir(&c.id)
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    })
}
