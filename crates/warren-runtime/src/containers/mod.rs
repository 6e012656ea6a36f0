//! Containers: create, start, stop, delete, status, logs, wait, exec, pause/resume, live
//! resource updates, metrics and events, on top of warren-spec and the image half.
//!
//! Every multi-step operation undoes its finished steps when a later one fails, so a failed
//! call leaves no container record, snapshot, task, lease, FIFO or log file behind.

mod attach;
mod control;
mod create;
mod events;
mod exec;
mod exec_attach;
mod exec_stream;
mod fifo;
mod health;
pub(crate) mod io;
pub(crate) mod labels;
mod logs;
mod metrics;
mod output_end;
mod security;
pub mod shims;
mod signal;
mod stale_exec;
pub(crate) mod start;
mod status;
mod stop;

pub(crate) use crate::container_id::check_id;

use std::path::PathBuf;
use std::time::SystemTime;

use crate::RuntimeError;

pub use attach::{AttachInput, AttachOutput, AttachOutputStream, Attached};
pub use events::{ContainerEvent, ContainerEventKind};
pub use exec::{ExecEvent, ExecOutput, ExecRequest, MAX_EXEC_OUTPUT};
pub use exec_attach::{ExecSession, ExecWait};
pub use exec_stream::ExecStream;
pub use health::HEALTH_LABEL;
pub use logs::{LogLine, LogOptions, LogStream};
pub use metrics::ContainerMetrics;
pub use security::SecurityInfo;
pub use status::{ContainerInfo, ContainerState, ContainerStatus, ExitStatus};
pub use warren_spec::container::{ContainerRequest, PullPolicy};

/// The runtime containerd runs our containers with.
pub const RUNTIME_NAME: &str = "io.containerd.runc.v2";

/// Where and how containers keep their files; from [`crate::RuntimeOptions`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `<state_dir>/<namespace>`: one directory per container below it.
    pub state_dir: PathBuf,
    pub runc_binary: Option<PathBuf>,
    pub runc_root: Option<PathBuf>,
    pub log_max_bytes: u64,
    pub log_max_files: usize,
    /// Who writes container output: the shim's logger, this process, or nobody yet.
    pub output: Output,
}

/// Where container output goes, as resolved from a [`LogDriver`](crate::LogDriver) once per handle.
#[derive(Debug, Clone)]
pub(crate) enum Output {
    /// The shim runs this logger binary.
    Logger(PathBuf),
    /// Copied from FIFOs in this process.
    InProcess,
    /// `Auto` found no logger: starting a container fails with this message.
    NoLogger(String),
}

impl Output {
    /// `Err` when no container can be started: [`LogDriver::Auto`](crate::LogDriver::Auto) found no logger.
    pub(crate) fn usable(&self) -> Result<(), RuntimeError> {
        match self {
            Output::NoLogger(why) => Err(RuntimeError::InvalidRequest {
                field: "log_driver",
                value: "auto".into(),
                allowed: why.clone(),
            }),
            _ => Ok(()),
        }
    }
}

impl Settings {
    /// The container's own directory: its log files and stdio FIFOs.
    pub(crate) fn dir(&self, id: &str) -> PathBuf {
        self.state_dir.join(id)
    }

    /// The logger spec of container `id`.
    pub(crate) fn logger_spec(&self, id: &str, tty: bool, stdin: bool) -> crate::logger::Spec {
        crate::logger::Spec {
            path: self.dir(id).join(crate::logger::LOG_FILE),
            max_bytes: self.log_max_bytes,
            max_files: self.log_max_files,
            tty,
            stdin,
            // Without a terminal, the shim connects no stdin to a binary:// logger's task.
            fifos: stdin && !tty,
        }
    }
}

pub(crate) fn to_system_time(t: Option<&prost_types::Timestamp>) -> Option<SystemTime> {
    let t = t?;
    if t.seconds <= 0 {
        return None;
    }
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::new(t.seconds as u64, t.nanos.max(0) as u32))
}
