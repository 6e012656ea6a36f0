//! The network orchestration of create and delete against a fake containerd and a fake
//! host network (`fake/network.rs`): a failure is injected at each namespace and plugin
//! step, and the test checks what was undone: no namespace, address, port rule, record or
//! snapshot left, and a DEL that fails is retried. No root, nothing on the host touched.

use warren_testkit as fake;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fake::network::FakeNetwork;
use fake::{FakeContainerd, IMAGE};
use warren_runtime::{
    ContainerRequest, ContainerdRuntime, ErrorKind, NetworkMode, PortMapping, PullPolicy,
};

const ID: &str = "web";

fn runtime(fake: &FakeContainerd, net: &FakeNetwork, state: &Path) -> ContainerdRuntime {
    ContainerdRuntime::with_options(
        fake.options("net", state)
            .network_backend(Arc::new(net.clone())),
    )
    .expect("runtime options")
}

/// A bridge container, publishing one port when `ports`.
fn request(ports: bool) -> ContainerRequest {
    let ports: Vec<PortMapping> = if ports {
        vec!["8080:80".parse().unwrap()]
    } else {
        Vec::new()
    };
    ContainerRequest::new(ID, IMAGE)
        .pull(PullPolicy::Never)
        .network(NetworkMode::Bridge { ports })
}

/// Neither the host nor the daemon holds anything of the container, and its folder is gone.
fn assert_nothing_left(fake: &FakeContainerd, net: &FakeNetwork, state: &Path, step: &str) {
    let n = net.state();
    assert!(n.is_clean(), "{step}: network left: {n:?}");
    let s = fake.state();
    assert!(s.containers.is_empty(), "{step}: record left");
    assert!(!s.snapshots.contains(ID), "{step}: snapshot left");
    assert!(s.leases.is_empty(), "{step}: leases {:?}", s.leases);
    assert!(
        !state.join("net").join(ID).exists(),
        "{step}: the container's folder is left"
    );
}

/// A fake daemon, a fake host network, a state folder, and a runtime on them.
fn setup() -> (
    FakeContainerd,
    FakeNetwork,
    tempfile::TempDir,
    ContainerdRuntime,
) {
    let fake = FakeContainerd::start();
    let net = FakeNetwork::default();
    let state = tempfile::tempdir().unwrap();
    let rt = runtime(&fake, &net, state.path());
    (fake, net, state, rt)
}

#[tokio::test]
async fn a_bridge_container_gets_its_network_and_delete_takes_all_of_it_back() {
    let (fake, net, state, rt) = setup();
    rt.create_container(&request(true)).await.expect("create");
    {
        let n = net.state();
        assert_eq!(n.namespaces.len(), 1, "{n:?}");
        assert_eq!(n.addresses.len(), 1, "{n:?}");
        assert_eq!(n.port_rules.len(), 1, "{n:?}");
        // Loopback is guarded before any port is published; the chain runs in order.
        let order: Vec<&str> = n.calls.iter().map(String::as_str).collect();
        assert_eq!(
            order,
            [
                "netns create",
                "protect loopback",
                "ADD loopback",
                "ADD bridge",
                "ADD portmap"
            ]
        );
    }
    let ip = rt.container_ip(ID).await.expect("ip").expect("an address");
    assert_eq!(Some(&ip), net.state().addresses.values().next());
    let hosts = std::fs::read_to_string(state.path().join("net").join(ID).join("hosts"))
        .expect("hosts file");
    assert!(hosts.contains(&ip.to_string()), "{hosts}");
    rt.check_network(ID).await.expect("check");

    rt.delete_container(ID).await.expect("delete");
    assert_nothing_left(&fake, &net, state.path(), "delete");
    // Torn down in reverse order, the namespace last.
    let n = net.state();
    let tail: Vec<&str> = n.calls.iter().rev().take(3).map(String::as_str).collect();
    assert_eq!(tail, ["netns remove", "DEL bridge", "DEL portmap"]);
}

#[tokio::test]
async fn a_failed_network_step_leaves_no_namespace_address_or_record() {
    for (step, ports) in [
        ("netns create", false),
        ("protect loopback", true),
        ("ADD loopback", false),
        ("ADD bridge", false),
        ("ADD portmap", true),
    ] {
        let (fake, net, state, rt) = setup();
        net.fail(step);
        let err = rt.create_container(&request(ports)).await.expect_err(step);
        assert!(
            matches!(err.kind(), ErrorKind::Network | ErrorKind::Io),
            "{step}: {err}"
        );
        assert_nothing_left(&fake, &net, state.path(), step);
        // No record was asked for: the network comes first.
        assert!(!fake.state().called("Containers.Create"), "{step}");
        {
            let n = net.state();
            if step == "ADD portmap" {
                // The bridge's address was handed out, then given back.
                assert_eq!(n.count("DEL bridge"), 1, "{step}: {:?}", n.calls);
                assert_eq!(n.count("DEL portmap"), 1, "{step}: {:?}", n.calls);
            }
            let removes = if step == "netns create" { 0 } else { 1 };
            assert_eq!(n.count("netns remove"), removes, "{step}: {:?}", n.calls);
        }
        // The same request goes through once the step works.
        net.heal(step);
        rt.create_container(&request(ports))
            .await
            .unwrap_or_else(|e| panic!("{step}: create after healing: {e}"));
        rt.delete_container(ID).await.expect("delete");
        assert_nothing_left(&fake, &net, state.path(), step);
    }
}

#[tokio::test]
async fn a_failed_daemon_step_after_the_network_takes_the_network_down() {
    for step in ["Leases.Create", "Snapshots.Prepare", "Containers.Create"] {
        let (fake, net, state, rt) = setup();
        fake.fail(step);
        let err = rt.create_container(&request(true)).await.expect_err(step);
        assert_eq!(err.kind(), ErrorKind::Internal, "{step}: {err}");
        assert_nothing_left(&fake, &net, state.path(), step);
        let n = net.state();
        assert_eq!(n.count("DEL bridge"), 1, "{step}: {:?}", n.calls);
    }
}

#[tokio::test]
async fn a_del_that_fails_is_retried_and_its_state_kept_until_it_works() {
    // Fails twice, then works: retried within the one delete.
    let (fake, net, state, rt) = setup();
    rt.create_container(&request(false)).await.expect("create");
    net.fail_times("DEL bridge", 2);
    rt.delete_container(ID).await.expect("delete with retries");
    assert_eq!(net.state().count("DEL bridge"), 3);
    assert_nothing_left(&fake, &net, state.path(), "retried DEL");

    // Fails every time: the delete says so and keeps what a later delete needs.
    let (fake, net, state, rt) = setup();
    rt.create_container(&request(true)).await.expect("create");
    net.fail("DEL bridge");
    let err = rt.delete_container(ID).await.expect_err("delete");
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    {
        let n = net.state();
        assert_eq!(n.count("DEL bridge"), 4, "{:?}", n.calls);
        // Every plugin is asked: portmap's rules are gone, the address and namespace stay.
        assert!(n.port_rules.is_empty());
        assert_eq!(n.addresses.len(), 1);
        assert_eq!(n.namespaces.len(), 1);
    }
    assert!(state
        .path()
        .join("net")
        .join(ID)
        .join("network.json")
        .exists());
    net.heal("DEL bridge");
    rt.delete_container(ID).await.expect("delete again");
    assert_nothing_left(&fake, &net, state.path(), "DEL healed");
}

#[tokio::test]
async fn a_create_whose_caller_stops_waiting_during_the_network_is_undone() {
    let (fake, net, state, rt) = setup();
    net.stall("ADD bridge");
    let dropped = tokio::time::timeout(
        Duration::from_millis(200),
        rt.create_container(&request(false)),
    )
    .await;
    assert!(dropped.is_err(), "the create was still waiting");
    net.release("ADD bridge");
    for _ in 0..500 {
        if net.state().is_clean() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_nothing_left(&fake, &net, state.path(), "dropped");
    // The id is free again.
    rt.create_container(&request(false)).await.expect("create");
}

#[tokio::test]
async fn a_second_create_of_the_same_id_leaves_the_first_network_alone() {
    let (_fake, net, _state, rt) = setup();
    rt.create_container(&request(false)).await.expect("create");
    let err = rt
        .create_container(&request(false))
        .await
        .expect_err("second create");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    let n = net.state();
    assert_eq!(n.namespaces.len(), 1);
    assert_eq!(n.addresses.len(), 1);
    assert_eq!(n.count("DEL bridge"), 0, "{:?}", n.calls);
}

#[tokio::test]
async fn a_check_reports_a_network_the_plugins_no_longer_know() {
    let (_fake, net, _state, rt) = setup();
    rt.create_container(&request(false)).await.expect("create");
    rt.check_network(ID).await.expect("check");
    net.state().addresses.clear();
    let err = rt.check_network(ID).await.expect_err("check");
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
}
