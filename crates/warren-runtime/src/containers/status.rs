//! What a container is doing: `container_status`, `is_running`, `list_containers`.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use warren_proto::containerd::services::containers::v1::{Container, ListContainersRequest};
use warren_proto::containerd::services::tasks::v1::{GetRequest, ListTasksRequest};
use warren_proto::containerd::v1::types::{Process, Status};

use super::{labels, to_system_time};
use crate::container_id::not_found;
use crate::error::found;
use crate::{ContainerdRuntime, RuntimeError};

/// The state of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerState {
    /// Recorded, never started (or its last run was cleaned up without an exit record).
    Created,
    /// Its process runs.
    Running,
    /// Frozen by [`pause`](crate::ContainerdRuntime::pause_container).
    Paused,
    /// Its process ended; [`ContainerStatus::exit`] says how.
    Stopped,
    /// containerd reports a state we cannot interpret.
    Unknown,
}

impl std::fmt::Display for ContainerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Stopped => "stopped",
            ContainerState::Unknown => "unknown",
        })
    }
}

/// How a container's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    /// Its exit code (128 + n when signal n killed it).
    pub code: u32,
    /// When it ended.
    pub exited_at: Option<SystemTime>,
    /// True if the kernel's OOM killer ended it (its memory limit was reached).
    pub oom_killed: bool,
}

/// A container's state, with its process id while it runs and its exit once it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContainerStatus {
    /// Created, running, paused or stopped.
    pub state: ContainerState,
    /// The host pid of its init process, while it has a task.
    pub pid: Option<u32>,
    /// How its last run ended (stopped containers).
    pub exit: Option<ExitStatus>,
}

/// One container of the namespace, as `list_containers` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContainerInfo {
    /// Its id.
    pub id: String,
    /// The image it was created from.
    pub image: String,
    /// Its labels (the runtime's own `io.warren.*` ones left out).
    pub labels: BTreeMap<String, String>,
    /// When it was created.
    pub created_at: Option<SystemTime>,
    /// When its process was last started (none if never).
    pub started_at: Option<SystemTime>,
    /// Its state.
    pub status: ContainerStatus,
    /// Its process has a terminal.
    pub tty: bool,
    /// Its process has a stdin to attach to.
    pub open_stdin: bool,
    /// The health check recorded at create (image and request merged), if any.
    pub health: Option<warren_spec::health::HealthCheck>,
}

pub(crate) fn state_of(status: i32) -> ContainerState {
    match Status::try_from(status) {
        Ok(Status::Created) => ContainerState::Created,
        Ok(Status::Running) => ContainerState::Running,
        Ok(Status::Paused) | Ok(Status::Pausing) => ContainerState::Paused,
        Ok(Status::Stopped) => ContainerState::Stopped,
        _ => ContainerState::Unknown,
    }
}

/// The status from a container record and its task (if it has one).
fn status_of(record: &Container, task: Option<&Process>, oom_killed: bool) -> ContainerStatus {
    match task {
        Some(p) => {
            let state = state_of(p.status);
            let exit = (state == ContainerState::Stopped).then(|| ExitStatus {
                code: p.exit_status,
                exited_at: to_system_time(p.exited_at.as_ref()),
                oom_killed,
            });
            ContainerStatus {
                state,
                pid: (state != ContainerState::Stopped && p.pid > 0).then_some(p.pid),
                exit,
            }
        }
        None => match exit_from_labels(&record.labels) {
            Some(exit) => ContainerStatus {
                state: ContainerState::Stopped,
                pid: None,
                exit: Some(exit),
            },
            None => ContainerStatus {
                state: ContainerState::Created,
                pid: None,
                exit: None,
            },
        },
    }
}

/// The container a listed task belongs to: Tasks.List on containerd 2.x leaves
/// `container_id` empty and gives it as the task id.
pub(crate) fn task_container(p: &Process) -> String {
    if p.container_id.is_empty() {
        p.id.clone()
    } else {
        p.container_id.clone()
    }
}

/// How the last run of a container without a task ended: the recorded exit if it is of the
/// last run; [`UNSEEN_EXIT`] for a run that started and whose end nobody recorded (the task
/// vanished: containerd 2.x drops the task of a process that ended while it was down); `None`
/// for a container never started.
fn exit_from_labels(l: &HashMap<String, String>) -> Option<ExitStatus> {
    let time = |key| {
        l.get(key)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(SystemTime::from)
    };
    let started = time(labels::STARTED_AT);
    let exited_at = time(labels::EXITED_AT);
    let recorded = l
        .get(labels::EXIT_CODE)
        .and_then(|c| c.parse().ok())
        .filter(|_| started.is_none() || exited_at.is_some_and(|e| Some(e) >= started));
    match recorded {
        Some(code) => Some(ExitStatus {
            code,
            exited_at,
            oom_killed: l.get(labels::OOM_KILLED).is_some_and(|v| v == "true"),
        }),
        None => started.map(|_| ExitStatus {
            code: UNSEEN_EXIT,
            exited_at: None,
            oom_killed: false,
        }),
    }
}

/// The exit code reported for a run whose end was not seen: its task vanished (its shim went
/// away with a containerd restart) before anyone asked how it ended.
pub(super) const UNSEEN_EXIT: u32 = 255;

impl ContainerdRuntime {
    /// The task of container `id` (its init process), or `None` if it has none.
    pub(crate) async fn task(&self, id: &str) -> Result<Option<Process>, RuntimeError> {
        let result = self
            .containerd()
            .tasks()
            .get(GetRequest {
                container_id: id.to_string(),
                ..Default::default()
            })
            .await;
        Ok(found(result)?.and_then(|r| r.process))
    }

    /// Created, running, paused or stopped; with the exit code, exit time and whether the
    /// kernel OOM-killed it once stopped. `NotFound` if there is no such container.
    pub async fn container_status(&self, id: &str) -> Result<ContainerStatus, RuntimeError> {
        crate::containers::check_id(id)?;
        Ok(self.container_info(id).await?.status)
    }

    /// One container with its labels and status (as [`list_containers`](Self::list_containers)
    /// gives every one, plus whether the OOM killer ended a stopped one): two RPCs, however
    /// many containers the namespace holds. `NotFound` if there is no such container.
    pub async fn container_info(&self, id: &str) -> Result<ContainerInfo, RuntimeError> {
        crate::containers::check_id(id)?;
        let record = self
            .container_record(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let task = self.task(id).await?;
        let stopped = task
            .as_ref()
            .is_some_and(|p| state_of(p.status) == ContainerState::Stopped);
        let oom = stopped && self.oom_kills(id).await.unwrap_or(0) > 0;
        Ok(info_of(record, task.as_ref(), oom))
    }

    /// Container `id` as its record alone holds it (one RPC, containerd's process not asked
    /// about): labels, image, terminal, health check; the status is the last exit the record
    /// holds, or created. For a caller that knows the process's state already (an event
    /// said so) or needs only the settings. `NotFound` if there is no such container.
    pub async fn container_settings(&self, id: &str) -> Result<ContainerInfo, RuntimeError> {
        crate::containers::check_id(id)?;
        let record = self
            .container_record(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        Ok(info_of(record, None, false))
    }

    /// True if the container exists and its process runs (paused counts as running).
    pub async fn is_running(&self, id: &str) -> bool {
        matches!(
            self.task(id).await,
            Ok(Some(p)) if matches!(state_of(p.status), ContainerState::Running | ContainerState::Paused)
        )
    }

    /// Every container of this namespace with its labels and status, sorted by id.
    pub async fn list_containers(&self) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let records = self
            .containerd()
            .containers()
            .list(ListContainersRequest::default())
            .await?
            .containers;
        let tasks: HashMap<String, Process> = self
            .containerd()
            .tasks()
            .list(ListTasksRequest::default())
            .await?
            .tasks
            .into_iter()
            .map(|p| (task_container(&p), p))
            .collect();
        let mut out: Vec<ContainerInfo> = records
            .into_iter()
            .map(|r| {
                let task = tasks.get(&r.id);
                info_of(r, task, false)
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

/// What callers see of a container record and its task (the runtime's own labels hidden).
fn info_of(record: Container, task: Option<&Process>, oom_killed: bool) -> ContainerInfo {
    let flag = |key: &str| record.labels.get(key).is_some_and(|v| v == "true");
    ContainerInfo {
        tty: flag(labels::TTY),
        open_stdin: flag(labels::STDIN),
        health: super::health::from_labels(&record.labels),
        status: status_of(&record, task, oom_killed),
        id: record.id,
        image: record.image,
        created_at: to_system_time(record.created_at.as_ref()),
        started_at: record
            .labels
            .get(labels::STARTED_AT)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(SystemTime::from),
        labels: record
            .labels
            .into_iter()
            .filter(|(k, _)| !k.starts_with(labels::RESERVED_PREFIX))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_exit_counts_only_if_it_ended_the_last_run() {
        assert_eq!(exit_from_labels(&labels(&[])), None, "never started");
        let started = (labels::STARTED_AT, "2026-11-30T10:00:00Z");
        let vanished = exit_from_labels(&labels(&[started])).unwrap();
        assert_eq!((vanished.code, vanished.exited_at), (UNSEEN_EXIT, None));
        let ended = exit_from_labels(&labels(&[
            started,
            (labels::EXIT_CODE, "3"),
            (labels::EXITED_AT, "2026-11-30T10:00:05Z"),
        ]))
        .unwrap();
        assert_eq!(ended.code, 3);
        // An exit recorded for an earlier run does not describe this one.
        let stale = exit_from_labels(&labels(&[
            (labels::STARTED_AT, "2026-11-30T11:00:00Z"),
            (labels::EXIT_CODE, "3"),
            (labels::EXITED_AT, "2026-11-30T10:00:05Z"),
        ]))
        .unwrap();
        assert_eq!(stale.code, UNSEEN_EXIT);
    }
}
