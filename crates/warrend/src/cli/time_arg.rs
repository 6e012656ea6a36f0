//! Points in time on the command line, as Docker takes them for `--since`, `--until` and
//! `--filter until=`: a duration back from now (`10m`, `1h30m`, `1.5h`, read by
//! [`warren_spec::units::parse_duration`] as every duration Warren takes), an RFC 3339 time
//! (`2026-01-02T15:04:05Z`) or Unix seconds (`1767366245`, `1767366245.5`).

use std::time::{Duration, SystemTime};

const ALLOWED: &str =
    "a duration back from now like 10m, 90s or 1h30m (units ns, us, ms, s, m, h), \
an RFC 3339 time like 2026-01-02T15:04:05Z, or Unix seconds";

/// Parse `s` as a point in time (a duration counts back from `now`).
pub fn parse_at(s: &str, now: SystemTime) -> Result<SystemTime, String> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(SystemTime::from(t));
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        if let Some(t) = s
            .parse::<f64>()
            .ok()
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        {
            return Ok(SystemTime::UNIX_EPOCH + t);
        }
    }
    warren_spec::units::parse_duration(s)
        .ok()
        .and_then(|d| now.checked_sub(d))
        .ok_or_else(|| format!("{s:?} is not a time: expected {ALLOWED}"))
}

/// A clap value parser: a point in time, durations counting back from now.
pub fn parse(s: &str) -> Result<SystemTime, String> {
    parse_at(s, SystemTime::now())
}

/// As a protobuf timestamp.
pub fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_times_and_unix_seconds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100_000);
        let back = |s| now.duration_since(parse_at(s, now).unwrap()).unwrap();
        assert_eq!(back("10m"), Duration::from_secs(600));
        assert_eq!(back("1h30m"), Duration::from_secs(5400));
        assert_eq!(back("1.5s"), Duration::from_millis(1500));
        assert_eq!(back("250ms"), Duration::from_millis(250));
        assert_eq!(back("1m0.5s"), Duration::from_millis(60_500));
        assert_eq!(back("1500us"), Duration::from_micros(1500));
        let t = parse_at("1970-01-01T00:00:10Z", now).unwrap();
        assert_eq!(t, SystemTime::UNIX_EPOCH + Duration::from_secs(10));
        let t = parse_at("1970-01-01T01:00:10+01:00", now).unwrap();
        assert_eq!(t, SystemTime::UNIX_EPOCH + Duration::from_secs(10));
        assert_eq!(
            parse_at("42", now).unwrap(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(42)
        );
        for bad in [
            "",
            "10x",
            "m",
            "yesterday",
            "-5m",
            "2026-13-01T00:00:00Z",
            "9999999999999h",
        ] {
            let e = parse_at(bad, now).unwrap_err();
            assert!(e.contains("is not a time"), "{bad}: {e}");
        }
    }
}
