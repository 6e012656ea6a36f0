//! Facts about the containerd a runtime drives, for a node daemon's `info`, health check,
//! metrics and prune: its version, what its content store holds, how many snapshots it
//! keeps, and when each image was recorded. Every call goes through the runtime's one
//! connection, with its retry policy and typed errors.

use std::time::SystemTime;

use warren_proto::containerd::services::content::v1::ListContentRequest;
use warren_proto::containerd::services::images::v1::ListImagesRequest;
use warren_proto::containerd::services::snapshots::v1::ListSnapshotsRequest;

use crate::containers::to_system_time;
use crate::{ContainerdRuntime, RuntimeError};

/// containerd's version, as its Version service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DaemonVersion {
    /// E.g. `v2.1.9` or `1.6.20~ds1`.
    pub version: String,
    /// The commit it was built from (empty in some distribution builds).
    pub revision: String,
}

/// One image record of the namespace, with its times.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageRecord {
    /// Its name (a reference such as `docker.io/library/busybox:latest`).
    pub name: String,
    /// When the record was created (pulled or imported).
    pub created: Option<SystemTime>,
    /// When it last changed.
    pub updated: Option<SystemTime>,
}

impl ContainerdRuntime {
    /// containerd's version. Also a cheap liveness check: it answers without touching any
    /// store.
    pub async fn daemon_version(&self) -> Result<DaemonVersion, RuntimeError> {
        let v = self.containerd().version().await?;
        Ok(DaemonVersion {
            version: v.version,
            revision: v.revision,
        })
    }

    /// Bytes of every blob in the namespace's content store (compressed layers, configs,
    /// manifests; what `ctr content ls` sums).
    pub async fn content_bytes(&self) -> Result<u64, RuntimeError> {
        let mut replies = self
            .containerd()
            .content()
            .list(ListContentRequest::default())
            .await?;
        let mut total = 0u64;
        while let Some(batch) = replies.next().await {
            total += batch?
                .info
                .iter()
                .map(|i| i.size.max(0) as u64)
                .sum::<u64>();
        }
        Ok(total)
    }

    /// How many snapshots the runtime's snapshotter holds in the namespace (layers and
    /// container root filesystems).
    pub async fn snapshot_count(&self) -> Result<usize, RuntimeError> {
        let req = ListSnapshotsRequest {
            snapshotter: self.inner.snapshotter.clone(),
            filters: vec![],
        };
        let mut replies = self.containerd().snapshots().list(req).await?;
        let mut n = 0;
        while let Some(page) = replies.next().await {
            n += page?.info.len();
        }
        Ok(n)
    }

    /// Every image record of the namespace with its times, sorted by name.
    pub async fn list_image_records(&self) -> Result<Vec<ImageRecord>, RuntimeError> {
        let reply = self
            .containerd()
            .images()
            .list(ListImagesRequest::default())
            .await?;
        let mut out: Vec<ImageRecord> = reply
            .images
            .into_iter()
            .map(|i| ImageRecord {
                created: to_system_time(i.created_at.as_ref()),
                updated: to_system_time(i.updated_at.as_ref()),
                name: i.name,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
