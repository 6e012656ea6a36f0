//! Between the node API and health checks: the spec's `health_*` fields become the
//! runtime's overrides (checked, with the flag named), and a check with its state becomes
//! the API's `Health`.

use std::collections::BTreeMap;
use std::time::Duration;

use tonic::Status;
use warren_proto::warren::node::v1 as api;
use warren_spec::health::{HealthCheck, HealthOverrides};

use super::state::HealthState;
use crate::serve::convert::labels;
use crate::serve::restart::Policy;

/// `true`: kill the container when it becomes unhealthy (`--restart-on-unhealthy`).
pub const RESTART_ON_UNHEALTHY: &str = "warrend.restart-on-unhealthy";

fn invalid(field: &str, value: impl std::fmt::Debug, allowed: &str) -> Status {
    Status::invalid_argument(format!("invalid {field} {value:?}: {allowed}"))
}

/// The overrides of `spec`, validated; `--restart-on-unhealthy` (which needs an on-failure
/// policy) is recorded in `labels`.
pub fn overrides(
    spec: &api::ContainerSpec,
    policy: Policy,
    labels: &mut BTreeMap<String, String>,
) -> Result<HealthOverrides, Status> {
    let duration = |ns: i64, field: &str| -> Result<Option<Duration>, Status> {
        match ns {
            0 => Ok(None),
            ns if ns > 0 => Ok(Some(Duration::from_nanos(ns as u64))),
            ns => Err(invalid(field, ns, "0 (inherit) or at least 1ms")),
        }
    };
    if spec.health_retries < 0 {
        return Err(invalid(
            "health-retries",
            spec.health_retries,
            "0 (inherit) or more",
        ));
    }
    let mut o = HealthOverrides::default().disable(spec.no_healthcheck);
    o.cmd = (!spec.health_cmd.is_empty()).then(|| spec.health_cmd.clone());
    o.interval = duration(spec.health_interval_ns, "health-interval")?;
    o.timeout = duration(spec.health_timeout_ns, "health-timeout")?;
    o.start_period = duration(spec.health_start_period_ns, "health-start-period")?;
    o.retries = (spec.health_retries > 0).then_some(spec.health_retries as u32);
    o.validate()
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    if spec.restart_on_unhealthy {
        if !matches!(policy, Policy::OnFailure(_)) {
            return Err(invalid(
                "restart-on-unhealthy",
                policy.to_string(),
                "needs --restart on-failure[:max] (the policy that restarts the killed container)",
            ));
        }
        if spec.no_healthcheck {
            return Err(invalid(
                "restart-on-unhealthy",
                true,
                "needs a health check, and --no-healthcheck turns them off",
            ));
        }
        labels.insert(RESTART_ON_UNHEALTHY.into(), "true".into());
    }
    Ok(o)
}

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
    let ns = |v: u64| v.min(i64::MAX as u64) as i64;
    api::Health {
        status: state
            .map(|s| s.status.as_str().to_string())
            .unwrap_or_default(),
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
        interval_ns: ns(check.interval_ns),
        timeout_ns: ns(check.timeout_ns),
        start_period_ns: ns(check.start_period_ns),
        retries: check.retries.min(i32::MAX as u32) as i32,
        restart_on_unhealthy: restart,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_on_unhealthy_needs_on_failure() {
        let spec = api::ContainerSpec {
            restart_on_unhealthy: true,
            ..Default::default()
        };
        let mut l = BTreeMap::new();
        let e = overrides(&spec, Policy::Always, &mut l).unwrap_err();
        assert!(
            e.message().contains("restart-on-unhealthy"),
            "{}",
            e.message()
        );
        overrides(&spec, Policy::OnFailure(Some(2)), &mut l).unwrap();
        assert!(restart_on_unhealthy(&l));
    }

    #[test]
    fn bad_fields_name_their_flag() {
        let mut l = BTreeMap::new();
        for (spec, flag) in [
            (
                api::ContainerSpec {
                    health_interval_ns: -1,
                    ..Default::default()
                },
                "health-interval",
            ),
            (
                api::ContainerSpec {
                    health_timeout_ns: 10,
                    ..Default::default()
                },
                "health-timeout",
            ),
            (
                api::ContainerSpec {
                    no_healthcheck: true,
                    health_cmd: "true".into(),
                    ..Default::default()
                },
                "no-healthcheck",
            ),
        ] {
            let e = overrides(&spec, Policy::No, &mut l).unwrap_err();
            assert!(e.message().contains(flag), "{flag}: {}", e.message());
        }
    }
}
