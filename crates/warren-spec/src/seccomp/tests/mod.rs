//! Tests of the public seccomp API, and helpers that read a resolved profile the way the
//! kernel filter will.

mod default_profile;
mod load;
mod user_profile;

use oci_spec::runtime::{Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSyscall};

/// The default capability set plus `extra`.
fn caps_with(extra: &[Capability]) -> Vec<Capability> {
    let mut caps = crate::CAPABILITIES.to_vec();
    caps.extend_from_slice(extra);
    caps
}

/// The profile's entries naming `name`.
fn entries<'a>(profile: &'a LinuxSeccomp, name: &str) -> Vec<&'a LinuxSyscall> {
    profile
        .syscalls()
        .iter()
        .flatten()
        .filter(|entry| entry.names().iter().any(|n| n == name))
        .collect()
}

/// `name` runs whatever its arguments.
fn allowed_always(profile: &LinuxSeccomp, name: &str) -> bool {
    entries(profile, name).iter().any(|entry| {
        entry.action() == LinuxSeccompAction::ScmpActAllow
            && entry.args().as_ref().is_none_or(|args| args.is_empty())
    })
}

/// `name` never runs: no entry allows it, under any condition.
fn never_allowed(profile: &LinuxSeccomp, name: &str) -> bool {
    !entries(profile, name)
        .iter()
        .any(|entry| entry.action() == LinuxSeccompAction::ScmpActAllow)
}
