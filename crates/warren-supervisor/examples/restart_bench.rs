//! Restart cost: the time from `kill -9` of a supervised containerd to SERVING again, beside
//! containerd's own cold start (spawn to SERVING, same config, no supervisor) and our whole
//! `start()` (preflight, version probe, config, spawn, SERVING, identity check), all measured
//! in one run. The goal: a restart costs no more than a cold start plus 100 ms.
//!
//! `cargo xtask bench supervisor` runs it for each containerd line; by hand:
//! `cargo run --release -p warren-supervisor --example restart_bench -- <containerd bin dir> [runs]`
//! (or set `WARREN_DEPS_DIR`, `WARREN_CONTAINERD_LINE` and `WARREN_BENCH_RUNS` instead).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use warren_proto::grpc::health::v1::{health_client::HealthClient, HealthCheckRequest};
use warren_supervisor::{BackoffBounds, Phase, Supervisor, SupervisorBuilder};

struct Stats(Vec<Duration>);

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "median {:6.1} ms  (min {:6.1}, max {:6.1})",
            ms(self.median()),
            ms(*self.0.iter().min().unwrap()),
            ms(*self.0.iter().max().unwrap())
        )
    }
}

impl Stats {
    fn median(&self) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        v[v.len() / 2]
    }
}

async fn serving(socket: &Path) -> bool {
    let Ok(ch) = warren_proto::connect(socket).await else {
        return false;
    };
    matches!(HealthClient::new(ch).check(HealthCheckRequest::default()).await,
        Ok(r) if r.get_ref().status == 1)
}

/// containerd on its own: spawn it with `config`, time it until it answers SERVING (polled
/// every millisecond), stop it.
async fn cold_start(binary: &Path, config: &Path, socket: &Path) -> Duration {
    let _ = std::fs::remove_file(socket);
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
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let took = started.elapsed();
    let _ = kill(
        Pid::from_raw(child.id().expect("pid") as i32),
        Signal::SIGTERM,
    );
    let _ = child.wait().await;
    took
}

fn builder(dir: &Path, binary: &Path) -> SupervisorBuilder {
    Supervisor::builder(dir.join("root"), dir.join("state"))
        .binary(binary)
        // Measure the restart itself, not the crash-loop back-off: every kill here counts as
        // the first crash after a healthy period, whose restart is immediate.
        .backoff(BackoffBounds {
            reset_after: Duration::ZERO,
            ..BackoffBounds::default()
        })
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bin_dir = args.next().map(PathBuf::from).unwrap_or_else(|| {
        let deps = std::env::var("WARREN_DEPS_DIR").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/warren-deps").into()
        });
        let line = std::env::var("WARREN_CONTAINERD_LINE").unwrap_or_else(|_| "1.6".into());
        Path::new(&deps).join(format!("containerd-{line}/bin"))
    });
    let runs: usize = args
        .next()
        .or_else(|| std::env::var("WARREN_BENCH_RUNS").ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(15)
        .max(1);
    let binary = bin_dir.join("containerd");
    let dir = tempfile::Builder::new()
        .prefix("wb-")
        .tempdir_in("/tmp")
        .expect("temp dir");

    // Our whole start-up, from a cold daemon each time.
    let mut starts = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let sup = builder(dir.path(), &binary).start().await.expect("start");
        starts.push(t0.elapsed());
        sup.shutdown().await.expect("shutdown");
    }

    // kill -9 under a running supervisor, to SERVING again.
    let sup = builder(dir.path(), &binary).start().await.expect("start");
    let version = sup.version();
    let mut restarts = Vec::new();
    for _ in 0..runs {
        let pid = sup.pid().expect("pid");
        let generation = sup.status().generation;
        let mut rx = sup.watch_status();
        let t0 = Instant::now();
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).expect("kill -9");
        rx.wait_for(|s| s.phase == Phase::Healthy && s.generation > generation)
            .await
            .expect("healthy again");
        restarts.push(t0.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let config = sup.config_path().to_path_buf();
    let socket = sup.address().to_path_buf();
    sup.shutdown().await.expect("shutdown");

    // containerd alone, same config.
    let mut colds = Vec::new();
    for _ in 0..runs {
        colds.push(cold_start(&binary, &config, &socket).await);
    }

    let (restarts, colds, starts) = (Stats(restarts), Stats(colds), Stats(starts));
    let over = restarts.median().as_secs_f64() * 1e3 - colds.median().as_secs_f64() * 1e3;
    println!("containerd {version} ({}), n = {runs}", binary.display());
    println!("  kill -9 -> SERVING again     {restarts}");
    println!("  containerd cold start        {colds}");
    println!("  Supervisor::start()          {starts}");
    println!(
        "  restart - cold start = {over:+.1} ms (goal: at most +100 ms): {}",
        if over <= 100.0 { "met" } else { "MISSED" }
    );
}
