//! `cargo xtask bench scale`: warrend with N running containers (default 200), as a node
//! full of idle services meets it.
//!
//! N busybox `sleep 100000` containers on the bridge network (warrend's default), each
//! started with `warrend run -d`; then, one line per figure:
//!
//! 1. warrend's `VmRSS` and `RssAnon`;
//! 2. its thread count;
//! 3. its CPU (utime + stime) over 60 s of idling, as a percentage of one core;
//! 4. `warrend ps`, `warrend stats --interval 0 <one id>` and the same with all N ids, CLI
//!    spawn to exit, median of 10;
//! 5. `kill -9` of warrend and a new start: time until it serves again, and its
//!    `reattached=` log field;
//! 6. where the host's memory per container goes: PSS (`smaps_rollup`) of the shims, the
//!    loggers they started, the containers' own processes and containerd, each summed and
//!    divided by N;
//! 7. containerd's runc shim grouping (`ContainerRequest::shim_group`, warrend's
//!    `--shim-group`: the `io.containerd.runc.v2.group` annotation): N containers made through
//!    `warren_runtime::ContainerdRuntime` in a namespace of its own on the same containerd,
//!    once with a shim each and once with 10 containers per shim.
//!
//! `WARREN_SCALE_LOG_DRIVER=in-process` runs warrend with `[logs] driver = "in-process"` (the
//! output copied by warrend, as before the shim-owned logger) for a before/after comparison.
//!
//! At the end, one `summary:` line per figure with a goal (see
//! `warren_tests::bench_summary`): 1–5; none of them has a containerd anchor.
//!
//! Everything is torn down at the end, and by the harness's `Drop` on a panic.
//! Runs the binary of `WARREN_WARREND_BIN` (the xtask passes the release build).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warren_runtime::{ContainerRequest, ContainerdRuntime, LogDriver, RuntimeOptions};
use warren_tests::bench_summary::{print_all, Summary};
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::warrend::{binary, Warrend};
use warren_tests::{cleanup, deps, unique_namespace};

const RSS_GOAL_MIB: f64 = 40.0;
const THREADS_GOAL: usize = 32;
const IDLE: Duration = Duration::from_secs(60);
const CPU_GOAL_PERCENT: f64 = 1.0;
const CLI_SAMPLES: usize = 10;
const CLI_GOAL: Duration = Duration::from_millis(150);
const REATTACH_GOAL: Duration = Duration::from_secs(5);
/// Containers per shim in the grouped run.
const GROUP: usize = 10;
const GROUP_ANNOTATION: &str = "io.containerd.runc.v2.group";
/// How long the processes are left alone before memory is read.
const SETTLE: Duration = Duration::from_secs(5);

const MIB: f64 = 1024.0 * 1024.0;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median, smallest and largest.
fn spread(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// A `kB` field of a `/proc` file in bytes (0 if the file or the field is missing: the
/// process may have gone).
fn kb_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn status_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"))
}

/// `(VmRSS, RssAnon)` in bytes.
fn rss(pid: u32) -> (u64, u64) {
    let s = status_of(pid);
    (kb_field(&s, "VmRSS:"), kb_field(&s, "RssAnon:"))
}

fn threads(pid: u32) -> usize {
    status_of(pid)
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("a Threads line")
}

/// The thread count with the threads' names: `N (name ×k, ...)`.
fn threads_named(pid: u32) -> String {
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        *names.entry(comm.trim().to_string()).or_default() += 1;
    }
    let list: Vec<String> = names.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
    format!("{} ({})", threads(pid), list.join(", "))
}

/// `(PSS, RSS)` of one process in bytes, from `smaps_rollup`.
fn pss(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    (kb_field(&text, "Pss:"), kb_field(&text, "Rss:"))
}

/// utime + stime of a process (all its threads), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which may hold spaces: state is field 3, utime
    // and stime fields 14 and 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i)?.parse::<u64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz
}

/// `MemTotal - MemAvailable` of the host, in bytes.
fn host_used() -> u64 {
    let m = std::fs::read_to_string("/proc/meminfo").unwrap();
    kb_field(&m, "MemTotal:").saturating_sub(kb_field(&m, "MemAvailable:"))
}

/// Every process: pid → (parent pid, argv).
fn processes() -> HashMap<u32, (u32, Vec<String>)> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some(ppid) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok())
        else {
            continue;
        };
        let argv = std::fs::read(e.path().join("cmdline"))
            .unwrap_or_default()
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        out.insert(pid, (ppid, argv));
    }
    out
}

/// The processes of one kind: how many, their summed PSS and RSS.
#[derive(Default, Clone, Copy)]
struct Kind {
    count: usize,
    pss: u64,
    rss: u64,
}

impl Kind {
    fn add(&mut self, pid: u32) {
        let (p, r) = pss(pid);
        self.count += 1;
        self.pss += p;
        self.rss += r;
    }
}

/// Where the memory of the containers of one containerd goes.
struct Memory {
    shims: Kind,
    loggers: Kind,
    /// The containers' own processes, by command name.
    workloads: Kind,
    workload_names: BTreeMap<String, usize>,
    containerd: Kind,
}

impl Memory {
    /// Read it now: the shims serving `socket`, everything below them (loggers are
    /// `<warrend> logger SPEC`; the rest are the containers' processes), and containerd.
    fn read(socket: &Path, containerd_pid: u32) -> Memory {
        let shims: HashSet<u32> = cleanup::shims_of(socket).iter().map(|s| s.pid).collect();
        let procs = processes();
        let mut m = Memory {
            shims: Kind::default(),
            loggers: Kind::default(),
            workloads: Kind::default(),
            workload_names: BTreeMap::new(),
            containerd: Kind::default(),
        };
        for &pid in &shims {
            m.shims.add(pid);
        }
        m.containerd.add(containerd_pid);
        for (&pid, (_, argv)) in &procs {
            if shims.contains(&pid) {
                continue;
            }
            // Below a shim, however deep (a shim is its children's subreaper anyway).
            let mut up = pid;
            let below = loop {
                match procs.get(&up) {
                    Some((parent, _)) if shims.contains(parent) => break true,
                    Some((parent, _)) if *parent > 1 && *parent != up => up = *parent,
                    _ => break false,
                }
            };
            if !below {
                continue;
            }
            if argv.get(1).map(String::as_str) == Some("logger") {
                m.loggers.add(pid);
            } else {
                m.workloads.add(pid);
                let name = argv
                    .first()
                    .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
                    .unwrap_or_default();
                *m.workload_names.entry(name).or_default() += 1;
            }
        }
        m
    }

    fn total_pss(&self) -> u64 {
        self.shims.pss + self.loggers.pss + self.workloads.pss + self.containerd.pss
    }

    /// One line: PSS per container of each kind and in all, for `n` containers.
    fn per_container(&self, n: usize) -> String {
        let per = |k: &Kind| k.pss as f64 / MIB / n as f64;
        let names: Vec<String> = self
            .workload_names
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        format!(
            "shims {:.2} MiB ({} processes, {:.1} MiB RSS each), loggers {:.2} MiB ({}, {:.1} MiB RSS each), \
             containers' processes {:.2} MiB ({}), containerd {:.2} MiB ({:.1} MiB PSS in all); together {:.2} MiB",
            per(&self.shims),
            self.shims.count,
            avg_rss(&self.shims),
            per(&self.loggers),
            self.loggers.count,
            avg_rss(&self.loggers),
            per(&self.workloads),
            names.join(", "),
            per(&self.containerd),
            self.containerd.pss as f64 / MIB,
            self.total_pss() as f64 / MIB / n as f64,
        )
    }
}

fn avg_rss(k: &Kind) -> f64 {
    if k.count == 0 {
        0.0
    } else {
        k.rss as f64 / MIB / k.count as f64
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

/// `warrend ARGS` against `w`, median (and range) of [`CLI_SAMPLES`] runs after one warm-up.
fn cli_time(w: &Warrend, args: &[&str]) -> (Duration, Duration, Duration) {
    let run = || {
        let mut cmd = Command::new(binary());
        cmd.arg("--socket").arg(w.socket()).args(args);
        timed(&mut cmd, &format!("warrend {}", args[0]))
    };
    run();
    spread((0..CLI_SAMPLES).map(|_| run()).collect())
}

/// The running containers `warrend ps` lists.
fn running(w: &Warrend) -> usize {
    w.json(&["ps"])
        .as_array()
        .expect("ps --json is a list")
        .iter()
        .filter(|c| c["state"] == "running")
        .count()
}

/// The figure of warrend's log field `reattached=` on its newest line that has it.
fn last_reattached(log: &str) -> Option<usize> {
    log.lines().rev().find_map(|l| {
        let v = l.split("reattached=").nth(1)?;
        v.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    })
}

/// Poll `done` until it holds, for at most 20 s; panic naming `what` if it never does.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Removes the cgroups of the library runs' namespace on drop, after the harness (declared
/// before it) has killed and deleted their tasks.
struct CgroupGuard(String);

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        cleanup::remove_cgroups(&self.0);
    }
}

/// Create `n` containers through the library (network none), `per_shim` to a shim group
/// when given, start them, let them settle and read the memory.
async fn library_run(
    rt: &ContainerdRuntime,
    image: &str,
    n: usize,
    per_shim: Option<usize>,
    socket: &Path,
    containerd_pid: u32,
) -> Memory {
    for i in 0..n {
        let id = format!("g{i}");
        let mut request = ContainerRequest::new(id.clone(), image).cmd(["sleep", "100000"]);
        request.shim_group = per_shim.map(|size| format!("scale-{}", i / size));
        rt.create_container(&request)
            .await
            .unwrap_or_else(|e| panic!("create {id}: {e}"));
        rt.start_container(&id)
            .await
            .unwrap_or_else(|e| panic!("start {id}: {e}"));
    }
    tokio::time::sleep(SETTLE).await;
    Memory::read(socket, containerd_pid)
}

/// Remove the library runs' containers, SIGKILL at once (`sleep` as pid 1 ignores
/// SIGTERM), four at a time.
async fn library_remove(rt: &ContainerdRuntime, n: usize) {
    use futures::StreamExt;
    futures::stream::iter(0..n)
        .map(|i| async move {
            let id = format!("g{i}");
            rt.stop_container(&id, Duration::ZERO)
                .await
                .unwrap_or_else(|e| panic!("stop {id}: {e}"));
            rt.delete_container(&id)
                .await
                .unwrap_or_else(|e| panic!("delete {id}: {e}"));
        })
        .buffer_unordered(4)
        .collect::<()>()
        .await;
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
        .max(1);
    let line = deps::line();
    let tokio = tokio::runtime::Runtime::new().expect("a tokio runtime");

    let reg = Registry::start();
    let image = format!("{}/bench/busybox:scale", reg.addr());
    tokio.block_on(push(&image, &[busybox_layer()], &["sh"]));

    // Dropped after `w` (declared later), whose Drop kills and deletes every task first.
    let lib_ns = unique_namespace("scale-lib");
    let _cgroups = CgroupGuard(lib_ns.clone());
    let driver = std::env::var("WARREN_SCALE_LOG_DRIVER").unwrap_or_else(|_| "shim".into());
    let mut w =
        Warrend::start_with_config(Some(&reg.addr()), &format!("[logs]\ndriver = {driver:?}\n"));
    eprintln!("scale: warrend's log driver: {driver}");
    let dir = w.dir.path().to_path_buf();
    let bridge = w.bridge.clone();
    w.ok(&["pull", "-q", &image]);
    let socket = w.containerd_socket();
    let containerd_pid = w.containerd_pid() as u32;
    assert!(containerd_pid > 0, "no containerd pid file");

    // N containers on the bridge, through the CLI.
    let used_before = host_used();
    let ids: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let started = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        w.ok(&["run", "-d", "--name", id, &image, "sleep", "100000"]);
        if (i + 1) % 50 == 0 {
            eprintln!(
                "scale: {} running after {:.1} s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let start_all = started.elapsed();
    assert_eq!(running(&w), n, "not all containers run");
    std::thread::sleep(SETTLE);
    let used_after = host_used();

    let pid = w.pid();
    println!(
        "containerd {line}, N={n}: busybox `sleep 100000` on the bridge network, started one by one with `warrend run -d` in {:.1} s ({:.0} ms each)",
        start_all.as_secs_f64(),
        ms(start_all) / n as f64
    );

    // 1, 2: memory and threads.
    let (vm, anon) = rss(pid);
    let mut summaries =
        vec![Summary::new("scale", "rss", &line, vm as f64 / MIB, "MiB").at_most(RSS_GOAL_MIB)];
    println!(
        "warrend RSS with {n} running: VmRSS {:.1} MiB, RssAnon {:.1} MiB (goal < {RSS_GOAL_MIB:.0} MiB)",
        vm as f64 / MIB,
        anon as f64 / MIB
    );
    let (thread_count, named) = (threads(pid), threads_named(pid));
    println!(
        "warrend threads with {n} running, {} s after the last start: {} (goal < {THREADS_GOAL})",
        SETTLE.as_secs(),
        named
    );
    summaries.push(
        Summary::new("scale", "threads", &line, thread_count as f64, "")
            .at_most(THREADS_GOAL as f64),
    );

    // 3: idle CPU; containerd's and the shims' beside it.
    let shim_pids: Vec<u32> = cleanup::shims_of(&socket).iter().map(|s| s.pid).collect();
    let shims_cpu = || shim_pids.iter().map(|&p| cpu_seconds(p)).sum::<f64>();
    let (w0, c0, s0, t0) = (
        cpu_seconds(pid),
        cpu_seconds(containerd_pid),
        shims_cpu(),
        Instant::now(),
    );
    eprintln!("scale: idling {} s", IDLE.as_secs());
    std::thread::sleep(IDLE);
    let wall = t0.elapsed().as_secs_f64();
    let percent = |a: f64, b: f64| (b - a) / wall * 100.0;
    let idle_cpu = percent(w0, cpu_seconds(pid));
    println!(
        "warrend CPU idle over {:.0} s with {n} running: {:.2} % of one core (goal < {CPU_GOAL_PERCENT:.0} %)",
        wall,
        idle_cpu
    );
    summaries
        .push(Summary::new("scale", "idle_cpu", &line, idle_cpu, "%").at_most(CPU_GOAL_PERCENT));
    println!(
        "warrend threads after the {:.0} s idle: {} (no goal)",
        wall,
        threads_named(pid)
    );
    println!(
        "beside it over the same time (no goal): containerd {:.2} %, the {} shims {:.2} % together",
        percent(c0, cpu_seconds(containerd_pid)),
        shim_pids.len(),
        percent(s0, shims_cpu())
    );

    // 4: the CLI.
    let (ps, ps_min, ps_max) = cli_time(&w, &["ps"]);
    println!(
        "warrend ps with {n} running, spawn to exit, median of {CLI_SAMPLES}: {:.1} ms (range {:.1}-{:.1}) (goal < {} ms)",
        ms(ps),
        ms(ps_min),
        ms(ps_max),
        CLI_GOAL.as_millis()
    );
    let (one, one_min, one_max) = cli_time(&w, &["stats", "--interval", "0", &ids[0]]);
    println!(
        "warrend stats --interval 0 <one id> with {n} running, median of {CLI_SAMPLES}: {:.1} ms (range {:.1}-{:.1}) (goal < {} ms)",
        ms(one),
        ms(one_min),
        ms(one_max),
        CLI_GOAL.as_millis()
    );
    let cli_goal = ms(CLI_GOAL);
    summaries.push(Summary::time("scale", "ps", &line, ps).at_most(cli_goal));
    summaries.push(Summary::time("scale", "stats_one", &line, one).at_most(cli_goal));
    let mut all_args = vec!["stats", "--interval", "0"];
    all_args.extend(ids.iter().map(String::as_str));
    let (all, all_min, all_max) = cli_time(&w, &all_args);
    println!(
        "warrend stats --interval 0 <all {n} ids> (one Stats call per id, in turn), median of {CLI_SAMPLES}: {:.1} ms (range {:.1}-{:.1}; {:.2} ms per container) (no goal)",
        ms(all),
        ms(all_min),
        ms(all_max),
        ms(all) / n as f64
    );

    // 6 (before the restart, so the daemon is the one that started them): memory per
    // container.
    let mem = Memory::read(&socket, containerd_pid);
    println!(
        "PSS per container, warrend's {n} bridge containers: {} (no goal)",
        mem.per_container(n)
    );
    println!(
        "host memory in use (MemTotal - MemAvailable) grew by {:.2} MiB per container while they started (no goal; noisy on a shared host; includes the kernel's part: network namespaces, veths, mounts, page tables, cgroups)",
        used_after.saturating_sub(used_before) as f64 / MIB / n as f64
    );

    // 5: re-attach after kill -9.
    w.kill();
    let t = Instant::now();
    w.spawn();
    let took = t.elapsed();
    let reattached = last_reattached(&w.log());
    println!(
        "re-attach after kill -9 with {n} running: serving again {:.2} s after the start, log says reattached={} (goal < {} s)",
        took.as_secs_f64(),
        reattached.map_or_else(|| "(missing)".into(), |r| r.to_string()),
        REATTACH_GOAL.as_secs()
    );
    summaries.push(
        Summary::new("scale", "reattach", &line, took.as_secs_f64(), "s")
            .at_most(REATTACH_GOAL.as_secs_f64()),
    );
    assert_eq!(reattached, Some(n), "{}", w.log());
    assert_eq!(running(&w), n, "not all containers run after the restart");
    std::thread::sleep(SETTLE);
    let (vm, anon) = rss(w.pid());
    println!(
        "warrend RSS after the re-attach: VmRSS {:.1} MiB, RssAnon {:.1} MiB, threads {} (no goal)",
        vm as f64 / MIB,
        anon as f64 / MIB,
        threads_named(w.pid())
    );

    let removing = Instant::now();
    let mut rm = vec!["rm", "-f"];
    rm.extend(ids.iter().map(String::as_str));
    w.ok(&rm);
    assert_eq!(
        w.json(&["ps", "-a"]).as_array().map(Vec::len),
        Some(0),
        "rm -f left containers"
    );
    eprintln!(
        "scale: removed {n} in {:.1} s",
        removing.elapsed().as_secs_f64()
    );

    // 7: shim grouping, through the library on the same containerd.
    tokio.block_on(async {
        let rt = ContainerdRuntime::with_options(RuntimeOptions::default()
            .socket(socket.clone())
            .namespace(lib_ns.clone())
            .state_dir(dir.join("scale-lib"))
            .runc_binary(deps::tools_bin_dir().join("runc"))
            .log_driver(LogDriver::Shim(binary())))
        .expect("a runtime handle");

        let t = Instant::now();
        let single = library_run(&rt, &image, n, None, &socket, containerd_pid).await;
        eprintln!(
            "scale: library, a shim each: {n} in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        library_remove(&rt, n).await;
        let t = Instant::now();
        let grouped = library_run(
            &rt,
            &image,
            n,
            Some(GROUP),
            &socket,
            containerd_pid,
        )
        .await;
        eprintln!(
            "scale: library, {GROUP} per shim: {n} in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        assert_eq!(
            grouped.shims.count,
            n.div_ceil(GROUP),
            "the containers did not share shims"
        );
        library_remove(&rt, n).await;
        wait_until("the library runs' shims exit", || {
            cleanup::shims_of(&socket).is_empty()
        });

        println!(
            "PSS per container, library, network none, a shim each: {} (no goal)",
            single.per_container(n)
        );
        println!(
            "PSS per container, library, network none, {GROUP} per shim ({GROUP_ANNOTATION}): {} (no goal)",
            grouped.per_container(n)
        );
        let (a, b) = (
            single.total_pss() as f64 / MIB / n as f64,
            grouped.total_pss() as f64 / MIB / n as f64,
        );
        let (sa, sb) = (
            single.shims.pss as f64 / MIB / n as f64,
            grouped.shims.pss as f64 / MIB / n as f64,
        );
        println!(
            "shim grouping saved {:.2} MiB PSS per container ({:.0} % of the total; the shims' part went from {:.2} to {:.2} MiB), {:.0} MiB for {n} containers (no goal)",
            a - b,
            (a - b) / a * 100.0,
            sa,
            sb,
            (a - b) * n as f64
        );
    });

    // Teardown: warrend stops its containerd; Drop removes the rest (the bridge too).
    let status = w.terminate(Duration::from_secs(60));
    assert!(status.success(), "warrend exited with {status}");
    drop(w);
    drop(reg);
    let dir_text = dir.display().to_string();
    wait_until("no process of the bench is left", || {
        processes().values().all(|(_, argv)| {
            let ours = argv.iter().any(|a| a.contains(&dir_text));
            let sleeper = argv.iter().map(String::as_str).eq(["sleep", "100000"]);
            !ours && !sleeper
        })
    });
    assert!(
        !Path::new("/sys/class/net").join(&bridge).exists(),
        "bridge {bridge} left"
    );
    assert!(!dir.exists(), "{} left", dir.display());
    println!("teardown: no process, bridge or folder left");
    print_all(&summaries);
}
