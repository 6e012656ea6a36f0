//! Golden files of the JSON generated for typical requests: a change in the spec shows up in
//! review as a change of these files. `WARREN_BLESS=1 cargo test -p warren-spec --test golden`
//! rewrites them.

use std::path::{Path, PathBuf};

use warren_spec::{
    BuildContext, ImageConfig, Mounts, Network, Resources, SpecRequest, Tmpfs, Volume,
};

fn ctx() -> BuildContext {
    BuildContext {
        host_cpus: 4,
        rootfs: None,
        cgroup_namespace: false,
        recursive_read_only: true,
    }
}

fn check(name: &str, req: &SpecRequest) {
    let spec = req.build(&ctx()).expect("valid request");
    let json = serde_json::to_string_pretty(&spec.to_value().unwrap()).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"));
    if std::env::var_os("WARREN_BLESS").is_some() {
        std::fs::write(&path, &json).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing: run with WARREN_BLESS=1", path.display()));
    assert!(
        want == json,
        "{name}: the generated spec changed; review and bless it\n{json}"
    );
}

fn busybox_image() -> ImageConfig {
    ImageConfig {
        cmd: vec!["sh".into()],
        env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
        ..Default::default()
    }
}

#[test]
fn plain_busybox() {
    check(
        "plain",
        &SpecRequest::default().id("web-1").image(busybox_image()),
    );
}

#[test]
fn limited_with_secrets_and_volume() {
    check(
        "limited",
        &SpecRequest::default()
            .id("api-7")
            .image(ImageConfig {
                entrypoint: vec!["/bin/server".into()],
                cmd: vec!["--port".into(), "8080".into()],
                working_dir: Some("/srv".into()),
                stop_signal: Some("SIGINT".into()),
                ..busybox_image()
            })
            .env(vec!["MODE=prod".into()])
            .user("1000:1000")
            .resources(
                Resources::default()
                    .cpus(0.5)
                    .memory_bytes(256 << 20)
                    .pids(100),
            )
            .mounts(
                Mounts::default()
                    .secrets_dir(PathBuf::from("/tmp"))
                    .volumes(vec![Volume::new(
                        PathBuf::from("/tmp"),
                        PathBuf::from("/var/lib/app"),
                    )])
                    .tmpfs(vec![Tmpfs::new(PathBuf::from("/scratch"))
                        .size_bytes(64 << 20)
                        .options(vec!["exec".into()])])
                    .shm_size_bytes(128 << 20),
            )
            .ulimits(vec![
                "nofile=2048:4096".parse().unwrap(),
                "core=0".parse().unwrap(),
            ])
            .devices(vec!["/dev/null:/dev/app-null:rw".parse().unwrap()])
            .sysctls([("net.core.somaxconn".to_string(), "1024".to_string())].into())
            .domainname("example.internal")
            .network(Network::Own(PathBuf::from("/run/warren/netns/api-7"))),
    );
}

#[test]
fn host_network_read_only_rootfs() {
    check(
        "host-network",
        &SpecRequest::default()
            .id("probe")
            .namespace("edge")
            .image(busybox_image())
            .cmd(vec!["sleep".into(), "3600".into()])
            .network(Network::Host)
            .readonly_rootfs(true),
    );
}
