//! The daemon's life as a caller sees it: drop, shutdown, detach and adopt, cancelled starts.

use std::time::{Duration, Instant};

use futures::StreamExt;
use nix::sys::signal::Signal;
use warren_supervisor::{Error, Event, Mode, Phase};
use warren_tests::require_root;

use crate::env::{alive, gone_within, healthy_generation, kill, reaped_within, wait_until, Env};

#[tokio::test]
async fn dropping_a_managed_handle_stops_the_daemon() {
    require_root!();
    let env = Env::new();
    let sup = env.builder().start().await.expect("start");
    let pid = sup.pid().unwrap();
    let clone = sup.clone();
    drop(sup);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(alive(pid), "a clone still holds the supervisor");
    let dropped = Instant::now();
    drop(clone);
    assert!(
        reaped_within(pid, Duration::from_secs(5)).await,
        "the daemon outlived its handle"
    );
    eprintln!("drop to daemon gone: {:?}", dropped.elapsed());
    // The monitor cleans up and lets go of the state dir.
    assert!(wait_until(Duration::from_secs(5), || !env.pid_file().exists()).await);
    let again = env.builder().start().await.expect("the lock was released");
    again.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_detached_daemon_outlives_its_handle_and_is_adopted() {
    require_root!();
    let env = Env::new();
    let sup = env
        .builder()
        .mode(Mode::Detached)
        .start()
        .await
        .expect("start");
    let pid = sup.pid().unwrap();
    let mut events = sup.event_stream();
    drop(sup);
    let last = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap();
    assert_eq!(last, Some(Event::Released { pid: Some(pid) }));
    assert_eq!(
        events.next().await,
        None,
        "the stream ends with the release"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(alive(pid), "the detached daemon died with its handle");
    assert!(
        env.state().join("containerd.log").exists(),
        "a detached daemon logs to a file"
    );

    // Adopted, not replaced, by a supervisor in either mode.
    let again = env.builder().start().await.expect("adopt");
    assert_eq!(again.pid(), Some(pid), "adopted, not replaced");
    assert!(
        env.socket().exists(),
        "the socket was not removed before adopting"
    );
    env.clients()
        .await
        .version()
        .version(())
        .await
        .expect("the adopted daemon answers");

    // An adopted daemon is watched through its pidfd: a kill -9 is noticed at once.
    let killed = Instant::now();
    kill(pid as i32, Signal::SIGKILL);
    let second = healthy_generation(&again, 2).await;
    eprintln!(
        "adopted daemon kill -9 to SERVING again: {:?}",
        killed.elapsed()
    );
    assert_ne!(second, pid);
    again.shutdown().await.unwrap();
    assert!(reaped_within(second, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn a_changed_config_replaces_the_running_daemon_instead_of_adopting_it() {
    require_root!();
    let env = Env::new();
    let sup = env
        .builder()
        .mode(Mode::Detached)
        .start()
        .await
        .expect("start");
    let pid = sup.pid().unwrap();
    drop(sup);
    let again = env
        .builder()
        .log_level("debug")
        .start()
        .await
        .expect("replace");
    assert_ne!(again.pid(), Some(pid));
    assert!(gone_within(pid, Duration::from_secs(5)).await);
    again.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_of_a_stopped_daemon_is_prompt() {
    require_root!();
    let env = Env::new();
    let sup = env
        .builder()
        .shutdown_timeout(Duration::from_secs(10))
        .start()
        .await
        .expect("start");
    let pid = sup.pid().unwrap();
    kill(pid as i32, Signal::SIGSTOP);
    let watcher = sup.clone();
    let started = Instant::now();
    sup.shutdown().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "SIGCONT let SIGTERM act at once: {:?}",
        started.elapsed()
    );
    assert!(reaped_within(pid, Duration::from_secs(1)).await);
    assert_eq!(watcher.status().phase, Phase::Stopped);
    watcher
        .wait_timeout(Duration::from_millis(100))
        .await
        .expect("stopped");
    watcher
        .clone()
        .shutdown()
        .await
        .expect("a second shutdown is fine");
    assert!(!env.socket().exists() && !env.pid_file().exists());
}

#[tokio::test]
async fn wait_timeout_waits_for_a_shutdown() {
    require_root!();
    let env = Env::new();
    let sup = env.builder().start().await.expect("start");
    let err = sup
        .wait_timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WaitTimeout { .. }), "{err}");
    let waiter = sup.clone();
    let wait = tokio::spawn(async move { waiter.wait_timeout(Duration::from_secs(10)).await });
    sup.shutdown().await.unwrap();
    wait.await.unwrap().expect("woken by the shutdown");
}

#[tokio::test]
async fn a_cancelled_start_leaves_nothing_running() {
    require_root!();
    let env = Env::new();
    for ms in [1, 5, 10, 20, 40, 80] {
        let attempt = env.builder().start();
        if let Ok(sup) = tokio::time::timeout(Duration::from_millis(ms), attempt).await {
            sup.expect("start").shutdown().await.unwrap();
        }
        assert!(
            wait_until(Duration::from_secs(5), || env.daemons().is_empty()).await,
            "a daemon outlived a start cancelled after {ms} ms: {:?}",
            env.daemons()
        );
    }
    // And the state dir is free again.
    let sup = env.builder().start().await.expect("start");
    sup.shutdown().await.unwrap();
}
