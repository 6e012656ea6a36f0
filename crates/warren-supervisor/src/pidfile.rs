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
pub fn write(path: &Path, id: &Identity, config: &Path) -> Result<(), Error> {
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
    crate::config::write_atomic(path, &text)
}

/// The pid recorded in `path`, if it names a live process that is really our daemon: same
/// pid, start time, boot, executable and `--config`. Anything else is stale and ignored.
pub fn adoptable(path: &Path, binary: &Path, config: &Path) -> Option<Identity> {
    let text = std::fs::read_to_string(path).ok()?;
    let rec: Record = match toml::from_str(&text) {
        Ok(r) => r,
        Err(_) => {
            tracing::info!(pid_file = %path.display(), "ignoring unreadable pid file");
            return None;
        }
    };
    let live = proc_info::identity(rec.pid)?;
    let same = live.start_time == rec.start_time
        && live.boot_id == rec.boot_id
        && rec.exe == binary
        && rec.config == config
        && proc_info::runs(&live, binary, config);
    if !same {
        tracing::info!(
            pid = rec.pid,
            "pid file names another process; not adopting it"
        );
        return None;
    }
    Some(live)
}

/// Remove the pid file (missing is fine).
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}
