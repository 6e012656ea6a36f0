//! Container output belongs to the shim's logger, not to warrend: a container writing as
//! fast as it can keeps writing while warrend is killed or stopped, and while containerd
//! restarts; afterwards `logs` has every line once, in order. A container that ends while
//! warrend is down keeps its output and exit code; many containers are picked up quickly
//! after a restart.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::require_root;
use warren_tests::warrend::Warrend;

/// A registry with a busybox image, and a warrend that pulled it, with room for big logs.
async fn setup(tag: &str) -> (Registry, String, Warrend) {
    let registry = Registry::start();
    let image = format!("{}/warren/busybox:{tag}", registry.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    let w = Warrend::start_with_config(Some(&registry.addr()), "[logs]\nmax_bytes = 268435456\n");
    w.ok(&["pull", "-q", &image]);
    (registry, image, w)
}

/// The container's log folder, from `inspect`.
fn log_dir(w: &Warrend, id: &str) -> PathBuf {
    let v = w.json(&["inspect", id]);
    PathBuf::from(v[0]["log_dir"].as_str().unwrap())
}

/// The counter value of the newest record in the log (0 before the first), read from the
/// file itself: warrend may be down.
fn last_count(dir: &Path) -> u64 {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(dir.join("container.log")) else {
        return 0;
    };
    let len = f.metadata().unwrap().len();
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(4096)));
    let mut tail = String::new();
    let _ = f.read_to_string(&mut tail);
    tail.lines()
        .rev()
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// Lines the counter writes per second over `span`, read from the file.
fn rate(dir: &Path, span: Duration) -> f64 {
    let (a, t) = (last_count(dir), Instant::now());
    std::thread::sleep(span);
    (last_count(dir).saturating_sub(a)) as f64 / t.elapsed().as_secs_f64()
}

/// Every line of `logs`: the counter from 0, each number once and in order.
fn assert_gapless(w: &Warrend, id: &str) -> u64 {
    let out = w.ok(&["logs", id]);
    let mut expected = 0u64;
    for line in out.lines() {
        let n: u64 = line
            .parse()
            .unwrap_or_else(|_| panic!("not a count: {line:?}"));
        assert_eq!(
            n,
            expected,
            "a gap or a repeat after {}",
            expected.wrapping_sub(1)
        );
        expected += 1;
    }
    assert!(expected > 0, "no output");
    expected
}

#[tokio::test]
async fn a_fast_writer_never_waits_for_warrend_or_containerd() {
    require_root!();
    let (_registry, image, mut w) = setup("fast").await;
    // As fast as it can within a tenth of a CPU (so the log stays a few MB).
    w.ok(&[
        "run",
        "-d",
        "--name",
        "count",
        "--network",
        "none",
        "--cpus",
        "0.1",
        &image,
        "sh",
        "-c",
        "i=0; while :; do echo $i; i=$((i+1)); done",
    ]);
    let dir = log_dir(&w, "count");
    let before = rate(&dir, Duration::from_secs(2));
    assert!(
        before > 100.0,
        "the writer barely writes: {before:.0} lines/s"
    );

    // Killed for 10 s: the counter keeps its pace.
    w.kill();
    let killed = rate(&dir, Duration::from_secs(10));
    w.spawn();
    // Stopped cleanly and started again 3 s later: the same.
    assert!(w.terminate(Duration::from_secs(30)).success());
    let stopped = rate(&dir, Duration::from_secs(3));
    w.spawn();
    // containerd killed and restarted by the supervisor: the shim and its logger go on.
    let containerd = w.containerd_pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(containerd),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let restarted = rate(&dir, Duration::from_secs(3));
    for (what, r) in [
        ("killed", killed),
        ("stopped", stopped),
        ("containerd restart", restarted),
    ] {
        assert!(
            r > before * 0.5,
            "while warrend was {what}: {r:.0} lines/s, {before:.0} before"
        );
    }
    // The daemon answers again (the restarted containerd too).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !w.cli(&["stop", "-t", "1", "count"]).status.success() {
        assert!(Instant::now() < deadline, "stop never worked:\n{}", w.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let lines = assert_gapless(&w, "count");
    eprintln!(
        "{lines} lines; lines/s before {before:.0}, killed {killed:.0}, stopped {stopped:.0}, \
         containerd restart {restarted:.0}"
    );
    w.ok(&["rm", "count"]);
}

#[tokio::test]
async fn a_container_that_ends_while_warrend_is_down_keeps_output_and_exit_code() {
    require_root!();
    let (_registry, image, mut w) = setup("down").await;
    let script = "sleep 2; i=1; while [ $i -le 3000 ]; do echo $i; i=$((i+1)); done; exit 7";
    w.ok(&[
        "run",
        "-d",
        "--name",
        "ends",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        script,
    ]);
    w.ok(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "gone",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        "sleep 2; echo bye",
    ]);
    let root = w.dir.path().join("root/runtime").join(&w.namespace);
    w.kill();
    std::thread::sleep(Duration::from_secs(5));
    w.spawn();
    let ps = w.json(&["ps", "-a"]);
    let list = ps.as_array().unwrap();
    let ends = list
        .iter()
        .find(|c| c["id"] == "ends")
        .expect("ends is listed");
    assert_eq!(ends["state"], "stopped", "{ps}");
    assert_eq!(ends["exit"]["code"], 7, "{ps}");
    let out = w.ok(&["logs", "ends"]);
    let got: Vec<u64> = out.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(got, (1..=3000).collect::<Vec<_>>());
    // The --rm one was removed on the restart, files and all.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ps = w.json(&["ps", "-a"]);
        let gone = !ps.as_array().unwrap().iter().any(|c| c["id"] == "gone");
        if gone && !root.join("gone").exists() {
            break;
        }
        assert!(Instant::now() < deadline, "gone is still there: {ps}");
        std::thread::sleep(Duration::from_millis(200));
    }
    w.ok(&["rm", "ends"]);
    let left: Vec<_> = std::fs::read_dir(&root)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", root.display());
}

#[tokio::test]
async fn fifty_containers_are_picked_up_within_five_seconds_of_a_restart() {
    require_root!();
    let (_registry, image, mut w) = setup("fifty").await;
    for i in 0..50 {
        w.ok(&[
            "run",
            "-d",
            "--name",
            &format!("s{i}"),
            "--network",
            "none",
            &image,
            "sleep",
            "600",
        ]);
    }
    w.kill();
    let started = Instant::now();
    w.spawn();
    let took = started.elapsed();
    assert!(w.log().contains("reattached=50"), "{}", w.log());
    let ps: Value = w.json(&["ps"]);
    assert_eq!(ps.as_array().unwrap().len(), 50);
    assert!(
        took < Duration::from_secs(5),
        "serving again after {took:?}"
    );
    eprintln!("50 containers: serving again {took:?} after the start");
    let ids: Vec<String> = (0..50).map(|i| format!("s{i}")).collect();
    let mut args = vec!["rm", "-f"];
    args.extend(ids.iter().map(String::as_str));
    w.ok(&args);
}

/// The numbers of `logs ID`, checked to be consecutive (each once, none skipped); returns
/// the first and the last.
fn consecutive(w: &Warrend, id: &str) -> Option<(u64, u64)> {
    let out = w.ok(&["logs", id]);
    let got: Vec<u64> = out.lines().map(|l| l.parse().unwrap()).collect();
    for pair in got.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "a line missed or read twice");
    }
    Some((*got.first()?, *got.last()?))
}

#[tokio::test]
async fn logs_read_while_the_files_rotate_many_times_a_second_have_every_line_once() {
    require_root!();
    let registry = Registry::start();
    let image = format!("{}/warren/busybox:rotate", registry.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    // 4 KiB files: a rotation about every hundred lines.
    let w = Warrend::start_with_config(
        Some(&registry.addr()),
        "[logs]\nmax_bytes = 4096\nmax_files = 100000\n",
    );
    w.ok(&["pull", "-q", &image]);
    let n = 60000;
    let script = format!("i=1; while [ $i -le {n} ]; do echo $i; i=$((i+1)); done");
    w.ok(&[
        "run",
        "-d",
        "--name",
        "rot",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        &script,
    ]);
    let mut reads = 0;
    loop {
        let running = w.json(&["inspect", "rot"])[0]["state"] == "running";
        if let Some((first, _)) = consecutive(&w, "rot") {
            assert_eq!(first, 1);
        }
        reads += 1;
        if !running {
            break;
        }
    }
    assert_eq!(consecutive(&w, "rot"), Some((1, n)));
    let files = std::fs::read_dir(log_dir(&w, "rot")).unwrap().count();
    eprintln!("{reads} reads while it wrote; {files} files");
    assert!(reads > 1 && files > 100, "{reads} reads, {files} files");
    w.ok(&["rm", "rot"]);
}

#[tokio::test]
async fn a_full_disk_drops_output_but_never_the_container_or_its_logger() {
    require_root!();
    let (_registry, image, w) = setup("full").await;
    let script = "i=1; while true; do echo $i; i=$((i+1)); done";
    w.ok(&[
        "create",
        "--name",
        "full",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        script,
    ]);
    // The container's folder on a disk of its own, 256 KiB, before anything is written.
    let dir = w
        .dir
        .path()
        .join("root/runtime")
        .join(&w.namespace)
        .join("full");
    std::fs::create_dir_all(&dir).unwrap();
    let mount = |opts: &str| {
        let s = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(s.success(), "mount -o {opts}");
    };
    mount("size=256k,mode=700");
    // Unmounted however the test ends (a failed assertion must not leave a mount behind).
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let mounted = Unmount(dir.clone());
    w.ok(&["start", "full"]);
    let log = dir.join("container.log");
    // Full: the file stops growing.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = 0;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let size = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        if size > 0 && size == last {
            break;
        }
        last = size;
        assert!(
            Instant::now() < deadline,
            "the log kept growing past the disk"
        );
    }
    std::thread::sleep(Duration::from_secs(2));
    // Still running (no SIGPIPE, exit 141), still logged, and warrend answers.
    let c = &w.json(&["ps", "-a"])[0];
    assert_eq!(c["state"], "running", "{c}");
    let loggers = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&*log.to_string_lossy()))
        })
        .count();
    assert_eq!(loggers, 1, "the container's logger is gone");
    // Room again: the log grows, after a record of what was dropped.
    let remount = std::process::Command::new("mount")
        .args(["-o", "remount,size=4m"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(remount.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(at) = text.find("lines dropped: ") {
            let from_marker = &text[text[..at].rfind('\n').map_or(0, |i| i + 1)..];
            let mut lines = from_marker.lines();
            let marker = lines.next().unwrap();
            assert!(marker.contains(" stderr F warren-logger: "), "{marker}");
            assert!(marker.to_lowercase().contains("no space left"), "{marker}");
            // The log grows again after the marker, with whole records of the container's.
            if lines.filter(|l| l.contains(" stdout F ")).count() >= 10 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "no dropped-lines marker");
        std::thread::sleep(Duration::from_millis(200));
    }
    w.ok(&["stop", "-t", "1", "full"]);
    drop(mounted);
    w.ok(&["rm", "full"]);
}
