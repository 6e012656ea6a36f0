//! The Debian packages the guest is made of, resolved to exact versions by apt against an
//! empty package database (so every dependency is listed, whatever the host has installed),
//! downloaded into a cache and unpacked with `dpkg-deb -x` (no maintainer scripts run).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::apt::PrivateApt;
use crate::run::{output, status};

/// The Debian release everything comes from (the host's own).
pub const SUITE: &str = "bookworm";

/// What the guest's root holds: a static busybox for the shell and the small tools, glibc
/// and libgcc for the test binaries, libseccomp for runc, the real tools the tests and the
/// CNI plugins call (iptables, ip, mount, nsenter, modprobe, and `script` from bsdutils for
/// the prune prompt at a pty), and CA certificates (the tests' registry client refuses to
/// start without any, even for plain-HTTP registries).
pub const GUEST: &[&str] = &[
    "busybox-static",
    "ca-certificates",
    "libc6",
    "libgcc-s1",
    "libseccomp2",
    "iptables",
    "iproute2",
    "mount",
    "util-linux",
    "bsdutils",
    "kmod",
];

/// The guest kernel: Debian's cloud flavour (virtio, ext4 and every cgroup v2 controller;
/// no 9p).
pub const KERNEL: &str = "linux-image-cloud-amd64";

/// The emulator, run on the host from its unpacked tree (bookworm's qemu-system-x86 would
/// conflict with the host's backported qemu-utils if it were installed).
pub const QEMU: &[&str] = &["qemu-system-x86"];

/// One resolved package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub arch: String,
}

impl Package {
    /// The file name `apt-get download` gives it (`:` in the version is `%3a`).
    pub fn deb_name(&self) -> String {
        format!(
            "{}_{}_{}.deb",
            self.name,
            self.version.replace(':', "%3a"),
            self.arch
        )
    }
}

/// Parse the `Inst name (version suite [arch])` lines of `apt-get -s install`.
pub fn parse_simulation(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("Inst ") else {
            continue;
        };
        let Some((name, rest)) = rest.split_once(' ') else {
            continue;
        };
        let Some(open) = rest.find('(') else { continue };
        let Some(close) = rest[open..].find(')') else {
            continue;
        };
        let inner = &rest[open + 1..open + close];
        let Some(version) = inner.split_whitespace().next() else {
            continue;
        };
        let arch = inner
            .rsplit_once('[')
            .and_then(|(_, a)| a.split_once(']'))
            .map(|(a, _)| a.to_string())
            .unwrap_or_else(|| "amd64".to_string());
        out.push(Package {
            name: name.to_string(),
            version: version.to_string(),
            arch,
        });
    }
    out.sort();
    out
}

/// The private apt of the guest builds (lists and the empty status file live in `dir`).
pub struct Archive {
    apt: PrivateApt,
    status: PathBuf,
    lists: PathBuf,
}

impl Archive {
    /// Fetch the package lists of [`SUITE`] into `dir`.
    pub fn open(dir: &Path) -> Result<Archive> {
        let mut apt = PrivateApt::new(dir.to_path_buf());
        apt.update(&[SUITE])?;
        let status = dir.join("empty-status");
        std::fs::write(&status, "")?;
        Ok(Archive {
            apt,
            status,
            lists: dir.join("lists"),
        })
    }

    /// The package lists' release files with their times (`lists NAME TIME` lines): apt
    /// keeps a file's time when the archive has not changed it.
    pub fn lists_fingerprint(&self) -> Result<String> {
        let mut lines = Vec::new();
        for e in std::fs::read_dir(&self.lists)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().to_string();
            if name.ends_with("Release") {
                let mtime = e
                    .metadata()?
                    .modified()?
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                lines.push(format!("lists {name} {mtime}\n"));
            }
        }
        if lines.is_empty() {
            bail!("no release files in {}", self.lists.display());
        }
        lines.sort();
        Ok(lines.concat())
    }

    /// Every package `wanted` needs, with versions, as apt would install them on an empty
    /// system (without recommends).
    pub fn resolve(&self, wanted: &[&str]) -> Result<Vec<Package>> {
        let mut cmd = self.apt.command("apt-get");
        cmd.arg(format!("-oDir::State::status={}", self.status.display()))
            .arg(format!(
                "-oDir::State::extended_states={}",
                self.status.with_file_name("extended_states").display()
            ))
            .args([
                "-oDebug::NoLocking=true",
                "-s",
                "-q",
                "--no-install-recommends",
                "install",
            ])
            .args(wanted);
        let text = output(&mut cmd).with_context(|| format!("resolving {}", wanted.join(" ")))?;
        let packages = parse_simulation(&text);
        if packages.is_empty() {
            bail!("apt resolved nothing for {}", wanted.join(" "));
        }
        Ok(packages)
    }

    /// Download what `cache` does not hold yet; return the .deb paths in `packages`' order.
    pub fn download(&self, packages: &[Package], cache: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(cache)?;
        let missing: Vec<String> = packages
            .iter()
            .filter(|p| !cache.join(p.deb_name()).is_file())
            .map(|p| format!("{}={}", p.name, p.version))
            .collect();
        if !missing.is_empty() {
            eprintln!("xtask: downloading {} Debian packages", missing.len());
            let mut cmd = self.apt.command("apt-get");
            cmd.current_dir(cache)
                .args(["-q", "download"])
                .args(&missing);
            status(&mut cmd)?;
        }
        packages
            .iter()
            .map(|p| {
                let deb = cache.join(p.deb_name());
                if deb.is_file() {
                    Ok(deb)
                } else {
                    bail!("apt-get download left no {}", deb.display())
                }
            })
            .collect()
    }
}

/// Unpack `debs` into `dest` (created fresh).
pub fn unpack(debs: &[PathBuf], dest: &Path) -> Result<()> {
    if dest.exists() {
        std::fs::remove_dir_all(dest)
            .with_context(|| format!("removing the old {}", dest.display()))?;
    }
    std::fs::create_dir_all(dest)?;
    for deb in debs {
        status(Command::new("dpkg-deb").arg("-x").arg(deb).arg(dest))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulation_lines() {
        let text = "NOTE: This is only a simulation!\n\
            Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64]) []\n\
            Inst libaudit-common (1:3.0.9-1 Debian:12.15/oldstable [all])\n\
            Conf libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64])\n";
        let p = parse_simulation(text);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "libaudit-common");
        assert_eq!(p[0].deb_name(), "libaudit-common_1%3a3.0.9-1_all.deb");
        assert_eq!(p[1].version, "2.36-9+deb12u14");
        assert_eq!(p[1].arch, "amd64");
    }
}
