//! Start-up: preflight, lock, config, then adopt or spawn, then wait for SERVING.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::sync::{broadcast, mpsc, watch};

use crate::backoff::Backoff;
use crate::builder::{Mode, SupervisorBuilder};
use crate::config::{self, Paths, Settings};
use crate::events::{Event, Phase, Status};
use crate::handle::{Inner, Supervisor};
use crate::output::Tail;
use crate::process::{Daemon, SpawnSpec};
use crate::version::{self, DaemonVersion};
use crate::{health, lock, pidfile, preflight, proc_info, Error};

/// Everything the monitor needs to (re)start and watch the daemon.
pub(crate) struct Ctx {
    pub opts: SupervisorBuilder,
    pub binary: std::path::PathBuf,
    pub paths: Paths,
    pub version: DaemonVersion,
    pub tail: Tail,
    pub events: broadcast::Sender<Event>,
    pub status: watch::Sender<Status>,
}

impl Ctx {
    pub fn emit(&self, event: Event) {
        tracing::debug!(?event, "supervisor");
        let _ = self.events.send(event);
    }

    pub fn set(&self, f: impl FnOnce(&mut Status)) {
        self.status.send_modify(f);
    }

    /// Spawn a daemon and wait until it serves; on failure nothing is left running.
    pub async fn spawn_ready(&self) -> Result<Daemon, Error> {
        preflight::clear_stale_socket(&self.paths.socket)?;
        preflight::clear_stale_socket(&self.paths.ttrpc_socket)?;
        let generation = self.status.borrow().generation + 1;
        self.set(|s| {
            s.phase = Phase::Starting;
            s.pid = None;
            s.generation = generation;
        });
        self.emit(Event::Starting { generation });
        let mut daemon = Daemon::spawn(SpawnSpec {
            binary: &self.binary,
            config: &self.paths.config,
            env: &self.opts.env,
            managed: self.opts.mode == Mode::Managed,
            log_file: self.opts.log_file.clone(),
            detached_log: &self.paths.log_file,
            tail: self.tail.clone(),
        })?;
        let pid = daemon.pid().unwrap_or_default();
        if let Some(id) = proc_info::identity(pid) {
            pidfile::write(&self.paths.pid_file, &id, &self.paths.config)?;
        }
        match self.wait_ready(&mut daemon).await {
            Ok(()) => {
                self.set(|s| {
                    s.phase = Phase::Healthy;
                    s.pid = Some(pid as u32);
                });
                self.emit(Event::Healthy {
                    pid: pid as u32,
                    generation,
                });
                Ok(daemon)
            }
            Err(e) => {
                daemon.signal(Signal::SIGKILL);
                let _ = daemon.wait().await;
                pidfile::remove(&self.paths.pid_file);
                Err(e)
            }
        }
    }

    /// Poll the health check until SERVING (every 5 ms for the first half second, when a
    /// healthy start normally lands, then every 20 ms), but fail at once if the daemon exits.
    pub async fn wait_ready(&self, daemon: &mut Daemon) -> Result<(), Error> {
        let started = Instant::now();
        let deadline = started + self.opts.startup_timeout;
        loop {
            let probe = health::serving(&self.paths.socket, self.opts.health_timeout);
            tokio::select! {
                status = daemon.wait() => {
                    // Give the output forwarders a moment to read the last lines.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if self.opts.mode == Mode::Detached {
                        self.tail.load_file(&self.paths.log_file);
                    }
                    return Err(Error::ExitedDuringStart { status, stderr_tail: self.tail.text() });
                }
                ok = probe => if ok { return Ok(()) },
            }
            if Instant::now() >= deadline {
                return Err(Error::StartTimeout {
                    timeout: self.opts.startup_timeout,
                    stderr_tail: self.tail.text(),
                });
            }
            tokio::select! {
                status = daemon.wait() => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    return Err(Error::ExitedDuringStart { status, stderr_tail: self.tail.text() });
                }
                _ = tokio::time::sleep(poll_interval(started.elapsed())) => {}
            }
        }
    }
}

fn poll_interval(elapsed: Duration) -> Duration {
    if elapsed < Duration::from_millis(500) {
        Duration::from_millis(5)
    } else {
        Duration::from_millis(20)
    }
}

pub(crate) async fn start(opts: SupervisorBuilder) -> Result<Supervisor, Error> {
    // Preflight: all of it before anything is written or spawned.
    let path_env = opts
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str());
    let binary = preflight::resolve_binary(&opts.binary, path_env)?;
    let paths = Paths::new(&opts.root_dir, &opts.state_dir, opts.debug_socket);
    preflight::socket_path(&paths.socket)?;
    let extra = opts
        .extra_config
        .as_deref()
        .map(config::parse_extra)
        .transpose()?;
    preflight::usable_dir("root dir", &opts.root_dir)?;
    preflight::usable_dir("state dir", &opts.state_dir)?;
    let lock = lock::acquire(&paths.lock_file)?;
    let version = version::detect(&binary).await?;
    let settings = Settings {
        log_level: opts.log_level.clone(),
        cri: opts.cri,
        oom_score_adj: opts.oom_score_adj,
        extra,
    };
    let text = config::render(&paths, version, &settings)?;
    let (events, _) = broadcast::channel(256);
    let (status, _) = watch::channel(Status {
        phase: Phase::Starting,
        pid: None,
        generation: 0,
        restarts: 0,
    });
    let ctx = Arc::new(Ctx {
        binary,
        paths,
        version,
        tail: Tail::default(),
        events,
        status,
        opts,
    });

    // Adopt only a daemon that provably is ours and is running with this very config; an
    // adopted daemon must also be healthy, or it is killed and replaced.
    let same_config = std::fs::read_to_string(&ctx.paths.config).is_ok_and(|t| t == text);
    let adopted = match pidfile::adoptable(&ctx.paths.pid_file, &ctx.binary, &ctx.paths.config) {
        Some(id) if same_config => adopt(&ctx, id.pid).await,
        Some(id) => {
            tracing::info!(
                pid = id.pid,
                "our daemon runs an older config; replacing it"
            );
            replace(&ctx, id.pid).await;
            None
        }
        None => None,
    };
    let daemon = match adopted {
        Some(d) => d,
        None => {
            config::write_atomic(&ctx.paths.config, &text)?;
            ctx.spawn_ready().await?
        }
    };
    let (commands, rx) = mpsc::channel(4);
    tokio::spawn(crate::monitor::run(
        ctx.clone(),
        daemon,
        rx,
        Backoff::new(ctx.opts.backoff),
    ));
    Ok(Supervisor::new(Arc::new(Inner {
        ctx,
        commands,
        _lock: lock,
    })))
}

async fn adopt(ctx: &Ctx, pid: i32) -> Option<Daemon> {
    let mut daemon = Daemon::adopt(pid).ok()?;
    match ctx.wait_ready(&mut daemon).await {
        Ok(()) => {
            ctx.set(|s| {
                s.phase = Phase::Healthy;
                s.pid = Some(pid as u32);
                s.generation = 1;
            });
            ctx.emit(Event::Adopted {
                pid: pid as u32,
                generation: 1,
            });
            Some(daemon)
        }
        Err(e) => {
            tracing::warn!(pid, error = %e, "our earlier daemon is not healthy; replacing it");
            daemon.signal(Signal::SIGKILL);
            let _ = daemon.wait().await;
            None
        }
    }
}

async fn replace(ctx: &Ctx, pid: i32) {
    if let Ok(mut daemon) = Daemon::adopt(pid) {
        daemon.signal(Signal::SIGTERM);
        if tokio::time::timeout(ctx.opts.shutdown_timeout, daemon.wait())
            .await
            .is_err()
        {
            daemon.signal(Signal::SIGKILL);
            let _ = daemon.wait().await;
        }
    }
}
