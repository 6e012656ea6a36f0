//! Writing blobs into containerd's content store (streaming `Content.Write`, verified by
//! containerd against the expected digest and size) and labelling them for the GC.

use std::collections::HashMap;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use warren_proto::containerd::services::content::v1::{
    Info, InfoRequest, UpdateRequest, WriteAction, WriteContentRequest,
};
use warren_proto::Clients;

use crate::RuntimeError;

/// containerd's Go client writes in 1 MiB chunks; so do we.
const CHUNK: usize = 1024 * 1024;

/// True if `digest` is already in the content store of this namespace.
pub async fn exists(clients: &Clients, digest: &str) -> Result<bool, RuntimeError> {
    match clients
        .content()
        .info(InfoRequest {
            digest: digest.to_string(),
        })
        .await
    {
        Ok(_) => Ok(true),
        Err(s) if s.code() == tonic::Code::NotFound => Ok(false),
        Err(s) => Err(RuntimeError::daemon("Content.Info", s)),
    }
}

/// Write a blob from `data` (an in-order stream of chunks). `labels` go on the committed
/// blob. Returns false if the blob was already there (nothing was read from `data`).
pub async fn write<S, E>(
    clients: &Clients,
    reference: &str,
    digest: &str,
    size: i64,
    labels: HashMap<String, String>,
    data: S,
) -> Result<bool, RuntimeError>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let (tx, rx) = mpsc::channel::<WriteContentRequest>(4);
    // The server only answers (and tonic only returns the call) once the first message is
    // in: queue STAT before awaiting the call.
    let _ = tx
        .send(WriteContentRequest {
            action: WriteAction::Stat as i32,
            r#ref: reference.to_string(),
            total: size,
            expected: digest.to_string(),
            ..Default::default()
        })
        .await;
    let mut replies = match clients.content().write(ReceiverStream::new(rx)).await {
        Ok(r) => r.into_inner(),
        Err(s) if s.code() == tonic::Code::AlreadyExists => return Ok(false),
        Err(s) => return Err(RuntimeError::daemon("Content.Write", s)),
    };
    let stat = match replies.message().await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Err(RuntimeError::daemon(
                "Content.Write",
                tonic::Status::unknown("stream closed"),
            ))
        }
        Err(s) if s.code() == tonic::Code::AlreadyExists => return Ok(false),
        Err(s) => return Err(RuntimeError::daemon("Content.Write", s)),
    };
    // An interrupted ingest under the same ref resumes; we restart it from zero unless the
    // caller's stream starts there (simple and always correct: offset 0 truncates).
    let _ = stat;
    let mut offset: i64 = 0;
    let mut data = data;
    let mut pending: Vec<u8> = Vec::with_capacity(CHUNK);
    loop {
        let next = data.next().await;
        let done = next.is_none();
        if let Some(chunk) = next {
            let chunk = chunk.map_err(|e| RuntimeError::Registry {
                op: "downloading",
                reference: digest.to_string(),
                message: e.to_string(),
            })?;
            pending.extend_from_slice(&chunk);
        }
        while pending.len() >= CHUNK || (done && !pending.is_empty()) {
            let n = pending.len().min(CHUNK);
            let piece: Vec<u8> = pending.drain(..n).collect();
            let len = piece.len() as i64;
            tx.send(WriteContentRequest {
                action: WriteAction::Write as i32,
                r#ref: reference.to_string(),
                offset,
                data: piece,
                ..Default::default()
            })
            .await
            .map_err(|_| {
                RuntimeError::daemon("Content.Write", tonic::Status::unknown("stream closed"))
            })?;
            match replies.message().await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(RuntimeError::daemon(
                        "Content.Write",
                        tonic::Status::unknown("stream closed"),
                    ))
                }
                Err(s) => return Err(RuntimeError::daemon("Content.Write", s)),
            }
            offset += len;
        }
        if done {
            break;
        }
    }
    tx.send(WriteContentRequest {
        action: WriteAction::Commit as i32,
        r#ref: reference.to_string(),
        total: size,
        offset,
        expected: digest.to_string(),
        labels,
        ..Default::default()
    })
    .await
    .map_err(|_| RuntimeError::daemon("Content.Write", tonic::Status::unknown("stream closed")))?;
    match replies.message().await {
        Ok(Some(_)) => Ok(true),
        Ok(None) => Err(RuntimeError::daemon(
            "Content.Write",
            tonic::Status::unknown("no commit reply"),
        )),
        Err(s) if s.code() == tonic::Code::AlreadyExists => Ok(false),
        Err(s) => Err(RuntimeError::daemon("Content.Write commit", s)),
    }
}

/// Set `labels` on a blob, naming each key in the update mask (an empty mask would replace
/// every label).
pub async fn label(
    clients: &Clients,
    digest: &str,
    labels: HashMap<String, String>,
) -> Result<(), RuntimeError> {
    if labels.is_empty() {
        return Ok(());
    }
    let paths = labels.keys().map(|k| format!("labels.{k}")).collect();
    clients
        .content()
        .update(UpdateRequest {
            info: Some(Info {
                digest: digest.to_string(),
                labels,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths }),
        })
        .await
        .map_err(|s| RuntimeError::daemon("Content.Update", s))?;
    Ok(())
}
