#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

mod client;
mod container_id;
mod containerd;
mod daemon;
mod error;
mod files;
mod undo;

pub mod containers;
pub mod images;
pub mod logger;
pub mod network;
pub(crate) mod tar_stream;

pub use client::{
    ContainerdRuntime, LogDriver, RuntimeOptions, DEFAULT_NAMESPACE, DEFAULT_SOCKET, LOGGER_ENV,
};
pub use containers::labels::STOP_SIGNAL as STOP_SIGNAL_LABEL;
pub use containers::{
    AttachInput, AttachOutput, AttachOutputStream, Attached, ContainerEvent, ContainerEventKind,
    ContainerInfo, ContainerMetrics, ContainerRequest, ContainerState, ContainerStatus, ExecEvent,
    ExecOutput, ExecRequest, ExecSession, ExecStream, ExecWait, ExitStatus, LogLine, LogOptions,
    LogStream, PullPolicy, SecurityInfo, MAX_EXEC_OUTPUT,
};
pub use daemon::{DaemonVersion, ImageRecord};
pub use error::{BoxError, ErrorKind, RuntimeError};
pub use images::{DiskLimits, LayerUnpack, Platform, RegistryOptions};
pub use images::{
    Image, ImportOptions, PullEvent, PullMode, PullOptions, PullProgress, PullStream,
    DEFAULT_MAX_CONCURRENT_DOWNLOADS,
};
pub use network::{
    DnsConfig, HostAddress, HostEntry, NetworkConfig, NetworkMode, PortMapping, Protocol,
};
/// The request types `ContainerRequest` is made of, from warren-spec, so that one dependency
/// is enough to fill a request.
pub use warren_spec::{
    health::{HealthCheck, HealthOverrides},
    Device, Mounts, Resources, Seccomp, Security, Tmpfs, Ulimit, UlimitKind, Volume,
};
