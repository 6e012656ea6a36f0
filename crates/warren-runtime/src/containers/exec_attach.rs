//! `exec_attached`: another process in a running container, attached (`docker exec -it`):
//! a terminal if asked, a stdin, its output as it is written, and its exit code.
//!
//! An exec's output is not logged: it goes through FIFOs of its own to this process, read on
//! threads that hand it over through small bounded channels, so a caller that does not read
//! slows the process down instead of filling memory. Its FIFOs and the process record are
//! removed once it has exited.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

use tokio::sync::mpsc;
use warren_proto::any;
use warren_proto::containerd::services::tasks::v1::{DeleteProcessRequest, ExecProcessRequest};

use super::attach::{AttachInput, AttachOutput, Attached, FifoStdin, StdinSink};
use super::exec::ExecRequest;
use super::io::{self, on_thread, Fifos};
use crate::{ContainerdRuntime, RuntimeError};

/// An exec'd process, attached.
pub struct ExecSession {
    /// Its stdin, terminal size and output.
    pub attached: Attached,
    /// Its exec id.
    pub exec_id: String,
    exit: tokio::task::JoinHandle<Result<u32, RuntimeError>>,
}

impl std::fmt::Debug for ExecSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecSession")
            .field("exec_id", &self.exec_id)
            .finish()
    }
}

impl ExecSession {
    /// Wait for the process to exit; its exit code.
    pub async fn wait(self) -> Result<u32, RuntimeError> {
        self.into_parts().1.wait().await
    }

    /// The attachment and the wait apart, to use them from different tasks.
    pub fn into_parts(self) -> (Attached, ExecWait) {
        (self.attached, ExecWait(self.exit))
    }
}

/// The end of an exec'd process, apart from its attachment (see
/// [`ExecSession::into_parts`]).
pub struct ExecWait(tokio::task::JoinHandle<Result<u32, RuntimeError>>);

impl ExecWait {
    /// Wait for the process to exit; its exit code.
    pub async fn wait(self) -> Result<u32, RuntimeError> {
        self.0.await.map_err(|e| RuntimeError::Io {
            op: "waiting for an exec",
            path: String::new(),
            source: std::io::Error::other(e),
        })?
    }
}

/// The FIFOs of one attached exec.
struct ExecFifos {
    out: Fifos,
    stdin: Option<PathBuf>,
}

impl ContainerdRuntime {
    /// Start `req.args` in running container `id`, attached: with `req.tty` a terminal
    /// (one output stream; resize it with [`AttachInput::resize`]), with `req.stdin` a stdin
    /// to write to (closing it gives the process end-of-file). The process is removed once
    /// it has exited, whatever happened.
    ///
    /// ```no_run
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// use futures::StreamExt;
    /// use warren_runtime::ExecRequest;
    /// let req = ExecRequest::new(["cat"]).stdin(true);
    /// let mut s = rt.exec_attached("web-1", &req).await?;
    /// s.attached.input.write(b"hello\n").await?;
    /// s.attached.input.close_stdin().await?;
    /// while let Some(chunk) = s.attached.output.next().await { println!("{:?}", chunk?); }
    /// assert_eq!(s.wait().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn exec_attached(
        &self,
        id: &str,
        req: &ExecRequest,
    ) -> Result<ExecSession, RuntimeError> {
        let process = self.exec_process(id, req).await?;
        let exec_id = format!("exec-{:016x}", rand::random::<u64>());
        let dir = self.inner.containers.dir(id);
        let fifos = ExecFifos {
            out: Fifos::at(&dir, &exec_id),
            stdin: req.stdin.then(|| dir.join(format!("{exec_id}-stdin"))),
        };
        fifos.out.create().await?;
        if let Some(p) = fifos.stdin.clone() {
            let shown = p.clone();
            io::blocking("creating a stdin FIFO", shown, move || io::fresh_fifo(&p)).await?;
        }
        match self.exec_start(id, &exec_id, &fifos, process, req).await {
            Ok(session) => Ok(session),
            Err(e) => {
                self.forget_exec(id, &exec_id, &fifos).await;
                Err(e)
            }
        }
    }

    async fn exec_start(
        &self,
        id: &str,
        exec_id: &str,
        fifos: &ExecFifos,
        process: Vec<u8>,
        req: &ExecRequest,
    ) -> Result<ExecSession, RuntimeError> {
        let (out, err) = fifos.out.open()?;
        self.containerd()
            .tasks()
            .exec(ExecProcessRequest {
                container_id: id.to_string(),
                exec_id: exec_id.to_string(),
                stdin: fifos
                    .stdin
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                stdout: fifos.out.stdout.display().to_string(),
                stderr: if req.tty {
                    String::new()
                } else {
                    fifos.out.stderr.display().to_string()
                },
                terminal: req.tty,
                spec: Some(any::pack_json(any::PROCESS_TYPE_URL, process)),
            })
            .await?;
        self.start_exec(id, exec_id).await?;
        // Output: read only now (the shim opened the write ends in Start).
        let (tx, rx) = mpsc::channel::<Result<AttachOutput, RuntimeError>>(4);
        pipe_reader(out, tx.clone(), AttachOutput::Stdout);
        if !req.tty {
            pipe_reader(err, tx, AttachOutput::Stderr);
        }
        let stdin = match &fifos.stdin {
            Some(path) => StdinSink::Fifo(stdin_writer(open_stdin(path.clone()).await?)),
            None => StdinSink::None,
        };
        let rt = self.clone();
        let (eid, eexec) = (id.to_string(), exec_id.to_string());
        let paths = ExecFifos {
            out: fifos.out.clone(),
            stdin: fifos.stdin.clone(),
        };
        // An exec's exit is kept until its process is deleted (below): a wait issued after
        // the start never misses it.
        let exit = tokio::spawn(async move {
            let result = match rt.wait_raw(&eid, &eexec).await {
                Ok((code, _)) => Ok(code),
                Err(e) => {
                    rt.kill_exec(&eid, &eexec).await;
                    Err(e)
                }
            };
            rt.forget_exec(&eid, &eexec, &paths).await;
            result
        });
        Ok(ExecSession {
            attached: Attached {
                input: AttachInput {
                    rt: self.clone(),
                    id: id.to_string(),
                    exec_id: exec_id.to_string(),
                    stdin,
                },
                output: Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)),
            },
            exec_id: exec_id.to_string(),
            exit,
        })
    }

    /// Remove an exec's process record and FIFOs (missing is fine).
    async fn forget_exec(&self, id: &str, exec_id: &str, fifos: &ExecFifos) {
        let _ = self
            .containerd()
            .tasks()
            .delete_process(DeleteProcessRequest {
                container_id: id.to_string(),
                exec_id: exec_id.to_string(),
            })
            .await;
        fifos.out.remove().await;
        if let Some(p) = &fifos.stdin {
            let _ = tokio::fs::remove_file(p).await;
        }
    }
}

/// Read a FIFO to its end on a thread of its own, handing chunks over through `tx` (which
/// blocks while the caller does not read).
fn pipe_reader(
    file: File,
    tx: mpsc::Sender<Result<AttachOutput, RuntimeError>>,
    wrap: fn(Vec<u8>) -> AttachOutput,
) {
    drop(on_thread("warren-exec-out", move || {
        let Ok(mut file) = io::without_nonblock(file) else {
            return;
        };
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match file.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.blocking_send(Ok(wrap(buf[..n].to_vec()))).is_err() {
                        return;
                    }
                }
            }
        }
    }));
}

/// Open the write end of an exec's stdin FIFO, before anything is written or closed: while
/// it is open the shim's reader cannot see end-of-file, so a close that comes quickly after
/// a write never overtakes the bytes. The shim opened the read end in Start; if it has not,
/// this fails at once (`ENXIO`) instead of waiting for a reader.
async fn open_stdin(path: PathBuf) -> Result<File, RuntimeError> {
    use std::os::unix::fs::OpenOptionsExt;
    io::blocking("opening an exec's stdin FIFO", path.clone(), move || {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)?;
        io::without_nonblock(file)
    })
    .await
}

/// A thread that writes what it receives to an exec's stdin FIFO, and closes it (the
/// process reads end-of-file) when the sender is dropped and everything was written.
fn stdin_writer(mut fifo: File) -> FifoStdin {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(4);
    let written = on_thread("warren-exec-in", move || {
        while let Some(data) = rx.blocking_recv() {
            if fifo.write_all(&data).is_err() {
                return;
            }
        }
    });
    FifoStdin { tx, written }
}
