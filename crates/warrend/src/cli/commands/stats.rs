//! `warrend stats`: CPU (as a percentage of one core, from two samples), memory, pids and
//! OOM kills per container, like `docker stats --no-stream`.

use std::time::Duration;

use clap::Args;
use warren_client::{ClientError, Node};
use warren_proto::warren::node::v1 as api;

use crate::cli::json;
use crate::cli::output::{bytes, print_json, table, time};

/// Options of `stats`.
#[derive(Args)]
pub struct StatsArgs {
    /// Milliseconds between the two samples the CPU percentage is computed from; 0 takes
    /// one sample and shows only the CPU time used so far.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub interval: u64,
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// CPU use between two samples of one container, in percent of one core (200 is two cores
/// busy); `None` if the samples cannot be compared.
pub fn cpu_percent(first: &api::Stats, second: &api::Stats) -> Option<f64> {
    let wall = time(&second.time)?
        .duration_since(time(&first.time)?)
        .ok()?;
    let cpu = second.cpu_usage_ns.checked_sub(first.cpu_usage_ns)?;
    (!wall.is_zero()).then(|| cpu as f64 / wall.as_nanos() as f64 * 100.0)
}

/// Sample every container once.
async fn sample(node: &Node, ids: &[String]) -> Vec<Result<api::Stats, ClientError>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(node.stats(id.clone()).await);
    }
    out
}

/// `warrend stats`: one line per container; exits 1 if any container could not be read.
pub async fn stats(node: &Node, a: StatsArgs, json: bool) -> anyhow::Result<u8> {
    let first = sample(node, &a.ids).await;
    let second = if a.interval > 0 && first.iter().any(|s| s.is_ok()) {
        tokio::time::sleep(Duration::from_millis(a.interval)).await;
        Some(sample(node, &a.ids).await)
    } else {
        None
    };
    let mut rows = Vec::new();
    let mut all = Vec::new();
    let mut failed = false;
    for (i, (id, s)) in a.ids.iter().zip(first).enumerate() {
        let newer = second.as_ref().and_then(|v| v[i].as_ref().ok());
        let s = match s {
            Ok(s) => s,
            Err(e) => {
                eprintln!("warrend: {id}: {}", e.status_message());
                failed = true;
                continue;
            }
        };
        let percent = newer.and_then(|n| cpu_percent(&s, n));
        let s = newer.cloned().unwrap_or(s);
        let limit = |v: u64, f: fn(u64) -> String| {
            if v == 0 {
                "unlimited".to_string()
            } else {
                f(v)
            }
        };
        rows.push(vec![
            s.id.clone(),
            percent
                .map(|p| format!("{p:.1}%"))
                .unwrap_or_else(|| "-".into()),
            format!("{:.3}s", s.cpu_usage_ns as f64 / 1e9),
            format!(
                "{} / {}",
                bytes(s.memory_usage_bytes),
                limit(s.memory_limit_bytes, bytes)
            ),
            format!("{} / {}", s.pids, limit(s.pids_limit, |v| v.to_string())),
            s.oom_kills.to_string(),
        ]);
        all.push(json::Stats::new(&s, percent));
    }
    if json {
        print_json(&all);
    } else if !rows.is_empty() {
        table(
            &[
                "ID",
                "CPU %",
                "CPU TIME",
                "MEMORY / LIMIT",
                "PIDS / LIMIT",
                "OOM KILLS",
            ],
            &rows,
        );
    }
    Ok(failed as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64, cpu_ms: u64) -> api::Stats {
        api::Stats {
            cpu_usage_ns: cpu_ms * 1_000_000,
            time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000 + ms / 1000,
                nanos: ((ms % 1000) * 1_000_000) as i32,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn cpu_percent_is_per_core() {
        assert_eq!(cpu_percent(&at(0, 0), &at(500, 250)), Some(50.0));
        assert_eq!(cpu_percent(&at(0, 0), &at(1000, 2000)), Some(200.0));
        // Same instant, time going backwards, or a counter that went down (a restart).
        assert_eq!(cpu_percent(&at(0, 0), &at(0, 10)), None);
        assert_eq!(cpu_percent(&at(500, 0), &at(0, 10)), None);
        assert_eq!(cpu_percent(&at(0, 10), &at(500, 0)), None);
    }
}
