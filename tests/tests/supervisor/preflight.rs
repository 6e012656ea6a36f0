//! Mistakes caught before (or right at) start-up, each with a clear typed error, fast.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use warren_proto::containerd::services::introspection::v1::PluginsRequest;
use warren_supervisor::{Error, MAX_SOCKET_PATH};
use warren_tests::{deps, require_root};

use crate::env::{alive, builder_for, ChildGuard, Env};

#[tokio::test]
async fn a_missing_binary_fails_in_well_under_a_second() {
    require_root!();
    let env = Env::new();
    let started = Instant::now();
    let err = env
        .builder()
        .binary("/nonexistent/bin/containerd")
        .start()
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, Error::Binary { .. }), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/bin/containerd"),
        "{err}"
    );
    assert!(!env.state().exists(), "nothing was created");

    // A bare name that PATH does not have.
    let err = env
        .builder()
        .binary("containerd-of-nowhere")
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not found in PATH"), "{err}");
}

#[tokio::test]
async fn a_binary_that_is_not_executable_or_not_containerd_is_refused() {
    require_root!();
    let env = Env::new();
    std::fs::create_dir_all(&env.dir).unwrap();
    let plain = env.dir.join("containerd");
    std::fs::copy(deps::containerd(), &plain).unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = env.builder().binary(&plain).start().await.unwrap_err();
    assert!(err.to_string().contains("not an executable"), "{err}");

    let err = env
        .builder()
        .binary("/bin/sleep")
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownVersion { .. }), "{err}");
    assert!(!env.state().exists(), "nothing was created");
}

#[tokio::test]
async fn bad_options_are_refused_before_anything_is_created() {
    require_root!();
    let env = Env::new();
    let err = env.builder().log_level("loud").start().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "log_level",
                ..
            }
        ),
        "{err}"
    );
    let err = env
        .builder()
        .oom_score_adj(-5000)
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "oom_score_adj",
                ..
            }
        ),
        "{err}"
    );
    let err = env
        .builder()
        .health_timeout(Duration::ZERO)
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidOption { .. }), "{err}");
    assert!(!env.state().exists(), "nothing was created");
}

#[tokio::test]
async fn invalid_extra_config_reports_containerds_own_complaint() {
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
    // Moving what the supervisor owns.
    let err = env
        .builder()
        .extra_config("[grpc]\naddress = \"/run/elsewhere.sock\"\n")
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("grpc.address"), "{err}");
    assert!(!env.state().exists(), "nothing was created");

    // TOML that containerd itself rejects on every line: a string where it wants a number.
    let started = Instant::now();
    let err = env
        .builder()
        .extra_config("[grpc]\nmax_recv_message_size = \"lots\"\n")
        .start()
        .await
        .unwrap_err();
    let took = started.elapsed();
    eprintln!(
        "containerd {} rejected the config in {took:?}: {err}",
        deps::line()
    );
    let Error::ExitedDuringStart {
        status,
        stderr_tail,
    } = &err
    else {
        panic!("expected an exit during start-up, got {err}");
    };
    assert_eq!(status.code, Some(1), "{status}");
    assert!(
        stderr_tail.contains("failed to unmarshal TOML"),
        "containerd's own complaint is in the error: {stderr_tail}"
    );
    assert!(
        took < Duration::from_secs(2),
        "failed fast, not by timeout: {took:?}"
    );
    assert!(env.daemons().is_empty());
    assert!(!env.pid_file().exists());
}

#[tokio::test]
async fn an_unwritable_state_dir_is_a_clear_error() {
    require_root!();
    let env = Env::new();
    std::fs::create_dir_all(&env.dir).unwrap();

    // Under a regular file.
    let file = env.dir.join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let err = builder_for(&env.root(), &file.join("state"))
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

    // On a read-only file system (root ignores permission bits, not this).
    let ro = env.dir.join("ro");
    std::fs::create_dir_all(&ro).unwrap();
    nix::mount::mount(
        Some("tmpfs"),
        &ro,
        Some("tmpfs"),
        nix::mount::MsFlags::MS_RDONLY,
        Some("size=1m"),
    )
    .expect("mount a read-only tmpfs");
    let err = builder_for(&env.root(), &ro.join("state"))
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
    assert!(err.to_string().contains("Read-only file system"), "{err}");
    // The read-only state dir itself exists: writing into it fails.
    let err = builder_for(&env.root(), &ro).start().await.unwrap_err();
    assert!(err.to_string().contains("cannot write"), "{err}");
    assert!(env.daemons().is_empty());
}

#[tokio::test]
async fn the_socket_path_limit_is_exact() {
    require_root!();
    let env = Env::new();
    // `<state>/containerd.sock` of exactly MAX_SOCKET_PATH bytes starts...
    let base = env.dir.display().to_string().len() + 1;
    let fill = MAX_SOCKET_PATH - base - "/containerd.sock".len();
    let state: PathBuf = env.dir.join("s".repeat(fill));
    assert_eq!(
        state.join("containerd.sock").as_os_str().len(),
        MAX_SOCKET_PATH
    );
    let sup = builder_for(&env.root(), &state)
        .start()
        .await
        .expect("98 bytes");
    sup.shutdown().await.unwrap();

    // ... and one byte more is refused before anything is created.
    let longer: PathBuf = env.dir.join("s".repeat(fill + 1));
    let err = builder_for(&env.root(), &longer).start().await.unwrap_err();
    assert!(
        matches!(err, Error::SocketPathTooLong { len, .. } if len == MAX_SOCKET_PATH + 1),
        "{err}"
    );
    assert!(!longer.exists(), "nothing was created");
}

#[tokio::test]
async fn a_second_supervisor_on_the_same_state_fails_fast() {
    require_root!();
    let env = Env::new();
    let sup = env.builder().start().await.expect("start");
    let started = Instant::now();
    let err = env.builder().start().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert_eq!(env.daemons().len(), 1, "no second daemon");
    sup.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_socket_someone_answers_on_is_refused_not_stolen() {
    require_root!();
    let env = Env::new();
    std::fs::create_dir_all(env.state()).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(env.socket()).unwrap();
    let err = env.builder().start().await.unwrap_err();
    assert!(matches!(err, Error::SocketInUse { .. }), "{err}");
    assert!(env.socket().exists(), "the live socket was left alone");
    assert!(env.daemons().is_empty(), "nothing was spawned");

    // A regular file where the socket goes is not ours to delete either.
    drop(_listener);
    std::fs::remove_file(env.socket()).unwrap();
    std::fs::write(env.socket(), b"precious").unwrap();
    let err = env.builder().start().await.unwrap_err();
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read(env.socket()).unwrap(), b"precious");
}

#[tokio::test]
async fn a_leftover_socket_is_removed_and_start_succeeds() {
    require_root!();
    let env = Env::new();
    std::fs::create_dir_all(env.state()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(env.socket()).unwrap());
    let sup = env
        .builder()
        .start()
        .await
        .expect("start over a stale socket");
    sup.shutdown().await.unwrap();
    assert!(!env.socket().exists(), "socket removed at shutdown");
    assert!(!env.pid_file().exists(), "pid file removed at shutdown");
}

#[tokio::test]
async fn a_pid_file_naming_another_process_is_never_trusted_nor_signalled() {
    require_root!();
    let env = Env::new();
    std::fs::create_dir_all(env.state()).unwrap();
    let bystander = ChildGuard(
        std::process::Command::new("sleep")
            .arg("1000")
            .spawn()
            .unwrap(),
    );
    let pid = bystander.0.id();
    // A zombie: a child of ours that exited and was not reaped.
    let mut zombie = std::process::Command::new("true").spawn().unwrap();
    let zombie_pid = zombie.id();
    while alive(zombie_pid) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // A thread id (of this very process: signalling it would kill the test).
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        tx.send(nix::unistd::gettid().as_raw()).unwrap();
        let _ = stop_rx.recv();
    });
    let tid = rx.recv().unwrap();
    let record = |pid: u32| {
        format!(
            "pid = {pid}\nstart_time = 1\nboot_id = \"x\"\nexe = \"{}\"\nconfig = \"{}\"\n",
            deps::containerd().display(),
            env.state().join("containerd.toml").display()
        )
    };
    // A dockerd-style bare pid, and records naming our binary and config.
    for text in [
        format!("{pid}\n"),
        record(pid),
        record(zombie_pid),
        record(tid as u32),
    ] {
        std::fs::write(env.pid_file(), &text).unwrap();
        let sup = env.builder().start().await.expect("start");
        let daemon = sup.pid().unwrap();
        assert!(![pid, zombie_pid, tid as u32].contains(&daemon));
        let recorded = std::fs::read_to_string(env.pid_file()).unwrap();
        assert!(
            recorded.contains(&format!("pid = {daemon}")),
            "pid file rewritten: {recorded}"
        );
        sup.shutdown().await.unwrap();
        assert!(alive(pid), "the unrelated process was signalled ({text})");
    }
    stop_tx.send(()).unwrap();
    thread.join().unwrap();
    zombie.wait().unwrap();
}

#[tokio::test]
async fn the_config_is_private_explicit_and_versioned() {
    require_root!();
    let env = Env::new();
    let sup = env
        .builder()
        // Raising is always allowed; lowering needs CAP_SYS_RESOURCE, which this sandbox lacks.
        .oom_score_adj(250)
        .log_file(env.dir.join("daemon.log"))
        .debug_socket(true)
        .extra_config("[plugins.'io.containerd.gc.v1.scheduler']\npause_threshold = 0.05\n")
        .start()
        .await
        .expect("start");
    use std::os::unix::fs::FileTypeExt;
    let debug = env.state().join("debug.sock");
    assert!(std::fs::metadata(&debug).unwrap().file_type().is_socket());
    let path = sup.config_path();
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(path).unwrap();
    let expected = if deps::line().starts_with('1') { 2 } else { 3 };
    assert!(text.contains(&format!("version = {expected}")), "{text}");
    for p in [env.root(), env.state()] {
        assert!(text.contains(&p.display().to_string()), "{text}");
    }
    assert!(!text.contains("/run/containerd") && !text.contains("/var/lib/containerd"));
    assert!(text.contains("pause_threshold"), "{text}");
    let pid = sup.pid().unwrap();
    let adj = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
    assert_eq!(adj.trim(), "250", "oom_score_adj of the daemon");
    // Nothing outside our dirs: the opt plugin's dir too.
    assert!(env.root().join("opt").is_dir());

    // CRI off without error noise: no plugin failed (skipped ones are fine), and the daemon
    // logged no warning or error while starting.
    let plugins = env
        .clients()
        .await
        .introspection()
        .plugins(PluginsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .plugins;
    let failed: Vec<_> = plugins
        .iter()
        .filter(|p| {
            p.init_err
                .as_ref()
                .is_some_and(|e| !e.message.contains("skip plugin"))
        })
        .map(|p| format!("{}.{}: {:?}", p.r#type, p.id, p.init_err))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(!plugins
        .iter()
        .any(|p| p.id == "cri" && p.init_err.is_none()));
    sup.shutdown().await.unwrap();
    assert!(!debug.exists() && !env.socket().exists());
    let log = std::fs::read_to_string(env.dir.join("daemon.log")).unwrap();
    let noisy: Vec<_> = log
        .lines()
        .filter(|l| l.contains("level=warning") || l.contains("level=error"))
        .collect();
    assert!(noisy.is_empty(), "{noisy:#?}");
}

#[tokio::test]
async fn a_root_used_by_a_containerd_we_did_not_start_is_refused() {
    require_root!();
    let env = Env::new();
    // A foreign daemon on our root (`<root>/containerd`), with its own socket and state.
    let other = env.dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let version = if deps::line().starts_with('1') { 2 } else { 3 };
    let config = other.join("c.toml");
    std::fs::write(
        &config,
        format!(
            "version = {version}\nroot = \"{root}\"\nstate = \"{o}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\naddress = \"{o}/c.sock\"\n[ttrpc]\naddress = \"{o}/c.sock.ttrpc\"\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\npath = \"{o}/opt\"\n",
            root = env.root().join("containerd").display(),
            o = other.display()
        ),
    )
    .unwrap();
    let _foreign = ChildGuard(
        std::process::Command::new(deps::containerd())
            .arg("--config")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(
        crate::env::wait_until(Duration::from_secs(10), || other.join("c.sock").exists()).await,
        "the foreign daemon serves"
    );
    let started = Instant::now();
    let err = env.builder().start().await.unwrap_err();
    assert!(matches!(err, Error::RootInUse { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(
        env.daemons().is_empty(),
        "no second daemon hanging on the lock"
    );
}
