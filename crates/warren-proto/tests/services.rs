//! The bindings cover every service and message Warren relies on, and encode as containerd
//! expects.

use prost::Message;
use prost_types::FileDescriptorSet;
use warren_proto::containerd::events::TaskExit;
use warren_proto::containerd::services::containers::v1::{container::Runtime, Container};
use warren_proto::containerd::services::tasks::v1::CreateTaskRequest;
use warren_proto::containerd::types::Mount;
use warren_proto::{any, FILE_DESCRIPTOR_SET};

const SERVICES: &[&str] = &[
    "containerd.services.containers.v1.Containers",
    "containerd.services.content.v1.Content",
    "containerd.services.diff.v1.Diff",
    "containerd.services.events.v1.Events",
    "containerd.services.images.v1.Images",
    "containerd.services.introspection.v1.Introspection",
    "containerd.services.leases.v1.Leases",
    "containerd.services.namespaces.v1.Namespaces",
    "containerd.services.snapshots.v1.Snapshots",
    "containerd.services.streaming.v1.Streaming",
    "containerd.services.tasks.v1.Tasks",
    "containerd.services.transfer.v1.Transfer",
    "containerd.services.version.v1.Version",
    "grpc.health.v1.Health",
];

fn descriptors() -> FileDescriptorSet {
    FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes")
}

#[test]
fn every_service_is_compiled() {
    let fds = descriptors();
    let mut found: Vec<String> = fds
        .file
        .iter()
        .flat_map(|f| {
            let pkg = f.package().to_string();
            f.service.iter().map(move |s| format!("{pkg}.{}", s.name()))
        })
        .collect();
    found.sort();
    for s in SERVICES {
        assert!(
            found.iter().any(|f| f == s),
            "missing service {s}; have {found:?}"
        );
    }
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
