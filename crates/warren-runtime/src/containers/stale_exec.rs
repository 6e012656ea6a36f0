//! Execs that an earlier run of this process left half-started.
//!
//! The shim opens an exec's FIFOs while it starts the exec, and the open blocks until the
//! other end is there. If the process that asked for the exec died in between, no one ever
//! opens the other end: the shim's start never returns, and it holds the exec's pid lock.
//! containerd 1.6's runc shim then also blocks in its exit handler (which looks at every
//! process's pid under the shim's main lock) at the next exit in that container, so every
//! State call hangs; the daemon leaves the task out of `Tasks.List` after its 2 s state
//! timeout, and `Tasks.Get` fails. CI saw exactly that after a warrend kill -9 during a
//! health check. Releasing the FIFOs (an open of both ends), then killing and deleting the
//! exec, lets the shim go on.

use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use warren_proto::containerd::services::tasks::v1::DeleteProcessRequest;

use crate::ContainerdRuntime;

/// How long the release waits for a killed exec to be deletable.
const DELETE_WAIT: Duration = Duration::from_secs(3);

/// One left-over exec: its container, id and FIFOs.
#[derive(Debug, PartialEq)]
struct StaleExec {
    container: String,
    exec_id: String,
    fifos: Vec<PathBuf>,
}

/// The exec FIFOs (`exec-<hex>-stdout`, `-stderr`, `-stdin`) under `state_dir`, by exec.
fn find(state_dir: &Path) -> Vec<StaleExec> {
    let mut found: Vec<StaleExec> = Vec::new();
    let Ok(containers) = std::fs::read_dir(state_dir) else {
        return found;
    };
    for c in containers.flatten() {
        let Ok(files) = std::fs::read_dir(c.path()) else {
            continue;
        };
        let container = c.file_name().to_string_lossy().into_owned();
        for f in files.flatten() {
            if !f.file_type().is_ok_and(|t| t.is_fifo()) {
                continue;
            }
            let name = f.file_name().to_string_lossy().into_owned();
            let Some(exec_id) = exec_of(&name) else {
                continue;
            };
            match found
                .iter_mut()
                .find(|s| s.container == container && s.exec_id == exec_id)
            {
                Some(s) => s.fifos.push(f.path()),
                None => found.push(StaleExec {
                    container: container.clone(),
                    exec_id: exec_id.to_string(),
                    fifos: vec![f.path()],
                }),
            }
        }
    }
    found
}

/// `exec-<hex>` of an exec FIFO's name.
fn exec_of(name: &str) -> Option<&str> {
    let (id, stream) = name.rsplit_once('-')?;
    let ok = id.starts_with("exec-") && matches!(stream, "stdout" | "stderr" | "stdin");
    ok.then_some(id)
}

impl ContainerdRuntime {
    /// Release, kill and delete the execs an earlier run of this process left behind in
    /// this namespace's state folder (see the module's notes). Only for start-up: an exec
    /// of this process that is running now would lose its output. Returns how many.
    pub(crate) async fn release_stale_execs(&self) -> usize {
        let dir = self.inner.containers.state_dir.clone();
        let stale = tokio::task::spawn_blocking(move || find(&dir))
            .await
            .unwrap_or_default();
        let n = stale.len();
        for s in stale {
            // Both ends at once: read-write opens of a FIFO never block, and meet a shim
            // waiting for either end.
            let paths = s.fifos.clone();
            let held = tokio::task::spawn_blocking(move || {
                paths
                    .iter()
                    .filter_map(|p| {
                        std::fs::OpenOptions::new()
                            .read(true)
                            .write(true)
                            .custom_flags(libc::O_NONBLOCK)
                            .open(p)
                            .ok()
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            tracing::info!(container = %s.container, exec_id = %s.exec_id,
                "releasing an exec that an earlier run left half-started");
            self.kill_exec(&s.container, &s.exec_id).await;
            let deadline = tokio::time::Instant::now() + DELETE_WAIT;
            loop {
                let deleted = self
                    .containerd()
                    .tasks()
                    .delete_process(DeleteProcessRequest {
                        container_id: s.container.clone(),
                        exec_id: s.exec_id.clone(),
                    })
                    .await;
                let done = match deleted {
                    Ok(_) => true,
                    Err(e) => e.is_missing_object(),
                };
                if done || tokio::time::Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            drop(held);
            for p in &s.fifos {
                let _ = tokio::fs::remove_file(p).await;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_fifo_names() {
        assert_eq!(
            exec_of("exec-00ab12cd34ef5678-stdout"),
            Some("exec-00ab12cd34ef5678")
        );
        assert_eq!(exec_of("exec-1-stdin"), Some("exec-1"));
        assert_eq!(exec_of("init-stdout"), None);
        assert_eq!(exec_of("exec-1-other"), None);
        assert_eq!(exec_of("container.log"), None);
    }

    #[test]
    fn finds_exec_fifos_by_exec() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("web");
        std::fs::create_dir(&c).unwrap();
        for name in ["exec-1-stdout", "exec-1-stderr", "init-stdout"] {
            nix::unistd::mkfifo(&c.join(name), nix::sys::stat::Mode::S_IRWXU).unwrap();
        }
        // A regular file with an exec's name is not a FIFO of one.
        std::fs::write(c.join("exec-2-stdout"), b"").unwrap();
        let found = find(dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].container, "web");
        assert_eq!(found[0].exec_id, "exec-1");
        assert_eq!(found[0].fifos.len(), 2);
    }
}
