//! Unpacking a stored layer blob with the applier instead of containerd's Diff.Apply: the
//! blob is read from the content store, decompressed here, hashed on the way (its diff ID),
//! and applied straight into the prepared snapshot's upper directory.

use std::io::Read;
use std::path::PathBuf;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use warren_proto::containerd::services::content::v1::ReadContentRequest;
use warren_proto::containerd::types::{Descriptor, Mount};

use crate::containerd::Containerd;
use crate::images::codec::Codec;
use crate::images::unpacked::UnpackBudget;
use crate::RuntimeError;

pub(crate) use super::bad_layer::BadLayer;

/// The upper directory and lower directories (topmost first) of a snapshot's mounts: an
/// overlay mount, or the bind mount of a snapshot without a parent. `None` for anything
/// else (another snapshotter).
pub(crate) fn target(snapshotter: &str, mounts: &[Mount]) -> Option<(PathBuf, Vec<PathBuf>)> {
    // Whiteouts and opaque directories are written as overlayfs reads them: on any other
    // snapshotter (native, btrfs, ...: bind mounts too) they would be wrong.
    if snapshotter != OVERLAYFS {
        return None;
    }
    let [m] = mounts else { return None };
    match m.r#type.as_str() {
        "bind" => Some((PathBuf::from(&m.source), Vec::new())),
        "overlay" => {
            let mut upper = None;
            let mut lowers = Vec::new();
            for o in &m.options {
                if let Some(u) = o.strip_prefix("upperdir=") {
                    upper = Some(PathBuf::from(u));
                } else if let Some(l) = o.strip_prefix("lowerdir=") {
                    lowers = l.split(':').map(PathBuf::from).collect();
                }
            }
            upper.map(|u| (u, lowers))
        }
        _ => None,
    }
}

/// The one snapshotter Warren's applier writes for.
pub(crate) const OVERLAYFS: &str = "overlayfs";

/// A blocking reader over chunks sent from the async side.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// A layer being applied on a blocking thread while its compressed bytes are fed in, in
/// order, from wherever they come from (the content store, or the registry as they arrive).
pub(crate) struct StreamApply {
    tx: Option<tokio::sync::mpsc::Sender<std::io::Result<Bytes>>>,
    worker: tokio::task::JoinHandle<Result<String, BadLayer>>,
    /// Bytes fed so far: the offset in the blob the next byte must have.
    fed: u64,
    /// Bytes were skipped (a download resumed past what was fed): the stream is unusable.
    gap: bool,
}

/// Why a [`StreamApply`] did not give a diff ID.
#[derive(Debug)]
pub(crate) enum StreamFailed {
    /// It did not get the whole blob in order (a download that resumed from an earlier
    /// ingest, or was cut): nothing is wrong with the layer, but this attempt is void.
    Incomplete,
    /// The layer itself is bad: not decompressible, not a tar, or refused by the applier.
    Bad(BadLayer),
}

impl StreamApply {
    /// Start applying a layer compressed as `codec` to `upper` over `lowers`; what the
    /// decompressor gives is counted against `budget` (with the layer's digest) when given.
    pub(crate) fn start(
        codec: Codec,
        upper: PathBuf,
        lowers: Vec<PathBuf>,
        budget: Option<(UnpackBudget, String)>,
    ) -> StreamApply {
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
        let worker = tokio::task::spawn_blocking(move || {
            let chunks = ChunkReader {
                rx,
                current: Bytes::new(),
            };
            let decoded = crate::images::codec::decoder(
                codec,
                chunks,
                budget.as_ref().map(|(b, d)| (b, d.as_str())),
            )
            .map_err(BadLayer::other)?;
            let mut hashed = Hashing {
                inner: decoded,
                hash: Sha256::new(),
            };
            super::apply_layer(&upper, &lowers, &mut hashed)?;
            // The diff ID covers the whole stream, the end-of-archive blocks included.
            std::io::copy(&mut hashed, &mut std::io::sink()).map_err(BadLayer::other)?;
            Ok(format!("sha256:{}", hex::encode(hashed.hash.finalize())))
        });
        StreamApply {
            tx: Some(tx),
            worker,
            fed: 0,
            gap: false,
        }
    }

    /// Feed `bytes`, which start at `offset` in the blob: only what was not fed before is
    /// passed on. False once the applier has stopped (its error comes from
    /// [`StreamApply::finish`]) or bytes were skipped.
    pub(crate) async fn feed(&mut self, offset: u64, bytes: &Bytes) -> bool {
        let end = offset + bytes.len() as u64;
        if offset > self.fed {
            self.gap = true;
            self.tx = None;
        }
        let Some(tx) = &self.tx else { return false };
        if end <= self.fed {
            return true;
        }
        let new = bytes.slice((self.fed - offset) as usize..);
        self.fed = end;
        if tx.send(Ok(new)).await.is_err() {
            self.tx = None;
            return false;
        }
        true
    }

    /// Stop feeding with an error: the applier gives up.
    pub(crate) async fn fail(&mut self, reason: String) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Err(std::io::Error::other(reason))).await;
        }
    }

    /// The end of the blob (`size` bytes, when known): the diff ID of what was applied.
    pub(crate) async fn finish(mut self, size: Option<u64>) -> Result<String, StreamFailed> {
        if size.is_some_and(|s| s != self.fed) {
            self.gap = true;
        }
        if self.gap {
            self.fail("the blob was not fed whole".into()).await;
        }
        drop(self.tx.take());
        let result = self.worker.await;
        if self.gap {
            return Err(StreamFailed::Incomplete);
        }
        match result {
            Ok(Ok(diff_id)) => Ok(diff_id),
            Ok(Err(e)) => Err(StreamFailed::Bad(e)),
            Err(e) => Err(StreamFailed::Bad(BadLayer::other(format!(
                "the applier failed: {e}"
            )))),
        }
    }
}

/// Apply stored blob `layer` (compressed as `codec`) to `upper` over `lowers`; returns the
/// diff ID (the digest of the uncompressed stream, read to its end).
pub(crate) async fn apply_stored(
    clients: &Containerd,
    reference: &str,
    layer: &Descriptor,
    codec: Codec,
    upper: PathBuf,
    lowers: Vec<PathBuf>,
    budget: &UnpackBudget,
) -> Result<String, RuntimeError> {
    let digest = layer.digest.clone();
    let mut apply = StreamApply::start(
        codec,
        upper,
        lowers,
        Some((budget.clone(), layer.digest.clone())),
    );
    let mut stream = clients
        .content()
        .read(ReadContentRequest {
            digest: digest.clone(),
            offset: 0,
            size: 0,
        })
        .await?;
    let mut read_error = None;
    let mut offset = 0u64;
    while let Some(item) = stream.next().await {
        match item {
            Ok(r) => {
                let bytes = Bytes::from(r.data);
                if !apply.feed(offset, &bytes).await {
                    break; // the applier stopped: its error says why
                }
                offset += bytes.len() as u64;
            }
            Err(e) => {
                apply.fail(e.to_string()).await;
                read_error = Some(e);
                break;
            }
        }
    }
    let applied = apply.finish(None).await;
    if let Some(e) = read_error {
        return Err(e);
    }
    applied.map_err(|e| match e {
        StreamFailed::Bad(bad) => bad.into_error(reference.to_string(), &digest),
        StreamFailed::Incomplete => RuntimeError::BadImage {
            reference: reference.to_string(),
            reason: format!("layer {digest}: read from the store in part"),
        },
    })
}

#[cfg(test)]
mod target_tests {
    use super::*;

    #[test]
    fn only_overlayfs_snapshots_are_applied_here() {
        let bind = Mount {
            r#type: "bind".into(),
            source: "/s/1/fs".into(),
            options: vec!["rbind".into(), "rw".into()],
            ..Default::default()
        };
        assert_eq!(
            target(OVERLAYFS, std::slice::from_ref(&bind)),
            Some((PathBuf::from("/s/1/fs"), Vec::new()))
        );
        // The native snapshotter also answers with a bind mount: overlay whiteouts there
        // would be wrong, so containerd's Diff.Apply does that work.
        assert_eq!(target("native", &[bind]), None);
        let overlay = Mount {
            r#type: "overlay".into(),
            source: "overlay".into(),
            options: vec!["upperdir=/s/3/fs".into(), "lowerdir=/s/2/fs:/s/1/fs".into()],
            ..Default::default()
        };
        assert_eq!(
            target(OVERLAYFS, &[overlay]),
            Some((
                PathBuf::from("/s/3/fs"),
                vec![PathBuf::from("/s/2/fs"), PathBuf::from("/s/1/fs")]
            ))
        );
    }
}
