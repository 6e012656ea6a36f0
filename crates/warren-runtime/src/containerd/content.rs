//! The Content service: reading blobs, writing them (streaming `Content.Write`, verified by
//! containerd against the expected digest and size) and labelling them for the GC.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use warren_proto::containerd::services::content::v1::{
    AbortRequest, Info, InfoRequest, InfoResponse, ReadContentRequest, ReadContentResponse,
    UpdateRequest, UpdateResponse, WriteAction, WriteContentRequest, WriteContentResponse,
};

use super::{protocol_error, status_error, Containerd, Replies};
use crate::{ErrorKind, RuntimeError};

super::rpcs!(Content, content {
    /// One blob's size and labels.
    retrying info(InfoRequest) -> InfoResponse = "Content.Info";
    /// Change the labels the update mask names.
    retrying update(UpdateRequest) -> UpdateResponse = "Content.Update";
    /// Remove an ingest (an unfinished write).
    retrying abort(AbortRequest) -> () = "Content.Abort";
});

impl Content<'_> {
    /// Every blob's info (the filters narrow it), in the daemon's batches. Retried while the
    /// daemon restarts, until the stream is open.
    pub(crate) async fn list(
        &self,
        req: warren_proto::containerd::services::content::v1::ListContentRequest,
    ) -> Result<
        Replies<warren_proto::containerd::services::content::v1::ListContentResponse>,
        RuntimeError,
    > {
        let op = "Content.List";
        self.0
            .retrying(op, req, |c, r| async move { c.content().list(r).await })
            .await
            .map(|inner| Replies::new(op, inner))
    }

    /// A blob's bytes (`size` 0: to its end) from `offset`, in the daemon's chunks.
    pub(crate) async fn read(
        &self,
        req: ReadContentRequest,
    ) -> Result<Replies<ReadContentResponse>, RuntimeError> {
        let op = "Content.Read";
        self.0
            .once(op, req, |c, r| async move { c.content().read(r).await })
            .await
            .map(|inner| Replies::new(op, inner))
    }
}

/// containerd's Go client writes in 1 MiB chunks; so do we.
const CHUNK: usize = 1024 * 1024;

/// True if `digest` is already in the content store of this namespace.
pub(crate) async fn exists(clients: &Containerd, digest: &str) -> Result<bool, RuntimeError> {
    match clients
        .content()
        .info(InfoRequest {
            digest: digest.to_string(),
        })
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

type WriteReplies = JoinHandle<Result<Option<WriteContentResponse>, tonic::Status>>;

/// One open `Content.Write` stream. Chunks are sent without waiting for each reply (a task
/// drains the replies), so a blob streams at the speed of the socket.
pub(crate) struct BlobWriter {
    clients: Containerd,
    tx: mpsc::Sender<WriteContentRequest>,
    replies: WriteReplies,
    reference: String,
    size: i64,
    /// Bytes sent to the ingest so far: where the next WRITE message starts.
    offset: i64,
    pending: Vec<u8>,
    failed: bool,
}

impl BlobWriter {
    /// Open the ingest `reference` for a blob of `size` bytes (`digest` if known, else "").
    /// `None` means the blob is already in the store: nothing needs writing. An ingest left
    /// by an interrupted write under the same `reference` resumes: see [`BlobWriter::offset`].
    pub(crate) async fn open(
        clients: &Containerd,
        reference: &str,
        digest: &str,
        size: i64,
    ) -> Result<Option<BlobWriter>, RuntimeError> {
        let mut delay = Duration::from_millis(10);
        loop {
            let (tx, rx) = mpsc::channel::<WriteContentRequest>(8);
            // The server answers (and tonic returns the call) only once the first message
            // is in: queue STAT before awaiting the call.
            let _ = tx
                .send(WriteContentRequest {
                    action: WriteAction::Stat as i32,
                    r#ref: reference.to_string(),
                    total: size,
                    expected: digest.to_string(),
                    ..Default::default()
                })
                .await;
            let status = match clients
                .clients
                .content()
                .write(ReceiverStream::new(rx))
                .await
            {
                Ok(r) => {
                    let mut replies = r.into_inner();
                    match replies.message().await {
                        Ok(Some(stat)) => {
                            let replies = tokio::spawn(async move {
                                let mut last = None;
                                loop {
                                    match replies.message().await {
                                        Ok(Some(m)) => last = Some(m),
                                        Ok(None) => return Ok(last),
                                        Err(s) => return Err(s),
                                    }
                                }
                            });
                            // A stale ingest longer than the blob cannot be resumed.
                            let offset = if stat.offset <= size || size < 0 {
                                stat.offset
                            } else {
                                0
                            };
                            return Ok(Some(BlobWriter {
                                clients: clients.clone(),
                                tx,
                                replies,
                                reference: reference.to_string(),
                                size,
                                offset,
                                pending: Vec::with_capacity(CHUNK),
                                failed: false,
                            }));
                        }
                        Ok(None) => tonic::Status::unknown("write stream closed before STAT"),
                        Err(s) => s,
                    }
                }
                Err(s) => s,
            };
            match status.code() {
                tonic::Code::AlreadyExists => return Ok(None),
                // Another writer holds the ref (a concurrent pull of the same blob): wait for
                // it, as containerd's Go client does, with a growing random delay. The daemon
                // says so with UNAVAILABLE ("ref ... locked"); an UNAVAILABLE that tonic made
                // from a broken connection carries a source error and is not this.
                tonic::Code::Unavailable
                    if std::error::Error::source(&status).is_none()
                        && delay < Duration::from_secs(60) =>
                {
                    let jitter = rand::random::<u64>() % (delay.as_millis() as u64 + 1);
                    tokio::time::sleep(delay + Duration::from_millis(jitter)).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                    if digest.is_empty() {
                        continue;
                    }
                    // The other writer may have committed meanwhile.
                    if exists(clients, digest).await? {
                        return Ok(None);
                    }
                }
                _ => return Err(status_error("Content.Write", status)),
            }
        }
    }

    /// The resume point: bytes of this blob the ingest already holds. The caller sends the
    /// rest, starting at this offset, or calls [`BlobWriter::restart`].
    pub(crate) fn offset(&self) -> u64 {
        (self.offset.max(0) as u64) + self.pending.len() as u64
    }

    /// Start over from byte 0 (the next write truncates the ingest).
    pub(crate) fn restart(&mut self) {
        self.offset = 0;
        self.pending.clear();
    }

    /// Append `data` (sent in 1 MiB messages).
    pub(crate) async fn write(&mut self, data: &[u8]) -> Result<(), RuntimeError> {
        self.pending.extend_from_slice(data);
        while self.pending.len() >= CHUNK {
            self.flush_chunk().await?;
        }
        Ok(())
    }

    async fn flush_chunk(&mut self) -> Result<(), RuntimeError> {
        let n = self.pending.len().min(CHUNK);
        // Hand the first CHUNK bytes over without copying them; only the tail moves.
        let rest = if self.pending.len() > n {
            let mut rest = Vec::with_capacity(CHUNK + 64 * 1024);
            rest.extend_from_slice(&self.pending[n..]);
            self.pending.truncate(n);
            rest
        } else {
            Vec::with_capacity(CHUNK + 64 * 1024)
        };
        let piece = std::mem::replace(&mut self.pending, rest);
        let req = WriteContentRequest {
            action: WriteAction::Write as i32,
            r#ref: self.reference.clone(),
            offset: self.offset,
            data: piece,
            ..Default::default()
        };
        self.offset += n as i64;
        if self.tx.send(req).await.is_err() {
            // The server ended the stream: its status says why (see `commit`).
            self.failed = true;
            return Err(self.fail().await);
        }
        Ok(())
    }

    async fn fail(&mut self) -> RuntimeError {
        let (dummy, _) = mpsc::channel(1);
        let tx = std::mem::replace(&mut self.tx, dummy);
        drop(tx);
        match (&mut self.replies).await {
            Ok(Err(s)) => status_error("Content.Write", s),
            _ => protocol_error("Content.Write", "write stream closed"),
        }
    }

    /// Commit the blob as `expected` (verified by containerd with the size given at open),
    /// with `labels` on it. Returns false if it turned out to be in the store already.
    pub(crate) async fn commit(
        mut self,
        expected: &str,
        labels: HashMap<String, String>,
    ) -> Result<bool, RuntimeError> {
        while !self.pending.is_empty() {
            self.flush_chunk().await?;
        }
        let commit = WriteContentRequest {
            action: WriteAction::Commit as i32,
            r#ref: self.reference.clone(),
            total: self.size,
            offset: self.offset,
            expected: expected.to_string(),
            labels,
            ..Default::default()
        };
        let _ = self.tx.send(commit).await;
        // Half-close: the server answers the commit, repeats its last reply, and ends.
        drop(self.tx);
        match self.replies.await {
            Ok(Ok(Some(last))) if last.action == WriteAction::Commit as i32 => Ok(true),
            Ok(Ok(_)) => Err(protocol_error(
                "Content.Write",
                "write stream ended without a COMMIT reply",
            )),
            Ok(Err(s)) if s.code() == tonic::Code::AlreadyExists => Ok(false),
            Ok(Err(s)) => Err(status_error("Content.Write", s)),
            Err(e) => Err(protocol_error(
                "Content.Write",
                format!("reply task failed: {e}"),
            )),
        }
    }

    /// Give up: close the stream and remove the ingest (whatever it holds is discarded).
    pub(crate) async fn abort(mut self) {
        if !self.failed {
            drop(std::mem::replace(&mut self.tx, mpsc::channel(1).0));
        }
        self.replies.abort();
        abort(&self.clients, &self.reference).await;
    }
}

/// Remove the ingest `reference` (missing is fine).
pub(crate) async fn abort(clients: &Containerd, reference: &str) {
    let req = AbortRequest {
        r#ref: reference.to_string(),
    };
    if let Err(e) = clients.content().abort(req).await {
        if !e.is_missing_object() {
            tracing::debug!(reference, error = %e, "could not abort ingest");
        }
    }
}

/// Store a small blob held in memory (with `labels`). Returns false if it was there already.
pub(crate) async fn store(
    clients: &Containerd,
    reference: &str,
    digest: &str,
    bytes: &[u8],
    labels: HashMap<String, String>,
) -> Result<bool, RuntimeError> {
    let Some(mut w) = BlobWriter::open(clients, reference, digest, bytes.len() as i64).await?
    else {
        return Ok(false);
    };
    w.restart();
    w.write(bytes).await?;
    w.commit(digest, labels).await
}

/// Set `labels` on a blob, naming each key in the update mask (an empty mask would replace
/// every label).
pub(crate) async fn label(
    clients: &Containerd,
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
        .await?;
    Ok(())
}
