//! A namespace of its own for an image test: a runtime handle in it, its raw clients, ctr,
//! and what the namespace holds (blobs, ingests, leases, snapshots), to prove a failure left
//! nothing behind.

use warren_proto::containerd::services::content::v1::{ListContentRequest, ListStatusesRequest};
use warren_proto::containerd::services::leases::v1::ListRequest;
use warren_proto::containerd::services::snapshots::v1::ListSnapshotsRequest;
use warren_proto::{Clients, Namespace};
use warren_runtime::{ContainerdRuntime, RuntimeOptions};

use crate::{daemon, deps, unique_namespace};

/// A runtime handle in a namespace of its own, and that namespace's raw clients.
pub struct Ns {
    /// The runtime handle.
    pub rt: ContainerdRuntime,
    /// The namespace's raw clients.
    pub clients: Clients,
    /// The namespace.
    pub name: String,
}

impl Ns {
    pub async fn new(prefix: &str) -> Ns {
        let name = unique_namespace(prefix);
        let rt = ContainerdRuntime::with_options(
            RuntimeOptions::default()
                .socket(daemon::shared().socket().to_path_buf())
                .namespace(name.clone()),
        )
        .unwrap();
        let clients = Clients::new(
            daemon::shared().channel().await,
            &Namespace::new(&name).unwrap(),
        );
        Ns { rt, clients, name }
    }

    /// The size of every blob in the namespace's content store.
    pub async fn blob_sizes(&self) -> Vec<u64> {
        let mut sizes = Vec::new();
        let mut s = self
            .clients
            .content()
            .list(ListContentRequest::default())
            .await
            .unwrap()
            .into_inner();
        while let Some(m) = s.message().await.unwrap() {
            sizes.extend(m.info.iter().map(|i| i.size as u64));
        }
        sizes
    }

    /// Bytes of every blob in the namespace's content store.
    pub async fn stored_bytes(&self) -> u64 {
        self.blob_sizes().await.iter().sum()
    }

    /// (leases, content blobs, snapshots, images) in the namespace.
    pub async fn objects(&self) -> (usize, usize, usize, usize) {
        let leases = self
            .clients
            .leases()
            .list(ListRequest::default())
            .await
            .unwrap()
            .into_inner()
            .leases
            .len();
        let content = self.blob_sizes().await.len();
        let snaps = self.snapshots().await;
        let images = self.rt.list_images().await.unwrap().len();
        (leases, content, snaps, images)
    }

    /// Ingests (unfinished blob writes) in the namespace.
    pub async fn ingests(&self) -> usize {
        self.clients
            .content()
            .list_statuses(ListStatusesRequest::default())
            .await
            .unwrap()
            .into_inner()
            .statuses
            .len()
    }

    /// Nothing at all: no lease, blob, ingest, snapshot or image.
    pub async fn assert_empty(&self, what: &str) {
        assert_eq!(
            self.objects().await,
            (0, 0, 0, 0),
            "{what}: leases, content, snapshots, images"
        );
        assert_eq!(self.ingests().await, 0, "{what}: ingests");
    }

    /// Remove every image, then the namespace itself.
    pub async fn cleanup(self) {
        crate::cleanup::remove_namespace(&self.rt, &self.clients, &self.name).await;
    }

    /// Run ctr in this namespace against the shared daemon.
    pub fn ctr(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(deps::containerd_bin_dir().join("ctr"))
            .arg("--address")
            .arg(daemon::shared().socket())
            .args(["-n", &self.name])
            .args(args)
            .env("PATH", deps::daemon_path_env())
            .output()
            .expect("ctr runs")
    }

    /// How many snapshots (any kind) the namespace has.
    pub async fn snapshots(&self) -> usize {
        let mut n = 0;
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
            n += m.info.len();
        }
        n
    }
}
