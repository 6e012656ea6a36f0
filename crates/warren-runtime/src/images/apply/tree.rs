//! The snapshot being written, reached only through directory handles: every lookup is an
//! `openat2` with `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS`, so no symlink is followed and
//! nothing outside the root is reached, whatever the layer or an earlier entry put there.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag};
use nix::sys::stat::{mkdirat, Mode, SFlag};

use super::at::{how, open_dir, stat_at};
use super::ApplyError;

/// The snapshot's root and the read-only layers below it (the overlay lowerdirs, topmost
/// first), whose directories give a missing parent its owner, mode and xattrs.
pub(crate) struct Tree {
    pub root: OwnedFd,
    pub lowers: Vec<PathBuf>,
    /// The last parent directory opened, by relative path: entries come grouped by
    /// directory, so most need no new lookup.
    last: Option<(PathBuf, OwnedFd)>,
}

impl Tree {
    pub(super) fn open(root: &Path, lowers: &[PathBuf]) -> Result<Tree, ApplyError> {
        let root = nix::fcntl::open(
            root,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ApplyError::io("open the snapshot root", root, e))?;
        Ok(Tree {
            root,
            lowers: lowers.to_vec(),
            last: None,
        })
    }

    /// Forget the cached parent (after something under it was removed or replaced).
    pub(super) fn forget(&mut self) {
        self.last = None;
    }

    /// A handle on directory `rel` (a duplicate of the cached one), created with its missing
    /// parents if it does not exist. A symlink or a non-directory on the way is refused.
    pub(super) fn parent(&mut self, rel: &Path, entry: &Path) -> Result<OwnedFd, ApplyError> {
        if self.last.as_ref().map(|(p, _)| p.as_path()) != Some(rel) {
            let fd = match open_dir(&self.root, rel) {
                Ok(fd) => fd,
                // Missing, or something on the way is not a directory: walk it part by
                // part, creating what is missing and saying what is in the way.
                Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) => {
                    self.make_parents(rel, entry)?
                }
                Err(e) => return Err(on_the_way(entry, rel, e)),
            };
            self.last = Some((rel.to_path_buf(), fd));
        }
        let cached = &self.last.as_ref().expect("just set").1;
        cached.try_clone().map_err(|e| {
            ApplyError::io(
                "duplicate a directory handle",
                rel,
                Errno::from_raw(e.raw_os_error().unwrap_or(0)),
            )
        })
    }

    fn make_parents(&mut self, rel: &Path, entry: &Path) -> Result<OwnedFd, ApplyError> {
        let mut done = PathBuf::new();
        let mut dir = open_dir(&self.root, Path::new("")).map_err(|e| on_the_way(entry, rel, e))?;
        for part in rel.iter() {
            done.push(part);
            match openat2(&dir, part, how(OFlag::O_RDONLY | OFlag::O_DIRECTORY)) {
                Ok(fd) => dir = fd,
                Err(Errno::ENOENT) => {
                    mkdirat(&dir, part, Mode::from_bits_truncate(0o755))
                        .map_err(|e| ApplyError::io("create a parent directory", &done, e))?;
                    let fd = openat2(&dir, part, how(OFlag::O_RDONLY | OFlag::O_DIRECTORY))
                        .map_err(|e| on_the_way(entry, &done, e))?;
                    super::meta::copy_from_lower(&fd, &self.lowers, &done)?;
                    dir = fd;
                }
                Err(e @ (Errno::ENOTDIR | Errno::ELOOP)) => {
                    let symlink = stat_at(&dir, part).ok().flatten().is_some_and(|st| {
                        SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK
                    });
                    return Err(on_the_way(
                        entry,
                        &done,
                        if symlink { Errno::ELOOP } else { e },
                    ));
                }
                Err(e) => return Err(on_the_way(entry, &done, e)),
            }
        }
        Ok(dir)
    }
}

/// The error for a parent `at` of `entry` that could not be opened.
fn on_the_way(entry: &Path, at: &Path, e: Errno) -> ApplyError {
    match e {
        Errno::ELOOP | Errno::EXDEV => ApplyError::UnsafeName {
            name: entry.to_path_buf(),
            reason: "a directory on its path is a symlink (it would be written through it)",
        },
        Errno::ENOTDIR => ApplyError::UnsafeName {
            name: entry.to_path_buf(),
            reason: "a parent on its path is not a directory",
        },
        e => ApplyError::io("open a parent directory", at, e),
    }
}
