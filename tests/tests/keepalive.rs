//! An idle runtime handle keeps its connection to containerd: one event subscription and one
//! pending `Tasks.Wait` stay alive for 6 minutes (longer than grpc-go's 5-minute keep-alive
//! floor) with no break and no reconnect, and both still deliver afterwards.
//!
//! It takes `WARREN_KEEPALIVE_SECS` (default 360) of wall time and almost no CPU, so it is
//! ignored in the normal run: `cargo xtask test` starts it beside the other tests on one
//! containerd line (`-- --ignored`), where it adds no wall time.

use std::time::{Duration, Instant};

use futures::StreamExt;
use warren_runtime::{ContainerEventKind, ContainerRequest};
use warren_tests::containers::Fixture;
use warren_tests::require_root;

#[tokio::test]
#[ignore = "takes 6 minutes; cargo xtask test runs it beside the others"]
async fn an_idle_handle_keeps_its_subscription_and_its_wait_for_six_minutes() {
    require_root!();
    let idle = Duration::from_secs(
        std::env::var("WARREN_KEEPALIVE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(360),
    );
    let fx = Fixture::new("keepalive").await;
    let rt = fx.rt.clone();
    let id = "sleeper";
    rt.run_container(&ContainerRequest::new(id, fx.image.clone()).cmd(["sleep", "100000"]))
        .await
        .unwrap();
    let mut events = rt.events().await.unwrap();
    let waiting = tokio::spawn({
        let rt = rt.clone();
        async move { rt.wait_container(id).await }
    });
    assert_eq!(rt.connections(), 1, "one connection before the idle time");

    // Idle: nothing may arrive on the stream, the wait stays pending, no reconnect.
    let started = Instant::now();
    while started.elapsed() < idle {
        let step = Duration::from_secs(30).min(idle.saturating_sub(started.elapsed()));
        match tokio::time::timeout(step, events.next()).await {
            Err(_) => {}
            Ok(item) => panic!(
                "the idle event stream delivered {item:?} after {:.0} s",
                started.elapsed().as_secs_f64()
            ),
        }
        assert!(
            !waiting.is_finished(),
            "the pending wait ended after {:.0} s",
            started.elapsed().as_secs_f64()
        );
        assert_eq!(
            rt.connections(),
            1,
            "reconnected after {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }

    // Both still work on the same connection: the stop reaches the wait and the stream.
    rt.stop_container(id, Duration::from_secs(1)).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the wait answers")
        .unwrap()
        .expect("the wait returns the exit");
    // sleep is pid 1: it ignores the stop signal, so the stop ends in SIGKILL.
    assert_eq!(exit.code, 137);
    let exited = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(e) = events.next().await {
            let e = e.expect("the stream is intact");
            if e.container_id == id && matches!(e.kind, ContainerEventKind::Exited { .. }) {
                return;
            }
        }
        panic!("the event stream ended");
    })
    .await;
    assert!(exited.is_ok(), "no exit event after the idle time");
    assert_eq!(rt.connections(), 1, "still the first connection");
    fx.cleanup().await;
}
