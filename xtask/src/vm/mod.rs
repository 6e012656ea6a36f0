//! `cargo xtask vm`: the integration tests inside a cgroup-v2-only Linux guest under qemu.
//!
//! The host here is cgroup v1 (hybrid) and its cgroup mounts are not ours to change; most
//! production hosts are cgroup v2 only. `vm image` builds a small Debian bookworm guest (the
//! cloud kernel, a root of busybox, glibc, iptables, iproute2, util-linux, kmod) and the
//! emulator, all from Debian's archive; `vm run` boots it once with the host-built test
//! binaries, `warrend` and the pinned deps on a second disk, runs the chosen tests as root
//! and returns the guest's exit code.

mod cpio;
mod image;
mod initramfs;
mod packages;
mod rootfs;

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;

/// Bump when the image's making changes (init scripts, root layout): the stamp records it.
pub const IMAGE_VERSION: u32 = 1;

#[derive(Subcommand)]
pub enum VmTask {
    /// Build the guest image (kernel, initramfs, root disk) and qemu from Debian packages,
    /// or say where the cached one is.
    Image,
}

/// Run a `vm` task; returns the process exit code.
pub fn main(workspace: &Path, task: VmTask) -> Result<i32> {
    match task {
        VmTask::Image => {
            image::ensure(workspace, true)?;
            Ok(0)
        }
    }
}
