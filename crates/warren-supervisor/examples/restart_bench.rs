//! Restart cost: time from `kill -9` of a supervised containerd to SERVING again, beside
//! containerd's own cold start (spawn to SERVING) with the same config, in one run.
//!
//! `cargo xtask bench supervisor` runs it per containerd line; by hand:
//! `cargo run --release -p warren-supervisor --example restart_bench -- <containerd bin dir> [runs]`

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use warren_proto::grpc::health::v1::{health_client::HealthClient, HealthCheckRequest};
use warren_supervisor::{BackoffBounds, Phase, Supervisor};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn serving(socket: &Path) -> bool {
    let Ok(ch) = warren_proto::connect(socket).await else {
        return false;
    };
    matches!(HealthClient::new(ch).check(HealthCheckRequest::default()).await,
        Ok(r) if r.get_ref().status == 1)
}

/// Spawn containerd with `config` and time it until it answers SERVING (polled every 2 ms).
async fn cold_start(binary: &Path, config: &Path, socket: &Path) -> Duration {
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn containerd");
    while !serving(socket).await {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = started.elapsed();
    child.kill().await.ok();
    let _ = std::fs::remove_file(socket);
    took
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bin_dir = PathBuf::from(
        args.next()
            .expect("usage: restart_bench <containerd bin dir> [runs]"),
    );
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(15);
    let binary = bin_dir.join("containerd");
    let dir = tempfile::Builder::new()
        .prefix("wb-")
        .tempdir_in("/tmp")
        .unwrap();

    let sup = Supervisor::builder(dir.path().join("root"), dir.path().join("state"))
        .binary(&binary)
        // Measure the restart itself, not the crash-loop back-off: every kill here counts as
        // the first crash after a healthy period (whose restart is immediate).
        .backoff(BackoffBounds {
            reset_after: Duration::ZERO,
            ..BackoffBounds::default()
        })
        .start()
        .await
        .expect("start");
    let version = sup.version();
    let mut restarts = Vec::new();
    for i in 0..runs {
        let pid = sup.pid().expect("pid");
        let generation = sup.status().generation;
        let mut rx = sup.watch_status();
        let t0 = Instant::now();
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
        rx.wait_for(|s| s.phase == Phase::Healthy && s.generation > generation)
            .await
            .expect("healthy again");
        restarts.push(t0.elapsed());
        if i + 1 < runs {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let config = sup.config_path().to_path_buf();
    let socket = sup.address().to_path_buf();
    sup.shutdown().await.unwrap();

    let mut colds = Vec::new();
    for _ in 0..runs {
        colds.push(cold_start(&binary, &config, &socket).await);
    }
    let (r, c) = (median(restarts.clone()), median(colds));
    println!(
        "containerd {}.{}: kill -9 -> SERVING median {:.1} ms (min {:.1}, max {:.1}, n={runs}); cold start median {:.1} ms; restart - cold = {:+.1} ms (goal <= +100 ms)",
        version.major,
        version.minor,
        r.as_secs_f64() * 1e3,
        restarts.iter().min().unwrap().as_secs_f64() * 1e3,
        restarts.iter().max().unwrap().as_secs_f64() * 1e3,
        c.as_secs_f64() * 1e3,
        (r.as_secs_f64() - c.as_secs_f64()) * 1e3,
    );
}
