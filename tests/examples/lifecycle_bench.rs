//! `cargo xtask bench lifecycle`: create → start → wait → delete of `true` in busybox, ours
//! (with Warren's default seccomp profile) against `ctr run --rm` and `ctr run --rm
//! --seccomp` (ctr's default profile) on the same daemon and image, in turn, then 50 of each
//! at once. Prints the medians, the ratios, where our time goes per containerd RPC (from the
//! `warren::rpc` timing events of warren-proto), a table of the start path's steps, and at
//! the end one `summary:` line per figure (see `warren_tests::bench_summary`).
//!
//! The steps are timed from the bench's own calls (`create_container`, `start_container`,
//! `wait_container`, `delete_container`) and, inside them, by a `tracing` layer that keeps
//! the time of each containerd call (the `warren_runtime::containerd` trace events, made as a
//! call begins) and of each reply (the `warren::rpc` events, with the call's round trip).
//! "First output byte" comes from a second series running `echo` attached
//! (`start_attached`): from the `Tasks.Start` reply to the first byte read.
//!
//! Containers log through the shim's logger (`warren-logger`, the library's default where
//! it is installed; the xtask builds it). `WARREN_BENCH_LOG_DRIVER=in-process` copies output
//! in this process instead, and leaves out the first-byte series.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;
use warren_proto::timing::RPC_TARGET;
use warren_runtime::{
    AttachOutput, ContainerRequest, ContainerdRuntime, LogDriver, PullOptions, RuntimeOptions,
};
use warren_tests::bench_summary::{print_all, Summary};
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::{cleanup, deps};

const CONCURRENT: usize = 50;
/// Ours / `ctr run --rm`, one lifecycle at a time and 50 at once.
const GOAL: f64 = 0.7;
/// The target of the event the runtime makes as each containerd call begins.
const CALL_TARGET: &str = "warren_runtime::containerd";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// What the clock saw: a containerd call made (its name, e.g. `Leases.Create`), or an RPC's
/// reply (its gRPC path and round trip).
enum Mark {
    Call(String),
    Reply { rpc: String, micros: u64 },
}

/// A `tracing` layer that, while `recording` is set, keeps the time of each containerd call
/// and RPC reply of the runtime. It takes no interest in any other event or span, so the
/// rest of the stack (tonic, h2, the runtime's spans) runs as without a subscriber.
#[derive(Clone, Default)]
struct Clock {
    recording: Arc<AtomicBool>,
    marks: Arc<Mutex<Vec<(Instant, Mark)>>>,
}

impl Clock {
    fn start(&self) {
        self.marks.lock().unwrap().clear();
        self.recording.store(true, Ordering::Relaxed);
    }

    fn stop(&self) -> Vec<(Instant, Mark)> {
        self.recording.store(false, Ordering::Relaxed);
        std::mem::take(&mut *self.marks.lock().unwrap())
    }
}

#[derive(Default)]
struct Fields {
    call: String,
    rpc: String,
    micros: u64,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "micros" {
            self.micros = value;
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "call" {
            self.call = value.to_string();
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "rpc" => self.rpc = format!("{value:?}"),
            "call" => self.call = format!("{value:?}"),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Clock {
    fn register_callsite(&self, meta: &'static tracing::Metadata<'static>) -> Interest {
        // By target alone: the RPC timer asks `enabled!` (a hint, not an event) first.
        if meta.target() == RPC_TARGET || meta.target() == CALL_TARGET {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if !self.recording.load(Ordering::Relaxed) {
            return;
        }
        let now = Instant::now();
        let mut f = Fields::default();
        event.record(&mut f);
        let mark = if event.metadata().target() == RPC_TARGET {
            Mark::Reply {
                rpc: f.rpc,
                micros: f.micros,
            }
        } else {
            Mark::Call(f.call)
        };
        self.marks.lock().unwrap().push((now, mark));
    }
}

/// The steps of the start path, each a list of one value per run.
#[derive(Default)]
struct Steps {
    create: Vec<Duration>,
    checks: Vec<Duration>,
    spec: Vec<Duration>,
    snapshot: Vec<Duration>,
    start: Vec<Duration>,
    task_create: Vec<Duration>,
    task_start: Vec<Duration>,
    first_byte: Vec<Duration>,
    exit: Vec<Duration>,
    delete: Vec<Duration>,
    /// Per RPC path: calls, total µs.
    rpcs: HashMap<String, (u64, u64)>,
}

impl Steps {
    /// Take in one recorded lifecycle that began at `t0`: its marks, and the bench's own
    /// times of create, start, wait and delete.
    fn add(&mut self, t0: Instant, marks: &[(Instant, Mark)], calls: [Duration; 4]) {
        let [create, start, wait, delete] = calls;
        self.create.push(create);
        self.start.push(start);
        self.exit.push(wait);
        self.delete.push(delete);
        for (_, m) in marks {
            if let Mark::Reply { rpc, micros } = m {
                let e = self.rpcs.entry(rpc.clone()).or_default();
                e.0 += 1;
                e.1 += micros;
            }
        }
        // Validation (a stand-in spec build included) until the first containerd call.
        if let Some((t, _)) = marks.iter().find(|(_, m)| matches!(m, Mark::Call(_))) {
            self.checks.push(t.saturating_duration_since(t0));
        }
        // The spec and the container record: from the last reply before the create's lease
        // (the image lookup's) until the lease is asked for.
        let lease = marks
            .iter()
            .position(|(_, m)| matches!(m, Mark::Call(c) if c == "Leases.Create"));
        if let Some(i) = lease {
            let before = marks[..i]
                .iter()
                .rev()
                .find(|(_, m)| matches!(m, Mark::Reply { .. }))
                .map_or(t0, |(t, _)| *t);
            self.spec.push(marks[i].0.saturating_duration_since(before));
        }
        for (suffix, all) in [
            ("Snapshots/Prepare", &mut self.snapshot),
            ("Tasks/Create", &mut self.task_create),
            ("Tasks/Start", &mut self.task_start),
        ] {
            if let Some(micros) = round_trip(marks, suffix) {
                all.push(micros);
            }
        }
    }
}

/// The round trip of the first RPC whose path ends with `suffix`.
fn round_trip(marks: &[(Instant, Mark)], suffix: &str) -> Option<Duration> {
    marks.iter().find_map(|(_, m)| match m {
        Mark::Reply { rpc, micros } if rpc.ends_with(suffix) => {
            Some(Duration::from_micros(*micros))
        }
        _ => None,
    })
}

/// When the reply to the first RPC whose path ends with `suffix` came.
fn reply_at(marks: &[(Instant, Mark)], suffix: &str) -> Option<Instant> {
    marks.iter().find_map(|(t, m)| match m {
        Mark::Reply { rpc, .. } if rpc.ends_with(suffix) => Some(*t),
        _ => None,
    })
}

/// The median, or `None` for no values.
fn median_of(v: &[Duration]) -> Option<Duration> {
    (!v.is_empty()).then(|| median(v.to_vec()))
}

fn ctr(address: &std::path::Path, ns: &str, args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(deps::containerd_bin_dir().join("ctr"));
    c.arg("--address").arg(address).args(["-n", ns]).args(args);
    c.stdin(std::process::Stdio::null());
    c
}

/// `ctr run --rm IMAGE ID true`, with ctr's default seccomp profile if `seccomp`.
async fn ctr_run(address: &std::path::Path, ns: &str, image: &str, id: &str, seccomp: bool) {
    let mut args = vec!["run", "--rm"];
    if seccomp {
        args.push("--seccomp");
    }
    args.extend([image, id, "true"]);
    let out = ctr(address, ns, &args).output().await.expect("ctr");
    assert!(
        out.status.success(),
        "ctr run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn ours_run(rt: &ContainerdRuntime, image: &str, id: &str) -> [Duration; 4] {
    ours_run_with(rt, image, id, warren_spec::Security::default()).await
}

/// One lifecycle with `security` (the default: seccomp on, as every container gets it).
async fn ours_run_with(
    rt: &ContainerdRuntime,
    image: &str,
    id: &str,
    security: warren_spec::Security,
) -> [Duration; 4] {
    let req = ContainerRequest::new(id, image)
        .cmd(["true"])
        .security(security);
    let t0 = Instant::now();
    rt.create_container(&req).await.expect("create");
    let t1 = Instant::now();
    rt.start_container(id).await.expect("start");
    let t2 = Instant::now();
    let exit = rt.wait_container(id).await.expect("wait");
    assert_eq!(exit.code, 0);
    let t3 = Instant::now();
    rt.delete_container(id).await.expect("delete");
    [t1 - t0, t2 - t1, t3 - t2, t3.elapsed()]
}

/// One lifecycle of `echo x` started attached: the time from the `Tasks.Start` reply to
/// the first byte read from the attachment.
async fn first_byte(rt: &ContainerdRuntime, clock: &Clock, image: &str, id: &str) -> Duration {
    let req = ContainerRequest::new(id, image).cmd(["echo", "x"]);
    rt.create_container(&req).await.expect("create");
    clock.start();
    let (_, mut attached) = rt.start_attached(id).await.expect("start attached");
    let first = loop {
        match attached.output.next().await {
            Some(Ok(AttachOutput::Stdout(b))) if !b.is_empty() => break Instant::now(),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("reading {id}'s output: {e}"),
            None => panic!("{id}'s output ended without a byte"),
        }
    };
    let marks = clock.stop();
    drop(attached);
    let exit = rt.wait_container(id).await.expect("wait");
    assert_eq!(exit.code, 0);
    rt.delete_container(id).await.expect("delete");
    let started = reply_at(&marks, "Tasks/Start").expect("a Tasks.Start reply");
    first.saturating_duration_since(started)
}

/// The start path's steps as a table: median, and how each is measured.
fn print_steps(steps: &Steps, runs: usize) {
    let rows: [(&str, &[Duration], &str); 10] = [
        ("create_container", &steps.create, "the call (bench clock)"),
        (
            "  checks",
            &steps.checks,
            "call → first containerd call: validation, a stand-in spec build",
        ),
        (
            "  spec",
            &steps.spec,
            "image lookup's last reply → Leases.Create: spec and record built",
        ),
        (
            "  snapshot",
            &steps.snapshot,
            "Snapshots.Prepare round trip (warren::rpc)",
        ),
        ("start_container", &steps.start, "the call (bench clock)"),
        (
            "  task create",
            &steps.task_create,
            "Tasks.Create round trip (shim and runc create)",
        ),
        ("  start", &steps.task_start, "Tasks.Start round trip"),
        (
            "first output byte",
            &steps.first_byte,
            "`echo` series: Tasks.Start reply → first byte read attached",
        ),
        (
            "exit",
            &steps.exit,
            "start_container's return → wait_container's (bench clock)",
        ),
        ("delete_container", &steps.delete, "the call (bench clock)"),
    ];
    println!("  start path, ours, medians of {runs}:");
    println!("    {:<20} {:>9}  measured as", "step", "median");
    for (name, values, how) in rows {
        let median =
            median_of(values).map_or_else(|| "n/a".to_string(), |d| format!("{:.2} ms", ms(d)));
        println!("    {name:<20} {median:>9}  {how}");
    }
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
        .max(1);
    let clock = Clock::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(clock.clone()))
        .expect("the only subscriber");
    let in_process = std::env::var("WARREN_BENCH_LOG_DRIVER").is_ok_and(|d| d == "in-process");
    let log_driver = if in_process {
        LogDriver::InProcess
    } else {
        LogDriver::Shim(warren_tests::logger_binary())
    };

    let (dir, sup) = warren_tests::daemon::private_in_tmp("wlb-").await;
    let address = sup.address().to_path_buf();
    let reg = Registry::start();
    let image = format!("{}/bench/busybox:lc", reg.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    let ns = "bench-lifecycle";
    let rt = ContainerdRuntime::with_options(
        RuntimeOptions::default()
            .socket(address.clone())
            .namespace(ns)
            .state_dir(dir.path().join("warren"))
            .log_driver(log_driver),
    )
    .unwrap();
    rt.pull_image(&image, &PullOptions::default())
        .await
        .expect("pull");
    // Warm every path (shim binary in the page cache, connections set up).
    ours_run(&rt, &image, "warm-ours").await;
    ctr_run(&address, ns, &image, "warm-ctr", false).await;
    ctr_run(&address, ns, &image, "warm-ctr-seccomp", true).await;

    let (mut ours, mut theirs, mut theirs_seccomp, mut unconfined) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let no_seccomp = warren_spec::Security::default().seccomp(warren_spec::Seccomp::Unconfined);
    let mut steps = Steps::default();
    for i in 0..runs {
        // Ours without a seccomp filter, to see what the filter costs.
        let t = Instant::now();
        ours_run_with(&rt, &image, &format!("u{i}"), no_seccomp.clone()).await;
        unconfined.push(t.elapsed());
        // The three in a rotating order, so no path always goes first.
        for turn in 0..3 {
            match (i + turn) % 3 {
                0 => {
                    clock.start();
                    let t = Instant::now();
                    let calls = ours_run(&rt, &image, &format!("o{i}")).await;
                    ours.push(t.elapsed());
                    steps.add(t, &clock.stop(), calls);
                }
                1 => {
                    let t = Instant::now();
                    ctr_run(&address, ns, &image, &format!("c{i}"), false).await;
                    theirs.push(t.elapsed());
                }
                _ => {
                    let t = Instant::now();
                    ctr_run(&address, ns, &image, &format!("s{i}"), true).await;
                    theirs_seccomp.push(t.elapsed());
                }
            }
        }
    }
    if !in_process {
        first_byte(&rt, &clock, &image, "warm-echo").await;
        for i in 0..runs {
            let took = first_byte(&rt, &clock, &image, &format!("e{i}")).await;
            steps.first_byte.push(took);
        }
    }

    let (o, c, cs) = (median(ours), median(theirs), median(theirs_seccomp));
    let line = deps::line();
    println!(
        "containerd {line}: lifecycle of `true`, median of {runs}: ours {:.1} ms, ctr run --rm {:.1} ms, ratio {:.2} (goal <= {GOAL})",
        ms(o),
        ms(c),
        o.as_secs_f64() / c.as_secs_f64()
    );
    println!(
        "  with a seccomp filter on both sides: ours (Warren's default profile) {:.1} ms, ctr run --rm --seccomp (ctr's default profile) {:.1} ms, ratio {:.2}",
        ms(o),
        ms(cs),
        o.as_secs_f64() / cs.as_secs_f64()
    );
    let u = median(unconfined);
    println!(
        "  seccomp: default profile {:.1} ms, unconfined {:.1} ms, ratio {:.2}",
        ms(o),
        ms(u),
        o.as_secs_f64() / u.as_secs_f64()
    );
    let m = |v: &[Duration]| median_of(v).map_or(0.0, ms);
    println!(
        "  ours by step (medians): create {:.1} ms, start {:.1} ms, wait {:.1} ms, delete {:.1} ms",
        m(&steps.create),
        m(&steps.start),
        m(&steps.exit),
        m(&steps.delete)
    );
    let mut rpcs: Vec<_> = steps.rpcs.iter().collect();
    rpcs.sort_by_key(|(_, (_, total))| std::cmp::Reverse(*total));
    let all: u64 = rpcs.iter().map(|(_, (_, t))| t).sum();
    println!("  our RPCs per lifecycle (daemon time, share of all RPC time):");
    for (rpc, (calls, total)) in rpcs.iter().take(8) {
        println!(
            "    {:<52} {:>4.1} calls  {:>6.2} ms  {:>4.1}%",
            rpc.trim_start_matches("/containerd.services."),
            *calls as f64 / runs as f64,
            *total as f64 / 1e3 / runs as f64,
            100.0 * *total as f64 / all.max(1) as f64
        );
    }
    print_steps(&steps, runs);

    // 50 at once: one handle, against 50 ctr processes.
    let t = Instant::now();
    let handles: Vec<_> = (0..CONCURRENT)
        .map(|i| {
            let (rt, image) = (rt.clone(), image.clone());
            tokio::spawn(async move { ours_run(&rt, &image, &format!("po{i}")).await })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let ours_batch = t.elapsed();
    let t = Instant::now();
    let handles: Vec<_> = (0..CONCURRENT)
        .map(|i| {
            let (address, image) = (address.clone(), image.clone());
            tokio::spawn(
                async move { ctr_run(&address, ns, &image, &format!("pc{i}"), false).await },
            )
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let ctr_batch = t.elapsed();
    println!(
        "containerd {line}: {CONCURRENT} lifecycles at once: ours {:.0} ms, ctr {:.0} ms, ratio {:.2} (goal <= {GOAL})",
        ms(ours_batch),
        ms(ctr_batch),
        ours_batch.as_secs_f64() / ctr_batch.as_secs_f64()
    );
    assert!(rt.list_containers().await.unwrap().is_empty());

    let summary = |figure: &str, d: Duration| Summary::time("lifecycle", figure, &line, d);
    let summaries = [
        summary("run_rm", o).anchor_time(c).at_most(GOAL),
        summary("run_rm_vs_ctr_seccomp", o).anchor_time(cs),
        summary("run_rm_unconfined", u).anchor_time(c),
        summary("run_rm_50_at_once", ours_batch)
            .anchor_time(ctr_batch)
            .at_most(GOAL),
    ];
    print_all(&summaries);

    drop(reg);
    sup.shutdown().await.unwrap();
    cleanup::unmount_under(dir.path());
}
