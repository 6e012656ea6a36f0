//! Bridge networking with the real CNI plugins: containers reach each other and a published
//! port, addresses match, and set-up and teardown leave the host as it was.
//!
//! Each test has its own bridge, subnet and IPAM store; traffic stays between the test's
//! containers, their bridge and loopback.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::Duration;

use warren_runtime::{ExecRequest, NetworkConfig, NetworkMode, RuntimeError};
use warren_tests::containers::Fixture;
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::{daemon, deps, require_root};

/// A fixture whose bridge network is private to this test (`n` picks the subnet).
async fn fixture(prefix: &str, n: u8) -> (Fixture, tempfile::TempDir, String) {
    let registry = Registry::start();
    let image = format!("{}/warren/busybox:net", registry.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    let ipam = tempfile::tempdir().unwrap();
    let bridge = format!("wt{}{:05x}", n, rand::random::<u32>() & 0xfffff);
    let network = NetworkConfig {
        name: format!("wt-{prefix}"),
        bridge: bridge.clone(),
        subnet: format!("10.{}.{}.0/24", 200 + n, rand::random::<u8>()),
        plugin_dir: Some(deps::cni_bin_dir()),
        ipam_dir: Some(ipam.path().to_path_buf()),
        ..Default::default()
    };
    let fx =
        Fixture::with_network(prefix, registry, image, daemon::shared().socket(), network).await;
    (fx, ipam, bridge)
}

/// `10.x.y.` of the fixture's subnet.
fn subnet_prefix(fx: &Fixture) -> String {
    let subnet = &fx.rt.network_config().subnet;
    subnet
        .rsplit_once('.')
        .map(|(p, _)| format!("{p}."))
        .unwrap_or_default()
}

/// Remove the test's bridge (the bridge plugin never deletes it).
fn remove_bridge(name: &str) {
    let _ = std::process::Command::new("ip")
        .args(["link", "del", name])
        .output();
}

async fn sh(fx: &Fixture, id: &str, script: &str) -> (i32, String) {
    let out = fx
        .rt
        .exec(
            id,
            &ExecRequest {
                args: vec!["sh".into(), "-c".into(), script.into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.exit_code as i32, text)
}

fn bridged(
    fx: &Fixture,
    id: &str,
    cmd: &[&str],
    ports: &[&str],
) -> warren_runtime::ContainerRequest {
    let mut req = fx.request(id, cmd);
    req.network = NetworkMode::Bridge {
        ports: ports.iter().map(|p| p.parse().unwrap()).collect(),
    };
    req
}

/// Every file under `dir`, relative (the IPAM store).
fn files(dir: &std::path::Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out
}

/// The host's iptables rules (all tables) that mention `needle` (this test's network name,
/// subnet or port: other tests change rules concurrently), without counters.
fn iptables(needles: &[String]) -> BTreeSet<String> {
    let out = std::process::Command::new("iptables-save")
        .output()
        .expect("iptables-save runs (cargo xtask deps installs iptables)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && needles.iter().any(|n| l.contains(n.as_str())))
        .map(|l| match l.rfind(" [") {
            Some(i) if l.starts_with(':') => l[..i].to_string(),
            _ => l.to_string(),
        })
        .collect()
}

#[tokio::test]
async fn two_containers_talk_and_a_published_port_reaches_one() {
    require_root!();
    let (fx, _ipam, bridge) = fixture("talk", 1).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = bridged(
        &fx,
        "web",
        &[
            "sh",
            "-c",
            "mkdir -p /tmp/www && echo hello-from-web > /tmp/www/index.html && \
             exec busybox httpd -f -p 80 -h /tmp/www",
        ],
        &[&format!("127.0.0.1:{port}:80/tcp")],
    );
    let web = fx.rt.run_container(&server).await.unwrap();
    let client = bridged(&fx, "client", &["sleep", "1000"], &[]);
    let client = fx.rt.run_container(&client).await.unwrap();

    let ip = fx.rt.container_ip(&web).await.unwrap().expect("an address");
    // The address the runtime reports is the one inside.
    let (code, addr) = sh(&fx, &web, "busybox ip -4 addr show eth0").await;
    assert_eq!(code, 0, "{addr}");
    assert!(addr.contains(&format!("inet {ip}/")), "{ip} vs {addr}");
    let (_, hosts) = sh(&fx, &web, "cat /etc/hosts").await;
    assert!(hosts.contains(&format!("{ip}\tweb")), "{hosts}");

    // Container to container, by address (HTTP over nc).
    let mut last = String::new();
    for _ in 0..50 {
        let (code, body) = sh(
            &fx,
            &client,
            // busybox-static's wget crashes in glibc's static NSS; nc speaks HTTP/1.0 fine.
            &format!("printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 {ip} 80"),
        )
        .await;
        last = format!("exit {code}: {body}");
        if code == 0 && body.contains("hello") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last.contains("hello-from-web"), "wget: {last}");

    // Host to the published port on loopback.
    let body = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").unwrap();
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        body
    })
    .await
    .unwrap();
    assert!(body.contains("hello-from-web"), "published port: {body}");
    fx.rt.check_network(&web).await.expect("CNI CHECK passes");

    for id in [&web, &client] {
        fx.rt.delete_container(id).await.unwrap();
    }
    fx.assert_clean("delete").await;
    fx.cleanup().await;
    remove_bridge(&bridge);
}

#[tokio::test]
async fn two_hundred_cycles_leave_ipam_netns_and_iptables_as_they_were() {
    require_root!();
    let (fx, ipam, bridge) = fixture("cycles", 2).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ports = [format!("127.0.0.1:{port}:80/tcp")];
    let ports: Vec<&str> = ports.iter().map(String::as_str).collect();
    // A first cycle creates the plugins' shared chains and IPAM bookkeeping files.
    let warm = bridged(&fx, "warm", &["true"], &ports);
    fx.rt.create_container(&warm).await.unwrap();
    fx.rt.delete_container("warm").await.unwrap();
    let needles = vec![
        "\\\"wt-cycles\\\"".to_string(),
        format!("--dport {port} "),
        subnet_prefix(&fx),
    ];
    let (rules, store) = (iptables(&needles), files(ipam.path()));

    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let rt = fx.rt.clone();
            let reqs: Vec<_> = (0..50)
                .map(|i| {
                    bridged(
                        &fx,
                        &format!("cyc-{w}-{i}"),
                        &["true"],
                        if i % 5 == 0 && w == 0 { &ports } else { &[] },
                    )
                })
                .collect();
            tokio::spawn(async move {
                for req in reqs {
                    let id = rt.create_container(&req).await.unwrap();
                    assert!(rt.container_ip(&id).await.unwrap().is_some());
                    rt.delete_container(&id).await.unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    eprintln!("200 bridge create/delete cycles: {:?}", started.elapsed());
    assert_eq!(files(ipam.path()), store, "the IPAM store is as before");
    let now = iptables(&needles);
    let added: Vec<_> = now.difference(&rules).collect();
    let removed: Vec<_> = rules.difference(&now).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "iptables changed: added {added:?}, removed {removed:?}"
    );
    fx.assert_clean("200 cycles").await;
    fx.cleanup().await;
    remove_bridge(&bridge);
}

#[tokio::test]
async fn a_broken_network_fails_create_cleanly() {
    require_root!();
    let (fx, ipam, bridge) = fixture("broken", 3).await;
    // Plugins that are not there.
    let registry = Registry::start();
    let image = format!("{}/warren/busybox:broken", registry.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    let missing = tempfile::tempdir().unwrap();
    let fx2 = Fixture::with_network(
        "broken2",
        registry,
        image,
        daemon::shared().socket(),
        NetworkConfig {
            name: "wt-broken2".into(),
            bridge: bridge.clone(),
            subnet: "10.203.77.0/24".into(),
            plugin_dir: Some(missing.path().to_path_buf()),
            ipam_dir: Some(ipam.path().to_path_buf()),
            ..Default::default()
        },
    )
    .await;
    let err = fx2
        .rt
        .create_container(&bridged(&fx2, "nope", &["true"], &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RuntimeError::CniPlugin { plugin, .. } if plugin == "loopback"),
        "{err}"
    );
    assert!(err.to_string().contains("not found"), "{err}");
    fx2.assert_clean("missing plugins").await;

    // The bridge's name taken by a device that is not a bridge: the bridge plugin fails
    // after the namespace and loopback were set up; everything is undone.
    let taken = bridged(&fx, "clash", &["true"], &["127.0.0.1:1:80/tcp"]);
    let out = std::process::Command::new("ip")
        .args([
            "link",
            "add",
            &bridge,
            "type",
            "veth",
            "peer",
            "name",
            &format!("{bridge}p"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = fx.rt.create_container(&taken).await.unwrap_err();
    assert!(
        matches!(&err, RuntimeError::CniPlugin { plugin, .. } if plugin == "bridge"),
        "{err}"
    );
    fx.assert_clean("a bridge the plugin cannot use").await;
    assert!(
        files(ipam.path()).iter().all(|f| !f.contains("10.")),
        "no address stays allocated: {:?}",
        files(ipam.path())
    );

    // Bad settings are refused before anything is created.
    let err = warren_runtime::ContainerdRuntime::with_options(warren_runtime::RuntimeOptions {
        network: NetworkConfig {
            subnet: "10.1.2.3/24".into(),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("host bits"), "{err}");
    assert!("8080:80".parse::<warren_runtime::PortMapping>().is_ok());
    assert!("80:80/sctp".parse::<warren_runtime::PortMapping>().is_err());

    fx.cleanup().await;
    fx2.cleanup().await;
    remove_bridge(&bridge);
}
