#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]

mod defaults;
mod devices;
mod error;
mod image_config;
mod mounts;
mod request;
mod resources;
pub mod rootfs_file;
mod security;
mod sysctls;
mod ulimits;
mod user;
mod validate;

pub mod container;
pub mod health;
pub mod host;
pub mod network;
pub mod seccomp;
pub mod units;

pub use defaults::{Network, CAPABILITIES, MASKED_PATHS, READONLY_PATHS};
pub use devices::Device;
pub use error::SpecError;
pub use image_config::{stop_signal, ImageConfig};
pub use mounts::{Mounts, Tmpfs, Volume, TMPFS_FLAGS};
pub use request::{BuildContext, ContainerSpec, SpecRequest};
pub use resources::{Resources, MIN_CPUS, MIN_MEMORY_BYTES};
pub use security::{capability, Seccomp, Security, ALL_CAPABILITIES};
pub use ulimits::{Ulimit, UlimitKind};
pub use units::{parse_bytes, parse_duration, parse_signal, UnitError};
pub use user::{resolve as resolve_user, ResolvedUser};

/// The spec types this crate produces, re-exported so callers need no direct `oci-spec`
/// dependency.
pub use oci_spec;
