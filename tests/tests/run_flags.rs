//! The `run` flags for resources, devices, kernel parameters and names, end to end: the real
//! warrend CLI against a real `warrend serve`, checked from inside a real container (what
//! the kernel shows it: its cgroup files, `/proc/self/limits`, `df`, `/proc/sys`, the device
//! node, `/etc/hosts`, `/etc/resolv.conf`), and bad values refused before anything exists.

use std::collections::BTreeMap;

use serde_json::Value;
use warren_tests::registry::Registry;
use warren_tests::require_root;
use warren_tests::warrend::{registry_with_busybox, Warrend};

async fn setup(tag: &str) -> (Registry, String, Warrend) {
    let (registry, image) = registry_with_busybox(tag).await;
    let w = Warrend::start(Some(&registry.addr()));
    (registry, image, w)
}

/// `key=value` words of the output, one map.
fn words(out: &str) -> BTreeMap<String, String> {
    out.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What the container reads of its own limits, on either cgroup layout.
const LIMITS: &str = r#"
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  c=/sys/fs/cgroup
  echo mem=$(cat $c/memory.max) swap=$(cat $c/memory.swap.max) low=$(cat $c/memory.low) \
    cpuset=$(cat $c/cpuset.cpus) weight=$(cat $c/cpu.weight)
else
  c=/sys/fs/cgroup
  echo mem=$(cat $c/memory/memory.limit_in_bytes) swap=$(cat $c/memory/memory.memsw.limit_in_bytes) \
    low=$(cat $c/memory/memory.soft_limit_in_bytes) cpuset=$(cat $c/cpuset/cpuset.cpus) \
    shares=$(cat $c/cpu/cpu.shares)
fi
set -- $(grep 'Max open files' /proc/self/limits); echo nofile=$4:$5
set -- $(grep 'Max core file size' /proc/self/limits); echo core=$5:$6
set -- $(df -k /run | tail -1); echo run_kb=$2
set -- $(df -k /dev/shm | tail -1); echo shm_kb=$2
echo run_mode=$(stat -c %a /run)
echo somaxconn=$(cat /proc/sys/net/core/somaxconn)
[ -e /dev/fuse ] && exec 3<>/dev/fuse && echo fuse=open
exec 4</dev/ctl-ro && echo ctl_ro=read
(exec 5>/dev/ctl-ro) 2>/dev/null && echo ctl_ro_write=yes || echo ctl_ro_write=refused
"#;

#[tokio::test]
async fn resources_devices_and_kernel_parameters_are_what_the_container_sees() {
    require_root!();
    let (_registry, image, w) = setup("flags").await;
    // /dev/fuse where the node has it (a module the v2 guest does not load); a device of
    // the kernel's own that is not in runc's default list (as /dev/null is), so only the
    // rule given here lets the container open it, and only for reading.
    let fuse = std::path::Path::new("/dev/fuse").exists();
    let devices: &[&str] = if fuse {
        &["--device", "/dev/fuse"]
    } else {
        &[]
    };
    let mut args = vec![
        "run",
        "--rm",
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "--memory-reservation",
        "32m",
        "--cpuset-cpus",
        "0",
        "--cpu-shares",
        "512",
        "--ulimit",
        "nofile=1024:2048",
        "--ulimit",
        "core=0:1000",
        "--tmpfs",
        "/run:size=8m,mode=1770",
        "--shm-size",
        "16m",
        "--sysctl",
        "net.core.somaxconn=1234",
        "--device",
        "/dev/cpu_dma_latency:/dev/ctl-ro:r",
    ];
    args.extend_from_slice(devices);
    args.extend_from_slice(&[&image, "sh", "-c", LIMITS]);
    let out = w.ok(&args);
    let got = words(&out);
    let mib = |n: u64| (n << 20).to_string();
    assert_eq!(got["mem"], mib(64), "{out}");
    if got.contains_key("weight") {
        // cgroup v2 counts swap apart from memory; runc maps 512 shares to weight 20.
        assert_eq!(got["swap"], mib(64), "{out}");
        assert_eq!(got["weight"], "20", "{out}");
    } else {
        assert_eq!(got["swap"], mib(128), "{out}");
        assert_eq!(got["shares"], "512", "{out}");
    }
    assert_eq!(got["low"], mib(32), "{out}");
    assert_eq!(got["cpuset"], "0", "{out}");
    assert_eq!(got["nofile"], "1024:2048", "{out}");
    assert_eq!(got["core"], "0:1000", "{out}");
    assert_eq!(got["run_kb"], "8192", "{out}");
    assert_eq!(got["run_mode"], "1770", "{out}");
    assert_eq!(got["shm_kb"], "16384", "{out}");
    assert_eq!(got["somaxconn"], "1234", "{out}");
    if fuse {
        assert_eq!(got["fuse"], "open", "{out}");
    }
    assert_eq!(got["ctl_ro"], "read", "{out}");
    assert_eq!(got["ctl_ro_write"], "refused", "{out}");
    // The host's own parameter is untouched.
    let host = std::fs::read_to_string("/proc/sys/net/core/somaxconn").unwrap();
    assert_ne!(host.trim(), "1234");

    // Without the flags: no fuse device, the default nofile and /dev/shm.
    let out = w.ok(&[
        "run",
        "--rm",
        &image,
        "sh",
        "-c",
        "test -e /dev/fuse && echo fuse=yes || echo fuse=no; \
         set -- $(grep 'Max open files' /proc/self/limits); echo nofile=$4:$5; \
         set -- $(df -k /dev/shm | tail -1); echo shm_kb=$2",
    ]);
    let got = words(&out);
    assert_eq!(got["fuse"], "no", "{out}");
    assert_eq!(got["nofile"], "1024:1024", "{out}");
    assert_eq!(got["shm_kb"], "65536", "{out}");
    assert_eq!(w.json(&["ps", "-a"]), Value::Array(vec![]));
}

#[tokio::test]
async fn names_dns_and_files_reach_hosts_and_resolv_conf() {
    require_root!();
    let (_registry, image, w) = setup("names").await;
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("app.env");
    std::fs::write(&env_file, "# settings\nFROM_FILE=1\nBOTH=file\n").unwrap();
    let label_file = dir.path().join("labels");
    std::fs::write(&label_file, "tier=web\nteam=edge\n").unwrap();
    let gateway = format!("{}1", w.subnet_prefix);
    let out = w.ok(&[
        "run",
        "--name",
        "named",
        "--hostname",
        "web",
        "--domainname",
        "example.internal",
        "--add-host",
        "db:10.0.0.5",
        "--add-host",
        "host.warren.internal:host-gateway",
        "--dns",
        "192.0.2.53",
        "--dns-search",
        "a.test",
        "--dns-option",
        "ndots:2",
        "--env-file",
        env_file.to_str().unwrap(),
        "-e",
        "BOTH=flag",
        "--label-file",
        label_file.to_str().unwrap(),
        "-l",
        "team=core",
        &image,
        "sh",
        "-c",
        "cat /etc/hosts /etc/resolv.conf; echo host=$(hostname) domain=$(cat /proc/sys/kernel/domainname) \
         from_file=$FROM_FILE both=$BOTH",
    ]);
    assert!(out.contains("10.0.0.5\tdb\n"), "{out}");
    assert!(
        out.contains(&format!("{gateway}\thost.warren.internal\n")),
        "{out}"
    );
    assert!(out.contains("\tweb.example.internal web\n"), "{out}");
    assert!(out.contains("search a.test\n"), "{out}");
    assert!(out.contains("options ndots:2\n"), "{out}");
    assert!(out.contains("nameserver 192.0.2.53\n"), "{out}");
    assert_eq!(out.matches("nameserver").count(), 1, "{out}");
    let got = words(&out);
    assert_eq!(got["host"], "web");
    assert_eq!(got["domain"], "example.internal");
    assert_eq!(got["from_file"], "1");
    assert_eq!(got["both"], "flag");
    let labels = &w.json(&["inspect", "named"])[0]["labels"];
    assert_eq!(labels["tier"], "web");
    assert_eq!(labels["team"], "core");
    let files = warren_tests::files_under(&w.dir.path().join("root/runtime"));
    assert!(
        files.iter().any(|f| f.ends_with("named/hosts")),
        "{files:?}"
    );
    w.ok(&["rm", "named"]);

    // Off the bridge too: an extra host and a DNS server still reach the files.
    let out = w.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--add-host",
        "db:10.0.0.6",
        "--dns",
        "192.0.2.54",
        &image,
        "sh",
        "-c",
        "cat /etc/hosts /etc/resolv.conf",
    ]);
    assert!(out.contains("10.0.0.6\tdb\n"), "{out}");
    assert!(out.contains("nameserver 192.0.2.54\n"), "{out}");
}

#[tokio::test]
async fn bad_flags_are_refused_before_anything_exists() {
    require_root!();
    let (_registry, image, w) = setup("bad").await;
    // A namespace of this test's, joined by path.
    let name = format!("wbad-{}", std::process::id());
    let made = std::process::Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .unwrap();
    assert!(made.success(), "ip netns add");
    let netns = format!("/var/run/netns/{name}");
    for (args, reason) in [
        (
            vec!["--sysctl", "kernel.panic=1"],
            "not a namespaced parameter",
        ),
        (
            vec!["--network", "host", "--sysctl", "net.core.somaxconn=1"],
            "network namespace",
        ),
        // A namespace joined by path may be shared (another container's, the host's).
        (
            vec![
                "--network",
                netns.as_str(),
                "--sysctl",
                "net.ipv4.ip_forward=1",
            ],
            "network namespace made for the container",
        ),
        (
            vec!["--device", "/etc/hostname"],
            "not a character or block device",
        ),
        (vec!["--device", "/dev/does-not-exist"], "must exist"),
        (vec!["--memory-swap", "128m"], "only with a memory limit"),
        (
            vec!["-m", "64m", "--memory-swap", "32m"],
            "at least the memory limit",
        ),
        (
            vec!["--memory-reservation", "128m", "-m", "64m"],
            "memory reservation",
        ),
        (vec!["--cpuset-cpus", "999"], "cpuset"),
        (vec!["--ulimit", "nofile=2:1"], "ulimit"),
        (vec!["--ulimit", "files=1"], "unknown limit"),
        (vec!["--tmpfs", "/run:size=lots"], "tmpfs"),
        (vec!["--add-host", "db"], "add-host"),
        (vec!["--dns", "ns1.example"], "dns"),
        (vec!["--domainname", "not a name"], "domainname"),
        (vec!["--env-file", "/nonexistent/env"], "env-file"),
    ] {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(&args);
        all.extend_from_slice(&[image.as_str(), "true"]);
        let out = w.cli(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(
            stderr.contains(reason) && !stderr.contains("transport"),
            "{args:?}: {stderr}"
        );
    }
    let _ = std::process::Command::new("ip")
        .args(["netns", "delete", &name])
        .status();
    assert_eq!(w.json(&["ps", "-a"]), Value::Array(vec![]));
    // Nothing was left in the state folder either (no network files, no namespace).
    let containers = w.dir.path().join("root/runtime");
    let leftovers: Vec<_> = warren_tests::files_under(&containers)
        .into_iter()
        .filter(|f| f.contains("resolv.conf") || f.contains("hosts") || f.contains("netns"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
