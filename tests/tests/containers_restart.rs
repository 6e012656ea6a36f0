//! Containers and a daemon that dies: running containers outlive a containerd restart and
//! stay manageable, and a create or start cut short by the daemon's death leaves nothing.

use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use warren_runtime::LogOptions;
use warren_supervisor::{Phase, Supervisor};
use warren_tests::containers::Fixture;
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::{cleanup, require_root};

/// A private, supervised daemon and a fixture on it.
async fn fixture(prefix: &str) -> (tempfile::TempDir, Supervisor, Fixture) {
    let (dir, sup) = warren_tests::daemon::private_in_tmp("wcr-").await;
    let registry = Registry::start();
    let image = format!("{}/warren/busybox:r", registry.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    let fx = Fixture::with_image(prefix, registry, image, sup.address()).await;
    (dir, sup, fx)
}

/// Remove the fixture's containers, stop the daemon, and kill whatever shims a failed
/// assertion left (the shutdown leaves running shims by design).
async fn teardown(dir: tempfile::TempDir, sup: Supervisor, fx: Fixture) {
    fx.cleanup().await;
    let socket = sup.address().to_path_buf();
    sup.shutdown().await.unwrap();
    cleanup::kill_shims_of(&socket);
    cleanup::unmount_under(dir.path());
}

/// SIGKILL the daemon and wait until the supervisor has it answering again.
async fn kill_daemon(sup: &Supervisor) {
    let before = sup.status().restarts;
    kill(Pid::from_raw(sup.pid().unwrap() as i32), Signal::SIGKILL).unwrap();
    let mut status = sup.watch_status();
    tokio::time::timeout(
        Duration::from_secs(30),
        status.wait_for(|s| s.restarts > before && s.phase == Phase::Healthy),
    )
    .await
    .expect("the supervisor restarts the daemon")
    .unwrap();
}

#[tokio::test]
async fn a_running_container_outlives_a_daemon_restart_and_can_be_stopped() {
    require_root!();
    let (dir, sup, fx) = fixture("c-survive").await;
    let req = fx.request(
        "survivor",
        &[
            "sh",
            "-c",
            "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done",
        ],
    );
    let id = fx.rt.run_container(&req).await.unwrap();
    let pid = fx.rt.container_status(&id).await.unwrap().pid.unwrap();

    kill_daemon(&sup).await;
    let status = fx.rt.container_status(&id).await.unwrap();
    assert_eq!(status.pid, Some(pid), "the same process runs on");
    assert!(fx.rt.is_running(&id).await);
    // Its output still reaches the log: the shim, not the daemon, holds the FIFOs.
    let count = |fx: &Fixture| {
        let rt = fx.rt.clone();
        let id = id.clone();
        async move {
            use futures::StreamExt;
            rt.container_logs(&id, &LogOptions::default())
                .await
                .unwrap()
                .count()
                .await
        }
    };
    let before = count(&fx).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(count(&fx).await > before, "the log grows after the restart");

    fx.rt
        .stop_container(&id, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(fx.rt.container_status(&id).await.unwrap().exit.is_some());
    fx.rt.delete_container(&id).await.unwrap();
    fx.assert_clean("delete after a daemon restart").await;
    teardown(dir, sup, fx).await;
}

#[tokio::test]
async fn a_daemon_killed_during_create_or_start_leaves_nothing() {
    require_root!();
    let (dir, sup, fx) = fixture("c-midway").await;
    // Make sure the image is there, so the kill lands in the container steps.
    fx.rt
        .pull_image(&fx.image, &Default::default())
        .await
        .unwrap();
    let (mut failed, mut succeeded) = (0, 0);
    for i in 0..8u64 {
        let rt = fx.rt.clone();
        let req = fx.request(&format!("midway-{i}"), &["sleep", "1000"]);
        let run = tokio::spawn(async move { rt.run_container(&req).await });
        // Spread the kill over the create → start window (a few tens of milliseconds).
        tokio::time::sleep(Duration::from_millis(5 + i * 12)).await;
        kill_daemon(&sup).await;
        match run.await.unwrap() {
            Ok(id) => {
                succeeded += 1;
                fx.rt.delete_container(&id).await.unwrap();
            }
            Err(e) => {
                failed += 1;
                eprintln!("run {i} cut short: {e}");
                assert!(
                    matches!(e, warren_runtime::RuntimeError::Interrupted { .. }),
                    "{e}"
                );
            }
        }
        fx.assert_clean(&format!("run {i}")).await;
    }
    eprintln!("{failed} runs cut short, {succeeded} completed");
    // No shim outlives its container: containerd 2.x forgets one started by a Tasks.Create
    // that the kill cut short, and the runtime removes it (with its socket) on the undo.
    let mut left = cleanup::shims_of(sup.address());
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = cleanup::shims_of(sup.address());
    }
    teardown(dir, sup, fx).await;
    assert!(left.is_empty(), "shims left behind: {left:#?}");
}

/// A daemon killed inside a snapshot create can leave `snapshots/<next id>` on disk without
/// the id in its database; the next create is given that id and containerd refuses it with
/// "file exists" (removing the directory as it does). The runtime makes that call once more.
#[tokio::test]
async fn a_snapshot_dir_left_by_a_crash_does_not_fail_the_next_create() {
    require_root!();
    let (dir, sup, fx) = fixture("c-stale").await;
    fx.rt
        .pull_image(&fx.image, &Default::default())
        .await
        .unwrap();
    let snapshots = dir
        .path()
        .join("root/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots");
    // Nothing was removed on this fresh daemon, so the next id is the highest one plus 1.
    let highest = std::fs::read_dir(&snapshots)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.parse::<u64>().ok())
        .max()
        .expect("the pulled image's snapshots");
    let stale = snapshots.join((highest + 1).to_string());
    std::fs::create_dir_all(stale.join("fs")).unwrap();
    std::fs::create_dir_all(stale.join("work")).unwrap();
    std::fs::write(stale.join("fs/left-by-a-crash"), b"").unwrap();

    let id = fx
        .rt
        .run_container(&fx.request("after-crash", &["sleep", "1000"]))
        .await
        .expect("the create succeeds past the stale directory");
    assert!(fx.rt.is_running(&id).await);
    assert!(
        stale.join("fs").is_dir() && !stale.join("fs/left-by-a-crash").exists(),
        "the container's snapshot took the stale directory's id, with a fresh directory"
    );
    fx.rt.delete_container(&id).await.unwrap();
    fx.assert_clean("delete").await;
    teardown(dir, sup, fx).await;
}
