//! Host devices given to a container (`docker run --device /dev/fuse:/dev/fuse:rwm`): the
//! node inside the container and the cgroup rule that lets the container use it.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
};

use crate::validate::absolute;
use crate::SpecError;

/// A host device node made available inside the container.
#[derive(Debug, Clone, PartialEq, Eq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct Device {
    /// The device on the host: a character or block device (a symlink to one is followed).
    #[setters(into)]
    pub host_path: PathBuf,
    /// Where it appears in the container (default: the same path).
    #[setters(into)]
    pub container_path: PathBuf,
    /// What the container may do with it: a non-empty subset of `r` (read), `w` (write)
    /// and `m` (mknod), e.g. `rwm` (the default).
    #[setters(into)]
    pub permissions: String,
}

impl Device {
    /// Host device `host_path` at the same path in the container, with `rwm` permissions.
    pub fn new(host_path: impl Into<PathBuf>) -> Device {
        let host_path = host_path.into();
        Device {
            container_path: host_path.clone(),
            host_path,
            permissions: "rwm".into(),
        }
    }
}

impl FromStr for Device {
    type Err = SpecError;

    /// Docker's syntax: `HOST[:CONTAINER][:PERMISSIONS]`, e.g. `/dev/fuse`,
    /// `/dev/sda:/dev/xvda:r`.
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let parts: Vec<&str> = s.split(':').collect();
        let is_perms = |p: &str| !p.is_empty() && p.chars().all(|c| "rwm".contains(c));
        let (host, container, perms) = match parts[..] {
            [h] => (h, h, "rwm"),
            [h, p] if is_perms(p) => (h, h, p),
            [h, c] => (h, c, "rwm"),
            [h, c, p] => (h, c, p),
            _ => return Err(SpecError::value(
                "device",
                s,
                "expected HOST_PATH[:CONTAINER_PATH][:PERMISSIONS], e.g. /dev/fuse:/dev/fuse:rwm",
            )),
        };
        let d = Device {
            host_path: host.into(),
            container_path: container.into(),
            permissions: perms.into(),
        };
        d.validate_syntax()?;
        Ok(d)
    }
}

impl Device {
    fn validate_syntax(&self) -> Result<(), SpecError> {
        absolute("device host path", &self.host_path)?;
        absolute("device container path", &self.container_path)?;
        let p = &self.permissions;
        let unique = p.chars().collect::<std::collections::BTreeSet<_>>().len() == p.len();
        if p.is_empty() || !unique || !p.chars().all(|c| "rwm".contains(c)) {
            return Err(SpecError::value(
                "device permissions",
                p,
                "a non-empty combination of r, w and m, each at most once",
            ));
        }
        Ok(())
    }

    /// The node to create in the container and the cgroup rule that allows it, from the
    /// host device's type and numbers. Fails if the host path is not a device.
    pub fn to_oci(&self) -> Result<(LinuxDevice, LinuxDeviceCgroup), SpecError> {
        self.validate_syntax()?;
        let meta = std::fs::metadata(&self.host_path).map_err(|e| {
            SpecError::path(
                "device host path",
                &self.host_path,
                format!("must exist on the host ({e})"),
            )
        })?;
        let kind = meta.file_type();
        let typ = if kind.is_char_device() {
            LinuxDeviceType::C
        } else if kind.is_block_device() {
            LinuxDeviceType::B
        } else {
            return Err(SpecError::path(
                "device host path",
                &self.host_path,
                "is not a character or block device",
            ));
        };
        let (major, minor) = (
            libc::major(meta.rdev()) as i64,
            libc::minor(meta.rdev()) as i64,
        );
        let node = LinuxDeviceBuilder::default()
            .path(&self.container_path)
            .typ(typ)
            .major(major)
            .minor(minor)
            .file_mode(meta.mode() & 0o777)
            .uid(meta.uid())
            .gid(meta.gid())
            .build()?;
        let rule = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(typ)
            .major(major)
            .minor(minor)
            .access(self.permissions.clone())
            .build()?;
        Ok((node, rule))
    }
}

/// Every device's node and rule; two devices at one container path are an error.
pub(crate) fn to_oci(
    devices: &[Device],
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), SpecError> {
    let mut seen = std::collections::BTreeSet::<&Path>::new();
    let mut nodes = Vec::new();
    let mut rules = Vec::new();
    for d in devices {
        if !seen.insert(&d.container_path) {
            return Err(SpecError::path(
                "device container path",
                &d.container_path,
                "is given for more than one device",
            ));
        }
        let (n, r) = d.to_oci()?;
        nodes.push(n);
        rules.push(r);
    }
    Ok((nodes, rules))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_syntax() {
        let d: Device = "/dev/fuse".parse().unwrap();
        assert_eq!(
            (d.container_path.to_str(), d.permissions.as_str()),
            (Some("/dev/fuse"), "rwm")
        );
        let d: Device = "/dev/null:r".parse().unwrap();
        assert_eq!(
            (d.container_path.to_str(), d.permissions.as_str()),
            (Some("/dev/null"), "r")
        );
        let d: Device = "/dev/null:/dev/mynull:rw".parse().unwrap();
        assert_eq!(d.container_path.to_str(), Some("/dev/mynull"));
        for bad in [
            "dev/null",
            "/dev/null:x:r",
            "/dev/null:/a:rx",
            "/dev/null:/a:rr",
            "/a:/b:r:w",
            "/dev/../etc",
        ] {
            assert!(bad.parse::<Device>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_host_device_gives_its_numbers() {
        let d: Device = "/dev/null:/dev/other:r".parse().unwrap();
        let (node, rule) = d.to_oci().unwrap();
        assert_eq!((node.major(), node.minor()), (1, 3));
        assert_eq!(node.path(), Path::new("/dev/other"));
        assert_eq!(rule.access().as_deref(), Some("r"));
        let not_a_device: Device = "/etc/hostname".parse().unwrap();
        assert!(not_a_device
            .to_oci()
            .unwrap_err()
            .to_string()
            .contains("not a character"));
    }
}
