//! `cargo xtask bench network`: what bridge networking costs per container.
//!
//! 1. The network alone: median of N × (pinned netns, CNI ADD of loopback and bridge +
//!    host-local, CNI DEL, netns removed), the steps the runtime takes, without containerd.
//! 2. In context: median of N create → delete of a `true` container, with
//!    `NetworkMode::None` against `NetworkMode::Bridge` (the above plus hosts/resolv.conf
//!    and the cached result), alternating, on the same daemon and image.
//!
//! At the end, one `summary:` line per figure (see `warren_tests::bench_summary`); none
//! has a goal or a containerd anchor.

use std::time::{Duration, Instant};

use std::path::Path;

use warren_runtime::{
    ContainerRequest, ContainerdRuntime, NetworkConfig, NetworkMode, PullOptions, RuntimeOptions,
};
use warren_tests::bench_summary::{print_all, Summary};
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::{cleanup, deps};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn cycle(rt: &ContainerdRuntime, image: &str, id: &str, network: NetworkMode) -> Duration {
    let req = ContainerRequest::new(id, image)
        .cmd(["true"])
        .network(network);
    let t = Instant::now();
    rt.create_container(&req).await.expect("create");
    rt.delete_container(id).await.expect("delete");
    t.elapsed()
}

/// One netns + ADD + DEL, as the runtime does it for a bridge container without ports.
async fn add_del(net: &NetworkConfig, dir: &Path, id: &str) -> Duration {
    let t = Instant::now();
    warren_runtime::network::bench::add_del(net, dir, id)
        .await
        .expect("netns, ADD and DEL");
    t.elapsed()
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
        .max(1);
    let (dir, sup) = warren_tests::daemon::private_in_tmp("wnb-").await;
    let reg = Registry::start();
    let image = format!("{}/bench/busybox:net", reg.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    let bridge = format!("wnb{:05x}", rand::random::<u32>() & 0xfffff);
    let rt = ContainerdRuntime::with_options(
        RuntimeOptions::default()
            .socket(sup.address().to_path_buf())
            .namespace("bench-network")
            .state_dir(dir.path().join("warren"))
            .network(
                NetworkConfig::default()
                    .name("wnb")
                    .bridge(bridge.clone())
                    .subnet("10.209.0.0/24")
                    .plugin_dir(deps::cni_bin_dir())
                    .ipam_dir(dir.path().join("ipam")),
            ),
    )
    .unwrap();
    rt.pull_image(&image, &PullOptions::default())
        .await
        .expect("pull");
    let net = rt.network_config().clone();
    add_del(&net, dir.path(), "warm").await;
    let mut direct = Vec::new();
    for i in 0..runs {
        direct.push(add_del(&net, dir.path(), &format!("d{i}")).await);
    }
    let direct = median(direct);
    println!(
        "containerd {}: netns + CNI ADD (loopback, bridge + host-local) + DEL, median of \
         {runs}: {:.1} ms",
        deps::line(),
        direct.as_secs_f64() * 1e3
    );
    let bridged = || NetworkMode::Bridge { ports: vec![] };
    cycle(&rt, &image, "warm-none", NetworkMode::None).await;
    cycle(&rt, &image, "warm-bridge", bridged()).await;
    let (mut none, mut bridge_times) = (Vec::new(), Vec::new());
    for i in 0..runs {
        none.push(cycle(&rt, &image, &format!("n{i}"), NetworkMode::None).await);
        bridge_times.push(cycle(&rt, &image, &format!("b{i}"), bridged()).await);
    }
    let (n, b) = (median(none), median(bridge_times));
    println!(
        "containerd {}: create+delete, median of {runs}: no network {:.1} ms, bridge {:.1} ms: \
         bridge networking adds {:.1} ms per container",
        deps::line(),
        n.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        (b.as_secs_f64() - n.as_secs_f64()) * 1e3
    );
    let _ = std::process::Command::new("ip")
        .args(["link", "del", &bridge])
        .output();
    let line = deps::line();
    print_all(&[
        Summary::time("network", "cni_add_del", &line, direct),
        Summary::time("network", "create_delete_none", &line, n),
        Summary::time("network", "create_delete_bridge", &line, b),
    ]);
    drop(reg);
    sup.shutdown().await.unwrap();
    cleanup::unmount_under(dir.path());
}
