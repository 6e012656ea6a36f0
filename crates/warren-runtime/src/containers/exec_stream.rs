//! `exec_stream`: an exec's output as a stream, as it comes, ending with its exit.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;

use super::exec::{ExecEvent, ExecRequest};
use crate::{ContainerdRuntime, RuntimeError};

/// How many chunks of output an [`ExecStream`] holds for a reader that is behind (each at
/// most one FIFO read).
const PENDING_CHUNKS: usize = 64;

/// An exec under way: its output in the order each stream was read, then
/// [`ExecEvent::Exited`], or one `Err`; then the stream ends. Dropping the stream kills
/// the process and removes it, as dropping [`ContainerdRuntime::exec`]'s future does.
/// At most 64 chunks wait to be read; past that the process waits, as it
/// would on a full pipe.
#[derive(Debug)]
pub struct ExecStream {
    rx: mpsc::Receiver<Result<ExecEvent, RuntimeError>>,
}

impl Stream for ExecStream {
    type Item = Result<ExecEvent, RuntimeError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl ContainerdRuntime {
    /// Run `req.args` in running container `id` as [`exec`](Self::exec) does, and give its
    /// output as it comes. Must be called within a tokio runtime.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use warren_runtime::{ExecEvent, ExecRequest};
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// let req = ExecRequest::new(["ls", "-l", "/"]);
    /// let mut exec = rt.exec_stream("web-1", &req);
    /// while let Some(event) = exec.next().await {
    ///     match event? {
    ///         ExecEvent::Output { data, .. } => print!("{}", String::from_utf8_lossy(&data)),
    ///         ExecEvent::Exited(out) => println!("exit code {}", out.exit_code),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn exec_stream(&self, id: &str, req: &ExecRequest) -> ExecStream {
        let (tx, rx) = mpsc::channel(PENDING_CHUNKS);
        let (runtime, id, req) = (self.clone(), id.to_string(), req.clone());
        tokio::spawn(async move {
            let run = runtime.exec_forwarding(&id, &req, Some(tx.clone()));
            tokio::select! {
                result = run => {
                    let _ = tx.send(result.map(ExecEvent::Exited)).await;
                }
                // The reader went away: dropping `run` kills the process and removes it.
                _ = tx.closed() => {}
            }
        });
        ExecStream { rx }
    }
}
