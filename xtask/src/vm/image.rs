//! `cargo xtask vm image`: the guest (kernel, initramfs, root disk) and the emulator, built
//! from Debian packages and cached under `target/warren-vm/`. A stamp of the inputs (this
//! code's version, the package lists, every resolved package version) decides whether to
//! build again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

use super::packages::{self, Archive, Package};
use super::{initramfs, rootfs, IMAGE_VERSION};
use crate::run::output;

/// Free room left in the root filesystem (sparse; writes go to qemu's snapshot overlay).
const ROOT_HEADROOM: u64 = 512 << 20;

/// Where everything lives.
pub struct VmDir(pub PathBuf);

impl VmDir {
    pub fn new(workspace: &Path) -> VmDir {
        VmDir(workspace.join("target/warren-vm"))
    }
    fn apt(&self) -> PathBuf {
        self.0.join("apt")
    }
    fn debs(&self) -> PathBuf {
        self.0.join("debs")
    }
    fn image(&self) -> PathBuf {
        self.0.join("image")
    }
    fn stamp(&self) -> PathBuf {
        self.image().join("stamp")
    }
    pub fn runs(&self) -> PathBuf {
        self.0.join("runs")
    }
}

/// A built guest and the emulator that boots it.
pub struct Image {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub root: PathBuf,
    /// The unpacked qemu-system-x86 with every library it needs.
    pub qemu_tree: PathBuf,
}

impl Image {
    fn at(dir: &VmDir) -> Image {
        Image {
            kernel: dir.image().join("vmlinuz"),
            initrd: dir.image().join("initrd.cpio"),
            root: dir.image().join("root.img"),
            qemu_tree: dir.0.join("qemu"),
        }
    }

    fn complete(&self) -> bool {
        self.kernel.is_file()
            && self.initrd.is_file()
            && self.root.is_file()
            && self.qemu_tree.join("usr/bin/qemu-system-x86_64").is_file()
    }
}

/// FNV-1a: a stable fingerprint of the guest's scripts for the stamp.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.iter().flat_map(|p| p.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What the stamp records before the resolved versions: changes here need no archive to
/// notice. An edit of the guest's init scripts counts without a version bump.
fn stamp_header() -> String {
    format!(
        "warren-vm image {IMAGE_VERSION}\nscripts {:016x}\nsuite {}\nguest {}\nkernel {}\nqemu {}\n",
        fnv1a(&[rootfs::INIT, initramfs::INIT]),
        packages::SUITE,
        packages::GUEST.join(" "),
        packages::KERNEL,
        packages::QEMU.join(" ")
    )
}

/// The resolved versions: what follows the `--- resolved` line of a stamp.
fn resolved_part(stamp: &str) -> &str {
    stamp.split_once(RESOLVED).map_or("", |(_, r)| r)
}

const RESOLVED: &str = "--- resolved\n";

fn stamp(lists: &str, resolved: &Resolved) -> String {
    let mut s = stamp_header();
    s.push_str(lists);
    s.push_str(RESOLVED);
    for (set, list) in [
        ("guest", &resolved.guest),
        ("kernel", &resolved.kernel),
        ("qemu", &resolved.qemu),
    ] {
        for p in list {
            s.push_str(&format!("{set} {}={} {}\n", p.name, p.version, p.arch));
        }
    }
    s
}

struct Resolved {
    guest: Vec<Package>,
    kernel: Vec<Package>,
    qemu: Vec<Package>,
}

fn resolve(archive: &Archive) -> Result<Resolved> {
    let guest = archive.resolve(packages::GUEST)?;
    // Only the kernel itself: its package's own dependencies (initramfs-tools and the like)
    // are for installing it on a Debian system.
    let kernel: Vec<Package> = archive
        .resolve(&[packages::KERNEL])?
        .into_iter()
        .filter(|p| {
            p.name
                .strip_prefix("linux-image-")
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    anyhow::ensure!(
        kernel.len() == 1,
        "{} did not resolve to one kernel: {kernel:?}",
        packages::KERNEL
    );
    let qemu = archive.resolve(packages::QEMU)?;
    Ok(Resolved {
        guest,
        kernel,
        qemu,
    })
}

/// The image, from the cache when its stamp matches. With `refresh`, the package versions
/// are looked up in the archive first (a newer point release builds again); without, any
/// complete image built from the same lists and code is used as it is.
pub fn ensure(workspace: &Path, refresh: bool) -> Result<Image> {
    let dir = VmDir::new(workspace);
    let image = Image::at(&dir);
    let old = std::fs::read_to_string(dir.stamp()).unwrap_or_default();
    if !refresh && image.complete() && old.starts_with(&stamp_header()) {
        eprintln!("xtask: vm image cached in {}", dir.image().display());
        return Ok(image);
    }
    let start = Instant::now();
    let archive = Archive::open(&dir.apt())?;
    // Unchanged package lists cannot resolve to other versions.
    let lists = archive.lists_fingerprint()?;
    let same_code = old.starts_with(&stamp_header());
    if image.complete() && same_code && old.contains(&lists) {
        eprintln!(
            "xtask: vm image cached in {} (package lists unchanged)",
            dir.image().display()
        );
        return Ok(image);
    }
    let resolved = resolve(&archive)?;
    let new = stamp(&lists, &resolved);
    if image.complete() && same_code && resolved_part(&old) == resolved_part(&new) {
        std::fs::write(dir.stamp(), new)?;
        eprintln!(
            "xtask: vm image cached in {} (package versions unchanged)",
            dir.image().display()
        );
        return Ok(image);
    }
    eprintln!("xtask: building the vm image in {}", dir.0.display());
    let _ = std::fs::remove_file(dir.stamp());
    build(&dir, &archive, &resolved, &image)?;
    std::fs::write(dir.stamp(), new)?;
    eprintln!(
        "xtask: vm image built in {:.1} s: {}",
        start.elapsed().as_secs_f64(),
        dir.image().display()
    );
    Ok(image)
}

fn build(dir: &VmDir, archive: &Archive, resolved: &Resolved, image: &Image) -> Result<()> {
    let debs = dir.debs();
    let qemu_debs = archive.download(&resolved.qemu, &debs)?;
    let mut root_debs = archive.download(&resolved.guest, &debs)?;
    root_debs.extend(archive.download(&resolved.kernel, &debs)?);

    let t = Instant::now();
    packages::unpack(&qemu_debs, &image.qemu_tree)?;
    eprintln!("xtask: qemu unpacked in {:.1} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let root = dir.0.join("build/root");
    packages::unpack(&root_debs, &root)?;
    let kver = rootfs::prepare(&root)?;
    std::fs::create_dir_all(dir.image())?;
    // The kernel boots from outside the root disk.
    std::fs::copy(root.join(format!("boot/vmlinuz-{kver}")), &image.kernel)?;
    std::fs::remove_dir_all(root.join("boot"))?;
    initramfs::build(&root, &kver, &image.initrd)?;
    eprintln!(
        "xtask: guest root prepared in {:.1} s (kernel {kver})",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let size = tree_size(&root)? + ROOT_HEADROOM;
    make_ext4(&root, &image.root, size, "warren-root")?;
    std::fs::remove_dir_all(dir.0.join("build"))?;
    eprintln!(
        "xtask: root disk written in {:.1} s ({} MiB)",
        t.elapsed().as_secs_f64(),
        size >> 20
    );
    Ok(())
}

/// Bytes of the regular files under `dir` (rounded up to 4 KiB each).
pub fn tree_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let e = e?;
            let meta = e.path().symlink_metadata()?;
            if meta.is_dir() {
                stack.push(e.path());
            }
            total += meta.len().div_ceil(4096) * 4096;
        }
    }
    Ok(total)
}

/// A sparse ext4 image of `size` bytes holding the tree `from` (no mount, no loop device).
pub fn make_ext4(from: &Path, image: &Path, size: u64, label: &str) -> Result<()> {
    let _ = std::fs::remove_file(image);
    let size_kib = size.div_ceil(1 << 20) * 1024;
    output(
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-O", "^has_journal", "-L", label, "-d"])
            .arg(from)
            .arg(image)
            .arg(format!("{size_kib}k")),
    )
    .context("mkfs.ext4 (e2fsprogs) builds the guest's disks")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_compare_versions_apart_from_the_lists() {
        let resolved = Resolved {
            guest: vec![Package {
                name: "libc6".into(),
                version: "2.36-9".into(),
                arch: "amd64".into(),
            }],
            kernel: vec![],
            qemu: vec![],
        };
        let a = stamp("lists x_InRelease 1\n", &resolved);
        let b = stamp("lists x_InRelease 2\n", &resolved);
        assert_ne!(a, b);
        assert_eq!(resolved_part(&a), "guest libc6=2.36-9 amd64\n");
        assert_eq!(resolved_part(&a), resolved_part(&b));
        assert!(a.starts_with(&stamp_header()));
        // FNV-1a of "a", the published test vector.
        assert_eq!(fnv1a(&["a"]), 0xaf63_dc4c_8601_ec8c);
    }
}
