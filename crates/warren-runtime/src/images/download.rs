//! Downloading one layer from the registry straight into the content store, resuming where
//! an interrupted download (ours or an earlier, crashed one) left off.

use std::collections::HashMap;

use crate::containerd::Containerd;
use futures::StreamExt;
use oci_client::client::BlobResponse;
use oci_client::errors::DigestError;
use oci_client::secrets::RegistryAuth;
use oci_client::Reference;
use sha2::{Digest, Sha256};
use warren_proto::containerd::types::Descriptor;

use super::apply::local::StreamApply;
use super::limits::MAX_CONFIG_BYTES;
use super::progress::{ProgressSink, PullProgress, REPORT_EVERY};
use super::registry::{classify, digest_failure};
use super::schedule::Received;
use crate::containerd::content::{self, BlobWriter};
use crate::RuntimeError;
use std::sync::atomic::Ordering;

/// How often one layer's download is resumed after a broken connection before giving up.
const RESUMES: usize = 3;

/// Download one layer into the content store, unless it is there already, counting the
/// bytes as they arrive in `received` (the download scheduler's rate meter). With `tee`,
/// the bytes also go to that applier as they arrive (it sees nothing of a layer that was in
/// the store already).
pub async fn fetch_layer(
    clients: &Containerd,
    registry: &oci_client::Client,
    r: &Reference,
    layer: &Descriptor,
    progress: &ProgressSink,
    received: &Received,
    tee: Option<&mut StreamApply>,
) -> Result<(), RuntimeError> {
    let cached = || PullProgress::Downloaded {
        digest: layer.digest.clone(),
        cached: true,
    };
    if content::exists(clients, &layer.digest).await? {
        progress.send(cached());
        return Ok(());
    }
    let reference = format!("layer-{}", layer.digest);
    let Some(mut writer) = BlobWriter::open(clients, &reference, &layer.digest, layer.size).await?
    else {
        progress.send(cached());
        return Ok(());
    };
    let result = match download(&mut writer, registry, r, layer, progress, received, tee).await {
        Ok(()) => writer
            .commit(&layer.digest, HashMap::new())
            .await
            .map_err(|e| match e {
                // containerd's own check (size or digest) refused the bytes we sent.
                RuntimeError::Daemon {
                    kind: crate::ErrorKind::WrongState,
                    message,
                    ..
                } => RuntimeError::DigestMismatch {
                    reference: r.whole(),
                    digest: layer.digest.clone(),
                    message,
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

/// Stream the blob from `writer.offset()` on, reconnecting (with a range request) after a
/// broken download.
async fn download(
    writer: &mut BlobWriter,
    registry: &oci_client::Client,
    r: &Reference,
    layer: &Descriptor,
    progress: &ProgressSink,
    received: &Received,
    mut tee: Option<&mut StreamApply>,
) -> Result<(), RuntimeError> {
    let total = layer.size.max(0) as u64;
    let mut resumes = 0;
    'connect: loop {
        let offset = writer.offset();
        if offset >= total && total > 0 {
            return Ok(());
        }
        // Always a range request (`bytes=<offset>-`, from 0 on a fresh download): a
        // registry answers 206, and oci-client then leaves the digest check to containerd,
        // which verifies every blob at commit anyway; hashing it here too costs CPU a 2-core
        // node needs for decompression. A registry that ignores ranges answers 200 with the
        // whole blob, which oci-client verifies.
        if offset > 0 {
            tracing::debug!(digest = %layer.digest, offset, "resuming layer download");
        }
        let mut stream = match registry
            .pull_blob_stream_partial(r, layer.digest.as_str(), offset, None)
            .await
            .map_err(|e| classify("fetching layer", r, e))?
        {
            BlobResponse::Partial(s) => s.stream,
            BlobResponse::Full(s) => {
                writer.restart();
                s.stream
            }
        };
        let mut reported = writer.offset();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => {
                    received.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    // Never past the declared size: a registry that keeps sending fills
                    // nothing (the ingest is aborted by the caller).
                    if total > 0 && writer.offset() + bytes.len() as u64 > total {
                        return Err(RuntimeError::DigestMismatch {
                            reference: r.whole(),
                            digest: layer.digest.clone(),
                            message: format!(
                                "the registry sent more than the {total} bytes declared"
                            ),
                        });
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
                        progress.send(PullProgress::Downloading {
                            digest: layer.digest.clone(),
                            done,
                            total,
                        });
                    }
                }
                Err(e) => {
                    if let Some(d) = digest_failure(&e) {
                        return Err(mismatch(r, layer, d));
                    }
                    resumes += 1;
                    if resumes > RESUMES {
                        return Err(RuntimeError::Registry {
                            op: "downloading layer",
                            reference: r.whole(),
                            message: format!("{}: {e} (after {RESUMES} resumes)", layer.digest),
                        });
                    }
                    tracing::warn!(digest = %layer.digest, error = %e, "layer download broke; resuming");
                    continue 'connect;
                }
            }
        }
        return Ok(());
    }
}

/// Download an image config, whose size its descriptor declares: refused unaread if that is
/// over [`MAX_CONFIG_BYTES`], read no further than that size, and checked against its digest.
pub async fn fetch_config(
    registry: &oci_client::Client,
    auth: &RegistryAuth,
    r: &Reference,
    config: &Descriptor,
) -> Result<Vec<u8>, RuntimeError> {
    let declared = config.size.max(0) as u64;
    let too_large = |detail: String| RuntimeError::TooLarge {
        what: "config",
        subject: r.whole(),
        limit: MAX_CONFIG_BYTES,
        detail,
    };
    if declared > MAX_CONFIG_BYTES {
        return Err(too_large(format!(
            " (its descriptor declares {declared} bytes)"
        )));
    }
    registry
        .store_auth_if_needed(r.resolve_registry(), auth)
        .await;
    let mut stream = registry
        .pull_blob_stream(r, config.digest.as_str())
        .await
        .map_err(|e| classify("fetching config", r, e))?
        .stream;
    let mut bytes = Vec::with_capacity(declared as usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| match digest_failure(&e) {
            Some(d) => mismatch(r, config, d),
            None => RuntimeError::Registry {
                op: "fetching config",
                reference: r.whole(),
                message: e.to_string(),
            },
        })?;
        if (bytes.len() + chunk.len()) as u64 > declared {
            return Err(RuntimeError::DigestMismatch {
                reference: r.whole(),
                digest: config.digest.clone(),
                message: format!("the registry sent more than the {declared} bytes declared"),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    if digest != config.digest || bytes.len() as u64 != declared {
        return Err(RuntimeError::DigestMismatch {
            reference: r.whole(),
            digest: config.digest.clone(),
            message: format!("{} bytes that hash to {digest}", bytes.len()),
        });
    }
    Ok(bytes)
}

fn mismatch(r: &Reference, layer: &Descriptor, d: &DigestError) -> RuntimeError {
    RuntimeError::DigestMismatch {
        reference: r.whole(),
        digest: layer.digest.clone(),
        message: d.to_string(),
    }
}
