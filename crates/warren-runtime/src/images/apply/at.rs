//! The system calls the applier makes beneath a directory handle: open, stat and remove
//! by name, never following a symlink and never leaving the root (`openat2` with
//! `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS`).

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat2, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstatat, FileStat, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

/// How every lookup opens: no symlink followed, nothing outside the root reached.
pub(super) fn how(flags: OFlag) -> OpenHow {
    OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_SYMLINKS)
}

/// Open directory `rel` (relative, `""` for the root itself) under `root`.
pub(super) fn open_dir(root: impl AsFd, rel: &Path) -> nix::Result<OwnedFd> {
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    openat2(root, rel, how(OFlag::O_RDONLY | OFlag::O_DIRECTORY))
}

/// The type of `name` in `dir`, without following it; `None` if nothing is there.
pub(super) fn stat_at(dir: impl AsFd, name: &OsStr) -> nix::Result<Option<FileStat>> {
    match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// True if `st` is a directory.
pub(super) fn is_dir(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
}

/// Remove `name` from `dir`, a whole tree if it is a directory; links are removed, never
/// followed.
pub(super) fn remove_all_at(dir: &OwnedFd, name: &OsStr) -> nix::Result<()> {
    match unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => return Ok(()),
        Err(Errno::EISDIR) => {}
        Err(e) => return Err(e),
    }
    let sub = openat2(dir, name, how(OFlag::O_RDONLY | OFlag::O_DIRECTORY))?;
    let children: Vec<std::ffi::OsString> = {
        let d = nix::dir::Dir::from_fd(sub.try_clone().map_err(|_| Errno::EBADF)?)?;
        let mut names = Vec::new();
        for entry in d {
            let entry = entry?;
            let n = entry.file_name().to_bytes();
            if n != b"." && n != b".." {
                use std::os::unix::ffi::OsStrExt;
                names.push(OsStr::from_bytes(n).to_os_string());
            }
        }
        names
    };
    for child in children {
        remove_all_at(&sub, &child)?;
    }
    unlinkat(dir, name, UnlinkatFlags::RemoveDir)
}
