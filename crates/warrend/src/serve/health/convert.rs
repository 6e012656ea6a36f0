//! Between the node API and health checks: what a container's labels say about its check
//! (the spec's `health` itself is read by [`crate::spec`]), and a check with its state as the
//! API's `Health`.

use std::collections::BTreeMap;

use warren_proto::warren::node::v1 as api;
use warren_spec::health::HealthCheck;

use super::state::HealthState;
use crate::serve::labels::{self, RESTART_ON_UNHEALTHY};
use crate::serve::restart::Policy;

/// The container was created with `--restart-on-unhealthy`.
pub fn restart_on_unhealthy(l: &BTreeMap<String, String>) -> bool {
    l.get(RESTART_ON_UNHEALTHY).is_some_and(|v| v == "true")
}

/// The container's restart policy is on-failure.
pub fn on_failure(l: &BTreeMap<String, String>) -> bool {
    l.get(labels::RESTART)
        .and_then(|p| p.parse::<Policy>().ok())
        .is_some_and(|p| matches!(p, Policy::OnFailure(_)))
}

/// The API's record of a check and its state (`None`: not checked now).
pub fn health(check: &HealthCheck, state: Option<&HealthState>, restart: bool) -> api::Health {
    let duration = |ns: u64| prost_types::Duration {
        seconds: (ns / 1_000_000_000) as i64,
        nanos: (ns % 1_000_000_000) as i32,
    };
    api::Health {
        status: state.map(|s| s.status.api()).unwrap_or_default().into(),
        failing_streak: state.map_or(0, |s| s.failing_streak),
        log: state
            .map(|s| {
                s.log
                    .iter()
                    .map(|r| api::HealthResult {
                        start: Some(r.start.into()),
                        end: Some(r.end.into()),
                        exit_code: r.exit_code,
                        output: r.output.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        test: check.args.clone(),
        interval: Some(duration(check.interval_ns)),
        timeout: Some(duration(check.timeout_ns)),
        start_period: Some(duration(check.start_period_ns)),
        retries: check.retries,
        restart_on_unhealthy: restart,
    }
}
