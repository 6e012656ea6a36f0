//! The Snapshots service: layer and container filesystems.

use warren_proto::containerd::services::snapshots::v1::*;

use super::stale_snapshot::retry_once;
use super::status_error;
use crate::RuntimeError;

super::rpcs!(Snapshots, snapshots {
    /// How to mount an active snapshot.
    retrying mounts(MountsRequest) -> MountsResponse = "Snapshots.Mounts";
    /// Turn an active snapshot into a committed one under a new name. Made once.
    once commit(CommitSnapshotRequest) -> () = "Snapshots.Commit";
    /// Remove a snapshot (one with no children).
    retrying remove(RemoveSnapshotRequest) -> () = "Snapshots.Remove";
    /// One snapshot's kind, parent and labels.
    retrying stat(StatSnapshotRequest) -> StatSnapshotResponse = "Snapshots.Stat";
});

impl Snapshots<'_> {
    /// Every snapshot of a snapshotter (the filters narrow it), in the daemon's batches.
    pub(crate) async fn list(
        &self,
        req: ListSnapshotsRequest,
    ) -> Result<super::Replies<ListSnapshotsResponse>, RuntimeError> {
        let op = "Snapshots.List";
        self.0
            .retrying(op, req, |c, r| async move { c.snapshots().list(r).await })
            .await
            .map(|inner| super::Replies::new(op, inner))
    }

    /// A new writable snapshot on a committed parent; answers with its mounts. Made once,
    /// and once more only if a directory left by an earlier daemon crash was in the way
    /// (see [`super::stale_snapshot`]).
    pub(crate) async fn prepare(
        &self,
        req: PrepareSnapshotRequest,
    ) -> Result<PrepareSnapshotResponse, RuntimeError> {
        let op = "Snapshots.Prepare";
        retry_once(op, || {
            let (c, r) = (self.0.clients.clone(), req.clone());
            async move { c.snapshots().prepare(r).await }
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| status_error(op, s))
    }

    /// A new read-only view of a committed snapshot; answers with its mounts. Made once,
    /// and once more only for a directory left by a crash, as [`Snapshots::prepare`].
    pub(crate) async fn view(
        &self,
        req: ViewSnapshotRequest,
    ) -> Result<ViewSnapshotResponse, RuntimeError> {
        let op = "Snapshots.View";
        retry_once(op, || {
            let (c, r) = (self.0.clients.clone(), req.clone());
            async move { c.snapshots().view(r).await }
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| status_error(op, s))
    }
}
