//! warren-runtime's example (`crates/warren-runtime/examples/run.rs`) does what its README
//! promises: pull, run with limits, logs, wait, delete, against a real containerd and
//! registry, and leaves nothing behind.

use std::path::PathBuf;

use warren_tests::containers::Fixture;
use warren_tests::{daemon, require_root};

/// `target/<profile>/examples/run`, built by `cargo xtask integration`.
fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let path = exe
        .parent()
        .and_then(std::path::Path::parent)
        .map(|d| d.join("examples").join("run"))
        .expect("target/<profile>/");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build -p warren-runtime --examples` (cargo xtask integration does)",
        path.display()
    );
    path
}

/// The example against the shared daemon, in the fixture's namespace and state dir.
async fn run_example(f: &Fixture, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(example())
        .arg(daemon::shared().socket())
        .args(args)
        .env("WARREN_NAMESPACE", &f.ns)
        .env("WARREN_STATE_DIR", f.state.path())
        .output()
        .await
        .expect("the example runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_example_runs_a_container_from_pull_to_delete() {
    require_root!();
    let f = Fixture::new("example").await;
    let script = "echo hello; echo oops >&2; \
        cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null; exit 3";
    let out = run_example(&f, &[&f.image, "sh", "-c", script]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stdout.contains("pulled "), "{stdout}");
    assert!(stdout.contains("stdout: hello"), "{stdout}");
    assert!(stdout.contains("stderr: oops"), "{stdout}");
    assert!(stdout.contains("stdout: 64"), "the pids limit: {stdout}");
    assert!(
        stdout.contains("exit code 3 (OOM-killed: false)"),
        "{stdout}"
    );
    f.assert_clean("the example").await;

    // A bad image reference is refused with the kind's hint and exit code 1.
    let out = run_example(&f, &["Not A Reference"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("fix the arguments"), "{stderr}");
    f.cleanup().await;
}
