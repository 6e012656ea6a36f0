//! Ending containers: `wait_container`, `stop_container`, `delete_container`.

use std::time::Duration;

use prost_types::FieldMask;
use warren_proto::containerd::services::containers::v1::{Container, UpdateContainerRequest};
use warren_proto::containerd::services::tasks::v1::{
    DeleteResponse, DeleteTaskRequest, KillRequest, ResumeTaskRequest, WaitRequest, WaitResponse,
};

use super::io::Fifos;
use super::status::state_of;
use super::{labels, to_system_time, ContainerState, ExitStatus};
use crate::container_id::not_found;
use crate::error::found;
use crate::{ContainerdRuntime, RuntimeError};

/// How long `delete_container` lets a running container stop by its stop signal.
pub(super) const DELETE_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for an exit after SIGKILL before giving up.
const KILL_WAIT: Duration = Duration::from_secs(10);

impl ContainerdRuntime {
    /// Wait for container `id`'s process to exit and return how it ended. Returns at once
    /// for a process that already exited; waits out daemon restarts (tasks survive them).
    /// `NotFound` if the container has no process and no recorded exit.
    pub async fn wait_container(&self, id: &str) -> Result<ExitStatus, RuntimeError> {
        crate::containers::check_id(id)?;
        match self.wait_task(id).await {
            Ok(r) => Ok(ExitStatus {
                code: r.exit_status,
                exited_at: to_system_time(r.exited_at.as_ref()),
                oom_killed: self.oom_kills(id).await.unwrap_or(0) > 0,
            }),
            Err(e) if e.is_missing_object() => self
                .container_status(id)
                .await?
                .exit
                .ok_or_else(|| not_found(id)),
            Err(e) => Err(e),
        }
    }

    /// containerd's Wait for container `id`'s task: its exit, once it has one.
    pub(crate) async fn wait_task(&self, id: &str) -> Result<WaitResponse, RuntimeError> {
        self.containerd()
            .tasks()
            .wait(WaitRequest {
                container_id: id.to_string(),
                ..Default::default()
            })
            .await
    }

    /// Stop container `id`: its stop signal (the image's, SIGTERM by default), up to
    /// `timeout` for it to exit, then SIGKILL to every process in it; then its task is
    /// deleted and the exit recorded (see [`container_status`](Self::container_status)).
    /// Stopping a stopped or missing container succeeds.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), RuntimeError> {
        crate::containers::check_id(id)?;
        let Some(record) = self.container_record(id).await? else {
            return Ok(());
        };
        self.stop_task(id, &record, timeout, true).await
    }

    /// [`stop_container`](Self::stop_container) of a container whose record is at hand;
    /// without `keep_exit` (the container is being deleted) the exit is not recorded.
    async fn stop_task(
        &self,
        id: &str,
        record: &Container,
        timeout: Duration,
        keep_exit: bool,
    ) -> Result<(), RuntimeError> {
        let Some(task) = self.task(id).await? else {
            return Ok(());
        };
        let state = state_of(task.status);
        if state != ContainerState::Stopped {
            if state == ContainerState::Paused {
                // A frozen process cannot act on a signal.
                self.resume_quietly(id).await;
            }
            let signal = record
                .labels
                .get(labels::STOP_SIGNAL)
                .and_then(|s| warren_spec::stop_signal(Some(s)).ok())
                .unwrap_or(libc::SIGTERM);
            let waiting = self.wait_container(id);
            tokio::pin!(waiting);
            self.kill(id, signal, false).await?;
            if tokio::time::timeout(timeout, &mut waiting).await.is_err() {
                tracing::debug!(container = %id, "stop signal ignored; sending SIGKILL");
                self.kill(id, libc::SIGKILL, true).await?;
                if tokio::time::timeout(KILL_WAIT, &mut waiting).await.is_err() {
                    return Err(RuntimeError::WrongState {
                        id: id.to_string(),
                        op: "stop",
                        state: "still running 10 s after SIGKILL".into(),
                        needs: "to exit",
                    });
                }
            }
        }
        if keep_exit {
            self.finish_task(id).await
        } else {
            self.delete_task(id).await.map(|_| ())
        }
    }

    /// Thaw a paused task so that it can act on a signal. Best effort: a task that is not
    /// paused (any more) or is gone needs nothing, and the signal's own call reports the rest.
    pub(crate) async fn resume_quietly(&self, id: &str) {
        let _ = self
            .containerd()
            .tasks()
            .resume(ResumeTaskRequest {
                container_id: id.to_string(),
            })
            .await;
    }

    /// Send `signal` to the container's init process (or, with `all`, every process in it).
    /// A process that already exited is not an error.
    pub(crate) async fn kill(&self, id: &str, signal: i32, all: bool) -> Result<(), RuntimeError> {
        let result = self
            .containerd()
            .tasks()
            .kill(KillRequest {
                container_id: id.to_string(),
                signal: signal as u32,
                all,
                ..Default::default()
            })
            .await;
        found(result).map(|_| ())
    }

    /// Delete the exited task: record its exit (and OOM kill) on the container, let the
    /// log copier drain, remove the FIFOs.
    pub(crate) async fn finish_task(&self, id: &str) -> Result<(), RuntimeError> {
        let oom = self.oom_kills(id).await.unwrap_or(0) > 0;
        if let Some(d) = self.delete_task(id).await? {
            let at = to_system_time(d.exited_at.as_ref())
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339())
                .unwrap_or_default();
            self.record_exit(id, d.exit_status, &at, oom).await?;
        }
        Ok(())
    }

    /// Delete the exited task, let the log copier drain, remove the FIFOs. The task's
    /// answer, or `None` if it was gone.
    async fn delete_task(&self, id: &str) -> Result<Option<DeleteResponse>, RuntimeError> {
        let deleted = self
            .containerd()
            .tasks()
            .delete(DeleteTaskRequest {
                container_id: id.to_string(),
            })
            .await;
        let deleted = match deleted {
            Ok(r) => Some(r),
            Err(e) if e.is_missing_object() => None,
            Err(e) => return Err(e),
        };
        self.inner.copiers.drain(id).await;
        Fifos::at(&self.inner.containers.dir(id), "init")
            .remove()
            .await;
        Ok(deleted)
    }

    async fn record_exit(
        &self,
        id: &str,
        code: u32,
        at: &str,
        oom: bool,
    ) -> Result<(), RuntimeError> {
        self.set_labels(
            id,
            &[
                (labels::EXIT_CODE, code.to_string()),
                (labels::EXITED_AT, at.to_string()),
                (labels::OOM_KILLED, oom.to_string()),
            ],
        )
        .await
    }

    /// Set these labels on container `id`'s record (the others stay).
    pub(crate) async fn set_labels(
        &self,
        id: &str,
        values: &[(&str, String)],
    ) -> Result<(), RuntimeError> {
        let container = Container {
            id: id.to_string(),
            labels: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            ..Default::default()
        };
        let mask = FieldMask {
            paths: values.iter().map(|(k, _)| format!("labels.{k}")).collect(),
        };
        let result = self
            .containerd()
            .containers()
            .update(UpdateContainerRequest {
                container: Some(container.clone()),
                update_mask: Some(mask.clone()),
            })
            .await;
        found(result).map(|_| ())
    }

    /// Delete container `id`: stop it if it runs (its stop signal, then SIGKILL after
    /// 10 s), then remove its task, snapshot, record and log files. Deleting a missing
    /// container succeeds. A bridge container's network is torn down (CNI DEL, also when
    /// only its network state is left); if a plugin fails, its error is returned and the
    /// network state kept, so deleting again retries. Likewise, if the task, the snapshot
    /// or the record cannot be removed, the error is returned and the record kept.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn delete_container(&self, id: &str) -> Result<(), RuntimeError> {
        crate::containers::check_id(id)?;
        if let Some(record) = self.container_record(id).await? {
            self.stop_task(id, &record, DELETE_STOP_TIMEOUT, false)
                .await?;
            let key = if record.snapshot_key.is_empty() {
                id.to_string()
            } else {
                record.snapshot_key.clone()
            };
            // A step that fails is reported, and the record stays while anything of the
            // container does, so that deleting again finishes the job.
            self.try_remove_snapshot(&key).await?;
            self.try_forget_record(id).await?;
        }
        self.inner.copiers.drain(id).await;
        // CNI DEL; on failure the files stay so a retry can DEL again.
        self.network_down(id).await?;
        let dir = self.inner.containers.dir(id);
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(RuntimeError::Io {
                op: "removing the container's files",
                path: dir.to_path_buf(),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}
