//! Bridge networking with the real CNI plugins: containers reach each other and a published
//! port, addresses match, and set-up and teardown leave the host as it was.
//!
//! Each test has its own bridge, subnet and IPAM store; traffic stays between the test's
//! containers, their bridge and loopback.

use std::io::{Read, Write};
use std::time::Duration;

use warren_proto::containerd::services::containers::v1::DeleteContainerRequest;
use warren_proto::containerd::services::snapshots::v1::RemoveSnapshotRequest;
use warren_runtime::{NetworkConfig, RuntimeError};
use warren_tests::containers::Fixture;
use warren_tests::images::{busybox_layer, push};
use warren_tests::network::{
    bridged, files, fixture, iptables, same_handle, same_options, sh, subnet_prefix, walk_for,
};
use warren_tests::registry::Registry;
use warren_tests::{daemon, require_root};

#[tokio::test]
async fn two_containers_talk_and_a_published_port_reaches_one() {
    require_root!();
    let (fx, _ipam, _guard) = fixture("talk", 1).await;
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

    // Container to container, by address: busybox wget against busybox httpd.
    let mut last = String::new();
    for _ in 0..50 {
        let (code, body) = sh(
            &fx,
            &client,
            // Bounded by `timeout`: busybox 1.35's own `wget -T` segfaults (exit 139).
            &format!("busybox timeout 5 busybox wget -q -O - http://{ip}:80/index.html"),
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
}

#[tokio::test]
async fn two_hundred_cycles_leave_ipam_netns_and_iptables_as_they_were() {
    require_root!();
    let (fx, ipam, _guard) = fixture("cycles", 2).await;
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
        format!("\\\"{}\\\"", fx.rt.network_config().name),
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
        NetworkConfig::default()
            .name(format!("wt-broken2-{:08x}", rand::random::<u32>()))
            .bridge(bridge.name())
            .subnet("10.203.77.0/24")
            .plugin_dir(missing.path().to_path_buf())
            .ipam_dir(ipam.path().to_path_buf()),
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
            bridge.name(),
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
    let err = warren_runtime::ContainerdRuntime::with_options(
        warren_runtime::RuntimeOptions::default()
            .network(NetworkConfig::default().subnet("10.1.2.3/24")),
    )
    .unwrap_err();
    assert!(err.to_string().contains("host bits"), "{err}");
    let twice = bridged(&fx, "twice", &["true"], &["8080:80", "127.0.0.1:8080:81"]);
    let err = fx.rt.create_container(&twice).await.unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidRequest { .. }), "{err}");
    fx.assert_clean("a port published twice").await;
    assert!("8080:80".parse::<warren_runtime::PortMapping>().is_ok());
    assert!("80:80/sctp".parse::<warren_runtime::PortMapping>().is_err());

    fx.cleanup().await;
    fx2.cleanup().await;
}

#[tokio::test]
async fn the_address_and_the_teardown_survive_a_restart_and_leftovers_are_cleared() {
    require_root!();
    let (fx, ipam, _guard) = fixture("restart", 4).await;
    let id = fx
        .rt
        .run_container(&bridged(&fx, "r1", &["sleep", "1000"], &[]))
        .await
        .unwrap();
    let ip = fx.rt.container_ip(&id).await.unwrap().expect("an address");
    assert!(
        files(ipam.path())
            .iter()
            .any(|f| f.ends_with(&ip.to_string())),
        "host-local holds {ip}: {:?}",
        files(ipam.path())
    );

    // A new handle (a restarted warrend) knows the address and tears the network down.
    let again = same_handle(&fx);
    assert_eq!(again.container_ip(&id).await.unwrap(), Some(ip));
    again.check_network(&id).await.expect("CNI CHECK passes");
    again.delete_container(&id).await.unwrap();
    assert!(
        files(ipam.path())
            .iter()
            .all(|f| !f.ends_with(&ip.to_string())),
        "the address is freed: {:?}",
        files(ipam.path())
    );
    fx.assert_clean("delete from a new handle").await;

    // A bridge container without a network, and one that is not there at all.
    let plain = fx
        .rt
        .create_container(&fx.request("plain", &["true"]))
        .await
        .unwrap();
    assert_eq!(fx.rt.container_ip(&plain).await.unwrap(), None);
    let err = fx.rt.check_network(&plain).await.unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidRequest { .. }), "{err}");
    fx.rt.delete_container(&plain).await.unwrap();
    assert!(matches!(
        fx.rt.container_ip("nobody").await.unwrap_err(),
        RuntimeError::NotFound { .. }
    ));

    // A process that died after containerd lost the record but before the network was torn
    // down: deleting the (now missing) container still runs CNI DEL and frees everything.
    let id = fx
        .rt
        .create_container(&bridged(&fx, "lost", &["true"], &[]))
        .await
        .unwrap();
    let ip = fx.rt.container_ip(&id).await.unwrap().expect("an address");
    fx.clients
        .containers()
        .delete(DeleteContainerRequest { id: id.clone() })
        .await
        .unwrap();
    // containerd's collector may get to the unreferenced snapshot first.
    let removed = fx
        .clients
        .snapshots()
        .remove(RemoveSnapshotRequest {
            snapshotter: "overlayfs".into(),
            key: id.clone(),
        })
        .await;
    if let Err(e) = removed {
        assert_eq!(e.code(), tonic::Code::NotFound, "{e}");
    }
    // The id is taken until its leftovers are cleared.
    let err = fx
        .rt
        .create_container(&bridged(&fx, "lost", &["true"], &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::AlreadyExists { .. }), "{err}");
    fx.rt.delete_container(&id).await.unwrap();
    assert!(
        files(ipam.path())
            .iter()
            .all(|f| !f.ends_with(&ip.to_string())),
        "the leftover address is freed: {:?}",
        files(ipam.path())
    );
    fx.assert_clean("deleting a lost container").await;

    // A reboot: the pinned namespace is gone, its file (in a persistent state dir) is left.
    // DEL is then given no namespace (not the empty file) and still frees the address.
    // Without masquerading here: the bridge plugin finds the rules to remove through the
    // namespace's interface, which a reboot takes away together with the rules themselves.
    let mut network = fx.rt.network_config().clone();
    network.ip_masq = false;
    let rebooted =
        warren_runtime::ContainerdRuntime::with_options(same_options(&fx).network(network))
            .unwrap();
    let id = rebooted
        .create_container(&bridged(&fx, "boot", &["true"], &[]))
        .await
        .unwrap();
    let ip = rebooted
        .container_ip(&id)
        .await
        .unwrap()
        .expect("an address");
    let netns = walk_for(fx.state.path(), "boot/netns");
    nix::mount::umount2(&netns, nix::mount::MntFlags::MNT_DETACH).unwrap();
    assert!(netns.is_file(), "the netns file outlives its mount");
    rebooted.delete_container(&id).await.unwrap();
    assert!(
        files(ipam.path())
            .iter()
            .all(|f| !f.ends_with(&ip.to_string())),
        "the address is freed after a reboot: {:?}",
        files(ipam.path())
    );
    fx.assert_clean("deleting after a reboot").await;
    fx.cleanup().await;
}

#[tokio::test]
async fn concurrent_creates_of_one_id_leave_the_winner_networked() {
    require_root!();
    let (fx, ipam, _guard) = fixture("race", 5).await;
    let reqs: Vec<_> = (0..4)
        .map(|_| bridged(&fx, "same", &["sleep", "1000"], &[]))
        .collect();
    let results = futures::future::join_all(reqs.iter().map(|r| fx.rt.create_container(r))).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, RuntimeError::AlreadyExists { .. }), "{e}");
        }
    }
    fx.rt.start_container("same").await.unwrap();
    let ip = fx
        .rt
        .container_ip("same")
        .await
        .unwrap()
        .expect("an address");
    let (code, addr) = sh(&fx, "same", "busybox ip -4 addr show eth0").await;
    assert_eq!(code, 0, "{addr}");
    assert!(addr.contains(&format!("inet {ip}/")), "{ip} vs {addr}");
    fx.rt.check_network("same").await.expect("CNI CHECK passes");
    fx.rt.delete_container("same").await.unwrap();
    assert!(
        files(ipam.path())
            .iter()
            .all(|f| !f.contains(&subnet_prefix(&fx))),
        "no address left: {:?}",
        files(ipam.path())
    );
    fx.assert_clean("racing creates").await;
    fx.cleanup().await;
}

#[tokio::test]
async fn two_handles_with_the_same_ids_on_one_network_stay_apart() {
    require_root!();
    let (a, ipam, guard) = fixture("twins", 6).await;
    let registry = Registry::start();
    let image = format!("{}/warren/busybox:twins", registry.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    let network = a.rt.network_config().clone();
    let b = Fixture::with_network(
        "twins-b",
        registry,
        image,
        daemon::shared().socket(),
        network,
    )
    .await;
    // Declared after `b`, so dropped first: a failed test's leftovers go before b's state.
    let mut guard = guard;
    guard.watch(b.state.path());
    let ia =
        a.rt.create_container(&bridged(&a, "web", &["true"], &[]))
            .await
            .unwrap();
    let ib =
        b.rt.create_container(&bridged(&b, "web", &["true"], &[]))
            .await
            .unwrap();
    let ip_b = b.rt.container_ip(&ib).await.unwrap().expect("an address");
    let masq_b = [format!("-s {ip_b}/32 ")];
    assert_eq!(iptables(&masq_b).len(), 1, "b is masqueraded");

    // The plugins name chains after network and container id: each handle must have its own,
    // or deleting a's `web` would flush b's rules (and fail on the chain b still uses).
    a.rt.delete_container(&ia).await.unwrap();
    assert_eq!(
        iptables(&masq_b).len(),
        1,
        "b's masquerade survives a's delete"
    );
    b.rt.check_network(&ib).await.expect("CNI CHECK passes");
    b.rt.delete_container(&ib).await.unwrap();
    assert!(iptables(&masq_b).is_empty(), "b's rule is gone with b");
    assert!(
        files(ipam.path())
            .iter()
            .all(|f| !f.contains(&subnet_prefix(&a))),
        "no address left: {:?}",
        files(ipam.path())
    );
    a.assert_clean("delete a").await;
    b.assert_clean("delete b").await;
    a.cleanup().await;
    b.cleanup().await;
}
