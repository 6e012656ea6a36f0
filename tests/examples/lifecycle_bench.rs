//! `cargo xtask bench lifecycle`: create → start → wait → delete of `true` in busybox, ours
//! against `ctr run --rm` on the same daemon and image, alternating, then 50 of each at once.
//! Prints the medians, the ratios, and where our time goes per containerd RPC (from the
//! `warren::rpc` timing events of warren-proto).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;
use warren_proto::timing::RPC_TARGET;
use warren_runtime::{ContainerRequest, ContainerdRuntime, PullOptions, RuntimeOptions};
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::{cleanup, deps};

const CONCURRENT: usize = 50;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Sums the per-RPC timing events while `recording` is set: path → (calls, total µs).
#[derive(Clone, Default)]
struct RpcProfile {
    recording: Arc<AtomicBool>,
    totals: Arc<Mutex<HashMap<String, (u64, u64)>>>,
}

#[derive(Default)]
struct RpcFields {
    rpc: String,
    micros: u64,
}

impl Visit for RpcFields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "micros" {
            self.micros = value;
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "rpc" {
            self.rpc = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for RpcProfile {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != RPC_TARGET || !self.recording.load(Ordering::Relaxed) {
            return;
        }
        let mut fields = RpcFields::default();
        event.record(&mut fields);
        let mut totals = self.totals.lock().unwrap();
        let entry = totals.entry(fields.rpc).or_default();
        entry.0 += 1;
        entry.1 += fields.micros;
    }
}

fn ctr(address: &std::path::Path, ns: &str, args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(deps::containerd_bin_dir().join("ctr"));
    c.arg("--address").arg(address).args(["-n", ns]).args(args);
    c.stdin(std::process::Stdio::null());
    c
}

async fn ctr_run(address: &std::path::Path, ns: &str, image: &str, id: &str) {
    let out = ctr(address, ns, &["run", "--rm", image, id, "true"])
        .output()
        .await
        .expect("ctr");
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

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
        .max(1);
    let profile = RpcProfile::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(profile.clone()))
        .unwrap();

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
            .state_dir(dir.path().join("warren")),
    )
    .unwrap();
    rt.pull_image(&image, &PullOptions::default())
        .await
        .expect("pull");
    // Warm both paths (shim binary in the page cache, connections set up).
    ours_run(&rt, &image, "warm-ours").await;
    ctr_run(&address, ns, &image, "warm-ctr").await;

    let (mut ours, mut theirs, mut unconfined) = (Vec::new(), Vec::new(), Vec::new());
    let no_seccomp = warren_spec::Security::default().seccomp(warren_spec::Seccomp::Unconfined);
    let mut steps: [Vec<Duration>; 4] = Default::default();
    for i in 0..runs {
        // Ours without a seccomp filter, to see what the filter costs (ctr runs without one).
        let t = Instant::now();
        ours_run_with(&rt, &image, &format!("u{i}"), no_seccomp.clone()).await;
        unconfined.push(t.elapsed());
        for turn in 0..2 {
            if (i + turn) % 2 == 0 {
                profile.recording.store(true, Ordering::Relaxed);
                let t = Instant::now();
                let s = ours_run(&rt, &image, &format!("o{i}")).await;
                ours.push(t.elapsed());
                profile.recording.store(false, Ordering::Relaxed);
                for (all, one) in steps.iter_mut().zip(s) {
                    all.push(one);
                }
            } else {
                let t = Instant::now();
                ctr_run(&address, ns, &image, &format!("c{i}")).await;
                theirs.push(t.elapsed());
            }
        }
    }
    let (o, c) = (median(ours), median(theirs));
    let line = deps::line();
    println!(
        "containerd {line}: lifecycle of `true`, median of {runs}: ours {:.1} ms, ctr run --rm {:.1} ms, ratio {:.2} (goal <= 0.85)",
        ms(o),
        ms(c),
        o.as_secs_f64() / c.as_secs_f64()
    );
    let u = median(unconfined);
    println!(
        "  seccomp: default profile {:.1} ms, unconfined {:.1} ms, ratio {:.2}",
        ms(o),
        ms(u),
        o.as_secs_f64() / u.as_secs_f64()
    );
    let [create, start, wait, delete] = steps.map(median);
    println!(
        "  ours by step (medians): create {:.1} ms, start {:.1} ms, wait {:.1} ms, delete {:.1} ms",
        ms(create),
        ms(start),
        ms(wait),
        ms(delete)
    );
    let mut rpcs: Vec<_> = profile.totals.lock().unwrap().drain().collect();
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
            tokio::spawn(async move { ctr_run(&address, ns, &image, &format!("pc{i}")).await })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let ctr_batch = t.elapsed();
    println!(
        "containerd {line}: {CONCURRENT} lifecycles at once: ours {:.0} ms, ctr {:.0} ms, ratio {:.2}",
        ms(ours_batch),
        ms(ctr_batch),
        ours_batch.as_secs_f64() / ctr_batch.as_secs_f64()
    );
    assert!(rt.list_containers().await.unwrap().is_empty());

    drop(reg);
    sup.shutdown().await.unwrap();
    cleanup::unmount_under(dir.path());
}
