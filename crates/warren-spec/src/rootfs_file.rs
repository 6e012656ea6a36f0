//! Reading a small file out of a container's or an image's root filesystem from the host,
//! safely: the root and everything in it are controlled by the image or the container, so
//!
//! - every symlink on the way resolves as if the root were `/` (`openat2` with
//!   `RESOLVE_IN_ROOT`), never to a host file;
//! - the file is first opened as a bare handle (`O_PATH`), which opens nothing: a FIFO would
//!   block a reader forever, and a device node (which a container with CAP_MKNOD can make)
//!   opened from the host would be the host's device. Only a regular file is then opened for
//!   reading, through that very handle;
//! - at most a fixed number of bytes is read, so `/dev/zero` or a huge file cannot grow the
//!   reader's memory.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use crate::SpecError;

/// What a confined read found: the bytes, or that the file does not exist.
pub type Contents = Option<Vec<u8>>;

/// Read `rel` (e.g. `etc/passwd`) inside `root`, at most `max` bytes. `Ok(None)` when the
/// file (or a directory on the way) does not exist. A file that is not a regular file, or
/// is larger than `max`, is an [`SpecError::UnsafeFile`] naming what it is.
pub fn read(root: &Path, rel: &str, max: u64) -> Result<Contents, SpecError> {
    let shown = root.join(rel.trim_start_matches('/'));
    let fail = |reason: String| SpecError::UnsafeFile {
        path: shown.clone(),
        reason,
    };
    let Some(handle) = open_path(root, rel).map_err(|e| fail(format!("cannot open it: {e}")))?
    else {
        return Ok(None);
    };
    let file = File::from(handle);
    let meta = file
        .metadata()
        .map_err(|e| fail(format!("cannot stat it: {e}")))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = describe(kind);
        return Err(fail(format!("it is {what}; only a regular file is read")));
    }
    if meta.len() > max {
        return Err(fail(format!(
            "it holds {} bytes, more than the {max} read from it",
            meta.len()
        )));
    }
    // Reopen the very inode the handle names, now for reading.
    let reopened = open(
        format!("/proc/self/fd/{}", file.as_raw_fd()).as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOCTTY | OFlag::O_NONBLOCK,
        Mode::empty(),
    )
    .map_err(|e| fail(format!("cannot open it for reading: {e}")))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    File::from(reopened)
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > max {
        return Err(fail(format!("it grew past the {max} bytes read from it")));
    }
    Ok(Some(bytes))
}

/// An `O_PATH` handle of `rel` resolved inside `root`, or `None` if it does not exist.
fn open_path(root: &Path, rel: &str) -> Result<Option<OwnedFd>, Errno> {
    let dir = match open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(d) => d,
        Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => return Ok(None),
        Err(e) => return Err(e),
    };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let rel = rel.trim_start_matches('/');
    match openat2(&dir, rel, how) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => Ok(None),
        // Kernels before 5.6 have no openat2: resolve in user space instead.
        Err(Errno::ENOSYS) => fallback(root, rel),
        Err(e) => Err(e),
    }
}

/// Without `openat2`: the symlinks resolved by hand inside `root`, then the last component
/// opened without following a link. A container changing the tree at this very moment could
/// race it; kernels that old are the only ones that take this path.
fn fallback(root: &Path, rel: &str) -> Result<Option<OwnedFd>, Errno> {
    let Some(path) = confined(root, rel) else {
        return Ok(None);
    };
    match open(
        &path,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a file that is not a regular file is, for an error message.
pub(crate) fn describe(kind: std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// `rel` inside `root`, with every symlink on the way resolved as if `root` were `/`: an
/// image's `/etc/passwd -> /somewhere` or `../../..` never reaches the host's files (the
/// same confinement containerd gets from `os.OpenRoot`). `None` if it does not exist.
pub(crate) fn confined(root: &Path, rel: &str) -> Option<PathBuf> {
    const MAX_LINKS: usize = 40;
    let mut todo: VecDeque<OsString> = Path::new(rel)
        .components()
        .map(|c| c.as_os_str().to_os_string())
        .collect();
    let mut cur = PathBuf::new();
    let mut links = 0;
    while let Some(part) = todo.pop_front() {
        match part.to_str() {
            Some("/") | Some(".") => continue,
            Some("..") => {
                cur.pop();
                continue;
            }
            _ => {}
        }
        let next = cur.join(&part);
        let meta = std::fs::symlink_metadata(root.join(&next)).ok()?;
        if !meta.file_type().is_symlink() {
            cur = next;
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return None;
        }
        let target = std::fs::read_link(root.join(&next)).ok()?;
        if target.is_absolute() {
            cur = PathBuf::new();
        }
        for c in target.components().rev() {
            todo.push_front(c.as_os_str().to_os_string());
        }
    }
    Some(root.join(cur))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_and_others_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
        assert_eq!(
            read(root, "etc/passwd", 1024).unwrap().unwrap(),
            b"root:x:0:0::/:/bin/sh\n"
        );
        assert_eq!(read(root, "etc/group", 1024).unwrap(), None);
        assert_eq!(read(root, "nodir/group", 1024).unwrap(), None);

        // A FIFO: refused at once (a plain open would wait for a writer forever).
        nix::unistd::mkfifo(&root.join("etc/fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        let err = read(root, "etc/fifo", 1024).unwrap_err().to_string();
        assert!(err.contains("FIFO"), "{err}");

        // Too big, and a directory.
        std::fs::write(root.join("etc/big"), vec![b'x'; 2048]).unwrap();
        let err = read(root, "etc/big", 1024).unwrap_err().to_string();
        assert!(err.contains("more than the 1024"), "{err}");
        assert!(read(root, "etc", 1024).is_err());
    }

    #[test]
    fn links_resolve_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir(root.join("etc")).unwrap();
        std::fs::write(root.join("inside"), "in").unwrap();
        // An absolute link means the root's own file, never the host's.
        std::os::unix::fs::symlink("/inside", root.join("etc/abs")).unwrap();
        assert_eq!(read(root, "etc/abs", 64).unwrap().unwrap(), b"in");
        std::os::unix::fs::symlink("../../../../../../etc/hostname", root.join("etc/up")).unwrap();
        assert_eq!(read(root, "etc/up", 64).unwrap(), None);
        // /dev/zero through a link is the root's /dev/zero (absent here), not the host's.
        std::os::unix::fs::symlink("/dev/zero", root.join("etc/zero")).unwrap();
        assert_eq!(read(root, "etc/zero", 64).unwrap(), None);
    }

    #[test]
    fn a_device_is_never_opened() {
        // The host's /dev/zero itself, as a container's /proc/<pid>/root would show one.
        let err = read(Path::new("/"), "dev/zero", 64)
            .unwrap_err()
            .to_string();
        assert!(err.contains("character device"), "{err}");
    }
}
