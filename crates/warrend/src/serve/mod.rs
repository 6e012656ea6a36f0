//! `warrend serve`: the node daemon. It manages (or attaches to) containerd, serves the node
//! API on a unix socket and `/healthz` + `/metrics` on loopback HTTP, applies restart
//! policies, and on SIGTERM stops serving and leaves containers running (unless told
//! otherwise) before shutting its managed containerd down.

mod api;
mod containerd;
mod convert;
mod errors;
mod health;
mod host_info;
mod http;
pub mod journal;
mod labels;
mod metrics;
#[cfg(test)]
mod policy_tests;
mod restart;
mod socket;
#[cfg(test)]
pub(crate) mod testing;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use warren_runtime::{ContainerdRuntime, RuntimeOptions};

use crate::config::Config;
use crate::deps;

/// Options of `warrend serve`; each overrides the config file's key of the same meaning.
#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// The TOML config file (default: /etc/warren/warrend.toml if it exists).
    #[arg(long, env = "WARREN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Persistent data directory [paths.root].
    #[arg(long, env = "WARREN_ROOT")]
    pub root: Option<PathBuf>,
    /// Runtime state directory [paths.state].
    #[arg(long, env = "WARREN_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Attach to this containerd socket instead of managing one [containerd.address].
    #[arg(long, env = "WARREN_CONTAINERD_ADDRESS")]
    pub containerd_address: Option<PathBuf>,
    /// Folder with `containerd` and its shim [containerd.bin_dir].
    #[arg(long, env = "WARREN_CONTAINERD_BIN_DIR")]
    pub containerd_bin_dir: Option<PathBuf>,
    /// Folder with `runc` [containerd.runc_dir].
    #[arg(long, env = "WARREN_RUNC_BIN_DIR")]
    pub runc_bin_dir: Option<PathBuf>,
    /// The containerd namespace [containerd.namespace].
    #[arg(long, env = "WARREN_NAMESPACE")]
    pub namespace: Option<String>,
    /// A group allowed to use the API socket [api.group].
    #[arg(long, env = "WARREN_SOCKET_GROUP")]
    pub socket_group: Option<String>,
    /// Loopback address of /healthz and /metrics; "" turns them off [http.address].
    #[arg(long, env = "WARREN_HTTP_ADDRESS")]
    pub http_address: Option<String>,
    /// Folder with the CNI plugins [network.cni_bin_dir].
    #[arg(long, env = "WARREN_CNI_BIN_DIR")]
    pub cni_bin_dir: Option<PathBuf>,
    /// Bridge device name [network.bridge].
    #[arg(long, env = "WARREN_BRIDGE")]
    pub bridge: Option<String>,
    /// Bridge subnet, e.g. 10.88.0.0/16 [network.subnet].
    #[arg(long, env = "WARREN_SUBNET")]
    pub subnet: Option<String>,
    /// A registry spoken to over plain HTTP (repeatable) [registry.plain_http].
    #[arg(
        long = "insecure-registry",
        env = "WARREN_INSECURE_REGISTRIES",
        value_delimiter = ','
    )]
    pub insecure_registries: Vec<String>,
    /// Stop running containers when warrend exits [stop_containers_on_exit].
    #[arg(long, env = "WARREN_STOP_CONTAINERS_ON_EXIT")]
    pub stop_containers_on_exit: bool,
}

impl ServeArgs {
    /// The config file (if any) with the flags and environment laid over it.
    pub fn resolve(&self, socket: Option<PathBuf>) -> anyhow::Result<Config> {
        let default_file = PathBuf::from("/etc/warren/warrend.toml");
        let mut c = match &self.config {
            Some(p) => Config::load(p)?,
            None if default_file.is_file() => Config::load(&default_file)?,
            None => Config::default(),
        };
        fn set<T: Clone>(slot: &mut T, v: &Option<T>) {
            if let Some(v) = v {
                *slot = v.clone();
            }
        }
        fn set_opt<T: Clone>(slot: &mut Option<T>, v: &Option<T>) {
            if v.is_some() {
                *slot = v.clone();
            }
        }
        set(&mut c.paths.root, &self.root);
        set(&mut c.paths.state, &self.state_dir);
        set_opt(&mut c.containerd.address, &self.containerd_address);
        set_opt(&mut c.containerd.bin_dir, &self.containerd_bin_dir);
        set_opt(&mut c.containerd.runc_dir, &self.runc_bin_dir);
        set_opt(&mut c.containerd.namespace, &self.namespace);
        set_opt(&mut c.api.socket, &socket);
        set_opt(&mut c.api.group, &self.socket_group);
        set(&mut c.http.address, &self.http_address);
        set_opt(&mut c.network.cni_bin_dir, &self.cni_bin_dir);
        set_opt(&mut c.network.bridge, &self.bridge);
        set_opt(&mut c.network.subnet, &self.subnet);
        c.registry
            .plain_http
            .extend(self.insecure_registries.iter().cloned());
        c.stop_containers_on_exit |= self.stop_containers_on_exit;
        if c.network.cni_bin_dir.is_none() {
            c.network.cni_bin_dir = deps::cni_bin_dir();
        }
        c.validate()?;
        Ok(c)
    }
}

/// A warrend event beside containerd's: restart-policy decisions.
#[derive(Debug, Clone)]
pub struct NodeEvent {
    pub container_id: String,
    pub kind: String,
    pub pid: u32,
    pub exit_code: u32,
    pub exec_id: String,
}

impl Daemon {
    /// Record one of warrend's own events in the event history.
    pub fn event(&self, e: NodeEvent) {
        self.journal.record(convert::node_event(e));
    }
}

/// What every part of the daemon shares.
#[derive(Clone)]
pub struct Daemon {
    pub rt: ContainerdRuntime,
    pub config: Arc<Config>,
    pub metrics: Arc<metrics::Metrics>,
    /// The event history every `Events` call reads (containerd's and warrend's events).
    pub journal: journal::Journal,
    pub restart: restart::Restarts,
    /// Health checks: their state, for ps, inspect and metrics.
    pub health: health::Monitor,
    pub containerd: Arc<containerd::Containerd>,
    /// The runc and cgroup facts `info` reports.
    pub host: Arc<host_info::HostInfo>,
    /// Cancelled when warrend shuts down: endless streams (logs -f, events, attached runs)
    /// end then, so the server's graceful stop does not wait for them, and per-container
    /// tasks stop waiting (see [`Daemon::unless_stopping`]).
    pub stopping: tokio_util::sync::CancellationToken,
    /// Per-container tasks (restart policies, `--rm` removals, health checks, attached
    /// runs' output): shutdown waits for them, so none is cut off half-way through a
    /// change to a container.
    pub background: tokio_util::task::TaskTracker,
}

impl Daemon {
    /// The daemon's shared state around `rt`, a handle on `containerd`: nothing runs yet.
    pub async fn new(
        config: Arc<Config>,
        containerd: Arc<containerd::Containerd>,
        rt: ContainerdRuntime,
    ) -> Daemon {
        Daemon {
            rt,
            metrics: Arc::new(metrics::Metrics::new()),
            journal: journal::Journal::new(config.api.events_retained),
            restart: restart::Restarts::new(&config),
            health: health::Monitor::new(&config),
            containerd,
            host: Arc::new(host_info::detect(&config).await),
            stopping: Default::default(),
            background: Default::default(),
            config,
        }
    }

    /// Run a per-container task that warrend's shutdown waits for (up to 10 s).
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.background.spawn(task)
    }

    /// `wait`'s output, or `None` once warrend begins shutting down. For the waits of
    /// per-container tasks (a back-off, a container's exit, a check's interval), never for
    /// a change under way: a restart's start or a removal runs to its end.
    pub async fn unless_stopping<F: std::future::Future>(&self, wait: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            _ = self.stopping.cancelled() => None,
            out = wait => Some(out),
        }
    }
}

/// Run the daemon until SIGTERM or SIGINT.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    for dir in [&config.paths.root, &config.paths.state] {
        private_dir(dir)?;
    }
    // Refuse early (before containerd starts) if another warrend serves the socket.
    let listener = socket::bind(&config.socket(), config.api.group.as_deref()).await?;

    let containerd = Arc::new(containerd::Containerd::start(&config).await?);
    let address = containerd.address().to_path_buf();
    let mut registry = config.registry_timeouts(
        warren_runtime::RegistryOptions::default().plain_http(config.registry.plain_http.clone()),
    );
    for (host, auth) in &config.registry.auth {
        registry
            .credentials
            .insert(host.clone(), (auth.username.clone(), auth.password.clone()));
    }
    let mut options = RuntimeOptions::default()
        .socket(address.clone())
        .namespace(config.namespace())
        .registry(registry)
        .state_dir(config.paths.root.join("runtime"))
        .network(config.network_config())
        .log_max_bytes(config.logs.max_bytes)
        .log_max_files(config.logs.max_files)
        .log_driver(log_driver(&config)?)
        .layer_unpack(config.layer_unpack())
        .disk(
            config.disk_limits(
                // A managed containerd's root is ours; an attached one reports its own paths.
                containerd
                    .is_managed()
                    .then(|| config.paths.root.join("containerd")),
            ),
        );
    options.runc_binary = config
        .containerd
        .runc_dir
        .as_ref()
        .map(|d| d.join("runc"))
        .filter(|p| p.is_file());
    let rt = ContainerdRuntime::with_options(options)?;
    let daemon = Daemon::new(config.clone(), containerd.clone(), rt.clone()).await;
    let stopping = daemon.stopping.clone();

    let reattached = rt
        .reattach_logs()
        .await
        .context("re-attaching to running containers")?;
    daemon.restart.load(&daemon).await?;
    // The daemon's own long-lived tasks, owned in one set: shut down (aborted and awaited)
    // together once the API has stopped.
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(journal::record_containerd(daemon.clone()));
    tasks.spawn(restart::watch(daemon.clone()));
    tasks.spawn(health::watch(daemon.clone()));
    let supervisor_watch = containerd.watch_restarts(daemon.metrics.clone());
    let http = match config.http_address()? {
        Some(addr) => Some(http::serve(daemon.clone(), addr).await?),
        None => None,
    };
    tracing::info!(
        socket = %config.socket().display(),
        containerd = %address.display(),
        managed = containerd.is_managed(),
        reattached,
        "warrend is serving"
    );

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::serve(daemon.clone(), listener, stop_rx));
    wait_for_signal().await?;
    tracing::info!("warrend is shutting down");
    stopping.cancel();
    let _ = stop_tx.send(());
    match tokio::time::timeout(Duration::from_secs(10), server).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the API server ended with an error"),
        Ok(_) => {}
        Err(_) => tracing::warn!("API calls still running after 10 s were cut off"),
    }
    let _ = std::fs::remove_file(config.socket());
    tasks.shutdown().await;
    // Per-container tasks: their waits end now; a start or removal under way finishes.
    daemon.background.close();
    if tokio::time::timeout(Duration::from_secs(10), daemon.background.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            running = daemon.background.len(),
            "per-container tasks still running after 10 s were cut off"
        );
    }
    supervisor_watch.abort();
    if let Some(h) = http {
        h.abort();
    }
    if config.stop_containers_on_exit {
        stop_all(&rt).await;
    }
    containerd.shutdown().await?;
    tracing::info!("warrend stopped");
    Ok(())
}

/// Create `dir` (and its parents) if missing, and make it root's alone (0700): container
/// logs, restart state and containerd's files live below it.
fn private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private", dir.display()))
}

/// Who writes container logs: by default the shim runs this very binary as `warrend
/// logger`, so a warrend restart or upgrade never stalls a container.
fn log_driver(config: &Config) -> anyhow::Result<warren_runtime::LogDriver> {
    if config.logs.driver == "in-process" {
        return Ok(warren_runtime::LogDriver::InProcess);
    }
    let exe = std::env::current_exe().context("finding warrend's own binary for the logger")?;
    Ok(warren_runtime::LogDriver::Shim(exe))
}

/// Give freed heap back to the kernel. glibc keeps freed memory in its arenas; after work
/// that allocates a lot and frees it (a pull or an import) that would stay in warrend's
/// resident size (measured: about 1 MiB after a client-side pull).
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only releases free pages of glibc's own
    // arenas and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Stop every running container of the namespace (10 s grace each, all at once).
async fn stop_all(rt: &ContainerdRuntime) {
    let Ok(list) = rt.list_containers().await else {
        return;
    };
    let stops = list
        .into_iter()
        .filter(|c| c.status.state == warren_runtime::ContainerState::Running)
        .map(|c| {
            let rt = rt.clone();
            async move {
                if let Err(e) = rt.stop_container(&c.id, Duration::from_secs(10)).await {
                    tracing::warn!(container = %c.id, error = %e, "could not stop at exit");
                }
            }
        });
    futures::future::join_all(stops).await;
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn args(argv: &[&str]) -> ServeArgs {
        let mut all = vec!["serve"];
        all.extend_from_slice(argv);
        Cmd::try_parse_from(all).unwrap().serve
    }

    #[test]
    fn flags_override_the_file_and_the_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.toml");
        std::fs::write(
            &file,
            "[paths]\nroot = \"/srv/warren\"\n[network]\nbridge = \"fromfile0\"\nsubnet = \"10.50.0.0/24\"\n",
        )
        .unwrap();
        let c = args(&[
            "--config",
            file.to_str().unwrap(),
            "--bridge",
            "fromflag0",
            "--insecure-registry",
            "a.local:5000,b.local:5000",
            "--stop-containers-on-exit",
        ])
        .resolve(Some("/tmp/x.sock".into()))
        .unwrap();
        assert_eq!(c.paths.root, PathBuf::from("/srv/warren"));
        assert_eq!(c.network.bridge.as_deref(), Some("fromflag0"));
        assert_eq!(c.network.subnet.as_deref(), Some("10.50.0.0/24"));
        assert_eq!(c.registry.plain_http, ["a.local:5000", "b.local:5000"]);
        assert_eq!(c.socket(), PathBuf::from("/tmp/x.sock"));
        assert!(c.stop_containers_on_exit);
    }

    #[test]
    fn a_bad_flag_value_is_refused_with_its_key() {
        let e = args(&["--subnet", "10.0.0.0/40"])
            .resolve(None)
            .unwrap_err();
        assert!(format!("{e:#}").contains("network"), "{e:#}");
        let e = args(&["--http-address", "0.0.0.0:80"])
            .resolve(None)
            .unwrap_err();
        assert!(format!("{e:#}").contains("http.address"), "{e:#}");
    }
}
