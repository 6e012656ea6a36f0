//! warrend's everyday commands end to end: `kill`, `restart`, `wait`, `top`, `port`,
//! `container prune`, `image prune` and `logs --since/--until/-t`, through the real CLI
//! against a real `warrend serve` and containerd, with images from a real registry.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use warren_tests::images::{busybox_layer, layer, push, Entry};
use warren_tests::registry::Registry;
use warren_tests::require_root;
use warren_tests::warrend::{binary, until, Warrend};

fn container(w: &Warrend, id: &str) -> Option<Value> {
    w.json(&["ps", "-a"])
        .as_array()?
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
}

/// stdout, stderr and exit code of a CLI call.
fn run(w: &Warrend, args: &[&str]) -> (String, String, Option<i32>) {
    let out = w.cli(args);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

/// How many times warrend's log says the restart policy started `id`.
fn policy_restarts(w: &Warrend, id: &str) -> usize {
    w.log()
        .lines()
        .filter(|l| l.contains("restarting by policy") && l.contains(id))
        .count()
}

#[tokio::test]
async fn kill_restart_wait_top_and_port() {
    require_root!();
    let registry = Registry::start();
    let image = format!("{}/warren/busybox:everyday", registry.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    // A back-off long enough for a user's start to land inside it.
    let w = Warrend::start_with_config(
        Some(&registry.addr()),
        "[restart]\nbackoff_initial_ms = 2000\n",
    );

    // A bad signal is refused before anything is sent: the container runs on.
    let script = "trap 'exit 3' HUP; echo up; while true; do sleep 0.1; done";
    w.ok(&[
        "run",
        "-d",
        "--name",
        "pol",
        "--network",
        "none",
        "--restart",
        "always",
        &image,
        "sh",
        "-c",
        script,
    ]);
    let (_, err, code) = run(&w, &["kill", "-s", "NOPE", "pol"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--signal") && err.contains("not a signal"),
        "{err}"
    );
    let first_pid = container(&w, "pol").unwrap()["pid"].as_u64().unwrap();
    assert_eq!(container(&w, "pol").unwrap()["state"], "running");

    // A signal that is not SIGKILL nor the stop signal: its exit is like any other, and
    // `always` starts the container again.
    until(Duration::from_secs(10), "the trap is set", || {
        w.ok(&["logs", "pol"]).contains("up").then_some(())
    });
    assert_eq!(w.ok(&["kill", "-s", "SIGHUP", "pol"]).trim(), "pol");
    let c = until(Duration::from_secs(20), "a restart by policy", || {
        let c = container(&w, "pol")?;
        (c["restart_count"] == 1 && c["state"] == "running").then_some(c)
    });
    assert_ne!(c["pid"].as_u64().unwrap(), first_pid);

    // SIGKILL (the default) is the user's stop: exit 137, and no restart.
    assert_eq!(w.ok(&["kill", "pol"]).trim(), "pol");
    assert_eq!(w.ok(&["wait", "pol"]), "137\n");
    std::thread::sleep(Duration::from_secs(1));
    let c = container(&w, "pol").unwrap();
    assert_eq!(
        (c["state"].as_str(), c["restart_count"].as_u64()),
        (Some("stopped"), Some(1))
    );
    assert_eq!(policy_restarts(&w, "pol"), 1);
    let (_, err, code) = run(&w, &["kill", "pol"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("pol") && err.contains("stopped"), "{err}");

    // `restart` starts a stopped container; on a running one it stops (sh ignores SIGTERM
    // as pid 1, so SIGKILL after 1 s) and starts it once: the policy does not start it too.
    assert_eq!(w.ok(&["restart", "pol"]).trim(), "pol");
    let c = container(&w, "pol").unwrap();
    assert_eq!(
        (c["state"].as_str(), c["restart_count"].as_u64()),
        (Some("running"), Some(0))
    );
    let before = c["pid"].as_u64().unwrap();
    assert_eq!(w.ok(&["restart", "-t", "1", "pol"]).trim(), "pol");
    let c = container(&w, "pol").unwrap();
    assert_eq!(c["state"], "running");
    assert_ne!(c["pid"].as_u64().unwrap(), before);
    std::thread::sleep(Duration::from_secs(1));
    let c = container(&w, "pol").unwrap();
    assert_eq!(
        (c["state"].as_str(), c["restart_count"].as_u64()),
        (Some("running"), Some(0))
    );
    assert_eq!(policy_restarts(&w, "pol"), 1, "{}", w.log());
    assert!(!w.log().contains("restart by policy failed"), "{}", w.log());

    // A `restart` during the policy's back-off: the policy's own start is called off.
    let script_flap = "test -e /again && exec sleep 1000; touch /again; exit 1";
    w.ok(&[
        "run",
        "-d",
        "--name",
        "flap",
        "--network",
        "none",
        "--restart",
        "always",
        &image,
        "sh",
        "-c",
        script_flap,
    ]);
    until(Duration::from_secs(10), "the policy's back-off", || {
        (policy_restarts(&w, "flap") == 1).then_some(())
    });
    assert_eq!(w.ok(&["restart", "flap"]).trim(), "flap");
    std::thread::sleep(Duration::from_millis(2500));
    let f = container(&w, "flap").unwrap();
    assert_eq!(
        (f["state"].as_str(), f["restart_count"].as_u64()),
        (Some("running"), Some(0))
    );
    assert!(!w.log().contains("restart by policy failed"), "{}", w.log());

    // `top`: host pids, the parent links, the command lines, the user, as /proc shows them.
    let pid = c["pid"].as_u64().unwrap();
    let top = w.json(&["top", "pol"]);
    let procs = top.as_array().unwrap();
    let init = procs
        .iter()
        .find(|p| p["pid"] == pid)
        .expect("the init process");
    assert_eq!(init["command"], format!("sh -c {script}"));
    assert_eq!(
        (init["uid"].as_u64(), init["user"].as_str()),
        (Some(0), Some("root"))
    );
    let host_cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(host_cmdline.starts_with(b"sh\0-c\0"));
    for p in procs.iter().filter(|p| p["pid"] != pid) {
        assert_eq!(p["ppid"], pid, "{top}");
        assert!(p["command"].as_str().unwrap().starts_with("sleep"), "{top}");
    }
    let table = w.ok(&["top", "pol"]);
    assert!(table.starts_with("USER"), "{table}");
    assert!(table.contains(&format!("root  {pid}")) || table.contains(&pid.to_string()));
    let (_, err, code) = run(&w, &["top", "nobody-here"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("nobody-here"), "{err}");

    // `wait`: each container's exit code, in order; a missing one is an error.
    for (id, code) in [("five", 5), ("zero", 0)] {
        let cmd = format!("sleep 0.5; exit {code}");
        w.ok(&[
            "run",
            "-d",
            "--name",
            id,
            "--network",
            "none",
            &image,
            "sh",
            "-c",
            &cmd,
        ]);
    }
    assert_eq!(w.ok(&["wait", "five", "zero"]), "5\n0\n");
    let (out, err, code) = run(&w, &["wait", "zero", "missing"]);
    assert_eq!((out.as_str(), code), ("0\n", Some(1)), "{err}");
    assert!(err.contains("missing"), "{err}");

    // `port`: Docker's lines, sorted; one port; a port it does not publish.
    let tcp = 20000 + rand::random::<u16>() % 20000;
    let udp = tcp + 1;
    w.ok(&[
        "create",
        "--name",
        "web",
        "-p",
        &format!("127.0.0.1:{tcp}:80"),
        "-p",
        &format!("{udp}:53/udp"),
        &image,
    ]);
    assert_eq!(
        w.ok(&["port", "web"]),
        format!("53/udp -> 0.0.0.0:{udp}\n80/tcp -> 127.0.0.1:{tcp}\n")
    );
    assert_eq!(
        w.ok(&["port", "web", "80/tcp"]),
        format!("127.0.0.1:{tcp}\n")
    );
    let (_, err, code) = run(&w, &["port", "web", "81"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no port 81/tcp"), "{err}");
    // A container that never ran has no exit to wait for.
    let (_, err, code) = run(&w, &["wait", "web"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("never been started"), "{err}");
    let (_, err, code) = run(&w, &["port", "web", "80/sctp"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("PORT/tcp|udp"), "{err}");

    w.ok(&["rm", "-f", "pol", "flap", "five", "zero", "web"]);
}

/// A second image that shares busybox's layer with the first and adds 256 KiB of its own.
async fn push_images(registry: &Registry) -> (String, String) {
    let used = format!("{}/warren/busybox:used", registry.addr());
    let unused = format!("{}/warren/busybox:unused", registry.addr());
    // One base layer for both (every busybox_layer() call makes a new one).
    let base = busybox_layer();
    push(&used, std::slice::from_ref(&base), &["sh"]).await;
    let noise: Vec<u8> = (0..256 * 1024).map(|_| rand::random::<u8>()).collect();
    let extra = layer(&[Entry::File("noise.bin", &noise, 0o644)]);
    push(&unused, &[base, extra], &["sh"]).await;
    (used, unused)
}

fn names(v: &Value) -> BTreeSet<String> {
    v["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Run `warrend ARGS` with a pseudo-terminal as its stdin (util-linux `script`), typing
/// `input`; what the terminal showed.
fn at_terminal(w: &Warrend, args: &str, input: &str) -> String {
    use std::io::Write;
    let command = format!(
        "{} --socket {} {args}",
        binary().display(),
        w.socket().display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux script");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn prunes_and_the_logs_time_window() {
    require_root!();
    let registry = Registry::start();
    let (used, unused) = push_images(&registry).await;
    let w = Warrend::start(Some(&registry.addr()));
    w.ok(&["pull", "-q", &unused]);

    // Logs: two lines a second apart; --since/--until split them at the second one's time.
    w.ok(&[
        "run",
        "--name",
        "talk",
        "--network",
        "none",
        &used,
        "sh",
        "-c",
        "echo one; sleep 1; echo two",
    ]);
    let lines: Vec<Value> = w
        .ok(&["--json", "logs", "talk"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let second = lines[1]["time"].as_str().unwrap().to_string();
    assert_eq!(w.ok(&["logs", "--since", &second, "talk"]), "two\n");
    assert_eq!(w.ok(&["logs", "--until", &second, "talk"]), "one\n");
    assert_eq!(w.ok(&["logs", "--since", "1h", "talk"]), "one\ntwo\n");
    assert_eq!(w.ok(&["logs", "--until", "1h", "talk"]), "");
    let stamped = w.ok(&["logs", "-t", "--since", &second, "talk"]);
    assert_eq!(stamped, format!("{second} two\n"));
    let (_, err, code) = run(&w, &["logs", "--since", "yesterday", "talk"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--since") && err.contains("not a time"),
        "{err}"
    );

    // A follow with an --until ahead ends then, while the container still prints.
    w.ok(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "--network",
        "none",
        &used,
        "sh",
        "-c",
        "while true; do echo tick; sleep 0.2; done",
    ]);
    let end = SystemTime::now() + Duration::from_secs(2);
    // Unix seconds, the third form a time can take.
    let since_epoch = end.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    let end_text = format!(
        "{}.{:09}",
        since_epoch.as_secs(),
        since_epoch.subsec_nanos()
    );
    let followed = w.ok(&["--json", "logs", "-f", "--until", &end_text, "ticker"]);
    assert!(followed.lines().count() >= 2, "{followed}");
    for l in followed.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        let t = chrono::DateTime::parse_from_rfc3339(v["time"].as_str().unwrap()).unwrap();
        assert!(SystemTime::from(t) < end, "{l}");
    }
    assert_eq!(container(&w, "ticker").unwrap()["state"], "running");

    // Container prune: stopped and created ones go, the running one stays.
    w.ok(&["create", "--name", "fresh", "--network", "none", &used]);
    let (_, err, code) = run(&w, &["container", "prune"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("-f/--force") && err.contains("not a terminal"),
        "{err}"
    );
    // At a terminal (a pty from `script`) it asks; "n" keeps everything.
    let answered = at_terminal(&w, "container prune", "n\n");
    assert!(answered.contains("Are you sure? [y/N]"), "{answered}");
    assert_eq!(w.json(&["ps", "-a"]).as_array().unwrap().len(), 3);
    let none = w.json(&["container", "prune", "-f", "--filter", "until=1h"]);
    assert!(names(&none).is_empty(), "{none}");
    let (_, err, code) = run(&w, &["container", "prune", "-f", "--filter", "label=a"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a supported filter"), "{err}");
    let pruned = w.json(&["container", "prune", "-f"]);
    let expected: BTreeSet<String> = ["talk", "fresh"].iter().map(|s| s.to_string()).collect();
    assert_eq!(names(&pruned), expected);
    let left: Vec<String> = w
        .json(&["ps", "-a"])
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["ticker"]);

    // Image prune: the unused image goes (its own layer is reclaimed, the shared busybox
    // layer stays), the one a container uses stays.
    let images = w.json(&["images"]);
    let size_of = |name: &str| {
        images
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap()["size"]
            .as_u64()
            .unwrap()
    };
    let unused_size = size_of(&unused);
    let (_, err, code) = run(&w, &["image", "prune"]);
    assert_eq!(code, Some(1), "{err}");
    let none = w.json(&["image", "prune", "-f", "--filter", "until=1h"]);
    assert!(names(&none).is_empty(), "{none}");
    // "y" at the terminal: it goes ahead.
    let shown = at_terminal(&w, "--json image prune -a", "y\n");
    assert!(shown.contains("Are you sure? [y/N]"), "{shown:?}");
    // The JSON follows the prompt on the same terminal line.
    let json = shown
        .find('{')
        .map(|at| shown[at..].lines().next().unwrap_or_default())
        .unwrap_or_else(|| panic!("no JSON in {shown:?}"));
    let pruned: Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(names(&pruned), BTreeSet::from([unused.clone()]));
    let reclaimed = pruned["bytes_reclaimed"].as_u64().unwrap();
    eprintln!("image prune reclaimed {reclaimed} bytes of an image of {unused_size}");
    assert!(
        reclaimed > 256 * 1024 && reclaimed < unused_size,
        "reclaimed {reclaimed} of {unused_size}"
    );
    let left: Vec<String> = w
        .json(&["images"])
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, [used]);
    let text = w.ok(&["image", "prune", "-f"]);
    assert_eq!(text, "Total reclaimed space: 0 B\n");

    w.ok(&["rm", "-f", "ticker"]);
}
