//! Fakes for Warren's root-free tests of error and undo paths, shared by warren-runtime's
//! tests and warrend's: [`FakeContainerd`], warren-proto's generated containerd servers on
//! a unix socket in a temporary folder, and [`network::FakeNetwork`], a host network behind
//! `warren_runtime::network::NetworkBackend`. Both log every call and fail or hold the calls
//! a test names. What containerd and the host really do is tested against them, in `tests/`.
//!
//! Not published: the fakes answer only as far as Warren's own tests need.

#![forbid(unsafe_code)]

mod containerd;
pub mod network;

pub use containerd::{FakeContainerd, FakeExec, State, IMAGE};
