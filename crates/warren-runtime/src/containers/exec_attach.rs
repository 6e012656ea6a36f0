//! `exec_attached`: another process in a running container, attached (`docker exec -it`):
//! a terminal if asked, a stdin, its output as it is written, and its exit code.
//!
//! An exec's output is not logged: it goes through FIFOs of its own to this process, read
//! on the tokio reactor by whoever polls the output stream (see [`super::fifo`]), and only
//! then: a caller that does not read slows the process down instead of filling memory. Its
//! stdin FIFO is written the same way. Its FIFOs and the process record are removed once it
//! has exited.

use std::path::PathBuf;

use futures::StreamExt;
use warren_proto::any;
use warren_proto::containerd::services::tasks::v1::{DeleteProcessRequest, ExecProcessRequest};

use super::attach::{
    AttachInput, AttachOutput, AttachOutputStream, Attached, FifoStdin, StdinSink,
};
use super::exec::ExecRequest;
use super::fifo;
use super::io::{self, Fifos};
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
        self.0.await.map_err(|e| RuntimeError::Task {
            op: "waiting for an exec",
            source: e,
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
            crate::files::blocking("creating a stdin FIFO", shown, move || io::fresh_fifo(&p))
                .await?;
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
        // The FIFOs go on the reactor only now that the shim holds their other ends (Start
        // opened them): see `fifo`'s "Opening order".
        let ends = || -> Result<(AttachOutputStream, StdinSink), RuntimeError> {
            let stdout = fifo::chunks(fifo::reader(out, &fifos.out.stdout)?);
            let output: AttachOutputStream = if req.tty {
                Box::pin(stdout.map(|b| Ok(AttachOutput::Stdout(b))))
            } else {
                let stderr = fifo::chunks(fifo::reader(err, &fifos.out.stderr)?);
                // Whichever has bytes first; the output ends once both FIFOs ended.
                Box::pin(futures::stream::select(
                    stdout.map(|b| Ok(AttachOutput::Stdout(b))),
                    stderr.map(|b| Ok(AttachOutput::Stderr(b))),
                ))
            };
            let stdin = match &fifos.stdin {
                Some(path) => StdinSink::Fifo(FifoStdin(fifo::writer(path)?)),
                None => StdinSink::None,
            };
            Ok((output, stdin))
        };
        let (output, stdin) = match ends() {
            Ok(ends) => ends,
            Err(e) => {
                // Started, but nobody could ever talk to it.
                self.kill_exec(id, exec_id).await;
                return Err(e);
            }
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
                output,
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
