//! `cargo xtask bench health`: what health checks cost.
//!
//! 1. One check exec: `ContainerdRuntime::exec` of `true` in a running busybox container
//!    with a timeout set (the path warrend's probe takes), sequentially, median / 10th /
//!    90th percentile over N runs (default 200) after 5 warm-up runs.
//! 2. 50 containers: the CPU (utime + stime, as a percentage of one core) of warrend, of
//!    containerd and of the containers' shims (with the runc processes they waited for)
//!    over 30 s, first for 50 containers without checks, then for 50 with
//!    `--health-cmd true --health-interval 1s`; and warrend's RSS in both.
//!
//! At the end, one `summary:` line per figure of the checked run and of the check exec (see
//! `warren_tests::bench_summary`); none has a goal or a containerd anchor yet.
//!
//! Runs the binary of `WARREN_WARREND_BIN` (the xtask passes the release build). Everything
//! is torn down at the end, and by the harness's `Drop` on a panic.

use std::time::{Duration, Instant};

use warren_runtime::{ContainerdRuntime, ExecRequest, LogDriver, RuntimeOptions};
use warren_tests::bench_summary::{print_all, Summary};
use warren_tests::deps;
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::warrend::{binary, Warrend};

const CONTAINERS: usize = 50;
const WINDOW: Duration = Duration::from_secs(30);

/// utime + stime of a process, with its waited-for children's when `children`, in seconds.
fn cpu_seconds(pid: u32, children: bool) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let fields: &[usize] = if children {
        &[11, 12, 13, 14]
    } else {
        &[11, 12]
    };
    let ticks: u64 = fields
        .iter()
        .filter_map(|&i| f.get(i)?.parse::<u64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// The shims serving namespace `ns`.
fn shims(ns: &str) -> Vec<u32> {
    let needle = format!("-namespace\0{ns}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                .unwrap_or(false)
        })
        .collect()
}

/// CPU seconds of (warrend, containerd, shims) now.
fn cpu_now(w: &Warrend) -> (f64, f64, f64) {
    let shims: f64 = shims(&w.namespace)
        .iter()
        .map(|p| cpu_seconds(*p, true))
        .sum();
    (
        cpu_seconds(w.pid(), false),
        cpu_seconds(w.containerd_pid() as u32, false),
        shims,
    )
}

/// Percent of one core each used over `WINDOW`.
fn cpu_over_window(w: &Warrend) -> (f64, f64, f64) {
    let a = cpu_now(w);
    let t = Instant::now();
    std::thread::sleep(WINDOW);
    let b = cpu_now(w);
    let s = t.elapsed().as_secs_f64();
    (
        100.0 * (b.0 - a.0) / s,
        100.0 * (b.1 - a.1) / s,
        100.0 * (b.2 - a.2) / s,
    )
}

fn start_all(w: &Warrend, image: &str, prefix: &str, flags: &[&str]) {
    for i in 0..CONTAINERS {
        let name = format!("{prefix}{i}");
        let mut args = vec!["run", "-d", "--network", "none", "--name", &name];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[image, "sleep", "100000"]);
        w.ok(&args);
    }
}

fn remove_all(w: &Warrend, prefix: &str) {
    for i in 0..CONTAINERS {
        w.ok(&["rm", "-f", &format!("{prefix}{i}")]);
    }
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let registry = Registry::start();
    let image = format!("{}/warren/busybox:health-bench", registry.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    let w = Warrend::start(Some(&registry.addr()));
    w.ok(&["pull", "-q", &image]);
    eprintln!("warrend: {}", binary().display());

    // 1. One check exec, as the probe runs it.
    w.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "probe",
        &image,
        "sleep",
        "100000",
    ]);
    let rt = ContainerdRuntime::with_options(
        RuntimeOptions::default()
            .socket(w.containerd_socket())
            .namespace(w.namespace.clone())
            .state_dir(w.dir.path().join("root/runtime"))
            .runc_binary(deps::tools_bin_dir().join("runc"))
            .log_driver(LogDriver::Shim(binary())),
    )
    .expect("a runtime handle");
    let req = ExecRequest::new(["true"]).timeout(Duration::from_secs(30));
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs + 5 {
        let t = Instant::now();
        let out = rt.exec("probe", &req).await.expect("exec true");
        assert_eq!(out.exit_code, 0);
        if i >= 5 {
            times.push(t.elapsed());
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let line = deps::line();
    let mut summaries = vec![Summary::time(
        "health",
        "check_exec",
        &line,
        times[runs / 2],
    )];
    println!(
        "one check exec (true): median {:.1} ms, p10 {:.1} ms, p90 {:.1} ms ({runs} runs)",
        ms(times[runs / 2]),
        ms(times[runs / 10]),
        ms(times[runs * 9 / 10])
    );
    w.ok(&["rm", "-f", "probe"]);

    // 2. 50 containers, without and with a check every second.
    start_all(&w, &image, "plain", &[]);
    let (wd, cd, sh) = cpu_over_window(&w);
    println!(
        "{CONTAINERS} containers, no checks: warrend {wd:.2} %, containerd {cd:.2} %, shims {sh:.2} % of a core; warrend RSS {:.1} MiB",
        rss_mib(w.pid())
    );
    remove_all(&w, "plain");
    start_all(
        &w,
        &image,
        "checked",
        &["--health-cmd", "true", "--health-interval", "1s"],
    );
    // Every container healthy before measuring.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ps = w.json(&["ps"]);
        let healthy = ps
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["health"] == "healthy")
            .count();
        if healthy == CONTAINERS {
            break;
        }
        assert!(Instant::now() < deadline, "only {healthy} healthy");
        std::thread::sleep(Duration::from_millis(500));
    }
    let (wd, cd, sh) = cpu_over_window(&w);
    let rss = rss_mib(w.pid());
    for (figure, value, unit) in [
        ("cpu_50_checked_warrend", wd, "%"),
        ("cpu_50_checked_containerd", cd, "%"),
        ("cpu_50_checked_shims", sh, "%"),
        ("rss_50_checked", rss, "MiB"),
    ] {
        summaries.push(Summary::new("health", figure, &line, value, unit));
    }
    println!(
        "{CONTAINERS} containers checked every 1s: warrend {wd:.2} %, containerd {cd:.2} %, shims and runc {sh:.2} % of a core; warrend RSS {:.1} MiB",
        rss
    );
    remove_all(&w, "checked");
    print_all(&summaries);
}
