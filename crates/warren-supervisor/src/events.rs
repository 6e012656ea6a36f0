//! What the supervisor tells its callers about the daemon's life.

use std::time::Duration;

/// One step in the daemon's life, broadcast to every subscriber.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A daemon is being spawned (`generation` counts starts, from 1).
    Starting { generation: u64 },
    /// A running daemon from an earlier supervisor was adopted.
    Adopted { pid: u32, generation: u64 },
    /// The daemon answers its health check.
    Healthy { pid: u32, generation: u64 },
    /// A health check failed `failures` times in a row while the process was alive.
    Unhealthy { pid: u32, failures: u32 },
    /// The daemon process exited (or was killed after failing its health checks).
    Exited { pid: u32, status: String },
    /// A restart will be attempted after `delay` (`attempt` counts restarts in a row).
    Restarting { attempt: u32, delay: Duration },
    /// A (re)start failed; the supervisor will try again after its back-off.
    StartFailed { error: String },
    /// The daemon was shut down; the supervisor is done.
    Stopped,
}

/// Where the daemon is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    Starting,
    Healthy,
    Unhealthy,
    Restarting,
    Stopped,
}

/// The current state, as a `watch` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub phase: Phase,
    /// The daemon's pid while one runs.
    pub pid: Option<u32>,
    /// Incremented on every (re)start: a client that sees it change should redial and
    /// re-subscribe to events.
    pub generation: u64,
    /// How many restarts the supervisor made.
    pub restarts: u64,
}
