//! A user's stop that comes while a restart policy is starting the container, against the
//! fake containerd of `warren-testkit` (no root, no daemon): the stop waits for the start,
//! then stops what it started, and the policy does not start the container again.

use std::collections::BTreeMap;
use std::time::Duration;

use warren_proto::containerd::v1::types::Status as TaskStatus;
use warren_proto::warren::node::v1 as api;
use warren_runtime::{ContainerRequest, PullPolicy};
use warren_testkit::{FakeContainerd, IMAGE};

use super::containers;
use crate::serve::testing::{daemon, until};
use crate::serve::{labels, restart};

const ID: &str = "web";

#[tokio::test]
async fn a_users_stop_during_a_policys_start_waits_for_it_then_stops_the_container() {
    let fake = FakeContainerd::start();
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&fake, dir.path()).await;
    let mut req = ContainerRequest::new(ID, IMAGE).pull(PullPolicy::Never);
    req.labels = BTreeMap::from([(labels::RESTART.to_string(), "always".to_string())]);
    d.rt.run_container(&req).await.expect("run");
    let starts = || fake.state().keys_of("Tasks.Start").len();
    assert_eq!(starts(), 1);

    // The process exits; the policy starts it again, and the daemon holds that start.
    fake.state().tasks.insert(ID.into(), TaskStatus::Stopped);
    fake.stall("Tasks.Start");
    let policy = tokio::spawn(restart::on_exit(d.clone(), ID.into()));
    // (A held call is logged once it goes on: the policy's new task shows that it is under way.)
    let creates = || fake.state().keys_of("Tasks.Create").len();
    until("the policy's start", || creates() == 2).await;

    // A user's stop now waits for the container's turn.
    let stop = tokio::spawn({
        let d = d.clone();
        async move {
            let req = api::StopRequest {
                id: ID.into(),
                timeout: Some(prost_types::Duration::default()),
            };
            containers::stop(&d, req).await
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !stop.is_finished(),
        "the stop went ahead of the policy's start"
    );
    assert!(!fake.state().called("Tasks.Kill"));

    // The start finishes; then the stop stops what it started.
    fake.release("Tasks.Start");
    policy.await.expect("the policy's task");
    stop.await.expect("the stop's task").expect("stop");
    {
        let s = fake.state();
        let last_start = s.calls.iter().rposition(|c| c == "Tasks.Start web");
        let first_kill = s.calls.iter().position(|c| c == "Tasks.Kill web");
        assert!(
            matches!((last_start, first_kill), (Some(a), Some(b)) if a < b),
            "{:?}",
            s.calls
        );
        assert_ne!(s.tasks.get(ID), Some(&TaskStatus::Running), "{:?}", s.tasks);
    }
    assert_eq!(d.restart.count(ID), 1);

    // The exit the stop caused is the user's: the policy leaves the container stopped.
    restart::on_exit(d.clone(), ID.into()).await;
    assert_eq!(starts(), 2, "{:?}", fake.state().calls);
}
