//! `ContainerdRuntime`: the one handle callers keep.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use warren_proto::{Clients, Namespace};

use crate::containerd::Containerd;
use crate::images::registry::RegistryOptions;
use crate::images::LayerUnpack;
use crate::RuntimeError;

/// containerd's default socket.
pub const DEFAULT_SOCKET: &str = "/run/containerd/containerd.sock";
/// The namespace Warren works in unless told otherwise.
pub const DEFAULT_NAMESPACE: &str = "warren";

/// A handle to one containerd namespace. Cheap to clone, `Send + Sync`; all clones share
/// one connection, which reconnects by itself after a daemon restart.
#[derive(Clone)]
pub struct ContainerdRuntime {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub socket: PathBuf,
    pub namespace: Namespace,
    /// The daemon, through the typed layer that alone speaks gRPC.
    pub containerd: Containerd,
    /// Connections the channel opened (1 + reconnects).
    pub connections: warren_proto::ConnectionCounter,
    pub registry: RegistryOptions,
    pub snapshotter: String,
    /// Who applies image layers (see [`LayerUnpack`]).
    pub layer_unpack: LayerUnpack,
    /// The HTTP client of every registry request, built on first use: building one (TLS
    /// roots, a connection pool) costs tens of milliseconds.
    pub registry_http: std::sync::OnceLock<reqwest::Client>,
    /// Disk limits of pulls and imports.
    pub disk: crate::images::DiskLimits,
    /// The roots of containerd's content store and snapshotter (asked on the first pull).
    pub store_paths: tokio::sync::OnceCell<Vec<PathBuf>>,
    /// One lock per image name: a second pull of an image being pulled waits for the first,
    /// then finds everything in place (no download, no unpack).
    pub pull_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Container settings: state dir, runc, log limits.
    pub containers: crate::containers::Settings,
    /// The log copiers running in this process, by container id.
    pub copiers: crate::containers::io::Copiers,
    /// Whether the daemon offers the Transfer service (asked on the first pull).
    pub transfer: tokio::sync::OnceCell<bool>,
    /// The bridge network of `NetworkMode::Bridge` containers.
    pub network: crate::network::NetworkConfig,
    /// Where namespaces are made and CNI plugins run.
    pub network_backend: Arc<dyn crate::network::NetworkBackend>,
}

impl std::fmt::Debug for ContainerdRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerdRuntime")
            .field("socket", &self.inner.socket)
            .field("namespace", &self.inner.namespace)
            .finish()
    }
}

/// Options of a [`ContainerdRuntime`].
#[derive(Debug, Clone, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct RuntimeOptions {
    /// The containerd socket (default `/run/containerd/containerd.sock`).
    #[setters(into)]
    pub socket: PathBuf,
    /// The namespace every call works in (default `warren`).
    #[setters(into)]
    pub namespace: String,
    /// How long a call waits for an unavailable daemon to come back (default 15 s).
    pub reconnect_deadline: Duration,
    /// Registry settings: plain-HTTP hosts, credentials, connect and idle-read timeouts.
    pub registry: RegistryOptions,
    /// Disk limits of pulls and imports: unpacked bytes per layer and per image, and the
    /// free space to leave on containerd's file system.
    pub disk: crate::images::DiskLimits,
    /// Who applies image layers to snapshots (default: Warren itself on overlayfs, see
    /// [`LayerUnpack`]).
    pub layer_unpack: LayerUnpack,
    /// The snapshotter images are unpacked into (default `overlayfs`).
    #[setters(into)]
    pub snapshotter: String,
    /// Where the runtime keeps container log files and stdio FIFOs (default
    /// `/var/lib/warren/runtime`).
    #[setters(into)]
    pub state_dir: PathBuf,
    /// The runc binary the shim runs (default: `runc` from the daemon's `PATH`).
    #[setters(into)]
    pub runc_binary: Option<PathBuf>,
    /// runc's state directory (default: containerd's, `/run/containerd/runc/<namespace>`).
    #[setters(into)]
    pub runc_root: Option<PathBuf>,
    /// A container log file is rotated when it grows past this (default 10 MiB).
    pub log_max_bytes: u64,
    /// How many log files a container keeps, the current one included (default 3).
    pub log_max_files: usize,
    /// Who writes container output to the log files (default: the shim's logger, see
    /// [`LogDriver`]).
    pub log_driver: LogDriver,
    /// The bridge network that `NetworkMode::Bridge` containers join (validated here).
    pub network: crate::network::NetworkConfig,
    /// Where network namespaces are made and CNI plugins run (default
    /// [`HostNetwork`](crate::network::HostNetwork): the host's own, which needs root). A
    /// test gives a fake here to check the network orchestration without root.
    pub network_backend: Arc<dyn crate::network::NetworkBackend>,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            socket: PathBuf::from(DEFAULT_SOCKET),
            namespace: DEFAULT_NAMESPACE.into(),
            reconnect_deadline: Duration::from_secs(15),
            registry: RegistryOptions::default(),
            disk: Default::default(),
            layer_unpack: LayerUnpack::Auto,
            snapshotter: "overlayfs".into(),
            state_dir: PathBuf::from("/var/lib/warren/runtime"),
            runc_binary: None,
            runc_root: None,
            log_max_bytes: 10 * 1024 * 1024,
            log_max_files: 3,
            log_driver: LogDriver::Auto,
            network: Default::default(),
            network_backend: Arc::new(crate::network::HostNetwork),
        }
    }
}

/// Who copies a container's stdout and stderr into its log file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LogDriver {
    /// containerd's shim runs a logger binary for each container (its `binary://` log URI):
    /// output never depends on this process, which only reads the files. The binary is
    /// this crate's `warren-logger`, or any program that runs
    /// [`logger::main`](crate::logger::main) for `BINARY logger SPEC` (`warrend` does).
    Shim(PathBuf),
    /// This process copies output from FIFOs on threads of its own: for hosts where no
    /// logger binary can be installed. A container blocks once its pipe is full while this
    /// process is down.
    InProcess,
    /// [`Shim`](Self::Shim) with the first `warren-logger` found: the path in the
    /// `WARREN_LOGGER` environment variable, then beside this program, then one directory
    /// up (cargo puts examples and tests one level below the binaries they build), then
    /// on `PATH`. Install it with `cargo install warren-runtime` (the crate's one binary).
    ///
    /// Auto never falls back to [`InProcess`](Self::InProcess) behind your back: with no
    /// logger found, handles are made and images pulled as usual, but starting a container
    /// fails with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the
    /// places looked in. Choose `InProcess` to copy output in this process on purpose.
    #[default]
    Auto,
}

/// The environment variable [`LogDriver::Auto`] reads first: the logger binary's absolute
/// path.
pub const LOGGER_ENV: &str = "WARREN_LOGGER";

impl LogDriver {
    /// The output this driver stands for on this host.
    fn resolve(&self) -> crate::containers::Output {
        use crate::containers::Output;
        match self {
            LogDriver::Shim(p) => Output::Logger(p.clone()),
            LogDriver::InProcess => Output::InProcess,
            LogDriver::Auto => find_logger(
                std::env::var_os(LOGGER_ENV).map(PathBuf::from),
                std::env::current_exe()
                    .ok()
                    .and_then(|e| e.parent().map(Path::to_path_buf)),
                std::env::var_os("PATH"),
            ),
        }
    }
}

/// [`LogDriver::Auto`]'s search: `from_env` as given, else `warren-logger` in `exe_dir`,
/// its parent, or a directory of `path` (a `PATH` value).
fn find_logger(
    from_env: Option<PathBuf>,
    exe_dir: Option<PathBuf>,
    path: Option<std::ffi::OsString>,
) -> crate::containers::Output {
    use crate::containers::Output;
    const NAME: &str = "warren-logger";
    if let Some(p) = from_env {
        // Named on purpose: used as given (with_options checks it is absolute).
        return Output::Logger(p);
    }
    let beside = exe_dir.as_ref().map(|d| d.join(NAME));
    let above = exe_dir
        .as_ref()
        .and_then(|d| d.parent())
        .map(|d| d.join(NAME));
    let on_path = path.and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(NAME))
            .find(|f| f.is_file())
    });
    match [beside, above, on_path]
        .into_iter()
        .flatten()
        .find(|f| f.is_file())
    {
        Some(found) => Output::Logger(found),
        None => Output::NoLogger(format!(
            "no {NAME} found ({LOGGER_ENV} unset, none beside {} or one directory up, none on \
             PATH): install it with `cargo install warren-runtime`, set {LOGGER_ENV} to its \
             path, or choose LogDriver::Shim(path) or LogDriver::InProcess (output copied in \
             this process; containers then block while it is down)",
            exe_dir
                .as_deref()
                .map_or_else(|| "this program".into(), |d| d.display().to_string())
        )),
    }
}

impl ContainerdRuntime {
    /// A handle with default options for the daemon at `socket`. Does not connect yet: the
    /// first call does, so a handle can be made before the daemon is up.
    pub fn new(socket: impl AsRef<Path>) -> Result<Self, RuntimeError> {
        Self::with_options(RuntimeOptions {
            socket: socket.as_ref().to_path_buf(),
            ..Default::default()
        })
    }

    /// A handle with `options`; the namespace is validated here.
    pub fn with_options(options: RuntimeOptions) -> Result<Self, RuntimeError> {
        let namespace = Namespace::new(options.namespace)?;
        options.network.validate()?;
        options.registry.validate()?;
        options.disk.validate()?;
        if options.log_max_bytes < 4096 || options.log_max_files == 0 {
            return Err(RuntimeError::InvalidRequest {
                field: "log limits",
                value: format!(
                    "{} bytes x {} files",
                    options.log_max_bytes, options.log_max_files
                ),
                allowed: "at least 4096 bytes per file and at least 1 file".into(),
            });
        }
        let output = options.log_driver.resolve();
        if let crate::containers::Output::Logger(l) = &output {
            if !l.is_absolute() {
                return Err(RuntimeError::InvalidRequest {
                    field: "log_driver",
                    value: l.display().to_string(),
                    allowed: "the absolute path of a logger binary".into(),
                });
            }
        }
        if !options.state_dir.is_absolute() {
            return Err(RuntimeError::InvalidRequest {
                field: "state_dir",
                value: options.state_dir.display().to_string(),
                allowed: "an absolute path".into(),
            });
        }
        let connections = warren_proto::ConnectionCounter::default();
        let channel = warren_proto::connect_lazy_counted(&options.socket, connections.clone());
        let containers = crate::containers::Settings {
            state_dir: options.state_dir.join(namespace.as_str()),
            runc_binary: options.runc_binary,
            runc_root: options.runc_root,
            log_max_bytes: options.log_max_bytes,
            log_max_files: options.log_max_files,
            output,
        };
        Ok(ContainerdRuntime {
            inner: Arc::new(Inner {
                containerd: Containerd::new(
                    Clients::new(channel, &namespace),
                    options.socket.clone(),
                    options.reconnect_deadline,
                ),
                connections,
                socket: options.socket,
                namespace,
                registry: options.registry,
                snapshotter: options.snapshotter,
                layer_unpack: options.layer_unpack,
                registry_http: Default::default(),
                disk: options.disk,
                store_paths: Default::default(),
                pull_locks: Mutex::new(HashMap::new()),
                containers,
                copiers: Default::default(),
                transfer: Default::default(),
                network: options.network.clone(),
                network_backend: options.network_backend,
            }),
        })
    }

    /// The namespace this handle works in.
    pub fn namespace(&self) -> &str {
        self.inner.namespace.as_str()
    }

    /// How many connections this handle has opened to the daemon: 0 before the first call,
    /// 1 while the first connection stays up, one more for every reconnect (after a daemon
    /// restart, or anything else that broke the connection).
    pub fn connections(&self) -> u64 {
        self.inner.connections.get()
    }

    /// The socket this handle talks to.
    pub fn socket(&self) -> &Path {
        &self.inner.socket
    }

    /// The HTTP client registry requests go through (built on first use).
    pub(crate) fn registry_http(&self) -> Result<reqwest::Client, RuntimeError> {
        if let Some(c) = self.inner.registry_http.get() {
            return Ok(c.clone());
        }
        let client = self.inner.registry.http_client()?;
        Ok(self.inner.registry_http.get_or_init(|| client).clone())
    }

    /// The pull lock of image `name`.
    pub(crate) fn pull_lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .inner
            .pull_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(name.to_string()).or_default().clone()
    }

    /// The daemon, through the typed containerd layer.
    pub(crate) fn containerd(&self) -> &Containerd {
        &self.inner.containerd
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers::Output;

    #[test]
    fn auto_finds_the_logger_or_says_how_to_get_one() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("bin");
        let examples = bin.join("examples");
        let elsewhere = root.path().join("elsewhere");
        for d in [&examples, &elsewhere] {
            std::fs::create_dir_all(d).unwrap();
        }
        let found = |env: Option<&Path>, path: Option<&Path>| {
            find_logger(
                env.map(Path::to_path_buf),
                Some(examples.clone()),
                path.map(|p| p.as_os_str().to_os_string()),
            )
        };
        // Nothing anywhere: refused with the places looked in and the ways out.
        let Output::NoLogger(why) = found(None, Some(&elsewhere)) else {
            panic!("a logger was found in an empty tree");
        };
        assert!(why.contains(&examples.display().to_string()), "{why}");
        assert!(why.contains("cargo install warren-runtime"), "{why}");
        assert!(why.contains("LogDriver::InProcess"), "{why}");
        // On PATH.
        std::fs::write(elsewhere.join("warren-logger"), b"").unwrap();
        assert!(
            matches!(found(None, Some(&elsewhere)), Output::Logger(p) if p.starts_with(&elsewhere))
        );
        // One directory up (cargo's examples/ and deps/) comes before PATH.
        std::fs::write(bin.join("warren-logger"), b"").unwrap();
        assert!(
            matches!(found(None, Some(&elsewhere)), Output::Logger(p) if p == bin.join("warren-logger"))
        );
        // Beside the program comes first of the searched places.
        std::fs::write(examples.join("warren-logger"), b"").unwrap();
        assert!(
            matches!(found(None, None), Output::Logger(p) if p == examples.join("warren-logger"))
        );
        // WARREN_LOGGER wins, as given.
        let named = Path::new("/opt/logger");
        assert!(matches!(found(Some(named), None), Output::Logger(p) if p == named));
    }
}
