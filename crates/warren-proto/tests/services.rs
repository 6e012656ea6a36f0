//! The bindings cover every service and message Warren relies on, and encode as containerd
//! expects.

use prost::Message;
use prost_types::FileDescriptorSet;
use warren_proto::containerd::events::TaskExit;
use warren_proto::containerd::services::containers::v1::{container::Runtime, Container};
use warren_proto::containerd::services::tasks::v1::CreateTaskRequest;
use warren_proto::containerd::types::Mount;
use warren_proto::{any, FILE_DESCRIPTOR_SET};

/// Every service Warren uses, with its methods in declaration order: the wire contract
/// (checked against containerd's `api/` protos when they were written).
const SERVICES: &[(&str, &[&str])] = &[
    (
        "containerd.services.containers.v1.Containers",
        &["Get", "List", "ListStream", "Create", "Update", "Delete"],
    ),
    (
        "containerd.services.content.v1.Content",
        &[
            "Info",
            "Update",
            "List",
            "Delete",
            "Read",
            "Status",
            "ListStatuses",
            "Write",
            "Abort",
        ],
    ),
    ("containerd.services.diff.v1.Diff", &["Apply", "Diff"]),
    (
        "containerd.services.events.v1.Events",
        &["Publish", "Forward", "Subscribe"],
    ),
    (
        "containerd.services.images.v1.Images",
        &["Get", "List", "Create", "Update", "Delete"],
    ),
    (
        "containerd.services.introspection.v1.Introspection",
        &["Plugins", "Server", "PluginInfo"],
    ),
    (
        "containerd.services.leases.v1.Leases",
        &[
            "Create",
            "Delete",
            "List",
            "AddResource",
            "DeleteResource",
            "ListResources",
        ],
    ),
    (
        "containerd.services.namespaces.v1.Namespaces",
        &["Get", "List", "Create", "Update", "Delete"],
    ),
    (
        "containerd.services.snapshots.v1.Snapshots",
        &[
            "Prepare", "View", "Mounts", "Commit", "Remove", "Stat", "Update", "List", "Usage",
            "Cleanup",
        ],
    ),
    ("containerd.services.streaming.v1.Streaming", &["Stream"]),
    (
        "containerd.services.tasks.v1.Tasks",
        &[
            "Create",
            "Start",
            "Delete",
            "DeleteProcess",
            "Get",
            "List",
            "Kill",
            "Exec",
            "ResizePty",
            "CloseIO",
            "Pause",
            "Resume",
            "ListPids",
            "Checkpoint",
            "Update",
            "Metrics",
            "Wait",
        ],
    ),
    ("containerd.services.transfer.v1.Transfer", &["Transfer"]),
    ("containerd.services.version.v1.Version", &["Version"]),
    ("grpc.health.v1.Health", &["Check", "Watch"]),
    // Warren's own node API, served by warrend.
    (
        "warren.node.v1.Node",
        &[
            "Pull",
            "Import",
            "ListImages",
            "RemoveImage",
            "Create",
            "Start",
            "Stop",
            "Delete",
            "Run",
            "Wait",
            "List",
            "Inspect",
            "Logs",
            "Exec",
            "Events",
            "Stats",
            "Info",
            "Attach",
            "Kill",
            "Restart",
            "Top",
            "PruneContainers",
            "PruneImages",
        ],
    ),
];

fn descriptors() -> FileDescriptorSet {
    FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes")
}

#[test]
fn every_service_is_compiled() {
    let fds = descriptors();
    let found: Vec<(String, Vec<String>)> = fds
        .file
        .iter()
        .flat_map(|f| {
            let pkg = f.package().to_string();
            f.service.iter().map(move |s| {
                let methods = s.method.iter().map(|m| m.name().to_string()).collect();
                (format!("{pkg}.{}", s.name()), methods)
            })
        })
        .collect();
    for (service, methods) in SERVICES {
        let Some((_, have)) = found.iter().find(|(name, _)| name == service) else {
            panic!("missing service {service}");
        };
        assert_eq!(have, methods, "methods of {service}");
    }
    assert_eq!(
        found.len(),
        SERVICES.len(),
        "unexpected services: {found:?}"
    );
    // The generated clients exist for each of them (compile-time check).
    let _ = [
        std::any::type_name::<warren_proto::containerd::services::containers::v1::containers_client::ContainersClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::content::v1::content_client::ContentClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::diff::v1::diff_client::DiffClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::events::v1::events_client::EventsClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::images::v1::images_client::ImagesClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::introspection::v1::introspection_client::IntrospectionClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::leases::v1::leases_client::LeasesClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::namespaces::v1::namespaces_client::NamespacesClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::snapshots::v1::snapshots_client::SnapshotsClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::streaming::v1::streaming_client::StreamingClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::tasks::v1::tasks_client::TasksClient<()>>(),
        std::any::type_name::<warren_proto::warren::node::v1::node_client::NodeClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::transfer::v1::transfer_client::TransferClient<()>>(),
        std::any::type_name::<warren_proto::containerd::services::version::v1::version_client::VersionClient<()>>(),
        std::any::type_name::<warren_proto::grpc::health::v1::health_client::HealthClient<()>>(),
    ];
}

#[test]
fn event_and_metrics_payloads_are_compiled() {
    let fds = descriptors();
    let names: Vec<String> = fds
        .file
        .iter()
        .flat_map(|f| {
            let pkg = f.package().to_string();
            f.message_type
                .iter()
                .map(move |m| format!("{pkg}.{}", m.name()))
        })
        .collect();
    for m in [
        "containerd.events.TaskCreate",
        "containerd.events.TaskStart",
        "containerd.events.TaskExit",
        "containerd.events.TaskOOM",
        "containerd.events.TaskDelete",
        "containerd.events.TaskPaused",
        "containerd.events.TaskResumed",
        "containerd.events.ContainerCreate",
        "containerd.services.images.v1.ImageCreate",
        "containerd.runc.v1.Options",
        "containerd.runc.v1.ProcessDetails",
        "containerd.types.Envelope",
        "containerd.types.transfer.OCIRegistry",
        "containerd.types.transfer.ImageStore",
        "io.containerd.cgroups.v1.Metrics",
        "io.containerd.cgroups.v2.Metrics",
        "google.rpc.Status",
    ] {
        assert!(names.iter().any(|n| n == m), "missing message {m}");
    }
}

#[test]
fn messages_round_trip() {
    let req = CreateTaskRequest {
        container_id: "c1".into(),
        rootfs: vec![Mount {
            r#type: "overlay".into(),
            source: "overlay".into(),
            target: String::new(),
            options: vec!["lowerdir=/a:/b".into(), "upperdir=/u".into()],
        }],
        stdout: "/run/x/stdout".into(),
        options: Some(any::pack(
            &warren_proto::containerd::runc::v1::Options::default(),
        )),
        ..Default::default()
    };
    let bytes = req.encode_to_vec();
    assert_eq!(CreateTaskRequest::decode(bytes.as_slice()).unwrap(), req);

    let container = Container {
        id: "c1".into(),
        image: "docker.io/library/busybox:latest".into(),
        runtime: Some(Runtime {
            name: "io.containerd.runc.v2".into(),
            options: None,
        }),
        spec: Some(any::pack_json(any::SPEC_TYPE_URL, b"{}".to_vec())),
        labels: [("a".to_string(), "b".to_string())].into(),
        ..Default::default()
    };
    let back = Container::decode(container.encode_to_vec().as_slice()).unwrap();
    assert_eq!(back, container);
    assert_eq!(back.spec.unwrap().type_url, any::SPEC_TYPE_URL);

    let exit = TaskExit {
        container_id: "c1".into(),
        id: "c1".into(),
        pid: 42,
        exit_status: 3,
        exited_at: Some(prost_types::Timestamp {
            seconds: 1,
            nanos: 2,
        }),
    };
    let packed = any::pack(&exit);
    assert_eq!(packed.type_url, "containerd.events.TaskExit");
    assert_eq!(any::unpack::<TaskExit>(&packed).unwrap(), exit);
}

#[test]
fn payloads_pack_with_containerd_type_urls() {
    use warren_proto::containerd::services::streaming::v1::StreamInit;
    use warren_proto::containerd::types::transfer::{
        ImageStore, OciRegistry, RegistryResolver, UnpackConfiguration,
    };
    use warren_proto::containerd::types::Platform;
    use warren_proto::io::containerd::cgroups::{v1, v2};

    let v1_metrics = v1::Metrics {
        memory: Some(v1::MemoryStat {
            usage: Some(v1::MemoryEntry {
                usage: 4096,
                limit: 1 << 20,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let packed = any::pack(&v1_metrics);
    assert_eq!(packed.type_url, "io.containerd.cgroups.v1.Metrics");
    assert_eq!(any::unpack::<v1::Metrics>(&packed).unwrap(), v1_metrics);
    assert!(any::unpack::<v2::Metrics>(&packed).is_err());
    assert_eq!(
        any::pack(&v2::Metrics::default()).type_url,
        "io.containerd.cgroups.v2.Metrics"
    );

    let source = OciRegistry {
        reference: "localhost:5000/busybox:latest".into(),
        resolver: Some(RegistryResolver {
            default_scheme: "http".into(),
            ..Default::default()
        }),
    };
    let packed = any::pack(&source);
    assert_eq!(packed.type_url, "containerd.types.transfer.OCIRegistry");
    assert_eq!(any::unpack::<OciRegistry>(&packed).unwrap(), source);

    let platform = Platform {
        os: "linux".into(),
        architecture: "amd64".into(),
        ..Default::default()
    };
    let store = ImageStore {
        name: "localhost:5000/busybox:latest".into(),
        platforms: vec![platform.clone()],
        unpacks: vec![UnpackConfiguration {
            platform: Some(platform),
            snapshotter: "overlayfs".into(),
        }],
        ..Default::default()
    };
    assert_eq!(
        any::pack(&store).type_url,
        "containerd.types.transfer.ImageStore"
    );
    assert_eq!(
        any::pack(&StreamInit { id: "s1".into() }).type_url,
        "containerd.services.streaming.v1.StreamInit"
    );
}
