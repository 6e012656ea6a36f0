//! The pid file: who we started, recorded so a later supervisor can adopt it safely.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::proc_info::{self, Identity};
use crate::Error;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Record {
    pid: i32,
    start_time: u64,
    boot_id: String,
    exe: PathBuf,
    config: PathBuf,
}

/// Record `id` as the daemon started with `config`.
pub(crate) fn write(path: &Path, id: &Identity, config: &Path) -> Result<(), Error> {
    let rec = Record {
        pid: id.pid,
        start_time: id.start_time,
        boot_id: id.boot_id.clone(),
        exe: id.exe.clone(),
        config: config.to_path_buf(),
    };
    let text = toml::to_string(&rec).map_err(|e| Error::Io {
        what: "encoding pid file",
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    crate::config::write_atomic("writing pid file", path, &text)
}

/// A pid file that names our daemon, still running.
#[derive(Debug)]
pub(crate) struct Ours {
    /// The live process.
    pub id: Identity,
    /// Its binary was replaced on disk since it started (an upgrade): restart it.
    pub upgraded: bool,
}

/// The daemon recorded in `path`, if it is live and really ours: same pid, start time, boot,
/// executable and `--config`. Anything else (no file, a bare pid as dockerd writes, a pid
/// reused by another process, a thread id, a zombie) is stale: ignored, never signalled.
pub(crate) fn ours(path: &Path, binary: &Path, config: &Path) -> Option<Ours> {
    let text = std::fs::read_to_string(path).ok()?;
    let rec: Record = match toml::from_str(&text) {
        Ok(r) => r,
        Err(_) => {
            tracing::info!(pid_file = %path.display(), "ignoring an unreadable pid file");
            return None;
        }
    };
    let live = proc_info::identity(rec.pid);
    let ours = live.filter(|live| {
        live.start_time == rec.start_time
            && live.boot_id == rec.boot_id
            && rec.exe == binary
            && rec.config == config
            && proc_info::runs(live, binary, config).is_some()
    });
    match ours {
        Some(id) => Some(Ours {
            upgraded: proc_info::runs(&id, binary, config) == Some(true),
            id,
        }),
        None => {
            tracing::info!(
                pid = rec.pid,
                "the pid file names no daemon of ours (gone, or the pid was reused); ignoring it"
            );
            None
        }
    }
}

/// True if the pid file records `pid`.
pub(crate) fn names(path: &Path, pid: u32) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| toml::from_str::<Record>(&text).ok())
        .is_some_and(|rec| rec.pid == pid as i32)
}

/// Remove the pid file (missing is fine).
pub(crate) fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}
