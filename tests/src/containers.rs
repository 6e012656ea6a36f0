//! A fixture for container tests: a registry holding a busybox image, a runtime handle in a
//! namespace of its own with its state in a temp dir, and checks that nothing is left.

use std::path::Path;

use warren_proto::containerd::services::containers::v1::ListContainersRequest;
use warren_proto::containerd::services::leases::v1::ListRequest;
use warren_proto::containerd::services::snapshots::v1::ListSnapshotsRequest;
use warren_proto::containerd::services::tasks::v1::ListTasksRequest;
use warren_proto::{Clients, Namespace};
use warren_runtime::{ContainerRequest, ContainerdRuntime, RuntimeOptions};

use crate::images::{busybox_layer, push};
use crate::registry::Registry;
use crate::{daemon, unique_namespace};

/// Everything a container test needs.
pub struct Fixture {
    pub registry: Registry,
    pub image: String,
    pub rt: ContainerdRuntime,
    pub clients: Clients,
    pub ns: String,
    pub state: tempfile::TempDir,
}

impl Fixture {
    /// A fresh namespace and state dir, and a busybox image (cmd `sh`) in a new registry.
    pub async fn new(prefix: &str) -> Fixture {
        let registry = Registry::start();
        let image = format!("{}/warren/busybox:c", registry.addr());
        push(&image, &[busybox_layer()], &["sh"]).await;
        Self::with_image(prefix, registry, image, daemon::shared().socket()).await
    }

    /// The same against the daemon at `socket`, with an image already pushed.
    pub async fn with_image(
        prefix: &str,
        registry: Registry,
        image: String,
        socket: &Path,
    ) -> Fixture {
        Self::with_network(prefix, registry, image, socket, Default::default()).await
    }

    /// The same, with bridge containers on `network`.
    pub async fn with_network(
        prefix: &str,
        registry: Registry,
        image: String,
        socket: &Path,
        network: warren_runtime::NetworkConfig,
    ) -> Fixture {
        let ns = unique_namespace(prefix);
        let state = tempfile::Builder::new()
            .prefix("wt-state-")
            .tempdir_in("/tmp")
            .unwrap();
        let rt = ContainerdRuntime::with_options(
            RuntimeOptions::default()
                .socket(socket.to_path_buf())
                .namespace(ns.clone())
                .state_dir(state.path().to_path_buf())
                .log_max_bytes(64 * 1024)
                .log_driver(warren_runtime::LogDriver::Shim(crate::logger_binary()))
                .network(network),
        )
        .unwrap();
        let channel = warren_proto::connect(socket).await.unwrap();
        let clients = Clients::new(channel, &Namespace::new(&ns).unwrap());
        Fixture {
            registry,
            image,
            rt,
            clients,
            ns,
            state,
        }
    }

    /// A request for container `id` running `cmd` in the busybox image.
    pub fn request(&self, id: &str, cmd: &[&str]) -> ContainerRequest {
        ContainerRequest::new(id, self.image.clone()).cmd(cmd.iter().map(|s| s.to_string()))
    }

    /// Run `req` to its end and return its exit code and everything it wrote (both streams,
    /// in order, one line each); the container is deleted afterwards.
    pub async fn probe(&self, req: &ContainerRequest) -> (u32, String) {
        use futures::StreamExt;
        let id = self.rt.run_container(req).await.expect("run the probe");
        let lines: Vec<String> = self
            .rt
            .container_logs(&id, &warren_runtime::LogOptions::default().follow(true))
            .await
            .unwrap()
            .map(|l| l.unwrap().text)
            .collect()
            .await;
        let exit = self.rt.wait_container(&id).await.unwrap();
        self.rt.delete_container(&id).await.unwrap();
        (exit.code, lines.join("\n"))
    }

    /// `(containers, tasks, active snapshots, leases, files in the state dir)`.
    pub async fn leftovers(&self) -> (usize, usize, usize, usize, Vec<String>) {
        let containers = self
            .clients
            .containers()
            .list(ListContainersRequest::default())
            .await
            .unwrap()
            .into_inner()
            .containers
            .len();
        let tasks = self
            .clients
            .tasks()
            .list(ListTasksRequest::default())
            .await
            .unwrap()
            .into_inner()
            .tasks
            .len();
        let mut active = 0;
        let mut s = self
            .clients
            .snapshots()
            .list(ListSnapshotsRequest {
                snapshotter: "overlayfs".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        while let Some(m) = s.message().await.unwrap() {
            // Kind ACTIVE = 2 (VIEW = 1, COMMITTED = 3): containers' rootfs snapshots.
            active += m.info.iter().filter(|i| i.kind == 2).count();
        }
        let leases = self
            .clients
            .leases()
            .list(ListRequest::default())
            .await
            .unwrap()
            .into_inner()
            .leases
            .len();
        let mut files = Vec::new();
        for e in crate::files_under(self.state.path()) {
            files.push(e);
        }
        (containers, tasks, active, leases, files)
    }

    /// Assert that no container, task, active snapshot, lease or file is left.
    pub async fn assert_clean(&self, what: &str) {
        let left = self.leftovers().await;
        assert_eq!(left, (0, 0, 0, 0, vec![]), "left behind after {what}");
    }

    /// Delete every container, the images and the namespace.
    pub async fn cleanup(self) {
        for c in self.rt.list_containers().await.unwrap_or_default() {
            let _ = self.rt.delete_container(&c.id).await;
        }
        crate::cleanup::remove_namespace(&self.rt, &self.clients, &self.ns).await;
    }
}
