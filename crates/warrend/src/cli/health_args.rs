//! The health-check flags of `run` and `create` (Docker's `--health-*` and
//! `--no-healthcheck`, plus Warren's `--restart-on-unhealthy`), and how health is shown
//! by `ps` and `inspect`.

use std::time::Duration;

use clap::Args;
use warren_spec::health::HealthOverrides;

/// How a container's health is checked; each flag set replaces the image's `HEALTHCHECK`
/// field of the same meaning.
#[derive(Args, Debug, Clone, Default)]
pub struct HealthArgs {
    /// Command to run to check health (a shell command, run with /bin/sh -c).
    #[arg(long, value_name = "CMD")]
    pub health_cmd: Option<String>,
    /// Time between running the check (e.g. 30s, 500ms; default 30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_health_duration)]
    pub health_interval: Option<Duration>,
    /// Maximum time to allow one check to run (default 30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_health_duration)]
    pub health_timeout: Option<Duration>,
    /// Start period for the container to initialize before failures count (default 0s).
    #[arg(long, value_name = "DURATION", value_parser = parse_health_duration)]
    pub health_start_period: Option<Duration>,
    /// Consecutive failures needed to report unhealthy (default 3).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32), allow_negative_numbers = true)]
    pub health_retries: Option<u32>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(
        long,
        conflicts_with_all = ["health_cmd", "health_interval", "health_timeout", "health_start_period", "health_retries"]
    )]
    pub no_healthcheck: bool,
    /// Kill the container when it becomes unhealthy, so that its restart policy
    /// (on-failure[:max]) restarts it (Warren's own).
    #[arg(long)]
    pub restart_on_unhealthy: bool,
}

impl HealthArgs {
    /// The health overrides these flags give, and whether `--restart-on-unhealthy` is set.
    pub fn overrides(&self) -> (HealthOverrides, bool) {
        let mut o = HealthOverrides::default().disable(self.no_healthcheck);
        o.cmd = self.health_cmd.clone();
        o.interval = self.health_interval;
        o.timeout = self.health_timeout;
        o.start_period = self.health_start_period;
        o.retries = self.health_retries;
        (o, self.restart_on_unhealthy)
    }
}

/// A Docker duration (`500ms`, `30s`, `1m30s`, read by
/// [`warren_spec::units::parse_duration`]): 0 (the image's value or the default) or at least
/// 1ms.
fn parse_health_duration(s: &str) -> Result<Duration, String> {
    let d = warren_spec::units::parse_duration(s).map_err(|e| e.to_string())?;
    if !d.is_zero() && d < warren_spec::health::MIN_DURATION {
        return Err(format!(
            "{s:?} is under 1ms: give 0 (inherit) or at least 1ms"
        ));
    }
    Ok(d)
}

/// A protobuf duration in nanoseconds, as `inspect` shows durations (0 when unset; see
/// [`super::json::Health`]).
pub(super) fn nanos(d: Option<&prost_types::Duration>) -> i64 {
    d.map_or(0, |d| {
        d.seconds
            .saturating_mul(1_000_000_000)
            .saturating_add(d.nanos.into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        health: HealthArgs,
    }

    #[test]
    fn flags_become_spec_fields() {
        let c = Cmd::try_parse_from([
            "x",
            "--health-cmd",
            "true",
            "--health-interval",
            "500ms",
            "--health-retries",
            "2",
        ])
        .unwrap();
        let (o, restart) = c.health.overrides();
        assert_eq!(o.cmd.as_deref(), Some("true"));
        assert_eq!(o.interval, Some(Duration::from_millis(500)));
        assert_eq!(o.retries, Some(2));
        assert!(!restart);
    }

    #[test]
    fn bad_flags_are_refused_by_name() {
        for (argv, flag) in [
            (
                vec!["x", "--no-healthcheck", "--health-cmd", "true"],
                "--health-cmd",
            ),
            (vec!["x", "--health-interval", "10us"], "--health-interval"),
            (vec!["x", "--health-timeout", "soon"], "--health-timeout"),
            (vec!["x", "--health-timeout", "5"], "a number has no unit"),
            (vec!["x", "--health-start-period=-1s"], "negative"),
            (vec!["x", "--health-interval", "1d"], "unknown unit \"d\""),
            (vec!["x", "--health-retries", "-1"], "--health-retries"),
        ] {
            let e = Cmd::try_parse_from(argv).err().unwrap().to_string();
            assert!(e.contains(flag), "{flag}: {e}");
        }
    }
}
