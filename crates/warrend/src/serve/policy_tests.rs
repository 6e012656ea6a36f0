//! Restart policies and `--rm` removals across a warrend restart and at shutdown, on
//! warren-testkit's fake containerd (no root, no daemon).

use std::collections::BTreeMap;
use std::time::Duration;

use warren_proto::containerd::v1::types::Status as TaskStatus;
use warren_runtime::{ContainerRequest, HealthOverrides, PullPolicy};
use warren_testkit::{FakeContainerd, IMAGE};

use super::testing::{daemon, until};
use super::{labels, restart, Daemon};

/// Run container `id` with warrend label `key` set to `value`.
async fn run(d: &Daemon, id: &str, key: &str, value: &str) {
    let mut req = ContainerRequest::new(id, IMAGE).pull(PullPolicy::Never);
    req.labels = BTreeMap::from([(key.to_string(), value.to_string())]);
    d.rt.run_container(&req).await.expect("run");
}

/// The calls of `method` for container `id`.
fn calls(fake: &FakeContainerd, method: &str, id: &str) -> usize {
    fake.state()
        .keys_of(method)
        .iter()
        .filter(|k| *k == id)
        .count()
}

/// Let the daemon's per-container tasks finish (they must, within 5 s).
async fn settle(d: &Daemon) {
    d.background.close();
    tokio::time::timeout(Duration::from_secs(5), d.background.wait())
        .await
        .expect("per-container tasks still running after 5 s");
}

#[tokio::test]
async fn an_exit_while_warrend_was_down_is_acted_on_once_by_the_next_warrend() {
    let fake = FakeContainerd::start();
    let dir = tempfile::tempdir().unwrap();
    let first = daemon(&fake, dir.path()).await;
    run(&first, "web", labels::RESTART, "always").await;
    run(&first, "db", labels::RESTART, "always").await;
    // The user stops db: saved, so the next warrend does not bring it back either.
    first.restart.stopped_by_user("db").await;
    first
        .rt
        .stop_container("db", Duration::ZERO)
        .await
        .expect("stop db");
    drop(first);

    // warrend is down; web's process ends.
    fake.state().tasks.insert("web".into(), TaskStatus::Stopped);

    // The next warrend reads the saved state and reconciles, twice (a second subscription
    // after a broken event stream): web is started again once, db stays stopped.
    let next = daemon(&fake, dir.path()).await;
    next.restart.load(&next).await.expect("load");
    restart::reconcile(&next).await;
    restart::reconcile(&next).await;
    settle(&next).await;
    assert_eq!(
        calls(&fake, "Tasks.Start", "web"),
        2,
        "{:?}",
        fake.state().calls
    );
    assert_eq!(
        calls(&fake, "Tasks.Start", "db"),
        1,
        "{:?}",
        fake.state().calls
    );
    assert_eq!(fake.state().tasks.get("web"), Some(&TaskStatus::Running));
    assert_eq!(next.restart.count("web"), 1);
    assert_eq!(next.restart.count("db"), 0);
}

#[tokio::test]
async fn shutdown_ends_an_auto_removals_wait_but_not_a_removal_under_way() {
    let fake = FakeContainerd::start();
    let dir = tempfile::tempdir().unwrap();

    // Waiting for a running --rm container's exit: shutdown ends the wait at once, and the
    // container stays for the next warrend to remove.
    let d = daemon(&fake, dir.path()).await;
    run(&d, "tmp", labels::REMOVE, "true").await;
    d.spawn(restart::remove_after_exit(d.clone(), "tmp".into()));
    until("the wait for the exit", || {
        calls(&fake, "Tasks.Wait", "tmp") > 0
    })
    .await;
    d.stopping.cancel();
    settle(&d).await;
    assert!(fake.state().containers.contains_key("tmp"));

    // Removing an exited --rm container: shutdown waits for the removal to finish.
    let d = daemon(&fake, dir.path()).await;
    fake.state().tasks.insert("tmp".into(), TaskStatus::Stopped);
    fake.stall("Containers.Delete");
    d.spawn(restart::remove_after_exit(d.clone(), "tmp".into()));
    until("the removal", || fake.state().called("Snapshots.Remove")).await;
    d.stopping.cancel();
    d.background.close();
    let waiting = tokio::time::timeout(Duration::from_millis(200), d.background.wait()).await;
    assert!(waiting.is_err(), "shutdown did not wait for the removal");
    fake.release("Containers.Delete");
    settle(&d).await;
    assert!(
        fake.state().containers.is_empty(),
        "{:?}",
        fake.state().calls
    );
}

#[tokio::test]
async fn a_failing_check_makes_a_container_unhealthy_and_its_policy_gets_it_killed() {
    let fake = FakeContainerd::start();
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&fake, dir.path()).await;
    // Every check's process prints and exits 1.
    fake.state().exec_script = (b"not ready\n".to_vec(), Some(1));
    let mut req = ContainerRequest::new("sick", IMAGE).pull(PullPolicy::Never);
    req.labels = BTreeMap::from([
        (labels::RESTART.to_string(), "on-failure".to_string()),
        (labels::RESTART_ON_UNHEALTHY.to_string(), "true".to_string()),
    ]);
    let mut health = HealthOverrides::default();
    health.cmd = Some("test -e /ready".into());
    health.interval = Some(Duration::from_millis(20));
    health.timeout = Some(Duration::from_secs(1));
    health.retries = Some(2);
    req.health = health;
    d.rt.run_container(&req).await.expect("run");
    super::health::ensure_all(&d).await;
    until("the kill for the policy", || {
        calls(&fake, "Tasks.Kill", "sick") > 0
    })
    .await;
    until("the checks' processes to go", || {
        fake.state().execs.is_empty()
    })
    .await;
    let s = fake.state();
    // Two failed checks in a row, each an exec removed afterwards, then the kill.
    let checks = s.keys_of("Tasks.Exec").len();
    assert!(checks >= 2, "{:?}", s.calls);
    assert_eq!(
        s.keys_of("Tasks.DeleteProcess").len(),
        checks,
        "{:?}",
        s.calls
    );
    assert_ne!(s.tasks.get("sick"), Some(&TaskStatus::Running));
}

#[tokio::test]
async fn an_exit_whose_wait_fails_is_still_acted_on() {
    let fake = FakeContainerd::start();
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&fake, dir.path()).await;
    run(&d, "web", labels::RESTART, "always").await;
    // The process ended, and the wait for it fails (containerd 1.7 says "ttrpc: closed"
    // when the shim goes away under the call): the exit is read from the container.
    fake.state().tasks.insert("web".into(), TaskStatus::Stopped);
    fake.fail("Tasks.Wait");
    restart::on_exit(d.clone(), "web".into()).await;
    assert_eq!(
        calls(&fake, "Tasks.Start", "web"),
        2,
        "{:?}",
        fake.state().calls
    );
    assert_eq!(d.restart.count("web"), 1);
}
