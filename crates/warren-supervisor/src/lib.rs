#![doc = include_str!("../README.md")]

mod backoff;
mod builder;
mod config;
mod error;
mod events;
mod handle;
mod health;
mod lock;
mod monitor;
mod output;
mod pidfile;
mod preflight;
mod proc_info;
mod process;
mod start;
mod version;

pub use backoff::BackoffBounds;
pub use builder::{Mode, SupervisorBuilder};
pub use error::Error;
pub use events::{Event, Phase, Status};
pub use handle::Supervisor;
pub use preflight::MAX_SOCKET_PATH;
pub use version::DaemonVersion;
