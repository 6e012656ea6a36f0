//! First contact: a private containerd of the line under test answers our bindings.

use tonic::Request;
use warren_proto::containerd::services::introspection::v1::{
    introspection_client::IntrospectionClient, PluginsRequest,
};
use warren_proto::containerd::services::namespaces::v1::{
    namespaces_client::NamespacesClient, CreateNamespaceRequest, DeleteNamespaceRequest,
    GetNamespaceRequest, ListNamespacesRequest, Namespace,
};
use warren_proto::containerd::services::version::v1::version_client::VersionClient;
use warren_proto::grpc::health::v1::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use warren_tests::{daemon, deps, require_root, unique_namespace};

#[tokio::test]
async fn version_is_the_line_under_test() {
    require_root!();
    let channel = daemon::shared().channel().await;
    let reply = VersionClient::new(channel)
        .version(Request::new(()))
        .await
        .expect("Version")
        .into_inner();
    let version = reply.version.trim_start_matches('v');
    let line = deps::line();
    assert!(
        version.starts_with(&format!("{line}.")),
        "containerd says {:?}, expected the {line} line",
        reply.version
    );
    assert!(!reply.revision.is_empty() || line.starts_with('2'));
}

#[tokio::test]
async fn health_is_serving() {
    require_root!();
    let channel = daemon::shared().channel().await;
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .expect("Health/Check")
        .into_inner();
    assert_eq!(reply.status, ServingStatus::Serving as i32);
}

#[tokio::test]
async fn namespace_create_list_delete() {
    require_root!();
    let channel = daemon::shared().channel().await;
    let mut client = NamespacesClient::new(channel);
    let name = unique_namespace("ns");
    // 1.6 publishes a /namespaces/create event in the caller's namespace and fails the call
    // ("failed publishing event: namespace is required") without a namespace header, after
    // the namespace was already written: send the new namespace's own name, as ctr does.
    let ns = warren_proto::Namespace::new(name.clone()).unwrap();
    let create = CreateNamespaceRequest {
        namespace: Some(Namespace {
            name: name.clone(),
            labels: [("warren.test/owner".to_string(), "daemon_api".to_string())].into(),
        }),
    };
    let created = client
        .create(warren_proto::namespace::with_namespace(&ns, create))
        .await
        .expect("Namespaces/Create")
        .into_inner();
    assert_eq!(created.namespace.map(|n| n.name), Some(name.clone()));

    let listed = client
        .list(ListNamespacesRequest::default())
        .await
        .expect("Namespaces/List")
        .into_inner();
    assert!(listed.namespaces.iter().any(|n| n.name == name));

    let got = client
        .get(GetNamespaceRequest { name: name.clone() })
        .await
        .expect("Namespaces/Get")
        .into_inner();
    let labels = got.namespace.expect("a namespace").labels;
    assert_eq!(
        labels.get("warren.test/owner").map(String::as_str),
        Some("daemon_api")
    );

    let delete = DeleteNamespaceRequest { name: name.clone() };
    client
        .delete(warren_proto::namespace::with_namespace(&ns, delete))
        .await
        .expect("Namespaces/Delete");
    // Get does not check existence (1.7 and 2.1 answer an empty namespace for any name), so
    // the deletion shows in List.
    let listed = client
        .list(ListNamespacesRequest::default())
        .await
        .expect("Namespaces/List")
        .into_inner();
    assert!(
        !listed.namespaces.iter().any(|n| n.name == name),
        "{name} still listed"
    );
}

#[tokio::test]
async fn introspection_lists_overlayfs_and_the_runc_v2_runtime() {
    require_root!();
    let channel = daemon::shared().channel().await;
    let plugins = IntrospectionClient::new(channel)
        .plugins(PluginsRequest::default())
        .await
        .expect("Introspection/Plugins")
        .into_inner()
        .plugins;
    let find = |kind: &str, id: &str| plugins.iter().find(|p| p.r#type == kind && p.id == id);

    let overlay = find("io.containerd.snapshotter.v1", "overlayfs").expect("overlayfs listed");
    assert!(
        overlay.init_err.is_none(),
        "overlayfs failed to load: {:?}",
        overlay.init_err
    );
    // The runtime v2 task manager is what runs `io.containerd.runc.v2` shims.
    let runtime = find("io.containerd.runtime.v2", "task").expect("runtime v2 listed");
    assert!(
        runtime.init_err.is_none(),
        "runtime v2: {:?}",
        runtime.init_err
    );
    // The shim the daemon will pick for io.containerd.runc.v2 is the line's own.
    assert!(deps::containerd_bin_dir()
        .join("containerd-shim-runc-v2")
        .is_file());
}
