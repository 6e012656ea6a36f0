//! warrend end to end: the CLI against a real `warrend serve` managing a real containerd of
//! the line under test, pulling from a real registry, running real runc containers on its
//! own bridge. Traffic stays on loopback, the test's bridge and its containers.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use warren_tests::require_root;
use warren_tests::warrend::{binary, registry_with_busybox, until, Warrend};

fn stdout_stderr(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn find<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|c| c["id"] == id)
}

/// Prometheus text: `name{labels}` → value, for the samples (not comments).
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn cli_pulls_runs_inspects_stops_and_removes() {
    require_root!();
    let (registry, image) = registry_with_busybox("cli").await;
    let mut w = Warrend::start(Some(&registry.addr()));

    let pulled = w.json(&["pull", &image]);
    assert_eq!(pulled["name"], image.as_str());
    assert!(pulled["digest"].as_str().unwrap().starts_with("sha256:"));
    // The size is the image's blobs (the busybox layer), not just its manifest.
    let images = w.json(&["images"]);
    assert!(
        images
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == image.as_str() && i["size"].as_u64() > Some(100_000)),
        "{images}"
    );

    // Attached run: output on the right streams, the container's exit code, removed after.
    let out = w.cli(&[
        "run",
        "--rm",
        &image,
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    let (so, se) = stdout_stderr(&out);
    assert_eq!(out.status.code(), Some(3), "stdout {so:?} stderr {se:?}");
    assert_eq!(so, "out\n");
    assert!(se.contains("err"), "{se}");
    assert_eq!(w.json(&["ps", "-a"]), Value::Array(vec![]));

    // Detached, limited, on the bridge (the default network).
    let id = "web";
    let script = "echo started; while true; do sleep 1; done";
    let printed = w.ok(&[
        "run",
        "-d",
        "--name",
        id,
        "--cpus",
        "0.5",
        "--memory",
        "64m",
        "--pids-limit",
        "50",
        "-e",
        "GREETING=hi",
        &image,
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(printed.trim(), id);
    let ps = w.json(&["ps"]);
    let c = find(&ps, id).expect("web is listed");
    assert_eq!(c["state"], "running");
    assert!(c["pid"].as_u64().unwrap() > 0);
    let ip = c["ip"].as_str().unwrap().to_string();
    assert!(
        ip.starts_with(&w.subnet_prefix),
        "{ip} not in {}",
        w.subnet_prefix
    );

    let inspected = w.json(&["inspect", id]);
    assert_eq!(inspected[0]["network"], "bridge");
    assert_eq!(inspected[0]["ip"], ip.as_str());
    assert!(
        inspected[0]["labels"].get("warrend.restart").is_none(),
        "warrend's labels are hidden"
    );

    // exec: the command's output and exit code; the address inside is the one reported.
    let out = w.cli(&[
        "exec",
        id,
        "sh",
        "-c",
        "echo $GREETING; ip -4 addr show eth0; exit 4",
    ]);
    let (so, _) = stdout_stderr(&out);
    assert_eq!(out.status.code(), Some(4));
    assert!(so.starts_with("hi\n"), "{so}");
    assert!(so.contains(&format!("inet {ip}/")), "{so}");
    // exec -u: a user added inside the running container is found by name.
    w.ok(&[
        "exec",
        id,
        "sh",
        "-c",
        "echo app:x:1234:1234::/:/bin/sh >> /etc/passwd",
    ]);
    let so = w.ok(&["exec", "-u", "app", id, "busybox", "id", "-u"]);
    assert_eq!(so, "1234\n");
    let out = w.cli(&["exec", "-u", "nosuchuser", id, "true"]);
    let (_, se) = stdout_stderr(&out);
    assert_eq!(out.status.code(), Some(126), "{se}");
    assert!(se.contains("nosuchuser"), "{se}");
    // exec past 16 MiB on a stream: what fits arrives, and the user is told of the rest.
    let out = w.cli(&["exec", id, "busybox", "head", "-c", "17000000", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", stdout_stderr(&out).1);
    assert_eq!(out.stdout.len(), 16 << 20);
    let (_, se) = stdout_stderr(&out);
    assert!(se.contains("more than 16 MiB"), "{se}");
    let json = w.json(&[
        "exec",
        id,
        "sh",
        "-c",
        "busybox head -c 17000000 /dev/zero | busybox tr '\\0' a >&2",
    ]);
    assert_eq!(json["truncated"], true, "stderr is capped too");
    let json = w.json(&["exec", id, "true"]);
    assert!(json.get("truncated").is_none(), "{json}");

    let logs = until(Duration::from_secs(10), "the first log line", || {
        let l = w.ok(&["logs", id]);
        (!l.is_empty()).then_some(l)
    });
    assert_eq!(logs, "started\n");

    // stats: a busy loop (for 5 s, under the container's 0.5-CPU quota) shows as CPU use.
    w.ok(&[
        "exec",
        id,
        "sh",
        "-c",
        "busybox timeout 5 sh -c 'while :; do :; done' >/dev/null 2>&1 &",
    ]);
    let stats = w.json(&["stats", "--interval", "1000", id]);
    assert_eq!(stats[0]["memory_limit_bytes"], 64u64 << 20);
    assert_eq!(stats[0]["pids_limit"], 50);
    assert!(stats[0]["pids"].as_u64().unwrap() >= 2, "{stats}");
    let cpu = stats[0]["cpu_percent"].as_f64().unwrap();
    assert!((10.0..=60.0).contains(&cpu), "0.5 CPU busy: {stats}");
    let one = w.json(&["stats", "--interval", "0", id]);
    assert!(one[0]["cpu_percent"].is_null(), "{one}");

    // /healthz and /metrics.
    let (code, body) = w.http_get("/healthz");
    assert_eq!(code, 200, "{body}");
    let (code, body) = w.http_get("/metrics");
    assert_eq!(code, 200);
    let m = samples(&body);
    for name in [
        "runtime_containerd_connected",
        "runtime_containers_running",
        "runtime_oom_kills_total",
        "runtime_containerd_snapshots_total",
        "runtime_image_pull_duration_seconds_count",
        "runtime_container_create_duration_seconds_count",
        "runtime_container_start_duration_seconds_count",
        "warrend_supervisor_restarts_total",
        "warrend_container_restarts_total",
    ] {
        assert!(m.contains_key(name), "{name} missing from:\n{body}");
    }
    assert_eq!(m["runtime_containerd_connected"], 1.0);
    assert_eq!(m["runtime_containers_running"], 1.0);
    assert_eq!(m["runtime_image_pull_duration_seconds_count"], 1.0);
    assert_eq!(m["runtime_container_create_duration_seconds_count"], 2.0);
    assert!(m["runtime_containerd_snapshots_total"] >= 2.0);
    assert!(m[&format!("runtime_container_memory_usage_bytes{{container=\"{id}\"}}")] > 0.0);
    assert!(m.contains_key(&format!(
        "runtime_container_cpu_usage_seconds{{container=\"{id}\"}}"
    )));

    // rm refuses a running container; stop, then rm.
    let out = w.cli(&["rm", id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout_stderr(&out).1.contains("stop it first"));
    w.ok(&["stop", "-t", "0", id]);
    let ps = w.json(&["ps", "-a"]);
    assert_eq!(find(&ps, id).unwrap()["state"], "stopped");
    w.ok(&["rm", id]);
    assert_eq!(w.json(&["ps", "-a"]), Value::Array(vec![]));

    // Typed errors reach the CLI: unknown container, unknown image.
    let out = w.cli(&["stop", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout_stderr(&out).1.contains("not found"));
    let missing = format!("{}/warren/nothing:here", registry.addr());
    let out = w.cli(&["run", "--rm", &missing]);
    assert_eq!(out.status.code(), Some(125));

    w.ok(&["rmi", &image]);
    assert!(w.json(&["images"]).as_array().unwrap().is_empty());

    // SIGTERM: exits cleanly (an endless `events` client does not hold it up), removes
    // its socket, stops its managed containerd.
    let mut follower = Command::new(binary())
        .arg("--socket")
        .arg(w.socket())
        .arg("events")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let containerd = w.containerd_pid();
    assert!(containerd > 0, "no managed containerd pid");
    let status = w.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    assert!(!w.log().contains("cut off"), "{}", w.log());
    let _ = follower.kill();
    let _ = follower.wait();
    assert!(!w.socket().exists());
    until(Duration::from_secs(10), "containerd to exit", || {
        (!std::path::Path::new(&format!("/proc/{containerd}")).exists()
            || std::fs::read_to_string(format!("/proc/{containerd}/stat"))
                .is_ok_and(|s| s.contains(") Z ")))
        .then_some(())
    });
}

#[tokio::test]
async fn restart_policy_backs_off_and_gives_up_at_its_max() {
    require_root!();
    let (registry, image) = registry_with_busybox("crash").await;
    let w = Warrend::start(Some(&registry.addr()));
    w.ok(&["pull", "-q", &image]);
    let mut events = Command::new(binary())
        .arg("--socket")
        .arg(w.socket())
        .arg("events")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));

    w.ok(&[
        "run",
        "-d",
        "--name",
        "crash",
        "--network",
        "none",
        "--restart",
        "on-failure:2",
        &image,
        "sh",
        "-c",
        "echo ran; exit 3",
    ]);
    let c = until(Duration::from_secs(30), "the policy to give up", || {
        let ps = w.json(&["ps", "-a"]);
        let c = find(&ps, "crash")?.clone();
        (c["restart_count"] == 2 && c["state"] == "stopped").then_some(c)
    });
    assert_eq!(c["exit"]["code"], 3);
    assert_eq!(c["restart"], "on-failure:2");
    // Given up: no third run.
    std::thread::sleep(Duration::from_secs(1));
    let ps = w.json(&["ps", "-a"]);
    assert_eq!(find(&ps, "crash").unwrap()["restart_count"], 2);
    assert_eq!(w.ok(&["logs", "crash"]), "ran\nran\nran\n");

    // The events: three starts, two restart decisions, then gave-up; the back-off grows.
    let _ = events.kill();
    let out = events.wait_with_output().unwrap();
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &Value| e["container"] == "crash")
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    assert_eq!(count("started"), 3, "{kinds:?}");
    assert_eq!(count("restarting"), 2, "{kinds:?}");
    assert_eq!(count("gave-up"), 1, "{kinds:?}");
    let starts: Vec<chrono_free::Time> = events
        .iter()
        .filter(|e| e["kind"] == "started")
        .map(|e| chrono_free::parse(e["time"].as_str().unwrap()))
        .collect();
    // 100 ms before the first restart, 200 ms before the second (lower bounds only).
    assert!(starts[1] - starts[0] >= 0.1, "{starts:?}");
    assert!(starts[2] - starts[1] >= 0.2, "{starts:?}");

    // `always` restarts a clean exit too, but not a container a user stopped.
    w.ok(&[
        "run",
        "-d",
        "--name",
        "loop",
        "--network",
        "none",
        "--restart",
        "always",
        &image,
        "sh",
        "-c",
        "sleep 0.3",
    ]);
    until(Duration::from_secs(30), "two restarts", || {
        let ps = w.json(&["ps", "-a"]);
        (find(&ps, "loop")?["restart_count"].as_u64()? >= 2).then_some(())
    });
    w.ok(&["stop", "-t", "1", "loop"]);
    // A stop that lands while the policy is starting the container again stops it once
    // that start is done (seconds in the cgroup v2 guest); then it stays stopped.
    until(Duration::from_secs(30), "loop stopped", || {
        let ps = w.json(&["ps", "-a"]);
        (find(&ps, "loop")?["state"] == "stopped").then_some(())
    });
    std::thread::sleep(Duration::from_secs(1));
    let ps = w.json(&["ps", "-a"]);
    assert_eq!(find(&ps, "loop").unwrap()["state"], "stopped");
    let (_, body) = w.http_get("/metrics");
    assert!(samples(&body)["warrend_container_restarts_total"] >= 4.0);
    w.ok(&["rm", "crash", "loop"]);
}

/// RFC 3339 → seconds, enough for comparing event times (UTC, as the CLI prints them).
mod chrono_free {
    pub type Time = f64;

    pub fn parse(s: &str) -> Time {
        // 2026-11-22T23:33:29.268Z
        let (_, time) = s.split_once('T').unwrap();
        let time = time.trim_end_matches('Z');
        let mut parts = time.split(':');
        let h: f64 = parts.next().unwrap().parse().unwrap();
        let m: f64 = parts.next().unwrap().parse().unwrap();
        let sec: f64 = parts.next().unwrap().parse().unwrap();
        h * 3600.0 + m * 60.0 + sec
    }
}

#[tokio::test]
async fn a_killed_warrend_restarts_and_reattaches() {
    require_root!();
    let (registry, image) = registry_with_busybox("reattach").await;
    let mut w = Warrend::start(Some(&registry.addr()));
    w.ok(&["pull", "-q", &image]);
    w.ok(&[
        "run",
        "-d",
        "--name",
        "tick",
        "--restart",
        "always",
        &image,
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done",
    ]);
    let before = w.json(&["ps"]);
    let pid = find(&before, "tick").unwrap()["pid"].clone();
    let ip = find(&before, "tick").unwrap()["ip"].clone();
    until(Duration::from_secs(10), "output", || {
        (!w.ok(&["logs", "tick"]).is_empty()).then_some(())
    });

    w.kill();
    std::thread::sleep(Duration::from_millis(500));
    w.spawn();
    assert!(w.log().contains("reattached=1"), "{}", w.log());

    // Same process, same address; new output keeps landing in its log.
    let after = w.json(&["ps"]);
    assert_eq!(find(&after, "tick").unwrap()["pid"], pid);
    assert_eq!(find(&after, "tick").unwrap()["ip"], ip);
    let last = |w: &Warrend| w.ok(&["logs", "--tail", "1", "tick"]);
    let first = last(&w);
    until(
        Duration::from_secs(10),
        "new output after the restart",
        || (last(&w) != first).then_some(()),
    );

    // It can stop it, and its policy does not bring it back.
    w.ok(&["stop", "-t", "1", "tick"]);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        find(&w.json(&["ps", "-a"]), "tick").unwrap()["state"],
        "stopped"
    );
    w.ok(&["rm", "tick"]);
    assert!(w.terminate(Duration::from_secs(30)).success());
}

/// Exits that happen while warrend's event stream is cut (its containerd killed and
/// restarted by the supervisor) are found on the re-subscription and handled exactly once:
/// `always` and `on-failure` restart once, `--rm` is removed.
#[tokio::test]
async fn exits_while_the_event_stream_is_cut_are_handled_exactly_once() {
    require_root!();
    let (registry, image) = registry_with_busybox("cut").await;
    let w = Warrend::start(Some(&registry.addr()));
    w.ok(&["pull", "-q", &image]);
    // Each ends when the test signals it (pid 1 only acts on signals it traps).
    let script = |code: u32| format!("trap 'exit {code}' TERM; while true; do sleep 0.1; done");
    let cases = [
        ("always", &["--restart", "always"][..], 0),
        ("onfail", &["--restart", "on-failure"][..], 3),
        ("rm", &["--rm"][..], 0),
    ];
    for (id, flags, code) in &cases {
        let mut args = vec!["run", "-d", "--name", id, "--network", "none"];
        args.extend_from_slice(flags);
        let s = script(*code);
        args.extend_from_slice(&[image.as_str(), "sh", "-c", s.as_str()]);
        w.ok(&args);
    }
    let ps = w.json(&["ps"]);
    let pids: Vec<i32> = cases
        .iter()
        .map(|(id, _, _)| find(&ps, id).unwrap()["pid"].as_i64().unwrap() as i32)
        .collect();
    // The trap is set once the shell runs its loop.
    std::thread::sleep(Duration::from_millis(500));

    // Cut the stream: containerd dies; the containers exit before it is back.
    let containerd = w.containerd_pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(containerd),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for pid in &pids {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
    }

    let restarted = |ps: &Value, id: &str, old: i32| {
        find(ps, id).is_some_and(|c| {
            c["state"] == "running"
                && c["restart_count"] == 1
                && c["pid"].as_i64().is_some_and(|p| p as i32 != old)
        })
    };
    until(Duration::from_secs(60), "the policies to act", || {
        let ps = w.json(&["ps", "-a"]);
        (restarted(&ps, "always", pids[0])
            && restarted(&ps, "onfail", pids[1])
            && find(&ps, "rm").is_none())
        .then_some(())
    });
    // Exactly once: no second restart from a late event or a second reconcile.
    std::thread::sleep(Duration::from_secs(3));
    let ps = w.json(&["ps", "-a"]);
    assert!(restarted(&ps, "always", pids[0]), "{ps}");
    assert!(restarted(&ps, "onfail", pids[1]), "{ps}");
    assert!(find(&ps, "rm").is_none(), "{ps}");
    let (_, body) = w.http_get("/metrics");
    let m = samples(&body);
    assert_eq!(m["warrend_supervisor_restarts_total"], 1.0, "{body}");
    assert_eq!(m["warrend_container_restarts_total"], 2.0, "{body}");
    w.ok(&["rm", "-f", "always", "onfail"]);
}

/// Security through the CLI: the flags reach the container and `inspect`, `info` names
/// the runc, bad input is refused with its reason (never a broken stream), and what warrend
/// writes is root's alone.
#[tokio::test]
async fn cli_security_flags_info_and_private_files() {
    require_root!();
    let (registry, image) = registry_with_busybox("sec").await;
    let w = Warrend::start(Some(&registry.addr()));
    w.ok(&["pull", "-q", &image]);
    let info = w.json(&["info"]);
    assert!(
        info["runc_version"]
            .as_str()
            .unwrap()
            .starts_with("runc version"),
        "{info}"
    );
    assert!(
        !info["cgroup_version"].as_str().unwrap().is_empty(),
        "{info}"
    );

    let out = w.cli(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CHOWN",
        "--security-opt",
        "no-new-privileges=false",
        &image,
        "sh",
        "-c",
        "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status",
    ]);
    let (so, se) = stdout_stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{se}");
    assert!(so.contains("Seccomp:\t2"), "{so}");
    assert!(so.contains("NoNewPrivs:\t0"), "{so}");
    assert!(so.contains("CapEff:\t0000000000000001"), "only CHOWN: {so}");
    let out = w.cli(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--security-opt",
        "seccomp=unconfined",
        &image,
        "sh",
        "-c",
        "grep ^Seccomp: /proc/self/status",
    ]);
    assert!(stdout_stderr(&out).0.contains("Seccomp:\t0"), "{out:?}");

    // Bad input: exit 125 with the reason, not a transport error.
    for (args, reason) in [
        (vec!["-e", "aé=1", "-e", "x=1"], "env"),
        (vec!["--cap-add", "SUPERPOWER"], "cap-add"),
        (vec!["--security-opt", "apparmor=x"], "security-opt"),
        (vec!["-w", "/proc/self/fd/3"], "file-descriptor table"),
    ] {
        let mut all = vec!["run", "--rm", "--network", "none"];
        all.extend_from_slice(&args);
        all.extend_from_slice(&[image.as_str(), "true"]);
        let out = w.cli(&all);
        let (_, se) = stdout_stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {se}");
        assert!(
            se.contains(reason) && !se.contains("transport"),
            "{args:?}: {se}"
        );
    }
    assert_eq!(w.json(&["ps", "-a"]), Value::Array(vec![]));

    // A detached one: its log and folder are root's alone; inspect shows its confinement.
    w.ok(&[
        "run",
        "-d",
        "--name",
        "quiet",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        "echo secret; sleep 600",
    ]);
    until(Duration::from_secs(10), "the log line", || {
        (w.ok(&["logs", "quiet"]) == "secret\n").then_some(())
    });
    let inspected = w.json(&["inspect", "quiet"]);
    let sec = &inspected[0]["security"];
    assert_eq!(sec["seccomp"], "default", "{inspected}");
    assert_eq!(sec["no_new_privileges"], true);
    assert_eq!(sec["capabilities"].as_array().unwrap().len(), 14);
    let log_dir = std::path::PathBuf::from(inspected[0]["log_dir"].as_str().unwrap());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for dir in [
        w.dir.path().join("root"),
        w.dir.path().join("state"),
        log_dir.clone(),
    ] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    let logs: Vec<_> = std::fs::read_dir(&log_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("container.log"))
        .collect();
    assert!(!logs.is_empty());
    for l in logs {
        assert_eq!(mode(&l.path()), 0o600, "{}", l.path().display());
    }
    w.ok(&["rm", "-f", "quiet"]);
}

#[tokio::test]
async fn the_socket_refuses_other_users() {
    require_root!();
    let w = Warrend::start(None);
    let meta = std::fs::metadata(w.socket()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // Let others reach the socket file itself, so the refusal is the socket's own.
    std::fs::set_permissions(w.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(binary())
        .arg("--socket")
        .arg(w.socket())
        .arg("ps")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let (_, err) = stdout_stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("permission denied"), "{err}");
    // Root gets in.
    w.ok(&["ps"]);
}

#[test]
fn bad_flags_and_bad_config_are_refused_with_the_reason() {
    // Usage errors: exit 2 with the usage line.
    for args in [
        vec!["run"],
        vec!["run", "--cpus", "lots", "busybox"],
        vec!["run", "--memory", "12x", "busybox"],
        vec!["run", "-v", "relative:/data", "busybox"],
        vec!["stop"],
        vec!["frobnicate"],
    ] {
        let out = Command::new(binary()).args(&args).output().unwrap();
        let (_, err) = stdout_stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("Usage") || err.contains("usage") || err.contains("invalid value"),
            "{args:?}: {err}"
        );
    }
    // A bad config names its key, before anything starts.
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[network]\nsubnet = \"10.0.0.0/33\"\n", "network"),
        ("[http]\naddress = \"0.0.0.0:9323\"\n", "http.address"),
        ("[paths]\nroot = \"relative\"\n", "paths.root"),
        ("[restart]\nbackof_initial_ms = 5\n", "backof_initial_ms"),
    ] {
        let file = dir.path().join("c.toml");
        std::fs::write(&file, text).unwrap();
        let out = Command::new(binary())
            .args(["serve", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        let (_, err) = stdout_stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{text}: {err}");
        assert!(err.contains(key), "{text}: {err}");
    }
    // No daemon: the CLI says what to do.
    let out = Command::new(binary())
        .args(["--socket", "/tmp/warren-no-such.sock", "ps"])
        .output()
        .unwrap();
    let (_, err) = stdout_stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("is `warrend serve` running?"), "{err}");
}
