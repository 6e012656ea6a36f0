//! One tar entry made real under its parent directory.

use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat2, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{mkdirat, mknodat, Mode, SFlag};
use nix::unistd::{linkat, symlinkat};

use super::meta::{self, Meta, Target};
use super::{at, name, ApplyError};

/// What an entry is, with what its type needs.
#[derive(Debug)]
pub(crate) enum Kind {
    Dir,
    File,
    Symlink(std::path::PathBuf),
    /// A hard link to another entry of this layer (relative to the root).
    HardLink(std::path::PathBuf),
    Char(u32, u32),
    Block(u32, u32),
    Fifo,
}

fn io<'a>(op: &'static str, entry: &'a Path) -> impl Fn(Errno) -> ApplyError + 'a {
    move |e| ApplyError::io(op, entry, e)
}

fn open_how(flags: OFlag) -> OpenHow {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_SYMLINKS);
    // openat2 wants a mode only with O_CREAT; the real one is set after the owner.
    if flags.contains(OFlag::O_CREAT) {
        how.mode(Mode::from_bits_truncate(0o600))
    } else {
        how
    }
}

/// Create `base` in `dir` as `kind` with `meta`, replacing what is there (unless both are
/// directories, which merge). Returns the directory's handle for a directory, whose times
/// are set at the end of the layer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn create(
    root: &OwnedFd,
    dir: &OwnedFd,
    base: &OsStr,
    entry: &Path,
    kind: &Kind,
    meta: &Meta,
    data: &mut dyn Read,
) -> Result<Option<OwnedFd>, ApplyError> {
    let existing = at::stat_at(dir, base).map_err(io("look at what is there", entry))?;
    if let Some(st) = existing {
        if !(at::is_dir(&st) && matches!(kind, Kind::Dir)) {
            at::remove_all_at(dir, base).map_err(io("remove what it replaces", entry))?;
        }
    }
    let perm = Mode::from_bits_truncate(meta.mode & 0o777);
    let at = |symlink| Target::At {
        dir,
        name: base,
        symlink,
    };
    match kind {
        Kind::Dir => {
            if existing.as_ref().is_none_or(|st| !at::is_dir(st)) {
                mkdirat(dir, base, perm).map_err(io("create the directory", entry))?;
            }
            let fd = openat2(dir, base, open_how(OFlag::O_RDONLY | OFlag::O_DIRECTORY))
                .map_err(io("open the directory", entry))?;
            meta::apply(Target::Fd(&fd), meta, entry, true)?;
            return Ok(Some(fd));
        }
        Kind::File => {
            let fd = openat2(
                dir,
                base,
                open_how(OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL),
            )
            .map_err(io("create the file", entry))?;
            let mut file = std::fs::File::from(fd);
            std::io::copy(data, &mut file).map_err(|e| ApplyError::Write {
                entry: entry.to_path_buf(),
                source: e,
            })?;
            let fd = OwnedFd::from(file);
            meta::apply(Target::Fd(&fd), meta, entry, false)?;
        }
        Kind::Symlink(target) => {
            // The target is stored as it is and never followed here.
            symlinkat(target.as_path(), dir, base).map_err(io("create the symlink", entry))?;
            meta::apply(at(true), meta, entry, false)?;
        }
        Kind::HardLink(target) => {
            let rel = name::relative(target)?;
            if rel.as_os_str().is_empty() {
                return Err(ApplyError::UnsafeName {
                    name: entry.to_path_buf(),
                    reason: "it is a hard link to the root",
                });
            }
            let (tparent, tbase) = name::split(&rel);
            let tdir = at::open_dir(root, tparent).map_err(|e| ApplyError::HardLink {
                entry: entry.to_path_buf(),
                target: target.clone(),
                source: e,
            })?;
            linkat(&tdir, tbase, dir, base, AtFlags::empty()).map_err(|e| {
                ApplyError::HardLink {
                    entry: entry.to_path_buf(),
                    target: target.clone(),
                    source: e,
                }
            })?;
            let symlink = at::stat_at(dir, base).ok().flatten().is_some_and(|st| {
                SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK
            });
            meta::apply(at(symlink), meta, entry, false)?;
        }
        Kind::Char(major, minor) | Kind::Block(major, minor) => {
            let sflag = if matches!(kind, Kind::Char(..)) {
                SFlag::S_IFCHR
            } else {
                SFlag::S_IFBLK
            };
            let dev = nix::sys::stat::makedev(u64::from(*major), u64::from(*minor));
            mknodat(dir, base, sflag, perm, dev).map_err(io("create the device node", entry))?;
            meta::apply(at(false), meta, entry, false)?;
        }
        Kind::Fifo => {
            mknodat(dir, base, SFlag::S_IFIFO, perm, 0).map_err(io("create the FIFO", entry))?;
            meta::apply(at(false), meta, entry, false)?;
        }
    }
    Ok(None)
}

/// An overlay whiteout for `base` in `dir`: a 0/0 character device owned as the entry says,
/// replacing whatever this layer put there.
pub(crate) fn whiteout(
    dir: &OwnedFd,
    base: &OsStr,
    entry: &Path,
    meta: &Meta,
) -> Result<(), ApplyError> {
    at::remove_all_at(dir, base).map_err(io("remove what the whiteout hides", entry))?;
    mknodat(dir, base, SFlag::S_IFCHR, Mode::empty(), 0)
        .map_err(io("create the whiteout", entry))?;
    nix::unistd::fchownat(
        dir,
        base,
        Some(nix::unistd::Uid::from_raw(meta.uid)),
        Some(nix::unistd::Gid::from_raw(meta.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(io("change the whiteout's owner", entry))
}
