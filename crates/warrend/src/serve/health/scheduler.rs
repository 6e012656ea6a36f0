//! The check loop of one run of one container: wait the interval, probe, record, act on a
//! change (saved state, then event, kill for `--restart-on-unhealthy`).

use std::time::{Duration, Instant};

use warren_spec::health::HealthCheck;

use super::probe::{self, Probe};
use crate::serve::{Daemon, NodeEvent};

/// Check container `id` (its run with init process `pid`, started at `since`) until the
/// run ends or the monitor drops it.
pub async fn check_loop(d: Daemon, id: String, check: HealthCheck, pid: u32, since: Instant) {
    loop {
        tokio::time::sleep(check.interval()).await;
        let in_start_period = since.elapsed() < check.start_period();
        // On a task of its own: when this loop is aborted (the container stopped), the exec
        // still runs to its end and the runtime removes its process and FIFOs.
        let probe = {
            let (rt, id, check) = (d.rt.clone(), id.clone(), check.clone());
            tokio::spawn(async move { probe::run(&rt, &id, &check).await })
        };
        let result = match probe.await {
            Ok(Probe::Ran(r)) => r,
            Err(e) => {
                tracing::warn!(container = %id, error = %e, "a health probe failed");
                continue;
            }
            Ok(Probe::NotRunning) => {
                d.health.stop(&id, Some(pid));
                return;
            }
        };
        let code = result.exit_code;
        let change = match d.health.record(&id, pid, result, in_start_period).await {
            Ok(c) => c,
            Err(()) => return,
        };
        let Some((status, kill)) = change else {
            continue;
        };
        tracing::info!(container = %id, status = status.as_str(), exit_code = code, "health status changed");
        d.event(NodeEvent {
            container_id: id.clone(),
            kind: format!("health_status: {}", status.as_str()),
            pid,
            exit_code: 0,
            exec_id: String::new(),
        });
        if kill {
            tracing::info!(container = %id, "unhealthy: killing it for its restart policy");
            // On a task of its own, holding the container's turn: the exit it causes ends
            // this loop (which would cut the stop short, leaving the task undeleted), and
            // the policy's start must wait until the stop has removed the old task.
            let (d, id) = (d.clone(), id.clone());
            d.clone().spawn(async move {
                let _turn = d.restart.hold(&id).await;
                if let Err(e) = d.rt.stop_container(&id, Duration::ZERO).await {
                    tracing::warn!(container = %id, error = %e, "could not kill the unhealthy container");
                }
                d.health.stop(&id, Some(pid));
            });
            return;
        }
    }
}
