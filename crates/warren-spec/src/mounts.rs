//! Mounts a request adds: secrets, volumes, tmpfs, and the network files (resolv.conf,
//! hosts). Every path is validated before any mount exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, MountBuilder};

use crate::validate::{absolute, destination};
use crate::SpecError;

/// Where the secrets directory appears in the container.
pub(crate) const SECRETS_DESTINATION: &str = "/run/secrets";

/// A host directory or file bound into the container.
#[derive(Debug, Clone, PartialEq, Eq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct Volume {
    /// Absolute host path; must exist.
    #[setters(into)]
    pub source: PathBuf,
    /// Absolute container path.
    #[setters(into)]
    pub destination: PathBuf,
    /// Mounted read-only (recursively where the kernel can).
    pub read_only: bool,
}

impl Volume {
    /// Host path `source` bound read-write at `destination` in the container.
    pub fn new(source: impl Into<PathBuf>, destination: impl Into<PathBuf>) -> Volume {
        Volume {
            source: source.into(),
            destination: destination.into(),
            read_only: false,
        }
    }
}

/// A memory-backed filesystem (`docker run --tmpfs /run:size=64m,mode=1777`).
#[derive(Debug, Clone, Default, PartialEq, Eq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct Tmpfs {
    /// Absolute container path (not over `/proc`, `/sys` or `/dev`).
    #[setters(into)]
    pub destination: PathBuf,
    /// Size limit in bytes (default: the kernel's, half of RAM).
    pub size_bytes: Option<u64>,
    /// Permission bits of its root (default 1777).
    pub mode: Option<u32>,
    /// Mount flags over the defaults (`nosuid`, `nodev`, `noexec`, read-write): any of
    /// [`TMPFS_FLAGS`], and `uid=N`, `gid=N` for the owner of its root.
    pub options: Vec<String>,
}

impl Tmpfs {
    /// A tmpfs at `destination` with the default size, mode and flags.
    pub fn new(destination: impl Into<PathBuf>) -> Tmpfs {
        Tmpfs {
            destination: destination.into(),
            ..Default::default()
        }
    }
}

/// The flags a tmpfs may be given (a flag undoes its opposite).
pub const TMPFS_FLAGS: &[&str] = &[
    "ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev",
];

impl std::str::FromStr for Tmpfs {
    type Err = SpecError;

    /// Docker's syntax: `DEST[:OPTIONS]`, options comma-separated: `size=64m` (at least 1
    /// byte, in [`parse_bytes`](crate::units::parse_bytes)' syntax, e.g. `1.5g`, `64MiB`),
    /// `mode=1777` (octal), `uid=N`, `gid=N`, and [`TMPFS_FLAGS`].
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let (dest, opts) = s.split_once(':').unwrap_or((s, ""));
        let mut t = Tmpfs {
            destination: dest.into(),
            ..Default::default()
        };
        for opt in opts.split(',').filter(|o| !o.is_empty()) {
            let bad = |why: &str| SpecError::value("tmpfs option", opt, why.to_string());
            match opt.split_once('=') {
                Some(("size", v)) => {
                    let bytes = crate::units::parse_bytes(v).map_err(|e| bad(&e.reason()))?;
                    if bytes == 0 {
                        return Err(bad(
                            "at least 1 byte (leave size= out for the kernel's default, half of RAM)",
                        ));
                    }
                    t.size_bytes = Some(bytes);
                }
                Some(("mode", v)) => {
                    t.mode = Some(
                        u32::from_str_radix(v, 8)
                            .ok()
                            .filter(|m| *m <= 0o7777)
                            .ok_or_else(|| bad("octal permission bits, e.g. mode=1777"))?,
                    )
                }
                Some(("uid" | "gid", v)) => {
                    v.parse::<u32>().map_err(|_| bad("a numeric id"))?;
                    t.options.push(opt.to_string());
                }
                None if TMPFS_FLAGS.contains(&opt) => t.options.push(opt.to_string()),
                _ => {
                    return Err(bad(&format!(
                        "unknown; allowed: size=, mode=, uid=, gid=, {}",
                        TMPFS_FLAGS.join(", ")
                    )))
                }
            }
        }
        Ok(t)
    }
}

/// A tmpfs's mount options: the defaults, then each given flag replacing its opposite.
fn tmpfs_options(t: &Tmpfs) -> Vec<String> {
    let mut flags: Vec<String> = ["nosuid", "nodev", "noexec"].map(String::from).to_vec();
    for o in &t.options {
        let opposite = match o.as_str() {
            "ro" => "rw",
            "rw" => "ro",
            "exec" => "noexec",
            "noexec" => "exec",
            "suid" => "nosuid",
            "nosuid" => "suid",
            "dev" => "nodev",
            "nodev" => "dev",
            _ => "",
        };
        flags.retain(|f| f != opposite && f != o);
        flags.push(o.clone());
    }
    flags
}

/// Every mount a request adds on top of the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct Mounts {
    /// A host directory bound read-only (nosuid, nodev, noexec) at `/run/secrets`.
    #[setters(into)]
    pub secrets_dir: Option<PathBuf>,
    /// Host paths bound into the container.
    pub volumes: Vec<Volume>,
    /// Memory-backed filesystems.
    pub tmpfs: Vec<Tmpfs>,
    /// A file bound read-only at `/etc/resolv.conf`.
    #[setters(into)]
    pub resolv_conf: Option<PathBuf>,
    /// A file bound read-only at `/etc/hosts`.
    #[setters(into)]
    pub hosts: Option<PathBuf>,
    /// Size of `/dev/shm` in bytes (default 64 MiB, as Docker's `--shm-size`).
    pub shm_size_bytes: Option<u64>,
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
            let mut options = tmpfs_options(t);
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
    fn tmpfs_in_docker_syntax() {
        let t: Tmpfs = "/run:size=64m,mode=755,exec,uid=1000".parse().unwrap();
        assert_eq!(t.size_bytes, Some(64 << 20));
        assert_eq!(t.mode, Some(0o755));
        let m = Mounts {
            tmpfs: vec![t],
            ..Default::default()
        };
        let opts = m.to_oci(true).unwrap()[0].options().clone().unwrap();
        assert_eq!(
            opts,
            [
                "nosuid",
                "nodev",
                "exec",
                "uid=1000",
                "mode=755",
                "size=67108864"
            ]
        );
        let plain: Tmpfs = "/scratch".parse().unwrap();
        assert_eq!(plain.size_bytes, None);
        // The same sizes as --memory and --shm-size.
        for (text, bytes) in [
            ("1.5g", 1_610_612_736),
            ("64MiB", 64 << 20),
            ("2t", 2 << 40),
        ] {
            let t: Tmpfs = format!("/a:size={text}").parse().unwrap();
            assert_eq!(t.size_bytes, Some(bytes), "{text}");
        }
        let e = "/a:size=1x".parse::<Tmpfs>().unwrap_err().to_string();
        assert!(
            e.starts_with(r#"invalid tmpfs option "size=1x": unknown unit "x"; expected"#),
            "{e}"
        );
        let e = "/a:size=0".parse::<Tmpfs>().unwrap_err().to_string();
        assert!(e.contains("at least 1 byte"), "{e}");
        for bad in [
            "/a:size=0",
            "/a:size=0.5",
            "/a:size=1x",
            "/a:size=-1m",
            "/a:size=",
            "/a:mode=9",
            "/a:uid=x",
            "/a:suid=1",
            "/a:bogus",
        ] {
            assert!(bad.parse::<Tmpfs>().is_err(), "{bad}");
        }
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
