//! `Attach`: interactive sessions (`run -it`, `exec -it`, `attach`) as one bidirectional
//! stream. The first input says which; the rest is stdin, resizes, close-stdin and detach.
//!
//! Output goes out through a small bounded channel: when the client stops reading, HTTP/2
//! flow control stops tonic pulling from it, the forwarder stops reading the container's
//! attachment, and the container's logger stops reading its pipes. Nothing accumulates here.

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tonic::{Status, Streaming};
use warren_proto::warren::node::v1 as api;
use warren_runtime::{AttachInput, AttachOutput, Attached, ExecRequest, ExitStatus};

use super::Stream;
use crate::serve::convert::{self, clamp16};
use crate::serve::errors::{status, ApiError};
use crate::serve::{restart, Daemon};

fn out(o: api::attach_output::Output) -> Result<api::AttachOutput, Status> {
    Ok(api::AttachOutput { output: Some(o) })
}

/// How the session's process ends.
enum Ending {
    /// The container's own process: its exit comes from containerd's Wait.
    Container(String),
    /// An exec'd process: its exit from the exec session.
    Exec(warren_runtime::ExecWait),
}

/// Start a session from the first input; the response stream follows the session.
pub async fn attach(
    d: &Daemon,
    mut input: Streaming<api::AttachInput>,
) -> Result<Stream<api::AttachOutput>, ApiError> {
    let first = input
        .message()
        .await?
        .and_then(|m| m.input)
        .ok_or_else(|| {
            Status::invalid_argument("the first message names the session: run, exec or attach")
        })?;
    let (tx, rx) = mpsc::channel(8);
    let (attached, ending, remove) = match first {
        api::attach_input::Input::Run(req) => {
            let spec = super::containers::spec_of(req.spec)?;
            let network = super::containers::default_network(d);
            let request = convert::request(spec, network, req.remove)?;
            let id = super::containers::create_timed(d, &request).await?;
            d.restart.started_by_user(&id).await;
            let attached = match d.rt.start_attached(&id).await {
                Ok((_, a)) => a,
                Err(e) => {
                    // Nothing is left of a run that could not start.
                    let _ = d.rt.delete_container(&id).await;
                    d.restart.forget(&id).await;
                    return Err(ApiError::runtime("run")(e));
                }
            };
            let _ = tx
                .send(out(api::attach_output::Output::Id(id.clone())))
                .await;
            (attached, Ending::Container(id), req.remove)
        }
        api::attach_input::Input::Exec(req) => {
            let mut exec = ExecRequest::new(req.args)
                .env(req.env)
                .tty(req.tty)
                .stdin(req.stdin);
            exec.working_dir = (!req.working_dir.is_empty()).then_some(req.working_dir);
            exec.user = (!req.user.is_empty()).then_some(req.user);
            exec.console_size = req.console_size.map(|s| (clamp16(s.cols), clamp16(s.rows)));
            let session =
                d.rt.exec_attached(&req.id, &exec)
                    .await
                    .map_err(ApiError::runtime("exec"))?;
            let (attached, wait) = session.into_parts();
            (attached, Ending::Exec(wait), false)
        }
        api::attach_input::Input::Attach(r) => {
            let attached =
                d.rt.attach_container(&r.id)
                    .await
                    .map_err(ApiError::runtime("attach"))?;
            (attached, Ending::Container(r.id), false)
        }
        _ => {
            return Err(Status::invalid_argument(
                "the first message names the session: run, exec or attach",
            )
            .into())
        }
    };
    tokio::spawn(session(d.clone(), attached, ending, remove, input, tx));
    Ok(super::until_stopping(d, super::stream(rx)))
}

/// Relay until the output ends (then the exit) or the client detaches. Input is fed by a
/// task of its own, so a process that stops reading its stdin until its output is read (a
/// `cat` of a large input) never stalls the output: the two directions never wait on each
/// other.
async fn session(
    d: Daemon,
    attached: Attached,
    ending: Ending,
    remove: bool,
    inbound: Streaming<api::AttachInput>,
    tx: mpsc::Sender<Result<api::AttachOutput, Status>>,
) {
    let Attached { input, mut output } = attached;
    let (detach_tx, mut detach_rx) = oneshot::channel::<()>();
    let feeder = tokio::spawn(feed(input, inbound, detach_tx));
    let mut detach_open = true;
    let detached = loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(AttachOutput::Stdout(b))) => {
                    if tx.send(out(api::attach_output::Output::Stdout(b))).await.is_err() {
                        break true;
                    }
                }
                Some(Ok(AttachOutput::Stderr(b))) => {
                    if tx.send(out(api::attach_output::Output::Stderr(b))).await.is_err() {
                        break true;
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "attach: output broke");
                    break false;
                }
                None => break false,
            },
            got = &mut detach_rx, if detach_open => match got {
                Ok(()) => break true,
                // The feeder is done without a detach: the output goes on.
                Err(_) => detach_open = false,
            },
        }
    };
    feeder.abort();
    if detached {
        let _ = tx
            .send(out(api::attach_output::Output::Detached(true)))
            .await;
        return;
    }
    let exit: Result<ExitStatus, _> = match ending {
        Ending::Container(id) => {
            let exit = d.rt.wait_container(&id).await;
            if remove {
                d.spawn(restart::remove_after_exit(d.clone(), id));
            }
            exit
        }
        Ending::Exec(s) => s.wait().await.map(|code| ExitStatus {
            code,
            exited_at: None,
            oom_killed: false,
        }),
    };
    match exit {
        Ok(e) => {
            let _ = tx
                .send(out(api::attach_output::Output::Exit(convert::exit(&e))))
                .await;
        }
        Err(e) => {
            let _ = tx.send(Err(status(&d, "attach", e))).await;
        }
    }
}

/// Forward the client's stdin, resizes and close-stdin until it detaches or stops sending;
/// then hold the input (a dropped input is not a close of stdin) until the session ends and
/// aborts this task.
async fn feed(
    mut input: AttachInput,
    mut inbound: Streaming<api::AttachInput>,
    detach: oneshot::Sender<()>,
) {
    use api::attach_input::Input;
    while let Ok(Some(msg)) = inbound.message().await {
        let done = match msg.input {
            Some(Input::Stdin(b)) => input.write(&b).await.err(),
            Some(Input::Resize(s)) => input.resize(clamp16(s.cols), clamp16(s.rows)).await.err(),
            Some(Input::CloseStdin(true)) => input.close_stdin().await.err(),
            Some(Input::Detach(true)) => {
                let _ = detach.send(());
                return;
            }
            _ => None,
        };
        if let Some(e) = done {
            tracing::debug!(error = %e, "attach: input refused");
        }
    }
    // The client stopped sending: its output still flows until it goes.
    std::future::pending::<()>().await;
}
