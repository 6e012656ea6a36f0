//! Seccomp profiles: which syscalls a container's processes may make.
//!
//! [`default_profile`] is Docker's and containerd's default: about 360 syscalls always
//! allowed, more for containers holding the capability that guards them (mount, unshare and
//! setns only with `CAP_SYS_ADMIN`, reboot with `CAP_SYS_BOOT`, ...), a few per architecture
//! and kernel, clone without namespace flags, and EPERM for everything else. It is kept as
//! data (see the `default_profile` module) and resolved per container, as Docker does, so a
//! capability added to a container brings its syscalls along.
//!
//! [`load_profile`] reads a user's profile (`--security-opt seccomp=/path/profile.json`) in
//! Docker's format or the plain OCI one and resolves it the same way.
//!
//! Everything here yields `oci_spec` [`LinuxSeccomp`] values for the spec's
//! `linux.seccomp`; runc compiles them into the kernel filter.

mod arch;
mod conditions;
mod default_profile;
mod docker_format;
pub(crate) mod kernel;
mod profile_file;
mod rule;
#[cfg(test)]
mod tests;

use std::path::Path;

use oci_spec::runtime::{Capability, LinuxSeccomp, LinuxSeccompAction};

use crate::SpecError;
use conditions::Target;
use default_profile::{DEFAULT_ERRNO, RULES};

pub use profile_file::MAX_PROFILE_BYTES;

/// Docker's/containerd's default profile for a container whose effective capability set is
/// `caps`, on this host's architecture and kernel.
///
/// Calls outside the profile fail with EPERM. The rules are those of
/// `github.com/moby/profiles/seccomp` v0.2.3, the version moby vendors (main branch after
/// docker v29.7.2). The same inputs always give the same profile, with rules of the same
/// action and arguments joined into one entry.
pub fn default_profile(caps: &[Capability]) -> LinuxSeccomp {
    default_for(&Target {
        caps,
        arch: arch::host(),
        kernel: kernel::host(),
    })
}

/// [`default_profile`] for an architecture and kernel given instead of this host's: for
/// tests, and for building a spec that will run elsewhere.
///
/// `arch` is a Rust architecture name as in [`std::env::consts::ARCH`] (`"x86_64"`,
/// `"aarch64"`, `"s390x"`, ...; where Rust's name leaves the byte order open, as for
/// `"powerpc64"`, this build's is used) or a name seccomp profile conditions use (`"amd64"`,
/// `"arm64"`, `"ppc64le"`, ...). For an architecture seccomp profiles do not know the profile
/// lists no architectures (the runtime then filters the native one) and has no
/// architecture-specific rules. `kernel` is the kernel's `(major, minor)`, e.g. `(5, 15)`.
pub fn default_profile_for(caps: &[Capability], arch: &str, kernel: (u32, u32)) -> LinuxSeccomp {
    default_for(&Target {
        caps,
        arch: arch::condition_name(arch, arch::HOST_LITTLE_ENDIAN),
        kernel,
    })
}

fn default_for(target: &Target<'_>) -> LinuxSeccomp {
    let mut syscalls = Vec::new();
    for rule in RULES {
        if target.admits(&rule.includes, &rule.excludes) {
            rule::merge_into(&mut syscalls, rule.to_syscall(target.arch));
        }
    }
    let architectures = target
        .arch
        .map(arch::profile_arches)
        .unwrap_or_default()
        .to_vec();
    let mut profile = LinuxSeccomp::default();
    profile
        .set_default_action(LinuxSeccompAction::ScmpActErrno)
        .set_default_errno_ret(Some(DEFAULT_ERRNO))
        .set_architectures((!architectures.is_empty()).then_some(architectures))
        .set_syscalls(Some(syscalls));
    profile
}

/// A user's profile file (`--security-opt seccomp=/path/profile.json`), resolved for a
/// container with capabilities `caps` on this host.
///
/// The file must be a regular file of at most [`MAX_PROFILE_BYTES`]; FIFOs, devices and
/// directories are refused without blocking (it is opened with `O_NONBLOCK` and checked with
/// `fstat`). Its contents are then read as by [`profile_from_json`]. Every error is a
/// [`SpecError::SeccompProfile`] naming the file, what is wrong, and what is allowed.
pub fn load_profile(path: &Path, caps: &[Capability]) -> Result<LinuxSeccomp, SpecError> {
    let json = profile_file::read(path)?;
    profile_from_json(path, &json, caps)
}

/// A user's profile (`--security-opt seccomp=/path/profile.json`) already read into
/// `json`, resolved for a container with capabilities `caps` on this host; `path` only names
/// the file in errors.
///
/// It may be in Docker's format (`archMap`, `includes`/`excludes` with `caps`, `arches` and
/// `minKernel`, `name` or `names`, `comment`) or the plain OCI format; its conditions are
/// resolved against `caps`, this host's architecture and its kernel, as Docker does. Every
/// error is a [`SpecError::SeccompProfile`] naming the file, what is wrong, and what is
/// allowed.
pub fn profile_from_json(
    path: &Path,
    json: &[u8],
    caps: &[Capability],
) -> Result<LinuxSeccomp, SpecError> {
    docker_format::resolve(
        path,
        json,
        &Target {
            caps,
            arch: arch::host(),
            kernel: kernel::host(),
        },
    )
}
