//! Owner, extended attributes, mode and times of what an entry created, in containerd's
//! order: owner first (a chown clears setuid and setgid), then xattrs, then the mode, then
//! the times (directories' at the very end, once nothing more is created in them).

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::{fchmod, fchmodat, futimens, utimensat, FchmodatFlags, Mode, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, Gid, Uid};

use super::{at, ApplyError};
use crate::tar_stream::EntryInfo;

/// What the header says about an entry beyond its type and data.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meta {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits with setuid, setgid and sticky.
    pub mode: u32,
    /// Seconds since the epoch (clamped to what a `timespec` holds).
    pub mtime: i64,
    pub atime: Option<i64>,
    /// Extended attributes of the entry's PAX header, overlayfs's own left out.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// Whether `key` is one of overlayfs's own attributes (`trusted.overlay.*`, or
/// `user.overlay.*` on a `userxattr` mount): opaque marks, redirects, origins. A layer must
/// not set them (one could hide or redirect lower content), and a lower directory's are not
/// a new directory's.
pub(crate) fn is_overlay_xattr(key: &str) -> bool {
    key.starts_with("trusted.overlay.") || key.starts_with("user.overlay.")
}

/// The metadata of a tar entry: owner, mode, times and extended attributes (PAX records
/// applied by the reader), overlayfs's own attributes dropped.
pub(crate) fn of_entry(info: &EntryInfo) -> Meta {
    Meta {
        uid: info.uid as u32,
        gid: info.gid as u32,
        mode: info.mode,
        mtime: info.mtime,
        atime: info.atime,
        xattrs: info
            .xattrs
            .iter()
            .filter(|(key, _)| !is_overlay_xattr(key))
            .cloned()
            .collect(),
    }
}

impl Meta {
    fn times(&self) -> (TimeSpec, TimeSpec) {
        let mtime = TimeSpec::new(self.mtime, 0);
        // containerd's rule: the access time is the later of the two.
        let atime = TimeSpec::new(self.atime.unwrap_or(self.mtime).max(self.mtime), 0);
        (atime, mtime)
    }
}

/// How an entry's metadata is reached: its own open file (regular files and directories),
/// or its name in its parent (symlinks, devices, FIFOs, whiteouts, hard links).
pub(crate) enum Target<'a> {
    Fd(&'a OwnedFd),
    At {
        dir: &'a OwnedFd,
        name: &'a OsStr,
        symlink: bool,
    },
}

fn skippable_xattr(err: Errno, key: &str, regular_or_dir: bool) -> bool {
    // As containerd: `user.*` xattrs exist only on files and directories, and a
    // filesystem without xattrs ignores them.
    err == Errno::ENOTSUP || (err == Errno::EPERM && key.starts_with("user.") && !regular_or_dir)
}

/// Set owner, xattrs, mode and (unless `defer_times`) times.
pub(crate) fn apply(
    target: Target<'_>,
    meta: &Meta,
    entry: &Path,
    defer_times: bool,
) -> Result<(), ApplyError> {
    let io = |op: &'static str| move |e: Errno| ApplyError::io(op, entry, e);
    let (uid, gid) = (Some(Uid::from_raw(meta.uid)), Some(Gid::from_raw(meta.gid)));
    let mode = Mode::from_bits_truncate(meta.mode & 0o7777);
    let (atime, mtime) = meta.times();
    match target {
        Target::Fd(fd) => {
            fchown(fd, uid, gid).map_err(io("change its owner"))?;
            for (key, value) in &meta.xattrs {
                if let Err(e) = set_xattr_fd(fd, key, value) {
                    if !skippable_xattr(e, key, true) {
                        return Err(ApplyError::io("set an extended attribute", entry, e));
                    }
                }
            }
            fchmod(fd, mode).map_err(io("change its mode"))?;
            if !defer_times {
                futimens(fd, &atime, &mtime).map_err(io("set its times"))?;
            }
        }
        Target::At { dir, name, symlink } => {
            fchownat(dir, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(io("change its owner"))?;
            if !meta.xattrs.is_empty() {
                // No `*xattrat` call before Linux 6.13: the name is reached through the
                // parent's own handle, and the l-variant does not follow it.
                let path = proc_path(dir, name);
                for (key, value) in &meta.xattrs {
                    if let Err(e) = lset_xattr(&path, key, value) {
                        if !skippable_xattr(e, key, false) {
                            return Err(ApplyError::io("set an extended attribute", entry, e));
                        }
                    }
                }
            }
            if !symlink {
                // The name was created by this entry and is not a symlink: nothing to follow.
                fchmodat(dir, name, mode, FchmodatFlags::FollowSymlink)
                    .map_err(io("change its mode"))?;
            }
            if !defer_times {
                utimensat(dir, name, &atime, &mtime, UtimensatFlags::NoFollowSymlink)
                    .map_err(io("set its times"))?;
            }
        }
    }
    Ok(())
}

/// Set the times of directory `fd` (deferred to the end of the layer).
pub(crate) fn dir_times(fd: &OwnedFd, meta: &Meta, entry: &Path) -> Result<(), ApplyError> {
    let (atime, mtime) = meta.times();
    futimens(fd, &atime, &mtime).map_err(|e| ApplyError::io("set its times", entry, e))
}

fn proc_path(dir: &OwnedFd, name: &OsStr) -> PathBuf {
    Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name)
}

fn set_xattr_fd(fd: impl AsFd, key: &str, value: &[u8]) -> Result<(), Errno> {
    let key = std::ffi::CString::new(key).map_err(|_| Errno::EINVAL)?;
    // SAFETY: a valid fd, a NUL-terminated name, and a buffer of the length given.
    let r = unsafe {
        libc::fsetxattr(
            fd.as_fd().as_raw_fd(),
            key.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    Errno::result(r).map(drop)
}

fn lset_xattr(path: &Path, key: &str, value: &[u8]) -> Result<(), Errno> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    let key = std::ffi::CString::new(key).map_err(|_| Errno::EINVAL)?;
    // SAFETY: NUL-terminated path and name, and a buffer of the length given.
    let r = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            key.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    Errno::result(r).map(drop)
}

/// Give `fd`, a directory just created as a missing parent, what the same directory has in
/// the topmost lower layer that has it (owner, mode, times, xattrs), as containerd does so
/// that a file added under an existing directory does not change the directory. A lower
/// that has something else there ends the search: the directory was replaced.
pub(crate) fn copy_from_lower(
    fd: &OwnedFd,
    lowers: &[PathBuf],
    rel: &Path,
) -> Result<(), ApplyError> {
    for lower in lowers {
        let Ok(root) = nix::fcntl::open(
            lower.as_path(),
            nix::fcntl::OFlag::O_RDONLY
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            Mode::empty(),
        ) else {
            continue;
        };
        let (parent, base) = super::name::split(rel);
        let Ok(pdir) = at::open_dir(&root, parent) else {
            continue;
        };
        match at::stat_at(&pdir, base) {
            Ok(Some(st)) if at::is_dir(&st) => {
                let io = |op: &'static str| move |e: Errno| ApplyError::io(op, rel, e);
                fchown(
                    fd,
                    Some(Uid::from_raw(st.st_uid)),
                    Some(Gid::from_raw(st.st_gid)),
                )
                .map_err(io("copy a parent's owner"))?;
                let src =
                    at::open_dir(&pdir, Path::new(base)).map_err(io("open a lower directory"))?;
                copy_xattrs(&src, fd).map_err(io("copy a parent's extended attributes"))?;
                fchmod(fd, Mode::from_bits_truncate(st.st_mode & 0o7777))
                    .map_err(io("copy a parent's mode"))?;
                let atime = TimeSpec::new(st.st_atime, st.st_atime_nsec);
                let mtime = TimeSpec::new(st.st_mtime, st.st_mtime_nsec);
                futimens(fd, &atime, &mtime).map_err(io("copy a parent's times"))?;
                return Ok(());
            }
            Ok(Some(_)) => return Ok(()),
            _ => continue,
        }
    }
    Ok(())
}

fn copy_xattrs(src: &OwnedFd, dst: &OwnedFd) -> Result<(), Errno> {
    let mut names = vec![0u8; 4096];
    // SAFETY: the buffer is as long as said.
    let n = unsafe { libc::flistxattr(src.as_raw_fd(), names.as_mut_ptr().cast(), names.len()) };
    let n = match Errno::result(n) {
        Ok(n) => n as usize,
        Err(Errno::ENOTSUP) => return Ok(()),
        Err(e) => return Err(e),
    };
    for key in names[..n].split(|b| *b == 0).filter(|k| !k.is_empty()) {
        let key = std::ffi::CString::new(key).map_err(|_| Errno::EINVAL)?;
        let mut value = vec![0u8; 65536];
        // SAFETY: a NUL-terminated name and a buffer as long as said.
        let len = unsafe {
            libc::fgetxattr(
                src.as_raw_fd(),
                key.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        let len = Errno::result(len)? as usize;
        let key = key.to_str().map_err(|_| Errno::EINVAL)?;
        // Overlay's own attributes of the lower are not the new directory's.
        if is_overlay_xattr(key) {
            continue;
        }
        match set_xattr_fd(dst, key, &value[..len]) {
            Ok(()) | Err(Errno::ENOTSUP) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
