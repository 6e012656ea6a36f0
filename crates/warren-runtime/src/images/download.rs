//! Downloading one layer from the registry straight into the content store, resuming where
//! an interrupted download (ours or an earlier, crashed one) left off.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use oci_client::Reference;
use sha2::{Digest, Sha256};
use warren_proto::containerd::types::Descriptor;

use super::apply::local::StreamApply;
use super::disk::FreeSpace;
use super::http::{error_chain, Failure, ReadError};
use super::limits::{FREE_SPACE_CHECK_EVERY, MAX_CONFIG_BYTES};
use super::progress::{ProgressSink, PullProgress, REPORT_EVERY};
use super::schedule::Received;
use super::session::Session;
use crate::containerd::content::{self, BlobWriter};
use crate::containerd::Containerd;
use crate::RuntimeError;

/// How often one layer's download is resumed after a broken connection before giving up.
const RESUMES: usize = 3;

/// A blob's declared size, refused before any byte is requested when it is not positive:
/// without a size, nothing would stop a registry that keeps sending.
pub(crate) fn declared_size(
    r: &Reference,
    what: &str,
    d: &Descriptor,
) -> Result<u64, RuntimeError> {
    if d.size <= 0 {
        return Err(RuntimeError::BadImage {
            reference: r.whole(),
            reason: format!(
                "its {what} {} declares a size of {} bytes; a blob must declare its size \
                 (refused before requesting it)",
                d.digest, d.size
            ),
        });
    }
    Ok(d.size as u64)
}

/// An ingest being written: aborted (in the background) if dropped before it is committed
/// or aborted, so a cancelled pull leaves no ingest behind.
struct Ingest {
    writer: Option<BlobWriter>,
    clients: Containerd,
    reference: String,
}

impl Drop for Ingest {
    fn drop(&mut self) {
        if self.writer.take().is_none() {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let (clients, reference) = (self.clients.clone(), self.reference.clone());
            handle.spawn(async move { content::abort(&clients, &reference).await });
        }
    }
}

/// Download one layer into the content store, unless it is there already, counting the
/// bytes as they arrive in `received` (the download scheduler's rate meter) and checking
/// `free` space as they are written. With `tee`, the bytes also go to that applier as they
/// arrive (it sees nothing of a layer that was in the store already).
#[allow(clippy::too_many_arguments)]
pub(super) async fn fetch_layer(
    clients: &Containerd,
    session: &Session,
    r: &Reference,
    layer: &Descriptor,
    progress: &ProgressSink,
    received: &Received,
    tee: Option<&mut StreamApply>,
    free: &FreeSpace,
) -> Result<(), RuntimeError> {
    let total = declared_size(r, "layer", layer)?;
    let cached = || PullProgress::Downloaded {
        digest: layer.digest.clone(),
        cached: true,
    };
    if content::exists(clients, &layer.digest).await? {
        progress.send(cached());
        return Ok(());
    }
    let reference = format!("layer-{}", layer.digest);
    let Some(writer) = BlobWriter::open(clients, &reference, &layer.digest, layer.size).await?
    else {
        progress.send(cached());
        return Ok(());
    };
    let mut ingest = Ingest {
        writer: Some(writer),
        clients: clients.clone(),
        reference,
    };
    let Some(writer) = ingest.writer.as_mut() else {
        return Ok(());
    };
    let job = Job {
        session,
        r,
        layer,
        total,
        progress,
        received,
        free,
    };
    let downloaded = job.download(writer, tee).await;
    let Some(writer) = ingest.writer.take() else {
        return Ok(());
    };
    let result = match downloaded {
        Ok(()) => writer
            .commit(&layer.digest, HashMap::new())
            .await
            .map_err(|e| match e {
                // containerd's own check (size or digest) refused the bytes we sent.
                RuntimeError::Daemon {
                    kind: crate::ErrorKind::WrongState,
                    ..
                } => RuntimeError::DigestMismatch {
                    reference: r.whole(),
                    digest: layer.digest.clone(),
                    message: e.daemon_message(),
                    source: Some(Box::new(e)),
                },
                e => e,
            }),
        Err(e) => {
            writer.abort().await;
            Err(e)
        }
    };
    result?;
    progress.send(PullProgress::Downloaded {
        digest: layer.digest.clone(),
        cached: false,
    });
    Ok(())
}

/// What one layer download works with.
struct Job<'a> {
    session: &'a Session,
    r: &'a Reference,
    layer: &'a Descriptor,
    total: u64,
    progress: &'a ProgressSink,
    received: &'a Received,
    free: &'a FreeSpace,
}

impl Job<'_> {
    /// Stream the blob from `writer.offset()` on, reconnecting (with a range request) after
    /// a broken download. A registry that goes silent fails at the idle timeout (a stall
    /// is not resumed: the next connection would most likely stall too).
    async fn download(
        &self,
        writer: &mut BlobWriter,
        mut tee: Option<&mut StreamApply>,
    ) -> Result<(), RuntimeError> {
        let (r, layer, total, s) = (self.r, self.layer, self.total, self.session);
        let op = "fetching layer";
        let mut resumes = 0;
        let mut unchecked = 0u64;
        self.free
            .check(&format!("downloading layer {}", layer.digest))?;
        'connect: loop {
            let offset = writer.offset();
            if offset >= total {
                return Ok(());
            }
            // Always a range request (`bytes=<offset>-`, from 0 on a fresh download): a
            // registry answers 206, or 200 with the whole blob when it ignores ranges.
            // containerd verifies every blob at commit; hashing it here too costs CPU a
            // 2-core node needs for decompression.
            if offset > 0 {
                tracing::debug!(digest = %layer.digest, offset, "resuming layer download");
            }
            let tail = format!("blobs/{}", layer.digest);
            let mut response = s.get(op, &tail, None, Some(offset)).await?;
            match response.status.as_u16() {
                206 => {}
                200 => writer.restart(),
                other => {
                    return Err(RuntimeError::Registry {
                        op,
                        reference: r.whole(),
                        message: format!("{} answered {other} to a range request", response.url),
                        source: None,
                    })
                }
            }
            let mut reported = writer.offset();
            loop {
                let bytes = match response.next(&s.clock).await {
                    Ok(Some(bytes)) => bytes,
                    Ok(None) => return Ok(()),
                    Err(Failure::Broken(e)) => {
                        resumes += 1;
                        if resumes > RESUMES {
                            return Err(RuntimeError::Registry {
                                op: "downloading layer",
                                reference: r.whole(),
                                message: format!(
                                    "{}: {} (after {RESUMES} resumes)",
                                    layer.digest,
                                    error_chain(&e)
                                ),
                                source: Some(Box::new(e)),
                            });
                        }
                        tracing::warn!(digest = %layer.digest, error = %error_chain(&e), "layer download broke; resuming");
                        continue 'connect;
                    }
                    Err(f) => return Err(f.into_error(op, &s.registry)),
                };
                self.received
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                // Never past the declared size: a registry that keeps sending fills
                // nothing (the ingest is aborted by the caller).
                if writer.offset() + bytes.len() as u64 > total {
                    return Err(RuntimeError::DigestMismatch {
                        reference: r.whole(),
                        digest: layer.digest.clone(),
                        message: format!("the registry sent more than the {total} bytes declared"),
                        source: None,
                    });
                }
                unchecked += bytes.len() as u64;
                if unchecked >= FREE_SPACE_CHECK_EVERY {
                    unchecked = 0;
                    self.free
                        .check(&format!("downloading layer {}", layer.digest))?;
                }
                let at = writer.offset();
                writer.write(&bytes).await?;
                if let Some(apply) = tee.as_deref_mut() {
                    if !apply.feed(at, &bytes).await {
                        // It stopped (its error is the pull's) or missed bytes (the
                        // layer is then applied from the store): the download goes on.
                        tee = None;
                    }
                }
                let done = writer.offset();
                if done - reported >= REPORT_EVERY || done == total {
                    reported = done;
                    self.progress.send(PullProgress::Downloading {
                        digest: layer.digest.clone(),
                        done,
                        total,
                    });
                }
            }
        }
    }
}

/// Download an image config, whose size its descriptor declares: refused unread if that is
/// not positive or over [`MAX_CONFIG_BYTES`], read no further than that size, and checked
/// against its digest.
pub(super) async fn fetch_config(
    session: &Session,
    r: &Reference,
    config: &Descriptor,
) -> Result<Vec<u8>, RuntimeError> {
    let declared = declared_size(r, "config", config)?;
    if declared > MAX_CONFIG_BYTES {
        return Err(RuntimeError::TooLarge {
            what: "config",
            subject: r.whole(),
            limit: MAX_CONFIG_BYTES,
            detail: format!(" (its descriptor declares {declared} bytes)"),
        });
    }
    let op = "fetching config";
    let tail = format!("blobs/{}", config.digest);
    let response = session.get(op, &tail, None, None).await?;
    let bytes = response
        .read_capped(&session.clock, declared)
        .await
        .map_err(|e| match e {
            ReadError::Over => RuntimeError::DigestMismatch {
                reference: r.whole(),
                digest: config.digest.clone(),
                message: format!("the registry sent more than the {declared} bytes declared"),
                source: None,
            },
            ReadError::Failed(f) => f.into_error(op, &session.registry),
        })?;
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    if digest != config.digest || bytes.len() as u64 != declared {
        return Err(RuntimeError::DigestMismatch {
            reference: r.whole(),
            digest: config.digest.clone(),
            message: format!("{} bytes that hash to {digest}", bytes.len()),
            source: None,
        });
    }
    Ok(bytes)
}
