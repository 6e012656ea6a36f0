#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod backoff;
mod blocking;
mod builder;
mod config;
mod ctx;
mod error;
mod events;
mod exit;
mod handle;
mod health;
mod isolation;
mod lock;
mod monitor;
mod options;
mod output;
mod pidfd;
mod pidfile;
mod preflight;
mod proc_info;
mod process;
mod spawner;
mod start;
mod version;

pub use backoff::BackoffBounds;
pub use builder::SupervisorBuilder;
pub use error::Error;
pub use events::{Event, Phase, Status};
pub use exit::DaemonExit;
pub use handle::Supervisor;
pub use options::Mode;
pub use preflight::MAX_SOCKET_PATH;
pub use version::ReleaseLine;
