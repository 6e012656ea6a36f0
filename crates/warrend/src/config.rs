//! `warrend serve`'s configuration: a TOML file, overridden by `WARREN_*` environment
//! variables and flags (clap reads both), checked as a whole before anything starts.
//!
//! Every key has a default, so an empty file (or none) is a working node configuration.
//! Unknown keys are refused, and a value that is wrong is reported with its key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// The whole file. Sections mirror the parts warrend composes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub paths: PathsConfig,
    pub containerd: ContainerdConfig,
    pub api: ApiConfig,
    pub http: HttpConfig,
    pub network: NetworkSection,
    pub registry: RegistryConfig,
    pub restart: RestartConfig,
    pub logs: LogsConfig,
    pub node: NodeConfig,
    /// Stop every running container when warrend exits (default: leave them running).
    pub stop_containers_on_exit: bool,
}

/// The node as orchestrators see it (the node API's `Info`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// The node's name; default: the host name.
    pub name: Option<String>,
    /// Labels schedulers place containers by (e.g. `zone = "edge-3"`).
    pub labels: BTreeMap<String, String>,
    /// What containers may not use: kept for the system and warrend itself.
    pub reserved: ReservedConfig,
}

/// Resources set aside from the node's capacity (allocatable = capacity - reserved).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReservedConfig {
    /// CPUs (fractions allowed).
    pub cpus: f64,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// Process ids.
    pub pids: u64,
}

impl NodeConfig {
    /// The configured name, else the host's.
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_default()
        })
    }

    fn validate(&self) -> anyhow::Result<()> {
        let word = |s: &str| {
            !s.is_empty()
                && s.len() <= 253
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
        };
        if let Some(name) = &self.name {
            if !word(name) || name.contains('/') {
                bail!("node.name: {name:?} is not a node name (1 to 253 of a-z, A-Z, 0-9, '.', '-', '_')");
            }
        }
        for (k, v) in &self.labels {
            if !word(k) {
                bail!("node.labels: key {k:?} is not a label key (1 to 253 of a-z, A-Z, 0-9, '.', '-', '_', '/')");
            }
            if v.len() > 1024 || v.chars().any(char::is_control) {
                bail!("node.labels.{k}: the value is over 1024 bytes or has control characters");
            }
        }
        let cpus = self.reserved.cpus;
        if !cpus.is_finite() || cpus < 0.0 {
            bail!("node.reserved.cpus: {cpus} is not a CPU count (0 or more, e.g. 0.5)");
        }
        Ok(())
    }
}

/// Where warrend keeps its data.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PathsConfig {
    /// Persistent data: the managed containerd's root, container logs, IPAM leases.
    pub root: PathBuf,
    /// Runtime state (tmpfs): sockets, the managed containerd's state.
    pub state: PathBuf,
}

impl Default for PathsConfig {
    fn default() -> Self {
        PathsConfig {
            root: "/var/lib/warren".into(),
            state: "/run/warren".into(),
        }
    }
}

/// The containerd warrend drives.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ContainerdConfig {
    /// Attach to the daemon at this socket instead of managing one.
    pub address: Option<PathBuf>,
    /// Folder with `containerd` and its shim (managed mode); default: `PATH`, then what
    /// `cargo xtask deps` fetched.
    pub bin_dir: Option<PathBuf>,
    /// Folder with `runc`, put on the managed daemon's `PATH` after `bin_dir`.
    pub runc_dir: Option<PathBuf>,
    /// The namespace warrend's containers and images live in.
    pub namespace: Option<String>,
    /// The managed daemon's log level.
    pub log_level: Option<String>,
}

/// The node API socket.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Default: `<paths.state>/warrend.sock`.
    pub socket: Option<PathBuf>,
    /// A group whose members may use the socket too (mode 0660); default: root only (0600).
    pub group: Option<String>,
    /// How many of the latest events warrend keeps for clients that resume an event stream
    /// (default 10,000; at least 1).
    pub events_retained: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            socket: None,
            group: None,
            events_retained: 10_000,
        }
    }
}

/// Loopback HTTP: `/healthz` and `/metrics`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// A loopback address; port 0 picks a free port (written to `<paths.state>/http.addr`).
    /// An empty string turns HTTP off.
    pub address: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            address: "127.0.0.1:9323".into(),
        }
    }
}

/// The bridge network `run` attaches containers to by default.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSection {
    /// The CNI network name (iptables chains and IPAM records are named after it).
    pub name: Option<String>,
    pub bridge: Option<String>,
    pub subnet: Option<String>,
    pub gateway: Option<std::net::Ipv4Addr>,
    pub mtu: Option<u32>,
    pub ip_masq: Option<bool>,
    pub dns: Vec<std::net::IpAddr>,
    /// Folder with the CNI plugins; default `/opt/cni/bin`, then what `cargo xtask deps`
    /// fetched.
    pub cni_bin_dir: Option<PathBuf>,
    /// `bridge` (default) or `none`: the network of containers that do not name one.
    pub default_mode: Option<String>,
}

/// Registries.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// Registries (`host[:port]`) spoken to over plain HTTP.
    pub plain_http: Vec<String>,
    /// Credentials per registry host.
    pub auth: BTreeMap<String, RegistryAuth>,
    /// At most this many layers of one client-side pull download at once (1 to 32;
    /// default 3, as containerd's).
    pub max_concurrent_downloads: Option<usize>,
    /// Who unpacks image layers: `warren` (default: warrend applies them itself, while they
    /// download, on the overlayfs snapshotter) or `containerd` (its Diff.Apply, and its
    /// Transfer service for pulls on 2.x).
    pub layer_unpack: Option<String>,
    /// Seconds a connection to a registry (TCP and TLS) may take (1 to 3600; default 30).
    pub connect_timeout_s: Option<u64>,
    /// Seconds a registry may stay silent while warrend waits for its answer or the next
    /// bytes of a body (1 to 3600; default 60). An idle timeout: a slow but steady
    /// download never hits it, a stalled one fails instead of hanging the pull.
    pub read_timeout_s: Option<u64>,
    /// The most bytes one layer may unpack to (default 64 GiB): a layer that expands
    /// without end is stopped there, not when the disk is full.
    pub max_layer_unpacked_bytes: Option<u64>,
    /// The most bytes all layers of one image may unpack to (default 64 GiB).
    pub max_image_unpacked_bytes: Option<u64>,
    /// Pulls and imports stop when less than this many bytes are free on the file system
    /// of containerd's root (default 1 GiB; 0 turns the check off).
    pub min_free_bytes: Option<u64>,
}

/// Basic-auth credentials of one registry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegistryAuth {
    pub username: String,
    pub password: String,
}

/// Container logs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Who writes them: `shim` (containerd's shim runs `warrend logger` per container, so
    /// output never waits for warrend) or `in-process` (warrend copies it; containers block
    /// while warrend is down).
    pub driver: String,
    /// A log file is rotated when it would grow past this many bytes.
    pub max_bytes: u64,
    /// Files kept per container, the current one included.
    pub max_files: usize,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            driver: "shim".into(),
            max_bytes: 10 * 1024 * 1024,
            max_files: 3,
        }
    }
}

/// Restart policy back-off.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RestartConfig {
    /// The delay before the first restart; it doubles with each quick failure.
    pub backoff_initial_ms: u64,
    /// The longest delay.
    pub backoff_max_ms: u64,
    /// A run at least this long resets the back-off.
    pub reset_after_s: u64,
}

impl Default for RestartConfig {
    fn default() -> Self {
        RestartConfig {
            backoff_initial_ms: 100,
            backoff_max_ms: 60_000,
            reset_after_s: 10,
        }
    }
}

impl Config {
    /// Read `path` (TOML); parse errors name the offending key and line.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("config file {}", path.display()))
    }

    /// Parse TOML text and check it.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(config)
    }

    /// The API socket path.
    pub fn socket(&self) -> PathBuf {
        self.api
            .socket
            .clone()
            .unwrap_or_else(|| self.paths.state.join("warrend.sock"))
    }

    /// The namespace.
    pub fn namespace(&self) -> String {
        self.containerd
            .namespace
            .clone()
            .unwrap_or_else(|| warren_runtime::DEFAULT_NAMESPACE.into())
    }

    /// The HTTP listen address, or `None` when HTTP is off.
    pub fn http_address(&self) -> anyhow::Result<Option<SocketAddr>> {
        if self.http.address.is_empty() {
            return Ok(None);
        }
        let addr: SocketAddr = self.http.address.parse().map_err(|_| {
            anyhow::anyhow!(
                "http.address: {:?} is not IP:PORT (e.g. 127.0.0.1:9323; \"\" turns HTTP off)",
                self.http.address
            )
        })?;
        if !addr.ip().is_loopback() {
            bail!(
                "http.address: {addr} is not a loopback address; /metrics and /healthz are served on loopback only (127.0.0.1 or ::1)"
            );
        }
        Ok(Some(addr))
    }

    /// The runtime's bridge network.
    pub fn network_config(&self) -> warren_runtime::NetworkConfig {
        let mut n = warren_runtime::NetworkConfig::default();
        let s = &self.network;
        if let Some(v) = &s.name {
            n.name = v.clone();
        }
        if let Some(b) = &s.bridge {
            n.bridge = b.clone();
        }
        if let Some(v) = &s.subnet {
            n.subnet = v.clone();
        }
        if s.gateway.is_some() {
            n.gateway = s.gateway;
        }
        if s.mtu.is_some() {
            n.mtu = s.mtu;
        }
        if let Some(m) = s.ip_masq {
            n.ip_masq = m;
        }
        n.dns = s.dns.clone();
        n.plugin_dir = s.cni_bin_dir.clone();
        n.ipam_dir = Some(self.paths.root.join("ipam"));
        n
    }

    /// Who unpacks image layers (`registry.layer_unpack`; checked by [`Config::validate`]).
    pub fn layer_unpack(&self) -> warren_runtime::LayerUnpack {
        match self.registry.layer_unpack.as_deref() {
            Some("containerd") => warren_runtime::LayerUnpack::Daemon,
            _ => warren_runtime::LayerUnpack::Auto,
        }
    }

    /// Registry timeouts (`registry.connect_timeout_s`, `registry.read_timeout_s`) on top
    /// of the runtime's defaults.
    pub fn registry_timeouts(
        &self,
        mut options: warren_runtime::RegistryOptions,
    ) -> warren_runtime::RegistryOptions {
        if let Some(s) = self.registry.connect_timeout_s {
            options.connect_timeout = std::time::Duration::from_secs(s);
        }
        if let Some(s) = self.registry.read_timeout_s {
            options.read_timeout = std::time::Duration::from_secs(s);
        }
        options
    }

    /// The disk limits of pulls and imports (`registry.max_*_unpacked_bytes`,
    /// `registry.min_free_bytes`); free space is checked under `containerd_root` when
    /// warrend manages containerd (else where containerd reports its paths).
    pub fn disk_limits(
        &self,
        containerd_root: Option<PathBuf>,
    ) -> warren_runtime::images::DiskLimits {
        let mut d = warren_runtime::images::DiskLimits::default();
        let r = &self.registry;
        if let Some(v) = r.max_layer_unpacked_bytes {
            d.max_layer_unpacked_bytes = v;
        }
        if let Some(v) = r.max_image_unpacked_bytes {
            d.max_image_unpacked_bytes = v;
        }
        if let Some(v) = r.min_free_bytes {
            d.min_free_bytes = v;
        }
        d.free_space_path = containerd_root;
        d
    }

    /// Check what serde cannot: paths, names, addresses, the network. Each error names
    /// its key.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (key, p) in [
            ("paths.root", &self.paths.root),
            ("paths.state", &self.paths.state),
        ] {
            if !p.is_absolute() {
                bail!("{key}: {} is not an absolute path", p.display());
            }
        }
        if !matches!(self.logs.driver.as_str(), "shim" | "in-process") {
            bail!(
                "logs.driver: {:?} is not shim or in-process",
                self.logs.driver
            );
        }
        if self.logs.max_bytes < 4096 || self.logs.max_files == 0 {
            bail!("logs: max_bytes must be at least 4096 and max_files at least 1");
        }
        let socket = self.socket();
        if !socket.is_absolute() {
            bail!("api.socket: {} is not an absolute path", socket.display());
        }
        if socket.as_os_str().len() > warren_proto::MAX_SOCKET_PATH_LEN {
            bail!(
                "api.socket: {} is longer than a unix socket path may be ({} bytes)",
                socket.display(),
                warren_proto::MAX_SOCKET_PATH_LEN
            );
        }
        if let Some(group) = &self.api.group {
            if nix::unistd::Group::from_name(group)
                .ok()
                .flatten()
                .is_none()
            {
                bail!("api.group: no group named {group:?} on this host");
            }
        }
        self.node.validate()?;
        if self.api.events_retained == 0 {
            bail!("api.events_retained: must be at least 1 (10000 by default)");
        }
        self.http_address()?;
        warren_proto::Namespace::new(self.namespace())
            .map_err(|e| anyhow::anyhow!("containerd.namespace: {e}"))?;
        self.network_config()
            .validate()
            .map_err(|e| anyhow::anyhow!("network: {e}"))?;
        if let Some(m) = &self.network.default_mode {
            if m != "bridge" && m != "none" {
                bail!("network.default_mode: {m:?} is not \"bridge\" or \"none\"");
            }
        }
        if let Some(u) = &self.registry.layer_unpack {
            if !matches!(u.as_str(), "warren" | "containerd") {
                bail!("registry.layer_unpack: {u:?} is not warren or containerd");
            }
        }
        if let Some(n) = self.registry.max_concurrent_downloads {
            if !(1..=32).contains(&n) {
                bail!("registry.max_concurrent_downloads: {n} is not between 1 and 32");
            }
        }
        for (key, v) in [
            (
                "registry.connect_timeout_s",
                self.registry.connect_timeout_s,
            ),
            ("registry.read_timeout_s", self.registry.read_timeout_s),
        ] {
            if let Some(v) = v.filter(|v| !(1..=3600).contains(v)) {
                bail!("{key}: {v} is not between 1 and 3600 seconds");
            }
        }
        for (key, v) in [
            (
                "registry.max_layer_unpacked_bytes",
                self.registry.max_layer_unpacked_bytes,
            ),
            (
                "registry.max_image_unpacked_bytes",
                self.registry.max_image_unpacked_bytes,
            ),
        ] {
            if v == Some(0) {
                bail!("{key}: 0 would refuse every layer; give at least 1 byte");
            }
        }
        let r = &self.restart;
        if r.backoff_initial_ms == 0 || r.backoff_initial_ms > r.backoff_max_ms {
            bail!(
                "restart.backoff_initial_ms: {} must be at least 1 and at most restart.backoff_max_ms ({})",
                r.backoff_initial_ms,
                r.backoff_max_ms
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default() {
        let c = Config::parse("").unwrap();
        assert_eq!(c, Config::default());
        c.validate().unwrap();
        assert_eq!(c.socket(), PathBuf::from("/run/warren/warrend.sock"));
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::parse("[http]\nadress = \"127.0.0.1:1\"\n").unwrap_err();
        assert!(e.to_string().contains("adress"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = Config::parse("[restart]\nbackoff_max_ms = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("backoff_max_ms"), "{e}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut c = Config::default();
        c.http.address = "0.0.0.0:9323".into();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("http.address"));
        let mut c = Config::default();
        c.paths.root = "var/lib".into();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("paths.root"));
        let mut c = Config::default();
        c.network.subnet = Some("10.0.0.0/33".into());
        assert!(c.validate().unwrap_err().to_string().starts_with("network"));
        let mut c = Config::default();
        c.containerd.namespace = Some("bad ns".into());
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("containerd.namespace"));
    }

    #[test]
    fn full_file_parses() {
        let c = Config::parse(
            r#"
stop_containers_on_exit = true
[paths]
root = "/srv/warren"
state = "/run/w"
[containerd]
bin_dir = "/opt/containerd/bin"
namespace = "edge"
[api]
socket = "/run/w/api.sock"
[http]
address = "127.0.0.1:0"
[network]
bridge = "edge0"
subnet = "10.77.0.0/24"
dns = ["10.0.0.53"]
[registry]
plain_http = ["registry.lan:5000"]
max_concurrent_downloads = 5
layer_unpack = "containerd"
[registry.auth."registry.lan:5000"]
username = "u"
password = "p"
[restart]
backoff_initial_ms = 50
"#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.socket(), PathBuf::from("/run/w/api.sock"));
        assert_eq!(c.network_config().bridge, "edge0");
        assert_eq!(c.registry.auth["registry.lan:5000"].username, "u");
        assert_eq!(c.registry.max_concurrent_downloads, Some(5));
        assert_eq!(c.layer_unpack(), warren_runtime::LayerUnpack::Daemon);
        assert_eq!(
            Config::parse("").unwrap().layer_unpack(),
            warren_runtime::LayerUnpack::Auto
        );
    }

    #[test]
    fn an_unknown_layer_unpacker_is_refused_by_name() {
        let c = Config::parse("[registry]\nlayer_unpack = \"daemon\"\n").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("registry.layer_unpack: \"daemon\""), "{e}");
    }

    #[test]
    fn registry_bounds_are_read_and_checked_by_name() {
        let c = Config::parse(
            "[registry]\nconnect_timeout_s = 5\nread_timeout_s = 7\nmax_layer_unpacked_bytes = 1024\nmax_image_unpacked_bytes = 2048\nmin_free_bytes = 0\n",
        )
        .unwrap();
        c.validate().unwrap();
        let t = c.registry_timeouts(Default::default());
        assert_eq!(t.connect_timeout, std::time::Duration::from_secs(5));
        assert_eq!(t.read_timeout, std::time::Duration::from_secs(7));
        let d = c.disk_limits(Some("/srv/c".into()));
        assert_eq!(
            (
                d.max_layer_unpacked_bytes,
                d.max_image_unpacked_bytes,
                d.min_free_bytes
            ),
            (1024, 2048, 0)
        );
        assert_eq!(d.free_space_path, Some(PathBuf::from("/srv/c")));
        let defaults = Config::default().disk_limits(None);
        assert_eq!(defaults, Default::default());
        for bad in [
            "read_timeout_s = 0",
            "connect_timeout_s = 4000",
            "max_layer_unpacked_bytes = 0",
        ] {
            let c = Config::parse(&format!("[registry]\n{bad}\n")).unwrap();
            let e = c.validate().unwrap_err().to_string();
            let key = bad.split(' ').next().unwrap();
            assert!(e.contains(&format!("registry.{key}")), "{e}");
        }
    }

    #[test]
    fn download_concurrency_out_of_range_is_refused_by_name() {
        let c = Config::parse("[registry]\nmax_concurrent_downloads = 0\n").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("registry.max_concurrent_downloads: 0"), "{e}");
    }
}
