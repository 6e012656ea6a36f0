//! The containerd config file we write: every path explicit (1.6 silently falls back to
//! `/run/containerd` and `/var/lib/containerd` for anything unset), CRI off unless asked for,
//! and the caller's extra TOML merged over it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::Table;

use crate::version::ReleaseLine;
use crate::Error;

/// Message size limit both ways: containerd's default, stated so a merged config keeps it.
const MAX_MESSAGE_SIZE: u64 = 16 * 1024 * 1024;

/// The paths a daemon instance uses, all under the supervisor's root and state dirs.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
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
    /// The sockets the daemon binds: gRPC, ttrpc and, if enabled, debug.
    pub(crate) fn sockets(&self) -> impl Iterator<Item = &Path> {
        [
            Some(&self.socket),
            Some(&self.ttrpc_socket),
            self.debug_socket.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
    }

    /// Where everything goes for `root_dir` and `state_dir`. containerd's own state lives in
    /// `<state_dir>/containerd`, next to our socket, pid, lock and config files.
    pub(crate) fn new(root_dir: &Path, state_dir: &Path, debug_socket: bool) -> Paths {
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
pub(crate) struct Settings {
    pub log_level: String,
    pub cri: bool,
    pub oom_score_adj: Option<i32>,
    pub extra: Option<Table>,
}

/// Keys of the config that the supervisor owns: it must know where the daemon listens and
/// keeps its state, and which format the daemon reads.
const OWNED_KEYS: [&[&str]; 5] = [
    &["version"],
    &["root"],
    &["state"],
    &["grpc", "address"],
    &["ttrpc", "address"],
];

/// Parse the caller's extra TOML early, so a typo is reported before anything starts.
pub(crate) fn parse_extra(text: &str) -> Result<Table, Error> {
    let table = text.parse::<Table>().map_err(|e| Error::ExtraConfig {
        reason: e.to_string(),
    })?;
    for key in OWNED_KEYS {
        let mut at = Some(&table);
        for (i, part) in key.iter().enumerate() {
            match at.and_then(|t| t.get(*part)) {
                Some(toml::Value::Table(t)) if i + 1 < key.len() => at = Some(t),
                Some(_) if i + 1 == key.len() => {
                    return Err(Error::ExtraConfig {
                        reason: format!(
                            "it sets `{}`, which the supervisor owns (choose the dirs with \
                             Supervisor::builder instead)",
                            key.join(".")
                        ),
                    })
                }
                _ => break,
            }
        }
    }
    Ok(table)
}

/// The plugins we disable. Measured with CRI off: 1.6 loads the devmapper snapshotter anyway
/// and logs two warnings because it has no pool (1.7 skips it quietly); 2.x needs only its
/// CRI gRPC service off (disabling `cri.v1.images` or `cri.v1.runtime` too leaves the
/// podsandbox controller and the sandbox-controllers service in an error state, with
/// warnings, and the Sandbox API unusable).
fn disabled_plugins(version: ReleaseLine, cri: bool) -> Vec<&'static str> {
    let mut off = Vec::new();
    if !cri {
        off.push("io.containerd.grpc.v1.cri");
    }
    if version < (ReleaseLine { major: 1, minor: 7 }) {
        off.push("io.containerd.snapshotter.v1.devmapper");
    }
    off
}

/// Render the config for `version` of containerd.
pub(crate) fn render(
    paths: &Paths,
    version: ReleaseLine,
    settings: &Settings,
) -> Result<String, Error> {
    let base = Base {
        version: version.config_version(),
        root: &paths.root,
        state: &paths.state,
        oom_score: settings.oom_score_adj,
        disabled_plugins: disabled_plugins(version, settings.cri),
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
    // Only non-UTF-8 paths can fail here, and preflight refuses those.
    let encoding = |e: &dyn std::fmt::Display| Error::Directory {
        what: "path",
        path: paths.root.clone(),
        reason: format!("cannot be written into containerd's config: {e}"),
    };
    let mut table = Table::try_from(base).map_err(|e| encoding(&e))?;
    // Without this, containerd creates /opt/containerd on the host.
    let mut plugins = Table::new();
    plugins.insert(
        "io.containerd.internal.v1.opt".into(),
        toml::Value::try_from(OptPlugin { path: &paths.opt }).map_err(|e| encoding(&e))?,
    );
    table.insert("plugins".into(), toml::Value::Table(plugins));
    if let Some(extra) = &settings.extra {
        merge(&mut table, extra);
    }
    toml::to_string(&table).map_err(|e| encoding(&e))
}

/// Deep-merge `over` into `base`: tables merge key by key, anything else replaces.
pub(crate) fn merge(base: &mut Table, over: &Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Write `text` to `path` atomically (temp file, fsync, rename, fsync of the dir), mode
/// 0600: a reader sees the old file or the new one, never a torn one.
pub(crate) fn write_atomic(what: &'static str, path: &Path, text: &str) -> Result<(), Error> {
    // A temp name of this call's own: a start that was cancelled may still be writing from
    // its blocking thread while the next start writes too; with one shared temp file, the
    // second rename would find it gone.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}-{n}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(what, path, e)
    })
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
        let v16 = ReleaseLine { major: 1, minor: 6 };
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
        let v21 = ReleaseLine { major: 2, minor: 1 };
        let t: Table = render(&paths, v21, &settings(None))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(t["version"].as_integer(), Some(3));
        assert_eq!(t["disabled_plugins"].as_array().unwrap().len(), 1);
        let mut with_cri = settings(None);
        with_cri.cri = true;
        let t: Table = render(&paths, v21, &with_cri).unwrap().parse().unwrap();
        assert!(t["disabled_plugins"].as_array().unwrap().is_empty());
    }

    #[test]
    fn extra_may_not_move_what_we_own() {
        for extra in [
            "version = 1",
            "root = '/elsewhere'",
            "[grpc]\naddress = '/x.sock'",
            "ttrpc = { address = '/x' }",
        ] {
            let err = parse_extra(extra).unwrap_err();
            assert!(err.to_string().contains("owns"), "{extra}: {err}");
        }
        parse_extra("[grpc]\nuid = 0\n[ttrpc]\nuid = 0").unwrap();
    }

    #[test]
    fn concurrent_writes_of_one_file_all_succeed() {
        // A cancelled start's write may still run while the next start writes.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("containerd.toml");
        std::thread::scope(|s| {
            for t in 0..2 {
                let path = &path;
                s.spawn(move || {
                    for i in 0..50 {
                        write_atomic("t", path, &format!("a = {t}{i}\n")).unwrap();
                    }
                });
            }
        });
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "no temp file is left");
    }

    #[test]
    fn write_is_atomic_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("containerd.toml");
        write_atomic("t", &path, "a = 1\n").unwrap();
        write_atomic("t", &path, "a = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a = 2\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn bad_extra_is_reported() {
        let err = parse_extra("[grpc\naddress = ").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("invalid extra containerd config"));
    }
}
