//! `cargo xtask bench warrend`: the node daemon as an operator meets it.
//!
//! 1. Idle RSS of the `warrend serve` process alone (its managed containerd not counted):
//!    `VmRSS` after start-up and ~2 s idle, ~2 s after pulling the image, and again ~2 s
//!    after the run loop.
//! 2. End to end, CLI process spawn to exit: `warrend run --rm --network none IMAGE true`
//!    against `ctr run --rm IMAGE ID true` on the same managed containerd, namespace and
//!    image, and `warrend run --rm IMAGE true` on the default bridge (CNI set-up and
//!    teardown included), alternating, N of each.
//!
//! At the end, one `summary:` line per figure (see `warren_tests::bench_summary`): both runs
//! against `ctr run --rm` (goals <= 0.8 without a network, <= 1.1 on the bridge) and the RSS
//! (goal <= 15 MiB after the runs). The CLI runs in a process of its own, so no per-step
//! times come from here: `cargo xtask bench lifecycle` has them for the library.
//!
//! Runs the binary of `WARREN_WARREND_BIN` (the xtask passes the release build).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warren_tests::bench_summary::{print_all, Summary};
use warren_tests::deps;
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::warrend::{binary, Warrend};

const IDLE: Duration = Duration::from_secs(2);
const GOAL_MIB: f64 = 15.0;
/// `warrend run --rm --network none` against `ctr run --rm`.
const NONE_GOAL: f64 = 0.8;
/// `warrend run --rm` on the bridge (CNI set-up and teardown included) against `ctr run --rm`.
const BRIDGE_GOAL: f64 = 1.1;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Resident memory of `pid` in MiB: total (`VmRSS`), and its heap/stack part (`RssAnon`);
/// the rest is pages of the binary and libraries (`RssFile`), shared with other processes.
#[derive(Clone, Copy)]
struct Rss {
    total: f64,
    anon: f64,
}

impl std::fmt::Display for Rss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1} MiB (anon {:.1})", self.total, self.anon)
    }
}

fn rss_mib(pid: u32) -> Rss {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("a {name} line"))
            / 1024.0
    };
    Rss {
        total: field("VmRSS:"),
        anon: field("RssAnon:"),
    }
}

/// Run `cmd` to its exit and time it from spawn; panic unless it exits 0.
fn timed(cmd: &mut Command, what: &str) -> Duration {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let t = Instant::now();
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn warrend_run(w: &Warrend, image: &str, network: Option<&str>) -> Duration {
    let mut cmd = Command::new(binary());
    cmd.arg("--socket").arg(w.socket()).args(["run", "--rm"]);
    if let Some(n) = network {
        cmd.args(["--network", n]);
    }
    cmd.args([image, "true"]);
    timed(&mut cmd, "warrend run --rm")
}

fn ctr_run(address: &Path, ns: &str, image: &str, id: &str) -> Duration {
    let mut cmd = Command::new(deps::containerd_bin_dir().join("ctr"));
    cmd.arg("--address")
        .arg(address)
        .args(["-n", ns, "run", "--rm", image, id, "true"]);
    timed(&mut cmd, "ctr run --rm")
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
        .max(1);
    let line = deps::line();

    let reg = Registry::start();
    let image = format!("{}/bench/busybox:wd", reg.addr());
    tokio::runtime::Runtime::new()
        .expect("a tokio runtime")
        .block_on(push(&image, &[busybox_layer()], &["sh"]));

    let mut w = Warrend::start(Some(&reg.addr()));
    let pid = w.pid();
    std::thread::sleep(IDLE);
    let rss_start = rss_mib(pid);

    w.ok(&["pull", "-q", &image]);
    std::thread::sleep(IDLE);
    let rss_pulled = rss_mib(pid);
    let address = w.containerd_socket();
    let ns = w.namespace.clone();

    // Warm each path once (binaries in the page cache, the shim, the bridge made).
    warrend_run(&w, &image, Some("none"));
    ctr_run(&address, &ns, &image, "warm-ctr");
    warrend_run(&w, &image, None);
    let mut warrend_runs = 2;

    let (mut none, mut ctr, mut bridge) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        // The three in a rotating order, so no path always goes first.
        for turn in 0..3 {
            match (i + turn) % 3 {
                0 => none.push(warrend_run(&w, &image, Some("none"))),
                1 => ctr.push(ctr_run(&address, &ns, &image, &format!("c{i}"))),
                _ => bridge.push(warrend_run(&w, &image, None)),
            }
        }
        warrend_runs += 2;
    }
    std::thread::sleep(IDLE);
    let rss_after = rss_mib(pid);

    let ps = w.json(&["ps", "-a"]);
    assert_eq!(ps, serde_json::Value::Array(vec![]), "--rm left containers");

    println!(
        "containerd {line}: warrend idle RSS {rss_start} after start, {rss_pulled} after pull, {rss_after} after {warrend_runs} runs (goal < {GOAL_MIB:.0} MiB)"
    );
    let (n, c, b) = (median(none), median(ctr), median(bridge));
    println!(
        "containerd {line}: run --rm true, median of {runs}: warrend (network none) {:.1} ms, ctr {:.1} ms, ratio {:.2}; warrend (bridge, with CNI set-up and teardown) {:.1} ms, ratio {:.2}",
        ms(n),
        ms(c),
        n.as_secs_f64() / c.as_secs_f64(),
        ms(b),
        b.as_secs_f64() / c.as_secs_f64()
    );

    let summary = |figure: &str, d: Duration| Summary::time("warrend", figure, &line, d);
    print_all(&[
        summary("run_rm_none", n).anchor_time(c).at_most(NONE_GOAL),
        summary("run_rm_bridge", b)
            .anchor_time(c)
            .at_most(BRIDGE_GOAL),
        Summary::new("warrend", "rss_start", &line, rss_start.total, "MiB"),
        Summary::new("warrend", "rss_pulled", &line, rss_pulled.total, "MiB"),
        Summary::new("warrend", "rss_after_runs", &line, rss_after.total, "MiB").at_most(GOAL_MIB),
    ]);

    let status = w.terminate(Duration::from_secs(30));
    assert!(status.success(), "warrend exited with {status}");
    drop(w);
    drop(reg);
}
