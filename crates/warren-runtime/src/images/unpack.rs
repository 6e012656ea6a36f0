//! Unpacking layers into snapshots, in order, keyed by chain ID, labelled as containerd's
//! own unpacker does (so `ctr` and nerdctl see the image as unpacked).

use std::collections::HashMap;

use crate::containerd::Containerd;
use sha2::{Digest, Sha256};
use warren_proto::containerd::services::diff::v1::ApplyRequest;
use warren_proto::containerd::services::snapshots::v1::{
    CommitSnapshotRequest, PrepareSnapshotRequest, RemoveSnapshotRequest, StatSnapshotRequest,
};
use warren_proto::containerd::types::{Descriptor, Mount};

use super::unpacked::UnpackBudget;
use crate::containerd::content;
use crate::{ErrorKind, RuntimeError};

/// After the last layer: label each layer blob with its uncompressed digest, and the config
/// with the top snapshot (`containerd.io/gc.ref.snapshot.<snapshotter>`), which keeps the
/// snapshot chain alive once the lease is gone (parents are implicit references).
pub(super) async fn label_unpacked(
    clients: &Containerd,
    snapshotter: &str,
    layers: &[Descriptor],
    diff_ids: &[String],
    config_digest: &str,
) -> Result<String, RuntimeError> {
    for (layer, diff) in layers.iter().zip(diff_ids) {
        let l = [("containerd.io/uncompressed".to_string(), diff.clone())].into();
        content::label(clients, &layer.digest, l).await?;
    }
    let top = chain_ids(diff_ids).last().cloned().unwrap_or_default();
    let snap = [(
        format!("containerd.io/gc.ref.snapshot.{snapshotter}"),
        top.clone(),
    )]
    .into();
    content::label(clients, config_digest, snap).await?;
    Ok(top)
}

/// Chain IDs of a layer stack: `c0 = d0`, `ci = sha256(c(i-1) + " " + di)`.
pub(crate) fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => format!(
                "sha256:{}",
                hex::encode(Sha256::digest(format!("{prev} {d}")))
            ),
        };
        out.push(next);
    }
    out
}

/// Who unpacks (applies) image layers into snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayerUnpack {
    /// Warren itself where it can: overlayfs snapshots (containerd's default snapshotter on
    /// every line) and plain, gzip or zstd tar layers. The layer is read from the content
    /// store, decompressed and applied here with containerd's semantics (overlay whiteouts,
    /// opaque directories, hard links, devices, owners, modes, times, xattrs), never
    /// following a link out of the snapshot, and its diff ID is checked before the commit.
    /// Anything else goes to containerd's Diff.Apply.
    #[default]
    Auto,
    /// Always containerd's Diff.Apply.
    Daemon,
}

/// Apply layer `i` of an image (`diff_ids` are the uncompressed digests of all its layers,
/// `chains` their chain IDs) on top of layer `i - 1`, from the content store, within
/// `budget` (the free-space floor is checked first). A layer already unpacked is skipped.
#[allow(clippy::too_many_arguments)]
pub(super) async fn unpack_layer(
    clients: &Containerd,
    snapshotter: &str,
    how: LayerUnpack,
    reference: &str,
    i: usize,
    layer: &Descriptor,
    diff_ids: &[String],
    chains: &[String],
    budget: &UnpackBudget,
) -> Result<(), RuntimeError> {
    let Some(extract) = Extract::prepare(clients, snapshotter, i, chains).await? else {
        return Ok(());
    };
    let what = format!("unpacking layer {} of {reference}", layer.digest);
    if let Err(e) = budget.free().check(&what) {
        extract.discard().await;
        return Err(e);
    }
    // Our own applier where it applies (overlay snapshots, known media types), else
    // containerd's Diff.Apply.
    let local = (how == LayerUnpack::Auto)
        .then(|| super::apply::local::target(snapshotter, &extract.mounts))
        .flatten()
        .zip(super::codec::Codec::of(&layer.media_type));
    let applied = match local {
        Some(((upper, lowers), codec)) => {
            super::apply::local::apply_stored(
                clients, reference, layer, codec, upper, lowers, budget,
            )
            .await
            // A cap or the free-space floor stopped the decompressor: that error, typed.
            .map_err(|e| budget.take_hit().unwrap_or(e))
        }
        None => clients
            .diff()
            .apply(ApplyRequest {
                diff: Some(layer.clone()),
                mounts: extract.mounts.clone(),
                ..Default::default()
            })
            .await
            .map(|r| r.applied.map(|d| d.digest).unwrap_or_default()),
    };
    extract
        .finish(applied, reference, layer, &diff_ids[i])
        .await
}

/// The snapshot a layer is applied into: prepared on the layer below (by chain ID), then
/// committed under the layer's own chain ID once its diff ID is checked, or removed.
pub(crate) struct Extract<'a> {
    clients: &'a Containerd,
    snapshotter: &'a str,
    key: String,
    chain: String,
    labels: HashMap<String, String>,
    /// Where to write the layer (overlay or bind mount).
    pub mounts: Vec<Mount>,
    /// Set once committed or removed; otherwise (a cancelled pull dropped it) the
    /// snapshot is removed in the background.
    settled: bool,
}

impl Drop for Extract<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let clients = self.clients.clone();
            let request = RemoveSnapshotRequest {
                snapshotter: self.snapshotter.into(),
                key: std::mem::take(&mut self.key),
            };
            handle.spawn(async move {
                let _ = clients.snapshots().remove(request).await;
            });
        }
    }
}

impl<'a> Extract<'a> {
    /// Prepare layer `i`'s snapshot on layer `i - 1`'s (which must be committed); `None` if
    /// layer `i` is unpacked already.
    pub(super) async fn prepare(
        clients: &'a Containerd,
        snapshotter: &'a str,
        i: usize,
        chains: &[String],
    ) -> Result<Option<Extract<'a>>, RuntimeError> {
        let chain = chains[i].clone();
        if is_committed(clients, snapshotter, &chain).await {
            return Ok(None);
        }
        let parent = if i == 0 {
            String::new()
        } else {
            chains[i - 1].clone()
        };
        let key = format!("extract-{:016x} {chain}", rand::random::<u64>());
        let labels: HashMap<String, String> =
            [("containerd.io/snapshot.ref".to_string(), chain.clone())].into();
        let mounts = clients
            .snapshots()
            .prepare(PrepareSnapshotRequest {
                snapshotter: snapshotter.into(),
                key: key.clone(),
                parent,
                labels: labels.clone(),
            })
            .await?
            .mounts;
        Ok(Some(Extract {
            clients,
            snapshotter,
            key,
            chain,
            labels,
            mounts,
            settled: false,
        }))
    }

    /// Commit the snapshot if the layer was applied and unpacked to `want` (its diff ID in
    /// the image config); otherwise remove it and return why.
    pub(super) async fn finish(
        self,
        applied: Result<String, RuntimeError>,
        reference: &str,
        layer: &Descriptor,
        want: &str,
    ) -> Result<(), RuntimeError> {
        let result = applied.and_then(|got| {
            if got == want {
                Ok(())
            } else {
                Err(RuntimeError::BadImage {
                    reference: reference.to_string(),
                    reason: format!(
                        "layer {} unpacks to {got}, the config says {want}",
                        layer.digest
                    ),
                })
            }
        });
        let committed = match result {
            Ok(()) => self
                .clients
                .snapshots()
                .commit(CommitSnapshotRequest {
                    snapshotter: self.snapshotter.into(),
                    name: self.chain.clone(),
                    key: self.key.clone(),
                    labels: self.labels.clone(),
                    ..Default::default()
                })
                .await
                .map(|_| ())
                .or_else(|e| {
                    // Someone else unpacked the same layer meanwhile: theirs is as good.
                    if e.kind() == ErrorKind::AlreadyExists {
                        Ok(())
                    } else {
                        Err(e)
                    }
                }),
            Err(e) => Err(e),
        };
        // The extract key is gone once committed; after a failure, or when someone else
        // committed first, it must be removed (NOT_FOUND otherwise, which is fine).
        self.discard().await;
        committed
    }

    /// Remove the snapshot (a missing one is fine).
    pub(super) async fn discard(mut self) {
        let _ = self
            .clients
            .snapshots()
            .remove(RemoveSnapshotRequest {
                snapshotter: self.snapshotter.into(),
                key: self.key.clone(),
            })
            .await;
        self.settled = true;
    }
}

/// Whether the committed snapshot `chain` exists.
pub(crate) async fn is_committed(clients: &Containerd, snapshotter: &str, chain: &str) -> bool {
    clients
        .snapshots()
        .stat(StatSnapshotRequest {
            snapshotter: snapshotter.into(),
            key: chain.to_string(),
        })
        .await
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_id_rule() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        let c = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(c[0], a);
        let want = format!("sha256:{}", hex::encode(Sha256::digest(format!("{a} {b}"))));
        assert_eq!(c[1], want);
    }
}
