//! Turning the unpacked packages into a root that boots: what maintainer scripts would have
//! done (busybox applet links, the iptables alternatives, module dependency lists), the few
//! files in /etc the tests and tools read, and the guest's init.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::run::{output, status};

/// PID 1 of the guest.
pub const INIT: &str = include_str!("guest/init.sh");

/// The iptables names the CNI plugins and the tests call, all the nf_tables flavour (Debian's
/// default alternative).
const IPTABLES_LINKS: &[&str] = &[
    "iptables",
    "iptables-save",
    "iptables-restore",
    "ip6tables",
    "ip6tables-save",
    "ip6tables-restore",
];

const ETC: &[(&str, &str)] = &[
    (
        "passwd",
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    ),
    ("group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"),
    ("hostname", "warren-vm\n"),
    (
        "hosts",
        "127.0.0.1\tlocalhost warren-vm\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    ),
    (
        "nsswitch.conf",
        "passwd: files\ngroup: files\nhosts: files\n",
    ),
    // The guest has no network; containers get a copy of this.
    ("resolv.conf", "nameserver 127.0.0.1\n"),
];

/// The one kernel version under `root/lib/modules`.
pub fn kernel_version(root: &Path) -> Result<String> {
    let mut versions: Vec<String> = std::fs::read_dir(root.join("lib/modules"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    versions.sort();
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!("expected one kernel in the guest root, found {versions:?}"),
    }
}

/// Make the unpacked tree at `root` bootable; returns the kernel version.
pub fn prepare(root: &Path) -> Result<String> {
    let kver = kernel_version(root)?;
    for dir in [
        "proc", "sys", "dev", "run", "tmp", "job", "root", "var/lib", "etc",
    ] {
        std::fs::create_dir_all(root.join(dir))?;
    }
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))?;
    link_if_missing("/run", &root.join("var/run"))?;
    busybox_links(root)?;
    for name in IPTABLES_LINKS {
        let link = root.join("usr/sbin").join(name);
        let _ = std::fs::remove_file(&link);
        symlink("xtables-nft-multi", &link)?;
    }
    for (name, text) in ETC {
        std::fs::write(root.join("etc").join(name), text)?;
    }
    ca_bundle(root)?;
    let init = root.join("sbin/warren-init");
    std::fs::write(&init, INIT)?;
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755))?;
    depmod(root, &kver)?;
    Ok(kver)
}

fn link_if_missing(target: &str, link: &Path) -> Result<()> {
    if link.symlink_metadata().is_err() {
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent)?;
        }
        symlink(target, link).with_context(|| format!("linking {}", link.display()))?;
    }
    Ok(())
}

/// A link to busybox for each applet no real package provides (`sh`, `sleep`, `awk`, ...).
fn busybox_links(root: &Path) -> Result<()> {
    let list = output(Command::new(root.join("bin/busybox")).arg("--list-full"))?;
    for applet in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        link_if_missing("/bin/busybox", &root.join(applet))?;
    }
    Ok(())
}

/// `/etc/ssl/certs/ca-certificates.crt`, which `update-ca-certificates` would have made
/// from the certificates the package ships.
fn ca_bundle(root: &Path) -> Result<()> {
    let dir = root.join("usr/share/ca-certificates/mozilla");
    let mut certs: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        .collect();
    certs.sort();
    let mut bundle = Vec::new();
    for c in &certs {
        let mut pem = std::fs::read(c)?;
        if !pem.ends_with(b"\n") {
            pem.push(b'\n');
        }
        bundle.extend_from_slice(&pem);
    }
    if certs.is_empty() {
        bail!("no certificates in {}", dir.display());
    }
    std::fs::create_dir_all(root.join("etc/ssl/certs"))?;
    std::fs::write(root.join("etc/ssl/certs/ca-certificates.crt"), bundle)?;
    Ok(())
}

/// `depmod` for the guest's kernel, run on the host with the guest's own kmod and glibc
/// (the host has no kmod), so the guest's `modprobe` and the kernel's module autoloading work.
fn depmod(root: &Path, kver: &str) -> Result<()> {
    let libs = format!(
        "{}:{}",
        root.join("lib/x86_64-linux-gnu").display(),
        root.join("usr/lib/x86_64-linux-gnu").display()
    );
    status(
        Command::new(root.join("lib64/ld-linux-x86-64.so.2"))
            .arg("--library-path")
            .arg(libs)
            .args(["--argv0", "depmod"])
            .arg(root.join("bin/kmod"))
            .arg("-b")
            .arg(root)
            .arg(kver),
    )
    .context("depmod for the guest kernel")
}
