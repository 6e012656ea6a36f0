//! The containerd config file we write: every path explicit (1.6 silently falls back to
//! `/run/containerd` and `/var/lib/containerd` for anything unset), CRI off unless asked for,
//! and the caller's extra TOML merged over it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::Table;

use crate::version::DaemonVersion;
use crate::Error;

/// Message size limit both ways: containerd's default, stated so a merged config keeps it.
const MAX_MESSAGE_SIZE: u64 = 16 * 1024 * 1024;

/// The paths a daemon instance uses, all under the supervisor's root and state dirs.
#[derive(Debug, Clone)]
pub struct Paths {
    pub root: PathBuf,
    pub state: PathBuf,
    pub socket: PathBuf,
    pub ttrpc_socket: PathBuf,
    pub debug_socket: Option<PathBuf>,
    pub config: PathBuf,
    pub pid_file: PathBuf,
    pub lock_file: PathBuf,
    pub log_file: PathBuf,
    pub opt: PathBuf,
}

impl Paths {
    /// Where everything goes for `root_dir` and `state_dir`. containerd's own state lives in
    /// `<state_dir>/containerd`, next to our socket, pid, lock and config files.
    pub fn new(root_dir: &Path, state_dir: &Path, debug_socket: bool) -> Paths {
        let socket = state_dir.join("containerd.sock");
        let mut ttrpc = socket.clone().into_os_string();
        ttrpc.push(".ttrpc");
        Paths {
            root: root_dir.join("containerd"),
            state: state_dir.join("containerd"),
            ttrpc_socket: PathBuf::from(ttrpc),
            debug_socket: debug_socket.then(|| state_dir.join("debug.sock")),
            config: state_dir.join("containerd.toml"),
            pid_file: state_dir.join("containerd.pid"),
            lock_file: state_dir.join("supervisor.lock"),
            log_file: state_dir.join("containerd.log"),
            opt: root_dir.join("opt"),
            socket,
        }
    }
}

#[derive(Serialize)]
struct Grpc<'a> {
    address: &'a Path,
    max_recv_message_size: u64,
    max_send_message_size: u64,
}

#[derive(Serialize)]
struct Ttrpc<'a> {
    address: &'a Path,
}

#[derive(Serialize)]
struct Debug<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<&'a Path>,
    level: &'a str,
}

#[derive(Serialize)]
struct OptPlugin<'a> {
    path: &'a Path,
}

#[derive(Serialize)]
struct Base<'a> {
    version: u32,
    root: &'a Path,
    state: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    oom_score: Option<i32>,
    disabled_plugins: Vec<&'static str>,
    grpc: Grpc<'a>,
    ttrpc: Ttrpc<'a>,
    debug: Debug<'a>,
}

/// What goes into the file besides the paths.
#[derive(Debug, Clone)]
pub struct Settings {
    pub log_level: String,
    pub cri: bool,
    pub oom_score_adj: Option<i32>,
    pub extra: Option<Table>,
}

/// Parse the caller's extra TOML early, so a typo is reported before anything starts.
pub fn parse_extra(text: &str) -> Result<Table, Error> {
    text.parse::<Table>().map_err(|e| Error::ExtraConfig {
        reason: e.to_string(),
    })
}

/// Render the config for `version` of containerd.
pub fn render(paths: &Paths, version: DaemonVersion, settings: &Settings) -> Result<String, Error> {
    let disabled_plugins = match (settings.cri, version.major >= 2) {
        (true, _) => vec![],
        (false, false) => vec!["io.containerd.grpc.v1.cri"],
        // 2.x splits CRI into an image and a runtime plugin behind the gRPC service.
        (false, true) => vec![
            "io.containerd.grpc.v1.cri",
            "io.containerd.cri.v1.images",
            "io.containerd.cri.v1.runtime",
        ],
    };
    let base = Base {
        version: version.config_version(),
        root: &paths.root,
        state: &paths.state,
        oom_score: settings.oom_score_adj,
        disabled_plugins,
        grpc: Grpc {
            address: &paths.socket,
            max_recv_message_size: MAX_MESSAGE_SIZE,
            max_send_message_size: MAX_MESSAGE_SIZE,
        },
        ttrpc: Ttrpc {
            address: &paths.ttrpc_socket,
        },
        debug: Debug {
            address: paths.debug_socket.as_deref(),
            level: &settings.log_level,
        },
    };
    let mut table = Table::try_from(base).map_err(|e| Error::ExtraConfig {
        reason: e.to_string(),
    })?;
    // Without this, containerd creates /opt/containerd on the host.
    let mut plugins = Table::new();
    plugins.insert(
        "io.containerd.internal.v1.opt".into(),
        toml::Value::try_from(OptPlugin { path: &paths.opt }).map_err(|e| Error::ExtraConfig {
            reason: e.to_string(),
        })?,
    );
    table.insert("plugins".into(), toml::Value::Table(plugins));
    if let Some(extra) = &settings.extra {
        merge(&mut table, extra);
    }
    toml::to_string(&table).map_err(|e| Error::ExtraConfig {
        reason: e.to_string(),
    })
}

/// Deep-merge `over` into `base`: tables merge key by key, anything else replaces.
pub fn merge(base: &mut Table, over: &Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Write `text` to `path` atomically (temp file, fsync, rename), mode 0600.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), Error> {
    let tmp = path.with_extension("toml.tmp");
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| Error::io("writing config", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: Option<&str>) -> Settings {
        Settings {
            log_level: "info".into(),
            cri: false,
            oom_score_adj: Some(-500),
            extra: extra.map(|e| parse_extra(e).unwrap()),
        }
    }

    #[test]
    fn renders_every_path_and_merges_extra() {
        let paths = Paths::new(Path::new("/r"), Path::new("/s"), false);
        let v16 = DaemonVersion { major: 1, minor: 6 };
        let extra = "[grpc]\nmax_recv_message_size = 1\n[plugins.'io.containerd.gc.v1.scheduler']\npause_threshold = 0.05\n";
        let text = render(&paths, v16, &settings(Some(extra))).unwrap();
        let t: Table = text.parse().unwrap();
        assert_eq!(t["version"].as_integer(), Some(2));
        assert_eq!(t["root"].as_str(), Some("/r/containerd"));
        assert_eq!(t["state"].as_str(), Some("/s/containerd"));
        assert_eq!(t["oom_score"].as_integer(), Some(-500));
        assert_eq!(t["grpc"]["address"].as_str(), Some("/s/containerd.sock"));
        assert_eq!(t["grpc"]["max_recv_message_size"].as_integer(), Some(1));
        assert_eq!(
            t["grpc"]["max_send_message_size"].as_integer(),
            Some(16 << 20)
        );
        assert_eq!(
            t["ttrpc"]["address"].as_str(),
            Some("/s/containerd.sock.ttrpc")
        );
        assert_eq!(
            t["plugins"]["io.containerd.internal.v1.opt"]["path"].as_str(),
            Some("/r/opt")
        );
        assert!(t["plugins"]["io.containerd.gc.v1.scheduler"]["pause_threshold"].is_float());
        let v21 = DaemonVersion { major: 2, minor: 1 };
        let t: Table = render(&paths, v21, &settings(None))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(t["version"].as_integer(), Some(3));
        assert_eq!(t["disabled_plugins"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn bad_extra_is_reported() {
        let err = parse_extra("[grpc\naddress = ").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("invalid extra containerd config"));
    }
}
