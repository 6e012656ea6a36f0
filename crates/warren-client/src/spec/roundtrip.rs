//! Every spec the library can express survives library → node API → library unchanged,
//! and every kind of bad field is refused naming its path.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use warren_proto::warren::node::v1 as api;
use warren_spec::container::{ContainerRequest, PullPolicy};
use warren_spec::health::HealthOverrides;
use warren_spec::network::{HostAddress, HostEntry, NetworkMode, PortMapping, Protocol};
use warren_spec::{Device, Seccomp, Security, Tmpfs, Ulimit, Volume, TMPFS_FLAGS};

use super::to_api::ULIMIT_KINDS;
use super::{NetworkChoice, NodeSpec, Policy};

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.-]{0,11}"
}

fn abs_path() -> impl Strategy<Value = PathBuf> {
    vec("[a-z0-9_.-]{1,8}", 1..4).prop_map(|parts| PathBuf::from(format!("/{}", parts.join("/"))))
}

fn text() -> impl Strategy<Value = String> {
    // Any text, spaces, '=' and non-ASCII included.
    "\\PC{0,16}"
}

fn ip() -> impl Strategy<Value = IpAddr> {
    any::<IpAddr>()
}

fn port() -> impl Strategy<Value = PortMapping> {
    (option::of(ip()), 1..=u16::MAX, 1..=u16::MAX, any::<bool>()).prop_map(
        |(host_ip, host, container, udp)| {
            let mut p = PortMapping::new(host, container);
            p.host_ip = host_ip;
            p.protocol = if udp { Protocol::Udp } else { Protocol::Tcp };
            p
        },
    )
}

fn network() -> impl Strategy<Value = NetworkChoice> {
    prop_oneof![
        vec(port(), 0..3).prop_map(|ports| NetworkChoice::NodeDefault { ports }),
        vec(port(), 0..3).prop_map(|ports| NetworkChoice::Mode(NetworkMode::Bridge { ports })),
        Just(NetworkChoice::Mode(NetworkMode::None)),
        Just(NetworkChoice::Mode(NetworkMode::Host)),
        abs_path().prop_map(|p| NetworkChoice::Mode(NetworkMode::Join(p))),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::No),
        Just(Policy::Always),
        option::of(1..100u32).prop_map(Policy::OnFailure),
    ]
}

/// 0 (inherit) or at least 1 ms, as the library takes it.
fn health_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        (0..100_000u64, 0..1_000_000_000u32)
            .prop_map(|(s, n)| Duration::new(s, n).max(Duration::from_millis(1))),
    ]
}

fn health() -> impl Strategy<Value = HealthOverrides> {
    prop_oneof![
        Just(HealthOverrides::default()),
        Just(HealthOverrides::default().disable(true)),
        (
            option::of("[a-z][a-z ]{0,10}"),
            option::of(health_duration()),
            option::of(health_duration()),
            option::of(health_duration()),
            option::of(any::<u32>()),
        )
            .prop_map(|(cmd, interval, timeout, start_period, retries)| {
                let mut o = HealthOverrides::default();
                o.cmd = cmd;
                o.interval = interval;
                o.timeout = timeout;
                o.start_period = start_period;
                o.retries = retries;
                o
            }),
    ]
}

fn resources() -> impl Strategy<Value = warren_spec::Resources> {
    (
        option::of(0.01f64..256.0),
        option::of(1..i64::MAX),
        option::of(prop_oneof![Just(-1i64), 1..i64::MAX]),
        option::of(1..i64::MAX),
        option::of(2..=262_144u64),
        option::of(1..i64::MAX),
        option::of("[0-9](-[0-9])?(,[0-9])?"),
    )
        .prop_map(|(cpus, mem, swap, reservation, shares, pids, cpuset)| {
            let mut r = warren_spec::Resources::default();
            r.cpus = cpus;
            r.memory_bytes = mem;
            r.memory_swap_bytes = swap;
            r.memory_reservation_bytes = reservation;
            r.cpu_shares = shares;
            r.pids = pids;
            r.cpuset = cpuset;
            r
        })
}

fn mounts() -> impl Strategy<Value = warren_spec::Mounts> {
    let volume = (abs_path(), abs_path(), any::<bool>())
        .prop_map(|(s, d, ro)| Volume::new(s, d).read_only(ro));
    let tmpfs = (
        abs_path(),
        option::of(1..u64::MAX),
        option::of(0..=0o7777u32),
        vec(proptest::sample::select(TMPFS_FLAGS), 0..3),
    )
        .prop_map(|(d, size, mode, flags)| {
            let mut t = Tmpfs::new(d);
            t.size_bytes = size;
            t.mode = mode;
            t.options = flags.into_iter().map(String::from).collect();
            t
        });
    (
        vec(volume, 0..3),
        vec(tmpfs, 0..3),
        option::of(1..u64::MAX),
        option::of(abs_path()),
    )
        .prop_map(|(volumes, tmpfs, shm, secrets)| {
            let mut m = warren_spec::Mounts::default();
            m.volumes = volumes;
            m.tmpfs = tmpfs;
            m.shm_size_bytes = shm;
            m.secrets_dir = secrets;
            m
        })
}

fn security() -> impl Strategy<Value = Security> {
    let caps = || {
        vec(
            proptest::sample::select(&["NET_ADMIN", "SYS_TIME", "CAP_CHOWN", "ALL"][..]),
            0..3,
        )
    };
    let seccomp = prop_oneof![
        Just(Seccomp::Default),
        Just(Seccomp::Unconfined),
        "\\{\"defaultAction\": \"[A-Z_]{1,12}\"\\}".prop_map(Seccomp::Json),
        abs_path().prop_map(Seccomp::Profile),
    ];
    (
        any::<bool>(),
        seccomp,
        any::<bool>(),
        caps(),
        caps(),
        -1000..=1000i32,
    )
        .prop_map(|(privileged, seccomp, allow, add, drop, oom)| {
            let mut s = Security::default()
                .privileged(privileged)
                .cap_add(add.into_iter().map(String::from).collect::<Vec<_>>())
                .cap_drop(drop.into_iter().map(String::from).collect::<Vec<_>>())
                .oom_score_adj(oom);
            s.seccomp = seccomp;
            s.allow_new_privileges = allow;
            s
        })
}

fn ulimit() -> impl Strategy<Value = Ulimit> {
    (0..ULIMIT_KINDS.len(), any::<u64>(), any::<u64>())
        .prop_map(|(k, a, b)| Ulimit::new(ULIMIT_KINDS[k].0, a.min(b), a.max(b)))
}

fn device() -> impl Strategy<Value = Device> {
    (abs_path(), abs_path(), "[rwm]{1,3}").prop_map(|(h, c, p)| {
        let mut d = Device::new(h);
        d.container_path = c;
        d.permissions = p;
        d
    })
}

fn host_entry() -> impl Strategy<Value = HostEntry> {
    let address = prop_oneof![
        ip().prop_map(HostAddress::Ip),
        Just(HostAddress::HostGateway)
    ];
    ("[a-z][a-z0-9.-]{0,10}", address).prop_map(|(n, a)| HostEntry::new(n, a))
}

fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(
        "[a-z][a-z0-9./-]{0,10}".prop_filter("not warrend's", |k| !k.starts_with("warrend.")),
        text(),
        0..4,
    )
}

prop_compose! {
    fn process()(
        entrypoint in option::of(vec(text(), 0..3)),
        cmd in option::of(vec(text(), 0..3)),
        env in vec("[A-Z_]{1,6}=\\PC{0,8}", 0..3),
        working_dir in option::of(abs_path().prop_map(|p| p.display().to_string())),
        user in option::of("[a-z0-9]{1,6}(:[a-z0-9]{1,6})?"),
        tty in any::<bool>(),
        open_stdin in any::<bool>(),
        console_size in option::of((any::<u16>(), any::<u16>())),
        stop_signal in option::of(proptest::sample::select(&["TERM", "SIGINT", "9", "RTMIN+3", "sigusr1"][..])),
        ulimits in vec(ulimit(), 0..3),
    ) -> ContainerRequest {
        let mut r = ContainerRequest::default();
        r.entrypoint = entrypoint;
        r.cmd = cmd;
        r.env = env;
        r.working_dir = working_dir;
        r.user = user;
        r.tty = tty;
        r.open_stdin = open_stdin;
        r.console_size = console_size;
        r.stop_signal = stop_signal.map(String::from);
        r.ulimits = ulimits;
        r
    }
}

prop_compose! {
    fn node_spec()(
        base in process(),
        id in prop_oneof![Just(String::new()), word()],
        image in "[a-z]{1,8}(:[a-z0-9]{1,4})?",
        pull in proptest::sample::select(&[PullPolicy::IfMissing, PullPolicy::Always, PullPolicy::Never][..]),
        resources in resources(),
        mounts in mounts(),
        readonly_rootfs in any::<bool>(),
        security in security(),
        devices in vec(device(), 0..2),
        sysctls in btree_map("[a-z]{1,5}\\.[a-z_]{1,8}", "[0-9]{1,5}", 0..3),
        network in network(),
        names in (
            option::of(word()),
            option::of(word()),
            vec(ip(), 0..3),
            vec(word(), 0..2),
            vec("[a-z]{1,6}(:[0-9])?", 0..2),
            vec(host_entry(), 0..3),
        ),
        restart in policy(),
        health in health(),
        restart_on_unhealthy in any::<bool>(),
        labels in labels(),
        shim_group in option::of(word()),
    ) -> NodeSpec {
        let mut r = base;
        r.id = id;
        r.image = image;
        r.pull = pull;
        r.resources = resources;
        r.mounts = mounts;
        r.readonly_rootfs = readonly_rootfs;
        r.security = security;
        r.devices = devices;
        r.sysctls = sysctls;
        let (hostname, domainname, servers, search, options, hosts) = names;
        r.hostname = hostname;
        r.domainname = domainname;
        r.dns.servers = servers;
        r.dns.search = search;
        r.dns.options = options;
        r.extra_hosts = hosts;
        // What the API allows together: restart-on-unhealthy with an on-failure policy and
        // a check that is not disabled.
        let restart_on_unhealthy = restart_on_unhealthy
            && matches!(restart, Policy::OnFailure(_))
            && !health.disable;
        r.health = health;
        r.labels = labels;
        r.shim_group = shim_group;
        NodeSpec { request: r, network, restart, restart_on_unhealthy }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_spec_survives_the_node_api_unchanged(spec in node_spec()) {
        let wire = api::ContainerSpec::from(&spec);
        let back = NodeSpec::try_from(&wire).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &spec);
        // And through the bytes a remote client sends.
        let bytes = prost::Message::encode_to_vec(&wire);
        let decoded: api::ContainerSpec = prost::Message::decode(bytes.as_slice()).unwrap();
        prop_assert_eq!(NodeSpec::try_from(&decoded).unwrap(), spec);
    }
}

fn minimal() -> api::ContainerSpec {
    api::ContainerSpec {
        image: "busybox".into(),
        ..Default::default()
    }
}

#[test]
fn a_field_error_names_the_flag_that_sets_the_field() {
    let flag = |path: &str| super::FieldError::new(path, 0, "").flag();
    assert_eq!(flag("spec.resources.memory_bytes"), Some("--memory"));
    assert_eq!(flag("spec.confinement.cap_drop[1]"), Some("--cap-drop"));
    assert_eq!(
        flag("spec.confinement.seccomp_profile_json"),
        Some("--security-opt")
    );
    assert_eq!(
        flag("spec.network.bridge.ports[0].host_ip"),
        Some("--publish")
    );
    assert_eq!(flag("spec.network.namespace_path"), Some("--network"));
    assert_eq!(flag("spec.process.ulimits[2].kind"), Some("--ulimit"));
    assert_eq!(flag("spec.labels[warrend.x]"), Some("--label"));
    assert_eq!(flag("spec.image"), None);
    assert_eq!(flag("spec.resources.memory_bytesx"), None);
}

#[test]
fn an_empty_spec_but_the_image_is_every_default() {
    let s = NodeSpec::try_from(&minimal()).unwrap();
    assert_eq!(s.request, ContainerRequest::new("", "busybox"));
    assert_eq!(s.network, NetworkChoice::NodeDefault { ports: vec![] });
    assert_eq!(s.restart, Policy::No);
    assert!(!s.restart_on_unhealthy);
}

#[test]
fn bad_fields_are_refused_naming_their_path() {
    type Edit = Box<dyn Fn(&mut api::ContainerSpec)>;
    let res = |f: fn(&mut api::Resources)| -> Edit {
        Box::new(move |s| f(s.resources.get_or_insert_with(Default::default)))
    };
    let net = |f: fn(&mut api::Network)| -> Edit {
        Box::new(move |s| f(s.network.get_or_insert_with(Default::default)))
    };
    let bridge_port = |p: api::Port| -> Edit {
        Box::new(move |s| {
            s.network = Some(api::Network {
                mode: Some(api::network::Mode::Bridge(api::BridgeNetwork {
                    ports: vec![p.clone()],
                })),
                ..Default::default()
            })
        })
    };
    let good_port = api::Port {
        host_port: 8080,
        container_port: 80,
        ..Default::default()
    };
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|s| s.image.clear()), "spec.image"),
        (Box::new(|s| s.pull = 99), "spec.pull"),
        (res(|r| r.cpus = Some(-1.0)), "spec.resources.cpus"),
        (res(|r| r.cpus = Some(f64::NAN)), "spec.resources.cpus"),
        (
            res(|r| r.memory_bytes = Some(-5)),
            "spec.resources.memory_bytes",
        ),
        (
            res(|r| r.memory_swap_bytes = Some(-2)),
            "spec.resources.memory_swap_bytes",
        ),
        (
            res(|r| r.memory_reservation_bytes = Some(0)),
            "spec.resources.memory_reservation_bytes",
        ),
        (res(|r| r.cpu_shares = Some(1)), "spec.resources.cpu_shares"),
        (res(|r| r.pids_limit = Some(0)), "spec.resources.pids_limit"),
        (
            Box::new(|s| {
                s.process = Some(api::ProcessSpec {
                    stop_signal: Some("SIGNOPE".into()),
                    ..Default::default()
                })
            }),
            "spec.process.stop_signal",
        ),
        (
            Box::new(|s| {
                s.process = Some(api::ProcessSpec {
                    ulimits: vec![api::Ulimit {
                        kind: 0,
                        soft: 1,
                        hard: 1,
                    }],
                    ..Default::default()
                })
            }),
            "spec.process.ulimits[0].kind",
        ),
        (
            Box::new(|s| {
                s.process = Some(api::ProcessSpec {
                    ulimits: vec![api::Ulimit {
                        kind: api::UlimitKind::Nofile as i32,
                        soft: 2,
                        hard: 1,
                    }],
                    ..Default::default()
                })
            }),
            "spec.process.ulimits[0]",
        ),
        (
            Box::new(|s| {
                s.storage = Some(api::Storage {
                    volumes: vec![api::Volume {
                        source: "data".into(),
                        destination: "/data".into(),
                        read_only: false,
                    }],
                    ..Default::default()
                })
            }),
            "spec.storage.volumes[0].source",
        ),
        (
            Box::new(|s| {
                s.storage = Some(api::Storage {
                    shm_size_bytes: Some(0),
                    ..Default::default()
                })
            }),
            "spec.storage.shm_size_bytes",
        ),
        (
            Box::new(|s| {
                s.storage = Some(api::Storage {
                    tmpfs: vec![api::Tmpfs {
                        destination: "/run".into(),
                        mode: Some(0o17777),
                        ..Default::default()
                    }],
                    ..Default::default()
                })
            }),
            "spec.storage.tmpfs[0].mode",
        ),
        (
            Box::new(|s| {
                s.confinement = Some(api::Confinement {
                    oom_score_adj: Some(1001),
                    ..Default::default()
                })
            }),
            "spec.confinement.oom_score_adj",
        ),
        (
            Box::new(|s| {
                s.confinement = Some(api::Confinement {
                    cap_drop: vec!["ALL".into(), "FLY".into()],
                    ..Default::default()
                })
            }),
            "spec.confinement.cap_drop[1]",
        ),
        (
            Box::new(|s| {
                s.confinement = Some(api::Confinement {
                    seccomp: Some(api::confinement::Seccomp::SeccompProfilePath(
                        "profile.json".into(),
                    )),
                    ..Default::default()
                })
            }),
            "spec.confinement.seccomp_profile_path",
        ),
        (
            Box::new(|s| {
                s.confinement = Some(api::Confinement {
                    devices: vec![api::Device {
                        host_path: "/dev/fuse".into(),
                        permissions: Some("x".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                })
            }),
            "spec.confinement.devices[0].permissions",
        ),
        (
            net(|n| n.mode = Some(api::network::Mode::NamespacePath("netns".into()))),
            "spec.network.namespace_path",
        ),
        (
            net(|n| n.dns_servers = vec!["ns1".into()]),
            "spec.network.dns_servers[0]",
        ),
        (
            net(|n| {
                n.extra_hosts = vec![api::HostEntry {
                    name: "db".into(),
                    address: None,
                }]
            }),
            "spec.network.extra_hosts[0].address",
        ),
        (
            bridge_port(api::Port {
                host_port: 0,
                ..good_port.clone()
            }),
            "spec.network.bridge.ports[0].host_port",
        ),
        (
            bridge_port(api::Port {
                container_port: 70_000,
                ..good_port.clone()
            }),
            "spec.network.bridge.ports[0].container_port",
        ),
        (
            bridge_port(api::Port {
                protocol: 7,
                ..good_port.clone()
            }),
            "spec.network.bridge.ports[0].protocol",
        ),
        (
            bridge_port(api::Port {
                host_ip: Some("localhost".into()),
                ..good_port.clone()
            }),
            "spec.network.bridge.ports[0].host_ip",
        ),
        (
            Box::new(|s| {
                s.restart = Some(api::RestartPolicy {
                    mode: 9,
                    max_retries: None,
                })
            }),
            "spec.restart.mode",
        ),
        (
            Box::new(|s| {
                s.restart = Some(api::RestartPolicy {
                    mode: api::RestartMode::Always as i32,
                    max_retries: Some(3),
                })
            }),
            "spec.restart.max_retries",
        ),
        (
            Box::new(|s| {
                s.restart = Some(api::RestartPolicy {
                    mode: api::RestartMode::OnFailure as i32,
                    max_retries: Some(0),
                })
            }),
            "spec.restart.max_retries",
        ),
        (
            Box::new(|s| {
                s.health = Some(api::HealthCheck {
                    interval: Some(prost_types::Duration {
                        seconds: -1,
                        nanos: 0,
                    }),
                    ..Default::default()
                })
            }),
            "spec.health.interval",
        ),
        (
            Box::new(|s| {
                s.health = Some(api::HealthCheck {
                    timeout: Some(prost_types::Duration {
                        seconds: 0,
                        nanos: 10,
                    }),
                    ..Default::default()
                })
            }),
            "spec.health.timeout",
        ),
        (
            Box::new(|s| {
                s.health = Some(api::HealthCheck {
                    disable: true,
                    shell_command: Some("true".into()),
                    ..Default::default()
                })
            }),
            "spec.health.disable",
        ),
        (
            Box::new(|s| {
                s.health = Some(api::HealthCheck {
                    restart_on_unhealthy: true,
                    ..Default::default()
                })
            }),
            "spec.health.restart_on_unhealthy",
        ),
        (
            Box::new(|s| {
                s.labels.insert("warrend.restart".into(), "always".into());
            }),
            "spec.labels[warrend.restart]",
        ),
    ];
    for (edit, field) in cases {
        let mut s = minimal();
        edit(&mut s);
        let e = NodeSpec::try_from(&s).unwrap_err();
        assert_eq!(e.field, field, "{e}");
        assert!(
            e.to_string().starts_with(&format!("invalid {field} ")),
            "{e}"
        );
        // A person who typed flags reads the flag's name too.
        if let Some(flag) = e.flag() {
            assert!(e.to_string().contains(&format!("({flag})")), "{e}");
        }
    }
}
