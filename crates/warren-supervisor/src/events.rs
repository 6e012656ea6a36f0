//! What the supervisor tells its callers about the daemon's life.

use std::time::Duration;

use crate::exit::DaemonExit;

/// One step in the daemon's life, broadcast to every subscriber of
/// [`Supervisor::events`](crate::Supervisor::events).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A daemon is being spawned.
    Starting {
        /// Counts daemons this supervisor has started or adopted, from 1.
        generation: u64,
    },
    /// A running daemon left by an earlier (detached) supervisor was adopted.
    Adopted {
        /// Its pid.
        pid: u32,
        /// As in [`Event::Starting`].
        generation: u64,
    },
    /// The daemon answers its health check: clients may (re)connect.
    Healthy {
        /// Its pid.
        pid: u32,
        /// As in [`Event::Starting`]: a new value means a new daemon (redial, re-subscribe).
        generation: u64,
    },
    /// A health check failed while the process was alive.
    Unhealthy {
        /// Its pid.
        pid: u32,
        /// Failed checks in a row; at the configured threshold the daemon is killed.
        failures: u32,
    },
    /// The daemon process exited (or was killed after failing its health checks).
    Exited {
        /// Its pid.
        pid: u32,
        /// How it ended.
        status: DaemonExit,
    },
    /// A restart will be attempted after `delay`.
    Restarting {
        /// Restarts in a row without a healthy period in between, from 1.
        attempt: u32,
        /// The back-off delay before it.
        delay: Duration,
    },
    /// A restart failed; the supervisor will try again after its back-off.
    StartFailed {
        /// Why (the [`Error`](crate::Error) as text).
        error: String,
    },
    /// The daemon was shut down; the supervisor is done.
    Stopped,
    /// The last handle of a detached supervisor was dropped: the daemon runs on, unwatched.
    Released {
        /// Its pid, for whoever adopts it (`None` if it was down at that moment).
        pid: Option<u32>,
    },
}

/// Where the daemon is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Being spawned (or adopted), not yet answering.
    Starting,
    /// Answering its health check.
    Healthy,
    /// Alive but failing its health check (fewer times than the threshold so far).
    Unhealthy,
    /// Down, waiting for the back-off before the next start.
    Restarting,
    /// Shut down; the supervisor is done.
    Stopped,
    /// Left running by a detached supervisor whose last handle was dropped.
    Released,
}

/// The current state, as a [`watch`](tokio::sync::watch) value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// What the daemon is doing.
    pub phase: Phase,
    /// The daemon's pid while one runs.
    pub pid: Option<u32>,
    /// Counts daemons this supervisor has started or adopted: a client that sees it change
    /// should redial and re-subscribe to events (events are not replayed).
    pub generation: u64,
    /// How many times the supervisor brought a daemon back after it went down.
    pub restarts: u64,
    /// Restarts that failed in a row (the daemon would not start, or died before it was
    /// healthy) since the last healthy daemon: above 0, it is crash looping.
    pub failed_attempts: u32,
}
