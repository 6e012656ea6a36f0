//! The containerd warrend drives: its own, started through warren-supervisor (detached, so
//! a warrend that dies leaves it and its containers running and the next warrend adopts
//! it), or an existing daemon named by `containerd.address`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use warren_supervisor::{Event, Mode, Supervisor};

use super::metrics::Metrics;
use crate::config::Config;
use crate::deps;

/// The daemon warrend talks to.
pub struct Containerd {
    address: PathBuf,
    supervisor: Option<Supervisor>,
}

impl Containerd {
    /// Attach, or start (adopting a daemon a previous warrend left running).
    pub async fn start(config: &Config) -> anyhow::Result<Containerd> {
        if let Some(address) = &config.containerd.address {
            return Ok(Containerd {
                address: address.clone(),
                supervisor: None,
            });
        }
        let bin_dir = config
            .containerd
            .bin_dir
            .clone()
            .or_else(deps::containerd_bin_dir)
            .context(
                "no containerd found: give --containerd-bin-dir (or containerd.bin_dir), put containerd on PATH, \
                 run `cargo xtask deps`, or attach to a running daemon with --containerd-address",
            )?;
        let binary = bin_dir.join("containerd");
        if !binary.is_file() {
            anyhow::bail!(
                "containerd.bin_dir: {} has no containerd binary",
                bin_dir.display()
            );
        }
        let runc_dir = config.containerd.runc_dir.clone().or_else(deps::runc_dir);
        let mut path = vec![bin_dir.clone()];
        path.extend(runc_dir);
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let path = std::env::join_paths(path).context("PATH for containerd")?;
        let root = config.paths.root.join("containerd");
        let state = config.paths.state.join("containerd");
        let mut builder = Supervisor::builder(&root, &state)
            .binary(binary)
            .env("PATH", path.to_string_lossy())
            .mode(Mode::Detached)
            .log_file(config.paths.root.join("containerd.log"))
            // The node's daemon goes after containers when memory runs out (Docker gives
            // its daemons the same score); containers get 0 in their spec, not this.
            .oom_score_adj(-500);
        if let Some(level) = &config.containerd.log_level {
            builder = builder.log_level(level);
        }
        let supervisor = builder.start().await.context("starting containerd")?;
        tracing::info!(
            pid = supervisor.pid().unwrap_or_default(),
            version = %supervisor.version(),
            "managed containerd is healthy"
        );
        Ok(Containerd {
            address: supervisor.address().to_path_buf(),
            supervisor: Some(supervisor),
        })
    }

    /// Its socket.
    pub fn address(&self) -> &Path {
        &self.address
    }

    /// True if warrend started (or adopted) it.
    pub fn is_managed(&self) -> bool {
        self.supervisor.is_some()
    }

    /// Count the supervisor's restarts of the daemon into `metrics`.
    pub fn watch_restarts(&self, metrics: Arc<Metrics>) -> tokio::task::JoinHandle<()> {
        let Some(sup) = &self.supervisor else {
            return tokio::spawn(async {});
        };
        let mut events = sup.events();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(Event::Restarting { attempt, .. }) => {
                        tracing::warn!(attempt, "containerd is being restarted");
                        metrics.supervisor_restarts.inc();
                    }
                    Ok(Event::Stopped) | Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        return
                    }
                    _ => {}
                }
            }
        })
    }

    /// Stop the managed daemon (containers keep running in their shims); nothing for an
    /// attached one.
    pub async fn shutdown(&self) -> anyhow::Result<()> {
        if let Some(sup) = &self.supervisor {
            sup.clone()
                .shutdown()
                .await
                .context("stopping the managed containerd")?;
        }
        Ok(())
    }
}
