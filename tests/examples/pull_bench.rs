//! `cargo xtask bench pull`: pull + unpack of a 5-layer, ~120 MB image from a local registry,
//! ours against `ctr images pull` on the same daemon, alternating, each run into a fresh
//! namespace (an empty content store). Prints the medians and their ratio, and at the end
//! one `summary:` line per figure (see `warren_tests::bench_summary`): ours (client-side,
//! unpacked by Warren) against ctr with its goal, and the other two ways, without one.
//!
//! With `WARREN_BENCH_TIMELINE=1` it also prints, for each of our pulls, when each layer
//! finished downloading and unpacking (ms since the pull began): where the time goes.

use std::process::Command;
use std::time::{Duration, Instant};

use warren_runtime::{
    ContainerdRuntime, LayerUnpack, PullMode, PullOptions, PullProgress, RuntimeOptions,
};
use warren_tests::bench_summary::{print_all, Summary};
use warren_tests::images::{busybox_layer, layer, push, Entry};
use warren_tests::registry::Registry;
use warren_tests::{cleanup, deps};

/// Ours (client-side, unpacked by Warren) / `ctr images pull`.
const GOAL: f64 = 0.6;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A layer of `mib` MiB of incompressible bytes.
fn random_layer(name: &str, mib: usize) -> warren_tests::images::Layer {
    let data: Vec<u8> = (0..mib * 1024 * 1024)
        .map(|_| rand::random::<u8>())
        .collect();
    layer(&[Entry::File(name, &data, 0o644)])
}

/// "resolved 5, d0 12, u0 30, d1 400, ... done 900": the ms at which each layer was
/// downloaded and unpacked.
struct Timeline {
    start: Instant,
    order: Vec<String>,
    out: Vec<String>,
}

impl Timeline {
    fn new(start: Instant) -> Timeline {
        Timeline {
            start,
            order: Vec::new(),
            out: Vec::new(),
        }
    }

    fn index(&mut self, digest: &str) -> usize {
        match self.order.iter().position(|o| o == digest) {
            Some(i) => i,
            None => {
                self.order.push(digest.to_string());
                self.order.len() - 1
            }
        }
    }

    fn record(&mut self, event: PullProgress) {
        let ms = self.start.elapsed().as_millis();
        let line = match event {
            PullProgress::Resolved { layers } => {
                self.order = layers.into_iter().map(|(d, _)| d).collect();
                format!("resolved {ms}")
            }
            PullProgress::Downloaded { digest, .. } => format!("d{} {ms}", self.index(&digest)),
            PullProgress::Unpacked { digest } => format!("u{} {ms}", self.index(&digest)),
            PullProgress::Done { .. } => format!("done {ms}"),
            _ => return,
        };
        self.out.push(line);
    }

    fn finish(self) -> String {
        self.out.join(", ")
    }
}

/// CPU time (user + system, ms) used so far by this process, containerd and the registry.
fn cpu_now(containerd: Option<u32>, registry: u32) -> [i64; 3] {
    let tick = 1000
        / nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .unwrap_or(100);
    let of = |pid: Option<u32>| -> i64 {
        let path = match pid {
            Some(p) => format!("/proc/{p}/stat"),
            None => "/proc/self/stat".into(),
        };
        let stat = std::fs::read_to_string(path).unwrap_or_default();
        // Fields after the ")" that ends the command name: utime and stime are 12th and 13th.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<i64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) * tick
    };
    [
        of(None),
        containerd.map_or(0, |p| of(Some(p))),
        of(Some(registry)),
    ]
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let (dir, sup) = warren_tests::daemon::private_in_tmp("wpb-").await;
    let reg = Registry::start();
    let reference = format!("{}/bench/big:v1", reg.addr());
    let mut layers = vec![busybox_layer()];
    for i in 0..4 {
        layers.push(random_layer(&format!("blob{i}"), 30));
    }
    let total: usize = layers.iter().map(|l| l.gz.len()).sum();
    push(&reference, &layers, &["sh"]).await;

    let (mut ours, mut daemon_unpack, mut server, mut theirs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut has_transfer = true;
    let timeline = std::env::var_os("WARREN_BENCH_TIMELINE").is_some();
    for i in 0..runs {
        for (mode, unpack, times) in [
            (PullMode::Client, LayerUnpack::Auto, &mut ours),
            (PullMode::Client, LayerUnpack::Daemon, &mut daemon_unpack),
            (PullMode::Server, LayerUnpack::Daemon, &mut server),
        ] {
            if mode == PullMode::Server && !has_transfer {
                continue;
            }
            let ns = format!("bench-ours-{mode:?}-{unpack:?}-{i}");
            let rt = ContainerdRuntime::with_options(
                RuntimeOptions::default()
                    .socket(sup.address().to_path_buf())
                    .namespace(ns)
                    .layer_unpack(unpack),
            )
            .unwrap();
            let options = PullOptions::default().mode(mode);
            let cpu = cpu_now(sup.pid(), reg.pid());
            let t = Instant::now();
            let mut timeline_of = Timeline::new(t);
            let pulled = if timeline {
                rt.pull_image_stream(&reference, &options)
                    .finish(|p| timeline_of.record(p))
                    .await
            } else {
                rt.pull_image(&reference, &options).await
            };
            let events = timeline_of.finish();
            match pulled {
                Ok(_) => {
                    times.push(t.elapsed());
                    if timeline {
                        let after = cpu_now(sup.pid(), reg.pid());
                        println!(
                            "{mode:?}/{unpack:?} run {i}: {events}; cpu ms: ours {}, containerd {}, registry {}",
                            after[0] - cpu[0],
                            after[1] - cpu[1],
                            after[2] - cpu[2]
                        );
                    }
                }
                Err(warren_runtime::RuntimeError::InvalidRequest { .. }) => {
                    has_transfer = false;
                    continue;
                }
                Err(e) => panic!("our {mode:?} pull: {e}"),
            }
            rt.remove_image(&reference).await.unwrap();
        }

        let ns = format!("bench-ctr-{i}");
        let t = Instant::now();
        let out = Command::new(deps::containerd_bin_dir().join("ctr"))
            .arg("--address")
            .arg(sup.address())
            .args(["-n", &ns, "images", "pull", "--plain-http", &reference])
            .output()
            .expect("ctr");
        theirs.push(t.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = Command::new(deps::containerd_bin_dir().join("ctr"))
            .arg("--address")
            .arg(sup.address())
            .args(["-n", &ns, "images", "rm", "--sync", &reference])
            .output();
    }
    let (o, d, c) = (median(ours), median(daemon_unpack), median(theirs));
    println!(
        "containerd {}: pull+unpack of {:.0} MB in 5 layers, median of {runs}: ctr {:.0} ms; \
         ours client-side, unpacked by Warren {:.0} ms, ratio {:.2} (goal <= {GOAL}); \
         unpacked by containerd's Diff.Apply {:.0} ms, ratio {:.2}",
        deps::line(),
        total as f64 / 1e6,
        c.as_secs_f64() * 1e3,
        o.as_secs_f64() * 1e3,
        o.as_secs_f64() / c.as_secs_f64(),
        d.as_secs_f64() * 1e3,
        d.as_secs_f64() / c.as_secs_f64()
    );
    let line = deps::line();
    let summary =
        |figure: &str, d: Duration| Summary::time("pull", figure, &line, d).anchor_time(c);
    let mut summaries = vec![
        summary("pull_client", o).at_most(GOAL),
        summary("pull_client_daemon_unpack", d),
    ];
    if !server.is_empty() {
        let s = median(server);
        summaries.push(summary("pull_server_transfer", s));
        println!(
            "containerd {}: ours server-side (Transfer service) {:.0} ms, ratio to ctr {:.2}",
            deps::line(),
            s.as_secs_f64() * 1e3,
            s.as_secs_f64() / c.as_secs_f64()
        );
    }
    print_all(&summaries);
    drop(reg);
    sup.shutdown().await.unwrap();
    cleanup::unmount_under(dir.path());
}
