//! Unpacking a layer into an overlayfs snapshot ourselves, with containerd's semantics and
//! without ever following a link out of the snapshot.
//!
//! - Entries are written into the snapshot's upper directory; missing parents take their
//!   owner, mode, times and xattrs from the lower layers, as containerd does.
//! - `.wh.NAME` becomes an overlay whiteout (a 0/0 character device), `.wh..wh..opq` marks
//!   its directory opaque (`trusted.overlay.opaque=y`).
//! - Every lookup goes through a directory handle with `openat2(RESOLVE_IN_ROOT |
//!   RESOLVE_NO_SYMLINKS)`, and every change is an `*at` call on the last component, so a
//!   symlink (from this layer or a lower one) is never followed. Names with `..`, entries
//!   that would be written through a symlink, and hard links to anything outside the layer
//!   are refused with [`ApplyError`].

mod at;
mod bad_layer;
mod entry;
pub(crate) mod local;
mod meta;
mod name;
mod tree;

use std::io::Read;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::tar_stream::{EntryInfo, TarError, TarLimits, TarStream};
pub(crate) use entry::Kind;
pub(crate) use meta::Meta;

/// Why a layer could not be applied.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApplyError {
    /// The entry's name would leave the snapshot or go through a symlink.
    #[error("layer entry {name:?} refused: {reason}")]
    UnsafeName {
        /// The name as the layer gives it.
        name: PathBuf,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A hard link whose target is not an earlier entry of the layer.
    #[error("layer entry {entry:?}: hard link to {target:?} refused: {source}")]
    HardLink {
        /// The link.
        entry: PathBuf,
        /// What it links to.
        target: PathBuf,
        /// Why the link failed (ENOENT: no such entry in this layer; ELOOP: through a symlink).
        source: Errno,
    },
    /// A file system call on an entry failed.
    #[error("layer entry {path:?}: cannot {op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The entry (relative to the snapshot).
        path: PathBuf,
        /// The error.
        source: Errno,
    },
    /// Writing a file's data failed (or reading it from the layer).
    #[error("layer entry {entry:?}: cannot write its data: {source}")]
    Write {
        /// The file.
        entry: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The stream is not a valid tar archive, or is cut inside an entry.
    #[error("the layer is not a valid tar stream: {0}")]
    Tar(#[source] TarError),
    /// The stream reached one of the [`TarLimits`] (entries, extension header bytes, one
    /// extension header's size): nothing past it was read.
    #[error("layer entry {entry} reaches {found}, over the {limit} of {value}")]
    Limit {
        /// Which limit (a [`crate::tar_stream::error::limit`] name).
        limit: &'static str,
        /// Its value.
        value: u64,
        /// What the layer has or declares.
        found: u64,
        /// The entry: its name quoted, or `#index` before its name is known.
        entry: String,
    },
    /// An entry type that has no meaning in a snapshot.
    #[error("layer entry {entry:?}: unsupported tar entry type {kind}")]
    Unsupported {
        /// The entry.
        entry: PathBuf,
        /// The type byte.
        kind: u8,
    },
}

impl From<TarError> for ApplyError {
    fn from(e: TarError) -> Self {
        match e {
            TarError::Limit {
                limit,
                value,
                found,
                entry,
            } => ApplyError::Limit {
                limit,
                value,
                found,
                entry,
            },
            e => ApplyError::Tar(e),
        }
    }
}

impl ApplyError {
    pub(crate) fn io(op: &'static str, path: &Path, source: Errno) -> ApplyError {
        ApplyError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What a layer held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Entries read (whiteouts included).
    pub entries: u64,
    /// Bytes of file data written.
    pub bytes: u64,
}

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// Apply the uncompressed tar stream `layer` to `upper`, the upper directory of an overlay
/// snapshot whose lower directories are `lowers` (topmost first). Blocking: run it on a
/// blocking thread. On error, `upper` is left as far as it got; the caller removes the
/// snapshot. The stream is read within the default [`TarLimits`], and only up to its
/// end-of-archive marker: the caller reads what follows (for the layer's digest).
pub(crate) fn apply_layer(
    upper: &Path,
    lowers: &[PathBuf],
    layer: impl Read,
) -> Result<Applied, ApplyError> {
    let mut tree = tree::Tree::open(upper, lowers)?;
    let mut stream = TarStream::with_limits(layer, TarLimits::default());
    let mut dirs: Vec<(PathBuf, Meta)> = Vec::new();
    let mut applied = Applied::default();
    while let Some(mut item) = stream.next()? {
        applied.entries += 1;
        let raw = item.info.path().to_path_buf();
        let rel = name::relative(&raw)?;
        if rel.as_os_str().is_empty() {
            // The root itself (`./`): the snapshot's root is not the layer's to change.
            continue;
        }
        let meta = meta::of_entry(&item.info);
        let (parent, base) = name::split(&rel);
        let base_str = base.to_string_lossy();
        if base_str == OPAQUE {
            let dir = tree.parent(parent, &rel)?;
            set_opaque(&dir, &rel)?;
            continue;
        }
        if let Some(hidden) = base_str.strip_prefix(WHITEOUT_PREFIX) {
            if hidden.is_empty() || hidden == "." || hidden == ".." {
                return Err(ApplyError::UnsafeName {
                    name: raw,
                    reason: "it is a whiteout of no valid name",
                });
            }
            let dir = tree.parent(parent, &rel)?;
            entry::whiteout(&dir, std::ffi::OsStr::new(hidden), &rel, &meta)?;
            tree.forget();
            continue;
        }
        let kind = kind_of(&item.info, &rel)?;
        let dir = tree.parent(parent, &rel)?;
        applied.bytes += if matches!(kind, Kind::File) {
            item.info.size
        } else {
            0
        };
        let made_dir = entry::create(&tree.root, &dir, base, &rel, &kind, &meta, &mut item)?;
        if !matches!(kind, Kind::File) {
            // A replaced directory may be the cached parent.
            tree.forget();
        }
        if made_dir.is_some() {
            dirs.push((rel, meta));
        }
    }
    // Directory times last: creating entries in a directory changes its mtime.
    for (rel, meta) in &dirs {
        let fd = at::open_dir(&tree.root, rel)
            .map_err(|e| ApplyError::io("reopen the directory", rel, e))?;
        meta::dir_times(&fd, meta, rel)?;
    }
    Ok(applied)
}

fn set_opaque(dir: &std::os::fd::OwnedFd, entry: &Path) -> Result<(), ApplyError> {
    use std::os::fd::AsRawFd;
    let key = c"trusted.overlay.opaque";
    // SAFETY: a valid fd, a NUL-terminated name, a one-byte value.
    let r = unsafe { libc::fsetxattr(dir.as_raw_fd(), key.as_ptr(), b"y".as_ptr().cast(), 1, 0) };
    Errno::result(r)
        .map(drop)
        .map_err(|e| ApplyError::io("mark the directory opaque", entry, e))
}

fn kind_of(info: &EntryInfo, rel: &Path) -> Result<Kind, ApplyError> {
    use tar::EntryType as T;
    let link = || -> Result<PathBuf, ApplyError> {
        match info.link_path() {
            Some(l) => Ok(l.to_path_buf()),
            None => Err(ApplyError::UnsafeName {
                name: rel.to_path_buf(),
                reason: "it is a link without a target",
            }),
        }
    };
    let (major, minor) = info.device;
    Ok(match info.kind {
        T::Directory => Kind::Dir,
        T::Regular | T::Continuous => Kind::File,
        T::Symlink => Kind::Symlink(link()?),
        T::Link => Kind::HardLink(link()?),
        T::Char => Kind::Char(major, minor),
        T::Block => Kind::Block(major, minor),
        T::Fifo => Kind::Fifo,
        other => {
            return Err(ApplyError::Unsupported {
                entry: rel.to_path_buf(),
                kind: other.as_byte(),
            })
        }
    })
}

#[cfg(test)]
mod tests;
