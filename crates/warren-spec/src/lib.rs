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
pub use image_config::{args, env, stop_signal, ImageConfig, DEFAULT_PATH};
pub use mounts::{Mounts, Tmpfs, Volume, SECRETS_DESTINATION, TMPFS_FLAGS};
pub use request::{BuildContext, ContainerSpec, SpecRequest};
pub use resources::{cpu_mapping, Resources, CPU_PERIOD_US, MIN_CPUS, MIN_MEMORY_BYTES};
pub use security::{capability, not_in_fd_table, Seccomp, Security, ALL_CAPABILITIES};
pub use sysctls::validate as validate_sysctls;
pub use ulimits::{Ulimit, UlimitKind};
pub use units::{parse_bytes, parse_duration, parse_signal, UnitError};
pub use user::{resolve as resolve_user, ResolvedUser, MAX_ACCOUNT_FILE_BYTES};

/// The spec types this crate produces, re-exported so callers need no direct `oci-spec`
/// dependency.
pub use oci_spec;
