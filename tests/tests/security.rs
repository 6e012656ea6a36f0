//! Security defaults, probed from inside real containers, and hostile input against the
//! runtime: seccomp, capabilities, masked and read-only /proc, OOM score, recursive
//! read-only binds, confined and bounded reads of container-controlled files, and requests
//! that must be refused before anything is created.

use std::time::{Duration, Instant};

use warren_runtime::{ContainerRequest, ExecRequest, RuntimeError};
use warren_spec::{Security, Volume};
use warren_tests::containers::Fixture;
use warren_tests::require_root;

/// `key=value` lines of a probe's output.
fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in:\n{out}"))
        .trim()
}

/// What the default confinement looks like from inside.
const PROBE: &str = "\
echo seccomp=$(grep ^Seccomp: /proc/self/status | cut -f2); \
echo nnp=$(grep ^NoNewPrivs: /proc/self/status | cut -f2); \
echo capeff=$(grep ^CapEff: /proc/self/status | cut -f2); \
unshare -U true 2>/dev/null; echo userns=$?; \
unshare -Urm sh -c 'mount -t tmpfs t /run' 2>/dev/null; echo usermount=$?; \
echo keys=$(wc -c < /proc/keys); \
echo timers=$(wc -c < /proc/timer_list); \
(echo 1 > /proc/sys/vm/overcommit_memory) 2>/dev/null; echo procsys=$?; \
echo oom=$(cat /proc/self/oom_score_adj)";

fn probe_request(fx: &Fixture, id: &str, security: Security) -> ContainerRequest {
    fx.request(id, &["sh", "-c", PROBE]).security(security)
}

#[tokio::test]
async fn the_default_confinement_holds_inside_a_container() {
    require_root!();
    let fx = Fixture::new("sec-default").await;

    let (code, out) = fx
        .probe(&probe_request(&fx, "d", Security::default()))
        .await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(field(&out, "seccomp"), "2", "a seccomp filter is on: {out}");
    assert_eq!(field(&out, "nnp"), "1", "{out}");
    assert_ne!(field(&out, "userns"), "0", "user namespaces refused: {out}");
    assert_ne!(
        field(&out, "usermount"),
        "0",
        "no mount through a user ns: {out}"
    );
    // Masked (both have content on the host; /proc/kcore does not exist on every kernel).
    assert_eq!(field(&out, "keys"), "0", "/proc/keys masked: {out}");
    assert_eq!(field(&out, "timers"), "0", "/proc/timer_list masked: {out}");
    assert_ne!(field(&out, "procsys"), "0", "/proc/sys read-only: {out}");
    // The test daemon runs with OOM score -500 (see the harness); containers do not
    // inherit it.
    assert_eq!(field(&out, "oom"), "0", "{out}");

    // The control: without the filter the same probe opens a user namespace, so the
    // refusal above is seccomp's.
    let unconfined = Security::default().seccomp("unconfined".parse().unwrap());
    let (_, out) = fx.probe(&probe_request(&fx, "u", unconfined)).await;
    assert_eq!(field(&out, "seccomp"), "0", "{out}");
    assert_eq!(field(&out, "userns"), "0", "{out}");

    // Capability-gated syscalls follow the capabilities: CAP_SYS_ADMIN brings unshare.
    let admin = Security::default().cap_add(vec!["SYS_ADMIN".into()]);
    let (_, out) = fx.probe(&probe_request(&fx, "a", admin)).await;
    assert_eq!(field(&out, "seccomp"), "2", "{out}");
    assert_eq!(field(&out, "userns"), "0", "{out}");

    // A non-root user holds no capabilities; `--cap-drop ALL` leaves root none either.
    let mut nonroot = probe_request(&fx, "n", Security::default());
    nonroot.user = Some("1000".into());
    let (_, out) = fx.probe(&nonroot).await;
    assert_eq!(field(&out, "capeff"), "0000000000000000", "{out}");
    let none = Security::default().cap_drop(vec!["ALL".into()]);
    let (_, out) = fx.probe(&probe_request(&fx, "c", none)).await;
    assert_eq!(field(&out, "capeff"), "0000000000000000", "{out}");

    // no-new-privileges can be turned off.
    let nnp_off = Security::default().allow_new_privileges(true);
    let (_, out) = fx.probe(&probe_request(&fx, "p", nnp_off)).await;
    assert_eq!(field(&out, "nnp"), "0", "{out}");

    fx.assert_clean("the probes").await;
    fx.cleanup().await;
}

#[tokio::test]
async fn a_profile_file_sets_the_errno_and_a_bad_one_is_refused_before_anything_exists() {
    require_root!();
    let fx = Fixture::new("sec-profile").await;
    let dir = tempfile::tempdir().unwrap();
    // Docker's format: everything allowed but mkdir/mkdirat, which answer EACCES (13).
    let profile = dir.path().join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                          "errnoRet": 13, "comment": "test"}]}"#,
    )
    .unwrap();
    let security = Security::default().seccomp(warren_spec::Seccomp::Profile(profile));
    let req = fx
        .request("m", &["sh", "-c", "mkdir /tmp/x; echo mkdir=$?"])
        .security(security);
    let (_, out) = fx.probe(&req).await;
    assert!(
        out.contains("Permission denied"),
        "EACCES from the filter: {out}"
    );
    assert_eq!(field(&out, "mkdir"), "1", "{out}");

    // A bad profile is refused with its file named, and nothing is created.
    std::fs::write(
        dir.path().join("bad.json"),
        r#"{"defaultAction": "SCMP_ACT_FOO"}"#,
    )
    .unwrap();
    let bad = fx.request("b", &["true"]).security(
        Security::default().seccomp(warren_spec::Seccomp::Profile(dir.path().join("bad.json"))),
    );
    let err = fx.rt.create_container(&bad).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("bad.json") && text.contains("SCMP_ACT_FOO"),
        "{text}"
    );
    fx.assert_clean("a refused profile").await;
    fx.cleanup().await;
}

#[tokio::test]
async fn read_only_binds_are_read_only_all_the_way_down() {
    require_root!();
    let fx = Fixture::new("sec-rro").await;
    // A host folder with a writable tmpfs mounted inside it.
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    nix::mount::mount(
        Some("tmpfs"),
        &sub,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=1m"),
    )
    .unwrap();
    let mut req = fx.request(
        "r",
        &[
            "sh",
            "-c",
            "touch /data/sub/f 2>/dev/null; echo sub=$?; touch /data/f 2>/dev/null; echo top=$?",
        ],
    );
    req.mounts
        .volumes
        .push(Volume::new(dir.path().to_path_buf(), "/data").read_only(true));
    let id = fx.rt.create_container(&req).await.unwrap();
    let security = fx.rt.container_security(&id).await.unwrap();
    fx.rt.delete_container(&id).await.unwrap();
    let (_, out) = fx.probe(&req).await;
    let _ = nix::mount::umount2(&sub, nix::mount::MntFlags::MNT_DETACH);
    assert_ne!(field(&out, "top"), "0", "{out}");
    if warren_spec::host::supports_recursive_read_only() {
        assert!(security.read_only_binds_recursive, "{security:?}");
        assert_ne!(
            field(&out, "sub"),
            "0",
            "the mount below is read-only too: {out}"
        );
    } else {
        assert!(
            !security.read_only_binds_recursive,
            "inspect says so: {security:?}"
        );
    }
    fx.assert_clean("the rro probe").await;
    fx.cleanup().await;
}

/// Containers that make their own `/etc/passwd` hostile must not hang or bloat an exec:
/// every exec (with a user, or without one: runc itself would block on a FIFO there) is
/// refused at once with a typed error.
#[tokio::test]
async fn a_hostile_passwd_in_a_running_container_is_refused_at_once() {
    require_root!();
    let fx = Fixture::new("sec-passwd").await;
    let cases = [
        ("mkfifo /etc/passwd", "FIFO"),
        ("ln -s /dev/zero /etc/passwd", "character device"),
        ("mknod /etc/passwd c 1 5", "character device"),
        (
            "yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx | head -c 2000000 > /etc/passwd",
            "more than",
        ),
    ];
    for (n, (setup, what)) in cases.iter().enumerate() {
        // The container does it to itself, then waits.
        let script = format!("rm /etc/passwd; {setup}; touch /tmp/ready; sleep 600");
        let id = fx
            .rt
            .run_container(&fx.request(&format!("h{n}"), &["sh", "-c", &script]))
            .await
            .unwrap();
        let pid = fx.rt.container_status(&id).await.unwrap().pid.unwrap();
        let ready = format!("/proc/{pid}/root/tmp/ready");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::path::Path::new(&ready).exists() {
            assert!(Instant::now() < deadline, "{setup}: never ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for user in [Some("app"), Some("0"), None] {
            let started = Instant::now();
            let err = fx
                .rt
                .exec(&id, &{
                    let mut v = ExecRequest::new(["id"]);
                    v.user = user.map(str::to_string);
                    v
                })
                .await
                .unwrap_err();
            assert!(started.elapsed() < Duration::from_secs(5), "{setup}: hung");
            assert!(
                matches!(err, RuntimeError::Spec { .. }) && err.to_string().contains(what),
                "{setup} -u {user:?}: {err}"
            );
        }
        fx.rt.delete_container(&id).await.unwrap();
    }
    fx.assert_clean("hostile passwd").await;
    fx.cleanup().await;
}

#[tokio::test]
async fn bad_requests_are_refused_before_anything_exists() {
    require_root!();
    let fx = Fixture::new("sec-refuse").await;
    let base = || fx.request("x", &["true"]);
    let mut cases: Vec<(ContainerRequest, &str)> = Vec::new();
    let mut r = base();
    r.env = vec!["aé=1".into(), "x=1".into()];
    cases.push((r, "env"));
    let mut r = base();
    r.env = vec!["A=1\0B".into()];
    cases.push((r, "env"));
    let mut r = base();
    r.labels.insert("k\0".into(), "v".into());
    cases.push((r, "label"));
    let mut r = base();
    r.working_dir = Some("/proc/self/fd/7".into());
    cases.push((r, "file-descriptor table"));
    let mut r = base();
    r.mounts
        .volumes
        .push(Volume::new("/proc/self/fd/3", "/data"));
    cases.push((r, "file-descriptor table"));
    let mut r = base();
    r.security.cap_add = vec!["SUPERPOWER".into()];
    cases.push((r, "cap-add"));
    let mut r = base();
    r.security.oom_score_adj = 5000;
    cases.push((r, "oom-score-adj"));
    for (req, what) in cases {
        let err = fx.rt.create_container(&req).await.unwrap_err();
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
    // Ids that would name a path outside the state dir never get that far.
    for id in ["../../etc", "a/b", ".."] {
        let err = fx.rt.delete_container(id).await.unwrap_err();
        assert!(err.to_string().contains("container id"), "{id}: {err}");
        assert!(fx.rt.container_logs(id, &Default::default()).await.is_err());
    }
    fx.assert_clean("refused requests").await;
    fx.cleanup().await;
}

/// Images whose `/etc/passwd` is hostile: a user lookup at create is refused at once, with
/// a typed error, and nothing is left.
#[tokio::test]
async fn a_hostile_passwd_in_an_image_is_refused_at_create() {
    use warren_tests::images::{busybox_layer, layer, push, Entry};
    require_root!();
    let fx = Fixture::new("sec-image").await;
    let big = vec![b'x'; 2_000_000];
    let cases: Vec<(&str, Vec<Entry<'_>>, &str)> = vec![
        ("fifo", vec![Entry::Fifo("etc/passwd")], "FIFO"),
        (
            "zero",
            vec![Entry::Char("etc/passwd", 1, 5)],
            "character device",
        ),
        (
            "link",
            vec![Entry::Link("etc/passwd", "/dev/zero")],
            // The link resolves inside the image, where there is no /dev/zero.
            "unknown user",
        ),
        (
            "escape",
            vec![Entry::Link("etc/passwd", "../../../../../../etc/shadow")],
            "unknown user",
        ),
        (
            "big",
            vec![Entry::File("etc/passwd", &big, 0o644)],
            "more than",
        ),
    ];
    for (tag, entries, what) in cases {
        let image = format!("{}/warren/hostile:{tag}", fx.registry.addr());
        push(&image, &[busybox_layer(), layer(&entries)], &["sh"]).await;
        let req = fx.request(tag, &["true"]).image(image.clone()).user("app");
        let started = Instant::now();
        let err = fx.rt.create_container(&req).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(20), "{tag}: slow");
        assert!(
            matches!(err, RuntimeError::Spec { .. }) && err.to_string().contains(what),
            "{tag}: {err}"
        );
    }
    fx.assert_clean("hostile images").await;
    fx.cleanup().await;
}

/// A veth into the test's bridge from a network namespace the test owns, set up as an
/// attacker on the bridge would (CVE-2020-8558): its own loopback gone, 127.0.0.0/8 routed
/// through the bridge's gateway. Removed on drop.
struct Attacker {
    ns: String,
    veth: String,
}

impl Attacker {
    fn attach(bridge: &str, prefix: &str) -> Attacker {
        let n = rand::random::<u16>();
        let a = Attacker {
            ns: format!("wt-atk-{n:04x}"),
            veth: format!("wta{n:04x}"),
        };
        let peer = format!("wtb{n:04x}");
        let ip = |args: &str| {
            let out = std::process::Command::new("ip")
                .args(args.split_whitespace())
                .output()
                .unwrap();
            assert!(out.status.success(), "ip {args}: {out:?}");
        };
        ip(&format!("netns add {}", a.ns));
        ip(&format!("link add {} type veth peer name {peer}", a.veth));
        ip(&format!("link set {peer} netns {}", a.ns));
        ip(&format!("link set {} master {bridge} up", a.veth));
        let ns = &a.ns;
        ip(&format!("-n {ns} addr add {prefix}250/24 dev {peer}"));
        ip(&format!("-n {ns} link set {peer} up"));
        ip(&format!("-n {ns} link set lo down"));
        ip(&format!(
            "-n {ns} route add 127.0.0.0/8 via {prefix}1 dev {peer} onlink"
        ));
        let sysctl = std::process::Command::new("ip")
            .args(["netns", "exec", ns, "sysctl", "-qw"])
            .arg(format!("net.ipv4.conf.{peer}.route_localnet=1"))
            .output()
            .unwrap();
        assert!(sysctl.status.success(), "{sysctl:?}");
        a
    }

    /// Whether a TCP connection from the attacker's namespace to 127.0.0.1:`port` (through
    /// the bridge, to the host) gets through.
    fn reaches(&self, port: u16) -> bool {
        let busybox = warren_tests::deps::tools_bin_dir().join("busybox");
        std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .arg(busybox)
            .args(["nc", "-w", "2", "127.0.0.1", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
            .status
            .success()
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.veth])
            .output();
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.ns])
            .output();
    }
}

/// A published port turns on `route_localnet` on the bridge; nothing on the bridge may use
/// that to reach a service that listens only on the host's 127.0.0.1.
#[tokio::test]
async fn a_published_port_does_not_open_the_hosts_loopback() {
    require_root!();
    let (fx, _ipam, guard) = warren_tests::network::fixture("sec-lo", 7).await;
    // A host service on loopback only, answering anything that connects.
    let service = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = service.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in service.incoming().flatten() {
            drop(s);
        }
    });
    let published = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let req = warren_tests::network::bridged(
        &fx,
        "pub",
        &["sleep", "600"],
        &[&format!("127.0.0.1:{published}:80")],
    );
    let id = fx.rt.run_container(&req).await.unwrap();
    let localnet = format!("/proc/sys/net/ipv4/conf/{}/route_localnet", guard.name());
    assert_eq!(
        std::fs::read_to_string(&localnet).unwrap().trim(),
        "1",
        "portmap routes loopback on the bridge (what the rule guards against)"
    );
    let prefix = warren_tests::network::subnet_prefix(&fx);
    let attacker = Attacker::attach(guard.name(), &prefix);
    assert!(
        !attacker.reaches(port),
        "the host's 127.0.0.1:{port} is reachable from the bridge"
    );
    drop(attacker);
    fx.rt.delete_container(&id).await.unwrap();
    fx.assert_clean("the loopback probe").await;
    fx.cleanup().await;
}

/// A registry that streams a manifest, a config or a layer without end: the pull fails with
/// a typed error naming the limit or the digest, this process does not grow, and nothing is
/// left in containerd (lease, ingest, snapshot).
#[tokio::test]
async fn a_registry_that_never_ends_a_response_fills_nothing() {
    use warren_runtime::{PullMode, PullOptions};
    use warren_tests::hostile_registry::{Endless, HostileRegistry};
    require_root!();
    let fx = Fixture::new("sec-endless").await;
    let mut modes = vec![PullMode::Client];
    if warren_tests::deps::line().starts_with('2') {
        // Auto is server-side here: the manifest is still resolved (capped) by us first,
        // and containerd's own fetcher stops at the declared sizes (seen on 2.1).
        modes.push(PullMode::Auto);
    }
    for mode in modes {
        for endless in [Endless::Manifest, Endless::Config, Endless::Layer] {
            let registry = HostileRegistry::start(endless).await;
            let image = format!("{}/evil/endless:latest", registry.addr());
            let before = warren_tests::rss_bytes();
            let options = PullOptions::default().mode(mode);
            let result =
                tokio::time::timeout(Duration::from_secs(60), fx.rt.pull_image(&image, &options))
                    .await
                    .unwrap_or_else(|_| panic!("{endless:?} ({mode:?}): the pull never ended"));
            let err = result.expect_err("a hostile pull fails");
            let grown = warren_tests::rss_bytes().saturating_sub(before);
            assert!(
                grown < 64 << 20,
                "{endless:?} ({mode:?}): grew {} MiB",
                grown >> 20
            );
            match endless {
                Endless::Manifest => assert!(
                    matches!(
                        err,
                        RuntimeError::TooLarge {
                            what: "manifest",
                            ..
                        }
                    ),
                    "{mode:?}: {err}"
                ),
                Endless::Config | Endless::Layer => assert!(
                    matches!(err, RuntimeError::DigestMismatch { .. }),
                    "{endless:?}: {err}"
                ),
            }
        }
    }
    let ingests = fx
        .clients
        .content()
        .list_statuses(
            warren_proto::containerd::services::content::v1::ListStatusesRequest::default(),
        )
        .await
        .unwrap()
        .into_inner()
        .statuses;
    assert!(ingests.is_empty(), "ingests left: {ingests:?}");
    fx.assert_clean("hostile pulls").await;
    fx.cleanup().await;
}

/// A tar with entries written as given (names and link targets unchecked, as a hostile
/// archive has them), gzipped when `gzip`.
fn raw_tar(path: &std::path::Path, entries: &[(&str, tar::EntryType, &[u8], &str)], gzip: bool) {
    let mut out = Vec::new();
    for (name, kind, data, link) in entries {
        let mut h = tar::Header::new_old();
        let field = &mut h.as_old_mut().name;
        field[..name.len()].copy_from_slice(name.as_bytes());
        if !link.is_empty() {
            h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    if gzip {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&out).unwrap();
        out = gz.finish().unwrap();
    }
    std::fs::write(path, out).unwrap();
}

/// Hostile image archives are refused with a typed error and leave nothing: names and
/// links out of the archive, a config or layer that does not match what names it, a
/// gigabyte config, a huge table of contents.
#[tokio::test]
async fn hostile_archives_are_refused_and_leave_nothing() {
    use tar::EntryType::{Regular, Symlink};
    use warren_tests::images::{build, busybox_layer, write_docker_save, write_layout};
    use warren_tests::images::{Compression, Flavor};
    require_root!();
    let fx = Fixture::new("sec-archive").await;
    let dir = tempfile::tempdir().unwrap();
    let import = |name: &str| {
        let path = dir.path().join(name);
        let rt = fx.rt.clone();
        async move { rt.import_archive(&path, &Default::default()).await }
    };

    raw_tar(
        &dir.path().join("dotdot.tar"),
        &[("../evil", Regular, b"x", "")],
        false,
    );
    let err = import("dotdot.tar").await.unwrap_err();
    assert!(err.to_string().contains("outside the archive"), "{err}");

    let built = build(
        &[busybox_layer()],
        &["sh"],
        "amd64",
        Flavor::Docker,
        Compression::Gzip,
    );
    let save = dir.path().join("save.tar");
    write_docker_save(&save, &["warren.test/hostile:link"], &built);
    // Append a link that climbs out of the archive.
    let mut bytes = std::fs::read(&save).unwrap();
    bytes.truncate(bytes.len() - 1024);
    std::fs::write(&save, bytes).unwrap();
    let extra = dir.path().join("extra.tar");
    raw_tar(
        &extra,
        &[("x/layer.tar", Symlink, b"", "../../../../etc/shadow")],
        false,
    );
    let mut bytes = std::fs::read(&save).unwrap();
    bytes.extend(std::fs::read(&extra).unwrap());
    std::fs::write(dir.path().join("link.tar"), bytes).unwrap();
    let err = import("link.tar").await.unwrap_err();
    assert!(err.to_string().contains("outside the archive"), "{err}");

    // An OCI layout whose config names a diff ID its layer does not have.
    let mut wrong = build(
        &[busybox_layer()],
        &["sh"],
        "amd64",
        Flavor::Oci,
        Compression::Gzip,
    );
    let mut config: serde_json::Value = serde_json::from_slice(&wrong.config).unwrap();
    config["rootfs"]["diff_ids"][0] = format!("sha256:{}", "0".repeat(64)).into();
    let fixed = build(
        &[busybox_layer()],
        &["sh"],
        "amd64",
        Flavor::Oci,
        Compression::Gzip,
    );
    wrong.config = serde_json::to_vec(&config).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_slice(&wrong.manifest).unwrap();
    manifest["config"]["digest"] = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&wrong.config))
    )
    .into();
    manifest["config"]["size"] = wrong.config.len().into();
    wrong.manifest = serde_json::to_vec(&manifest).unwrap();
    let layout = dir.path().join("diffid");
    write_layout(&layout, &[("warren.test/hostile:diffid", &wrong)]);
    warren_tests::images::tar_dir(&layout, &dir.path().join("diffid.tar"));
    let err = import("diffid.tar").await.unwrap_err();
    assert!(matches!(err, RuntimeError::BadImage { .. }), "{err}");

    // An OCI layout whose config blob does not hash to its name.
    let layout = dir.path().join("tampered");
    write_layout(&layout, &[("warren.test/hostile:tampered", &fixed)]);
    let config_hex = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&fixed.config));
    std::fs::write(
        layout.join("blobs/sha256").join(&config_hex),
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    )
    .unwrap();
    warren_tests::images::tar_dir(&layout, &dir.path().join("tampered.tar"));
    let err = import("tampered.tar").await.unwrap_err();
    assert!(matches!(err, RuntimeError::DigestMismatch { .. }), "{err}");

    // A gigabyte config (its header says so; the archive ends early, as it never gets read),
    // and a table of contents over the metadata limit: refused before they are stored.
    raw_tar(
        &dir.path().join("giga.tar.gz"),
        &[("big.json", Regular, b"{}", "")],
        true,
    );
    let mut tar =
        flate2::read::GzDecoder::new(std::fs::File::open(dir.path().join("giga.tar.gz")).unwrap());
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut tar, &mut plain).unwrap();
    let mut header = tar::Header::new_old();
    header.as_mut_bytes().copy_from_slice(&plain[..512]);
    header.set_size(1 << 30);
    header.set_cksum();
    plain[..512].copy_from_slice(header.as_bytes());
    std::fs::write(dir.path().join("giga.tar"), &plain).unwrap();
    let err = import("giga.tar").await.unwrap_err();
    assert!(
        matches!(err, RuntimeError::TooLarge { what: "config", .. }),
        "{err}"
    );
    let toc = vec![b' '; 5 << 20];
    raw_tar(
        &dir.path().join("toc.tar.gz"),
        &[("manifest.json", Regular, &toc, "")],
        true,
    );
    let err = import("toc.tar.gz").await.unwrap_err();
    assert!(
        matches!(
            err,
            RuntimeError::TooLarge {
                what: "archive metadata",
                ..
            }
        ),
        "{err}"
    );

    assert!(fx.rt.list_images().await.unwrap().is_empty());
    let ingests = fx
        .clients
        .content()
        .list_statuses(
            warren_proto::containerd::services::content::v1::ListStatusesRequest::default(),
        )
        .await
        .unwrap()
        .into_inner()
        .statuses;
    assert!(ingests.is_empty(), "ingests left: {ingests:?}");
    fx.assert_clean("hostile archives").await;
    fx.cleanup().await;
}
