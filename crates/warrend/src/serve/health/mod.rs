//! Health checks: for every running container whose record carries a check
//! (`io.warren.health`, written at create from the image's `HEALTHCHECK` and the
//! `--health-*` flags), warrend runs the check as an exec on schedule, keeps the status and
//! the last results, reports them in `ps`, `inspect` and `/metrics`, emits `health_status`
//! events on changes and, with `--restart-on-unhealthy`, kills an unhealthy container so its
//! on-failure policy restarts it.
//!
//! Each container is checked by a task of its own, so a slow check delays no other and never
//! the API. Statuses are saved in `<root>/health.json` on every change, so a restarted
//! warrend continues where the last one stopped (for the same run of a container).

pub mod convert;
mod probe;
mod scheduler;
pub mod state;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde::{Deserialize, Serialize};
use warren_proto::warren::node::v1 as api;
use warren_runtime::{ContainerEventKind, ContainerInfo, ContainerState};
use warren_spec::health::HealthCheck;

use self::state::{CheckResult, HealthState, Status};
use super::Daemon;

/// What is saved per container across warrend restarts.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Saved {
    status: Status,
    failing_streak: u32,
    /// The run it belongs to: a container restarted meanwhile starts over.
    pid: u32,
}

struct Entry {
    state: HealthState,
    check: HealthCheck,
    pid: u32,
    restart_on_unhealthy: bool,
    task: tokio::task::AbortHandle,
}

/// The health of every checked container, shared by the API, the metrics and the checkers.
#[derive(Clone)]
pub struct Monitor {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    saved: Arc<Mutex<HashMap<String, Saved>>>,
    file: PathBuf,
    /// One save at a time, each writing the state as it is when it runs.
    saving: Arc<tokio::sync::Mutex<()>>,
}

impl Monitor {
    /// A monitor saving under the config's root dir.
    pub fn new(config: &crate::config::Config) -> Monitor {
        Monitor {
            entries: Arc::default(),
            saved: Arc::default(),
            file: config.paths.root.join("health.json"),
            saving: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The container's health status; unspecified when it is not checked.
    pub fn status(&self, id: &str) -> warren_proto::warren::node::v1::HealthStatus {
        self.lock()
            .get(id)
            .map(|e| e.state.status.api())
            .unwrap_or_default()
    }

    /// The API's health record of `c` (its check, and its state while it is checked).
    pub fn detail(&self, c: &ContainerInfo) -> Option<warren_proto::warren::node::v1::Health> {
        let check = c.health.as_ref()?;
        let entries = self.lock();
        Some(convert::health(
            check,
            entries.get(&c.id).map(|e| &e.state),
            convert::restart_on_unhealthy(&c.labels),
        ))
    }

    /// Fill the per-container, per-status gauge: 1 for the current status, 0 for the others.
    pub fn fill_metrics(&self, family: &Family<Vec<(String, String)>, Gauge>) {
        family.clear();
        for (id, e) in self.lock().iter() {
            for s in Status::ALL {
                family
                    .get_or_create(&vec![
                        ("container".to_string(), id.clone()),
                        ("status".to_string(), s.as_str().to_string()),
                    ])
                    .set((e.state.status == s) as i64);
            }
        }
    }

    /// Start checking `c` if it runs with a check and is not checked yet in this run.
    fn ensure(&self, d: &Daemon, c: &ContainerInfo) {
        let (Some(check), ContainerState::Running, Some(pid)) =
            (c.health.clone(), c.status.state, c.status.pid)
        else {
            return;
        };
        let mut entries = self.lock();
        if entries.get(&c.id).is_some_and(|e| e.pid == pid) {
            return;
        }
        let mut state = HealthState::default();
        let resumed = {
            let saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
            saved.get(&c.id).filter(|s| s.pid == pid).cloned()
        };
        if let Some(s) = &resumed {
            state.status = s.status;
            state.failing_streak = s.failing_streak;
        }
        let checks =
            scheduler::check_loop(d.clone(), c.id.clone(), check.clone(), pid, Instant::now());
        let owner = d.clone();
        let task = d
            .spawn(async move { owner.unless_stopping(checks).await })
            .abort_handle();
        tracing::debug!(container = %c.id, pid, resumed = resumed.is_some(), "health checks start");
        if let Some(old) = entries.insert(
            c.id.clone(),
            Entry {
                state,
                check,
                pid,
                restart_on_unhealthy: convert::restart_on_unhealthy(&c.labels)
                    && convert::on_failure(&c.labels),
                task,
            },
        ) {
            old.task.abort();
        }
    }

    /// Stop checking `id` (its process ended or it is gone); `pid`: only if still that run.
    fn stop(&self, id: &str, pid: Option<u32>) {
        let mut entries = self.lock();
        if entries
            .get(id)
            .is_some_and(|e| pid.is_none_or(|p| p == e.pid))
        {
            if let Some(e) = entries.remove(id) {
                e.task.abort();
            }
        }
    }

    /// Take a check's result for run `pid` of `id`. `Err(())`: that run is no longer
    /// checked. `Ok(Some(..))`: the status changed (and whether to kill the container).
    ///
    /// A change is saved before anyone can see it: the API, the metrics and the event
    /// report a status only once `health.json` holds it, so a warrend killed right after
    /// a client saw `unhealthy` resumes with `unhealthy`, not with the status before.
    async fn record(
        &self,
        id: &str,
        pid: u32,
        result: CheckResult,
        in_start_period: bool,
    ) -> Result<Option<(Status, bool)>, ()> {
        let (next, changed, kill) = {
            let entries = self.lock();
            let e = entries.get(id).filter(|e| e.pid == pid).ok_or(())?;
            let mut next = e.state.clone();
            let changed = next.record(result, e.check.retries, in_start_period);
            let kill = e.restart_on_unhealthy && changed == Some(Status::Unhealthy);
            (next, changed, kill)
        };
        // Held until the change is in memory too: a save for another container that
        // starts meanwhile then writes it as well, never the state before it.
        let _one = match changed {
            Some(_) => {
                let one = self.saving.lock().await;
                let mut snapshot = self.snapshot();
                let saved = Saved {
                    status: next.status,
                    failing_streak: next.failing_streak,
                    pid,
                };
                snapshot.insert(id.to_string(), saved);
                self.write(&snapshot).await;
                Some(one)
            }
            None => None,
        };
        let mut entries = self.lock();
        // Only this run's checker records results for it, so the state is still the one
        // `next` was made from, unless the run stopped being checked meanwhile.
        let e = entries.get_mut(id).filter(|e| e.pid == pid).ok_or(())?;
        e.state = next;
        Ok(changed.map(|s| (s, kill)))
    }

    async fn load(&self) {
        if let Ok(bytes) = tokio::fs::read(&self.file).await {
            match serde_json::from_slice::<HashMap<String, Saved>>(&bytes) {
                Ok(saved) => *self.saved.lock().unwrap_or_else(|e| e.into_inner()) = saved,
                Err(e) => tracing::warn!(file = %self.file.display(), error = %e,
                    "ignoring an unreadable health state file"),
            }
        }
    }

    /// What is saved of every checked container.
    fn snapshot(&self) -> HashMap<String, Saved> {
        self.lock()
            .iter()
            .map(|(id, e)| {
                (
                    id.clone(),
                    Saved {
                        status: e.state.status,
                        failing_streak: e.state.failing_streak,
                        pid: e.pid,
                    },
                )
            })
            .collect()
    }

    /// Write `snapshot` to `health.json`; the caller holds `saving`.
    async fn write(&self, snapshot: &HashMap<String, Saved>) {
        let json = serde_json::to_vec(snapshot).unwrap_or_default();
        let tmp = self.file.with_extension("json.tmp");
        let write = async {
            // Written and synced beside the old file, then renamed over it: a full disk or a
            // crash leaves the old state whole, never a truncated one.
            let mut f = tokio::fs::File::create(&tmp).await?;
            tokio::io::AsyncWriteExt::write_all(&mut f, &json).await?;
            f.sync_all().await?;
            tokio::fs::rename(&tmp, &self.file).await
        };
        if let Err(e) = write.await {
            tracing::warn!(file = %self.file.display(), error = %e, "could not save health state");
        }
    }
}

/// A node event's kind as the API has it: `health_status: healthy` is HEALTH_STATUS with
/// HEALTHY; `restarting` and `gave-up` have no status.
pub fn split_kind(kind: &str) -> (api::EventKind, api::HealthStatus) {
    use api::HealthStatus as H;
    match kind.split_once(": ") {
        Some(("health_status", s)) => (
            api::EventKind::HealthStatus,
            Status::ALL
                .into_iter()
                .find(|x| x.as_str() == s)
                .map_or(H::Unspecified, Status::api),
        ),
        _ if kind == "restarting" => (api::EventKind::Restarting, H::Unspecified),
        _ if kind == "gave-up" => (api::EventKind::GaveUp, H::Unspecified),
        _ => (api::EventKind::Unspecified, H::Unspecified),
    }
}

/// Check every running container that has a check and is not checked yet.
pub(super) async fn ensure_all(d: &Daemon) {
    match d.rt.list_containers().await {
        Ok(list) => list.iter().for_each(|c| d.health.ensure(d, c)),
        Err(e) => tracing::warn!(error = %e, "health: could not list containers"),
    }
}

/// Follow containerd's events until warrend stops: checks start with a container's process
/// and end with it. After each (re)subscription every running container is looked at, so a
/// restarted warrend resumes the checks of the containers it finds.
pub async fn watch(d: Daemon) {
    d.health.load().await;
    // The checks the last warrend ran resume at once, not only once the subscription below
    // is confirmed (which can take seconds on a busy node; CI saw more than 10 s on 1.6).
    ensure_all(&d).await;
    loop {
        let mut stream = match d.rt.events().await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "health: subscribing to events failed, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // What started or ended while there was no subscription.
        ensure_all(&d).await;
        while let Some(Ok(event)) = stream.next().await {
            let id = event.container_id;
            match event.kind {
                // A paused container's checks end (its execs are refused); resumed, they
                // start again.
                // The record alone says whether there is a check; the process is only
                // asked about for containers that have one.
                ContainerEventKind::Started { .. } | ContainerEventKind::Resumed => {
                    match d.rt.container_settings(&id).await {
                        Ok(c) if c.health.is_some() => {
                            if let Ok(c) = d.rt.container_info(&id).await {
                                d.health.ensure(&d, &c);
                            }
                        }
                        _ => {}
                    }
                }
                ContainerEventKind::Exited { exec_id: None, .. }
                | ContainerEventKind::Deleted { .. }
                | ContainerEventKind::Removed => d.health.stop(&id, None),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_events_carry_their_status_apart() {
        assert_eq!(
            split_kind("health_status: unhealthy"),
            (api::EventKind::HealthStatus, api::HealthStatus::Unhealthy)
        );
        assert_eq!(
            split_kind("restarting"),
            (api::EventKind::Restarting, api::HealthStatus::Unspecified)
        );
        assert_eq!(split_kind("gave-up").0, api::EventKind::GaveUp);
    }
}
