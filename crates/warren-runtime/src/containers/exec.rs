//! `exec`: run another process in a running container and collect its output.

use std::path::PathBuf;
use std::time::Duration;

use warren_proto::any;
use warren_proto::containerd::services::tasks::v1::{
    DeleteProcessRequest, ExecProcessRequest, KillRequest, StartRequest,
};

use super::fifo::{self, AbortOnDrop};
use super::io::Fifos;
use super::logs::LogStream;
use super::ContainerState;
use crate::container_id::not_found;
use crate::{ContainerdRuntime, RuntimeError};
use warren_spec::ResolvedUser;

/// One item of an [`ExecStream`](super::ExecStream).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecEvent {
    /// A chunk of output, as the process wrote it.
    Output {
        /// Which of its streams.
        stream: LogStream,
        /// The bytes (not split at lines).
        data: Vec<u8>,
    },
    /// The process ended: the last item. Its output is also collected here, up to
    /// [`MAX_EXEC_OUTPUT`](super::MAX_EXEC_OUTPUT) per stream.
    Exited(ExecOutput),
}

pub(crate) type Forward = Option<tokio::sync::mpsc::Sender<Result<ExecEvent, RuntimeError>>>;

/// The most output `exec` keeps per stream; beyond it, output is still drained (so the
/// process never blocks) but dropped, and [`ExecOutput::truncated`] is set.
pub const MAX_EXEC_OUTPUT: usize = 16 * 1024 * 1024;

/// A process to run in a running container. Defaults: the container's env, working dir
/// and user.
#[derive(Debug, Clone, Default, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct ExecRequest {
    /// The command and its arguments; required.
    #[setters(skip)]
    pub args: Vec<String>,
    /// `NAME=value` entries added to the container's environment.
    #[setters(skip)]
    pub env: Vec<String>,
    /// Working directory (absolute) instead of the container's.
    #[setters(into)]
    pub working_dir: Option<String>,
    /// Run as this user instead of the container's: `uid`, `uid:gid`, `name`,
    /// `name:group` (as `docker exec -u`). Names, the primary group of a bare uid and the
    /// supplementary groups come from the running container's own `/etc/passwd` and
    /// `/etc/group`, so users added after start are found.
    #[setters(into)]
    pub user: Option<String>,
    /// Give the process a terminal (`docker exec -t`; with
    /// [`exec_attached`](ContainerdRuntime::exec_attached)).
    pub tty: bool,
    /// Give the process a stdin to write to (`docker exec -i`; with
    /// [`exec_attached`](ContainerdRuntime::exec_attached)).
    pub stdin: bool,
    /// The terminal's size at start, `(columns, rows)` (with `tty`).
    pub console_size: Option<(u16, u16)>,
    /// With [`exec`](ContainerdRuntime::exec): kill the process (SIGKILL) if it has not
    /// ended after this long; the output then says [`ExecOutput::timed_out`]. Health checks
    /// use it. `None`: wait as long as it runs.
    pub timeout: Option<Duration>,
}

impl ExecRequest {
    /// A request to run `args` (the command and its arguments), everything else at its
    /// default.
    pub fn new<S: Into<String>>(args: impl IntoIterator<Item = S>) -> ExecRequest {
        ExecRequest {
            args: args.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// Set the `NAME=value` entries added to the container's environment.
    pub fn env<S: Into<String>>(mut self, env: impl IntoIterator<Item = S>) -> Self {
        self.env = env.into_iter().map(Into::into).collect();
        self
    }
}

/// What an exec'd process did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecOutput {
    /// Its exit code.
    pub exit_code: u32,
    /// Everything it wrote to stdout (up to [`MAX_EXEC_OUTPUT`]).
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr (up to [`MAX_EXEC_OUTPUT`]).
    pub stderr: Vec<u8>,
    /// True if output beyond [`MAX_EXEC_OUTPUT`] was dropped.
    pub truncated: bool,
    /// True if the process was killed at [`ExecRequest::timeout`] (its exit code is then
    /// the kill's, 137).
    pub timed_out: bool,
}

impl ContainerdRuntime {
    /// Run `req.args` in running container `id`, wait for it and return its exit code and
    /// output (to see the output as it comes, use
    /// [`exec_stream`](Self::exec_stream)). The process and its FIFOs are removed
    /// afterwards, whatever happened.
    ///
    /// ```no_run
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// use warren_runtime::ExecRequest;
    /// let out = rt
    ///     .exec("web-1", &ExecRequest::new(["cat", "/etc/hostname"]))
    ///     .await?;
    /// assert_eq!(out.exit_code, 0);
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(level = "debug", skip(self, req))]
    ///
    /// If the returned future is dropped before it completes (a caller's timeout, a client
    /// that went away), the process is killed and removed with its FIFOs all the same: the
    /// work runs on a task of its own that a drop only tells to stop.
    pub async fn exec(&self, id: &str, req: &ExecRequest) -> Result<ExecOutput, RuntimeError> {
        self.exec_forwarding(id, req, None).await
    }

    /// [`exec`](Self::exec), also sending each chunk of output to `forward` as it is read.
    pub(crate) async fn exec_forwarding(
        &self,
        id: &str,
        req: &ExecRequest,
        forward: Forward,
    ) -> Result<ExecOutput, RuntimeError> {
        let process = self.exec_process(id, req).await?;
        let exec_id = format!("exec-{:016x}", rand::random::<u64>());
        let (rt, id, req) = (self.clone(), id.to_string(), req.clone());
        // Dropped with this future: the task's `cancelled` then fires.
        let (_cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let fifos = Fifos::at(&rt.inner.containers.dir(&id), &exec_id);
            fifos.create().await?;
            let result = tokio::select! {
                r = rt.exec_with(&id, &exec_id, &fifos, process, &req, forward) => r,
                _ = cancelled => {
                    tracing::debug!(container = %id, exec_id, "exec abandoned by its caller; killing it");
                    rt.kill_exec(&id, &exec_id).await;
                    let _ = tokio::time::timeout(Duration::from_secs(5), rt.wait_raw(&id, &exec_id)).await;
                    Err(RuntimeError::Cancelled { op: "exec" })
                }
            };
            let _ = rt
                .containerd()
                .tasks()
                .delete_process(DeleteProcessRequest {
                    container_id: id.clone(),
                    exec_id: exec_id.clone(),
                })
                .await;
            fifos.remove().await;
            result
        });
        task.await.map_err(|e| RuntimeError::Task {
            op: "running an exec",
            source: e,
        })?
    }

    /// SIGKILL exec `exec_id` of container `id` (gone already is fine).
    pub(crate) async fn kill_exec(&self, id: &str, exec_id: &str) {
        let _ = self
            .containerd()
            .tasks()
            .kill(KillRequest {
                container_id: id.to_string(),
                exec_id: exec_id.to_string(),
                signal: libc::SIGKILL as u32,
                all: false,
            })
            .await;
    }

    async fn exec_with(
        &self,
        id: &str,
        exec_id: &str,
        fifos: &Fifos,
        process: Vec<u8>,
        req: &ExecRequest,
        forward: Forward,
    ) -> Result<ExecOutput, RuntimeError> {
        let (out, err) = fifos.open()?;
        self.containerd()
            .tasks()
            .exec(ExecProcessRequest {
                container_id: id.to_string(),
                exec_id: exec_id.to_string(),
                stdout: fifos.stdout.display().to_string(),
                stderr: fifos.stderr.display().to_string(),
                spec: Some(any::pack_json(any::PROCESS_TYPE_URL, process)),
                ..Default::default()
            })
            .await?;
        // The wait is registered before the start, so a process that exits at once is seen.
        let waiting = self.wait_raw(id, exec_id);
        tokio::pin!(waiting);
        self.start_exec(id, exec_id).await?;
        // On the reactor only now: the shim opens the write ends during Start, and a read
        // of a FIFO without a writer returns end-of-file at once (see `fifo`'s "Opening
        // order"). Each stream is read by a task of its own, aborted when this returns or
        // is dropped: readers never outlive the exec.
        let readers = fifo::reader(out, &fifos.stdout)
            .and_then(|out| Ok((out, fifo::reader(err, &fifos.stderr)?)));
        let (out, err) = match readers {
            Ok(r) => r,
            Err(e) => {
                self.kill_exec(id, exec_id).await;
                return Err(e);
            }
        };
        let mut out = AbortOnDrop(tokio::spawn(collect(
            out,
            LogStream::Stdout,
            forward.clone(),
        )));
        let mut err = AbortOnDrop(tokio::spawn(collect(err, LogStream::Stderr, forward)));
        let mut timed_out = false;
        let waited = match req.timeout {
            None => waiting.await,
            Some(limit) => match tokio::time::timeout(limit, &mut waiting).await {
                Ok(w) => w,
                Err(_) => {
                    timed_out = true;
                    tracing::debug!(container = id, exec_id, "exec timed out; killing it");
                    self.kill_exec(id, exec_id).await;
                    waiting.await
                }
            },
        };
        let (exit_code, _) = match waited {
            Ok(w) => w,
            Err(e) => {
                self.kill_exec(id, exec_id).await;
                return Err(e);
            }
        };
        let mut output = ExecOutput {
            exit_code,
            timed_out,
            ..Default::default()
        };
        // A killed process's children may hold the FIFOs open: its output is not waited for
        // (the readers are aborted on the way out), nor for more than 5 s after an exit.
        let handles = if timed_out {
            vec![]
        } else {
            vec![
                (&mut out, &mut output.stdout),
                (&mut err, &mut output.stderr),
            ]
        };
        for (handle, slot) in handles {
            if let Ok(Ok((bytes, truncated))) =
                tokio::time::timeout(Duration::from_secs(5), &mut handle.0).await
            {
                *slot = bytes;
                output.truncated |= truncated;
            }
        }
        Ok(output)
    }
}

impl ContainerdRuntime {
    /// Start exec `exec_id` of container `id` (created by Tasks.Exec); a refusal is
    /// `StartFailed` with the runtime's own message (e.g. a missing binary).
    pub(crate) async fn start_exec(&self, id: &str, exec_id: &str) -> Result<(), RuntimeError> {
        self.containerd()
            .tasks()
            .start(StartRequest {
                container_id: id.to_string(),
                exec_id: exec_id.to_string(),
            })
            .await
            .map(|_| ())
            .map_err(|e| RuntimeError::StartFailed {
                id: format!("{id} (exec {exec_id})"),
                message: e.daemon_message(),
                source: Some(Box::new(e)),
            })
    }

    /// Check an exec request against the running container and build its process spec
    /// (JSON): everything an exec does before anything is created.
    pub(crate) async fn exec_process(
        &self,
        id: &str,
        req: &ExecRequest,
    ) -> Result<Vec<u8>, RuntimeError> {
        crate::containers::check_id(id)?;
        if req.args.is_empty() || req.args.iter().any(|a| a.contains('\0')) {
            return Err(RuntimeError::InvalidRequest {
                field: "exec args",
                value: format!("{:?}", req.args),
                allowed: "a non-empty command without NUL bytes".into(),
            });
        }
        for e in &req.env {
            if !e.contains('=') || e.starts_with('=') || e.contains('\0') {
                return Err(RuntimeError::InvalidRequest {
                    field: "exec env",
                    value: e.clone(),
                    allowed: "NAME=value without NUL bytes".into(),
                });
            }
        }
        if let Some(w) = &req.working_dir {
            if !w.starts_with('/') || w.contains('\0') {
                return Err(RuntimeError::InvalidRequest {
                    field: "exec working dir",
                    value: w.clone(),
                    allowed: "an absolute path".into(),
                });
            }
        }
        let record = self
            .container_record(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let task = self.task(id).await?;
        let state = match &task {
            Some(t) => super::status::state_of(t.status),
            None => ContainerState::Stopped,
        };
        if state != ContainerState::Running {
            return Err(RuntimeError::WrongState {
                id: id.to_string(),
                op: "exec",
                state: state.to_string(),
                needs: "running",
            });
        }
        let pid = task.map(|t| t.pid);
        let user = match &req.user {
            Some(spec) => Some(exec_user(id, pid, spec).await?),
            None => {
                // runc reads the container's /etc/passwd and /etc/group for every exec, and
                // blocks for good on a FIFO there: refuse such a container's exec up front.
                exec_user(id, pid, "0").await?;
                None
            }
        };
        process_spec(record.spec.as_ref(), req, user.as_ref())
    }
}

/// Resolve an exec's user against the files of the running container (its init process's
/// root, `pid`), before anything is created.
async fn exec_user(id: &str, pid: Option<u32>, spec: &str) -> Result<ResolvedUser, RuntimeError> {
    let root = pid
        .filter(|p| *p > 0)
        .map(|p| PathBuf::from(format!("/proc/{p}/root")));
    let spec = spec.to_string();
    let resolved = tokio::task::spawn_blocking(move || {
        let root = root.filter(|r| r.join("etc").exists());
        warren_spec::resolve_user(Some(&spec), root.as_deref())
    })
    .await
    .map_err(|source| RuntimeError::Task {
        op: "read the container's /etc/passwd",
        source,
    })?;
    resolved.map_err(|source| RuntimeError::Spec {
        id: id.to_string(),
        source,
    })
}

/// Read a FIFO to its end, keeping up to [`MAX_EXEC_OUTPUT`] bytes and forwarding chunks.
async fn collect(
    mut from: tokio::net::unix::pipe::Receiver,
    stream: LogStream,
    forward: Forward,
) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buf = vec![0u8; fifo::CHUNK];
    loop {
        match fifo::read_some(&mut from, &mut buf).await {
            0 => return (kept, truncated),
            n => {
                let room = MAX_EXEC_OUTPUT - kept.len();
                kept.extend_from_slice(&buf[..n.min(room)]);
                truncated |= n > room;
                if let Some(tx) = &forward {
                    let _ = tx
                        .send(Ok(ExecEvent::Output {
                            stream,
                            data: buf[..n].to_vec(),
                        }))
                        .await;
                }
            }
        }
    }
}

/// The exec'd process's spec: the container's process with the request's changes.
fn process_spec(
    spec: Option<&prost_types::Any>,
    req: &ExecRequest,
    user: Option<&ResolvedUser>,
) -> Result<Vec<u8>, RuntimeError> {
    let spec: serde_json::Value = spec
        .and_then(|s| serde_json::from_slice(&s.value).ok())
        .unwrap_or_default();
    let mut process = spec
        .get("process")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({"cwd": "/", "user": {"uid": 0, "gid": 0}}));
    let obj = process
        .as_object_mut()
        .ok_or_else(|| RuntimeError::InvalidRequest {
            field: "container spec",
            value: "process".into(),
            allowed: "a JSON object".into(),
        })?;
    obj.insert("args".into(), serde_json::json!(req.args));
    obj.insert("terminal".into(), serde_json::json!(req.tty));
    match req.console_size.filter(|_| req.tty) {
        Some((cols, rows)) => {
            obj.insert(
                "consoleSize".into(),
                serde_json::json!({"width": cols, "height": rows}),
            );
        }
        None => {
            obj.remove("consoleSize");
        }
    }
    if let Some(w) = &req.working_dir {
        obj.insert("cwd".into(), serde_json::json!(w));
    }
    if let Some(u) = user {
        let mut user = serde_json::json!({"uid": u.uid, "gid": u.gid});
        if !u.additional_gids.is_empty() {
            user["additionalGids"] = serde_json::json!(u.additional_gids);
        }
        obj.insert("user".into(), user);
    }
    if !req.env.is_empty() {
        let mut env: Vec<String> = obj
            .get("env")
            .and_then(|e| serde_json::from_value(e.clone()).ok())
            .unwrap_or_default();
        for e in &req.env {
            let name = e.split('=').next().unwrap_or_default();
            env.retain(|x| x.split('=').next() != Some(name));
            env.push(e.clone());
        }
        obj.insert("env".into(), serde_json::json!(env));
    }
    Ok(serde_json::to_vec(&process).unwrap_or_default())
}
