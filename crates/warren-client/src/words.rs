//! The words people read for the node API's enums: what `warrend ps`, `inspect`, `events`
//! and `logs` print (Docker's words where Docker has them), so every client shows a state,
//! a health or an event kind the same way.

use crate::api;
use crate::spec::Policy;

/// The word for an enum value of the node API, e.g. `running` for
/// [`api::ContainerState::Running`].
pub trait Word {
    /// The lowercase word; empty for a value that means "none" (a health of
    /// `HEALTH_STATUS_UNSPECIFIED` is no health check).
    fn word(&self) -> &'static str;
}

impl Word for api::ContainerState {
    fn word(&self) -> &'static str {
        match self {
            api::ContainerState::Created => "created",
            api::ContainerState::Running => "running",
            api::ContainerState::Paused => "paused",
            api::ContainerState::Stopped => "stopped",
            api::ContainerState::Unknown | api::ContainerState::Unspecified => "unknown",
        }
    }
}

impl Word for api::HealthStatus {
    fn word(&self) -> &'static str {
        match self {
            api::HealthStatus::Unspecified => "",
            api::HealthStatus::Starting => "starting",
            api::HealthStatus::Healthy => "healthy",
            api::HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

impl Word for api::EventKind {
    fn word(&self) -> &'static str {
        match self {
            api::EventKind::Unspecified => "unknown",
            api::EventKind::Created => "created",
            api::EventKind::Started => "started",
            api::EventKind::Exited => "exited",
            api::EventKind::Oom => "oom",
            api::EventKind::Deleted => "deleted",
            api::EventKind::Removed => "removed",
            api::EventKind::Paused => "paused",
            api::EventKind::Resumed => "resumed",
            api::EventKind::Restarting => "restarting",
            api::EventKind::GaveUp => "gave-up",
            api::EventKind::HealthStatus => "health_status",
        }
    }
}

impl Word for api::LogStream {
    fn word(&self) -> &'static str {
        match self {
            api::LogStream::Stderr => "stderr",
            api::LogStream::Stdout | api::LogStream::Unspecified => "stdout",
        }
    }
}

impl Word for api::LayerPhase {
    fn word(&self) -> &'static str {
        match self {
            api::LayerPhase::Unspecified => "",
            api::LayerPhase::Resolved => "resolved",
            api::LayerPhase::Downloading => "downloading",
            api::LayerPhase::Downloaded => "downloaded",
            api::LayerPhase::Cached => "cached",
            api::LayerPhase::Unpacked => "unpacked",
        }
    }
}

impl Word for api::SeccompKind {
    fn word(&self) -> &'static str {
        match self {
            api::SeccompKind::Default | api::SeccompKind::Unspecified => "default",
            api::SeccompKind::Unconfined => "unconfined",
            api::SeccompKind::Custom => "custom",
        }
    }
}

/// A restart policy as Docker writes it: `no`, `on-failure`, `on-failure:MAX` or `always`.
pub fn restart_text(p: Option<&api::RestartPolicy>) -> String {
    let policy = match p.map(|p| (api::RestartMode::try_from(p.mode), p.max_retries)) {
        Some((Ok(api::RestartMode::Always), _)) => Policy::Always,
        Some((Ok(api::RestartMode::OnFailure), max)) => Policy::OnFailure(max),
        _ => Policy::No,
    };
    policy.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_the_clis() {
        assert_eq!(api::ContainerState::Running.word(), "running");
        assert_eq!(api::HealthStatus::Unspecified.word(), "");
        assert_eq!(api::EventKind::GaveUp.word(), "gave-up");
        assert_eq!(api::EventKind::HealthStatus.word(), "health_status");
        let p = |mode: api::RestartMode, max| api::RestartPolicy {
            mode: mode as i32,
            max_retries: max,
        };
        assert_eq!(restart_text(None), "no");
        assert_eq!(
            restart_text(Some(&p(api::RestartMode::OnFailure, Some(3)))),
            "on-failure:3"
        );
        assert_eq!(
            restart_text(Some(&p(api::RestartMode::OnFailure, None))),
            "on-failure"
        );
        assert_eq!(
            restart_text(Some(&p(api::RestartMode::Always, None))),
            "always"
        );
    }
}
