//! Harness for Warren's integration tests.
//!
//! The tests in `tests/tests/` run against real containerd daemons, real runc and (later) a
//! real registry. `cargo xtask integration --containerd <line>` fetches the pinned binaries and
//! runs this crate's tests once per containerd line, telling them which line through
//! environment variables (see [`deps`]). Each test binary shares one private daemon
//! ([`daemon::shared`]); each test works in its own containerd namespace ([`unique_namespace`]).

pub mod bench_summary;
pub mod busybox;
pub mod cleanup;
pub mod containers;
pub mod daemon;
pub mod deps;
pub mod hostile_registry;
pub mod hostile_tar;
pub mod image_ns;
pub mod images;
pub mod network;
pub mod registry;
pub mod root;
pub mod snapshot_view;
pub mod warrend;

use std::sync::atomic::{AtomicU32, Ordering};

/// A containerd namespace no other test of this run uses: `<prefix>-<pid>-<n>`.
/// Every file (not directory) under `dir`, relative, sorted; empty if `dir` is missing.
pub fn files_under(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.insert(rel.display().to_string());
            }
        }
    }
    out
}

/// The shim's logger binary: `WARREN_LOGGER_BIN`, else `target/<profile>/warren-logger`
/// (built by `cargo xtask integration`).
pub fn logger_binary() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("WARREN_LOGGER_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let path = exe
        .parent()
        .and_then(std::path::Path::parent)
        .map(|d| d.join("warren-logger"))
        .expect("target/<profile>/");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build -p warren-runtime --bins` (cargo xtask integration does)",
        path.display()
    );
    path
}

pub fn unique_namespace(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// This process's resident memory (`VmRSS`), in bytes; 0 if it cannot be read.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// The most resident memory this process had while `f` ran, in bytes (VmRSS sampled every
/// 10 ms from another thread).
pub async fn peak_rss_during<T>(f: impl std::future::Future<Output = T>) -> (T, u64) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(rss_bytes()));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        })
    };
    let out = f.await;
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    peak.fetch_max(rss_bytes(), Ordering::Relaxed);
    (out, peak.load(Ordering::Relaxed))
}
