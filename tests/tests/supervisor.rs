//! Fault injection against warren-supervisor with the containerd line under test.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use warren_proto::containerd::services::tasks::v1::GetRequest;
use warren_proto::containerd::v1::types::Status as TaskStatus;
use warren_proto::{Clients, Namespace};
use warren_supervisor::{BackoffBounds, Error, Event, Mode, Phase, Supervisor, SupervisorBuilder};
use warren_tests::{busybox, cleanup, deps, require_root, unique_namespace};

/// A short temp dir (the socket must fit a unix socket) that is fully cleaned up on drop,
/// even after a panic: shims, container processes, cgroups, mounts, files.
struct Env {
    dir: PathBuf,
    ns: String,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("ws-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        Env {
            dir,
            ns: unique_namespace("sup"),
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// A supervisor with quick health checks, for this env's dirs.
    fn builder(&self) -> SupervisorBuilder {
        Supervisor::builder(self.root(), self.state())
            .binary(deps::containerd())
            .env("PATH", deps::daemon_path_env())
            .health_interval(Duration::from_millis(200))
            .health_timeout(Duration::from_millis(500))
            .unhealthy_threshold(3)
            .shutdown_timeout(Duration::from_secs(5))
            .backoff(BackoffBounds {
                initial: Duration::from_millis(50),
                max: Duration::from_secs(1),
                reset_after: Duration::from_secs(10),
            })
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        cleanup::kill_shims_of(&self.state().join("containerd.sock"));
        cleanup::remove_cgroups(&self.ns);
        cleanup::unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}

async fn gone_within(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    !alive(pid)
}

/// Wait until the supervisor reports a healthy daemon of at least `generation`.
async fn healthy_generation(sup: &Supervisor, generation: u64) -> u32 {
    let mut rx = sup.watch_status();
    let s = tokio::time::timeout(
        Duration::from_secs(20),
        rx.wait_for(|s| s.phase == Phase::Healthy && s.generation >= generation),
    )
    .await
    .expect("healthy again in time")
    .expect("status channel open")
    .clone();
    s.pid.expect("a pid")
}

async fn clients(sup: &Supervisor, ns: &str) -> Clients {
    let channel = warren_proto::connect(sup.address()).await.expect("connect");
    Clients::new(channel, &Namespace::new(ns).unwrap())
}

#[tokio::test]
async fn kill_9_restarts_and_containers_keep_running() {
    require_root!();
    let env = Env::new();
    let sup = env.builder().start().await.expect("start");
    let first = sup.pid().unwrap();
    let rootfs = busybox::Rootfs::new();
    let runc_root = busybox::runc_root();
    let c = clients(&sup, &env.ns).await;
    let task_pid = busybox::run(
        &c,
        rootfs.path(),
        &runc_root,
        &env.ns,
        "sleeper",
        &["sleep", "1000"],
    )
    .await;

    let started = Instant::now();
    kill(Pid::from_raw(first as i32), Signal::SIGKILL).unwrap();
    let second = healthy_generation(&sup, 2).await;
    eprintln!("kill -9 to SERVING again: {:?}", started.elapsed());
    assert_ne!(first, second);
    assert_eq!(sup.status().restarts, 1);

    // The shim kept the container running, and the new daemon knows it.
    assert!(alive(task_pid), "container process died with the daemon");
    let c = clients(&sup, &env.ns).await;
    let task = c
        .tasks()
        .get(GetRequest {
            container_id: "sleeper".into(),
            ..Default::default()
        })
        .await
        .expect("Tasks/Get after restart")
        .into_inner()
        .process
        .unwrap();
    assert_eq!(task.status, TaskStatus::Running as i32);
    busybox::remove(&c, "sleeper").await;
    assert!(gone_within(task_pid, Duration::from_secs(5)).await);
    sup.shutdown().await.unwrap();
    assert!(gone_within(second, Duration::from_secs(5)).await);
    let _ = std::fs::remove_dir_all(runc_root);
}

#[tokio::test]
async fn sigstop_is_detected_killed_and_restarted() {
    require_root!();
    let env = Env::new();
    let sup = env.builder().start().await.expect("start");
    let mut events = sup.events();
    let first = sup.pid().unwrap();
    kill(Pid::from_raw(first as i32), Signal::SIGSTOP).unwrap();
    let second = healthy_generation(&sup, 2).await;
    assert_ne!(first, second);
    assert!(
        gone_within(first, Duration::from_secs(5)).await,
        "hung daemon was not killed"
    );
    let mut saw_unhealthy = false;
    while let Ok(e) = events.try_recv() {
        saw_unhealthy |= matches!(e, Event::Unhealthy { failures: 3, .. });
    }
    assert!(saw_unhealthy, "three failed checks were reported");
    sup.shutdown().await.unwrap();
}

#[tokio::test]
async fn sigcont_before_the_threshold_is_not_a_restart() {
    require_root!();
    let env = Env::new();
    let sup = env
        .builder()
        .health_interval(Duration::from_millis(300))
        .unhealthy_threshold(10)
        .start()
        .await
        .expect("start");
    let pid = sup.pid().unwrap();
    kill(Pid::from_raw(pid as i32), Signal::SIGSTOP).unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    kill(Pid::from_raw(pid as i32), Signal::SIGCONT).unwrap();
    let again = healthy_generation(&sup, 1).await;
    assert_eq!(again, pid);
    assert_eq!(sup.status().restarts, 0);
    sup.shutdown().await.unwrap();
}

#[tokio::test]
async fn stale_pid_file_of_an_unrelated_process_is_never_signalled() {
    require_root!();
    let env = Env::new();
    std::fs::create_dir_all(env.state()).unwrap();
    let mut bystander = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let pid = bystander.id();
    // Both a moby-style bare pid and a record naming our binary and config.
    for text in [
        format!("{pid}\n"),
        format!(
            "pid = {pid}\nstart_time = 1\nboot_id = \"x\"\nexe = \"{}\"\nconfig = \"{}\"\n",
            deps::containerd().display(),
            env.state().join("containerd.toml").display()
        ),
    ] {
        std::fs::write(env.state().join("containerd.pid"), text).unwrap();
        let sup = env.builder().start().await.expect("start");
        assert_ne!(sup.pid(), Some(pid));
        let recorded = std::fs::read_to_string(env.state().join("containerd.pid")).unwrap();
        assert!(
            recorded.contains(&format!("pid = {}", sup.pid().unwrap())),
            "pid file rewritten"
        );
        sup.shutdown().await.unwrap();
        assert!(alive(pid), "the unrelated process was signalled");
    }
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}

#[tokio::test]
async fn leftover_socket_is_removed() {
    require_root!();
    let env = Env::new();
    std::fs::create_dir_all(env.state()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(env.state().join("containerd.sock")).unwrap());
    let sup = env
        .builder()
        .start()
        .await
        .expect("start over a stale socket");
    sup.shutdown().await.unwrap();
    assert!(
        !env.state().join("containerd.sock").exists(),
        "socket removed at shutdown"
    );
    assert!(
        !env.state().join("containerd.pid").exists(),
        "pid file removed at shutdown"
    );
}

#[tokio::test]
async fn missing_binary_fails_in_well_under_a_second() {
    require_root!();
    let env = Env::new();
    let started = Instant::now();
    let err = env
        .builder()
        .binary("/nonexistent/bin/containerd")
        .start()
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(err, Error::Binary { .. }), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/bin/containerd"),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_extra_config_reports_containerds_complaint() {
    require_root!();
    let env = Env::new();
    // Not TOML at all: refused before anything is spawned.
    let err = env
        .builder()
        .extra_config("[grpc\n")
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ExtraConfig { .. }), "{err}");

    // TOML that containerd itself rejects: a string where it wants a number.
    let started = Instant::now();
    let err = env
        .builder()
        .extra_config("[grpc]\nmax_recv_message_size = \"lots\"\n")
        .start()
        .await
        .unwrap_err();
    let took = started.elapsed();
    let Error::ExitedDuringStart {
        status,
        stderr_tail,
    } = &err
    else {
        panic!("expected an exit during start-up, got {err}");
    };
    assert!(!status.contains("exit status: 0"), "{status}");
    assert!(
        stderr_tail.contains("max_recv_message_size")
            || stderr_tail.to_lowercase().contains("toml"),
        "containerd's own complaint is in the error: {stderr_tail}"
    );
    assert!(
        took < Duration::from_secs(5),
        "failed fast, not by timeout: {took:?}"
    );
}

#[tokio::test]
async fn unwritable_state_dir_is_a_clear_error() {
    require_root!();
    let env = Env::new();
    std::fs::create_dir_all(&env.dir).unwrap();
    let file = env.dir.join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let err = Supervisor::builder(env.root(), file.join("state"))
        .binary(deps::containerd())
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Directory {
                what: "state dir",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[tokio::test]
async fn too_long_socket_path_is_refused_before_start() {
    require_root!();
    let env = Env::new();
    let deep: PathBuf = env.dir.join("s".repeat(100));
    let err = Supervisor::builder(env.root(), &deep)
        .binary(deps::containerd())
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SocketPathTooLong { .. }), "{err}");
    assert!(!deep.exists(), "nothing was created");
}

#[tokio::test]
async fn a_second_supervisor_on_the_same_state_fails_fast() {
    require_root!();
    let env = Env::new();
    let sup = env.builder().start().await.expect("start");
    let err = env.builder().start().await.unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    sup.shutdown().await.unwrap();
}

#[tokio::test]
async fn dropping_a_managed_handle_stops_the_daemon() {
    require_root!();
    let env = Env::new();
    let sup = env.builder().start().await.expect("start");
    let pid = sup.pid().unwrap();
    drop(sup);
    assert!(
        gone_within(pid, Duration::from_secs(10)).await,
        "daemon outlived its handle"
    );
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
    drop(sup);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(alive(pid), "detached daemon died with its handle");

    let again = env
        .builder()
        .mode(Mode::Managed)
        .start()
        .await
        .expect("adopt");
    assert_eq!(again.pid(), Some(pid), "adopted, not replaced");
    let c = clients(&again, &env.ns).await;
    c.version()
        .version(())
        .await
        .expect("adopted daemon answers");
    again.shutdown().await.unwrap();
    assert!(gone_within(pid, Duration::from_secs(10)).await);
}
