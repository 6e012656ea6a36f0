//! Attaching to a container: its output as it is written, its stdin, its terminal's size.
//!
//! A container's output is read by its shim's logger (see [`crate::logger`]), which also
//! serves an attach socket in the container's folder: [`ContainerdRuntime::attach_container`]
//! connects there, any number of times, and detaching (dropping the [`Attached`]) leaves the
//! container running. Backpressure is end to end: an output stream that is not read slows
//! the container's writes, and nothing piles up in this process.

use std::pin::Pin;

use futures::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use warren_proto::containerd::services::tasks::v1::{CloseIoRequest, ResizePtyRequest};

use super::ContainerState;
use crate::container_id::not_found;
use crate::logger::attach::{short_path, SOCKET};
use crate::logger::frame::{self, Decoder};
use crate::{ContainerdRuntime, RuntimeError};

/// A piece of a container's (or an exec'd process's) output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachOutput {
    /// Bytes written to stdout (with a terminal: everything the terminal shows).
    Stdout(Vec<u8>),
    /// Bytes written to stderr (never with a terminal).
    Stderr(Vec<u8>),
}

/// The output of an attachment, in the order it was written; it ends when the process's
/// output ends (it exited, or its stdout and stderr were closed).
pub type AttachOutputStream =
    Pin<Box<dyn Stream<Item = Result<AttachOutput, RuntimeError>> + Send + 'static>>;

/// Where stdin bytes go.
pub(crate) enum StdinSink {
    /// The container's logger, over its attach socket.
    Socket(OwnedWriteHalf),
    /// An exec'd process's stdin FIFO, written on the reactor.
    Fifo(FifoStdin),
    /// Closed (the socket stays open: shutting it down would end the attachment).
    Closed(#[allow(dead_code)] OwnedWriteHalf),
    /// No stdin.
    None,
}

/// The write end of an exec's stdin FIFO (see [`super::fifo`]). A write returns once the
/// kernel holds every byte of it, so dropping this (closing the FIFO) never overtakes bytes
/// written before.
pub(crate) struct FifoStdin(pub(crate) tokio::net::unix::pipe::Sender);

/// The input side of an attachment: stdin, closing it, resizing the terminal.
pub struct AttachInput {
    pub(crate) rt: ContainerdRuntime,
    pub(crate) id: String,
    /// The exec'd process, or empty for the container's own.
    pub(crate) exec_id: String,
    pub(crate) stdin: StdinSink,
}

/// An attachment: write to [`input`](Self::input), read [`output`](Self::output).
pub struct Attached {
    /// Stdin, close-stdin and resize.
    pub input: AttachInput,
    /// The output as it is written.
    pub output: AttachOutputStream,
}

impl std::fmt::Debug for Attached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attached")
            .field("container", &self.input.id)
            .field("exec", &self.input.exec_id)
            .finish()
    }
}

impl AttachInput {
    /// Send `data` to the process's stdin. It waits while the process does not read (so a
    /// fast writer is slowed, not buffered). An error if the process has no stdin.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), RuntimeError> {
        let closed = || RuntimeError::WrongState {
            id: self.id.clone(),
            op: "write to stdin",
            state: "without an open stdin".into(),
            needs: "created with open_stdin (and not closed)",
        };
        match &mut self.stdin {
            StdinSink::Socket(w) => {
                let mut framed = Vec::with_capacity(data.len() + 5);
                for chunk in data.chunks(frame::MAX_FRAME) {
                    frame::encode(frame::STDIN, chunk, &mut framed);
                }
                w.write_all(&framed).await.map_err(|_| closed())
            }
            StdinSink::Fifo(FifoStdin(f)) => f.write_all(data).await.map_err(|_| closed()),
            StdinSink::Closed(_) | StdinSink::None => Err(closed()),
        }
    }

    /// Close the process's stdin: it reads what was written, then end-of-file. Other
    /// attachments lose the stdin too; the container runs on.
    pub async fn close_stdin(&mut self) -> Result<(), RuntimeError> {
        // Every writer of the stdin FIFO must let go: ours (the logger's, asked by a frame
        // that follows the bytes sent before; an exec's FIFO writer), and the one the shim
        // keeps itself, which CloseIO drops.
        match std::mem::replace(&mut self.stdin, StdinSink::None) {
            StdinSink::Socket(mut w) => {
                let mut close = Vec::new();
                frame::encode(frame::STDIN_CLOSE, &[], &mut close);
                let _ = w.write_all(&close).await;
                self.stdin = StdinSink::Closed(w);
            }
            StdinSink::Fifo(fifo) => {
                // The bytes sent before must be in the FIFO before the shim's own writer
                // goes: with no writer left, the shim's reader would see end-of-file first.
                // They are: `write` returned only once the kernel held all of them, and
                // `&mut self` means no write is under way. Closing ours is the drop.
                drop(fifo);
            }
            other => self.stdin = other,
        }
        let (id, exec_id) = (self.id.clone(), self.exec_id.clone());
        self.rt
            .containerd()
            .tasks()
            .close_io(CloseIoRequest {
                container_id: id.clone(),
                exec_id: exec_id.clone(),
                stdin: true,
            })
            .await
            .map(|_| ())
    }

    /// Resize the process's terminal to `cols` x `rows` (containerd's ResizePty).
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), RuntimeError> {
        let (id, exec_id) = (self.id.clone(), self.exec_id.clone());
        self.rt
            .containerd()
            .tasks()
            .resize_pty(ResizePtyRequest {
                container_id: id.clone(),
                exec_id: exec_id.clone(),
                width: u32::from(cols),
                height: u32::from(rows),
            })
            .await
            .map(|_| ())
    }
}

impl ContainerdRuntime {
    /// Attach to running container `id`: its output from now on, and (if it was created
    /// with `open_stdin`) its stdin. Attaching again, from here or elsewhere, works too; the
    /// container keeps running when an attachment is dropped.
    ///
    /// ```no_run
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// use futures::StreamExt;
    /// let mut a = rt.attach_container("shell").await?;
    /// a.input.write(b"echo hi\n").await?;
    /// while let Some(chunk) = a.output.next().await {
    ///     println!("{:?}", chunk?);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn attach_container(&self, id: &str) -> Result<Attached, RuntimeError> {
        super::check_id(id)?;
        let record = self
            .container_record(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let state = self.container_status(id).await?.state;
        if !matches!(state, ContainerState::Running | ContainerState::Created) {
            return Err(RuntimeError::WrongState {
                id: id.to_string(),
                op: "attach",
                state: state.to_string(),
                needs: "running",
            });
        }
        let stdin = record
            .labels
            .get(super::labels::STDIN)
            .is_some_and(|v| v == "true");
        self.connect_attach(id, stdin).await
    }

    /// Start container `id` attached (`docker run -it`, `docker start -a`): attached before
    /// its process starts, so no output is missed. Returns its pid and the attachment; a
    /// container that already runs is just attached to.
    pub async fn start_attached(&self, id: &str) -> Result<(u32, Attached), RuntimeError> {
        super::check_id(id)?;
        let record = self
            .container_record(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let stdin = record
            .labels
            .get(super::labels::STDIN)
            .is_some_and(|v| v == "true");
        match self.prepare_task(id).await? {
            super::start::Prepared::Running(pid) => {
                Ok((pid, self.connect_attach(id, stdin).await?))
            }
            super::start::Prepared::Created => {
                let attached = match self.connect_attach(id, stdin).await {
                    Ok(a) => a,
                    Err(e) => {
                        self.discard_task(id).await;
                        return Err(e);
                    }
                };
                let pid = self.start_task(id).await?;
                Ok((pid, attached))
            }
        }
    }

    /// Connect to container `id`'s logger.
    pub(crate) async fn connect_attach(
        &self,
        id: &str,
        stdin: bool,
    ) -> Result<Attached, RuntimeError> {
        let dir = self.inner.containers.dir(id);
        let unavailable = |e: std::io::Error| RuntimeError::Io {
            op: "attaching (the container's logger socket)",
            path: dir.join(SOCKET),
            source: e,
        };
        let (_dir_fd, path) = short_path(&dir, SOCKET).map_err(unavailable)?;
        let stream = tokio::net::UnixStream::connect(&path)
            .await
            .map_err(unavailable)?;
        let (read, write) = stream.into_split();
        let rt = self.clone();
        let owned = id.to_string();
        let exit: futures::future::BoxFuture<'static, ()> =
            Box::pin(async move { rt.exited(&owned).await });
        Ok(Attached {
            input: AttachInput {
                rt: self.clone(),
                id: id.to_string(),
                exec_id: String::new(),
                stdin: if stdin {
                    StdinSink::Socket(write)
                } else {
                    StdinSink::None
                },
            },
            output: socket_output(read, exit, dir),
        })
    }
}

/// What an attachment's output stream keeps between chunks.
struct Reader {
    read: tokio::net::unix::OwnedReadHalf,
    frames: Decoder,
    buf: Vec<u8>,
    exit: Option<futures::future::BoxFuture<'static, ()>>,
    /// The container's folder and its logger's pid, for the claim of the exit.
    dir: std::path::PathBuf,
    logger: Option<u32>,
}

/// The frames the logger sends, as output chunks, until the logger ends the output
/// ([`frame::ENDED`], or the connection closes). Once `exit` resolves, the logger is told
/// (see [`super::output_end`]) and answers when every byte written before is here.
fn socket_output(
    read: tokio::net::unix::OwnedReadHalf,
    exit: futures::future::BoxFuture<'static, ()>,
    dir: std::path::PathBuf,
) -> AttachOutputStream {
    let logger = read
        .as_ref()
        .peer_cred()
        .ok()
        .and_then(|c| c.pid())
        .map(|p| p as u32);
    let state = Reader {
        read,
        frames: Decoder::default(),
        buf: vec![0u8; 64 * 1024],
        exit: Some(exit),
        dir,
        logger,
    };
    Box::pin(futures::stream::unfold(state, |mut r| async move {
        loop {
            match r.frames.next_frame() {
                Ok(Some((frame::STDERR, data))) => {
                    return Some((Ok(AttachOutput::Stderr(data)), r))
                }
                Ok(Some((frame::STDOUT, data))) => {
                    return Some((Ok(AttachOutput::Stdout(data)), r))
                }
                Ok(Some((frame::ENDED, _))) | Err(frame::Oversized(_)) => return None,
                Ok(Some(_)) => continue,
                Ok(None) => {}
            }
            let n = match r.exit.as_mut() {
                Some(exit) => tokio::select! {
                    n = r.read.read(&mut r.buf) => n,
                    () = exit => {
                        r.exit = None;
                        // Answered on this connection too: the claim's own is not awaited
                        // here, so that this one keeps being read meanwhile.
                        let (dir, logger) = (r.dir.clone(), r.logger);
                        tokio::spawn(async move {
                            super::output_end::claim_exit(&dir, logger).await
                        });
                        continue;
                    }
                },
                None => r.read.read(&mut r.buf).await,
            };
            match n {
                Ok(0) | Err(_) => return None,
                Ok(n) => {
                    let Reader { frames, buf, .. } = &mut r;
                    frames.push(&buf[..n]);
                }
            }
        }
    }))
}
