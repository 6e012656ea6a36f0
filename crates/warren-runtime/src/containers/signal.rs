//! `kill_container`: a signal to a running container's main process, as `docker kill`.

use super::ContainerState;
use crate::{ContainerdRuntime, RuntimeError};

impl ContainerdRuntime {
    /// Send `signal` (a number from 1 to SIGRTMAX, e.g. from [`warren_spec::stop_signal`])
    /// to container `id`'s main process. A paused container is resumed afterwards so the
    /// process can act on it. `WrongState` unless the container runs or is paused;
    /// `InvalidRequest` for a number that is no signal (nothing is sent then).
    ///
    /// ```no_run
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// rt.kill_container("web-1", libc::SIGHUP).await?;
    /// # Ok(()) }
    /// ```
    pub async fn kill_container(&self, id: &str, signal: i32) -> Result<(), RuntimeError> {
        crate::containers::check_id(id)?;
        if !(1..=libc::SIGRTMAX()).contains(&signal) {
            return Err(RuntimeError::InvalidRequest {
                field: "signal",
                value: signal.to_string(),
                allowed: format!("a signal number from 1 to {}", libc::SIGRTMAX()),
            });
        }
        let state = self
            .require_state(
                id,
                "kill",
                "running or paused",
                &[ContainerState::Running, ContainerState::Paused],
            )
            .await?;
        self.kill(id, signal, false).await?;
        if state == ContainerState::Paused {
            self.resume_quietly(id).await;
        }
        Ok(())
    }
}
