//! Mounts a request adds: secrets, volumes, tmpfs, and the network files (resolv.conf,
//! hosts). Every path is validated before any mount exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, MountBuilder};

use crate::validate::{absolute, destination};
use crate::SpecError;

/// Where the secrets directory appears in the container.
pub const SECRETS_DESTINATION: &str = "/run/secrets";

/// A host directory or file bound into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Absolute host path; must exist.
    pub source: PathBuf,
    /// Absolute container path.
    pub destination: PathBuf,
    pub read_only: bool,
}

/// A memory-backed filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tmpfs {
    pub destination: PathBuf,
    /// Size limit in bytes (default: the kernel's, half of RAM).
    pub size_bytes: Option<u64>,
    /// Permission bits of its root (default 1777).
    pub mode: Option<u32>,
}

/// Every mount a request adds on top of the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mounts {
    /// A host directory bound read-only (nosuid, nodev, noexec) at `/run/secrets`.
    pub secrets_dir: Option<PathBuf>,
    pub volumes: Vec<Volume>,
    pub tmpfs: Vec<Tmpfs>,
    /// A file bound read-only at `/etc/resolv.conf`.
    pub resolv_conf: Option<PathBuf>,
    /// A file bound read-only at `/etc/hosts`.
    pub hosts: Option<PathBuf>,
}

fn bind(source: &Path, dest: &Path, options: &[&str]) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ("bind")
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()?)
}

fn existing(field: &'static str, path: &Path, dir: bool) -> Result<(), SpecError> {
    absolute(field, path)?;
    crate::security::not_in_fd_table(field, path)?;
    match std::fs::metadata(path) {
        Ok(m) if dir && !m.is_dir() => Err(SpecError::path(field, path, "must be a directory")),
        Ok(_) => Ok(()),
        Err(e) => Err(SpecError::path(
            field,
            path,
            format!("must exist on the host ({e})"),
        )),
    }
}

impl Mounts {
    /// Validate every path, then return the mounts in a stable order. Read-only binds are
    /// recursively read-only (`rro`) where `recursive_ro` says the host supports it.
    pub fn to_oci(&self, recursive_ro: bool) -> Result<Vec<Mount>, SpecError> {
        let ro = crate::defaults::read_only(recursive_ro);
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut claim = |field: &'static str, dest: &Path| -> Result<(), SpecError> {
            if !seen.insert(dest.to_path_buf()) {
                return Err(SpecError::path(
                    field,
                    dest,
                    "is the destination of another mount",
                ));
            }
            Ok(())
        };
        if let Some(dir) = &self.secrets_dir {
            existing("secrets dir", dir, true)?;
            claim("secrets dir", Path::new(SECRETS_DESTINATION))?;
            out.push(bind(
                dir,
                Path::new(SECRETS_DESTINATION),
                &["rbind", ro, "nosuid", "nodev", "noexec"],
            )?);
        }
        for v in &self.volumes {
            existing("volume source", &v.source, false)?;
            destination("volume destination", &v.destination)?;
            claim("volume destination", &v.destination)?;
            let mode = if v.read_only { ro } else { "rw" };
            out.push(bind(&v.source, &v.destination, &["rbind", mode])?);
        }
        for t in &self.tmpfs {
            destination("tmpfs destination", &t.destination)?;
            claim("tmpfs destination", &t.destination)?;
            let mut options = vec!["nosuid".to_string(), "nodev".to_string()];
            options.push(format!("mode={:o}", t.mode.unwrap_or(0o1777)));
            if let Some(size) = t.size_bytes {
                if size == 0 {
                    return Err(SpecError::InvalidLimit {
                        field: "tmpfs size",
                        value: "0".into(),
                        allowed: "at least 1 byte (omit it for the kernel's default)".into(),
                    });
                }
                options.push(format!("size={size}"));
            }
            out.push(
                MountBuilder::default()
                    .destination(&t.destination)
                    .typ("tmpfs")
                    .source("tmpfs")
                    .options(options)
                    .build()?,
            );
        }
        for (field, file, dest) in [
            ("resolv.conf", &self.resolv_conf, "/etc/resolv.conf"),
            ("hosts file", &self.hosts, "/etc/hosts"),
        ] {
            if let Some(file) = file {
                existing(field, file, false)?;
                claim(field, Path::new(dest))?;
                out.push(bind(
                    file,
                    Path::new(dest),
                    &["rbind", ro, "nosuid", "nodev", "noexec"],
                )?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_read_only_and_checked() {
        let d = tempfile::tempdir().unwrap();
        let m = Mounts {
            secrets_dir: Some(d.path().to_path_buf()),
            ..Default::default()
        }
        .to_oci(false)
        .unwrap();
        assert_eq!(m[0].destination(), Path::new("/run/secrets"));
        let opts = m[0].options().clone().unwrap();
        for o in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(opts.contains(&o.to_string()));
        }
        let missing = Mounts {
            secrets_dir: Some(d.path().join("nope")),
            ..Default::default()
        };
        assert!(missing
            .to_oci(false)
            .unwrap_err()
            .to_string()
            .contains("must exist"));
    }

    #[test]
    fn bad_volumes() {
        let d = tempfile::tempdir().unwrap();
        let vol = |src: &str, dst: &str| Mounts {
            volumes: vec![Volume {
                source: src.into(),
                destination: dst.into(),
                read_only: false,
            }],
            ..Default::default()
        };
        let ok = d.path().to_str().unwrap();
        assert!(vol(ok, "/data").to_oci(true).is_ok());
        for (s, dd) in [
            ("rel", "/data"),
            (ok, "data"),
            (ok, "/a/../b"),
            (ok, "/proc"),
            (ok, "/sys/x"),
            (ok, "/"),
        ] {
            assert!(vol(s, dd).to_oci(true).is_err(), "{s} -> {dd}");
        }
        let dup = Mounts {
            volumes: vec![
                Volume {
                    source: ok.into(),
                    destination: "/d".into(),
                    read_only: true,
                },
                Volume {
                    source: ok.into(),
                    destination: "/d".into(),
                    read_only: true,
                },
            ],
            ..Default::default()
        };
        assert!(dup.to_oci(true).is_err());
    }
}
