//! The orchestration of `exec` against the fake containerd (`fake/`), whose exec processes
//! write a scripted output to their stdout FIFO and exit with a scripted code (or run until
//! killed). A failure is injected at each daemon call an exec makes, and the test checks that
//! no process and no FIFO is left, whatever happened. No root, no daemon.

use warren_testkit as fake;

use std::path::Path;
use std::time::Duration;

use fake::{FakeContainerd, IMAGE};
use warren_runtime::{ContainerRequest, ContainerdRuntime, ErrorKind, ExecRequest, PullPolicy};

const ID: &str = "box";

struct Running {
    fake: FakeContainerd,
    state: tempfile::TempDir,
    rt: ContainerdRuntime,
}

/// A fake daemon with container `ID` running.
async fn running() -> Running {
    let fake = FakeContainerd::start();
    let state = tempfile::tempdir().unwrap();
    let rt = ContainerdRuntime::with_options(fake.options("exec", state.path()))
        .expect("runtime options");
    rt.run_container(&ContainerRequest::new(ID, IMAGE).pull(PullPolicy::Never))
        .await
        .expect("run");
    Running { fake, state, rt }
}

/// The exec FIFOs under the container's folder.
fn exec_fifos(state: &Path) -> Vec<String> {
    std::fs::read_dir(state.join("exec").join(ID))
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .filter(|n| n.starts_with("exec-"))
                .collect()
        })
        .unwrap_or_default()
}

fn assert_nothing_left(r: &Running, what: &str) {
    let s = r.fake.state();
    assert!(s.execs.is_empty(), "{what}: processes left {:?}", s.execs);
    assert!(
        exec_fifos(r.state.path()).is_empty(),
        "{what}: FIFOs left {:?}",
        exec_fifos(r.state.path())
    );
    // The container itself is untouched.
    assert_eq!(s.tasks.len(), 1, "{what}: the container's task");
}

#[tokio::test]
async fn an_exec_returns_its_output_and_exit_code_and_leaves_nothing() {
    let r = running().await;
    r.fake.state().exec_script = (b"hello\n".to_vec(), Some(3));
    let out =
        r.rt.exec(ID, &ExecRequest::new(["echo", "hello"]))
            .await
            .expect("exec");
    assert_eq!(out.exit_code, 3);
    assert_eq!(out.stdout, b"hello\n");
    assert!(out.stderr.is_empty() && !out.truncated && !out.timed_out);
    assert_nothing_left(&r, "exec");
    let s = r.fake.state();
    // Created, started, waited for, removed: one process, no kill.
    for call in ["Tasks.Exec", "Tasks.Wait", "Tasks.DeleteProcess"] {
        assert_eq!(s.keys_of(call).len(), 1, "{call}: {:?}", s.calls);
    }
    assert!(
        s.keys_of("Tasks.Kill")
            .iter()
            .all(|k| !k.contains("/exec-")),
        "{:?}",
        s.calls
    );
}

#[tokio::test]
async fn a_failed_exec_step_leaves_no_process_or_fifo() {
    for (step, kind) in [
        ("Tasks.Exec", ErrorKind::Internal),
        ("Tasks.Start", ErrorKind::StartFailed),
        ("Tasks.Wait", ErrorKind::Internal),
        ("Tasks.DeleteProcess", ErrorKind::Internal),
    ] {
        let r = running().await;
        r.fake.state().exec_script = (b"out".to_vec(), Some(0));
        r.fake.fail(step);
        let result = r.rt.exec(ID, &ExecRequest::new(["true"])).await;
        if step == "Tasks.DeleteProcess" {
            // The exec itself worked: its result stands, and only the removal failed. The
            // fake keeps the process then, as the daemon would; nothing else is left.
            let out = result.expect(step);
            assert_eq!(out.stdout, b"out");
            assert!(exec_fifos(r.state.path()).is_empty(), "{step}: FIFOs left");
            continue;
        }
        let err = result.expect_err(step);
        assert_eq!(err.kind(), kind, "{step}: {err}");
        assert_nothing_left(&r, step);
        // The same exec goes through once the step works.
        r.fake.heal(step);
        let out =
            r.rt.exec(ID, &ExecRequest::new(["true"]))
                .await
                .unwrap_or_else(|e| panic!("{step}: exec after healing: {e}"));
        assert_eq!(out.stdout, b"out", "{step}");
        assert_nothing_left(&r, step);
    }
}

#[tokio::test]
async fn an_exec_that_overruns_its_timeout_is_killed_and_removed() {
    let r = running().await;
    r.fake.state().exec_script = (Vec::new(), None);
    let out =
        r.rt.exec(
            ID,
            &ExecRequest::new(["sleep", "100"]).timeout(Duration::from_millis(100)),
        )
        .await
        .expect("exec");
    assert!(out.timed_out);
    assert_eq!(out.exit_code, 137);
    assert_nothing_left(&r, "timeout");
}

#[tokio::test]
async fn an_exec_whose_caller_stops_waiting_is_killed_and_removed() {
    let r = running().await;
    r.fake.state().exec_script = (Vec::new(), None);
    let dropped = tokio::time::timeout(
        Duration::from_millis(200),
        r.rt.exec(ID, &ExecRequest::new(["sleep", "100"])),
    )
    .await;
    assert!(dropped.is_err(), "the exec was still running");
    for _ in 0..500 {
        if r.fake.state().execs.is_empty() && exec_fifos(r.state.path()).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_nothing_left(&r, "dropped");
    let s = r.fake.state();
    assert!(
        s.keys_of("Tasks.Kill").iter().any(|k| k.contains("/exec-")),
        "{:?}",
        s.calls
    );
}

#[tokio::test]
async fn a_bad_exec_is_refused_before_anything_is_made() {
    let r = running().await;
    let mut with_env = ExecRequest::new(["env"]);
    with_env.env = vec!["NO_EQUALS_SIGN".into()];
    for (what, req) in [
        ("no command", ExecRequest::new(Vec::<String>::new())),
        ("a NUL byte", ExecRequest::new(["echo", "a\0b"])),
        ("an env entry without =", with_env),
        (
            "a relative working dir",
            ExecRequest::new(["pwd"]).working_dir("tmp"),
        ),
    ] {
        let err = r.rt.exec(ID, &req).await.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err}");
    }
    // Not running: refused, naming the state it needs.
    r.rt.stop_container(ID, Duration::from_secs(1))
        .await
        .expect("stop");
    let err =
        r.rt.exec(ID, &ExecRequest::new(["true"]))
            .await
            .expect_err("exec in a stopped container");
    assert_eq!(err.kind(), ErrorKind::WrongState, "{err}");
    let missing =
        r.rt.exec("nosuch", &ExecRequest::new(["true"]))
            .await
            .expect_err("exec in no container");
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    assert!(
        !r.fake.state().called("Tasks.Exec"),
        "{:?}",
        r.fake.state().calls
    );
    assert!(exec_fifos(r.state.path()).is_empty());
}
