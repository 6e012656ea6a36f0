//! Starting containers: `start_container`, `run_container`, `reattach_logs`.

use warren_proto::containerd::services::snapshots::v1::MountsRequest;
use warren_proto::containerd::services::tasks::v1::{
    CreateTaskRequest, DeleteTaskRequest, KillRequest, ListTasksRequest, StartRequest, WaitRequest,
};

use super::io::{self, Fifos};
use super::status::state_of;
use super::Output;
use super::{labels, ContainerRequest, ContainerState};
use crate::container_id::not_found;
use crate::error::warn_unless_missing;
use crate::undo::Undo;
use crate::{ContainerdRuntime, ErrorKind, RuntimeError};

impl ContainerdRuntime {
    /// Start container `id`'s process and return its host pid once it runs. Its stdout and
    /// stderr go to the container's log file (read it with
    /// [`container_logs`](Self::container_logs)). Starting a running container returns its
    /// pid; a container whose last run ended is started afresh.
    ///
    /// If the process cannot be started (e.g. its command is not in the image), the error
    /// is [`RuntimeError::StartFailed`] and no task, FIFO or log copier is left.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn start_container(&self, id: &str) -> Result<u32, RuntimeError> {
        crate::containers::check_id(id)?;
        match self.prepare_task(id).await? {
            Prepared::Running(pid) => Ok(pid),
            Prepared::Created => self.start_task(id).await,
        }
    }

    /// Everything of a start but the start itself: the task exists (created now, or
    /// earlier by a start that did not finish), its output goes to the log, and attaching
    /// works; or the container already runs.
    pub(crate) async fn prepare_task(&self, id: &str) -> Result<Prepared, RuntimeError> {
        let record = self
            .container_record(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        if let Some(task) = self.task(id).await? {
            match state_of(task.status) {
                ContainerState::Running | ContainerState::Paused => {
                    return Ok(Prepared::Running(task.pid))
                }
                ContainerState::Created => return Ok(Prepared::Created),
                _ => self.finish_task(id).await?,
            }
        }
        let tty = record.labels.get(labels::TTY).is_some_and(|v| v == "true");
        let stdin = record
            .labels
            .get(labels::STDIN)
            .is_some_and(|v| v == "true");
        let key = if record.snapshot_key.is_empty() {
            id.to_string()
        } else {
            record.snapshot_key
        };
        let snapshotter = if record.snapshotter.is_empty() {
            self.inner.snapshotter.clone()
        } else {
            record.snapshotter
        };
        let rootfs = self
            .containerd()
            .snapshots()
            .mounts(MountsRequest {
                snapshotter: snapshotter.clone(),
                key: key.clone(),
            })
            .await?
            .mounts;
        let output = &self.inner.containers.output;
        output.usable()?;
        match output {
            Output::Logger(binary) => {
                self.create_task_logged(id, binary, rootfs, tty, stdin)
                    .await?
            }
            _ => self.create_task_copied(id, rootfs, tty, stdin).await?,
        }
        Ok(Prepared::Created)
    }

    /// Create the task with the shim's logger owning its output (nothing to read or keep
    /// open here); on failure no task is left, nor a logger we started.
    async fn create_task_logged(
        &self,
        id: &str,
        binary: &std::path::Path,
        rootfs: Vec<warren_proto::containerd::types::Mount>,
        tty: bool,
        stdin: bool,
    ) -> Result<(), RuntimeError> {
        let settings = &self.inner.containers;
        let spec = settings.logger_spec(id, tty, stdin);
        let dir = settings.dir(id);
        let stdin_fifo = dir.join(crate::logger::attach::STDIN_FIFO);
        let out_fifo = dir.join(crate::logger::attach::STDOUT_FIFO);
        let err_fifo = dir.join(crate::logger::attach::STDERR_FIFO);
        let (owned, fifos) = (dir.clone(), spec.fifos);
        let (i, o, e) = (stdin_fifo.clone(), out_fifo.clone(), err_fifo.clone());
        crate::files::blocking("creating the container's directory", dir, move || {
            crate::files::private_dir(&owned)?;
            if stdin {
                io::fresh_fifo(&i)?;
            }
            if fifos {
                io::fresh_fifo(&o)?;
                io::fresh_fifo(&e)?;
            }
            Ok(())
        })
        .await?;
        let path = |p: &std::path::Path| p.display().to_string();
        let stdin_path = if stdin {
            path(&stdin_fifo)
        } else {
            String::new()
        };
        let mut undo = Undo::new("start");
        let stdio = if spec.fifos {
            let pid = crate::logger::spawn::spawn(binary, &spec)
                .await
                .map_err(|source| RuntimeError::Io {
                    op: "starting the container's logger",
                    path: binary.to_path_buf(),
                    source,
                })?;
            // A logger we started would wait for writers that never come.
            undo.push("kill the logger", async move {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            });
            Stdio {
                stdin: stdin_path,
                stdout: path(&out_fifo),
                stderr: path(&err_fifo),
                terminal: false,
            }
        } else {
            let uri = spec.uri(binary);
            Stdio {
                stdin: stdin_path,
                stdout: uri.clone(),
                // A terminal merges both streams into its one output.
                stderr: if tty { String::new() } else { uri },
                terminal: tty,
            }
        };
        let created = self.create_task(id, rootfs, stdio, &mut undo).await;
        undo.check(created).await?;
        undo.commit();
        Ok(())
    }

    /// Create the task with its output read from FIFOs by a copier in this process; on
    /// failure no task, FIFO or copier is left.
    async fn create_task_copied(
        &self,
        id: &str,
        rootfs: Vec<warren_proto::containerd::types::Mount>,
        tty: bool,
        stdin: bool,
    ) -> Result<(), RuntimeError> {
        if tty || stdin {
            return Err(RuntimeError::InvalidRequest {
                field: "tty / stdin",
                value: id.to_string(),
                allowed: "containers with a terminal or stdin need the shim's logger \
                          (LogDriver::Shim)"
                    .into(),
            });
        }
        let settings = &self.inner.containers;
        let mut undo = Undo::new("start");
        let fifos = Fifos::at(&settings.dir(id), "init");
        fifos.create().await?;
        let made = fifos.clone();
        undo.push("remove the FIFOs", async move { made.remove().await });
        let readers = undo.check(fifos.open()).await?;
        let stdio = Stdio {
            stdout: fifos.stdout.display().to_string(),
            stderr: fifos.stderr.display().to_string(),
            ..Default::default()
        };
        let created = self.create_task(id, rootfs, stdio, &mut undo).await;
        undo.check(created).await?;
        let copier = io::start_copier(&self.inner.copiers, settings, id, readers).await;
        undo.check(copier).await?;
        undo.commit();
        Ok(())
    }

    /// Tasks.Create with this stdio; on failure no task (and no orphaned shim) is left,
    /// and the discard of the task made is pushed on `undo` (run after the daemon answers
    /// if the caller stops waiting meanwhile).
    async fn create_task(
        &self,
        id: &str,
        rootfs: Vec<warren_proto::containerd::types::Mount>,
        stdio: Stdio,
        undo: &mut Undo,
    ) -> Result<(), RuntimeError> {
        let request = CreateTaskRequest {
            container_id: id.to_string(),
            rootfs,
            stdin: stdio.stdin,
            stdout: stdio.stdout,
            stderr: stdio.stderr,
            terminal: stdio.terminal,
            ..Default::default()
        };
        let (rt, owned) = (self.clone(), id.to_string());
        let call = async move {
            let created = rt.containerd().tasks().create(request).await;
            if let Err(e) = created {
                // A task the daemon made before the call broke is removed too.
                rt.discard_task(&owned).await;
                if e.kind() == ErrorKind::Interrupted {
                    rt.reap_orphaned_shim(&owned).await;
                }
                return Err(start_error(&owned, e));
            }
            Ok(())
        };
        let (rt, owned) = (self.clone(), id.to_string());
        undo.finish("discard the task", call, Result::is_ok, async move {
            rt.discard_task(&owned).await
        })
        .await
    }

    /// Tasks.Start; on failure the task, its FIFOs and the copier go.
    pub(crate) async fn start_task(&self, id: &str) -> Result<u32, RuntimeError> {
        // Recorded first: a run whose end is never seen is then known to have happened.
        let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let mut undo = Undo::new("start");
        let (rt, owned) = (self.clone(), id.to_string());
        undo.push("remove the created task", async move {
            rt.undo_task(&owned).await
        });
        let labelled = self
            .set_labels(id, &[(labels::STARTED_AT, started_at)])
            .await;
        undo.check(labelled).await?;
        let started = self
            .containerd()
            .tasks()
            .start(StartRequest {
                container_id: id.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| start_error(id, e));
        let pid = undo.check(started).await?.pid;
        undo.commit();
        Ok(pid)
    }

    /// A created task that will not be started: the task, its FIFOs and the copier go.
    async fn undo_task(&self, id: &str) {
        self.discard_task(id).await;
        self.inner.copiers.drain(id).await;
        Fifos::at(&self.inner.containers.dir(id), "init")
            .remove()
            .await;
    }

    /// After a Tasks.Create cut short by the daemon's death: once the restarted daemon has
    /// no task `id`, a shim still serving `id` for our daemon and namespace is an orphan
    /// (containerd 2.x forgets a shim whose address it had not yet recorded); kill it and
    /// remove its socket.
    async fn reap_orphaned_shim(&self, id: &str) {
        if !matches!(self.task(id).await, Ok(None)) {
            return;
        }
        let socket = self.inner.socket.clone();
        let namespace = self.inner.namespace.to_string();
        let id = id.to_string();
        let _ = tokio::task::spawn_blocking(move || {
            let ours = |a: &std::path::Path| {
                a == socket
                    || matches!((a.canonicalize(), socket.canonicalize()), (Ok(x), Ok(y)) if x == y)
            };
            for shim in super::shims::list() {
                if shim.namespace == namespace && shim.id == id && ours(&shim.address) {
                    tracing::info!(
                        id,
                        pid = shim.pid,
                        "removing a shim the daemon's restart orphaned"
                    );
                    super::shims::kill(&shim);
                }
            }
        })
        .await;
    }

    /// Kill and delete a task that must not stay (a failed start), waiting out a daemon
    /// restart. Missing is fine.
    pub(crate) async fn discard_task(&self, id: &str) {
        let _ = self
            .containerd()
            .tasks()
            .kill(KillRequest {
                container_id: id.to_string(),
                signal: libc::SIGKILL as u32,
                all: true,
                ..Default::default()
            })
            .await;
        let result = self
            .containerd()
            .tasks()
            .delete(DeleteTaskRequest {
                container_id: id.to_string(),
            })
            .await;
        warn_unless_missing(result, "delete a failed task", id);
    }

    /// Create and start a container in one call; if the start fails, the container is
    /// deleted again, so a failed run leaves nothing. Returns the id.
    pub async fn run_container(&self, req: &ContainerRequest) -> Result<String, RuntimeError> {
        // Nothing is created for a run that could not start.
        self.inner.containers.output.usable()?;
        let id = self.create_container(req).await?;
        if let Err(e) = self.start_container(&id).await {
            if let Err(cleanup) = self.delete_container(&id).await {
                tracing::warn!(container = %id, error = %cleanup, "could not delete a container that failed to start");
            }
            return Err(e);
        }
        Ok(id)
    }

    /// Pick up the log output of this namespace's running containers after this process
    /// restarted (their FIFOs outlive us; the shim keeps them open). Call it once at
    /// start-up; containers that already have a copier here are left alone. Returns how
    /// many were re-attached.
    ///
    /// It first releases the execs that the earlier run left half-started: a shim still
    /// waiting for such an exec's FIFOs can stop answering for the whole container.
    pub async fn reattach_logs(&self) -> Result<usize, RuntimeError> {
        let released = self.release_stale_execs().await;
        if released > 0 {
            tracing::info!(released, "released execs an earlier run left behind");
        }
        let tasks = self
            .containerd()
            .tasks()
            .list(ListTasksRequest::default())
            .await?
            .tasks;
        let mut n = 0;
        for task in tasks {
            let id = super::status::task_container(&task);
            if task.stdout.starts_with("binary://") {
                // The shim's logger writes its output: nothing to pick up.
                n += 1;
                continue;
            }
            let fifos = Fifos::at(&self.inner.containers.dir(&id), "init");
            let ours = task.stdout == fifos.stdout.display().to_string();
            if !ours || self.inner.copiers.active(&id) {
                continue;
            }
            let started = match fifos.open() {
                Ok(readers) => {
                    io::start_copier(&self.inner.copiers, &self.inner.containers, &id, readers)
                        .await
                }
                Err(e) => Err(e),
            };
            match started {
                Ok(()) => n += 1,
                Err(e) => tracing::warn!(container = %id, error = %e, "cannot re-attach logs"),
            }
        }
        Ok(n)
    }

    /// Wait for the process to exit, with the wait registered before `start` runs: the
    /// race-free order of containerd's own clients, so an exit can never be missed.
    pub(crate) async fn wait_raw(
        &self,
        id: &str,
        exec_id: &str,
    ) -> Result<(u32, Option<prost_types::Timestamp>), RuntimeError> {
        let r = self
            .containerd()
            .tasks()
            .wait(WaitRequest {
                container_id: id.to_string(),
                exec_id: exec_id.to_string(),
            })
            .await?;
        Ok((r.exit_status, r.exited_at))
    }
}

/// Where a task's process reads and writes.
#[derive(Debug, Default)]
struct Stdio {
    stdin: String,
    stdout: String,
    stderr: String,
    terminal: bool,
}

/// What [`ContainerdRuntime::prepare_task`] found or made.
pub(crate) enum Prepared {
    /// The container already runs (its pid).
    Running(u32),
    /// Its task exists, not started yet.
    Created,
}

/// containerd reports runc's failures (missing executable, bad mount, cgroup refused) as
/// UNKNOWN, INTERNAL or FAILED_PRECONDITION with runc's message: those are start failures;
/// the rest (a broken connection included) stay as they are.
fn start_error(id: &str, e: RuntimeError) -> RuntimeError {
    match e {
        RuntimeError::Daemon {
            kind: ErrorKind::Internal | ErrorKind::WrongState,
            ..
        } => RuntimeError::StartFailed {
            id: id.to_string(),
            message: e.daemon_message(),
            source: Some(Box::new(e)),
        },
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_failure_keeps_containerds_error_as_its_source() {
        let daemon = RuntimeError::Daemon {
            op: "Tasks.Start",
            kind: ErrorKind::Internal,
            message: "exec: \"nope\": executable file not found in $PATH".into(),
            source: None,
        };
        let e = start_error("web", daemon);
        assert_eq!(e.kind(), ErrorKind::StartFailed);
        assert!(e.to_string().contains("executable file not found"), "{e}");
        let source = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<RuntimeError>())
            .expect("the daemon's error");
        assert!(matches!(
            source,
            RuntimeError::Daemon {
                op: "Tasks.Start",
                ..
            }
        ));
        // A broken connection is not a start failure.
        let broken = RuntimeError::Interrupted {
            op: "Tasks.Start",
            message: "gone".into(),
            source: None,
        };
        assert_eq!(start_error("web", broken).kind(), ErrorKind::Interrupted);
    }
}
