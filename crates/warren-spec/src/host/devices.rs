//! The host's device nodes, for privileged containers (Docker gives them every one).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use oci_spec::runtime::{LinuxDevice, LinuxDeviceBuilder, LinuxDeviceType};

/// Folders of /dev that hold no devices a container should get, or that the runtime sets up
/// itself.
const SKIP: &[&str] = &["pts", "shm", "mqueue", "fd", ".lxc", ".lxd-mounts", ".udev"];

/// Every character and block device under /dev (not under `pts`, `shm`, `mqueue`, `fd`
/// and the container managers' own folders, nor `/dev/console`), with its numbers, mode and owner.
pub fn devices() -> Vec<LinuxDevice> {
    let mut out = Vec::new();
    walk(Path::new("/dev"), &mut out, 0);
    out.sort_by(|a, b| a.path().cmp(b.path()));
    out
}

fn walk(dir: &Path, out: &mut Vec<LinuxDevice>, depth: usize) {
    if depth > 4 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let kind = meta.file_type();
        if kind.is_dir() {
            let name = e.file_name();
            if depth == 0 && SKIP.iter().any(|s| name == *s) {
                continue;
            }
            walk(&path, out, depth + 1);
            continue;
        }
        let typ = if kind.is_char_device() {
            LinuxDeviceType::C
        } else if kind.is_block_device() {
            LinuxDeviceType::B
        } else {
            continue;
        };
        if path == Path::new("/dev/console") {
            continue;
        }
        let rdev = meta.rdev();
        let built = LinuxDeviceBuilder::default()
            .path(&path)
            .typ(typ)
            .major(libc::major(rdev) as i64)
            .minor(libc::minor(rdev) as i64)
            .file_mode(meta.mode() & 0o7777)
            .uid(meta.uid())
            .gid(meta.gid())
            .build();
        if let Ok(d) = built {
            out.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dev_null_is_there_and_pts_is_not() {
        let all = super::devices();
        assert!(all
            .iter()
            .any(|d| d.path() == std::path::Path::new("/dev/null")));
        assert!(!all.iter().any(|d| d.path().starts_with("/dev/pts")));
    }
}
