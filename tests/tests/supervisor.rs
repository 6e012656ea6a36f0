//! warren-supervisor against the real containerd line under test (`WARREN_CONTAINERD_LINE`):
//! fault injection, preflight errors, and the daemon's life as a caller sees it. Each test
//! runs its own daemon in its own short temp dir, and its guards clean up daemons, shims,
//! containers, cgroups and mounts even when it panics.

#[path = "supervisor/env.rs"]
mod env;
#[path = "supervisor/faults.rs"]
mod faults;
#[path = "supervisor/lifecycle.rs"]
mod lifecycle;
#[path = "supervisor/preflight.rs"]
mod preflight;
