//! A runtime handle rides out a daemon restart, and fails clearly when the daemon stays away.

use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use warren_runtime::{ContainerdRuntime, RuntimeError, RuntimeOptions};
use warren_tests::{cleanup, require_root};

#[tokio::test]
async fn calls_wait_for_a_restarting_daemon_then_fail_clearly() {
    require_root!();
    let dir = tempfile::Builder::new()
        .prefix("wrc-")
        .tempdir_in("/tmp")
        .unwrap();
    let sup = warren_tests::daemon::private(dir.path())
        .start()
        .await
        .expect("start");
    let rt = ContainerdRuntime::with_options(
        RuntimeOptions::default()
            .socket(sup.address().to_path_buf())
            .namespace("reconnect")
            .reconnect_deadline(Duration::from_secs(10)),
    )
    .unwrap();
    assert!(rt.list_images().await.unwrap().is_empty());

    // Killed under the handle: the next call waits for the restart and succeeds.
    kill(Pid::from_raw(sup.pid().unwrap() as i32), Signal::SIGKILL).unwrap();
    assert!(rt
        .list_images()
        .await
        .expect("answered after the restart")
        .is_empty());
    // The supervisor may publish the restart a moment after the daemon answers.
    let mut status = sup.watch_status();
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.restarts >= 1),
    )
    .await
    .expect("the supervisor reports the restart")
    .unwrap();
    assert_eq!(sup.status().restarts, 1);

    // Gone for good: the call gives up at its deadline with an error naming the socket.
    let socket = sup.address().to_path_buf();
    sup.shutdown().await.unwrap();
    let quick = ContainerdRuntime::with_options(
        RuntimeOptions::default()
            .socket(socket.clone())
            .namespace("reconnect")
            .reconnect_deadline(Duration::from_millis(300)),
    )
    .unwrap();
    let err = quick.list_images().await.unwrap_err();
    assert!(matches!(err, RuntimeError::Unavailable { .. }), "{err}");
    assert!(
        err.to_string().contains(&socket.display().to_string()),
        "{err}"
    );
    cleanup::unmount_under(dir.path());
}
