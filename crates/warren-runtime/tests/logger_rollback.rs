//! The logger the runtime starts itself (a container with stdin and no terminal, whose
//! output the shim cannot hand to a `binary://` logger with its stdin): the real
//! `warren-logger` binary against the fake containerd. A start that fails after the logger
//! is up kills it; no root, no daemon.

use std::path::Path;
use std::time::Duration;

use warren_runtime::{ContainerRequest, ContainerdRuntime, ErrorKind, LogDriver, PullPolicy};
use warren_testkit as fake;

use fake::{FakeContainerd, IMAGE};

const ID: &str = "shell";

/// Pids of live `warren-logger` processes whose arguments name `state` (our loggers).
fn loggers_of(state: &Path) -> Vec<u32> {
    let needle = state.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let cmdline = String::from_utf8_lossy(&cmdline);
            cmdline.contains("warren-logger") && cmdline.contains(&needle)
        })
        .collect()
}

/// Kills the loggers of a state folder when dropped, so a failing test leaves none.
struct KillLoggers<'a>(&'a Path);

impl Drop for KillLoggers<'_> {
    fn drop(&mut self) {
        for pid in loggers_of(self.0) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn runtime(fake: &FakeContainerd, state: &Path) -> ContainerdRuntime {
    let logger = env!("CARGO_BIN_EXE_warren-logger");
    let options = fake
        .options("logger", state)
        .log_driver(LogDriver::Shim(logger.into()));
    ContainerdRuntime::with_options(options).expect("runtime options")
}

fn request() -> ContainerRequest {
    let mut req = ContainerRequest::new(ID, IMAGE).pull(PullPolicy::Never);
    req.open_stdin = true;
    req
}

/// Wait (up to 5 s) until no logger of `state` is alive.
async fn no_logger_left(state: &Path, what: &str) {
    for _ in 0..500 {
        if loggers_of(state).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: loggers left {:?}", loggers_of(state));
}

#[tokio::test]
async fn a_start_that_fails_after_its_logger_is_up_kills_the_logger() {
    for step in ["Tasks.Create", "Tasks.Start"] {
        let fake = FakeContainerd::start();
        let state = tempfile::tempdir().unwrap();
        let _cleanup = KillLoggers(state.path());
        let rt = runtime(&fake, state.path());
        rt.create_container(&request()).await.expect("create");
        fake.fail(step);
        let err = rt.start_container(ID).await.expect_err(step);
        assert!(
            matches!(err.kind(), ErrorKind::Internal | ErrorKind::StartFailed),
            "{step}: {err}"
        );
        no_logger_left(state.path(), step).await;
        assert!(fake.state().tasks.is_empty(), "{step}: task left");

        // Once the step works, the start goes through with a logger of its own.
        fake.heal(step);
        rt.start_container(ID)
            .await
            .unwrap_or_else(|e| panic!("{step}: start after healing: {e}"));
        let alive = loggers_of(state.path());
        assert_eq!(alive.len(), 1, "{step}: {alive:?}");
        // No shim will ever write to it: `_cleanup` ends it.
    }
}
