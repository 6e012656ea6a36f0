//! The undo paths of create, start, stop and delete, against an in-process fake containerd
//! (`fake/`): a failure is injected at each daemon call a step makes, and the test checks
//! which undo calls followed and that the daemon is left as it was. No root, no daemon.
//! The happy path runs first in each test, so a fake that answered wrongly would show.

use warren_testkit as fake;

use std::path::Path;
use std::time::Duration;

use fake::{FakeContainerd, IMAGE};
use warren_runtime::{ContainerRequest, ContainerdRuntime, ErrorKind, PullPolicy};

const ID: &str = "c1";

fn runtime(fake: &FakeContainerd, state: &Path) -> ContainerdRuntime {
    ContainerdRuntime::with_options(fake.options("rollback", state)).expect("runtime options")
}

fn request() -> ContainerRequest {
    ContainerRequest::new(ID, IMAGE).pull(PullPolicy::Never)
}

/// The fake holds nothing of container `ID`: no record, no task, no snapshot, no lease.
fn assert_nothing_left(fake: &FakeContainerd, step: &str) {
    let s = fake.state();
    assert!(
        s.containers.is_empty(),
        "{step}: records {:?}",
        s.containers.keys()
    );
    assert!(s.tasks.is_empty(), "{step}: tasks {:?}", s.tasks);
    assert!(!s.snapshots.contains(ID), "{step}: snapshot left");
    assert!(s.leases.is_empty(), "{step}: leases {:?}", s.leases);
}

/// Files under the container's state folder (FIFOs, logs), by name.
fn files_of(state: &Path) -> Vec<String> {
    let dir = state.join("rollback").join(ID);
    std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// FIFOs under the container's state folder, by name.
fn fifos_of(state: &Path) -> Vec<String> {
    use std::os::unix::fs::FileTypeExt;
    let dir = state.join("rollback").join(ID);
    std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| {
                let e = e.ok()?;
                e.file_type()
                    .ok()?
                    .is_fifo()
                    .then(|| e.file_name().to_string_lossy().into_owned())
            })
            .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_failed_create_undoes_every_earlier_step() {
    // The happy path: a record and a snapshot, the lease released.
    let fake = FakeContainerd::start();
    let state = tempfile::tempdir().unwrap();
    let rt = runtime(&fake, state.path());
    rt.create_container(&request()).await.expect("create");
    {
        let s = fake.state();
        assert!(s.containers.contains_key(ID) && s.snapshots.contains(ID));
        assert!(s.leases.is_empty(), "leases {:?}", s.leases);
    }

    for step in [
        "Containers.Get",
        "Images.Get",
        "Content.Read",
        "Leases.Create",
        "Snapshots.Prepare",
        "Containers.Create",
    ] {
        let fake = FakeContainerd::start();
        let state = tempfile::tempdir().unwrap();
        let rt = runtime(&fake, state.path());
        fake.fail(step);
        let err = rt.create_container(&request()).await.expect_err(step);
        assert_eq!(err.kind(), ErrorKind::Internal, "{step}: {err}");
        assert_nothing_left(&fake, step);
        {
            let s = fake.state();
            let leased = s.keys_of("Leases.Create");
            if step == "Containers.Create" {
                // The snapshot was prepared under the lease: both undone, and a record the
                // daemon may have written before failing is deleted too.
                assert_eq!(s.keys_of("Snapshots.Remove"), [ID], "{step}");
                assert_eq!(s.keys_of("Containers.Delete"), [ID], "{step}");
            } else {
                assert!(!s.called("Snapshots.Remove"), "{step}: {:?}", s.calls);
            }
            // Every lease that was made is deleted again.
            let made: Vec<_> = leased
                .into_iter()
                .filter(|_| step != "Leases.Create")
                .collect();
            assert_eq!(s.keys_of("Leases.Delete"), made, "{step}");
        }
        assert!(
            files_of(state.path()).is_empty(),
            "{step}: {:?}",
            files_of(state.path())
        );

        // And once the daemon is well again, the same request goes through.
        fake.heal(step);
        rt.create_container(&request()).await.expect(step);
    }
}

#[tokio::test]
async fn a_failed_start_leaves_no_task_and_the_container_startable() {
    for step in [
        None,
        Some("Snapshots.Mounts"),
        Some("Tasks.Create"),
        Some("Containers.Update"),
        Some("Tasks.Start"),
    ] {
        let fake = FakeContainerd::start();
        let state = tempfile::tempdir().unwrap();
        let rt = runtime(&fake, state.path());
        rt.create_container(&request()).await.expect("create");
        let Some(step) = step else {
            rt.start_container(ID).await.expect("start");
            let s = fake.state();
            assert_eq!(s.tasks.len(), 1, "one task");
            // The task's output goes to the shim's logger, by a binary:// URI.
            assert!(s.called("Tasks.Start"));
            continue;
        };
        fake.fail(step);
        let err = rt.start_container(ID).await.expect_err(step);
        assert_ne!(err.kind(), ErrorKind::NotFound, "{step}: {err}");
        {
            let s = fake.state();
            assert!(s.tasks.is_empty(), "{step}: tasks {:?}", s.tasks);
            assert!(s.containers.contains_key(ID), "{step}: the record stays");
            if step == "Tasks.Start" {
                // The created task is killed and deleted.
                assert_eq!(s.keys_of("Tasks.Kill"), [ID], "{step}");
                assert_eq!(s.keys_of("Tasks.Delete"), [ID], "{step}");
            }
        }
        let fifos = fifos_of(state.path());
        assert!(fifos.is_empty(), "{step}: {fifos:?}");

        fake.heal(step);
        rt.start_container(ID).await.expect(step);
        assert_eq!(
            fake.state().tasks.len(),
            1,
            "{step}: started after the failure"
        );
    }
}

#[tokio::test]
async fn stop_and_delete_report_a_failed_step_and_finish_when_retried() {
    for step in [
        None,
        Some("Tasks.Kill"),
        Some("Tasks.Delete"),
        Some("Snapshots.Remove"),
        Some("Containers.Delete"),
    ] {
        let fake = FakeContainerd::start();
        let state = tempfile::tempdir().unwrap();
        let rt = runtime(&fake, state.path());
        rt.run_container(&request()).await.expect("run");
        if let Some(step) = step {
            fake.fail(step);
            let err = rt.delete_container(ID).await.expect_err(step);
            assert_eq!(err.kind(), ErrorKind::Internal, "{step}: {err}");
            // What is left is still reachable through the record, for the retry.
            assert!(
                fake.state().containers.contains_key(ID),
                "{step}: record gone"
            );
            fake.heal(step);
        }
        rt.delete_container(ID).await.expect("delete");
        assert_nothing_left(&fake, step.unwrap_or("no failure"));
        assert!(
            !state.path().join("rollback").join(ID).exists(),
            "{step:?}: folder left"
        );
    }

    // A stop that cannot signal says so, and the task stays for the next try.
    let fake = FakeContainerd::start();
    let state = tempfile::tempdir().unwrap();
    let rt = runtime(&fake, state.path());
    rt.run_container(&request()).await.expect("run");
    fake.fail("Tasks.Kill");
    let err = rt.stop_container(ID, Duration::from_secs(1)).await;
    assert_eq!(err.expect_err("stop").kind(), ErrorKind::Internal);
    assert_eq!(fake.state().tasks.len(), 1);
    fake.heal("Tasks.Kill");
    rt.stop_container(ID, Duration::from_secs(1))
        .await
        .expect("stop");
    let s = fake.state();
    assert!(s.tasks.is_empty());
    // The exit is recorded on the container.
    let labels = &s.containers[ID].labels;
    assert!(labels.values().any(|v| v == "137"), "{labels:?}");
}

/// Wait (up to 5 s) for `done` to hold of the fake's state: undo after a cancel runs in the
/// background.
async fn eventually(fake: &FakeContainerd, what: &str, done: impl Fn(&fake::State) -> bool) {
    for _ in 0..500 {
        if done(&fake.state()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: calls {:?}", fake.state().calls);
}

#[tokio::test]
async fn a_create_or_start_whose_caller_stops_waiting_is_undone() {
    // Create, dropped while the record is being written: the snapshot and the lease go.
    let fake = FakeContainerd::start();
    let state = tempfile::tempdir().unwrap();
    let rt = runtime(&fake, state.path());
    fake.stall("Containers.Create");
    let dropped =
        tokio::time::timeout(Duration::from_millis(200), rt.create_container(&request())).await;
    assert!(dropped.is_err(), "the create was still waiting");
    fake.release("Containers.Create");
    // The record the daemon writes once released is deleted after it, then the snapshot.
    eventually(&fake, "create undone", |s| {
        s.called("Snapshots.Remove")
            && s.leases.is_empty()
            && !s.snapshots.contains(ID)
            && s.containers.is_empty()
    })
    .await;
    assert_eq!(fake.state().keys_of("Containers.Delete"), [ID]);

    // Start, dropped while Tasks.Start is under way: the created task is killed and
    // deleted, the record stays, and a later start works.
    rt.create_container(&request()).await.expect("create");
    fake.stall("Tasks.Start");
    let dropped = tokio::time::timeout(Duration::from_millis(200), rt.start_container(ID)).await;
    assert!(dropped.is_err(), "the start was still waiting");
    eventually(&fake, "start undone", |s| {
        s.tasks.is_empty() && s.keys_of("Tasks.Delete") == [ID]
    })
    .await;
    fake.release("Tasks.Start");
    assert!(fake.state().containers.contains_key(ID), "the record stays");
    assert!(fifos_of(state.path()).is_empty());

    // Start, dropped while Tasks.Create is under way: the task the daemon makes once
    // released is deleted after it.
    fake.stall("Tasks.Create");
    let dropped = tokio::time::timeout(Duration::from_millis(200), rt.start_container(ID)).await;
    assert!(dropped.is_err(), "the start was still waiting");
    assert!(
        fake.state().tasks.is_empty(),
        "no task while the create is held"
    );
    fake.release("Tasks.Create");
    eventually(&fake, "task create undone", |s| {
        s.tasks.is_empty() && s.keys_of("Tasks.Delete") == [ID, ID]
    })
    .await;
    assert!(fake.state().containers.contains_key(ID), "the record stays");
    assert!(fifos_of(state.path()).is_empty());

    rt.start_container(ID)
        .await
        .expect("start after the cancel");
    assert_eq!(fake.state().tasks.len(), 1);
}
