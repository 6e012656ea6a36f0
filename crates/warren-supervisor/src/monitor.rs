//! The steady state: notice an exit at once, health-check a live daemon, restart with
//! back-off, and stop cleanly when asked or when the last managed handle is dropped.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::backoff::Backoff;
use crate::ctx::Ctx;
use crate::events::{Event, Phase};
use crate::lock::StateLock;
use crate::process::Daemon;
use crate::{health, Error};

/// What a handle can ask of the monitor.
pub(crate) enum Command {
    Shutdown(oneshot::Sender<()>),
}

/// Why watching a healthy daemon ended.
enum Next {
    /// It exited or was killed: restart it.
    Restart,
    /// A command, or `None` when the last handle was dropped.
    Command(Option<Command>),
}

/// Run until the supervisor is shut down or released. Holds the state-dir lock until the
/// daemon is gone (or, detached, let go of).
pub(crate) async fn run(
    ctx: Arc<Ctx>,
    mut daemon: Daemon,
    mut commands: mpsc::Receiver<Command>,
    mut backoff: Backoff,
    _lock: StateLock,
) {
    backoff.healthy();
    loop {
        match watch(&ctx, &mut daemon, &mut commands).await {
            Next::Command(cmd) => return finish(&ctx, cmd, Some(&mut daemon)).await,
            Next::Restart => {}
        }
        // Restart until a daemon is healthy, or we are told to stop.
        loop {
            let (delay, attempt) = backoff.next();
            ctx.set(|s| {
                s.phase = Phase::Restarting;
                s.pid = None;
            });
            ctx.emit(Event::Restarting { attempt, delay });
            tokio::select! {
                cmd = commands.recv() => return finish(&ctx, cmd, None).await,
                () = tokio::time::sleep(delay) => {}
            }
            let spawned = tokio::select! {
                cmd = commands.recv() => return finish(&ctx, cmd, None).await,
                spawned = ctx.spawn() => spawned,
            };
            let mut fresh = match spawned {
                Ok(d) => d,
                Err(e) => {
                    failed(&ctx, &e);
                    continue;
                }
            };
            let ready = tokio::select! {
                cmd = commands.recv() => return finish(&ctx, cmd, Some(&mut fresh)).await,
                ready = ctx.ready(&mut fresh, true) => ready,
            };
            match ready {
                Ok(()) => {
                    daemon = fresh;
                    backoff.healthy();
                    break;
                }
                Err(e) => {
                    if let Some(status) = fresh.exited() {
                        ctx.emit(Event::Exited {
                            pid: fresh.pid(),
                            status,
                        });
                    }
                    ctx.discard(&mut fresh).await;
                    failed(&ctx, &e);
                }
            }
        }
    }
}

fn failed(ctx: &Ctx, error: &Error) {
    tracing::warn!(%error, "containerd did not come back");
    ctx.set(|s| s.failed_attempts += 1);
    ctx.emit(Event::StartFailed {
        error: error.to_string(),
    });
}

/// Watch a healthy daemon until it exits, fails its checks `unhealthy_threshold` times in
/// a row, or a command (or the last handle's drop) arrives.
async fn watch(ctx: &Ctx, daemon: &mut Daemon, commands: &mut mpsc::Receiver<Command>) -> Next {
    let pid = daemon.pid();
    let mut failures = 0u32;
    loop {
        let check = async {
            tokio::time::sleep(ctx.opts.health_interval).await;
            health::serving(&ctx.paths.socket, ctx.opts.health_timeout).await
        };
        let ok = tokio::select! {
            cmd = commands.recv() => return Next::Command(cmd),
            status = daemon.wait() => {
                tracing::warn!(pid, %status, "containerd exited; restarting it");
                ctx.emit(Event::Exited { pid, status });
                ctx.forget(daemon);
                return Next::Restart;
            }
            ok = check => ok,
        };
        if ok {
            if failures > 0 {
                tracing::info!(pid, "containerd answers again");
                ctx.set(|s| s.phase = Phase::Healthy);
                ctx.emit(Event::Healthy {
                    pid,
                    generation: ctx.status.borrow().generation,
                });
            }
            failures = 0;
            continue;
        }
        failures += 1;
        tracing::warn!(pid, failures, "containerd failed its health check");
        ctx.set(|s| s.phase = Phase::Unhealthy);
        ctx.emit(Event::Unhealthy { pid, failures });
        if failures >= ctx.opts.unhealthy_threshold {
            // Alive but not answering (hung, or stopped): kill it so it can be restarted.
            tracing::warn!(pid, "killing the unresponsive containerd");
            let status = ctx.discard(daemon).await;
            ctx.emit(Event::Exited { pid, status });
            return Next::Restart;
        }
    }
}

/// Act on a command, or on the last handle being dropped (`None`), with `daemon` the one
/// running or starting, if any.
async fn finish(ctx: &Ctx, cmd: Option<Command>, daemon: Option<&mut Daemon>) {
    match cmd {
        None if !ctx.managed() => {
            let pid = daemon.map(|d| {
                d.set_kill_on_drop(false);
                d.pid()
            });
            tracing::info!(?pid, "detached supervisor released; containerd runs on");
            ctx.finish_released(pid);
        }
        cmd => {
            if let Some(d) = daemon {
                ctx.stop(d).await;
            }
            ctx.finish_stopped();
            if let Some(Command::Shutdown(done)) = cmd {
                let _ = done.send(());
            }
        }
    }
}
