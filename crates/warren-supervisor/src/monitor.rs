//! The steady state: notice an exit at once, health-check a live daemon, restart with
//! back-off, and stop cleanly when asked (or when the last managed handle is dropped).

use std::sync::Arc;

use nix::sys::signal::Signal;
use tokio::sync::{mpsc, oneshot};

use crate::backoff::Backoff;
use crate::builder::Mode;
use crate::events::{Event, Phase};
use crate::process::Daemon;
use crate::start::Ctx;
use crate::{health, pidfile};

/// What a handle can ask of the monitor.
pub(crate) enum Command {
    Shutdown(oneshot::Sender<()>),
}

enum Next {
    Restart,
    Stop(Option<oneshot::Sender<()>>),
    Detach,
}

pub(crate) async fn run(
    ctx: Arc<Ctx>,
    mut daemon: Daemon,
    mut commands: mpsc::Receiver<Command>,
    mut backoff: Backoff,
) {
    backoff.healthy();
    loop {
        let next = watch(&ctx, &mut daemon, &mut commands).await;
        match next {
            Next::Detach => return,
            Next::Stop(done) => {
                stop(&ctx, &mut daemon).await;
                if let Some(done) = done {
                    let _ = done.send(());
                }
                return;
            }
            Next::Restart => {}
        }
        // Restart until a daemon is healthy, or we are told to stop.
        loop {
            let (delay, attempt) = backoff.next();
            ctx.set(|s| s.phase = Phase::Restarting);
            ctx.emit(Event::Restarting { attempt, delay });
            tokio::select! {
                cmd = commands.recv() => {
                    finish_stopped(&ctx);
                    if let Some(Command::Shutdown(done)) = cmd {
                        let _ = done.send(());
                    }
                    return;
                }
                _ = tokio::time::sleep(delay) => {}
            }
            match ctx.spawn_ready().await {
                Ok(d) => {
                    daemon = d;
                    ctx.set(|s| s.restarts += 1);
                    backoff.healthy();
                    break;
                }
                Err(e) => ctx.emit(Event::StartFailed {
                    error: e.to_string(),
                }),
            }
        }
    }
}

/// Watch a healthy daemon until it exits, fails its checks, or we are asked to stop.
async fn watch(ctx: &Ctx, daemon: &mut Daemon, commands: &mut mpsc::Receiver<Command>) -> Next {
    let pid = daemon.pid().unwrap_or_default() as u32;
    let mut failures = 0u32;
    loop {
        tokio::select! {
            cmd = commands.recv() => {
                return match (cmd, ctx.opts.mode) {
                    (Some(Command::Shutdown(done)), _) => Next::Stop(Some(done)),
                    (None, Mode::Managed) => Next::Stop(None),
                    (None, Mode::Detached) => Next::Detach,
                };
            }
            status = daemon.wait() => {
                tracing::warn!(pid, %status, "containerd exited; restarting");
                ctx.emit(Event::Exited { pid, status });
                pidfile::remove(&ctx.paths.pid_file);
                return Next::Restart;
            }
            _ = tokio::time::sleep(ctx.opts.health_interval) => {}
        }
        let check = health::serving(&ctx.paths.socket, ctx.opts.health_timeout);
        let ok = tokio::select! {
            ok = check => ok,
            status = daemon.wait() => {
                ctx.emit(Event::Exited { pid, status });
                pidfile::remove(&ctx.paths.pid_file);
                return Next::Restart;
            }
        };
        if ok {
            if failures > 0 {
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
        ctx.set(|s| s.phase = Phase::Unhealthy);
        ctx.emit(Event::Unhealthy { pid, failures });
        tracing::warn!(pid, failures, "containerd failed its health check");
        if failures >= ctx.opts.unhealthy_threshold {
            // Alive but not answering (hung, or stopped): kill it so it can be restarted.
            daemon.signal(Signal::SIGKILL);
            let status = daemon.wait().await;
            ctx.emit(Event::Exited { pid, status });
            pidfile::remove(&ctx.paths.pid_file);
            return Next::Restart;
        }
    }
}

/// SIGTERM, wait up to the shutdown timeout, SIGKILL; then remove our files.
async fn stop(ctx: &Ctx, daemon: &mut Daemon) {
    daemon.signal(Signal::SIGTERM);
    // A stopped process cannot act on SIGTERM until continued.
    daemon.signal(Signal::SIGCONT);
    if tokio::time::timeout(ctx.opts.shutdown_timeout, daemon.wait())
        .await
        .is_err()
    {
        tracing::warn!("containerd ignored SIGTERM; killing it");
        daemon.signal(Signal::SIGKILL);
        let _ = daemon.wait().await;
    }
    finish_stopped(ctx);
}

fn finish_stopped(ctx: &Ctx) {
    pidfile::remove(&ctx.paths.pid_file);
    let _ = std::fs::remove_file(&ctx.paths.socket);
    let _ = std::fs::remove_file(&ctx.paths.ttrpc_socket);
    ctx.set(|s| {
        s.phase = Phase::Stopped;
        s.pid = None;
    });
    ctx.emit(Event::Stopped);
}
