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
    // An interrupted ingest under the same ref would resume at `stat.offset`; we restart it
    // from zero instead (offset 0 truncates), which is always correct.
    let _ = stat;
    // Replies are drained by a task of their own, so chunks stream without a round trip each.
    let reader = tokio::spawn(async move {
        let mut last = None;
        loop {
            match replies.message().await {
                Ok(Some(m)) => last = Some(m),
                Ok(None) => return Ok(last),
                Err(s) => return Err(s),
            }
        }
    });
    let closed = || RuntimeError::daemon("Content.Write", tonic::Status::unknown("stream closed"));
    let mut offset: i64 = 0;
    let mut data = data;
    let mut pending: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut send_failed = false;
    loop {
        let next = data.next().await;
        let done = next.is_none();
        if let Some(chunk) = next {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    reader.abort();
                    return Err(RuntimeError::Registry {
                        op: "downloading",
                        reference: digest.to_string(),
                        message: e.to_string(),
                    });
                }
            };
            pending.extend_from_slice(&chunk);
        }
        while !send_failed && (pending.len() >= CHUNK || (done && !pending.is_empty())) {
            let n = pending.len().min(CHUNK);
            let piece: Vec<u8> = pending.drain(..n).collect();
            let len = piece.len() as i64;
            let req = WriteContentRequest {
                action: WriteAction::Write as i32,
                r#ref: reference.to_string(),
                offset,
                data: piece,
                ..Default::default()
            };
            send_failed = tx.send(req).await.is_err();
            offset += len;
        }
        if done || send_failed {
            break;
        }
    }
    if !send_failed {
        let commit = WriteContentRequest {
            action: WriteAction::Commit as i32,
            r#ref: reference.to_string(),
            total: size,
            offset,
            expected: digest.to_string(),
            labels,
            ..Default::default()
        };
        let _ = tx.send(commit).await;
    }
    // Half-close: the server answers the commit, repeats its last reply, and ends.
    drop(tx);
    match reader.await {
        Ok(Ok(Some(last))) if last.action == WriteAction::Commit as i32 => Ok(true),
        Ok(Ok(_)) => Err(closed()),
        Ok(Err(s)) if s.code() == tonic::Code::AlreadyExists => Ok(false),
        Ok(Err(s)) => Err(RuntimeError::daemon("Content.Write", s)),
        Err(_) => Err(closed()),
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
