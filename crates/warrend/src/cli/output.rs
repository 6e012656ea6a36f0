//! Human output: aligned tables, sizes, ages; and printing the JSON views of `json.rs`.

use std::time::SystemTime;

use warren_client::Word;
use warren_proto::warren::node::v1 as api;

/// Print rows under a header, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}   "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// `1.5 KiB`, `12.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A digest's first 12 hex digits (without its algorithm), as `images` and `pull` show it.
pub(super) fn short(digest: &str) -> &str {
    let hex = digest.split(':').nth(1).unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

/// Seconds since the epoch as a system time.
pub fn time(t: &Option<prost_types::Timestamp>) -> Option<SystemTime> {
    let t = t.as_ref()?;
    SystemTime::try_from(*t).ok()
}

/// RFC 3339, or "".
pub fn rfc3339(t: &Option<prost_types::Timestamp>) -> String {
    time(t)
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
        .unwrap_or_default()
}

/// `3 minutes ago`-style age.
pub fn ago(t: &Option<prost_types::Timestamp>) -> String {
    let Some(t) = time(t) else {
        return String::new();
    };
    let s = SystemTime::now()
        .duration_since(t)
        .unwrap_or_default()
        .as_secs();
    match s {
        0..=59 => format!("{s} seconds ago"),
        60..=3599 => format!("{} minutes ago", s / 60),
        3600..=86399 => format!("{} hours ago", s / 3600),
        _ => format!("{} days ago", s / 86400),
    }
}

/// The status column, as Docker words it: `Up 3 minutes (healthy)`, `Up 2 hours
/// (Paused)`, `Exited (3) 2 minutes ago`, `Exited (137, OOM) 5 seconds ago`, `Created`.
pub fn status(c: &api::ContainerSummary) -> String {
    let up = || {
        time(&c.started_at)
            .map(|t| SystemTime::now().duration_since(t).unwrap_or_default())
            .map_or_else(|| "Up".to_string(), |d| format!("Up {}", human_duration(d)))
    };
    let text = match (c.state().word(), &c.exit) {
        ("stopped", Some(e)) => format!(
            "Exited ({}{}) {}",
            e.code,
            if e.oom_killed { ", OOM" } else { "" },
            ago(&e.exited_at)
        )
        .trim_end()
        .to_string(),
        ("stopped", None) | ("created", _) => "Created".to_string(),
        ("running", _) => up(),
        ("paused", _) => format!("{} (Paused)", up()),
        (s, _) => s.to_string(),
    };
    match c.health().word() {
        "" => text,
        health => format!("{text} ({health})"),
    }
}

/// A duration in Docker's words: `Less than a second`, `5 seconds`, `About a minute`,
/// `3 minutes`, `About an hour`, `5 hours`, `3 days`, `2 weeks`, `4 months`, `2 years`.
pub fn human_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let (m, h) = (s / 60, s / 3600);
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        _ if s < 60 => format!("{s} seconds"),
        _ if m == 1 => "About a minute".into(),
        _ if m < 60 => format!("{m} minutes"),
        _ if h == 1 => "About an hour".into(),
        _ if h < 48 => format!("{h} hours"),
        _ if h < 24 * 7 * 2 => format!("{} days", h / 24),
        _ if h < 24 * 30 * 2 => format!("{} weeks", h / 24 / 7),
        _ if h < 24 * 365 * 2 => format!("{} months", h / 24 / 30),
        _ => format!("{} years", h / 24 / 365),
    }
}

/// A value as one line of JSON (as `--json` prints it).
pub fn json_line<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("the CLI's JSON views serialize")
}

/// Print a value as JSON on one line.
pub fn print_json<T: serde::Serialize + ?Sized>(v: &T) {
    println!("{}", json_line(v));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes(12), "12 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(64 << 20), "64.0 MiB");
    }

    #[test]
    fn statuses_read_as_dockers() {
        use std::time::Duration;
        let secs = |s| human_duration(Duration::from_secs(s));
        assert_eq!(secs(0), "Less than a second");
        assert_eq!(secs(45), "45 seconds");
        assert_eq!(secs(90), "About a minute");
        assert_eq!(secs(180), "3 minutes");
        assert_eq!(secs(3600), "About an hour");
        assert_eq!(secs(5 * 3600), "5 hours");
        assert_eq!(secs(3 * 86400), "3 days");
        let started = SystemTime::now() - Duration::from_secs(190);
        let mut c = api::ContainerSummary {
            state: api::ContainerState::Running.into(),
            started_at: Some(started.into()),
            health: api::HealthStatus::Healthy.into(),
            ..Default::default()
        };
        assert_eq!(status(&c), "Up 3 minutes (healthy)");
        c.state = api::ContainerState::Paused.into();
        c.health = api::HealthStatus::Unspecified.into();
        assert_eq!(status(&c), "Up 3 minutes (Paused)");
        c.state = api::ContainerState::Created.into();
        assert_eq!(status(&c), "Created");
        c.state = api::ContainerState::Stopped.into();
        c.exit = Some(api::Exit {
            code: 137,
            oom_killed: true,
            ..Default::default()
        });
        assert_eq!(status(&c), "Exited (137, OOM)");
    }
}
