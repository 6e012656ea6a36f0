//! Start-up: preflight (nothing is created before all of it passes), lock, config, then
//! adopt our running daemon or spawn one, wait until it serves, and hand it to the monitor.

use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, watch};

use crate::backoff::Backoff;
use crate::blocking::blocking;
use crate::config::{self, Paths, Settings};
use crate::ctx::Ctx;
use crate::events::{Phase, Status};
use crate::handle::{Inner, Supervisor};
use crate::options::Options;
use crate::output::Tail;
use crate::process::Daemon;
use crate::{lock, pidfile, preflight, proc_info, version, Error};

pub(crate) async fn start(opts: Options) -> Result<Supervisor, Error> {
    // Preflight: everything that can be checked without touching the disk, first.
    opts.validate()?;
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
    let version = version::detect(&binary, opts.startup_timeout).await?;
    // Then the dirs, and the lock before anything in them is changed.
    let (root, state, lock_file) = (
        opts.root_dir.clone(),
        opts.state_dir.clone(),
        paths.lock_file.clone(),
    );
    let lock = blocking(move || {
        preflight::usable_dir("root dir", &root)?;
        preflight::usable_dir("state dir", &state)?;
        lock::acquire(&lock_file)
    })
    .await?;
    let text = config::render(
        &paths,
        version,
        &Settings {
            log_level: opts.log_level.clone(),
            cri: opts.cri,
            oom_score_adj: opts.oom_score_adj,
            extra,
        },
    )?;
    let (events, _) = broadcast::channel(256);
    let (status, _) = watch::channel(Status {
        phase: Phase::Starting,
        pid: None,
        generation: 0,
        restarts: 0,
        failed_attempts: 0,
    });
    let ctx = Arc::new(Ctx {
        binary,
        paths,
        version,
        tail: Tail::default(),
        events,
        status,
        current: Mutex::new(None),
        opts,
    });

    // Adopt only a daemon that provably is ours and runs this very config and binary; it
    // must also answer, or it is killed and replaced. The socket is left alone until then:
    // removing it first (as dockerd does) makes adoption impossible.
    let mut adopted = None;
    if let Some(ours) = pidfile::ours(&ctx.paths.pid_file, &ctx.binary, &ctx.paths.config) {
        let same_config = std::fs::read_to_string(&ctx.paths.config).is_ok_and(|t| t == text);
        if same_config && !ours.upgraded {
            adopted = adopt(&ctx, &ours.id).await;
        } else {
            tracing::info!(
                pid = ours.id.pid,
                "our earlier containerd runs another config or binary; replacing it"
            );
            replace(&ctx, &ours.id).await;
        }
    }
    let daemon = match adopted {
        Some(daemon) => daemon,
        None => {
            let path = ctx.paths.config.clone();
            blocking(move || config::write_atomic("writing config", &path, &text)).await?;
            let mut daemon = ctx.spawn().await?;
            if let Err(e) = ctx.ready(&mut daemon, false).await {
                ctx.discard(&mut daemon).await;
                return Err(e);
            }
            daemon
        }
    };
    let (commands, rx) = mpsc::channel(4);
    tokio::spawn(crate::monitor::run(
        ctx.clone(),
        daemon,
        rx,
        Backoff::new(ctx.opts.backoff),
        lock,
    ));
    Ok(Supervisor::new(Arc::new(Inner { ctx, commands })))
}

async fn adopt(ctx: &Ctx, id: &proc_info::Identity) -> Option<Daemon> {
    let mut daemon = match ctx.adopt(id) {
        Ok(d) => d,
        Err(e) => {
            tracing::info!(pid = id.pid, error = %e, "our earlier containerd is gone");
            return None;
        }
    };
    match ctx.ready(&mut daemon, false).await {
        Ok(()) => {
            tracing::info!(pid = id.pid, "adopted our running containerd");
            Some(daemon)
        }
        Err(e) => {
            tracing::warn!(pid = id.pid, error = %e, "our earlier containerd does not answer; replacing it");
            ctx.discard(&mut daemon).await;
            None
        }
    }
}

/// Stop a daemon of ours that runs an outdated config or binary.
async fn replace(ctx: &Ctx, id: &proc_info::Identity) {
    if let Ok(mut daemon) = Daemon::adopt(id.pid, id.start_time, true) {
        ctx.stop(&mut daemon).await;
    }
}
