//! Acting on a running container: `pause_container`, `resume_container`, `container_pids`, `update_resources`.

use warren_proto::any;
use warren_proto::containerd::services::tasks::v1::{
    ListPidsRequest, PauseTaskRequest, ResumeTaskRequest, UpdateTaskRequest,
};

use super::status::state_of;
use super::ContainerState;
use crate::container_id::not_found;
use crate::{ContainerdRuntime, RuntimeError};

impl ContainerdRuntime {
    /// The current state, or `WrongState` unless it is one of `needs`.
    pub(super) async fn require_state(
        &self,
        id: &str,
        op: &'static str,
        needs: &'static str,
        ok: &[ContainerState],
    ) -> Result<ContainerState, RuntimeError> {
        let state = match self.task(id).await? {
            Some(t) => state_of(t.status),
            None => {
                self.container_record(id)
                    .await?
                    .ok_or_else(|| not_found(id))?;
                ContainerState::Stopped
            }
        };
        if ok.contains(&state) {
            Ok(state)
        } else {
            Err(RuntimeError::WrongState {
                id: id.to_string(),
                op,
                state: state.to_string(),
                needs,
            })
        }
    }

    /// Freeze every process of container `id` (its cgroup's freezer). Pausing a paused
    /// container succeeds.
    pub async fn pause_container(&self, id: &str) -> Result<(), RuntimeError> {
        crate::containers::check_id(id)?;
        let state = self
            .require_state(
                id,
                "pause",
                "running",
                &[ContainerState::Running, ContainerState::Paused],
            )
            .await?;
        if state == ContainerState::Paused {
            return Ok(());
        }
        self.containerd()
            .tasks()
            .pause(PauseTaskRequest {
                container_id: id.to_string(),
            })
            .await?;
        Ok(())
    }

    /// Thaw a paused container. Resuming a running container succeeds.
    pub async fn resume_container(&self, id: &str) -> Result<(), RuntimeError> {
        crate::containers::check_id(id)?;
        let state = self
            .require_state(
                id,
                "resume",
                "paused",
                &[ContainerState::Running, ContainerState::Paused],
            )
            .await?;
        if state == ContainerState::Running {
            return Ok(());
        }
        self.containerd()
            .tasks()
            .resume(ResumeTaskRequest {
                container_id: id.to_string(),
            })
            .await?;
        Ok(())
    }

    /// The host pids of every process in container `id`.
    pub async fn container_pids(&self, id: &str) -> Result<Vec<u32>, RuntimeError> {
        crate::containers::check_id(id)?;
        self.require_state(
            id,
            "pids",
            "running or paused",
            &[ContainerState::Running, ContainerState::Paused],
        )
        .await?;
        let reply = self
            .containerd()
            .tasks()
            .list_pids(ListPidsRequest {
                container_id: id.to_string(),
            })
            .await?;
        let mut pids: Vec<u32> = reply.processes.into_iter().map(|p| p.pid).collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// Change a running container's CPU, memory and pids limits in place. The limits are
    /// validated as at create time; fields left `None` keep their current values.
    pub async fn update_resources(
        &self,
        id: &str,
        resources: &warren_spec::Resources,
    ) -> Result<(), RuntimeError> {
        crate::containers::check_id(id)?;
        let linux = resources
            .update(warren_spec::host::cpu_count())
            .map_err(|source| RuntimeError::Spec {
                id: id.to_string(),
                source,
            })?;
        self.require_state(
            id,
            "update_resources",
            "running or paused",
            &[ContainerState::Running, ContainerState::Paused],
        )
        .await?;
        let json = serde_json::to_vec(&linux).map_err(|e| RuntimeError::InvalidRequest {
            field: "resources",
            value: format!("{resources:?}"),
            allowed: e.to_string(),
        })?;
        let payload = any::pack_json(any::RESOURCES_TYPE_URL, json);
        self.containerd()
            .tasks()
            .update(UpdateTaskRequest {
                container_id: id.to_string(),
                resources: Some(payload.clone()),
                ..Default::default()
            })
            .await?;
        Ok(())
    }
}
