//! Health checks as data, with Docker's names and meanings: the image's `Healthcheck`, the
//! overrides a request gives (`--health-cmd`, `--health-interval`, ...), how the two merge
//! (field by field, the request winning), and the resolved check that is recorded with a
//! container and run by whoever schedules checks. Nothing here runs anything.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::SpecError;

/// Time between two checks when neither the request nor the image sets one (Docker's).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// Time a check may take when neither the request nor the image sets one (Docker's).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Consecutive failures that make a container unhealthy by default (Docker's).
pub const DEFAULT_RETRIES: u32 = 3;
/// The shortest interval, timeout or start period accepted (Docker's minimum); 0 means
/// "not set" (the image's value or the default applies).
pub const MIN_DURATION: Duration = Duration::from_millis(1);

/// The `Healthcheck` object of a Docker image config (`config.Healthcheck`), as stored:
/// durations in nanoseconds, 0 meaning "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageHealthcheck {
    /// `["NONE"]` (no check), `["CMD", arg...]` or `["CMD-SHELL", command]`; empty:
    /// inherit (no check of its own).
    pub test: Vec<String>,
    /// Nanoseconds between checks.
    pub interval: i64,
    /// Nanoseconds a check may take.
    pub timeout: i64,
    /// Nanoseconds after start during which failures do not count.
    pub start_period: i64,
    /// Consecutive failures that make the container unhealthy.
    pub retries: i64,
}

impl ImageHealthcheck {
    /// The `config.Healthcheck` of an image configuration (the config blob's JSON), if it
    /// has one. OCI configs never carry it; Docker-built images do.
    pub fn from_config_json(config: &[u8]) -> Option<ImageHealthcheck> {
        let v: serde_json::Value = serde_json::from_slice(config).ok()?;
        let hc = v.get("config")?.get("Healthcheck")?;
        serde_json::from_value(hc.clone()).ok()
    }
}

/// What a request says about health checks (`docker run --health-*`): each field set
/// replaces the image's, the others are inherited.
#[derive(Debug, Clone, Default, PartialEq, Eq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct HealthOverrides {
    /// `--health-cmd`: a shell command (run as `/bin/sh -c`, Docker's `CMD-SHELL`).
    #[setters(into)]
    pub cmd: Option<String>,
    /// `--health-interval`.
    pub interval: Option<Duration>,
    /// `--health-timeout`.
    pub timeout: Option<Duration>,
    /// `--health-start-period`.
    pub start_period: Option<Duration>,
    /// `--health-retries`.
    pub retries: Option<u32>,
    /// `--no-healthcheck`: no check at all, whatever the image says.
    pub disable: bool,
}

impl HealthOverrides {
    /// True if any `--health-*` value is given.
    pub fn any_set(&self) -> bool {
        self.cmd.is_some()
            || self.interval.is_some()
            || self.timeout.is_some()
            || self.start_period.is_some()
            || self.retries.is_some()
    }

    /// Check the overrides on their own (before anything is created): `--no-healthcheck`
    /// with a `--health-*` flag, durations under 1 ms, an empty command or one with NUL.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.disable && self.any_set() {
            return Err(SpecError::value(
                "no-healthcheck",
                "true",
                "--no-healthcheck turns checks off and cannot be combined with --health-* flags",
            ));
        }
        if let Some(cmd) = &self.cmd {
            if cmd.trim().is_empty() {
                return Err(SpecError::value(
                    "health-cmd",
                    cmd,
                    "a shell command is required",
                ));
            }
            crate::validate::no_nul("health-cmd", cmd)?;
        }
        for (field, d) in [
            ("health-interval", self.interval),
            ("health-timeout", self.timeout),
            ("health-start-period", self.start_period),
        ] {
            if let Some(d) = d {
                check_duration(field, d)?;
            }
        }
        Ok(())
    }
}

fn check_duration(field: &'static str, d: Duration) -> Result<(), SpecError> {
    if !d.is_zero() && d < MIN_DURATION {
        return Err(SpecError::value(
            field,
            &format!("{d:?}"),
            "0 (inherit) or at least 1ms",
        ));
    }
    Ok(())
}

/// A resolved health check: what is run and when. Recorded with the container (as JSON,
/// see [`HealthCheck::to_json`]) so a restarted daemon resumes checking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// The command run in the container (`CMD-SHELL c` becomes `/bin/sh -c c`).
    pub args: Vec<String>,
    /// Nanoseconds between the end of one check and the start of the next.
    pub interval_ns: u64,
    /// Nanoseconds after which a check is killed and counts as failed.
    pub timeout_ns: u64,
    /// Nanoseconds after start during which failures do not count.
    pub start_period_ns: u64,
    /// Consecutive failures that make the container unhealthy.
    pub retries: u32,
}

impl HealthCheck {
    /// Time between checks.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }
    /// Time a check may take.
    pub fn timeout(&self) -> Duration {
        Duration::from_nanos(self.timeout_ns)
    }
    /// Grace period after start.
    pub fn start_period(&self) -> Duration {
        Duration::from_nanos(self.start_period_ns)
    }

    /// The JSON recorded with the container.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Read back what [`to_json`](Self::to_json) wrote.
    pub fn from_json(s: &str) -> Result<HealthCheck, SpecError> {
        serde_json::from_str(s)
            .map_err(|e| SpecError::value("health check record", s, e.to_string()))
    }
}

/// Merge the image's check and the request's overrides as Docker does: `--no-healthcheck`
/// wins; `--health-cmd` replaces the image's test; each duration and the retries come from
/// the request if set (non-zero), else the image (non-zero), else Docker's defaults. `None`:
/// no check (none given, or the image's test is `NONE`).
pub fn merge(
    image: Option<&ImageHealthcheck>,
    req: &HealthOverrides,
) -> Result<Option<HealthCheck>, SpecError> {
    req.validate()?;
    if req.disable {
        return Ok(None);
    }
    let empty = ImageHealthcheck::default();
    let image = image.unwrap_or(&empty);
    let test: Vec<String> = match &req.cmd {
        Some(cmd) => vec!["CMD-SHELL".into(), cmd.clone()],
        None => image.test.clone(),
    };
    let args = match test.split_first() {
        None => return Ok(None),
        Some((kind, _)) if kind == "NONE" => return Ok(None),
        Some((kind, rest)) if kind == "CMD" && !rest.is_empty() && !rest[0].is_empty() => {
            rest.to_vec()
        }
        Some((kind, rest)) if kind == "CMD-SHELL" && !rest.join(" ").trim().is_empty() => {
            vec!["/bin/sh".into(), "-c".into(), rest.join(" ")]
        }
        _ => {
            return Err(SpecError::value(
                "healthcheck test",
                &format!("{test:?}"),
                "[\"NONE\"], [\"CMD\", command, args...] or [\"CMD-SHELL\", command]",
            ))
        }
    };
    for a in &args {
        crate::validate::no_nul("healthcheck test", a)?;
    }
    let image_duration = |field: &'static str, ns: i64| -> Result<Option<Duration>, SpecError> {
        if ns < 0 {
            return Err(SpecError::value(
                field,
                &ns.to_string(),
                "0 or more nanoseconds",
            ));
        }
        let d = Duration::from_nanos(ns as u64);
        check_duration(field, d)?;
        Ok((!d.is_zero()).then_some(d))
    };
    let pick = |mine: Option<Duration>, theirs: Option<Duration>, default: Duration| {
        mine.filter(|d| !d.is_zero())
            .or(theirs)
            .unwrap_or(default)
            .as_nanos() as u64
    };
    let interval = image_duration("image healthcheck Interval", image.interval)?;
    let timeout = image_duration("image healthcheck Timeout", image.timeout)?;
    let start = image_duration("image healthcheck StartPeriod", image.start_period)?;
    if image.retries < 0 {
        return Err(SpecError::value(
            "image healthcheck Retries",
            &image.retries.to_string(),
            "0 or more",
        ));
    }
    let image_retries = u32::try_from(image.retries).unwrap_or(u32::MAX);
    Ok(Some(HealthCheck {
        args,
        interval_ns: pick(req.interval, interval, DEFAULT_INTERVAL),
        timeout_ns: pick(req.timeout, timeout, DEFAULT_TIMEOUT),
        start_period_ns: pick(req.start_period, start, Duration::ZERO),
        retries: req
            .retries
            .filter(|r| *r > 0)
            .or((image_retries > 0).then_some(image_retries))
            .unwrap_or(DEFAULT_RETRIES),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ImageHealthcheck {
        ImageHealthcheck {
            test: vec!["CMD".into(), "/bin/check".into(), "-q".into()],
            interval: 5_000_000_000,
            timeout: 0,
            start_period: 1_000_000_000,
            retries: 7,
        }
    }

    #[test]
    fn the_image_check_is_used_with_defaults_for_what_it_leaves_out() {
        let c = merge(Some(&image()), &HealthOverrides::default())
            .unwrap()
            .unwrap();
        assert_eq!(c.args, ["/bin/check", "-q"]);
        assert_eq!(c.interval(), Duration::from_secs(5));
        assert_eq!(c.timeout(), DEFAULT_TIMEOUT);
        assert_eq!(c.start_period(), Duration::from_secs(1));
        assert_eq!(c.retries, 7);
    }

    #[test]
    fn flags_override_field_by_field() {
        let req = HealthOverrides {
            cmd: Some("wget -q localhost".into()),
            timeout: Some(Duration::from_millis(200)),
            ..Default::default()
        };
        let c = merge(Some(&image()), &req).unwrap().unwrap();
        assert_eq!(c.args, ["/bin/sh", "-c", "wget -q localhost"]);
        assert_eq!(c.interval(), Duration::from_secs(5));
        assert_eq!(c.timeout(), Duration::from_millis(200));
        assert_eq!(c.retries, 7);
        // Defaults when there is no image check.
        let c = merge(None, &req).unwrap().unwrap();
        assert_eq!(c.interval(), DEFAULT_INTERVAL);
        assert_eq!(c.retries, DEFAULT_RETRIES);
        assert_eq!(c.start_period(), Duration::ZERO);
        // A round trip through the record.
        assert_eq!(HealthCheck::from_json(&c.to_json()).unwrap(), c);
    }

    #[test]
    fn none_and_no_healthcheck_turn_checks_off() {
        let none = ImageHealthcheck {
            test: vec!["NONE".into()],
            ..Default::default()
        };
        assert_eq!(
            merge(Some(&none), &HealthOverrides::default()).unwrap(),
            None
        );
        assert_eq!(merge(None, &HealthOverrides::default()).unwrap(), None);
        let off = HealthOverrides {
            disable: true,
            ..Default::default()
        };
        assert_eq!(merge(Some(&image()), &off).unwrap(), None);
        // A flag command brings a check back over NONE.
        let cmd = HealthOverrides {
            cmd: Some("true".into()),
            ..Default::default()
        };
        assert!(merge(Some(&none), &cmd).unwrap().is_some());
    }

    #[test]
    fn bad_values_name_their_flag() {
        let cases = [
            (
                HealthOverrides {
                    disable: true,
                    retries: Some(2),
                    ..Default::default()
                },
                "no-healthcheck",
            ),
            (
                HealthOverrides {
                    interval: Some(Duration::from_micros(10)),
                    ..Default::default()
                },
                "health-interval",
            ),
            (
                HealthOverrides {
                    cmd: Some(" ".into()),
                    ..Default::default()
                },
                "health-cmd",
            ),
        ];
        for (req, field) in cases {
            let e = merge(None, &req).unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
        let weird = ImageHealthcheck {
            test: vec!["RUN".into(), "x".into()],
            ..Default::default()
        };
        assert!(merge(Some(&weird), &HealthOverrides::default()).is_err());
    }

    #[test]
    fn the_image_config_json_carries_it() {
        let json = br#"{"architecture":"amd64","config":{"Cmd":["sh"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":100000000,"Retries":2}}}"#;
        let h = ImageHealthcheck::from_config_json(json).unwrap();
        assert_eq!(h.test, ["CMD-SHELL", "true"]);
        assert_eq!(h.interval, 100_000_000);
        assert_eq!(h.retries, 2);
        assert_eq!(ImageHealthcheck::from_config_json(b"{\"config\":{}}"), None);
    }
}
