//! Faults injected into a running daemon (or its supervisor): kill -9, SIGSTOP, a binary
//! that vanished, the supervisor's own process killed.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::io::{AsyncBufReadExt, BufReader};
use warren_proto::containerd::services::tasks::v1::GetRequest;
use warren_proto::containerd::v1::types::Status as TaskStatus;
use warren_supervisor::{DaemonExit, Event, Phase};
use warren_tests::{busybox, require_root};

use crate::env::{
    alive, builder_for, gone_within, healthy_generation, kill, reaped_within, wait_until, Env,
};

/// Tasks/Get of container `id` in `env`'s namespace.
async fn task_status(env: &Env, id: &str) -> i32 {
    env.clients()
        .await
        .tasks()
        .get(GetRequest {
            container_id: id.into(),
            ..Default::default()
        })
        .await
        .expect("Tasks/Get")
        .into_inner()
        .process
        .expect("a process")
        .status
}

#[tokio::test]
async fn kill_9_restarts_at_once_and_containers_keep_running() {
    require_root!();
    let env = Env::new();
    let sup = env.builder().start().await.expect("start");
    let first = sup.pid().unwrap();
    let rootfs = busybox::Rootfs::new();
    let task_pid = env.run_sleeper(&rootfs, "sleeper").await;
    let mut events = sup.events();

    let started = Instant::now();
    kill(first as i32, Signal::SIGKILL);
    let second = healthy_generation(&sup, 2).await;
    eprintln!("kill -9 to SERVING again: {:?}", started.elapsed());
    assert_ne!(first, second);
    assert_eq!(sup.status().restarts, 1);
    assert!(
        reaped_within(first, Duration::from_secs(2)).await,
        "the killed daemon was reaped, not left a zombie"
    );

    // What a caller saw: the exit with its signal, an immediate restart, a new generation.
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    let exited = DaemonExit {
        code: None,
        signal: Some(9),
    };
    assert!(
        seen.contains(&Event::Exited {
            pid: first,
            status: exited
        }),
        "{seen:?}"
    );
    assert!(
        seen.contains(&Event::Restarting {
            attempt: 1,
            delay: Duration::ZERO
        }),
        "{seen:?}"
    );
    assert!(
        seen.contains(&Event::Healthy {
            pid: second,
            generation: 2
        }),
        "{seen:?}"
    );

    // The shim kept the container running, and the new daemon knows it.
    assert!(alive(task_pid), "the container died with the daemon");
    assert_eq!(
        task_status(&env, "sleeper").await,
        TaskStatus::Running as i32
    );
    busybox::remove(&env.clients().await, "sleeper").await;
    assert!(gone_within(task_pid, Duration::from_secs(5)).await);
    sup.shutdown().await.unwrap();
    assert!(reaped_within(second, Duration::from_secs(5)).await);
}

#[tokio::test]
async fn sigstop_is_detected_killed_and_restarted() {
    require_root!();
    let env = Env::new();
    let sup = env.builder().start().await.expect("start");
    let mut events = sup.events();
    let first = sup.pid().unwrap();
    let stopped = Instant::now();
    kill(first as i32, Signal::SIGSTOP);
    let second = healthy_generation(&sup, 2).await;
    eprintln!("SIGSTOP to SERVING again: {:?}", stopped.elapsed());
    assert_ne!(first, second);
    assert!(
        reaped_within(first, Duration::from_secs(5)).await,
        "the hung daemon was not killed and reaped"
    );
    let mut unhealthy = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let Event::Unhealthy { failures, .. } = e {
            unhealthy.push(failures);
        }
    }
    assert_eq!(
        unhealthy,
        [1, 2, 3],
        "three failed checks in a row, then the kill"
    );
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
    let mut status = sup.watch_status();
    let pid = sup.pid().unwrap();
    kill(pid as i32, Signal::SIGSTOP);
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.phase == Phase::Unhealthy),
    )
    .await
    .expect("noticed as unhealthy")
    .unwrap();
    kill(pid as i32, Signal::SIGCONT);
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.phase == Phase::Healthy),
    )
    .await
    .expect("healthy again")
    .unwrap();
    assert_eq!(sup.pid(), Some(pid), "the same daemon");
    assert_eq!(sup.status().restarts, 0);
    assert_eq!(sup.status().generation, 1);
    sup.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_deleted_socket_is_noticed_and_the_daemon_replaced() {
    require_root!();
    let env = Env::new();
    let sup = env.builder().start().await.expect("start");
    let first = sup.pid().unwrap();
    std::fs::remove_file(env.socket()).unwrap();
    let second = healthy_generation(&sup, 2).await;
    assert_ne!(first, second);
    assert!(reaped_within(first, Duration::from_secs(5)).await);
    assert!(env.socket().exists());
    sup.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_vanished_binary_backs_off_instead_of_looping_then_recovers() {
    require_root!();
    let env = Env::new();
    let bin_dir = env.dir.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let binary = bin_dir.join("containerd");
    std::fs::copy(warren_tests::deps::containerd(), &binary).unwrap();
    let sup = env.builder().binary(&binary).start().await.expect("start");
    let mut events = sup.events();
    std::fs::remove_file(&binary).unwrap();
    kill(sup.pid().unwrap() as i32, Signal::SIGKILL);

    let watch_for = Duration::from_millis(2500);
    let deadline = tokio::time::Instant::now() + watch_for;
    let (mut failures, mut delays) = (0, Vec::new());
    while let Ok(Ok(e)) = tokio::time::timeout_at(deadline, events.recv()).await {
        match e {
            Event::StartFailed { error } => {
                assert!(error.contains("containerd"), "{error}");
                failures += 1;
            }
            Event::Restarting { delay, .. } => delays.push(delay),
            _ => {}
        }
    }
    eprintln!("{failures} failed restarts in {watch_for:?}, delays {delays:?}");
    assert!(
        (3..=8).contains(&failures),
        "bounded back-off, not a hot loop: {failures} failures, delays {delays:?}"
    );
    assert_eq!(delays[0], Duration::ZERO, "the first restart is immediate");
    assert!(
        delays.windows(2).all(|w| w[1] >= w[0]),
        "delays grow: {delays:?}"
    );
    assert!(delays.iter().all(|d| *d <= Duration::from_secs(1)));
    let status = sup.status();
    assert!(
        status.failed_attempts >= 3,
        "crash loop visible: {status:?}"
    );

    // Put the binary back: the next attempt brings the daemon back.
    std::fs::copy(warren_tests::deps::containerd(), &binary).unwrap();
    healthy_generation(&sup, 2).await;
    assert_eq!(sup.status().failed_attempts, 0);
    sup.shutdown().await.unwrap();
}

const HELPER_DIR: &str = "WARREN_SUP_HELPER_DIR";

/// Not a test of its own: the body of the supervisor process that
/// `a_killed_supervisor_process_takes_its_managed_daemon_along` starts and then kills.
#[test]
#[ignore = "run as a child process by a_killed_supervisor_process_takes_its_managed_daemon_along"]
fn helper_supervisor_process() {
    let Some(dir) = std::env::var_os(HELPER_DIR) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    // A descriptor without close-on-exec, as systemd's socket activation hands over.
    let canary = std::fs::File::create(dir.join("leak-canary")).unwrap();
    nix::fcntl::fcntl(
        &canary,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sup = builder_for(&dir.join("root"), &dir.join("state"))
            .start()
            .await
            .expect("helper: start");
        println!("DAEMON {}", sup.pid().unwrap());
        std::future::pending::<()>().await;
    });
}

#[tokio::test]
async fn a_killed_supervisor_process_takes_its_managed_daemon_along() {
    require_root!();
    let env = Env::new();
    let mut helper = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "faults::helper_supervisor_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_DIR, &env.dir)
        // What systemd would hand a service: none of it may reach containerd.
        .env("NOTIFY_SOCKET", "/run/systemd/notify")
        .env("LISTEN_FDS", "1")
        .env("LISTEN_PID", "1")
        .env("WATCHDOG_USEC", "1000000")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(helper.stdout.take().unwrap()).lines();
    let daemon: u32 = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // libtest prints the test's name on the same line first.
            if let Some((_, pid)) = line.split_once("DAEMON ") {
                return pid.trim().parse().unwrap();
            }
        }
        panic!("the helper ended without starting a daemon");
    })
    .await
    .expect("the helper started a daemon");

    // How the daemon was spawned: own session, stdin /dev/null, cwd /, clean environment,
    // none of the supervisor's descriptors inherited.
    let sid = nix::unistd::getsid(Some(nix::unistd::Pid::from_raw(daemon as i32))).unwrap();
    assert_eq!(sid.as_raw(), daemon as i32, "a session of its own");
    let fd0 = std::fs::read_link(format!("/proc/{daemon}/fd/0")).unwrap();
    assert_eq!(fd0, std::path::Path::new("/dev/null"));
    let cwd = std::fs::read_link(format!("/proc/{daemon}/cwd")).unwrap();
    assert_eq!(cwd, std::path::Path::new("/"));
    let environ = std::fs::read(format!("/proc/{daemon}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    for var in environ.split('\0') {
        assert!(
            !var.starts_with("NOTIFY_SOCKET=")
                && !var.starts_with("LISTEN_")
                && !var.starts_with("WATCHDOG_"),
            "{var} reached containerd"
        );
    }
    assert!(environ.contains(&warren_tests::deps::daemon_path_env()));
    for fd in std::fs::read_dir(format!("/proc/{daemon}/fd")).unwrap() {
        let target = std::fs::read_link(fd.unwrap().path()).unwrap_or_default();
        for ours in ["supervisor.lock", "leak-canary"] {
            assert!(
                !target.to_string_lossy().contains(ours),
                "the daemon inherited our {ours}"
            );
        }
    }

    let rootfs = busybox::Rootfs::new();
    let task_pid = env.run_sleeper(&rootfs, "survivor").await;

    // The supervisor's process dies without a chance to clean up.
    helper.start_kill().unwrap();
    helper.wait().await.unwrap();
    assert!(
        gone_within(daemon, Duration::from_secs(2)).await,
        "a managed daemon outlived its supervisor's process"
    );
    assert!(alive(task_pid), "the container died with the supervisor");

    // The next supervisor starts a new daemon (the pid file names a dead one), which
    // reattaches to the running container.
    let sup = env.builder().start().await.expect("restart");
    assert_ne!(sup.pid(), Some(daemon));
    assert!(
        wait_until(Duration::from_secs(5), || !env
            .daemons()
            .contains(&(daemon as i32)))
        .await
    );
    assert_eq!(
        task_status(&env, "survivor").await,
        TaskStatus::Running as i32
    );
    busybox::remove(&env.clients().await, "survivor").await;
    assert!(gone_within(task_pid, Duration::from_secs(5)).await);
    sup.shutdown().await.unwrap();
}
